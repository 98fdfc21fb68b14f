//! Attestations in cosign's `.att` scheme: made, verified, filtered by type, and refused when
//! signed by another key, about other content or not in-toto.

mod support;

use bytes::Bytes;
use oci_sign::attest;
use oci_sign::dsse::{Envelope, IN_TOTO_PAYLOAD_TYPE};
use oci_sign::{Error, SigningKey};
use oci_spec_types::{Descriptor, MediaType};
use oci_target::{MemoryStore, TargetExt};
use serde_json::json;
use support::{layer, layers_of, move_attachment, replace_attachment};

const DSSE: &str = "application/vnd.dsse.envelope.v1+json";

async fn subject(store: &MemoryStore, content: &'static [u8]) -> Descriptor {
    store
        .push_content(MediaType::octet_stream(), Bytes::from_static(content))
        .await
        .unwrap()
}

#[tokio::test]
async fn attestations_of_several_types_verify_and_filter() {
    let store = MemoryStore::new();
    let image = subject(&store, b"built").await;
    let key = SigningKey::generate();
    let slsa = attest::predicate_type("slsaprovenance1");
    let provenance = json!({"buildDefinition": {"buildType": "https://example.com/make"}});
    attest::attest(
        &store,
        &image,
        "r.example/app",
        slsa,
        provenance.clone(),
        &key,
    )
    .await
    .unwrap();
    let spdx = attest::predicate_type("spdxjson");
    let att = attest::attest(
        &store,
        &image,
        "r.example/app",
        spdx,
        json!({"spdxVersion": "SPDX-2.3"}),
        &key,
    )
    .await
    .unwrap();
    let layers = layers_of(&store, &att).await;
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0].annotation("predicateType"), Some(slsa));
    assert_eq!(
        layers[0].media_type.as_str(),
        "application/vnd.dsse.envelope.v1+json"
    );

    let all = attest::verify_attestations(&store, &image, &key.public_key(), None)
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let only = attest::verify_attestations(&store, &image, &key.public_key(), Some(slsa))
        .await
        .unwrap();
    assert_eq!(only.len(), 1);
    assert_eq!(only[0].statement.predicate, provenance);
    assert_eq!(only[0].statement.kind, "https://in-toto.io/Statement/v1");
    let err = attest::verify_attestations(
        &store,
        &image,
        &key.public_key(),
        Some("https://example.com/none"),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::NoValidSignature { .. }), "{err}");
}

#[tokio::test]
async fn attestations_by_another_key_about_other_content_or_not_in_toto_are_refused() {
    let store = MemoryStore::new();
    let image = subject(&store, b"the image").await;
    let other_image = subject(&store, b"another image").await;
    let key = SigningKey::generate();

    let err = attest::verify_attestations(&store, &image, &key.public_key(), None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NoSignatures { .. }), "{err}");

    attest::attest(
        &store,
        &image,
        "r/a",
        "https://example.com/t",
        json!({}),
        &key,
    )
    .await
    .unwrap();
    let stranger = SigningKey::generate().public_key();
    let err = attest::verify_attestations(&store, &image, &stranger, None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("does not verify"), "{err}");

    // The image's .att manifest tagged for another image: its statement is about the first.
    move_attachment(&store, &image, &other_image, "att").await;
    let err = attest::verify_attestations(&store, &other_image, &key.public_key(), None)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("is for sha256:{}", image.digest.encoded())),
        "{err}"
    );

    // A correctly signed envelope whose payload is not an in-toto statement, then an in-toto
    // one whose statement does not parse.
    for (envelope, needle) in [
        (Envelope::sign("text/plain", b"hello", &key), "not in-toto"),
        (
            Envelope::sign(IN_TOTO_PAYLOAD_TYPE, b"{\"_type\":", &key),
            "malformed in-toto statement",
        ),
    ] {
        let layer = layer(&store, DSSE, envelope.to_vec(), &[]).await;
        replace_attachment(&store, &other_image, "att", vec![layer]).await;
        let err = attest::verify_attestations(&store, &other_image, &key.public_key(), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
    }
}
