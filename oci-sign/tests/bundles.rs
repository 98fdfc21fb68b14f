//! Signatures and attestations as Sigstore bundles attached as referrers (the OCI 1.1 scheme):
//! round trips on every store, each way one must be refused, and cosign's own bundle.

mod support;

use std::path::Path;

use bytes::Bytes;
use oci_sign::bundles::{self, PREDICATE_TYPE_ANNOTATION, SIGNATURE_PREDICATE_TYPE};
use oci_sign::sigstore::{
    self, Artifact, BUNDLE_V03, Bundle, Matcher, Options, Signer, SigstoreError, TrustedRoot,
};
use oci_sign::{Error, SigningKey};
use oci_spec_types::{Descriptor, ImageManifest, MediaType};
use oci_target::{MemoryStore, ReadOnlyTargetExt, Target};
use support::{attach_raw, image, stores};

const NAME: &str = "registry.example/app";
const SLSA: &str = "https://slsa.dev/provenance/v1";

fn no_log() -> Options {
    Options::default().with_require_log(false)
}

async fn verify(
    store: &dyn Target,
    subject: &Descriptor,
    predicate_type: &str,
    key: &SigningKey,
) -> Result<Vec<sigstore::Verified>, Error> {
    let signer = Signer::Key(key.public_key());
    let root = TrustedRoot::default();
    bundles::verify(store, subject, predicate_type, &signer, &root, &no_log()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundles_round_trip_as_referrers_on_every_store() {
    let key = SigningKey::generate();
    for (kind, _dir, store) in stores("bundles").await {
        let store = store.as_ref();
        let subject = image(store, "v1", kind.as_bytes()).await;
        let unsigned = verify(store, &subject, SIGNATURE_PREDICATE_TYPE, &key).await;
        assert!(
            matches!(unsigned, Err(Error::NoSignatures { .. })),
            "{kind}: {unsigned:?}"
        );

        let first = bundles::sign(store, NAME, &subject, &key).await.unwrap();
        let second = bundles::sign(store, NAME, &subject, &key).await.unwrap();
        assert_ne!(
            first.digest, second.digest,
            "{kind}: each signature is its own referrer"
        );
        let predicate = serde_json::json!({"buildDefinition": {"buildType": "test"}});
        bundles::attest(store, NAME, &subject, &key, SLSA, predicate.clone())
            .await
            .unwrap();

        let signatures = verify(store, &subject, SIGNATURE_PREDICATE_TYPE, &key)
            .await
            .unwrap();
        assert_eq!(
            signatures.len(),
            2,
            "{kind}: both signatures, not the attestation"
        );
        assert_eq!(signatures[0].signer, key.public_key().fingerprint());
        let attestations = verify(store, &subject, SLSA, &key).await.unwrap();
        assert_eq!(attestations.len(), 1, "{kind}");
        let statement = attestations[0].statement.as_ref().unwrap();
        assert_eq!(statement.predicate, predicate);
        assert!(statement.is_about(&subject));

        let referrers = store.referrers(&subject, None).await.unwrap();
        assert_eq!(referrers.len(), 3, "{kind}");
        for r in &referrers {
            assert_eq!(r.artifact_type.as_ref().unwrap().as_str(), BUNDLE_V03);
            assert!(r.annotation(PREDICATE_TYPE_ANNOTATION).is_some());
        }

        // Without opting out of the log, a bundle with no log entry is refused, and says why.
        let strict = bundles::verify(
            store,
            &subject,
            SIGNATURE_PREDICATE_TYPE,
            &Signer::Key(key.public_key()),
            &TrustedRoot::default(),
            &Options::default(),
        )
        .await;
        assert_refused(strict, "no transparency-log entry");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_keys_moved_bundles_and_tampered_bundles_are_refused() {
    let store = MemoryStore::new();
    let key = SigningKey::generate();
    let a = image(&store, "a", b"a").await;
    let b = image(&store, "b", b"b").await;
    bundles::sign(&store, NAME, &a, &key).await.unwrap();

    let other = SigningKey::generate();
    match verify(&store, &a, SIGNATURE_PREDICATE_TYPE, &other).await {
        Err(Error::NoValidSignature { reasons, .. }) => {
            assert!(reasons[0].contains("does not verify"), "{reasons:?}")
        }
        other => panic!("{other:?}"),
    }

    // A's bundle attached to B: the statement is about A, so B stays unsigned.
    let bundle_of_a = bundle_layer(&store, &a).await;
    let bytes = store.fetch_bytes(&bundle_of_a, 1 << 20).await.unwrap();
    attach_raw(&store, &b, bytes.clone(), SIGNATURE_PREDICATE_TYPE).await;
    assert_refused(
        verify(&store, &b, SIGNATURE_PREDICATE_TYPE, &key).await,
        "subjects do not include",
    );

    // A bundle whose statement was changed after signing.
    let mut json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let statement = serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": NAME, "digest": {"sha256": b.digest.encoded()}}],
        "predicateType": SIGNATURE_PREDICATE_TYPE,
        "predicate": {},
    });
    use base64::Engine as _;
    json["dsseEnvelope"]["payload"] = base64::engine::general_purpose::STANDARD
        .encode(serde_json::to_vec(&statement).unwrap())
        .into();
    let c = image(&store, "c", b"c").await;
    attach_raw(
        &store,
        &b,
        serde_json::to_vec(&json).unwrap().into(),
        SIGNATURE_PREDICATE_TYPE,
    )
    .await;
    let refused = verify(&store, &b, SIGNATURE_PREDICATE_TYPE, &key).await;
    assert!(
        matches!(refused, Err(Error::NoValidSignature { .. })),
        "{refused:?}"
    );

    // Something that is not a bundle is an error, never a pass.
    attach_raw(
        &store,
        &c,
        Bytes::from_static(b"{not json"),
        SIGNATURE_PREDICATE_TYPE,
    )
    .await;
    assert_refused(
        verify(&store, &c, SIGNATURE_PREDICATE_TYPE, &key).await,
        "malformed Sigstore bundle",
    );
}

/// `result` is a refusal of every signature found, one of them for `why`.
fn assert_refused<T: std::fmt::Debug>(result: Result<T, Error>, why: &str) {
    match result {
        Err(Error::NoValidSignature { reasons, .. }) => {
            assert!(reasons.iter().any(|r| r.contains(why)), "{reasons:?}")
        }
        other => panic!("not refused for {why:?}: {other:?}"),
    }
}

/// The bundle layer of the one referrer of `subject`.
async fn bundle_layer(store: &dyn Target, subject: &Descriptor) -> Descriptor {
    let referrers = store.referrers(subject, None).await.unwrap();
    let bytes = store.fetch_manifest(&referrers[0]).await.unwrap();
    let manifest = ImageManifest::from_slice(bytes).unwrap().into_parts().0;
    manifest.layers[0].clone()
}

fn cosign_data(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/cosign")
            .join(name),
    )
    .unwrap()
}

/// cosign's keyless attestation about go-containerregistry's empty image, as cosign attaches
/// it, verifies with the public-good root; the wrong identity, issuer or subject does not.
#[tokio::test]
async fn a_keyless_bundle_cosign_made_verifies_offline() {
    const EMPTY_IMAGE: &str =
        "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4";
    const COSIGN_ATTESTATION: &str = "https://cosign.sigstore.dev/attestation/v1";
    let root = TrustedRoot::from_slice(&cosign_data("trusted_root_pgi.json")).unwrap();
    let bundle_bytes = cosign_data("oci-attestation.sigstore.json");
    let signer = |identity: &str, issuer: &str| Signer::Identity {
        identity: Matcher::Exact(identity.into()),
        issuer: Matcher::Exact(issuer.into()),
    };
    let cody = signer("cody@soyland.com", "https://github.com/login/oauth");

    // Attached to a manifest with the empty image's digest, found through the referrers.
    let store = MemoryStore::new();
    let subject = Descriptor::new(
        MediaType::parse("application/vnd.docker.distribution.manifest.v2+json").unwrap(),
        EMPTY_IMAGE.parse().unwrap(),
        0,
    );
    attach_raw(
        &store,
        &subject,
        bundle_bytes.clone().into(),
        COSIGN_ATTESTATION,
    )
    .await;
    let verified = bundles::verify(
        &store,
        &subject,
        COSIGN_ATTESTATION,
        &cody,
        &root,
        &Options::default(),
    )
    .await
    .unwrap();
    assert_eq!(verified[0].signer, "cody@soyland.com");
    assert_eq!(
        verified[0].issuer.as_deref(),
        Some("https://github.com/login/oauth")
    );
    assert_eq!(
        verified[0].times.len(),
        1,
        "the signed entry timestamp's time"
    );

    let bundle = Bundle::from_slice(&bundle_bytes).unwrap();
    let digest = hex::decode(&EMPTY_IMAGE["sha256:".len()..]).unwrap();
    let check = |signer: &Signer, digest: &[u8]| {
        sigstore::verify(&bundle, Artifact::Sha256(digest), signer, &root)
    };
    let by_pattern = Signer::Identity {
        identity: Matcher::Regex(regex::Regex::new(r"^[a-z]+@soyland\.com$").unwrap()),
        issuer: Matcher::Exact("https://github.com/login/oauth".into()),
    };
    assert!(check(&by_pattern, &digest).is_ok());
    for (wrong, what) in [
        (
            signer("someone@soyland.com", "https://github.com/login/oauth"),
            "identity",
        ),
        (
            signer("cody@soyland.com", "https://accounts.google.com"),
            "issuer",
        ),
    ] {
        let err = check(&wrong, &digest).unwrap_err();
        assert!(
            matches!(err, Error::Sigstore(SigstoreError::Identity(_))),
            "{what}: {err}"
        );
    }
    let mut other = digest.clone();
    other[0] ^= 1;
    let err = check(&cody, &other).unwrap_err();
    assert!(
        matches!(err, Error::Sigstore(SigstoreError::Signature(_))),
        "another subject: {err}"
    );
    // A root that trusts none of it: the log is unknown, so nothing passes.
    let err = sigstore::verify(
        &bundle,
        Artifact::Sha256(&digest),
        &cody,
        &TrustedRoot::default(),
    );
    assert!(
        matches!(err, Err(Error::Sigstore(SigstoreError::Log(_)))),
        "{err:?}"
    );
}
