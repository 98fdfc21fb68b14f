//! The trust policy: its file refused when wrong, its scopes, and the gate a copy goes through.

mod support;

use std::path::Path;
use std::sync::Arc;

use oci_sign::policy::Requirement;
use oci_sign::{Error, Gate, Policy, SigningKey, attest, bundles, tagged};
use oci_spec_types::distribution::cosign_tag;
use oci_target::{ErrorKind, ExtendedCopyOptions, MemoryStore, ReadOnlyTarget, ReadOnlyTargetExt};
use serde_json::json;
use support::{attach_raw, image, move_attachment};

const REPO: &str = "registry.example/prod/app";

/// A policy over `keys` (written beside it) for `registry.example/prod`, with `extra` fields in
/// its `signedBy` requirement.
fn policy(dir: &Path, keys: &[&SigningKey], extra: serde_json::Value) -> Policy {
    let mut names = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let name = format!("key{i}.pub");
        std::fs::write(dir.join(&name), k.public_key().to_pem().unwrap()).unwrap();
        names.push(name);
    }
    let mut signed_by = json!({"type": "signedBy", "keys": names});
    for (k, v) in extra.as_object().unwrap() {
        signed_by[k] = v.clone();
    }
    let file = json!({
        "default": {"type": "reject"},
        "scopes": {
            "registry.example/prod": signed_by,
            "registry.example/dev": {"type": "accept"}
        }
    });
    let path = dir.join("policy.json");
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    Policy::from_file(&path).unwrap()
}

#[test]
fn scopes_apply_by_longest_prefix_at_a_path_boundary() {
    let key = SigningKey::generate();
    let pem = key.public_key().to_pem().unwrap();
    let file = json!({
        "scopes": {
            "registry.example": {"type": "accept"},
            "registry.example/prod": {"type": "signedBy", "keyData": [pem]},
        }
    });
    let p = Policy::from_json(&serde_json::to_vec(&file).unwrap(), Path::new(".")).unwrap();
    assert!(matches!(
        p.requirement_for("registry.example/prod/app"),
        Requirement::SignedBy(_)
    ));
    assert!(matches!(
        p.requirement_for("registry.example/prod"),
        Requirement::SignedBy(_)
    ));
    assert!(matches!(
        p.requirement_for("registry.example/production"),
        Requirement::Accept
    ));
    assert!(matches!(
        p.requirement_for("registry.example/dev/x"),
        Requirement::Accept
    ));
    // No default: everything else is rejected.
    assert!(matches!(
        p.requirement_for("elsewhere.example/x"),
        Requirement::Reject
    ));
}

#[test]
fn policy_files_with_mistakes_are_refused() {
    let pem = SigningKey::generate().public_key().to_pem().unwrap();
    for (file, needle) in [
        (json!({"defualt": {"type": "accept"}}), "unknown field"),
        (json!({"default": {"type": "acept"}}), "unknown variant"),
        (
            json!({"scopes": {"r/a": {"type": "signedBy"}}}),
            "names no key",
        ),
        (
            json!({"scopes": {"r/a": {"type": "signedBy", "keyData": [pem], "threshold": 2}}}),
            "threshold of 2",
        ),
        (
            json!({"scopes": {"r/a": {"type": "signedBy", "keyData": [pem], "signedIdentity": "anything"}}}),
            "signedIdentity",
        ),
        (
            json!({"scopes": {"r/a": {"type": "signedBy", "keyData": ["not a key"]}}}),
            "PEM",
        ),
        (
            json!({"scopes": {"r/a": {"type": "signedBy", "keys": ["missing.pub"]}}}),
            "cannot read the key",
        ),
        (
            json!({"scopes": {"r/a": {"type": "signedBy", "keyData": [pem], "thresold": 1}}}),
            "unknown field",
        ),
        (
            json!({"scopes": {"r/a": {"type": "signedBy", "identities": [
                {"identity": "me@example.com", "issuer": "https://issuer.example"}
            ]}}}),
            "identities need a trustedRoot",
        ),
        (
            json!({"scopes": {"r/a": {"type": "signedBy", "identities": [
                {"identity": "me@example.com"}
            ], "trustedRoot": "root.json"}}}),
            "one of issuer and issuerRegexp",
        ),
        (
            json!({"scopes": {"r/a": {"type": "signedBy", "identities": [
                {"identityRegexp": "(", "issuer": "https://issuer.example"}
            ], "trustedRoot": "root.json"}}}),
            "identityRegexp",
        ),
        (
            json!({"scopes": {"r/a": {"type": "signedBy", "keyData": [pem], "threshold": 0}}}),
            "no attestation required",
        ),
    ] {
        let err = Policy::from_json(
            &serde_json::to_vec(&file).unwrap(),
            Path::new("/nonexistent"),
        )
        .unwrap_err();
        assert!(matches!(err, Error::Malformed { .. }), "{file}: {err}");
        assert!(err.to_string().contains(needle), "{file}: {err}");
    }
}

