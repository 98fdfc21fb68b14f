//! Copy memory → memory a graph of 1,000 small blobs: an index of 100 manifests with 10 layers
//! of 4 KiB each. Reports blobs per second at concurrency 1, 4 and 16, as the median of several
//! runs, plus the same with 1 ms of latency per push, where concurrency shows.
//!
//! Run with `cargo bench -p oci-target --bench copy_graph` (add `-- --json` for JSON lines).

use std::time::{Duration, Instant};

use bytes::Bytes;
use oci_spec_types::Descriptor;
use oci_target::conformance::{Faults, Instrumented, describe, image_manifest};
use oci_target::{CopyGraphOptions, MemoryStore, TargetExt, copy_graph};

const MANIFESTS: usize = 100;
const LAYERS: usize = 10;
const LAYER_SIZE: usize = 4096;
const RUNS: usize = 7;

async fn build(store: &MemoryStore) -> (Descriptor, usize) {
    let config_bytes = Bytes::from_static(
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#,
    );
    let config = describe("application/vnd.oci.image.config.v1+json", &config_bytes);
    store.push_bytes(&config, config_bytes).await.unwrap();
    let mut nodes = 1;
    let mut manifests = Vec::new();
    for m in 0..MANIFESTS {
        let mut layers = Vec::new();
        for l in 0..LAYERS {
            let mut data = vec![0u8; LAYER_SIZE];
            data[..8].copy_from_slice(&((m * LAYERS + l) as u64).to_le_bytes());
            let data = Bytes::from(data);
            let d = describe("application/vnd.oci.image.layer.v1.tar", &data);
            store.push_bytes(&d, data).await.unwrap();
            layers.push(d);
            nodes += 1;
        }
        let (d, b) = image_manifest(&config, &layers, None, None, &[]);
        store.push_bytes(&d, b).await.unwrap();
        manifests.push(d);
        nodes += 1;
    }
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
    let bytes = Bytes::from(serde_json::to_vec(&index).unwrap());
    let root = describe("application/vnd.oci.image.index.v1+json", &bytes);
    store.push_bytes(&root, bytes).await.unwrap();
    (root, nodes + 1)
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

fn main() {
    let json = std::env::args().any(|a| a == "--json");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let src = MemoryStore::new();
        let (root, nodes) = build(&src).await;
        let blobs = MANIFESTS * LAYERS;
        if !json {
            println!("copy memory -> memory: index of {MANIFESTS} manifests x {LAYERS} layers of {LAYER_SIZE} B ({blobs} layer blobs, {nodes} nodes); median of {RUNS} runs");
            println!("| destination | concurrency | blobs/s (median) | min | max | nodes/s (median) |");
            println!("|---|---:|---:|---:|---:|---:|");
        }
        for (label, latency) in [("memory", Duration::ZERO), ("memory + 1 ms per push", Duration::from_millis(1))] {
            for concurrency in [1usize, 4, 16] {
                let opts = CopyGraphOptions::default().with_concurrency(concurrency);
                let mut rates = Vec::new();
                let mut node_rates = Vec::new();
                for _ in 0..RUNS {
                    let dst = Instrumented::new(MemoryStore::new())
                        .with_faults(Faults::default().push_latency(latency).remote());
                    let started = Instant::now();
                    let stats = copy_graph(&src, &dst, &root, &opts).await.unwrap();
                    let secs = started.elapsed().as_secs_f64();
                    assert_eq!(stats.copied as usize, nodes, "every node copied once");
                    assert_eq!(dst.inner().len(), nodes);
                    rates.push(blobs as f64 / secs);
                    node_rates.push(nodes as f64 / secs);
                }
                let (med, lo, hi) = median(rates);
                let (nmed, _, _) = median(node_rates);
                if json {
                    println!(r#"{{"workload":"copy_graph","destination":"{label}","concurrency":{concurrency},"blobs_per_s":{med:.0},"min":{lo:.0},"max":{hi:.0},"nodes_per_s":{nmed:.0}}}"#);
                } else {
                    println!("| {label} | {concurrency} | {med:.0} | {lo:.0} | {hi:.0} | {nmed:.0} |");
                }
            }
        }
    });
}
