//! Programs and folders the tests of every crate use: a tool that must be installed, run to
//! success, and a fresh temporary path per test.

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Runs a program that must exist, failing with how to install it when it does not.
pub fn tool(program: &str, args: &[&str], install: &str) -> Output {
    match Command::new(program).args(args).output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            panic!("{program} is not installed: {install} (scripts/setup does it)")
        }
        Err(e) => panic!("cannot run {program}: {e}"),
    }
}

/// Like [`tool`], asserting success; returns stdout.
pub fn tool_ok(program: &str, args: &[&str], install: &str) -> String {
    succeeded(&format!("{program} {args:?}"), tool(program, args, install))
}

/// The stdout of a finished program run that must have succeeded; `what` names the run in the
/// failure, which shows both of its outputs.
pub fn succeeded(what: &str, out: Output) -> String {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A path in the temporary folder no other test of this process uses, emptied: named after the
/// process, `label` and a counter. The caller creates it (or not) and removes it.
pub fn temp_path(label: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "oci-test-{}-{label}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}