#[tokio::test]
async fn the_gate_copies_only_what_is_signed_and_attested_by_the_release_key() {
    let dir = tempfile::tempdir().unwrap();
    let release = SigningKey::generate();
    let intern = SigningKey::generate();
    let slsa = attest::predicate_type("slsaprovenance1");
    let policy = Arc::new(policy(
        dir.path(),
        &[&release],
        json!({"attestations": ["slsaprovenance1"]}),
    ));
    let src = Arc::new(MemoryStore::new());
    let copy_to_prod = |src: Arc<MemoryStore>, policy: Arc<Policy>, reference: &'static str| async move {
        let gate = Gate::new(src as Arc<dyn ReadOnlyTarget>, policy, REPO);
        let prod = MemoryStore::new();
        let copied = oci_target::extended_copy(
            &gate,
            reference,
            &prod,
            reference,
            &ExtendedCopyOptions::default(),
        )
        .await;
        (copied, prod)
    };

    // Unsigned.
    let subject = image(&*src, "v1", b"release candidate").await;
    let (copied, prod) = copy_to_prod(src.clone(), policy.clone(), "v1").await;
    let err = copied.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Untrusted, "{err}");
    assert!(
        err.to_string().contains("0 of the 1 signers signed it"),
        "{err}"
    );
    assert!(
        prod.resolve("v1").await.is_err(),
        "nothing reached the destination"
    );

    // Signed by the wrong key, then by the release key but not attested.
    for (key, refusal) in [
        (&intern, "does not verify"),
        (
            &release,
            "no verified https://slsa.dev/provenance/v1 attestation",
        ),
    ] {
        tagged::sign(&*src, &subject, REPO, key, Default::default())
            .await
            .unwrap();
        let err = copy_to_prod(src.clone(), policy.clone(), "v1")
            .await
            .0
            .unwrap_err();
        assert!(err.to_string().contains(refusal), "{err}");
    }

    // Attested with another type, then with SLSA provenance: copied, signatures and all.
    attest::attest(
        &*src,
        &subject,
        REPO,
        "https://spdx.dev/Document",
        json!({}),
        &release,
    )
    .await
    .unwrap();
    assert!(
        copy_to_prod(src.clone(), policy.clone(), "v1")
            .await
            .0
            .is_err()
    );
    attest::attest(
        &*src,
        &subject,
        REPO,
        slsa,
        json!({"builder": "ci"}),
        &release,
    )
    .await
    .unwrap();
    let (copied, prod) = copy_to_prod(src.clone(), policy.clone(), "v1").await;
    assert_eq!(copied.unwrap().root.digest, subject.digest);
    assert_eq!(prod.resolve("v1").await.unwrap().digest, subject.digest);
    assert!(
        prod.resolve(&cosign_tag(&subject.digest, "sig"))
            .await
            .is_ok()
    );
    assert!(
        prod.resolve(&cosign_tag(&subject.digest, "att"))
            .await
            .is_ok()
    );
    // The copy verifies at the destination under the same policy.
    let again = Gate::new(
        Arc::new(prod) as Arc<dyn ReadOnlyTarget>,
        policy.clone(),
        REPO,
    );
    assert_eq!(again.resolve("v1").await.unwrap().digest, subject.digest);

    // The tag moved to other content that borrows the real one's signatures: refused.
    let impostor = image(&*src, "v1", b"impostor").await;
    for kind in ["sig", "att"] {
        move_attachment(&*src, &subject, &impostor, kind).await;
    }
    let err = copy_to_prod(src.clone(), policy.clone(), "v1")
        .await
        .0
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Untrusted);
    assert!(
        err.to_string()
            .contains(&format!("is for {}", subject.digest)),
        "{err}"
    );
    // Fetching the impostor's manifest by digest goes through the same check.
    let err = oci_target::ReadOnlyTargetExt::fetch_manifest(
        &Gate::new(src.clone() as Arc<dyn ReadOnlyTarget>, policy.clone(), REPO),
        &impostor,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Untrusted);
}

