//! cosign's tag scheme on every kind of store: sign, verify, and each way a signature must be
//! refused.

mod support;

use std::collections::BTreeMap;

use oci_distribution_client::{Client, ClientConfig};
use oci_layout::{LayoutOptions, OciLayout};
use oci_sign::{Error, SigningKey, VerifyOptions, tagged};
use oci_spec_types::ImageManifest;
use oci_spec_types::distribution::cosign_tag;
use oci_target::{ExtendedCopyOptions, MemoryStore, ReadOnlyTargetExt};
use oci_test_registry::Registry;
use support::{image, layer, layers_of, move_attachment, replace_attachment, stores};

const NAME: &str = "registry.example/app";
const SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_round_trip_and_accumulate_on_every_store() {
    for (kind, _dir, store) in stores("round-trip").await {
        let subject = image(&*store, "v1", b"round trip").await;
        let alice = SigningKey::generate();
        let bob = SigningKey::generate();
        let annotations = BTreeMap::from([("env".to_owned(), "prod".to_owned())]);
        tagged::sign(&*store, &subject, NAME, &alice, annotations)
            .await
            .unwrap();
        tagged::sign(&*store, &subject, NAME, &bob, BTreeMap::new())
            .await
            .unwrap();
        // The same signature again is not a second layer.
        let sig = tagged::sign(&*store, &subject, NAME, &bob, BTreeMap::new())
            .await
            .unwrap();
        let layers = layers_of(&*store, &sig).await;
        assert_eq!(layers.len(), 2, "{kind}: both signatures kept, once each");
        assert_eq!(
            store
                .resolve(&cosign_tag(&subject.digest, "sig"))
                .await
                .unwrap()
                .digest,
            sig.digest
        );

        let expect = VerifyOptions::for_reference(NAME);
        let by_alice = tagged::verify(&*store, &subject, &alice.public_key(), &expect)
            .await
            .unwrap();
        assert_eq!(by_alice.len(), 1, "{kind}");
        assert_eq!(by_alice[0].payload.annotations()["env"], "prod");
        let by_bob = tagged::verify(&*store, &subject, &bob.public_key(), &expect)
            .await
            .unwrap();
        assert_eq!(by_bob.len(), 1, "{kind}");
        // Annotations the caller requires.
        let prod = VerifyOptions::for_reference(NAME).with_annotation("env", "prod");
        assert!(
            tagged::verify(&*store, &subject, &alice.public_key(), &prod)
                .await
                .is_ok()
        );
        let err = tagged::verify(&*store, &subject, &bob.public_key(), &prod)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::NoValidSignature { .. }),
            "{kind}: {err}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_keys_other_repositories_and_moved_tags_are_refused() {
    for (kind, _dir, store) in stores("refusals").await {
        let subject = image(&*store, "v1", b"the real one").await;
        let key = SigningKey::generate();
        let expect = VerifyOptions::for_reference(NAME);

        // Nothing signed yet.
        let err = tagged::verify(&*store, &subject, &key.public_key(), &expect)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NoSignatures { .. }), "{kind}: {err}");

        tagged::sign(&*store, &subject, NAME, &key, BTreeMap::new())
            .await
            .unwrap();
        // Another key.
        let other = SigningKey::generate().public_key();
        let err = tagged::verify(&*store, &subject, &other, &expect)
            .await
            .unwrap_err();
        match &err {
            Error::NoValidSignature { reasons, .. } => {
                assert!(reasons[0].contains("does not verify"), "{kind}: {err}")
            }
            e => panic!("{kind}: {e}"),
        }
        // Another repository named than the one expected; accepted when the caller allows any.
        let elsewhere = VerifyOptions::for_reference("registry.example/other");
        let err = tagged::verify(&*store, &subject, &key.public_key(), &elsewhere)
            .await
            .unwrap_err();
        assert!(
            err.to_string().contains("registry.example/other"),
            "{kind}: {err}"
        );
        let any = VerifyOptions::any_reference();
        assert!(
            tagged::verify(&*store, &subject, &key.public_key(), &any)
                .await
                .is_ok()
        );

        // A signature moved to other content: the .sig of the real image placed on a new one.
        let swapped = image(&*store, "v1", b"an impostor").await;
        move_attachment(&*store, &subject, &swapped, "sig").await;
        let err = tagged::verify(&*store, &swapped, &key.public_key(), &expect)
            .await
            .unwrap_err();
        match &err {
            Error::NoValidSignature { reasons, .. } => {
                assert!(
                    reasons[0].contains(&format!("is for {}", subject.digest)),
                    "{kind}: {err}"
                )
            }
            e => panic!("{kind}: {e}"),
        }
        // The tag `v1` now names the impostor; what it resolves to is not signed.
        let now = store.resolve("v1").await.unwrap();
        assert_eq!(now.digest, swapped.digest);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_whose_annotation_or_payload_was_changed_is_refused() {
    let store = MemoryStore::new();
    let subject = image(&store, "v1", b"tampering").await;
    let key = SigningKey::generate();
    let sig = tagged::sign(&store, &subject, NAME, &key, BTreeMap::new())
        .await
        .unwrap();
    let (manifest, _) = ImageManifest::from_slice(store.fetch_manifest(&sig).await.unwrap())
        .unwrap()
        .into_parts();
    let expect = VerifyOptions::for_reference(NAME);

    // A signature annotation that is not base64, then one that is someone else's, then a
    // payload that does not parse signed by the right key.
    let cosigns = "MEUCIQD6q/COgzOyW0YH1Dk+CCYSt4uAhm3FDHUwvPI55zwnlwIgE0ZK58ZOWpZw8YVmBapJhBqCfdPekIknimuO0xH8Jh8=";
    let junk = b"{\"critical\":".to_vec();
    let junk_sig =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key.sign(&junk));
    let payload = store
        .fetch_bytes(&manifest.layers[0], 4096)
        .await
        .unwrap()
        .to_vec();
    for (content, signature, needle) in [
        (payload.clone(), "%%%", "not base64"),
        (payload, cosigns, "does not verify"),
        (junk, junk_sig.as_str(), "malformed simple-signing payload"),
    ] {
        let annotations = [(tagged::SIGNATURE_ANNOTATION, signature)];
        let layer = layer(&store, SIMPLE_SIGNING, content, &annotations).await;
        replace_attachment(&store, &subject, "sig", vec![layer]).await;
        let err = tagged::verify(&store, &subject, &key.public_key(), &expect)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signatures_travel_with_a_copy_from_a_layout_to_a_registry_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("src"), LayoutOptions::default())
        .await
        .unwrap();
    let subject = image(&layout, "v1", b"promoted").await;
    let key = SigningKey::generate();
    tagged::sign(&layout, &subject, NAME, &key, BTreeMap::new())
        .await
        .unwrap();

    let r = Registry::anonymous();
    let client = Client::new(ClientConfig::default().with_plain_http(r.host())).unwrap();
    let repo = client.repository(r.host(), "sign/copied").unwrap();
    let options = ExtendedCopyOptions::default();
    oci_target::extended_copy(&layout, "v1", &repo, "v1", &options)
        .await
        .unwrap();
    let expect = VerifyOptions::for_reference(NAME);
    let found = tagged::verify(&repo, &subject, &key.public_key(), &expect)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);

    let back = OciLayout::create(dir.path().join("back"), LayoutOptions::default())
        .await
        .unwrap();
    oci_target::extended_copy(&repo, "v1", &back, "v1", &options)
        .await
        .unwrap();
    assert!(
        tagged::verify(&back, &subject, &key.public_key(), &expect)
            .await
            .is_ok()
    );
}

