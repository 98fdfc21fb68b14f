//! Side by side with oras-go (through `orasgo-peer`) and with `curl` as the floor, on every
//! registry at hand: distribution 2.8 always, distribution v3.1.1 and olareg where
//! `$OCI_PEERS_DIR` holds them. Each workload says in one line when a peer is absent.

use std::path::{Path, PathBuf};

use oci_test_registry::{Auth, Config, Peer, Registry};

use crate::harness::{Env, Tool, measure_tools, measure_tools_watching, registry_pid, strs};
use crate::report::Workload;

/// The concurrency both copy engines run at (oras-go's default is 3; ours 4).
const CONCURRENCY: &str = "4";

/// How a tool spells a place (a layout path or a repository) as an argument.
type Spell<'a> = &'a dyn Fn(&str) -> String;

/// `orasgo-peer` in `$OCI_PEERS_DIR`, if there.
fn orasgo_peer() -> Option<String> {
    let dir = PathBuf::from(std::env::var_os("OCI_PEERS_DIR")?);
    let peer = dir.join("orasgo-peer");
    peer.is_file().then(|| peer.to_string_lossy().into_owned())
}

/// The registries to measure on: name, host and the process serving it (for its CPU time).
fn registries(env: &Env) -> Vec<(&'static str, String, Option<u32>)> {
    let mut out = vec![("distribution 2.8", env.host.clone(), env.registry_pid)];
    for (name, peer) in [
        ("distribution v3.1.1", Peer::RegistryV3),
        ("olareg", Peer::Olareg),
    ] {
        if let Some(r) = Registry::peer(peer) {
            out.push((name, r.host().to_owned(), registry_pid(r)));
        }
    }
    out
}

/// A shell command that pushes `file` as `digest` to `host/repo` with two curl calls (POST for
/// the session, PUT of the file with the digest): the floor of a push whose digest is known.
fn curl_push(host: &str, repo: &str, file: &str, digest: &str) -> (String, Vec<String>) {
    let script = format!(
        "set -e; loc=$(curl -sS -f -o /dev/null -D - -X POST http://{host}/v2/{repo}/blobs/uploads/ \
         | tr -d '\\r' | sed -n 's/^[Ll]ocation: //p'); \
         case \"$loc\" in /*) loc=\"http://{host}$loc\";; esac; \
         case \"$loc\" in *\\?*) sep='&';; *) sep='?';; esac; \
         curl -sS -f -o /dev/null -T '{file}' -H 'Content-Type: application/octet-stream' \
         \"$loc${{sep}}digest={digest}\""
    );
    ("sh".into(), vec!["-c".into(), script])
}

