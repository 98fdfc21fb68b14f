//! The results of one harness run: Markdown for people, JSON for tools, an SVG plot.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::{Value, json};

use crate::measure::{Sample, summary};

/// One tool's runs of one workload.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) tool: String,
    pub(crate) samples: Vec<Sample>,
    /// Extra per-run figures (name, values), e.g. the registry's CPU seconds.
    pub(crate) extra: Vec<(String, Vec<f64>)>,
}

impl Row {
    pub(crate) fn new(tool: impl Into<String>) -> Self {
        Self {
            tool: tool.into(),
            samples: Vec::new(),
            extra: Vec::new(),
        }
    }

    pub(crate) fn median(&self) -> f64 {
        summary(&self.secs()).0
    }

    pub(crate) fn secs(&self) -> Vec<f64> {
        self.samples.iter().map(|s| s.secs).collect()
    }

    pub(crate) fn peak_rss_mib(&self) -> f64 {
        self.samples
            .iter()
            .map(|s| s.max_rss_kib)
            .max()
            .unwrap_or(0) as f64
            / 1024.0
    }

    /// The per-run values of the extra figure `name`, if this row has it.
    pub(crate) fn extra(&self, name: &str) -> Option<&[f64]> {
        self.extra
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }

    pub(crate) fn push_extra(&mut self, name: &str, value: f64) {
        match self.extra.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(value),
            None => self.extra.push((name.to_owned(), vec![value])),
        }
    }
}

/// A ratio of our time to a peer's, with the target it is held to, if any.
#[derive(Debug, Clone)]
pub(crate) struct Check {
    pub(crate) name: String,
    pub(crate) value: f64,
    /// `(<=, x)` or `(>=, x)`.
    pub(crate) target: Option<(&'static str, f64)>,
}

impl Check {
    pub(crate) fn met(&self) -> Option<bool> {
        self.target.map(|(op, t)| match op {
            "<=" => self.value <= t,
            _ => self.value >= t,
        })
    }
}

/// One workload: what was measured, each tool's row, the checks.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    pub(crate) id: String,
    pub(crate) title: String,
    pub(crate) how: String,
    /// Bytes moved per run, for throughput (none for graphs of many small blobs).
    pub(crate) bytes: Option<u64>,
    /// Items moved per run, for graphs (blobs).
    pub(crate) items: Option<u64>,
    pub(crate) rows: Vec<Row>,
    pub(crate) checks: Vec<Check>,
    pub(crate) notes: Vec<String>,
}

