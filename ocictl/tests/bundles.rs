//! Sigstore bundles from the command line: `sign`, `attest`, `verify` and
//! `verify-attestation` with `--new-bundle-format` (bundle referrers, OCI 1.1), and
//! `verify-blob` over the Sigstore conformance suite's bundles.

mod support;

use std::path::{Path, PathBuf};

use oci_test_registry::Registry;
use support::{fails, json, key_image_and_predicate, ok};

const BUNDLE_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

#[test]
fn bundle_signatures_and_attestations_on_a_layout_travel_to_a_registry() {
    let (src, v1) = key_image_and_predicate();
    let dir = src.path();

    let verify = ["verify", "--new-bundle-format", "--key", "cosign.pub"];
    let unsigned = fails(dir, &[&verify[..], &["--oci-layout", &v1]].concat(), 3);
    assert!(unsigned.contains("no signatures"), "{unsigned}");

    let signed = json(
        dir,
        &[
            "sign",
            "--new-bundle-format",
            "--key",
            "cosign.key",
            "--oci-layout",
            &v1,
        ],
    );
    assert_eq!(
        signed["predicateType"],
        "https://sigstore.dev/cosign/sign/v1"
    );
    ok(
        dir,
        &[
            "attest",
            "--new-bundle-format",
            "--key",
            "cosign.key",
            "--type",
            "slsaprovenance1",
            "--predicate",
            "provenance.json",
            "--oci-layout",
            &v1,
        ],
    );

    // A key-signed bundle carries no log entry: refused unless the log is waived.
    let strict = fails(dir, &[&verify[..], &["--oci-layout", &v1]].concat(), 5);
    assert!(strict.contains("no transparency-log entry"), "{strict}");
    let lenient = [
        &verify[..],
        &["--insecure-ignore-tlog", "--oci-layout", &v1],
    ]
    .concat();
    let statements = json(dir, &lenient);
    assert_eq!(
        statements.as_array().unwrap().len(),
        1,
        "the signature, not the attestation"
    );
    assert_eq!(
        statements[0]["predicateType"],
        "https://sigstore.dev/cosign/sign/v1"
    );
    // The tag scheme has nothing: bundles are referrers.
    fails(
        dir,
        &["verify", "--key", "cosign.pub", "--oci-layout", &v1],
        3,
    );

    let attestation = [
        "verify-attestation",
        "--new-bundle-format",
        "--key",
        "cosign.pub",
        "--insecure-ignore-tlog",
    ];
    let found = json(
        dir,
        &[
            &attestation[..],
            &["--type", "slsaprovenance1", "--oci-layout", &v1],
        ]
        .concat(),
    );
    assert_eq!(
        found[0]["predicate"]["buildDefinition"]["buildType"],
        "make"
    );
    let other = fails(
        dir,
        &[
            &attestation[..],
            &["--type", "spdxjson", "--oci-layout", &v1],
        ]
        .concat(),
        5,
    );
    assert!(other.contains("no bundle of predicate type"), "{other}");
    let discovered = ok(dir, &["discover", "--oci-layout", &v1]);
    assert_eq!(discovered.matches(BUNDLE_TYPE).count(), 2, "{discovered}");
    assert!(
        discovered.contains("[signature (sigstore bundle)]"),
        "{discovered}"
    );
    assert!(
        discovered.contains("[attestation (sigstore bundle): https://slsa.dev/provenance/v1]"),
        "{discovered}"
    );

    // Copied with its referrers to a registry, where they verify again.
    let registry = Registry::anonymous();
    let copy = format!("{}/bundles/app:v1", registry.host());
    ok(
        dir,
        &["cp", "--plain-http", "-r", "--from-oci-layout", &v1, &copy],
    );
    ok(
        dir,
        &[&lenient[..lenient.len() - 2], &["--plain-http", &copy]].concat(),
    );
    ok(
        dir,
        &[
            &attestation[..],
            &["--type", "slsaprovenance1", "--plain-http", &copy],
        ]
        .concat(),
    );
    let other_key = fails(
        dir,
        &[
            "verify",
            "--new-bundle-format",
            "--key",
            "hello.txt",
            "--plain-http",
            &copy,
        ],
        2,
    );
    assert!(other_key.contains("PEM"), "{other_key}");
}

