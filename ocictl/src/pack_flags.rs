//! Flags and output shared by the commands that pack a manifest (`push`, `attach`).

use crate::text::out;
use crate::{Common, print_json};
use oci_artifact::pack::{Created, ManifestVersion, PackOptions};
use oci_spec_types::{Descriptor, MediaType};
use oci_target::{Error, ErrorKind, Result};
use serde_json::json;
use std::collections::BTreeMap;

/// `k=v` pairs into a map.
pub(crate) fn parse_annotations(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!("annotation {pair:?} is not key=value"),
                    )
                })
        })
        .collect()
}

pub(crate) fn media_type(value: &str) -> Result<MediaType> {
    MediaType::parse(value).map_err(Error::from)
}

/// Flags shared by the commands that pack a manifest.
#[derive(clap::Args, Debug)]
pub(crate) struct PackFlags {
    /// The artifact type (image-spec v1.1 `artifactType`; the config media type for v1.0)
    #[arg(long)]
    artifact_type: Option<String>,
    /// A manifest annotation, key=value (repeatable)
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// Manifest shape
    #[arg(long, value_enum, default_value = "v1.1")]
    image_spec: ImageSpec,
    /// The `created` annotation, RFC 3339 (default: SOURCE_DATE_EPOCH if set, else now)
    #[arg(long, value_name = "TIME")]
    created: Option<String>,
    /// Accept absolute file paths (titled by their last part)
    #[arg(long)]
    pub(crate) disable_path_validation: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ImageSpec {
    #[value(name = "v1.1")]
    V11,
    #[value(name = "v1.0")]
    V10,
}

pub(crate) fn report(
    common: &Common,
    verb: &str,
    shown: &str,
    desc: &Descriptor,
    extra: serde_json::Value,
) {
    if common.json() {
        let mut value = json!({
            "reference": shown,
            "mediaType": desc.media_type.as_str(),
            "digest": desc.digest.as_str(),
            "size": desc.size,
            "artifactType": desc.artifact_type.as_ref().map(|t| t.as_str()),
            "annotations": desc.annotations,
        });
        if let (Some(obj), serde_json::Value::Object(more)) = (value.as_object_mut(), extra) {
            obj.extend(more);
        }
        print_json(&value);
    } else {
        out!("{verb} {shown}");
        if let Some(t) = &desc.artifact_type {
            out!("ArtifactType: {}", t.as_str());
        }
        out!("Digest: {}", desc.digest);
    }
}

impl PackFlags {
    pub(crate) fn options(&self) -> Result<PackOptions> {
        let mut options = PackOptions::default();
        options.version = match self.image_spec {
            ImageSpec::V11 => ManifestVersion::V1_1,
            ImageSpec::V10 => ManifestVersion::V1_0,
        };
        options.artifact_type = self.artifact_type.as_deref().map(media_type).transpose()?;
        options.annotations = parse_annotations(&self.annotations)?;
        options.created = match &self.created {
            Some(t) => Created::At(t.clone()),
            None => Created::from_source_date_epoch(),
        };
        Ok(options)
    }
}
