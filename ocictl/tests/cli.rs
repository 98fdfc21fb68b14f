//! `ocictl` end to end, against the real distribution registry and real layout directories.

mod support;

use oci_test_registry::Registry;
use support::{at, fails, json, ocictl_with_stdin, ok, sample_files, tree};

fn reg() -> &'static Registry {
    Registry::anonymous()
}

fn r(repo_tag: &str) -> String {
    format!("{}/{repo_tag}", reg().host())
}

#[test]
fn push_and_pull_round_trip_over_the_registry() {
    let src = sample_files();
    let dir = src.path();
    let target = r("cli/roundtrip:v1");
    let push = |to: &str| {
        json(
            dir,
            &[
                "push",
                "--plain-http",
                to,
                "hello.txt",
                "big.bin:application/octet-stream",
                "docs",
                "--artifact-type",
                "application/vnd.example.bundle",
                "-a",
                "org.example.owner=team",
                "--created",
                "2025-02-03T04:05:06Z",
            ],
        )
    };
    let pushed = push(&target);
    let digest = pushed["digest"].as_str().unwrap().to_owned();
    assert_eq!(pushed["artifactType"], "application/vnd.example.bundle");
    assert_eq!(
        pushed["annotations"]["org.opencontainers.image.created"],
        "2025-02-03T04:05:06Z"
    );

    // Fixed time, same files: the same digest again.
    let again = push(&r("cli/roundtrip:v1-again"));
    assert_eq!(again["digest"], digest.as_str());

    let manifest: serde_json::Value =
        serde_json::from_str(&ok(dir, &["manifest", "fetch", "--plain-http", &target])).unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    assert_eq!(layers[1]["mediaType"], "application/octet-stream");
    assert_eq!(
        layers[2]["annotations"]["io.deis.oras.content.unpack"],
        "true"
    );

    let out = tempfile::tempdir().unwrap();
    let pull = [
        "pull",
        "--plain-http",
        &target,
        "-o",
        out.path().to_str().unwrap(),
    ];
    let pulled = json(dir, &pull);
    assert_eq!(pulled["digest"], digest.as_str());
    assert_eq!(pulled["files"].as_array().unwrap().len(), 3);
    let mut expected = tree(dir);
    expected.retain(|(name, _)| !name.starts_with('.'));
    assert_eq!(tree(out.path()), expected);

    // An existing name stops the pull; --overwrite replaces it.
    std::fs::write(out.path().join("hello.txt"), b"local edit").unwrap();
    let err = fails(dir, &pull, 6);
    assert!(err.starts_with("Error: "), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert_eq!(
        std::fs::read(out.path().join("hello.txt")).unwrap(),
        b"local edit"
    );
    ok(dir, &[&pull[..], &["--overwrite"]].concat());
    assert_eq!(tree(out.path()), expected);
}

#[test]
fn tags_resolve_manifests_and_blobs() {
    let src = sample_files();
    let dir = src.path();
    let target = r("cli/names:v1");
    let pushed = json(
        dir,
        &[
            "push",
            "--plain-http",
            &target,
            "hello.txt",
            "--artifact-type",
            "application/vnd.x",
        ],
    );
    let digest = pushed["digest"].as_str().unwrap().to_owned();

    ok(dir, &["tag", "--plain-http", &target, "v2", "v3"]);
    let tags = json(dir, &["repo", "tags", "--plain-http", &r("cli/names")]);
    assert_eq!(tags, serde_json::json!(["v1", "v2", "v3"]));
    assert_eq!(
        ok(dir, &["resolve", "--plain-http", &r("cli/names:v3")]).trim(),
        digest
    );
    let repos = json(dir, &["repo", "ls", "--plain-http", reg().host()]);
    assert!(
        repos.as_array().unwrap().iter().any(|n| n == "cli/names"),
        "{repos}"
    );

    let desc = json(
        dir,
        &["manifest", "fetch", "--plain-http", "--descriptor", &target],
    );
    assert_eq!(desc["digest"], digest.as_str());
    let manifest: serde_json::Value =
        serde_json::from_str(&ok(dir, &["manifest", "fetch", "--plain-http", &target])).unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();

    let out = dir.join("fetched.txt");
    ok(
        dir,
        &[
            "blob",
            "fetch",
            "--plain-http",
            &r(&format!("cli/names@{layer}")),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(dir.join("hello.txt")).unwrap()
    );

    let blob = json(
        dir,
        &["blob", "push", "--plain-http", &r("cli/names"), "big.bin"],
    );
    let blob_digest = blob["digest"].as_str().unwrap().to_owned();
    assert_eq!(blob["size"], 1_500_000);
    let blob_ref = r(&format!("cli/names@{blob_digest}"));
    let stat_blob = ["blob", "fetch", "--plain-http", "--descriptor", &blob_ref];
    let stat = json(dir, &stat_blob);
    assert_eq!(stat["size"], 1_500_000);
    ok(dir, &["blob", "delete", "--plain-http", &blob_ref]);
    fails(dir, &stat_blob, 3);

    // Pushing a manifest from a file, then deleting it.
    let file = dir.join("m.json");
    std::fs::write(&file, serde_json::to_vec(&manifest).unwrap()).unwrap();
    let pushed = json(
        dir,
        &[
            "manifest",
            "push",
            "--plain-http",
            &r("cli/names:copy"),
            "m.json",
        ],
    );
    let copy_digest = pushed["digest"].as_str().unwrap().to_owned();
    ok(
        dir,
        &[
            "manifest",
            "delete",
            "--plain-http",
            &r(&format!("cli/names@{copy_digest}")),
        ],
    );
    fails(dir, &["resolve", "--plain-http", &r("cli/names:copy")], 3);
}

/// The manifest of `artifact_type` among the children `discover --format json` lists.
fn child_of_type<'a>(v: &'a serde_json::Value, artifact_type: &str) -> &'a serde_json::Value {
    let children = v["manifests"].as_array().unwrap();
    let found = children.iter().find(|m| m["artifactType"] == artifact_type);
    found.unwrap_or_else(|| panic!("no {artifact_type} child in {v}"))
}