/// A keyless signature cosign made in the tag scheme (a GitHub Actions workflow's Fulcio
/// certificate, logged in Rekor), read from the files it was published as: verified offline
/// against the public-good trusted root by identity and issuer, and refused for another
/// identity, another subject, or another certificate.
#[tokio::test]
async fn a_keyless_tag_scheme_signature_cosign_made_verifies_offline() {
    use oci_sign::sigstore::{Matcher, Signer, TrustedRoot};
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data.join("cosign/keyless-tag/signature-manifest.json")).unwrap(),
    )
    .unwrap();
    let payload = std::fs::read(data.join("cosign/keyless-tag/payload.json")).unwrap();
    let root = TrustedRoot::from_slice(
        &std::fs::read(data.join("sigstore-conformance/production_trusted_root.json")).unwrap(),
    )
    .unwrap();
    let annotations = manifest["layers"][0]["annotations"].as_object().unwrap();
    let pairs: Vec<(&str, &str)> = annotations
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
        .collect();

    let store = MemoryStore::new();
    let sig_layer = layer(&store, SIMPLE_SIGNING, payload.clone(), &pairs).await;
    assert_eq!(
        sig_layer.digest.to_string(),
        manifest["layers"][0]["digest"]
    );
    let subject = oci_spec_types::Descriptor::new(
        oci_spec_types::MediaType::image_manifest(),
        "sha256:c05263d2ff654c3a94243662440913f045075d59c436e2c69e9145ec2b87a321"
            .parse()
            .unwrap(),
        0,
    );
    replace_attachment(&store, &subject, "sig", vec![sig_layer.clone()]).await;

    let workflow = "https://github.com/salrashid123/go-bazel-github-workflow/.github/workflows/release.yaml@refs/tags/v0.0.30";
    let actions = "https://token.actions.githubusercontent.com";
    let signer = |identity: Matcher| Signer::Identity {
        identity,
        issuer: Matcher::Exact(actions.into()),
    };
    let by_workflow = signer(Matcher::Exact(workflow.into()));
    let expect = VerifyOptions::for_reference("index.docker.io/salrashid123/server_image");
    let verified = tagged::verify_keyless(&store, &subject, &by_workflow, &root, &expect)
        .await
        .unwrap();
    assert_eq!(verified[0].key, workflow);
    let pattern = regex::Regex::new("^https://github.com/salrashid123/").unwrap();
    let by_pattern = signer(Matcher::Regex(pattern));
    assert!(
        tagged::verify_keyless(&store, &subject, &by_pattern, &root, &expect)
            .await
            .is_ok()
    );

    let refused = |result: Result<Vec<oci_sign::VerifiedSignature>, Error>, why: &str| match result
    {
        Err(Error::NoValidSignature { reasons, .. }) => {
            assert!(
                reasons.iter().any(|r| r.contains(why)),
                "{why}: {reasons:?}"
            )
        }
        other => panic!("{why}: {other:?}"),
    };
    let someone = signer(Matcher::Exact("https://github.com/someone/else".into()));
    refused(
        tagged::verify_keyless(&store, &subject, &someone, &root, &expect).await,
        "identity",
    );
    let elsewhere = VerifyOptions::for_reference("index.docker.io/someone/else");
    refused(
        tagged::verify_keyless(&store, &subject, &by_workflow, &root, &elsewhere).await,
        "not \"index.docker.io/someone/else\"",
    );

    // The signature moved to other content: the payload names the first digest.
    let other = image(&store, "other", b"other").await;
    replace_attachment(&store, &other, "sig", vec![sig_layer.clone()]).await;
    refused(
        tagged::verify_keyless(&store, &other, &by_workflow, &root, &expect).await,
        "the signature is for sha256:c05263d2",
    );

    // Another certificate in the annotation: the log recorded the signer's.
    let bundle: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            data.join("sigstore-conformance/bundle-verify/happy-path-v0.3/bundle.sigstore.json"),
        )
        .unwrap(),
    )
    .unwrap();
    use base64::Engine as _;
    let der = base64::engine::general_purpose::STANDARD
        .decode(
            bundle["verificationMaterial"]["certificate"]["rawBytes"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let pem = pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &der).unwrap();
    let mut swapped = pairs.clone();
    for pair in &mut swapped {
        if pair.0 == "dev.sigstore.cosign/certificate" {
            pair.1 = &pem;
        }
    }
    let swapped_layer = layer(&store, SIMPLE_SIGNING, payload, &swapped).await;
    replace_attachment(&store, &subject, "sig", vec![swapped_layer]).await;
    refused(
        tagged::verify_keyless(
            &store,
            &subject,
            &signer(Matcher::Regex(regex::Regex::new(".").unwrap())),
            &root,
            &expect,
        )
        .await,
        "the logged signer is not the bundle's",
    );
}
