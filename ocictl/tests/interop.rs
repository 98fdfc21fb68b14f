//! `ocictl` with the tools users already have: the Python `oras` package and skopeo, against the
//! real distribution registry.

mod support;

use std::path::{Path, PathBuf};

use oci_layout::{LayoutOptions, OciLayout};
use oci_spec_types::Descriptor;
use oci_test_registry::Registry;
use oci_test_registry::tools::succeeded;
use support::{at, json, ok, sample_files, tool, tool_ok, tree};

const PYTHON_ORAS: &str = "pip install oras";
const SKOPEO: &str = "apt-get install skopeo";

fn peer_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/oras_peer.py")
}

/// Runs the Python oras peer in `cwd`, failing with how to install it when it is missing.
fn python_oras(cwd: &Path, args: &[&str]) -> String {
    let check = tool("python3", &["-c", "import oras.client"], PYTHON_ORAS);
    assert!(
        check.status.success(),
        "the Python oras package is not installed: {PYTHON_ORAS} (scripts/setup does it)\n{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let out = std::process::Command::new("python3")
        .arg(peer_script())
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap();
    succeeded(&format!("python oras {args:?}"), out)
}

/// The registry, the sample files and `interop/NAME:v1` on the registry.
fn interop(name: &str) -> (&'static Registry, tempfile::TempDir, String) {
    let r = Registry::anonymous();
    (r, sample_files(), format!("{}/interop/{name}:v1", r.host()))
}

#[test]
fn python_oras_pulls_what_ocictl_pushes() {
    let (r, src, target) = interop("to-python");
    let files = ["hello.txt", "big.bin", "docs"];
    ok(
        src.path(),
        &[&["push", "--plain-http", &target][..], &files].concat(),
    );
    let out = tempfile::tempdir().unwrap();
    python_oras(
        src.path(),
        &["pull", r.host(), &target, out.path().to_str().unwrap()],
    );
    assert_eq!(
        tree(out.path()),
        tree(src.path()),
        "byte-identical files and directory"
    );
}

#[test]
fn ocictl_pulls_what_python_oras_pushes() {
    let (r, src, target) = interop("from-python");
    python_oras(
        src.path(),
        &["push", r.host(), &target, "hello.txt", "big.bin"],
    );
    let out = tempfile::tempdir().unwrap();
    let pulled = json(
        src.path(),
        &[
            "pull",
            "--plain-http",
            &target,
            "-o",
            out.path().to_str().unwrap(),
        ],
    );
    assert_eq!(pulled["files"].as_array().unwrap().len(), 2);
    let expected: Vec<_> = tree(src.path())
        .into_iter()
        .filter(|(n, _)| n == "hello.txt" || n == "big.bin")
        .collect();
    assert_eq!(tree(out.path()), expected);
}

/// Writes a small but real image (a gzip layer whose diff_id is right) into a layout.
async fn build_image(dir: &Path) -> Descriptor {
    let layout = OciLayout::create(dir, LayoutOptions::default())
        .await
        .unwrap();
    oci_examples::push_demo_image(&layout, "interop", "v1")
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_skopeo_pushed_goes_through_a_layout_and_back_where_skopeo_reads_it() {
    let r = Registry::anonymous();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let built = build_image(&dir.join("built")).await;
    let src = format!("{}/interop/skopeo-src:v1", r.host());
    tool_ok(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--preserve-digests",
            "--dest-tls-verify=false",
            &format!("oci:{}:v1", dir.join("built").display()),
            &format!("docker://{src}"),
        ],
        SKOPEO,
    );

    let layout = dir.join("mirror");
    let local = at(&layout, "v1");
    ok(
        dir,
        &["cp", "--plain-http", "--to-oci-layout", &src, &local],
    );
    let dst = format!("{}/interop/ocictl-dst:v1", r.host());
    ok(
        dir,
        &["cp", "--plain-http", "--from-oci-layout", &local, &dst],
    );

    // skopeo reads the copy: the same manifest bytes, and every blob verified on its way out.
    let raw = tool_ok(
        "skopeo",
        &[
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{dst}"),
        ],
        SKOPEO,
    );
    assert_eq!(oci_digest::sha256(raw.as_bytes()), built.digest);
    let out = dir.join("skopeo-out");
    tool_ok(
        "skopeo",
        &[
            "copy",
            "--quiet",
            "--preserve-digests",
            "--src-tls-verify=false",
            &format!("docker://{dst}"),
            &format!("oci:{}:v1", out.display()),
        ],
        SKOPEO,
    );
    let inspected: serde_json::Value = serde_json::from_str(&tool_ok(
        "skopeo",
        &["inspect", &format!("oci:{}:v1", layout.display())],
        SKOPEO,
    ))
    .unwrap();
    assert_eq!(inspected["Architecture"], "amd64");
    assert_eq!(inspected["Digest"], built.digest.as_str());
}
