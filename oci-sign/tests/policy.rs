//! The trust policy: its file refused when wrong, its scopes, and the gate a copy goes through.

mod support;

use std::path::Path;
use std::sync::Arc;

use oci_sign::policy::Requirement;
use oci_sign::{Error, Gate, Policy, SigningKey, attest, tagged};
use oci_spec_types::distribution::cosign_tag;
use oci_target::{ErrorKind, ExtendedCopyOptions, MemoryStore, ReadOnlyTarget};
use serde_json::json;
use support::{image, move_attachment};

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
        err.to_string().contains("0 of the 1 keys signed it"),
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
            .contains("1 of the 3 keys signed it, 2 needed"),
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
