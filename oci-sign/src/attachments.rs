//! The attachment manifests of cosign's tag scheme (`.sig`, `.att`): read, appended to, and
//! checked layer by layer.

use std::future::Future;

use bytes::Bytes;
use oci_spec_types::distribution::cosign_tag;
use oci_spec_types::{Descriptor, ImageManifest, MediaType};
use oci_target::{ErrorKind, ReadOnlyTarget, ReadOnlyTargetExt, Target, TargetExt};

use crate::{Error, Result};

/// Adds `layer` to the attachment manifest of kind `kind` (`sig`, `att`) of `subject`, keeping
/// the layers there and not adding one twice. Returns the new manifest, tagged.
pub(crate) async fn append(
    target: &dyn Target,
    subject: &Descriptor,
    kind: &str,
    layer: Descriptor,
) -> Result<Descriptor> {
    let tag = cosign_tag(&subject.digest, kind);
    let mut layers = existing_layers(target, &tag).await?;
    if !layers.contains(&layer) {
        layers.push(layer);
    }
    push_attachment(target, layers, &tag).await
}

/// Runs `check` on each layer of `media_type` in the attachment manifest of kind `kind` of
/// `subject`, and returns what passed: at least one, or an error with each refusal's reason.
/// A store failure ends the checks at once.
pub(crate) async fn check_each<T, F, Fut>(
    target: &dyn ReadOnlyTarget,
    subject: &Descriptor,
    kind: &str,
    media_type: &str,
    check: F,
) -> Result<Vec<T>>
where
    F: Fn(Descriptor) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let tag = cosign_tag(&subject.digest, kind);
    let layers = existing_layers(target, &tag).await?;
    if layers.is_empty() {
        return Err(Error::NoSignatures {
            digest: subject.digest.clone(),
            tag: format!("the tag {tag}"),
        });
    }
    let mut passed = Vec::new();
    let mut reasons = Vec::new();
    for layer in layers {
        if layer.media_type.as_str() != media_type {
            continue;
        }
        let digest = layer.digest.clone();
        match check(layer).await {
            Ok(t) => passed.push(t),
            Err(Error::Store(e)) => return Err(Error::Store(e)),
            Err(e) => reasons.push(format!("{digest}: {e}")),
        }
    }
    at_least_one(subject, passed, reasons, || {
        format!("the .{kind} manifest has no {media_type} layer")
    })
}

/// `passed` when it holds anything; otherwise a refusal with each reason (or `nothing`'s, when
/// nothing was even checked).
pub(crate) fn at_least_one<T>(
    subject: &Descriptor,
    passed: Vec<T>,
    mut reasons: Vec<String>,
    nothing: impl FnOnce() -> String,
) -> Result<Vec<T>> {
    if passed.is_empty() {
        if reasons.is_empty() {
            reasons.push(nothing());
        }
        return Err(Error::NoValidSignature {
            digest: subject.digest.clone(),
            reasons,
        });
    }
    Ok(passed)
}

/// The layers of the attachment manifest tagged `tag`, none when there is no such tag.
async fn existing_layers(target: &dyn ReadOnlyTarget, tag: &str) -> Result<Vec<Descriptor>> {
    let (desc, bytes) = match target.resolve_manifest(tag).await {
        Ok(found) => found,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let manifest = ImageManifest::from_slice(bytes)
        .map_err(|e| Error::malformed(format!("attachment manifest {}", desc.digest), e))?;
    Ok(manifest.into_parts().0.layers)
}

/// Pushes a manifest over `layers` with the config cosign's images carry, and tags it.
async fn push_attachment(
    target: &dyn Target,
    layers: Vec<Descriptor>,
    tag: &str,
) -> Result<Descriptor> {
    const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
    let config = serde_json::json!({
        "architecture": "",
        "created": ZERO_TIME,
        "history": layers.iter().map(|_| serde_json::json!({"created": ZERO_TIME})).collect::<Vec<_>>(),
        "os": "",
        "rootfs": {
            "type": "layers",
            "diff_ids": layers.iter().map(|l| l.digest.to_string()).collect::<Vec<_>>(),
        },
        "config": {},
    });
    let config = Bytes::from(serde_json::to_vec(&config).expect("configs serialise"));
    let config = target
        .push_content(MediaType::image_config(), config)
        .await?;
    let doc = ImageManifest::new(config, layers)
        .to_document()
        .map_err(|e| Error::malformed("attachment manifest", e))?;
    let desc = doc.descriptor(MediaType::image_manifest());
    target.push_bytes(&desc, doc.bytes().clone()).await?;
    target.tag(&desc, tag).await?;
    Ok(desc)
}
