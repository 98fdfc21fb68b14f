//! Verify a 1 GiB stream with our adapter, side by side with `openssl dgst -sha256` on the same
//! data, each as a process pinned to the same core. The target: at least 95% of OpenSSL's
//! throughput.
//!
//! `cargo bench -p oci-digest --bench verify_vs_openssl` (`-- --size-mib N --runs N`).
//! Needs `openssl` and `taskset` (Debian packages `openssl` and `util-linux`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use oci_digest::{Digest, VerifyingReader};

const CORE: &str = "1";

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The worker: verify `path` against `digest` and `size` through the verifying reader.
fn worker(path: &str, digest: &str, size: u64) {
    let digest = Digest::parse(digest).unwrap();
    let file = std::fs::File::open(path).unwrap();
    let mut reader = VerifyingReader::new(file, &digest, size).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => panic!("verification failed: {e}"),
        }
    }
    assert!(reader.verifier().is_verified());
}

fn make_data(path: &Path, size: u64) -> Digest {
    if let Ok(m) = std::fs::metadata(path)
        && m.len() == size
        && let Ok(d) = std::fs::read_to_string(path.with_extension("digest"))
        && let Ok(d) = Digest::parse(d.trim())
    {
        return d;
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut digester = oci_digest::Digester::new(oci_digest::Algorithm::Sha256);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for chunk in block.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            chunk.copy_from_slice(&state.to_le_bytes()[..chunk.len()]);
        }
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        digester.update(&block[..n]);
        left -= n as u64;
    }
    f.flush().unwrap();
    let d = digester.finalize();
    std::fs::write(path.with_extension("digest"), d.as_str()).unwrap();
    d
}

fn timed(mut cmd: Command) -> f64 {
    let started = Instant::now();
    let status = cmd.stdout(Stdio::null()).status().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?}: {e} (install with: apt-get install openssl util-linux)")
    });
    assert!(status.success(), "{cmd:?} failed");
    started.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("worker") {
        worker(&args[2], &args[3], args[4].parse().unwrap());
        return;
    }
    let size = arg("--size-mib", 1024) << 20;
    let runs = arg("--runs", 5) as usize;
    let dir = std::env::var_os("OCI_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let path = dir.join(format!("oci-digest-bench-{}.bin", size >> 20));
    let digest = make_data(&path, size);
    let me = std::env::current_exe().unwrap();
    let p = path.to_str().unwrap().to_owned();
    // Warm the page cache for both.
    std::io::copy(
        &mut std::fs::File::open(&path).unwrap(),
        &mut std::io::sink(),
    )
    .unwrap();

    let ours = || {
        let mut c = Command::new("taskset");
        c.args(["-c", CORE])
            .arg(&me)
            .args(["worker", &p, digest.as_str(), &size.to_string()]);
        timed(c)
    };
    let openssl = || {
        let mut c = Command::new("taskset");
        c.args(["-c", CORE, "openssl", "dgst", "-sha256", &p]);
        timed(c)
    };
    ours();
    openssl();
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(ours());
        b.push(openssl());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|x, y| x.total_cmp(y));
        v[v.len() / 2]
    };
    let spread = |v: &[f64]| (v[0], v[v.len() - 1]);
    let mb = size as f64 / 1e6;
    let (ma, mb_) = (median(&mut a), median(&mut b));
    let (ta, tb) = (mb / ma, mb / mb_);
    let ratio = ta / tb;
    println!(
        "verify {} MiB on one core (core {CORE}), median of {runs} runs",
        size >> 20
    );
    println!("| tool | median s | min s | max s | MB/s |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| oci-digest VerifyingReader | {ma:.3} | {:.3} | {:.3} | {ta:.0} |",
        spread(&a).0,
        spread(&a).1
    );
    println!(
        "| openssl dgst -sha256 | {mb_:.3} | {:.3} | {:.3} | {tb:.0} |",
        spread(&b).0,
        spread(&b).1
    );
    println!(
        "ours/openssl throughput: {:.1}% (target >= 95%: {})",
        ratio * 100.0,
        if ratio >= 0.95 { "met" } else { "MISSED" }
    );
}
