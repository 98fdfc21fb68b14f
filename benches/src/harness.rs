//! `all`: every workload, every peer, one run, one machine; writes RESULTS.md, results.json and
//! results.svg beside this crate.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use oci_distribution_client::{Client, ClientConfig};
use oci_spec_types::{Descriptor, Digest, ImageConfig, ImageIndex, ImageManifest, MediaType};
use oci_target::{Target, TargetExt};
use oci_test_registry::Registry;

use crate::measure::{Sample, arg, run as measure};
use crate::report::{Check, Report, Row, Workload};

/// One tool of a workload: how to get ready for run `i`, and the command of run `i`.
pub(crate) struct Tool<'a> {
    name: String,
    prepare: Box<dyn FnMut(usize) + 'a>,
    command: Box<dyn FnMut(usize) -> (String, Vec<String>) + 'a>,
}

impl<'a> Tool<'a> {
    pub(crate) fn new(
        name: impl Into<String>,
        command: impl FnMut(usize) -> (String, Vec<String>) + 'a,
    ) -> Self {
        Self {
            name: name.into(),
            prepare: Box::new(|_| {}),
            command: Box::new(command),
        }
    }

    pub(crate) fn prepare(mut self, prepare: impl FnMut(usize) + 'a) -> Self {
        self.prepare = Box::new(prepare);
        self
    }
}

pub(crate) fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// CPU seconds (user + system) the process `pid` has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat (utime, stime), counted after the command name.
    (ticks(11) + ticks(12)) / 100.0
}

/// The registry process serving `registry` (distribution of either version, or olareg), found
/// by its folder on its command line; the shell that watches over it is passed by.
pub(crate) fn registry_pid(registry: &Registry) -> Option<u32> {
    let dir = registry.storage_dir();
    let dir = format!("{}/", dir.parent()?.to_string_lossy());
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let cmd = String::from_utf8_lossy(&cmd).into_owned();
        let parts: Vec<&str> = cmd.split('\0').collect();
        let program = parts
            .first()
            .map_or("", |p| p.rsplit('/').next().unwrap_or(p));
        let is_registry = program != "sh" && parts[1..].iter().any(|a| a.contains(&dir));
        is_registry.then_some(pid)
    })
}