/// Pull and push of one large blob, and the small-blob graph both ways, on each registry.
pub(crate) fn workloads(
    env: &Env,
    wanted: &dyn Fn(&str) -> bool,
    blob: &Path,
    digest: &str,
    size: u64,
    graph_dir: Option<&str>,
) -> Vec<Workload> {
    let Some(peer) = orasgo_peer() else {
        eprintln!("oras-go comparison not run: no orasgo-peer in $OCI_PEERS_DIR");
        return Vec::new();
    };
    crate::harness::require("curl", &["--version"], "apt-get install curl");
    let mut out = Vec::new();
    let blob_s = blob.to_string_lossy().into_owned();
    let size_s = size.to_string();
    for (registry, host, pid) in registries(env) {
        let key = registry.replace([' ', '.'], "-");
        if wanted("oras-pull") {
            eprintln!("oras-pull on {registry}");
            env.seed_blob(&host, "bench/oras", blob, digest, size);
            let mut w = Workload::new(
                &format!("oras-pull-{key}"),
                &format!("Pull {} MiB into a file, {registry}", size >> 20),
                "One blob fetched into a file. Ours and oras-go verify it as it arrives; curl \
                 writes what it receives and checks nothing: the floor. `openssl dgst` hashes \
                 the same bytes from a file once: what verifying adds, for the CPU floor of a \
                 verified pull (curl's CPU, the registry's while serving curl, and one hash, \
                 over the cores the registry shares with the client here).",
            );
            w.bytes = Some(size);
            let file = env.path("oras-pulled");
            let url = format!("http://{host}/v2/bench/oras/blobs/{digest}");
            // Every tool writes a new file: overwriting the last tool's 1 GiB output would time
            // the kernel freeing its pages (0.8 s here) inside the run.
            let fresh = |_| {
                let _ = std::fs::remove_file(&file);
            };
            let mut tools = vec![
                Tool::new("ours", |_| {
                    env.worker(&["ours-pull", &host, "bench/oras", digest, &size_s, &file])
                })
                .prepare(fresh),
                Tool::new("oras-go", |_| {
                    (
                        peer.clone(),
                        strs(&["pull-blob", &format!("{host}/bench/oras@{digest}"), &file]),
                    )
                })
                .prepare(fresh),
                Tool::new("curl", |_| {
                    ("curl".into(), strs(&["-sS", "-f", "-o", &file, &url]))
                })
                .prepare(fresh),
                Tool::new("openssl dgst", |_| {
                    ("openssl".into(), strs(&["dgst", "-sha256", &blob_s]))
                }),
            ];
            w.rows = measure_tools(env.runs, &mut tools, pid);
            w.ratio("ours", "oras-go", Some(("<=", 0.8)));
            w.ratio("ours", "curl", Some(("<=", 1.05)));
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            w.verified_floor("curl", "openssl dgst", &["curl", "oras-go"], cores);
            let _ = std::fs::remove_file(&file);
            out.push(w);
        }
        if wanted("oras-push") {
            eprintln!("oras-push on {registry}");
            let mut w = Workload::new(
                &format!("oras-push-{key}"),
                &format!("Push {} MiB, {registry}", size >> 20),
                "One blob pushed from a file, each run to a repository of its own. Ours is told \
                 the digest; oras-go (`push-blob`) hashes the file first, then POST and PUT; \
                 the floor is curl's POST and PUT of the file with the digest known.",
            );
            w.bytes = Some(size);
            let mut tools = vec![
                Tool::new("ours", |i| {
                    env.worker(&[
                        "ours-push",
                        &host,
                        &format!("bench/oras-push-ours-{i}"),
                        digest,
                        &size_s,
                        &blob_s,
                    ])
                }),
                Tool::new("oras-go", |i| {
                    (
                        peer.clone(),
                        strs(&[
                            "push-blob",
                            &format!("{host}/bench/oras-push-go-{i}"),
                            &blob_s,
                        ]),
                    )
                }),
                Tool::new("curl", |i| {
                    curl_push(&host, &format!("bench/oras-push-curl-{i}"), &blob_s, digest)
                }),
            ];
            w.rows = measure_tools(env.runs, &mut tools, pid);
            w.ratio("ours", "oras-go", Some(("<=", 0.9)));
            w.ratio("ours", "curl", Some(("<=", 1.05)));
            out.push(w);
        }
        if let (Some(graph_dir), true) = (graph_dir, wanted("oras-graph")) {
            let quiet = At {
                registry,
                key: &key,
                host: &host,
                pid,
                log: None,
                kind: Instance::Quiet,
            };
            out.extend(graph(env, &peer, &quiet, graph_dir));
            // Distribution logs each request's handler time when asked, at a cost in its own
            // CPU: the served floor comes from copies on an instance of its own that does,
            // beside the figures above, which it would slow. Distribution also syncs each
            // upload's files to disk several times: an instance keeping its storage in memory
            // shows what of a copy to it is the client's.
            let start = |config: Config| match registry {
                "distribution 2.8" => Some(Registry::start(config)),
                "distribution v3.1.1" => Registry::start_peer(Peer::RegistryV3, &config),
                _ => None,
            };
            let in_memory = Path::new("/dev/shm");
            for kind in [Instance::Logging, Instance::InMemory] {
                let config = Config::new(Auth::Anonymous);
                let config = match kind {
                    Instance::InMemory if in_memory.is_dir() => config.with_storage_in(in_memory),
                    Instance::InMemory => {
                        eprintln!("oras-graph on {registry} in memory not run: no /dev/shm");
                        continue;
                    }
                    _ => config.with_request_log(),
                };
                let Some(r) = start(config) else {
                    continue;
                };
                let log = r.log_path();
                let at = At {
                    registry,
                    key: &key,
                    host: r.host(),
                    pid: registry_pid(&r),
                    log: (kind == Instance::Logging).then_some(log.as_path()),
                    kind,
                };
                out.extend(graph(env, &peer, &at, graph_dir));
            }
        }
    }
    out
}

