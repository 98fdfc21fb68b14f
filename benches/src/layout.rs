//! Write a large blob into an image layout, then read it back verified, against
//! `cat FILE > COPY && openssl dgst -sha256 COPY` on the same data, for 1 GiB and 4 GiB.

use std::path::PathBuf;

use crate::measure::{Sample, arg, run, summary};
use crate::pull_push::make_blob;

pub(crate) fn run_all(args: &[String]) {
    let runs = arg(args, "--runs", 3) as usize;
    let sizes: Vec<u64> = match args.iter().position(|a| a == "--sizes-mib") {
        Some(i) => args[i + 1]
            .split(',')
            .map(|s| s.parse::<u64>().unwrap() << 20)
            .collect(),
        None => vec![1 << 30, 4 << 30],
    };
    let me = std::env::current_exe()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let base = std::env::var_os("OCI_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("oci-bench-layout-{}", std::process::id()));
    println!("| size | tool | median s | min s | max s | MB/s | peak RSS MiB |");
    println!("|---:|---|---:|---:|---:|---:|---:|");
    let mut verdicts = Vec::new();
    let mut rss_by_size = Vec::new();
    for size in sizes {
        std::fs::create_dir_all(&base).unwrap();
        let file = base.join("blob");
        let digest = make_blob(&file, size);
        let copy = base.join("copy");
        let (mut ours, mut peer): (Vec<Sample>, Vec<Sample>) = (Vec::new(), Vec::new());
        for i in 0..=runs {
            let layout = base.join(format!("layout-{i}"));
            let a = run(
                &me,
                &[
                    "worker".into(),
                    "layout-write-read".into(),
                    layout.to_string_lossy().into_owned(),
                    String::new(),
                    digest.to_string(),
                    size.to_string(),
                    file.to_string_lossy().into_owned(),
                ],
            );
            let _ = std::fs::remove_dir_all(&layout);
            let b = run(
                "sh",
                &[
                    "-c".into(),
                    format!(
                        "cat '{}' > '{}' && openssl dgst -sha256 '{}'",
                        file.display(),
                        copy.display(),
                        copy.display()
                    ),
                ],
            );
            let _ = std::fs::remove_file(&copy);
            if i > 0 {
                ours.push(a);
                peer.push(b);
            }
        }
        let mb = size as f64 / 1e6;
        let show = |name: &str, s: &[Sample]| {
            let (m, lo, hi) = summary(&s.iter().map(|x| x.secs).collect::<Vec<_>>());
            let rss = s.iter().map(|x| x.max_rss_kib).max().unwrap_or(0) as f64 / 1024.0;
            println!(
                "| {} MiB | {name} | {m:.2} | {lo:.2} | {hi:.2} | {:.0} | {rss:.0} |",
                size >> 20,
                mb / m
            );
            (m, rss)
        };
        let (ta, ra) = show("oci-layout write + verified read", &ours);
        let (tb, _) = show("cat > copy + openssl dgst", &peer);
        verdicts.push((size, ta / tb));
        rss_by_size.push((size, ra));
        let _ = std::fs::remove_dir_all(&base);
    }
    for (size, ratio) in verdicts {
        println!(
            "{} MiB: ours/peer time {ratio:.2}x (target <= 1.15x: {})",
            size >> 20,
            if ratio <= 1.15 { "met" } else { "MISSED" }
        );
    }
    let max = rss_by_size.iter().map(|(_, r)| *r).fold(0.0, f64::max);
    let min = rss_by_size.iter().map(|(_, r)| *r).fold(f64::MAX, f64::min);
    println!(
        "our peak RSS: {} (target: the same for every size and <= 64 MiB: {})",
        rss_by_size
            .iter()
            .map(|(s, r)| format!("{} MiB -> {r:.0} MiB", s >> 20))
            .collect::<Vec<_>>()
            .join(", "),
        if max <= 64.0 && max - min <= 8.0 {
            "met"
        } else {
            "MISSED"
        }
    );
}
