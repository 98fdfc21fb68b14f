//! Content the tests of every crate push: manifests over layers, with the empty config.

use bytes::Bytes;
use oci_spec_types::{Descriptor, ImageManifest, MediaType};
use oci_target::{Target, TargetExt};

/// Pushes the empty JSON config (`{}`); returns its descriptor.
pub async fn empty_config(store: &dyn Target) -> Descriptor {
    let config = store.push_content(MediaType::empty(), Bytes::from_static(b"{}"));
    config.await.expect("push of the empty config")
}

/// Pushes `manifest` (its blobs already pushed); returns its descriptor.
pub async fn push_manifest(store: &dyn Target, manifest: &ImageManifest) -> Descriptor {
    let doc = manifest.to_document().expect("a valid manifest");
    let desc = doc.descriptor(MediaType::image_manifest());
    let pushed = store.push_bytes(&desc, doc.bytes().clone()).await;
    pushed.expect("push of the manifest");
    desc
}

/// Pushes an image of `layers` (already pushed) with the empty config; returns the manifest's
/// descriptor, untagged.
pub async fn push_image(store: &dyn Target, layers: Vec<Descriptor>) -> Descriptor {
    let config = empty_config(store).await;
    push_manifest(store, &ImageManifest::new(config, layers)).await
}
