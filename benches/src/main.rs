//! Benchmarks, side by side with peer tools, each tool run as its own process and measured from
//! outside (`/usr/bin/time`: wall time and peak resident memory).
//!
//! `cargo run --release -p oci-benches -- all [--runs 3] [--size-mib 1024] [--big-mib 4096]
//! [--only digest,pull,pull-layout,push,graph,oras-pull,oras-push,oras-graph,ranged,
//! ranged-latency,layout] [--out DIR]`
//! (`./scripts/bench` installs the peers first and passes its arguments on).

use std::io::Write;
use std::path::Path;

mod harness;
mod measure;
mod oras;
mod proxy;
mod report;
mod workers;

/// Writes `size` pseudo-random bytes to `path` and returns their digest.
pub(crate) fn make_blob(path: &Path, size: u64) -> oci_spec_types::Digest {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut d = oci_digest::Digester::new(oci_digest::Algorithm::Sha256);
    let mut rng = fastrand::Rng::with_seed(0x2545_f491_4f6c_dd1d);
    let mut block = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        rng.fill(&mut block);
        let n = left.min(block.len() as u64) as usize;
        f.write_all(&block[..n]).unwrap();
        d.update(&block[..n]);
        left -= n as u64;
    }
    f.flush().unwrap();
    d.finalize()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("worker") => workers::run(&args[1..]),
        Some("all") => harness::run(&args[1..]),
        _ => {
            eprintln!(
                "usage: oci-benches all [--runs N] [--size-mib N] [--big-mib N] [--only a,b] [--out DIR]"
            );
            std::process::exit(2);
        }
    }
}