impl Workload {
    pub(crate) fn new(id: &str, title: &str, how: &str) -> Self {
        Self {
            id: id.to_owned(),
            title: title.to_owned(),
            how: how.to_owned(),
            bytes: None,
            items: None,
            rows: Vec::new(),
            checks: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub(crate) fn row(&self, tool: &str) -> Option<&Row> {
        self.rows.iter().find(|r| r.tool == tool)
    }

    /// Adds `ours / peer` of median times, against `target` when given.
    pub(crate) fn ratio(&mut self, ours: &str, peer: &str, target: Option<(&'static str, f64)>) {
        if let (Some(a), Some(b)) = (self.row(ours), self.row(peer)) {
            let value = a.median() / b.median();
            self.checks.push(Check {
                name: format!("time {ours} / {peer}"),
                value,
                target,
            });
        }
    }

    /// Adds `peak RSS ours - peer` in MiB (the highest of each tool's runs), at most `max`.
    pub(crate) fn rss_over(&mut self, ours: &str, peer: &str, max: f64) {
        if let (Some(a), Some(b)) = (self.row(ours), self.row(peer)) {
            self.checks.push(Check {
                name: format!("peak RSS {ours} - {peer}, MiB"),
                value: a.peak_rss_mib() - b.peak_rss_mib(),
                target: Some(("<=", max)),
            });
        }
    }

    /// What the CPU time spent in `tool`'s runs allows on `cores` cores, as shares of `peer`'s
    /// median time: the registry's CPU seconds alone over the cores (no client doing the same
    /// requests can finish sooner while the registry does that work), and the registry's with
    /// the tool's own (the least wall time those runs could have taken). Medians over the runs.
    pub(crate) fn cpu_floor(&mut self, tool: &str, peer: &str, cores: usize) {
        let (Some(row), Some(peer_row)) = (self.row(tool), self.row(peer)) else {
            return;
        };
        let Some(registry) = row.extra("registry CPU s") else {
            return;
        };
        let cores = cores.max(1) as f64;
        let peer_secs = peer_row.median();
        let alone: Vec<f64> = registry.iter().map(|r| r / cores).collect();
        let both: Vec<f64> = registry
            .iter()
            .zip(&row.samples)
            .map(|(r, s)| (r + s.cpu_secs) / cores)
            .collect();
        for (name, floor) in [
            (
                format!("CPU floor: registry CPU / {cores} cores, runs of {tool}, / {peer}"),
                alone,
            ),
            (
                format!("CPU floor: (registry + {tool}) CPU / {cores} cores, / {peer}"),
                both,
            ),
        ] {
            self.checks.push(Check {
                name,
                value: summary(&floor).0 / peer_secs,
                target: None,
            });
        }
    }

    /// The CPU a verified pull cannot do without, over the cores, as a share of each of `peers`'
    /// median times: what `wire` (a client that only receives and writes) and the registry
    /// serving it used, run by run, plus the median CPU of `hash` (one hash of the same bytes).
    /// Where the cores are shared with the registry, no verifying client can finish sooner.
    pub(crate) fn verified_floor(&mut self, wire: &str, hash: &str, peers: &[&str], cores: usize) {
        let (Some(wire_row), Some(hash_row)) = (self.row(wire), self.row(hash)) else {
            return;
        };
        let Some(registry) = wire_row.extra("registry CPU s") else {
            return;
        };
        let cpu: Vec<f64> = hash_row.samples.iter().map(|s| s.cpu_secs).collect();
        let hashing = summary(&cpu).0;
        let cores = cores.max(1) as f64;
        let floor: Vec<f64> = registry
            .iter()
            .zip(&wire_row.samples)
            .map(|(r, s)| (r + s.cpu_secs + hashing) / cores)
            .collect();
        let floor = summary(&floor).0;
        for peer in peers {
            if let Some(peer_secs) = self.row(peer).map(Row::median) {
                self.checks.push(Check {
                    name: format!(
                        "CPU floor of a verified pull: ({wire} + registry + {hash}) CPU / \
                         {cores} cores, / {peer}"
                    ),
                    value: floor / peer_secs,
                    target: None,
                });
            }
        }
    }

    /// The registry's handler time in `tool`'s runs over the `in_flight` requests the tools may
    /// have open at once, as a share of `peer`'s median time: with at most that many requests
    /// in the registry's hands at any moment, no client sending the same requests at the same
    /// concurrency can finish sooner. Median over the runs.
    pub(crate) fn served_floor(&mut self, tool: &str, peer: &str, in_flight: usize) {
        let (Some(row), Some(peer_row)) = (self.row(tool), self.row(peer)) else {
            return;
        };
        let Some(handled) = row.extra("registry handler s") else {
            return;
        };
        let floors: Vec<f64> = handled.iter().map(|h| h / in_flight as f64).collect();
        let value = summary(&floors).0 / peer_row.median();
        self.checks.push(Check {
            name: format!(
                "served floor: registry handler time / {in_flight} in flight, runs of {tool}, / {peer}"
            ),
            value,
            target: None,
        });
    }

    /// Throughput of a row, in MB/s (or items/s), by its median.
    pub(crate) fn rate(&self, row: &Row) -> Option<f64> {
        let m = row.median();
        self.bytes
            .map(|b| b as f64 / 1e6 / m)
            .or_else(|| self.items.map(|n| n as f64 / m))
    }

    fn rate_unit(&self) -> &'static str {
        if self.bytes.is_some() {
            "MB/s"
        } else {
            "blobs/s"
        }
    }
}

/// Everything one run measured, and on what.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) date: String,
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) memory: String,
    pub(crate) runs: usize,
    pub(crate) command: String,
    pub(crate) workloads: Vec<Workload>,
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**MISSED**",
        None => "(no target)",
    }
}

