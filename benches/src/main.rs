//! Benchmarks, side by side with peer tools.

fn main() {}
