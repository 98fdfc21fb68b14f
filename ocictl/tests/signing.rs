//! `generate-key-pair`, `sign` and `verify` from the command line, on a layout and a registry.

mod support;

use oci_test_registry::Registry;
use support::{at, fails, json, key_image_and_predicate, ocictl_with, ok, sample_files};

#[test]
fn keys_sign_and_verify_on_a_layout_then_the_signature_travels_to_a_registry() {
    let src = sample_files();
    let dir = src.path();
    let password = [("COSIGN_PASSWORD", "correct horse")];
    let made = ocictl_with(dir, &["generate-key-pair"], None, &password);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let key = std::fs::read_to_string(dir.join("cosign.key")).unwrap();
    assert!(key.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("cosign.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the private key is readable by its owner only"
        );
    }
    // An existing pair is never overwritten.
    fails(dir, &["generate-key-pair"], 6);
    assert_eq!(
        std::fs::read_to_string(dir.join("cosign.key")).unwrap(),
        key
    );

    let layout = dir.join("store");
    let v1 = at(&layout, "v1");
    ok(dir, &["push", "--oci-layout", &v1, "hello.txt"]);

    // Unsigned: nothing to verify (exit 3).
    let err = fails(
        dir,
        &["verify", "--key", "cosign.pub", "--oci-layout", &v1],
        3,
    );
    assert!(err.contains("no signatures"), "{err}");

    // The wrong password, then the right one.
    let wrong = ocictl_with(
        dir,
        &["sign", "--key", "cosign.key", "--oci-layout", &v1],
        None,
        &[("COSIGN_PASSWORD", "wrong")],
    );
    assert_eq!(
        wrong.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong password"));
    let signed = ocictl_with(
        dir,
        &[
            "--format",
            "json",
            "sign",
            "--key",
            "cosign.key",
            "--oci-layout",
            &v1,
            "-a",
            "team=storage",
        ],
        None,
        &password,
    );
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let signed: serde_json::Value = serde_json::from_slice(&signed.stdout).unwrap();
    assert!(
        signed["signatures"]["tag"]
            .as_str()
            .unwrap()
            .ends_with(".sig")
    );
    // The password never reaches the output.
    assert!(!signed.to_string().contains("correct horse"));

    let verified = json(
        dir,
        &[
            "verify",
            "--key",
            "cosign.pub",
            "--oci-layout",
            &v1,
            "-a",
            "team=storage",
        ],
    );
    assert_eq!(
        verified[0]["critical"]["image"]["docker-manifest-digest"],
        signed["signed"]
    );
    assert_eq!(verified[0]["optional"]["team"], "storage");

    // Another key: a verification failure (exit 5).
    let other = tempfile::tempdir().unwrap();
    ok(
        other.path(),
        &["generate-key-pair", "--output-key-prefix", "other"],
    );
    let other_pub = other.path().join("other.pub");
    let err = fails(
        dir,
        &[
            "verify",
            "--key",
            other_pub.to_str().unwrap(),
            "--oci-layout",
            &v1,
        ],
        5,
    );
    assert!(err.contains("does not verify"), "{err}");

    // Copied with its referrers and attachments to a registry: the signature names the layout,
    // so the registry's name is refused unless the signed identity is given or any accepted.
    let r = Registry::anonymous();
    let remote = format!("{}/signing/app:v1", r.host());
    ok(
        dir,
        &[
            "cp",
            "-r",
            "--plain-http",
            "--from-oci-layout",
            &v1,
            &remote,
        ],
    );
    let err = fails(
        dir,
        &["verify", "--plain-http", "--key", "cosign.pub", &remote],
        5,
    );
    assert!(err.contains("not"), "{err}");
    let named = layout.display().to_string();
    let verify_remote = ["verify", "--plain-http", "--key", "cosign.pub", &remote];
    ok(
        dir,
        &[&verify_remote[..], &["--signed-identity", &named]].concat(),
    );
    ok(dir, &[&verify_remote[..], &["--any-identity"]].concat());

    // Signed on the registry, it names the registry's repository.
    let err = fails(
        dir,
        &["sign", "--plain-http", "--key", "cosign.key", &remote],
        2,
    );
    assert!(
        err.contains("wrong password"),
        "COSIGN_PASSWORD unset is the empty password: {err}"
    );
    let sign = ["sign", "--plain-http", "--key", "cosign.key", &remote];
    assert!(ocictl_with(dir, &sign, None, &password).status.success());
    let verified = json(
        dir,
        &["verify", "--plain-http", "--key", "cosign.pub", &remote],
    );
    let names: Vec<_> = verified
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            p["critical"]["identity"]["docker-reference"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(
        names,
        [format!("{}/signing/app", r.host())],
        "only the signature naming the registry passes"
    );
}

#[test]
fn attestations_are_made_and_verified_by_type() {
    let (src, v1) = key_image_and_predicate();
    let dir = src.path();
    std::fs::write(dir.join("not-json.txt"), b"plain text").unwrap();

    let err = fails(
        dir,
        &[
            "attest",
            "--key",
            "cosign.key",
            "--predicate",
            "not-json.txt",
            "--oci-layout",
            &v1,
        ],
        2,
    );
    assert!(err.contains("not JSON"), "{err}");
    let attest = [
        "--format",
        "json",
        "attest",
        "--key",
        "cosign.key",
        "--type",
        "slsaprovenance1",
    ];
    let made = json(
        dir,
        &[
            &attest[..],
            &["--predicate", "provenance.json", "--oci-layout", &v1],
        ]
        .concat(),
    );
    assert_eq!(made["predicateType"], "https://slsa.dev/provenance/v1");
    assert!(
        made["attestations"]["tag"]
            .as_str()
            .unwrap()
            .ends_with(".att")
    );

    let verify = [
        "verify-attestation",
        "--key",
        "cosign.pub",
        "--oci-layout",
        &v1,
    ];
    let statements = json(
        dir,
        &[
            &["--format", "json"],
            &verify[..],
            &["--type", "slsaprovenance1"],
        ]
        .concat(),
    );
    assert_eq!(
        statements[0]["predicate"]["buildDefinition"]["buildType"],
        "make"
    );
    assert_eq!(
        statements[0]["subject"][0]["digest"]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    let err = fails(dir, &[&verify[..], &["--type", "cyclonedx"]].concat(), 5);
    assert!(err.contains("predicate type"), "{err}");
    // Signatures and attestations are kept apart: nothing is signed yet.
    fails(
        dir,
        &["verify", "--key", "cosign.pub", "--oci-layout", &v1],
        3,
    );

    // discover shows both by kind, with the tags they are found by.
    ok(dir, &["sign", "--key", "cosign.key", "--oci-layout", &v1]);
    let found = json(dir, &["--format", "json", "discover", "--oci-layout", &v1]);
    let kinds: Vec<(String, String)> = found["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["kind"].as_str().unwrap().to_owned(),
                m["tag"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let digest = found["digest"].as_str().unwrap().replace(':', "-");
    assert_eq!(
        kinds,
        [
            ("signature (cosign tag)".to_owned(), format!("{digest}.sig")),
            (
                "attestation (cosign tag)".to_owned(),
                format!("{digest}.att")
            ),
        ]
    );
    let tree = ok(dir, &["discover", "--oci-layout", &v1]);
    assert!(
        tree.contains(&format!("signature (cosign tag): {digest}.sig")),
        "{tree}"
    );
}

#[test]
fn cp_with_a_policy_promotes_only_what_the_release_key_signed() {
    let src = sample_files();
    let dir = src.path();
    ok(
        dir,
        &["generate-key-pair", "--output-key-prefix", "release"],
    );
    let store = dir.join("store");
    let v1 = at(&store, "v1");
    ok(dir, &["push", "--oci-layout", &v1, "hello.txt"]);
    // The layout is named by its path in the policy's scopes.
    let policy = serde_json::json!({
        "default": {"type": "reject"},
        "scopes": {
            store.display().to_string(): {"type": "signedBy", "keys": ["release.pub"]}
        }
    });
    std::fs::write(dir.join("policy.json"), policy.to_string()).unwrap();
    let prod = at(&dir.join("prod"), "v1");
    let promote = [
        "cp",
        "-r",
        "--policy",
        "policy.json",
        "--from-oci-layout",
        "--to-oci-layout",
        &v1,
        &prod,
    ];

    let err = fails(dir, &promote, 5);
    assert!(
        err.contains("untrusted") && err.contains("0 of the 1 signers signed it"),
        "{err}"
    );
    assert!(
        !dir.join("prod/index.json").exists()
            || !ok(
                dir,
                &[
                    "repo",
                    "tags",
                    "--oci-layout",
                    dir.join("prod").to_str().unwrap()
                ]
            )
            .contains("v1")
    );

    ok(dir, &["sign", "--key", "release.key", "--oci-layout", &v1]);
    ok(dir, &promote);
    ok(
        dir,
        &[
            "verify",
            "--key",
            "release.pub",
            "--oci-layout",
            &prod,
            "--signed-identity",
            &store.display().to_string(),
        ],
    );

    // A policy file with a typo is refused before anything is read.
    std::fs::write(dir.join("typo.json"), r#"{"defualt": {"type": "accept"}}"#).unwrap();
    let err = fails(
        dir,
        &[
            "cp",
            "--policy",
            "typo.json",
            "--from-oci-layout",
            "--to-oci-layout",
            &v1,
            &prod,
        ],
        2,
    );
    assert!(err.contains("unknown field"), "{err}");
}