impl Report {
    pub(crate) fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Benchmark results\n");
        let _ = writeln!(
            s,
            "Written by `{}` on {}: {}, {} cores, {} memory. Each tool runs as its own process, \
             measured from outside by GNU `time` (wall time, peak resident memory); {} runs after \
             a warm-up run, the median shown with the spread (min–max). Ratios are of median \
             times from this same run: below 1 means we are faster. Raw figures: \
             [results.json](results.json); plot: [results.svg](results.svg).\n",
            self.command, self.date, self.cpu, self.cores, self.memory, self.runs
        );
        let _ = writeln!(s, "## Targets\n");
        let _ = writeln!(s, "| workload | check | value | target | verdict |");
        let _ = writeln!(s, "|---|---|---:|---|---|");
        for w in &self.workloads {
            for c in &w.checks {
                if let Some((op, t)) = c.target {
                    let _ = writeln!(
                        s,
                        "| {} | {} | {:.2} | {op} {t} | {} |",
                        w.title,
                        c.name,
                        c.value,
                        verdict(c.met())
                    );
                }
            }
            let ours: Vec<&Row> = w
                .rows
                .iter()
                .filter(|r| r.tool.starts_with("ours"))
                .collect();
            if !ours.is_empty() {
                let rss = ours.iter().map(|r| r.peak_rss_mib()).fold(0.0, f64::max);
                let _ = writeln!(
                    s,
                    "| {} | our peak RSS, MiB | {rss:.0} | <= 64 | {} |",
                    w.title,
                    verdict(Some(rss <= 64.0))
                );
            }
        }
        for w in &self.workloads {
            let _ = writeln!(s, "\n## {}\n\n{}\n", w.title, w.how);
            let extra_names: Vec<&str> = w
                .rows
                .iter()
                .flat_map(|r| r.extra.iter().map(|(n, _)| n.as_str()))
                .fold(Vec::new(), |mut v, n| {
                    if !v.contains(&n) {
                        v.push(n);
                    }
                    v
                });
            let mut header = format!(
                "| tool | median s | min–max s | {} | peak RSS MiB |",
                w.rate_unit()
            );
            let mut rule = "|---|---:|---:|---:|---:|".to_owned();
            for n in &extra_names {
                header.push_str(&format!(" {n} |"));
                rule.push_str("---:|");
            }
            let _ = writeln!(s, "{header}\n{rule}");
            for r in &w.rows {
                let (m, lo, hi) = summary(&r.secs());
                let rate = w.rate(r).map_or("–".to_owned(), |v| format!("{v:.0}"));
                let mut line = format!(
                    "| {} | {m:.2} | {lo:.2}–{hi:.2} | {rate} | {:.0} |",
                    r.tool,
                    r.peak_rss_mib()
                );
                for n in &extra_names {
                    let cell = r
                        .extra(n)
                        .map_or("–".to_owned(), |v| format!("{:.2}", summary(v).0));
                    line.push_str(&format!(" {cell} |"));
                }
                let _ = writeln!(s, "{line}");
            }
            if !w.checks.is_empty() {
                let _ = writeln!(s);
                for c in &w.checks {
                    let target = c.target.map_or(String::new(), |(op, t)| {
                        format!(" (target {op} {t}: {})", verdict(c.met()))
                    });
                    let _ = writeln!(s, "- {}: {:.2}{target}", c.name, c.value);
                }
            }
            for n in &w.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }

