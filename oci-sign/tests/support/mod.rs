//! What the tests of this crate share: images to sign and attachment manifests written by hand.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use oci_distribution_client::{Client, ClientConfig};
use oci_layout::{LayoutOptions, OciLayout};
use oci_sign::bundles::PREDICATE_TYPE_ANNOTATION;
use oci_sign::sigstore::BUNDLE_V03;
use oci_spec_types::distribution::cosign_tag;
use oci_spec_types::{Descriptor, ImageManifest, MediaType};
use oci_target::{MemoryStore, Target, TargetExt};
use oci_test_registry::Registry;

/// Pushes a small image tagged `tag`; returns its manifest's descriptor.
pub async fn image(store: &dyn Target, tag: &str, content: &[u8]) -> Descriptor {
    let layer = store
        .push_content(MediaType::octet_stream(), Bytes::copy_from_slice(content))
        .await
        .unwrap();
    let desc = oci_test_registry::content::push_image(store, vec![layer]).await;
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
    let desc = oci_test_registry::content::push_image(store, layers).await;
    let tag = cosign_tag(&subject.digest, kind);
    store.tag(&desc, &tag).await.unwrap();
}

/// Tags the attachment manifest of kind `kind` of `from` as `to`'s: signatures or attestations
/// borrowed by other content.
pub async fn move_attachment(store: &dyn Target, from: &Descriptor, to: &Descriptor, kind: &str) {
    let found = store
        .resolve(&cosign_tag(&from.digest, kind))
        .await
        .unwrap();
    store
        .tag(&found, &cosign_tag(&to.digest, kind))
        .await
        .unwrap();
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

/// The layers of the manifest `desc`.
pub async fn layers_of(store: &dyn Target, desc: &Descriptor) -> Vec<Descriptor> {
    let bytes = oci_target::ReadOnlyTargetExt::fetch_manifest(store, desc)
        .await
        .unwrap();
    ImageManifest::from_slice(bytes)
        .unwrap()
        .into_parts()
        .0
        .layers
}

/// A layout in a new temporary directory, a memory store and a registry repository.
pub async fn stores(name: &str) -> Vec<(&'static str, Option<tempfile::TempDir>, Arc<dyn Target>)> {
    let dir = tempfile::tempdir().unwrap();
    let layout = OciLayout::create(dir.path().join("layout"), LayoutOptions::default())
        .await
        .unwrap();
    let r = Registry::anonymous();
    let client = Client::new(ClientConfig::default().with_plain_http(r.host())).unwrap();
    let repo = client
        .repository(r.host(), &format!("sign/{name}"))
        .unwrap();
    vec![
        ("layout", Some(dir), Arc::new(layout)),
        ("memory", None, Arc::new(MemoryStore::new())),
        ("registry", None, Arc::new(repo)),
    ]
}

/// Attaches `bundle` to `subject` as cosign's new bundle format does, bytes as given.
pub async fn attach_raw(
    store: &dyn Target,
    subject: &Descriptor,
    bundle: Bytes,
    predicate_type: &str,
) {
    let media_type = MediaType::parse(BUNDLE_V03).unwrap();
    let layer = store
        .push_content(media_type.clone(), bundle)
        .await
        .unwrap();
    let config = Descriptor::empty();
    store
        .push_bytes(&config, Bytes::from_static(Descriptor::EMPTY_BYTES))
        .await
        .unwrap();
    let mut manifest = ImageManifest::new(config, vec![layer]);
    manifest.artifact_type = Some(media_type);
    manifest.subject = Some(subject.as_subject());
    manifest.annotations = Some(BTreeMap::from([(
        PREDICATE_TYPE_ANNOTATION.to_owned(),
        predicate_type.to_owned(),
    )]));
    oci_test_registry::content::push_manifest(store, &manifest).await;
}
