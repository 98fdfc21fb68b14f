//! Pull and push of a large blob against the local registry: us, skopeo and the `oci-client`
//! crate, in one run.
//!
//! Pull: ours fetches the layer into a file; oci-client does the same with `pull_blob`; skopeo
//! copies the image (manifest, config, layer) into a `dir:` folder with `--preserve-digests`.
//! Push: ours streams the layer from the file; oci-client pushes it with `push_blob`, which takes
//! the blob in memory; skopeo copies the `dir:` folder to a new repository. Each push goes to a
//! repository of its own, so no tool finds the blob already there.

use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use oci_distribution_client::{Client, ClientConfig};
use oci_spec_types::{Descriptor, ImageConfig, ImageManifest, MediaType};
use oci_target::{Target, TargetExt};
use oci_test_registry::Registry;

use crate::measure::{Sample, arg, summary};

pub(crate) fn make_blob(path: &Path, size: u64) -> oci_spec_types::Digest {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut d = oci_digest::Digester::new(oci_digest::Algorithm::Sha256);
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for c in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            c.copy_from_slice(&state.to_le_bytes()[..c.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        d.update(&block[..n]);
        left -= n as u64;
    }
    f.flush().unwrap();
    d.finalize()
}

struct Row {
    workload: &'static str,
    tool: &'static str,
    samples: Vec<Sample>,
}

pub(crate) fn run(args: &[String]) {
    let size = arg(args, "--size-mib", 1024) << 20;
    let runs = arg(args, "--runs", 3) as usize;
    for tool in ["skopeo", "/usr/bin/time"] {
        assert!(
            std::process::Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .status()
                .unwrap()
                .success(),
            "{tool} is missing: apt-get install skopeo time"
        );
    }
    let work = std::env::var_os("OCI_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("oci-bench-pull-push-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let blob = work.join("blob");
    let digest = make_blob(&blob, size);
    let registry = Registry::anonymous();
    let host = registry.host().to_owned();
    let me = std::env::current_exe()
        .unwrap()
        .to_string_lossy()
        .into_owned();

    // Seed the image everyone pulls.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let client = Client::new(ClientConfig::default().with_plain_http(&host)).unwrap();
        let repo = client.repository(&host, "bench/pull").unwrap();
        let config = ImageConfig::new("linux", "amd64").to_document().unwrap();
        let config_desc = config.descriptor(MediaType::image_config());
        repo.push_bytes(&config_desc, config.bytes().clone())
            .await
            .unwrap();
        let layer = Descriptor::new(
            MediaType::parse("application/vnd.oci.image.layer.v1.tar").unwrap(),
            digest.clone(),
            size,
        );
        let f = tokio::fs::read(&blob).await.unwrap();
        repo.push_bytes(&layer, Bytes::from(f)).await.unwrap();
        let manifest = ImageManifest::new(config_desc, vec![layer])
            .to_document()
            .unwrap();
        let mdesc = manifest.descriptor(MediaType::image_manifest());
        repo.push_tagged(
            &mdesc,
            oci_target::bytes_stream(manifest.bytes().clone()),
            "v1",
        )
        .await
        .unwrap();
    });

    let size_s = size.to_string();
    let d = digest.to_string();
    let skopeo_dir = work.join("skopeo-dir");
    let mut rows = vec![
        Row {
            workload: "pull",
            tool: "oci-distribution-client",
            samples: vec![],
        },
        Row {
            workload: "pull",
            tool: "skopeo",
            samples: vec![],
        },
        Row {
            workload: "pull",
            tool: "oci-client",
            samples: vec![],
        },
        Row {
            workload: "push",
            tool: "oci-distribution-client",
            samples: vec![],
        },
        Row {
            workload: "push",
            tool: "skopeo",
            samples: vec![],
        },
        Row {
            workload: "push",
            tool: "oci-client",
            samples: vec![],
        },
    ];
    let out = work.join("pulled").to_string_lossy().into_owned();
    let blob_s = blob.to_string_lossy().into_owned();
    for i in 0..runs + 1 {
        let warm = i == 0;
        let mut record = |row: usize, s: Sample| {
            if !warm {
                rows[row].samples.push(s);
            }
        };
        record(
            0,
            crate::measure::run(
                &me,
                &strs(&[
                    "worker",
                    "ours-pull",
                    &host,
                    "bench/pull",
                    &d,
                    &size_s,
                    &out,
                ]),
            ),
        );
        let _ = std::fs::remove_dir_all(&skopeo_dir);
        record(
            1,
            crate::measure::run(
                "skopeo",
                &strs(&[
                    "copy",
                    "--quiet",
                    "--src-tls-verify=false",
                    "--preserve-digests",
                    &format!("docker://{host}/bench/pull:v1"),
                    &format!("dir:{}", skopeo_dir.display()),
                ]),
            ),
        );
        record(
            2,
            crate::measure::run(
                &me,
                &strs(&[
                    "worker",
                    "oci-client-pull",
                    &host,
                    "bench/pull",
                    &d,
                    &size_s,
                    &out,
                ]),
            ),
        );
        record(
            3,
            crate::measure::run(
                &me,
                &strs(&[
                    "worker",
                    "ours-push",
                    &host,
                    &format!("bench/push-ours-{i}"),
                    &d,
                    &size_s,
                    &blob_s,
                ]),
            ),
        );
        // skopeo remembers where it saw each blob and would mount it instead of uploading:
        // forget, so every tool uploads the whole blob.
        let _ = std::fs::remove_file("/var/lib/containers/cache/blob-info-cache-v1.boltdb");
        let _ = std::fs::remove_file("/var/lib/containers/cache/blob-info-cache-v1.sqlite");
        record(
            4,
            crate::measure::run(
                "skopeo",
                &strs(&[
                    "copy",
                    "--quiet",
                    "--dest-tls-verify=false",
                    "--preserve-digests",
                    &format!("dir:{}", skopeo_dir.display()),
                    &format!("docker://{host}/bench/push-skopeo-{i}:v1"),
                ]),
            ),
        );
        record(
            5,
            crate::measure::run(
                &me,
                &strs(&[
                    "worker",
                    "oci-client-push",
                    &host,
                    &format!("bench/push-occ-{i}"),
                    &d,
                    &size_s,
                    &blob_s,
                ]),
            ),
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    print_report(&rows, size, runs);
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn print_report(rows: &[Row], size: u64, runs: usize) {
    let mb = size as f64 / 1e6;
    println!(
        "pull and push of a {} MiB blob, local registry (distribution 2.8, loopback), median of {runs} runs",
        size >> 20
    );
    println!("| workload | tool | median s | min s | max s | MB/s | peak RSS MiB |");
    println!("|---|---|---:|---:|---:|---:|---:|");
    let med = |r: &Row| summary(&r.samples.iter().map(|s| s.secs).collect::<Vec<_>>());
    for r in rows {
        let (m, lo, hi) = med(r);
        let rss = r.samples.iter().map(|s| s.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
        println!(
            "| {} | {} | {m:.2} | {lo:.2} | {hi:.2} | {:.0} | {rss:.0} |",
            r.workload,
            r.tool,
            mb / m
        );
    }
    let ratio = |a: usize, b: usize| med(&rows[a]).0 / med(&rows[b]).0;
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let checks = [
        ("pull time vs skopeo", ratio(0, 1), 0.5),
        ("pull time vs oci-client", ratio(0, 2), 1.0),
        ("push time vs skopeo", ratio(3, 4), 0.8),
    ];
    for (name, r, target) in checks {
        println!(
            "{name}: {r:.2}x (target <= {target}x: {})",
            verdict(r <= target)
        );
    }
    for (row, name) in [(0, "pull"), (3, "push")] {
        let rss = rows[row]
            .samples
            .iter()
            .map(|s| s.max_rss_kib)
            .max()
            .unwrap_or(0) as f64
            / 1024.0;
        println!(
            "our peak RSS on {name}: {rss:.0} MiB (target <= 64 MiB: {})",
            verdict(rss <= 64.0)
        );
    }
}