fn discover_children(v: &serde_json::Value) -> Vec<String> {
    let mut types: Vec<String> = v["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["artifactType"].as_str().unwrap().to_owned())
        .collect();
    types.sort();
    types
}

#[test]
fn attach_discover_and_copy_with_referrers() {
    let src = sample_files();
    let dir = src.path();
    std::fs::write(dir.join("sbom.spdx.json"), br#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
    std::fs::write(dir.join("image.sig"), b"signature bytes").unwrap();
    let subject = r("cli/attach:v1");
    ok(
        dir,
        &[
            "push",
            "--plain-http",
            &subject,
            "hello.txt",
            "--artifact-type",
            "application/vnd.example.app",
        ],
    );
    let sbom = json(
        dir,
        &[
            "attach",
            "--plain-http",
            &subject,
            "sbom.spdx.json:application/spdx+json",
            "--artifact-type",
            "application/spdx+json",
        ],
    );
    ok(
        dir,
        &[
            "attach",
            "--plain-http",
            &subject,
            "image.sig",
            "--artifact-type",
            "application/vnd.dev.cosign.artifact.sig.v1+json",
        ],
    );
    // A signature of the SBOM: a referrer of a referrer.
    let sbom_ref = r(&format!("cli/attach@{}", sbom["digest"].as_str().unwrap()));
    ok(
        dir,
        &[
            "attach",
            "--plain-http",
            &sbom_ref,
            "image.sig",
            "--artifact-type",
            "application/vnd.example.sbom-sig",
        ],
    );

    let found = json(dir, &["discover", "--plain-http", &subject]);
    assert_eq!(
        discover_children(&found),
        [
            "application/spdx+json",
            "application/vnd.dev.cosign.artifact.sig.v1+json"
        ]
    );
    let sbom_node = child_of_type(&found, "application/spdx+json");
    assert_eq!(
        discover_children(sbom_node),
        ["application/vnd.example.sbom-sig"]
    );

    let text = ok(
        dir,
        &["discover", "--plain-http", &subject, "--format", "tree"],
    );
    assert!(
        text.contains("├── application/spdx+json") || text.contains("└── application/spdx+json"),
        "{text}"
    );
    assert!(text.contains("application/vnd.example.sbom-sig"), "{text}");
    let filtered = json(
        dir,
        &[
            "discover",
            "--plain-http",
            &subject,
            "--artifact-type",
            "application/spdx+json",
        ],
    );
    assert_eq!(discover_children(&filtered), ["application/spdx+json"]);

    // cp -r takes every referrer along, to another repository and to a layout.
    let copy = r("cli/attach-copy:v1");
    ok(dir, &["cp", "--plain-http", "-r", &subject, &copy]);
    let copied = json(dir, &["discover", "--plain-http", &copy]);
    assert_eq!(discover_children(&copied), discover_children(&found));
    assert_eq!(copied["digest"], found["digest"]);

    let layout = dir.join("layout");
    let layout_ref = at(&layout, "v1");
    ok(
        dir,
        &[
            "cp",
            "--plain-http",
            "-r",
            "--to-oci-layout",
            &subject,
            &layout_ref,
        ],
    );
    let local = json(dir, &["discover", "--oci-layout", &layout_ref]);
    assert_eq!(discover_children(&local), discover_children(&found));
    let nested = child_of_type(&local, "application/spdx+json");
    assert_eq!(
        discover_children(nested),
        ["application/vnd.example.sbom-sig"]
    );

    // Without -r only the subject's own graph moves.
    let plain = r("cli/attach-plain:v1");
    ok(dir, &["cp", "--plain-http", &subject, &plain]);
    let none = json(dir, &["discover", "--plain-http", &plain]);
    assert!(none["manifests"].as_array().unwrap().is_empty());
}

#[test]
fn layouts_work_as_sources_and_destinations() {
    let src = sample_files();
    let dir = src.path();
    let layout = dir.join("store");
    let spec = format!("{}:v1,stable", layout.display());
    ok(
        dir,
        &[
            "push",
            "--oci-layout",
            &spec,
            "hello.txt",
            "docs",
            "--artifact-type",
            "application/vnd.x",
        ],
    );
    let tags = json(
        dir,
        &["repo", "tags", "--oci-layout", layout.to_str().unwrap()],
    );
    assert_eq!(tags, serde_json::json!(["stable", "v1"]));
    assert!(layout.join("oci-layout").is_file() && layout.join("index.json").is_file());

    // layout -> registry -> another layout, and the files come out the same.
    ok(
        dir,
        &[
            "cp",
            "--plain-http",
            "--from-oci-layout",
            &at(&layout, "v1"),
            &r("cli/fromlayout:v1"),
        ],
    );
    let second = dir.join("second");
    ok(
        dir,
        &[
            "cp",
            "--plain-http",
            "--to-oci-layout",
            &r("cli/fromlayout:v1"),
            second.to_str().unwrap(),
        ],
    );
    let out = dir.join("out");
    ok(
        dir,
        &[
            "pull",
            "--oci-layout",
            &at(&second, "v1"),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        tree(&out),
        tree(dir)
            .into_iter()
            .filter(|(n, _)| n == "hello.txt" || n.starts_with("docs/"))
            .collect::<Vec<_>>()
    );
}

#[test]
fn errors_are_one_line_with_documented_exit_codes() {
    let src = sample_files();
    let dir = src.path();
    let err = fails(dir, &["resolve", "--plain-http", &r("cli/missing:nope")], 3);
    assert!(err.starts_with("Error: not found"), "{err}");
    fails(dir, &["resolve", "--plain-http", &r("Bad/Name:v1")], 2);
    fails(
        dir,
        &["push", "--plain-http", &r("cli/err:v1"), "no-such-file"],
        2,
    );
    fails(
        dir,
        &["push", "--plain-http", &r("cli/err:v1"), "/etc/hostname"],
        6,
    );
    fails(
        dir,
        &["attach", "--plain-http", &r("cli/err:v1"), "hello.txt"],
        2,
    );

    // A corrupted blob in a layout: the pull fails verification and writes nothing.
    let layout = dir.join("store");
    let pushed = json(
        dir,
        &[
            "push",
            "--oci-layout",
            &at(&layout, "v1"),
            "hello.txt",
            "--artifact-type",
            "application/vnd.x",
        ],
    );
    let manifest: serde_json::Value = serde_json::from_str(&ok(
        dir,
        &[
            "manifest",
            "fetch",
            "--oci-layout",
            &at(&layout, pushed["digest"].as_str().unwrap()),
        ],
    ))
    .unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap();
    let blob = layout
        .join("blobs/sha256")
        .join(layer.trim_start_matches("sha256:"));
    std::fs::write(&blob, b"hello from ocictX\n").unwrap();
    let out = dir.join("out");
    let err = fails(
        dir,
        &[
            "pull",
            "--oci-layout",
            &at(&layout, "v1"),
            "-o",
            out.to_str().unwrap(),
        ],
        5,
    );
    assert!(err.contains("digest mismatch"), "{err}");
    assert!(!out.join("hello.txt").exists());
}

#[test]
fn login_stores_checked_credentials_and_logout_removes_them() {
    let r = Registry::basic_auth();
    let (user, pass) = r.users()[0];
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    std::fs::write(dir.join("f.txt"), b"secret-free content").unwrap();
    let config = dir.join("auth.json");
    let config_s = config.to_str().unwrap();
    let target = format!("{}/cli/auth:v1", r.host());

    let login = |password: &str| {
        ocictl_with_stdin(
            dir,
            &[
                "login",
                "--plain-http",
                r.host(),
                "-u",
                user,
                "--password-stdin",
                "--registry-config",
                config_s,
            ],
            Some(&format!("{password}\n")),
        )
    };
    // A wrong password is refused and nothing is stored.
    let out = login("wrong-password");
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!config.exists() || !std::fs::read_to_string(&config).unwrap().contains(r.host()));

    let out = login(pass);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(pass), "the password is never printed");
    assert!(std::fs::read_to_string(&config).unwrap().contains(r.host()));

    ok(
        dir,
        &[
            "push",
            "--plain-http",
            "--registry-config",
            config_s,
            &target,
            "f.txt",
            "--artifact-type",
            "application/vnd.x",
        ],
    );
    fails(
        dir,
        &[
            "push",
            "--plain-http",
            &target,
            "f.txt",
            "--artifact-type",
            "application/vnd.x",
        ],
        4,
    );

    ok(dir, &["logout", r.host(), "--registry-config", config_s]);
    assert!(!std::fs::read_to_string(&config).unwrap().contains(r.host()));
    fails(
        dir,
        &[
            "resolve",
            "--plain-http",
            "--registry-config",
            config_s,
            &target,
        ],
        4,
    );
}

#[test]
fn probe_prints_a_table_and_json() {
    let work = tempfile::tempdir().unwrap();
    let target = r("cli/probe");
    let text = ok(work.path(), &["probe", "--plain-http", &target]);
    assert!(text.contains("capability"), "{text}");
    let line = text
        .lines()
        .find(|l| l.starts_with("chunked_upload"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("yes"), "{line}");
    assert!(
        text.contains("everything the probe pushed was deleted"),
        "{text}"
    );

    let report = json(work.path(), &["probe", "--plain-http", &target]);
    let findings = report["findings"].as_array().unwrap();
    assert!(findings.len() >= 10, "{report}");
    let referrers = findings
        .iter()
        .find(|f| f["capability"] == "referrers_api")
        .unwrap();
    assert_eq!(referrers["support"], "no");
    assert_eq!(report["cleaned_up"], true);
}

#[test]
fn platforms_pick_one_manifest_of_an_index() {
    let src = sample_files();
    let dir = src.path();
    let mut entries = Vec::new();
    for (tag, file, platform) in [
        ("amd", "hello.txt", ("linux", "amd64")),
        ("arm", "big.bin", ("linux", "arm64")),
    ] {
        let pushed = json(
            dir,
            &[
                "push",
                "--plain-http",
                &r(&format!("cli/multi:{tag}")),
                file,
                "--artifact-type",
                "application/vnd.x",
            ],
        );
        entries.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": pushed["digest"],
            "size": pushed["size"],
            "platform": {"os": platform.0, "architecture": platform.1},
        }));
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": entries,
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    ok(
        dir,
        &[
            "manifest",
            "push",
            "--plain-http",
            &r("cli/multi:all"),
            "index.json",
        ],
    );

    ok(
        dir,
        &[
            "cp",
            "--plain-http",
            "--platform",
            "linux/arm64",
            &r("cli/multi:all"),
            &r("cli/multi-arm:v1"),
        ],
    );
    assert_eq!(
        ok(dir, &["resolve", "--plain-http", &r("cli/multi-arm:v1")]).trim(),
        entries[1]["digest"].as_str().unwrap()
    );
    let out = dir.join("out");
    ok(
        dir,
        &[
            "pull",
            "--plain-http",
            "--platform",
            "linux/amd64",
            &r("cli/multi:all"),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(out.join("hello.txt")).unwrap(),
        b"hello from ocictl\n"
    );
    let err = fails(
        dir,
        &[
            "pull",
            "--plain-http",
            &r("cli/multi:all"),
            "-o",
            out.to_str().unwrap(),
        ],
        2,
    );
    assert!(err.contains("choose a platform"), "{err}");
}

#[test]
fn progress_bars_on_a_terminal_plain_lines_elsewhere() {
    let src = sample_files();
    let dir = src.path();
    let bin = env!("CARGO_BIN_EXE_ocictl");
    let layout = dir.join("store");
    let cmd = format!(
        "cd {} && {bin} push --oci-layout {}:v1 big.bin --artifact-type application/vnd.x",
        dir.display(),
        layout.display()
    );
    // `script` gives the command a pseudo-terminal, as a user's shell would.
    let out = support::tool(
        "script",
        &["-qec", &cmd, "/dev/null"],
        "apt-get install util-linux",
    );
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    assert!(
        shown.contains("✓ Uploaded"),
        "a done mark per blob: {shown}"
    );
    assert!(shown.contains("big.bin"), "{shown}");
    assert!(shown.contains("MiB"), "bytes shown: {shown}");

    let plain = support::ocictl_in(
        dir,
        &[
            "push",
            "--oci-layout",
            &at(&layout, "v2"),
            "hello.txt",
            "--artifact-type",
            "application/vnd.x",
        ],
    );
    let lines = String::from_utf8_lossy(&plain.stderr);
    assert!(
        lines.contains("Uploading") && lines.contains("Uploaded"),
        "{lines}"
    );
    assert!(
        !lines.contains('\u{1b}'),
        "no terminal escapes in plain output: {lines:?}"
    );
}

#[test]
fn cp_takes_flags_per_side_for_two_registries_with_different_credentials() {
    let src = sample_files();
    let dir = src.path();
    let from = r("cli/per-side:v1");
    ok(dir, &["push", "--plain-http", &from, "hello.txt"]);
    let basic = Registry::basic_auth();
    let (user, pass) = basic.users()[0];
    let to = format!("{}/cli/per-side:v1", basic.host());
    // Without credentials for the destination side, the registry refuses.
    fails(
        dir,
        &["cp", "--from-plain-http", "--to-plain-http", &from, &to],
        4,
    );
    ok(
        dir,
        &[
            "cp",
            "--from-plain-http",
            "--to-plain-http",
            "--to-username",
            user,
            "--to-password",
            pass,
            &from,
            &to,
        ],
    );
    let pulled = tempfile::tempdir().unwrap();
    ok(
        pulled.path(),
        &[
            "pull",
            "--plain-http",
            "-u",
            user,
            "-p",
            pass,
            &to,
            "-o",
            "out",
        ],
    );
    assert_eq!(
        std::fs::read(pulled.path().join("out/hello.txt")).unwrap(),
        b"hello from ocictl\n"
    );
}

#[test]
fn version_and_completion() {
    let dir = tempfile::tempdir().unwrap();
    let v = ok(dir.path(), &["version"]);
    assert!(
        v.starts_with(&format!("ocictl {}", env!("CARGO_PKG_VERSION"))),
        "{v}"
    );
    let script = ok(dir.path(), &["completion", "bash"]);
    assert!(
        script.contains("_ocictl") && script.contains("--from-plain-http"),
        "{script}"
    );
    let zsh = ok(dir.path(), &["completion", "zsh"]);
    assert!(zsh.contains("#compdef ocictl"), "{zsh}");
}

#[test]
fn the_cli_works_against_a_registry_on_object_storage() {
    // Every blob GET of this registry is a 307 to a presigned URL on the S3 endpoint's port.
    let s3 = Registry::s3();
    let at = |repo: &str| format!("{}/{repo}", s3.host());
    let src = sample_files();
    let dir = src.path();
    std::fs::write(dir.join("sbom.spdx.json"), br#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
    ok(
        dir,
        &[
            "push",
            "--plain-http",
            &at("cli/s3:v1"),
            "hello.txt",
            "big.bin",
            "docs",
        ],
    );
    ok(
        dir,
        &[
            "attach",
            "--plain-http",
            &at("cli/s3:v1"),
            "sbom.spdx.json:application/spdx+json",
            "--artifact-type",
            "application/spdx+json",
        ],
    );
    let found = ok(
        dir,
        &[
            "discover",
            "--plain-http",
            &at("cli/s3:v1"),
            "--format",
            "text",
        ],
    );
    assert!(found.contains("application/spdx+json"), "{found}");
    ok(
        dir,
        &[
            "cp",
            "-r",
            "--plain-http",
            &at("cli/s3:v1"),
            &at("cli/s3-copy:v1"),
        ],
    );
    ok(
        dir,
        &[
            "cp",
            "-r",
            "--from-plain-http",
            "--to-oci-layout",
            &at("cli/s3-copy:v1"),
            "mirror:v1",
        ],
    );
    ok(
        dir,
        &["pull", "--plain-http", &at("cli/s3-copy:v1"), "-o", "out"],
    );
    assert_eq!(tree(&dir.join("out")), tree_of_sample(dir));
    assert!(ok(dir, &["layout", "fsck", "mirror"]).contains("0 problems"));
}

/// The sample files as pushed: hello.txt, big.bin and the docs directory.
fn tree_of_sample(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    tree(dir)
        .into_iter()
        .filter(|(name, _)| name == "hello.txt" || name == "big.bin" || name.starts_with("docs/"))
        .collect()
}