/// Runs every tool `runs + 1` times, interleaved, the first round a warm-up.
pub(crate) fn measure_tools(
    runs: usize,
    tools: &mut [Tool<'_>],
    registry: Option<u32>,
) -> Vec<Row> {
    measure_tools_watching(runs, tools, registry, None)
}

/// Like [`measure_tools`], also summing, for each run, the handler times of the requests the
/// registry logged in `log` during it (`registry handler s`).
pub(crate) fn measure_tools_watching(
    runs: usize,
    tools: &mut [Tool<'_>],
    registry: Option<u32>,
    log: Option<&Path>,
) -> Vec<Row> {
    let log_len = || log.and_then(|l| std::fs::metadata(l).ok()).map(|m| m.len());
    let mut rows: Vec<Row> = tools.iter().map(|t| Row::new(t.name.clone())).collect();
    for i in 0..=runs {
        for (t, row) in tools.iter_mut().zip(rows.iter_mut()) {
            (t.prepare)(i);
            // Each run starts with no dirty pages from the last one being written back under it.
            let _ = Command::new("sync").status();
            let (program, args) = (t.command)(i);
            let before = registry.map(cpu_secs);
            let log_before = log_len();
            let sample: Sample = measure(&program, &args);
            if i > 0 {
                row.samples.push(sample);
                row.push_extra("CPU s", sample.cpu_secs);
                if let (Some(pid), Some(b)) = (registry, before) {
                    row.push_extra("registry CPU s", cpu_secs(pid) - b);
                }
                if let (Some(log), Some(from)) = (log, log_before) {
                    // The registry writes a request's line after answering it.
                    std::thread::sleep(Duration::from_millis(200));
                    row.push_extra("registry handler s", handler_secs(log, from));
                }
            }
        }
    }
    rows
}

/// The sum of the handler times (`http.response.duration`) of the requests distribution logged
/// in `log` from byte `from` on.
fn handler_secs(log: &Path, from: u64) -> f64 {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(text.get(from as usize..).unwrap_or_default());
    text.lines()
        .filter(|l| l.contains("response completed"))
        .filter_map(|l| {
            let value = l.split("http.response.duration=").nth(1)?;
            go_duration(value.trim_start_matches('"').split(['"', ' ']).next()?)
        })
        .sum()
}

/// Seconds in a Go duration as Go prints it (`1.5ms`, `819.597µs`, `2m3.5s`).
fn go_duration(text: &str) -> Option<f64> {
    let mut total = 0.0;
    let mut rest = text;
    while !rest.is_empty() {
        let split = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (number, after) = rest.split_at(split);
        let number: f64 = number.parse().ok()?;
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let scale = match unit {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 1e-3,
            "µs" | "us" => 1e-6,
            "ns" => 1e-9,
            _ => return None,
        };
        total += number * scale;
        rest = next;
    }
    Some(total)
}

pub(crate) fn require(program: &str, check: &[&str], install: &str) {
    let ok = Command::new(program)
        .args(check)
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "{program} is missing or broken: {install} (scripts/setup installs it)"
    );
}

/// `skopeo copy --quiet --preserve-digests FLAGS SRC DST`.
fn skopeo_copy(src: &str, dst: &str, flags: &[&str]) -> (String, Vec<String>) {
    let mut args = strs(&["copy", "--quiet", "--preserve-digests"]);
    args.extend(strs(flags));
    args.extend([src.to_owned(), dst.to_owned()]);
    ("skopeo".into(), args)
}

/// skopeo remembers where it saw each blob and would mount instead of uploading: forget.
fn forget_skopeo_cache() {
    for f in [
        "/var/lib/containers/cache/blob-info-cache-v1.boltdb",
        "/var/lib/containers/cache/blob-info-cache-v1.sqlite",
    ] {
        let _ = std::fs::remove_file(f);
    }
    if let Some(home) = std::env::var_os("HOME") {
        let _ = std::fs::remove_dir_all(PathBuf::from(home).join(".local/share/containers/cache"));
    }
}

fn machine() -> (String, usize, String) {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_owned(), |(_, v)| v.trim().to_owned());
    let sha = if cpuinfo.contains(" sha_ni") {
        " with SHA-NI"
    } else {
        ""
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("MemTotal"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or("unknown".to_owned(), |kib| {
            format!("{} GiB", (kib + (1 << 19)) >> 20)
        });
    (format!("{cpu}{sha}"), cores, mem)
}

fn today() -> String {
    let out = Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d %H:%M UTC")
        .output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

pub(crate) struct Env {
    pub(crate) me: String,
    work: PathBuf,
    pub(crate) host: String,
    pub(crate) registry_pid: Option<u32>,
    pub(crate) runs: usize,
    runtime: tokio::runtime::Runtime,
}

impl Env {
    pub(crate) fn path(&self, name: &str) -> String {
        self.work.join(name).to_string_lossy().into_owned()
    }

    pub(crate) fn worker(&self, args: &[&str]) -> (String, Vec<String>) {
        let mut all = vec!["worker".to_owned()];
        all.extend(strs(args));
        (self.me.clone(), all)
    }

    fn client(&self, host: &str) -> Client {
        Client::new(ClientConfig::default().with_plain_http(host)).unwrap()
    }

    /// Pushes `file` as the blob `digest` into `host/repo`.
    pub(crate) fn seed_blob(&self, host: &str, repo: &str, file: &Path, digest: &str, size: u64) {
        let repo = self.client(host).repository(host, repo).unwrap();
        let desc = Descriptor::new(
            MediaType::octet_stream(),
            Digest::parse(digest).unwrap(),
            size,
        );
        self.runtime.block_on(async {
            repo.push(&desc, oci_target::open_file_stream(file).unwrap())
                .await
                .unwrap();
        });
    }

    /// Pushes a one-layer image whose layer is `file`, tagged `tag`, into `repo`.
    fn seed_image(&self, repo: &str, tag: &str, file: &Path, digest: &Digest, size: u64) {
        let repo = self
            .client(&self.host)
            .repository(&self.host, repo)
            .unwrap();
        self.runtime.block_on(async {
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
            repo.push(&layer, oci_target::open_file_stream(file).unwrap())
                .await
                .unwrap();
            let manifest = ImageManifest::new(config_desc, vec![layer])
                .to_document()
                .unwrap();
            let mdesc = manifest.descriptor(MediaType::image_manifest());
            repo.push_bytes(&mdesc, manifest.bytes().clone())
                .await
                .unwrap();
            repo.tag(&mdesc, tag).await.unwrap();
        });
    }
}

/// The 1,000-blob graph: an index of 100 manifests, each with a config and 10 layers of 4 KiB.
pub(crate) fn build_graph(env: &Env, dir: &Path) -> u64 {
    env.runtime.block_on(graph_layout(dir))
}

/// Writes the 1,201-node graph into a new layout at `dir`, tagged `graph`; returns its node count.
pub(crate) async fn graph_layout(dir: &Path) -> u64 {
    let layout = oci_layout::OciLayout::create(dir, oci_layout::LayoutOptions::default())
        .await
        .unwrap();
    let mut manifests = Vec::new();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for m in 0..100u32 {
        let mut layers = Vec::new();
        for _ in 0..10 {
            let mut data = vec![0u8; 4096];
            for c in data.chunks_mut(8) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                c.copy_from_slice(&state.to_le_bytes());
            }
            let layer = layout
                .push_content(
                    MediaType::parse("application/vnd.oci.image.layer.v1.tar").unwrap(),
                    Bytes::from(data),
                )
                .await
                .unwrap();
            layers.push(layer);
        }
        let mut config = ImageConfig::new("linux", "amd64");
        config.author = Some(format!("bench{m}"));
        let config = config.to_document().unwrap();
        let config_desc = layout
            .push_content(MediaType::image_config(), config.bytes().clone())
            .await
            .unwrap();
        let manifest = ImageManifest::new(config_desc, layers)
            .to_document()
            .unwrap();
        let desc = layout
            .push_content(MediaType::image_manifest(), manifest.bytes().clone())
            .await
            .unwrap();
        manifests.push(desc);
    }
    let index = ImageIndex::new(manifests).to_document().unwrap();
    let desc = layout
        .push_content(MediaType::image_index(), index.bytes().clone())
        .await
        .unwrap();
    layout.tag(&desc, "graph").await.unwrap();
    // Index, 100 manifests, 100 configs, 1,000 layers.
    1 + 100 + 100 + 1000
}

pub(crate) fn run(args: &[String]) {
    let runs = arg(args, "--runs", 3) as usize;
    let size = arg(args, "--size-mib", 1024) << 20;
    let big = arg(args, "--big-mib", 4096) << 20;
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|v| v.split(',').map(str::to_owned).collect());
    let wanted = |id: &str| only.as_ref().is_none_or(|o| o.iter().any(|x| x == id));
    // Whether a workload runs; one that does says so.
    let start = |id: &str| {
        let on = wanted(id);
        if on {
            eprintln!("{id}");
        }
        on
    };
    let out_dir = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    std::fs::create_dir_all(&out_dir).unwrap_or_else(|e| panic!("{}: {e}", out_dir.display()));

    require("/usr/bin/time", &["--version"], "apt-get install time");
    require("skopeo", &["--version"], "apt-get install skopeo");
    require("openssl", &["version"], "apt-get install openssl");
    require("taskset", &["--version"], "apt-get install util-linux");
    require("python3", &["-c", "import oras.client"], "pip install oras");

    let work = std::env::var_os("OCI_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("oci-bench-{}", std::process::id()));
    std::fs::create_dir_all(&work).unwrap();
    let registry = Registry::anonymous();
    let env = Env {
        me: std::env::current_exe()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
        work: work.clone(),
        host: registry.host().to_owned(),
        registry_pid: registry_pid(registry),
        runs,
        runtime: tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap(),
    };
    let peers = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/oras_bench.py");
    let peers = peers.to_string_lossy().into_owned();

    let blob = work.join("blob");
    let blob_s = blob.to_string_lossy().into_owned();
    eprintln!("making a {} MiB blob", size >> 20);
    let digest = crate::make_blob(&blob, size);
    let d = digest.to_string();
    let size_s = size.to_string();
    let mut workloads = Vec::new();

    if start("digest") {
        let mut w = Workload::new(
            "digest",
            &format!("Digest: verify {} MiB", size >> 20),
            "Reading the file through `oci_digest::VerifyingReader` against `openssl dgst -sha256`, \
             both pinned to core 1 with `taskset`.",
        );
        w.bytes = Some(size);
        let mut tools = vec![
            Tool::new("ours: VerifyingReader", |_| {
                let (p, mut a) = env.worker(&["digest-verify", &blob_s, &d, &size_s]);
                a.insert(0, p);
                ("taskset".into(), [strs(&["-c", "1"]), a].concat())
            }),
            Tool::new("openssl dgst -sha256", |_| {
                (
                    "taskset".into(),
                    strs(&["-c", "1", "openssl", "dgst", "-sha256", &blob_s]),
                )
            }),
        ];
        w.rows = measure_tools(runs, &mut tools, None);
        let value = w.rows[1].median() / w.rows[0].median();
        w.checks.push(Check {
            name: "throughput ours / OpenSSL".into(),
            value,
            target: Some((">=", 0.95)),
        });
        workloads.push(w);
    }

    let needs_image = ["pull", "pull-layout", "push"].iter().any(|w| wanted(w));
    if needs_image {
        eprintln!("seeding the registry");
        env.seed_image("bench/pull", "v1", &blob, &digest, size);
    }
    let image = format!("{}/bench/pull:v1", env.host);

    if start("pull") {
        let mut w = Workload::new(
            "pull",
            &format!("Pull {} MiB from the registry into a file", size >> 20),
            "Distribution registry 2.8 on loopback. Ours and oci-client fetch the layer into a file; \
             skopeo copies the image (manifest, config, layer) into a `dir:` folder; Python oras \
             pulls the image's layers into a folder. `registry CPU s` is what the registry process \
             spent during the run.",
        );
        w.bytes = Some(size);
        let out = env.path("pulled");
        let skopeo_dir = env.path("skopeo-dir");
        let py_dir = env.path("py-out");
        // Each run writes a new file, as the folder tools do: overwriting the last run's output
        // would time the kernel freeing its pages inside the run.
        let fresh = |_| {
            let _ = std::fs::remove_file(&out);
        };
        let mut tools = vec![
            Tool::new("ours", |_| {
                env.worker(&["ours-pull", &env.host, "bench/pull", &d, &size_s, &out])
            })
            .prepare(fresh),
            Tool::new("skopeo", |_| {
                skopeo_copy(
                    &format!("docker://{image}"),
                    &format!("dir:{skopeo_dir}"),
                    &["--src-tls-verify=false"],
                )
            })
            .prepare(|_| {
                let _ = std::fs::remove_dir_all(&skopeo_dir);
            }),
            Tool::new("oci-client", |_| {
                env.worker(&[
                    "oci-client-pull",
                    &env.host,
                    "bench/pull",
                    &d,
                    &size_s,
                    &out,
                ])
            })
            .prepare(fresh),
            Tool::new("python oras", |_| {
                (
                    "python3".into(),
                    strs(&[&peers, "pull", &env.host, &image, &py_dir]),
                )
            })
            .prepare(|_| {
                let _ = std::fs::remove_dir_all(&py_dir);
            }),
        ];
        w.rows = measure_tools(runs, &mut tools, env.registry_pid);
        w.ratio("ours", "skopeo", Some(("<=", 0.5)));
        w.ratio("ours", "oci-client", Some(("<=", 1.0)));
        w.ratio("ours", "python oras", None);
        finish(&mut workloads, w, &[&out, &py_dir]);
    }

    if start("pull-layout") {
        let mut w = Workload::new(
            "pull-layout",
            &format!(
                "Pull {} MiB from the registry into an OCI layout",
                size >> 20
            ),
            "The image copied into a new image-layout directory: ours with `oci_target::copy`, \
             skopeo with `oci:DIR:TAG`. oci-client and Python oras have no layout store.",
        );
        w.bytes = Some(size);
        let ours_dir = env.path("ours-layout");
        let skopeo_dir = env.path("skopeo-layout");
        let src = format!("registry:{}/bench/pull", env.host);
        let dst = format!("layout:{ours_dir}");
        let mut tools = vec![
            Tool::new("ours", |_| {
                env.worker(&["copy", &src, "v1", &dst, "v1", "4"])
            })
            .prepare(|_| {
                let _ = std::fs::remove_dir_all(&ours_dir);
            }),
            Tool::new("skopeo", |_| {
                skopeo_copy(
                    &format!("docker://{image}"),
                    &format!("oci:{skopeo_dir}:v1"),
                    &["--src-tls-verify=false"],
                )
            })
            .prepare(|_| {
                let _ = std::fs::remove_dir_all(&skopeo_dir);
            }),
        ];
        w.rows = measure_tools(runs, &mut tools, env.registry_pid);
        w.ratio("ours", "skopeo", Some(("<=", 0.5)));
        finish(&mut workloads, w, &[&ours_dir, &skopeo_dir]);
    }

    if start("push") {
        let mut w = Workload::new(
            "push",
            &format!("Push {} MiB to the registry", size >> 20),
            "Each run to a repository of its own, so no tool finds the blob there. Ours streams \
             the file (`Target::push`); oci-client's `push_blob` takes the blob in memory; skopeo \
             copies a `dir:` image (manifest, config, layer); Python oras pushes the file as an \
             artifact. `registry CPU s` is what the registry process spent during the run: the \
             registry hashes and writes every byte, so it bounds every client.",
        );
        w.bytes = Some(size);
        let skopeo_dir = env.path("skopeo-push-src");
        let (program, args) = skopeo_copy(
            &format!("docker://{image}"),
            &format!("dir:{skopeo_dir}"),
            &["--src-tls-verify=false"],
        );
        let status = Command::new(program).args(args).status().unwrap();
        assert!(status.success(), "skopeo could not fetch the image to push");
        let mut tools = vec![
            Tool::new("ours", |i| {
                env.worker(&[
                    "ours-push",
                    &env.host,
                    &format!("bench/push-ours-{i}"),
                    &d,
                    &size_s,
                    &blob_s,
                ])
            }),
            Tool::new("skopeo", |i| {
                skopeo_copy(
                    &format!("dir:{skopeo_dir}"),
                    &format!("docker://{}/bench/push-skopeo-{i}:v1", env.host),
                    &["--dest-tls-verify=false"],
                )
            })
            .prepare(|_| forget_skopeo_cache()),
            Tool::new("oci-client", |i| {
                env.worker(&[
                    "oci-client-push",
                    &env.host,
                    &format!("bench/push-occ-{i}"),
                    &d,
                    &size_s,
                    &blob_s,
                ])
            }),
            Tool::new("python oras", |i| {
                (
                    "python3".into(),
                    strs(&[
                        &peers,
                        "push",
                        &env.host,
                        &format!("{}/bench/push-py-{i}:v1", env.host),
                        &blob_s,
                    ]),
                )
            }),
        ];
        w.rows = measure_tools(runs, &mut tools, env.registry_pid);
        w.ratio("ours", "skopeo", Some(("<=", 0.8)));
        w.ratio("ours", "oci-client", None);
        w.ratio("ours", "python oras", None);
        if let Some(ours) = w.row("ours")
            && let Some(cpu) = ours.extra("registry CPU s")
        {
            let registry = crate::measure::summary(cpu).0;
            let skopeo = w.row("skopeo").map_or(f64::NAN, Row::median);
            let spare = 0.8 * skopeo - registry;
            w.notes.push(format!(
                "The registry process alone spent {registry:.2} s of CPU on each of our pushes \
                 ({:.0}% of our {:.2} s): it hashes and writes every byte on one thread, so no \
                 client can push faster than that here. The target, 0.8 × skopeo = {:.2} s, {}",
                100.0 * registry / ours.median(),
                ours.median(),
                0.8 * skopeo,
                if spare >= 0.0 {
                    format!("leaves {spare:.2} s beyond the registry's own work.")
                } else {
                    format!("is {:.2} s less than the registry's own work.", -spare)
                }
            ));
        }
        finish(&mut workloads, w, &[&skopeo_dir]);
    }

    if start("graph") {
        let graph_dir = env.path("graph");
        let nodes = build_graph(&env, Path::new(&graph_dir));
        let src_layout = format!("layout:{graph_dir}");
        // The registry side, seeded once for the registry -> layout direction.
        let status = Command::new(&env.me)
            .args(["worker", "copy", &src_layout, "graph"])
            .arg(format!("registry:{}/bench/graph-src", env.host))
            .args(["graph", "8"])
            .status()
            .unwrap();
        assert!(status.success());
        let how = "An index of 100 manifests, each with a config and 10 layers of 4 KiB: 1,201 \
                   nodes. Ours is `oci_target::copy` at concurrency 8; skopeo is `copy --all`. \
                   Each run to a destination of its own.";
        for (id, title, to_registry) in [
            (
                "graph-to-registry",
                "Copy a 1,000-blob graph, layout to registry",
                true,
            ),
            (
                "graph-to-layout",
                "Copy a 1,000-blob graph, registry to layout",
                false,
            ),
        ] {
            let mut w = Workload::new(id, title, how);
            w.items = Some(nodes);
            // Every run has a directory of its own, removed when the benchmark ends (a directory
            // of many files deleted just before a run slows the filesystem's next creations).
            let dst_dir = |who: &str, i: usize| env.path(&format!("{id}-{who}-{i}"));
            let src_registry = format!("registry:{}/bench/graph-src", env.host);
            let mut tools = vec![
                Tool::new("ours", |i| {
                    let (src, dst) = if to_registry {
                        (
                            src_layout.clone(),
                            format!("registry:{}/bench/graph-ours-{i}", env.host),
                        )
                    } else {
                        (
                            src_registry.clone(),
                            format!("layout:{}", dst_dir("ours", i)),
                        )
                    };
                    env.worker(&["copy", &src, "graph", &dst, "graph", "8"])
                }),
                Tool::new("skopeo", |i| {
                    let (src, dst, tls) = if to_registry {
                        (
                            format!("oci:{graph_dir}:graph"),
                            format!("docker://{}/bench/graph-skopeo-{i}:graph", env.host),
                            "--dest-tls-verify=false",
                        )
                    } else {
                        (
                            format!("docker://{}/bench/graph-src:graph", env.host),
                            format!("oci:{}:graph", dst_dir("skopeo", i)),
                            "--src-tls-verify=false",
                        )
                    };
                    skopeo_copy(&src, &dst, &["--all", tls])
                })
                .prepare(|_| forget_skopeo_cache()),
            ];
            w.rows = measure_tools(runs, &mut tools, env.registry_pid);
            w.ratio("ours", "skopeo", None);
            workloads.push(w);
        }
    }

    if ["oras-pull", "oras-push", "oras-graph"]
        .iter()
        .any(|w| wanted(w))
    {
        let graph_dir = env.path("oras-graph");
        let graph = wanted("oras-graph").then(|| {
            build_graph(&env, Path::new(&graph_dir));
            graph_dir.as_str()
        });
        workloads.extend(crate::oras::workloads(
            &env, &wanted, &blob, &d, size, graph,
        ));
        let _ = std::fs::remove_dir_all(&graph_dir);
    }

    let wants_ranged = wanted("ranged") || wanted("ranged-latency");
    if wants_ranged {
        eprintln!("making a {} MiB blob for the ranged pulls", big >> 20);
        let big_blob = work.join("big");
        let big_digest = crate::make_blob(&big_blob, big);
        env.seed_image("bench/big", "v1", &big_blob, &big_digest, big);
        let _ = std::fs::remove_file(&big_blob);
        let bd = big_digest.to_string();
        let big_s = big.to_string();
        for (id, delay) in [
            ("ranged", None),
            ("ranged-latency", Some(Duration::from_millis(20))),
        ] {
            if !wanted(id) {
                continue;
            }
            eprintln!("{id}");
            let host = match delay {
                Some(delay) => crate::proxy::start(
                    &env.host,
                    crate::proxy::Link {
                        delay,
                        window: 4 << 20,
                    },
                ),
                None => env.host.clone(),
            };
            let title = match delay {
                None => format!("Parallel ranged pull of {} MiB", big >> 20),
                Some(_) => format!(
                    "Parallel ranged pull of {} MiB, 20 ms latency, 4 MiB window",
                    big >> 20
                ),
            };
            let how = match delay {
                None => {
                    "Ours fetches the blob into a file: one GET on 1 connection; on 4 and 8, range \
                     requests of up to 8 MiB with at most 32 MiB in flight in all. skopeo copies \
                     the image into a `dir:` folder, for reference. On loopback one stream is \
                     fastest: nothing limits a single connection, and every extra one costs CPU."
                }
                Some(_) => {
                    "As above, through a loopback proxy that imitates a long network path: 20 ms \
                     each way, and at most 4 MiB of an answer in flight per connection (a TCP \
                     window), so one connection moves at most about 200 MB/s. Every request pays \
                     the round trip. The proxy runs in the harness process and its copying costs \
                     CPU on this 2-core machine too."
                }
            };
            let mut w = Workload::new(id, &title, how);
            w.bytes = Some(big);
            let out = env.path("big-out");
            let skopeo_dir = env.path("big-skopeo");
            let image = format!("docker://{host}/bench/big:v1");
            let mut tools: Vec<Tool<'_>> = [1usize, 4, 8]
                .into_iter()
                .map(|n| {
                    let name = format!("ours, {n} connection{}", if n == 1 { "" } else { "s" });
                    let (host, bd, big_s, out) =
                        (host.clone(), bd.clone(), big_s.clone(), out.clone());
                    let env = &env;
                    Tool::new(name, move |_| {
                        env.worker(&[
                            "ranged-pull",
                            &host,
                            "bench/big",
                            &bd,
                            &big_s,
                            &out,
                            &n.to_string(),
                        ])
                    })
                })
                .collect();
            tools.push(
                Tool::new("skopeo", |_| {
                    skopeo_copy(
                        &image,
                        &format!("dir:{skopeo_dir}"),
                        &["--src-tls-verify=false"],
                    )
                })
                .prepare(|_| {
                    let _ = std::fs::remove_dir_all(&skopeo_dir);
                }),
            );
            w.rows = measure_tools(runs, &mut tools, None);
            w.ratio("ours, 4 connections", "ours, 1 connection", None);
            w.ratio("ours, 8 connections", "ours, 1 connection", None);
            w.ratio("ours, 4 connections", "skopeo", None);
            finish(&mut workloads, w, &[&out, &skopeo_dir]);
        }
    }

    if wanted("layout") {
        let big_file = work.join("layout-big");
        let mut sizes = vec![(blob.clone(), digest.clone(), size)];
        if big != size {
            eprintln!("making a {} MiB blob for the layout", big >> 20);
            let big_digest = crate::make_blob(&big_file, big);
            sizes.push((big_file.clone(), big_digest, big));
        }
        for (file, file_digest, file_size) in sizes {
            eprintln!("layout {} MiB", file_size >> 20);
            let mut w = Workload::new(
                &format!("layout-{}", file_size >> 20),
                &format!(
                    "Layout: write {} MiB, then read it back verified",
                    file_size >> 20
                ),
                "Ours pushes the file into a new layout (staged, verified, synced, renamed) and \
                 reads it back through the verifying stream. The floor hashes twice as a verified \
                 round trip must: `openssl dgst -sha256 FILE && cat FILE > COPY && openssl dgst \
                 -sha256 COPY`. It does not sync the copy to disk, which our layout does before a \
                 blob is visible: the same floor with `sync COPY`, and ours with \
                 `LayoutOptions::with_fsync(false)`, show what the sync costs.",
            );
            w.bytes = Some(file_size);
            let copy = env.path("copy");
            let (file_s, fd, fs) = (
                file.to_string_lossy().into_owned(),
                file_digest.to_string(),
                file_size.to_string(),
            );
            let mut tools = vec![
                Tool::new("ours: oci-layout", |i| {
                    env.worker(&[
                        "layout-write-read",
                        &env.path(&format!("layout-{i}")),
                        &fd,
                        &fs,
                        &file_s,
                    ])
                })
                .prepare(|i| {
                    let _ = std::fs::remove_dir_all(
                        env.path(&format!("layout-{}", i.saturating_sub(1))),
                    );
                }),
                Tool::new("ours: oci-layout, no fsync", |i| {
                    env.worker(&[
                        "layout-write-read-nosync",
                        &env.path(&format!("layout-nosync-{i}")),
                        &fd,
                        &fs,
                        &file_s,
                    ])
                })
                .prepare(|i| {
                    let _ = std::fs::remove_dir_all(
                        env.path(&format!("layout-nosync-{}", i.saturating_sub(1))),
                    );
                }),
                Tool::new("openssl dgst + cat + openssl dgst", |_| {
                    (
                        "sh".into(),
                        vec![
                            "-c".into(),
                            format!(
                                "openssl dgst -sha256 '{file_s}' && cat '{file_s}' > '{copy}' \
                                 && openssl dgst -sha256 '{copy}'"
                            ),
                        ],
                    )
                })
                .prepare(|_| {
                    let _ = std::fs::remove_file(&copy);
                }),
                Tool::new("openssl dgst + cat + sync + openssl dgst", |_| {
                    (
                        "sh".into(),
                        vec![
                            "-c".into(),
                            format!(
                                "openssl dgst -sha256 '{file_s}' && cat '{file_s}' > '{copy}' \
                                 && sync '{copy}' && openssl dgst -sha256 '{copy}'"
                            ),
                        ],
                    )
                })
                .prepare(|_| {
                    let _ = std::fs::remove_file(&copy);
                }),
            ];
            w.rows = measure_tools(runs, &mut tools, None);
            w.ratio(
                "ours: oci-layout",
                "openssl dgst + cat + openssl dgst",
                Some(("<=", 1.1)),
            );
            // What the target's floor leaves out: the sync that makes the blob durable before it
            // is visible. The same floor with `sync` of the copy, and ours without syncing.
            w.ratio(
                "ours: oci-layout",
                "openssl dgst + cat + sync + openssl dgst",
                None,
            );
            w.ratio(
                "ours: oci-layout, no fsync",
                "openssl dgst + cat + openssl dgst",
                None,
            );
            for i in 0..=runs {
                let _ = std::fs::remove_dir_all(env.path(&format!("layout-{i}")));
                let _ = std::fs::remove_dir_all(env.path(&format!("layout-nosync-{i}")));
            }
            finish(&mut workloads, w, &[&copy]);
        }
        let _ = std::fs::remove_file(&big_file);
    }

    let _ = std::fs::remove_dir_all(&work);
    let (cpu, cores, memory) = machine();
    let report = Report {
        date: today(),
        cpu,
        cores,
        memory,
        runs: env.runs,
        command: format!("./scripts/bench {}", args.join(" "))
            .trim()
            .to_owned(),
        workloads,
    };
    let regressions = crate::report::regressions(&out_dir.join("results.json"), &report);
    let md = report.markdown();
    std::fs::write(out_dir.join("RESULTS.md"), &md).unwrap();
    std::fs::write(
        out_dir.join("results.json"),
        serde_json::to_string_pretty(&report.json()).unwrap() + "\n",
    )
    .unwrap();
    if let Err(e) = report.plot(&out_dir.join("results.svg")) {
        eprintln!("the plot failed: {e}");
    }
    println!("{md}");
    if !regressions.is_empty() {
        eprintln!("\nREGRESSION against the results committed before this run:");
        for line in &regressions {
            eprintln!("  {line}");
        }
        std::process::exit(3);
    }
}

/// Adds a measured workload and removes what its runs left behind (files or directories).
fn finish(workloads: &mut Vec<Workload>, w: Workload, scratch: &[&str]) {
    for path in scratch {
        let _ = std::fs::remove_dir_all(path).or_else(|_| std::fs::remove_file(path));
    }
    workloads.push(w);
}

#[cfg(test)]
mod tests {
    use super::go_duration;

    #[test]
    fn go_durations_read_as_go_prints_them() {
        assert_eq!(go_duration("1.5ms"), Some(0.0015));
        assert_eq!(go_duration("2m3.5s"), Some(123.5));
        assert!((go_duration("819.597µs").unwrap() - 0.000_819_597).abs() < 1e-12);
        assert_eq!(go_duration("12"), None);
        assert_eq!(go_duration("3 parsecs"), None);
    }
}