fn conformance(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../oci-sign/tests/data/sigstore-conformance")
        .join(case)
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn verify_blob_checks_keyless_and_key_bundles_offline() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let root = conformance("production_trusted_root.json");
    let artifact = conformance("bundle-verify/a.txt");
    let happy = conformance("bundle-verify/happy-path-v0.3/bundle.sigstore.json");
    let identity = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
    let issuer = "https://token.actions.githubusercontent.com";
    let keyless = |bundle: &Path, blob: &str, identity_flag: &str, identity: &str| {
        vec![
            "verify-blob".to_owned(),
            blob.to_owned(),
            "--bundle".into(),
            path(bundle).into(),
            identity_flag.into(),
            identity.into(),
            "--certificate-oidc-issuer".into(),
            issuer.into(),
            "--trusted-root".into(),
            path(&root).into(),
        ]
    };
    let run_ok = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = support::ocictl_in(dir, &args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains("Verified OK"), "{stderr}");
    };
    let run_fails = |args: Vec<String>, code: i32| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(dir, &args, code)
    };

    run_ok(keyless(
        &happy,
        path(&artifact),
        "--certificate-identity",
        identity,
    ));
    run_ok(keyless(
        &happy,
        path(&artifact),
        "--certificate-identity-regexp",
        "^https://github.com/sigstore-conformance/",
    ));
    let digest = format!(
        "sha256:{}",
        oci_digest::sha256(&std::fs::read(&artifact).unwrap()).encoded()
    );
    run_ok(keyless(&happy, &digest, "--certificate-identity", identity));

    let wrong = run_fails(
        keyless(
            &happy,
            path(&artifact),
            "--certificate-identity",
            "someone@example.com",
        ),
        5,
    );
    assert!(wrong.contains("identity"), "{wrong}");
    let tampered =
        conformance("bundle-verify/inclusion-proof-corrupted-hash_fail/bundle.sigstore.json");
    let err = run_fails(
        keyless(
            &tampered,
            path(&artifact),
            "--certificate-identity",
            identity,
        ),
        5,
    );
    assert!(err.contains("inclusion proof"), "{err}");
    let mut no_root = keyless(&happy, path(&artifact), "--certificate-identity", identity);
    no_root.truncate(no_root.len() - 2);
    let err = run_fails(no_root, 2);
    assert!(err.contains("--trusted-root"), "{err}");

    let managed = conformance("bundle-verify/managed-key-happy-path");
    let by_key = |key: &Path| {
        vec![
            "verify-blob".to_owned(),
            path(&artifact).into(),
            "--bundle".into(),
            path(&managed.join("bundle.sigstore.json")).into(),
            "--key".into(),
            path(key).into(),
            "--trusted-root".into(),
            path(&root).into(),
        ]
    };
    run_ok(by_key(&managed.join("key.pub")));
    ok(dir, &["generate-key-pair"]);
    // Another key: the log recorded the signer's key, not this one.
    let err = run_fails(by_key(&dir.join("cosign.pub")), 5);
    assert!(
        err.contains("the logged signer is not the bundle's"),
        "{err}"
    );
}

/// Keyless flags on the command line look at cosign's `.sig` tag first: a key's signature there
/// has no certificate and is refused for that; with no signature in either scheme, nothing is
/// found.
#[test]
fn keyless_verification_reads_the_tag_scheme_then_bundles() {
    let (src, v1) = key_image_and_predicate();
    let dir = src.path();
    let root = conformance("production_trusted_root.json");
    let keyless = [
        "verify",
        "--certificate-identity",
        "me@example.com",
        "--certificate-oidc-issuer",
        "https://github.com/login/oauth",
        "--trusted-root",
        path(&root),
        "--oci-layout",
        &v1,
    ];
    let none = fails(dir, &keyless, 3);
    assert!(none.contains("referrers of artifact type"), "{none}");
    ok(dir, &["sign", "--key", "cosign.key", "--oci-layout", &v1]);
    let keyed = fails(dir, &keyless, 5);
    assert!(keyed.contains("no certificate annotation"), "{keyed}");
}
