//! Running a command as a child and measuring it from outside.

use std::process::{Command, Stdio};

/// What one run of a command took.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    /// Wall time, seconds.
    pub(crate) secs: f64,
    /// Peak resident memory, KiB.
    pub(crate) max_rss_kib: u64,
    /// CPU time the command used, user and system, seconds.
    pub(crate) cpu_secs: f64,
}

/// Runs `program args` under GNU time and returns its wall time, peak RSS and CPU time.
///
/// # Panics
///
/// When the command fails, or `/usr/bin/time` is missing (Debian package `time`).
pub(crate) fn run(program: &str, args: &[String]) -> Sample {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "BENCH %e %M %U %S"])
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .unwrap_or_else(|e| panic!("cannot run /usr/bin/time (apt-get install time): {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{program} {args:?} failed:\n{stderr}");
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("BENCH "))
        .expect("GNU time output");
    let mut parts = line.split_whitespace().skip(1);
    let mut next = || parts.next().unwrap();
    let secs = next().parse().unwrap();
    let max_rss_kib = next().parse().unwrap();
    let cpu_secs = next().parse::<f64>().unwrap() + next().parse::<f64>().unwrap();
    Sample {
        secs,
        max_rss_kib,
        cpu_secs,
    }
}

/// The number after `name` in `args`, or `default`.
pub(crate) fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Median, min and max of `values`.
pub(crate) fn summary(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries() {
        assert_eq!(summary(&[3.0, 1.0, 2.0]), (2.0, 1.0, 3.0));
        assert_eq!(summary(&[5.0]), (5.0, 5.0, 5.0));
    }
}