#[tokio::test]
async fn two_of_three_keys_and_the_signed_identity_are_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [
        SigningKey::generate(),
        SigningKey::generate(),
        SigningKey::generate(),
    ];
    let src = Arc::new(MemoryStore::new());
    let subject = image(&*src, "v1", b"two signers").await;
    let two = Arc::new(policy(
        dir.path(),
        &[&keys[0], &keys[1], &keys[2]],
        json!({"threshold": 2}),
    ));
    let gate = |p: &Arc<Policy>, repo: &str| {
        Gate::new(src.clone() as Arc<dyn ReadOnlyTarget>, p.clone(), repo)
    };

    tagged::sign(&*src, &subject, REPO, &keys[0], Default::default())
        .await
        .unwrap();
    let err = gate(&two, REPO).resolve("v1").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("1 of the 3 signers signed it, 2 needed"),
        "{err}"
    );
    tagged::sign(&*src, &subject, REPO, &keys[2], Default::default())
        .await
        .unwrap();
    assert!(gate(&two, REPO).resolve("v1").await.is_ok());

    // Read as another repository in the same scope: the signatures name REPO, not it.
    let err = gate(&two, "registry.example/prod/other")
        .resolve("v1")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("registry.example/prod/other"),
        "{err}"
    );
    // Unless the policy accepts the name they were signed under.
    let exact = Arc::new(policy(
        dir.path(),
        &[&keys[0], &keys[2]],
        json!({"threshold": 2, "signedIdentity": {"exact": REPO}}),
    ));
    assert!(
        gate(&exact, "registry.example/prod/other")
            .resolve("v1")
            .await
            .is_ok()
    );
    // Outside every scope: rejected by default; in the dev scope: accepted unsigned.
    let err = gate(&two, "elsewhere.example/app")
        .resolve("v1")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rejects"), "{err}");
    assert!(
        gate(&two, "registry.example/dev/app")
            .resolve("v1")
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn bundle_referrers_by_key_count_and_the_log_rule_holds() {
    let dir = tempfile::tempdir().unwrap();
    let store = MemoryStore::new();
    let release = SigningKey::generate();
    let signed = image(&store, "signed", b"signed").await;
    bundles::sign(&store, REPO, &signed, &release)
        .await
        .unwrap();
    let predicate = json!({"buildDefinition": {"buildType": "make"}});
    let slsa = attest::predicate_type("slsaprovenance1");
    bundles::attest(&store, REPO, &signed, &release, slsa, predicate)
        .await
        .unwrap();

    let lenient = json!({"ignoreTlog": true, "attestations": ["slsaprovenance1"]});
    let p = policy(dir.path(), &[&release], lenient.clone());
    p.check(&store, &signed, REPO).await.unwrap();

    // By default bundles need the log's evidence, which offline key signatures lack.
    let strict = policy(dir.path(), &[&release], json!({}));
    let err = strict.check(&store, &signed, REPO).await.unwrap_err();
    assert!(matches!(err, Error::Rejected { .. }), "{err}");
    assert!(
        err.to_string().contains("no transparency-log entry"),
        "{err}"
    );

    // Another key's bundle, and a bundle of this image moved to another one.
    let other = image(&store, "other", b"other").await;
    bundles::sign(&store, REPO, &other, &SigningKey::generate())
        .await
        .unwrap();
    let err = p.check(&store, &other, REPO).await.unwrap_err();
    assert!(err.to_string().contains("0 of the 1 signers"), "{err}");
    let swapped = image(&store, "swapped", b"swapped").await;
    let referrers = store.referrers(&signed, None).await.unwrap();
    let manifest = store.fetch_manifest(&referrers[0]).await.unwrap();
    let layer = oci_spec_types::ImageManifest::from_slice(manifest)
        .unwrap()
        .into_parts()
        .0
        .layers[0]
        .clone();
    let bundle = store.fetch_bytes(&layer, 1 << 20).await.unwrap();
    attach_raw(&store, &swapped, bundle, bundles::SIGNATURE_PREDICATE_TYPE).await;
    let err = p.check(&store, &swapped, REPO).await.unwrap_err();
    assert!(err.to_string().contains("subjects do not include"), "{err}");
}

/// A policy naming cosign's keyless signer of its fixture attestation, verified against
/// `root` (a trusted root's JSON, written beside the policy).
fn keyless_policy(dir: &Path, root: &serde_json::Value, identity: serde_json::Value) -> Policy {
    std::fs::write(dir.join("root.json"), serde_json::to_vec(root).unwrap()).unwrap();
    let file = json!({"scopes": {"registry.example/prod": {
        "type": "signedBy",
        "identities": [identity],
        "trustedRoot": "root.json",
        "threshold": 0,
        "attestations": ["https://cosign.sigstore.dev/attestation/v1"],
    }}});
    let path = dir.join("keyless.json");
    std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
    Policy::from_file(&path).unwrap()
}

#[tokio::test]
async fn keyless_identities_are_matched_and_an_expired_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cosign");
    let root: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.join("trusted_root_pgi.json")).unwrap())
            .unwrap();
    let store = MemoryStore::new();
    let subject = oci_spec_types::Descriptor::new(
        oci_spec_types::MediaType::image_manifest(),
        "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
            .parse()
            .unwrap(),
        0,
    );
    let bundle = std::fs::read(data.join("oci-attestation.sigstore.json")).unwrap();
    let attestation = "https://cosign.sigstore.dev/attestation/v1";
    attach_raw(&store, &subject, bundle.into(), attestation).await;

    let cody = json!({"identity": "cody@soyland.com", "issuer": "https://github.com/login/oauth"});
    keyless_policy(dir.path(), &root, cody.clone())
        .check(&store, &subject, REPO)
        .await
        .unwrap();
    let pattern =
        json!({"identityRegexp": "@soyland\\.com$", "issuerRegexp": "^https://github\\.com/"});
    keyless_policy(dir.path(), &root, pattern)
        .check(&store, &subject, REPO)
        .await
        .unwrap();

    let someone =
        json!({"identity": "someone@soyland.com", "issuer": "https://github.com/login/oauth"});
    let err = keyless_policy(dir.path(), &root, someone)
        .check(&store, &subject, REPO)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rejected { .. }), "{err}");
    assert!(err.to_string().contains("identity"), "{err}");

    // The same bundle when the certificate authorities' trust ended before it was signed: the
    // certificate counts as expired, and the gate refuses it.
    let mut expired = root.clone();
    for ca in expired["certificateAuthorities"].as_array_mut().unwrap() {
        ca["validFor"]["end"] = json!("2025-01-01T00:00:00Z");
    }
    let err = keyless_policy(dir.path(), &expired, cody)
        .check(&store, &subject, REPO)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Rejected { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("no certificate authority was trusted at the signing time"),
        "{err}"
    );
}
