//! What the tests of this crate share: images to sign and attachment manifests written by hand.

#![allow(dead_code, unreachable_pub)]

use bytes::Bytes;
use oci_spec_types::distribution::cosign_tag;
use oci_spec_types::{Descriptor, ImageManifest, MediaType};
use oci_target::{Target, TargetExt};

/// Pushes a small image tagged `tag`; returns its manifest's descriptor.
pub async fn image(store: &dyn Target, tag: &str, content: &[u8]) -> Descriptor {
    let layer = store
        .push_content(MediaType::octet_stream(), Bytes::copy_from_slice(content))
        .await
        .unwrap();
    let desc = push_manifest(store, vec![layer]).await;
    store.tag(&desc, tag).await.unwrap();
    desc
}

/// Replaces the attachment manifest of kind `kind` (`sig`, `att`) of `subject` with one over
/// `layers`, as someone tampering with the store would.
pub async fn replace_attachment(
    store: &dyn Target,
    subject: &Descriptor,
    kind: &str,
    layers: Vec<Descriptor>,
) {
    let desc = push_manifest(store, layers).await;
    let tag = cosign_tag(&subject.digest, kind);
    store.tag(&desc, &tag).await.unwrap();
}

/// Pushes `content` of `media_type` as a layer carrying `annotations`.
pub async fn layer(
    store: &dyn Target,
    media_type: &str,
    content: Vec<u8>,
    annotations: &[(&str, &str)],
) -> Descriptor {
    let media_type = MediaType::parse(media_type).unwrap();
    let mut desc = store
        .push_content(media_type, content.into())
        .await
        .unwrap();
    let pairs = annotations
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()));
    desc.annotations = Some(pairs.collect());
    desc
}

async fn push_manifest(store: &dyn Target, layers: Vec<Descriptor>) -> Descriptor {
    let config = store
        .push_content(MediaType::empty(), Bytes::from_static(b"{}"))
        .await
        .unwrap();
    let doc = ImageManifest::new(config, layers).to_document().unwrap();
    let desc = doc.descriptor(MediaType::image_manifest());
    store.push_bytes(&desc, doc.bytes().clone()).await.unwrap();
    desc
}
