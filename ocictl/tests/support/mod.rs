//! Running `ocictl` and the peer tools from tests.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// An isolated home for credentials, so no test reads or writes the user's own.
pub fn home() -> &'static Path {
    static HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    HOME.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

/// `ocictl` with `args`, in `cwd`, with an isolated docker config.
pub fn ocictl_in(cwd: &Path, args: &[&str]) -> Output {
    ocictl_with_stdin(cwd, args, None)
}

/// `ocictl` with `args` and `stdin` fed in.
pub fn ocictl_with_stdin(cwd: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    ocictl_with(cwd, args, stdin, &[])
}

/// `ocictl` with `args`, `stdin` fed in and the environment variables `env` set
/// (`COSIGN_PASSWORD` is unset unless given).
pub fn ocictl_with(cwd: &Path, args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocictl"));
    cmd.env_remove("COSIGN_PASSWORD");
    cmd.envs(env.iter().copied());
    cmd.args(args)
        .current_dir(cwd)
        .env("HOME", home())
        .env("DOCKER_CONFIG", home().join(".docker"))
        .env_remove("REGISTRY_AUTH_FILE")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("ocictl runs");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    child.wait_with_output().unwrap()
}

/// `DIR:TAG` (or `DIR@DIGEST`): a reference into the layout at `dir`.
pub fn at(dir: &Path, reference: &str) -> String {
    let sep = if reference.contains(':') { '@' } else { ':' };
    format!("{}{sep}{reference}", dir.display())
}

/// Runs `ocictl`, expecting success; returns stdout.
pub fn ok(cwd: &Path, args: &[&str]) -> String {
    let out = ocictl_in(cwd, args);
    assert!(
        out.status.success(),
        "ocictl {args:?} failed ({:?}):\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `ocictl`, expecting exit `code`; returns stderr.
pub fn fails(cwd: &Path, args: &[&str], code: i32) -> String {
    let out = ocictl_in(cwd, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "ocictl {args:?}: expected exit {code}\nstdout: {}\nstderr: {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// Runs `ocictl --format json`, parsing stdout.
pub fn json(cwd: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&ok(cwd, &all)).unwrap()
}

#[allow(unused_imports)]
pub use oci_test_registry::tools::{tool, tool_ok};

/// Files under `dir`, relative, sorted, with their bytes.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p: PathBuf = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// A working directory with files and a directory to push.
pub fn sample_files() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), b"hello from ocictl\n").unwrap();
    let big: Vec<u8> = (0..1_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.path().join("big.bin"), big).unwrap();
    std::fs::create_dir_all(dir.path().join("docs/inner")).unwrap();
    std::fs::write(dir.path().join("docs/a.md"), b"# a\n").unwrap();
    std::fs::write(dir.path().join("docs/inner/b.txt"), b"bee\n").unwrap();
    dir
}

/// The sample files in a new directory, with a key pair (`cosign.key`, `cosign.pub`, empty
/// password), a file pushed to the layout `store` as `v1`, and a provenance predicate in
/// `provenance.json`. Returns the directory and the layout reference of `v1`.
pub fn key_image_and_predicate() -> (tempfile::TempDir, String) {
    let src = sample_files();
    let dir = src.path();
    ok(dir, &["generate-key-pair"]);
    let v1 = at(&dir.join("store"), "v1");
    ok(dir, &["push", "--oci-layout", &v1, "hello.txt"]);
    std::fs::write(
        dir.join("provenance.json"),
        br#"{"buildDefinition":{"buildType":"make"}}"#,
    )
    .unwrap();
    (src, v1)
}
