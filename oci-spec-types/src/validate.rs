//! Rules the image-spec states beyond the JSON shape, shared by the document types.

use base64::Engine as _;

use crate::error::clip;
use crate::{Descriptor, MediaType, SpecError};

pub(crate) fn check_schema_version(v: u32) -> Result<(), SpecError> {
    if v != 2 {
        return Err(SpecError::InvalidField {
            field: "schemaVersion".into(),
            value: v.to_string(),
            reason: "must be 2".into(),
        });
    }
    Ok(())
}

pub(crate) fn check_media_type_field(
    got: Option<&MediaType>,
    allowed: &[&str],
) -> Result<(), SpecError> {
    match got {
        Some(m) if !allowed.contains(&m.essence()) => Err(SpecError::InvalidField {
            field: "mediaType".into(),
            value: clip(m.as_str()),
            reason: format!("must be one of {}", allowed.join(", ")),
        }),
        _ => Ok(()),
    }
}

/// Checks a descriptor found at `field` (a JSON path).
/// Checks each descriptor of the list `field` (`layers`, `manifests`) and the subject, if any.
pub(crate) fn check_children(
    field: &str,
    children: &[Descriptor],
    subject: Option<&Descriptor>,
) -> Result<(), SpecError> {
    for (i, d) in children.iter().enumerate() {
        check_descriptor(&format!("{field}[{i}]"), d)?;
    }
    subject.map_or(Ok(()), |s| check_descriptor("subject", s))
}

pub(crate) fn check_descriptor(field: &str, d: &Descriptor) -> Result<(), SpecError> {
    d.validate().map_err(|e| match e {
        SpecError::InvalidField {
            field: inner,
            value,
            reason,
        } => SpecError::InvalidField {
            field: format!("{field}.{inner}"),
            value,
            reason,
        },
        other => other,
    })
}

impl Descriptor {
    /// Checks the rules a descriptor must follow beyond its JSON shape: every URL in `urls` is
    /// an absolute URL, and `data`, when present, is padded base64 whose bytes have exactly
    /// `size` and `digest`.
    ///
    /// # Errors
    ///
    /// [`SpecError::InvalidField`] naming `urls[i]` or `data`.
    pub fn validate(&self) -> Result<(), SpecError> {
        if let Some(urls) = &self.urls {
            for (i, u) in urls.iter().enumerate() {
                if let Err(e) = url::Url::parse(u) {
                    return Err(SpecError::InvalidField {
                        field: format!("urls[{i}]"),
                        value: clip(u),
                        reason: format!("not an absolute URL: {e}"),
                    });
                }
            }
        }
        if self.data.is_some() {
            self.decoded_data()?;
        }
        Ok(())
    }

    /// The embedded `data`, decoded and checked against `size` and `digest`; `None` without it.
    ///
    /// # Errors
    ///
    /// [`SpecError::InvalidField`] (field `data`) for base64 that is not padded standard base64,
    /// or bytes of another size or digest.
    pub fn decoded_data(&self) -> Result<Option<Vec<u8>>, SpecError> {
        let Some(data) = &self.data else {
            return Ok(None);
        };
        let bad = |reason: String| SpecError::InvalidField {
            field: "data".into(),
            value: clip(data),
            reason,
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| bad(format!("not padded standard base64: {e}")))?;
        if bytes.len() as u64 != self.size {
            return Err(bad(format!(
                "decodes to {} bytes, but size is {}",
                bytes.len(),
                self.size
            )));
        }
        if self.digest.hash_algorithm().is_ok() && !self.digest.matches(&bytes) {
            return Err(bad(format!("its bytes do not hash to {}", self.digest)));
        }
        Ok(Some(bytes))
    }
}

/// Checks that the `Content-Type` a store served agrees with the document's own `mediaType`.
/// Parameters (`; charset=…`) are ignored; either being absent passes.
///
/// # Errors
///
/// [`SpecError::InvalidField`] (field `mediaType`) naming both when they differ.
pub fn check_content_type(
    content_type: Option<&str>,
    media_type: Option<&MediaType>,
) -> Result<(), SpecError> {
    let served = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim())
        .filter(|c| !c.is_empty());
    match (served, media_type) {
        (Some(served), Some(m)) if !served.eq_ignore_ascii_case(m.essence()) => {
            Err(SpecError::InvalidField {
                field: "mediaType".into(),
                value: clip(m.as_str()),
                reason: format!("served with Content-Type {served}, which disagrees"),
            })
        }
        _ => Ok(()),
    }
}