/// oras-go's copy into a layout, then the layout's filesystem synced: ours's durability.
const ORAS_GO_SYNCED: &str = "oras-go, then sync -f";

/// The copy client that sends a registry only the requests it cannot do without.
const FEWEST: &str = "fewest requests (Python http.client)";

/// A registry measured on: its name, the name's form in workload ids, its host and process, the
/// log its request lines go to when it writes them, and what kind of instance it is.
struct At<'a> {
    registry: &'a str,
    key: &'a str,
    host: &'a str,
    pid: Option<u32>,
    log: Option<&'a Path>,
    kind: Instance,
}

/// The instances of a registry the graph is copied on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Instance {
    /// As it runs by default: the targets are judged here.
    Quiet,
    /// Logging each request with its handler's time, for the served floor.
    Logging,
    /// Its storage in memory: a copy to it without the registry's disk syncs. Layout to
    /// registry only (a copy from it reads what the page cache holds either way).
    InMemory,
}

/// The 1,201-node graph, layout to registry and back, ours against oras-go at one concurrency.
fn graph(env: &Env, peer: &str, at: &At<'_>, graph_dir: &str) -> Vec<Workload> {
    let At {
        registry,
        key,
        host,
        pid,
        log,
        kind,
    } = *at;
    let mut out = Vec::new();
    let src_registry = format!("{host}/bench/oras-graph-src");
    {
        let status = std::process::Command::new(&env.me)
            .args(["worker", "copy", &format!("layout:{graph_dir}"), "graph"])
            .arg(format!("registry:{src_registry}"))
            .args(["graph", CONCURRENCY])
            .status()
            .unwrap();
        assert!(status.success(), "seeding the graph on {registry}");
    }
    for (to_registry, direction) in [(true, "layout to registry"), (false, "registry to layout")] {
        if kind == Instance::InMemory && !to_registry {
            continue;
        }
        // The targets are judged on the registry as it runs by default; the other instances
        // show floors.
        let judged = kind == Instance::Quiet;
        let (suffix, logging) = match kind {
            Instance::Quiet => ("", ""),
            Instance::Logging => ("-served", ", registry logging each request"),
            Instance::InMemory => ("-memory", ", registry storage in memory"),
        };
        eprintln!("oras-graph {direction} on {registry}{logging}");
        let id = format!(
            "oras-graph-{}-{key}{suffix}",
            if to_registry { "up" } else { "down" }
        );
        let mut w = Workload::new(
            &id,
            &format!("Copy 1,201 small nodes, {direction}, {registry}{logging}"),
            "An index of 100 manifests, each with a config and 10 layers of 4 KiB. Ours is \
             `oci_target::copy`, oras-go is `oras.Copy`, both at concurrency 4, each run to a \
             destination of its own. Our layout syncs each blob and its directory to disk before \
             it is visible (the default); oras-go's does not sync, and `ours, no fsync` \
             (`LayoutOptions::with_fsync(false)`) is the same durability as oras-go's. The \
             floors: the registry's CPU time over the cores, alone and with ours; on a \
             distribution instance logging each request (its own workload, no targets: the \
             logging costs the registry CPU), the time its handlers took over the 4 requests \
             a tool may have open at once. On a distribution instance keeping its storage in \
             memory (its own workload, no targets), the copy to it without the registry's \
             disk syncs. Into distribution, which takes no upload in one request, `fewest \
             requests` is a Python script (`benches/peers/fewest_requests.py`) sending only a \
             POST and a PUT per blob and a PUT per manifest, 4 at a time: what serving the copy \
             takes the registry. Into a layout, `oras-go, then sync -f` is oras-go's copy \
             followed by a sync of the layout's filesystem: the durability ours has by \
             default.",
        );
        w.items = Some(1201);
        // Source and destination of run `i` of `who`, in the tool's spelling of a layout and a
        // registry repository. Every run has a destination of its own, removed only when the
        // benchmark ends: a directory of 1,201 files deleted just before a run would make the
        // filesystem's inode allocator step over each freshly freed inode (ext4 keeps them
        // aside for a minute), a cost of the benchmark's cleanup that no tool's user pays.
        let ends = |i: usize, who: &str, layout: Spell<'_>, repository: Spell<'_>| {
            if to_registry {
                let dst = format!("{host}/bench/{id}-{who}-{i}");
                (layout(graph_dir), repository(&dst))
            } else {
                let dst = env.path(&format!("{id}-{who}-{i}"));
                (repository(&src_registry), layout(&dst))
            }
        };
        // Distribution takes no upload in one request: a POST and a PUT per blob is the least
        // any client can send it. The standard library of Python sending only those shows what
        // the registry takes to serve them.
        let fewest = to_registry && judged && registry.starts_with("distribution");
        let fewest_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/fewest_requests.py");
        let fewest_script = fewest_script.to_string_lossy().into_owned();
        let mut tools = vec![
            Tool::new("ours", |i| {
                let layout = |p: &str| format!("layout:{p}");
                let (src, dst) = ends(i, "ours", &layout, &|r| format!("registry:{r}"));
                env.worker(&["copy", &src, "graph", &dst, "graph", CONCURRENCY])
            }),
            Tool::new("ours, no fsync", |i| {
                let layout = |p: &str| format!("layout-nosync:{p}");
                let (src, dst) = ends(i, "nosync", &layout, &|r| format!("registry:{r}"));
                env.worker(&["copy", &src, "graph", &dst, "graph", CONCURRENCY])
            }),
            Tool::new("oras-go", |i| {
                let layout = |p: &str| format!("oci:{p}:graph");
                let (src, dst) = ends(i, "go", &layout, &|r| format!("{r}:graph"));
                (
                    peer.to_owned(),
                    strs(&["copy", "-c", CONCURRENCY, &src, &dst]),
                )
            }),
        ];
        if to_registry {
            // Only a layout destination syncs.
            tools.remove(1);
        } else {
            // The durability ours has by default, for oras-go: its layout written to disk
            // before the run ends (`sync -f`: the filesystem, as our shared syncs do).
            tools.push(Tool::new(ORAS_GO_SYNCED, |i| {
                let layout = |p: &str| format!("oci:{p}:graph");
                let (src, dst) = ends(i, "gosync", &layout, &|r| format!("{r}:graph"));
                let dir = env.path(&format!("{id}-gosync-{i}"));
                let copy = format!(
                    "'{peer}' copy -c {CONCURRENCY} '{src}' '{dst}' >/dev/null && sync -f '{dir}'"
                );
                ("sh".into(), strs(&["-c", &copy]))
            }));
        }
        if fewest {
            tools.push(Tool::new(FEWEST, |i| {
                let repository = format!("bench/{id}-fewest-{i}");
                (
                    "python3".into(),
                    strs(&[
                        &fewest_script,
                        host,
                        &repository,
                        graph_dir,
                        "graph",
                        CONCURRENCY,
                    ]),
                )
            }));
        }
        // Short runs whose times move with the disk: at least 5 of them for a steady median.
        w.rows = measure_tools_watching(env.runs.max(5), &mut tools, pid, log);
        let target = |t| judged.then_some(t);
        w.ratio("ours", "oras-go", target(("<=", 0.8)));
        if judged {
            w.rss_over("ours", "oras-go", 8.0);
        }
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let in_flight: usize = CONCURRENCY.parse().unwrap();
        // Into a layout, the same durability as oras-go's store, which never syncs.
        let like_oras_go = if to_registry {
            "ours"
        } else {
            "ours, no fsync"
        };
        if !to_registry {
            w.ratio(like_oras_go, "oras-go", target(("<=", 0.8)));
            w.ratio("ours", ORAS_GO_SYNCED, None);
        }
        w.cpu_floor(like_oras_go, "oras-go", cores);
        w.served_floor(like_oras_go, "oras-go", in_flight);
        if fewest {
            w.ratio(FEWEST, "oras-go", None);
            w.ratio("ours", FEWEST, None);
        }
        out.push(w);
    }
    out
}
