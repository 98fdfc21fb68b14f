//! What the spec-rule tests and the image-spec corpus tests share: our verdict on a document.

use oci_spec_types::{Descriptor, ImageConfig, ImageIndex, ImageLayout, ImageManifest};

/// Parses `doc` as a document of `kind` and validates it: `Ok` when we accept it, the error's
/// text when we do not.
pub(crate) fn our_verdict(kind: &str, doc: &str) -> Result<(), String> {
    let bytes = doc.as_bytes().to_vec();
    match kind {
        "descriptor" => serde_json::from_slice::<Descriptor>(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|d| d.validate().map_err(|e| e.to_string())),
        "manifest" => ImageManifest::from_slice(bytes)
            .map_err(|e| e.to_string())
            .and_then(|d| d.value().validate().map_err(|e| e.to_string())),
        "index" => ImageIndex::from_slice(bytes)
            .map_err(|e| e.to_string())
            .and_then(|d| d.value().validate().map_err(|e| e.to_string())),
        "config" => ImageConfig::from_slice(bytes)
            .map_err(|e| e.to_string())
            .and_then(|d| d.value().validate().map_err(|e| e.to_string())),
        "layout" => ImageLayout::from_slice(&bytes)
            .map_err(|e| e.to_string())
            .and_then(|l| l.validate().map_err(|e| e.to_string())),
        other => panic!("unknown document kind {other}"),
    }
}
