//! The README's CLI tour, run as written: every `sh` block of the tour, in order, in one shell,
//! with `ocictl` the binary under test, the tour's scratch directory a temporary one and
//! `localhost:5000` the test registry.

use oci_test_registry::Registry;

fn tour_blocks(readme: &str) -> Vec<String> {
    let start = readme
        .find("### The CLI")
        .expect("the README has a CLI tour");
    let end = readme[start..]
        .find("### The library")
        .map_or(readme.len(), |i| start + i);
    let section = &readme[start..end];
    let mut blocks = Vec::new();
    let mut rest = section;
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + 6..];
        let close = body.find("```").expect("closed block");
        blocks.push(body[..close].to_owned());
        rest = &body[close + 3..];
    }
    blocks
}

#[test]
fn the_readme_cli_tour_works_as_written() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let blocks = tour_blocks(&readme);
    assert!(
        blocks.len() >= 3,
        "expected the build, layout and registry blocks"
    );
    // The first block builds the binary and aliases it; the test has the binary already.
    assert!(blocks[0].contains("cargo install --path ocictl"));
    let scratch = tempfile::tempdir().unwrap();
    let registry = Registry::anonymous();
    let mut script = format!(
        "set -euo pipefail\nocictl() {{ {:?} --no-progress \"$@\"; }}\n",
        env!("CARGO_BIN_EXE_ocictl")
    );
    for block in &blocks[1..] {
        let block = block
            .replace("/tmp/tour", scratch.path().to_str().unwrap())
            .replace("localhost:5000", registry.host());
        script.push_str(&block);
    }
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("HOME", scratch.path())
        .env("DOCKER_CONFIG", scratch.path().join(".docker"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the tour failed:\n{script}\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // What the tour promises: the files came back, and the probe printed its table.
    let tour = scratch.path();
    assert_eq!(
        std::fs::read(tour.join("out/hello.txt")).unwrap(),
        b"hello\n"
    );
    assert_eq!(
        std::fs::read(tour.join("out/docs/README.md")).unwrap(),
        b"# docs\n"
    );
    assert_eq!(
        std::fs::read(tour.join("out2/hello.txt")).unwrap(),
        b"hello\n"
    );
    assert!(stdout.contains("application/spdx+json"), "{stdout}");
    assert!(stdout.contains("chunked_upload"), "{stdout}");
}

/// The README's library snippet, verbatim between the markers, run in a scratch directory.
#[rustfmt::skip]
async fn library_snippet() -> oci_target::Result<()> {
    // snippet start
    use oci_layout::{LayoutOptions, OciLayout};
    use oci_spec_types::MediaType;
    use oci_artifact::files::{FileRef, PullFilesOptions, PushFilesOptions, pull_files, push_files};
    use oci_artifact::pack::{PackOptions, pack_manifest};
    use oci_target::{CopyOptions, Target, copy};

    let layout = OciLayout::create("store", LayoutOptions::default()).await?;
    let layers = push_files(&layout, &[FileRef::new("hello.txt"), FileRef::new("docs")],
                            &PushFilesOptions::default()).await?;
    let manifest = pack_manifest(&layout, layers,
        &PackOptions::new(MediaType::parse("application/vnd.example.hello")?)).await?;
    layout.tag(&manifest, "v1").await?;

    pull_files(&layout, "v1", "out".as_ref(), &PullFilesOptions::default()).await?;

    // Any store to any store: a registry repository is a `Target` too.
    let mirror = OciLayout::create("mirror", LayoutOptions::default()).await?;
    copy(&layout, "v1", &mirror, "v1", &CopyOptions::default()).await?;
    // snippet end
    Ok(())
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_readme_library_snippet_is_this_tested_code() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let open = readme.find("```rust,ignore\n").expect("a library snippet") + 15;
    let close = open + readme[open..].find("```").unwrap();
    let source = include_str!("readme.rs");
    let start = source.find("// snippet start\n").unwrap() + 17;
    let end = source.find("    // snippet end").unwrap();
    assert_eq!(squash(&readme[open..close]), squash(&source[start..end]));
}

#[test]
fn the_readme_library_snippet_runs() {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(scratch.path().join("docs")).unwrap();
    std::fs::write(scratch.path().join("hello.txt"), b"hello\n").unwrap();
    std::fs::write(scratch.path().join("docs/README.md"), b"# docs\n").unwrap();
    // The snippet uses relative paths, as a user's program would from its working directory.
    std::env::set_current_dir(scratch.path()).unwrap();
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(library_snippet())
        .unwrap();
    assert_eq!(
        std::fs::read(scratch.path().join("out/hello.txt")).unwrap(),
        b"hello\n"
    );
    assert!(scratch.path().join("mirror/index.json").is_file());
}
