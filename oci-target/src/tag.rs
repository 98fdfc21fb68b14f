//! Tag and reference strings as stores accept them.

use oci_digest::Digest;

use crate::{Error, ErrorKind, Result};

/// What a reference string passed to a store names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefKind {
    /// A tag, such as `v1.2`.
    Tag(String),
    /// A digest.
    Digest(Digest),
}

/// Reads a reference given to a store: a digest when it contains `:`, otherwise a tag.
///
/// # Errors
///
/// [`ErrorKind::InvalidReference`] or [`ErrorKind::InvalidDigest`] when it is neither.
pub fn parse_ref(reference: &str) -> Result<RefKind> {
    if reference.contains(':') {
        let digest = Digest::parse(reference).map_err(|e| {
            Error::new(
                ErrorKind::InvalidDigest,
                format!("reference is neither a tag nor a digest: {e}"),
            )
        })?;
        return Ok(RefKind::Digest(digest));
    }
    oci_spec_types::distribution::check_tag(reference)?;
    Ok(RefKind::Tag(reference.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_are_tags_or_digests() {
        assert_eq!(parse_ref("v1").unwrap(), RefKind::Tag("v1".into()));
        let d = oci_digest::sha256(b"x");
        assert_eq!(parse_ref(d.as_str()).unwrap(), RefKind::Digest(d));
        assert_eq!(
            parse_ref("sha256:nope").unwrap_err().kind(),
            ErrorKind::InvalidDigest
        );
        assert_eq!(
            parse_ref(".v1").unwrap_err().kind(),
            ErrorKind::InvalidReference
        );
    }
}