    pub(crate) fn json(&self) -> Value {
        json!({
            "date": self.date,
            "machine": {"cpu": self.cpu, "cores": self.cores, "memory": self.memory},
            "runs": self.runs,
            "command": self.command,
            "workloads": self.workloads.iter().map(|w| json!({
                "id": w.id,
                "title": w.title,
                "how": w.how,
                "bytes": w.bytes,
                "items": w.items,
                "rows": w.rows.iter().map(|r| json!({
                    "tool": r.tool,
                    "seconds": r.secs(),
                    "median_seconds": r.median(),
                    "peak_rss_kib": r.samples.iter().map(|s| s.max_rss_kib).collect::<Vec<_>>(),
                    "rate": w.rate(r),
                    "extra": r.extra.iter().map(|(n, v)| (n.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
                })).collect::<Vec<_>>(),
                "checks": w.checks.iter().map(|c| json!({
                    "name": c.name,
                    "value": c.value,
                    "target": c.target.map(|(op, t)| format!("{op} {t}")),
                    "met": c.met(),
                })).collect::<Vec<_>>(),
                "notes": w.notes,
            })).collect::<Vec<_>>(),
        })
    }

    /// Throughput by workload and tool, as horizontal bars, one panel per unit.
    pub(crate) fn plot(&self, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
        use plotters::prelude::*;
        let bars: Vec<(String, String, f64, bool)> = self
            .workloads
            .iter()
            .flat_map(|w| {
                w.rows.iter().filter_map(move |r| {
                    w.rate(r).map(|v| {
                        (
                            format!("{} — {}", w.title, r.tool),
                            w.rate_unit().to_owned(),
                            v,
                            r.tool.starts_with("ours"),
                        )
                    })
                })
            })
            .collect();
        let units = ["MB/s", "blobs/s"];
        let panel = |n: usize| 70 + 26 * n as u32;
        let counts: Vec<usize> = units
            .iter()
            .map(|u| bars.iter().filter(|b| b.1 == *u).count())
            .collect();
        let height = 40
            + counts
                .iter()
                .filter(|c| **c > 0)
                .map(|c| panel(*c))
                .sum::<u32>();
        let root = SVGBackend::new(path, (1100, height)).into_drawing_area();
        root.fill(&WHITE)?;
        let root = root.titled(
            &format!(
                "Throughput by workload and tool ({}; {} cores)",
                self.cpu, self.cores
            ),
            ("sans-serif", 18),
        )?;
        let mut area = root;
        for (i, unit) in units.iter().enumerate() {
            let mine: Vec<_> = bars.iter().filter(|b| b.1 == *unit).collect();
            if mine.is_empty() {
                continue;
            }
            let share = panel(counts[i]);
            let (top, rest) = area.split_vertically(share.min(area.dim_in_pixel().1));
            area = rest;
            let max = mine.iter().map(|b| b.2).fold(0.0, f64::max) * 1.15;
            let mut chart = ChartBuilder::on(&top)
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(430)
                .build_cartesian_2d(0.0..max, (0..mine.len()).into_segmented())?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .x_desc(*unit)
                .label_style(("sans-serif", 13))
                .axis_desc_style(("sans-serif", 13))
                .y_label_formatter(&|v| match v {
                    SegmentValue::CenterOf(i) | SegmentValue::Exact(i) => {
                        mine.get(*i).map_or(String::new(), |b| b.0.clone())
                    }
                    SegmentValue::Last => String::new(),
                })
                .y_labels(mine.len())
                .draw()?;
            chart.draw_series(mine.iter().enumerate().map(|(i, b)| {
                let color = if b.3 {
                    BLUE.mix(0.8)
                } else {
                    RGBColor(150, 150, 150).mix(0.9)
                };
                let mut bar = Rectangle::new(
                    [
                        (0.0, SegmentValue::Exact(i)),
                        (b.2, SegmentValue::Exact(i + 1)),
                    ],
                    color.filled(),
                );
                bar.set_margin(3, 3, 0, 0);
                bar
            }))?;
        }
        Ok(())
    }
}

/// Workloads the regression guard watches: the graph copies, pulls and pushes.
const GUARDED: [&str; 6] = [
    "oras-graph",
    "oras-pull",
    "oras-push",
    "graph",
    "pull",
    "push",
];

/// How much worse a guarded ratio may get than in the committed results before the run fails.
const REGRESSION_MARGIN: f64 = 1.10;

/// Each time ratio of a guarded workload that is more than 10% worse than the same check in
/// `committed` (the results.json this run replaces), as a line saying which and by how much.
/// Nothing when there are no committed results to compare with.
pub(crate) fn regressions(committed: &Path, now: &Report) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(committed) else {
        return Vec::new();
    };
    let Ok(before) = serde_json::from_str::<Value>(&text) else {
        return vec![format!("{} is not JSON", committed.display())];
    };
    let old_value = |id: &str, check: &str| -> Option<f64> {
        before["workloads"]
            .as_array()?
            .iter()
            .find(|w| w["id"] == id)?["checks"]
            .as_array()?
            .iter()
            .find(|c| c["name"] == check)?["value"]
            .as_f64()
    };
    let mut out = Vec::new();
    for w in &now.workloads {
        let guarded = GUARDED
            .iter()
            .any(|g| w.id == *g || w.id.starts_with(&format!("{g}-")));
        if !guarded {
            continue;
        }
        for c in w.checks.iter().filter(|c| c.name.starts_with("time ")) {
            if let Some(old) = old_value(&w.id, &c.name)
                && c.value > old * REGRESSION_MARGIN
            {
                out.push(format!(
                    "{}: {} was {old:.2}, now {:.2} (+{:.0}%)",
                    w.title,
                    c.name,
                    c.value,
                    (c.value / old - 1.0) * 100.0
                ));
            }
        }
    }
    out
}
