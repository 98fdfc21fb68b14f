//! Benchmarks, side by side with peer tools, each tool run as its own process and measured from
//! outside (`/usr/bin/time`: wall time and peak resident memory).
//!
//! `cargo run --release -p oci-benches -- pull-push [--size-mib 1024] [--runs 3]`
//! `cargo run --release -p oci-benches -- layout [--sizes-mib 1024,4096] [--runs 3]`

mod layout;
mod measure;
mod pull_push;
mod workers;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("worker") => workers::run(&args[1..]),
        Some("pull-push") => pull_push::run(&args[1..]),
        Some("layout") => layout::run_all(&args[1..]),
        _ => {
            eprintln!(
                "usage: oci-benches pull-push [--size-mib N] [--runs N] | layout [--sizes-mib 1024,4096] [--runs N]"
            );
            std::process::exit(2);
        }
    }
}
