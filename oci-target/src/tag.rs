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

/// Checks a tag against the distribution-spec grammar `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
///
/// # Errors
///
/// [`ErrorKind::InvalidReference`] naming the tag and the rule it breaks.
pub fn check_tag(tag: &str) -> Result<()> {
    let bad = |why: &str| {
        let shown: String = tag.chars().take(200).collect();
        Err(Error::new(
            ErrorKind::InvalidReference,
            format!("invalid tag {shown:?}: {why}"),
        ))
    };
    let bytes = tag.as_bytes();
    if bytes.is_empty() {
        return bad("a tag may not be empty");
    }
    if bytes.len() > 128 {
        return bad("a tag may have at most 128 characters");
    }
    if !(bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_') {
        return bad("a tag must start with a letter, a digit or '_'");
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    {
        return bad("a tag may only contain letters, digits, '_', '.' and '-'");
    }
    Ok(())
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
    check_tag(reference)?;
    Ok(RefKind::Tag(reference.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_by_the_grammar() {
        for ok in ["latest", "v1.2.3", "_x", "A-b_c.d", &"a".repeat(128)] {
            check_tag(ok).unwrap();
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", "ä", &"a".repeat(129)] {
            let e = check_tag(bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidReference, "{bad}");
        }
    }

    #[test]
    fn refs_are_tags_or_digests() {
        assert_eq!(parse_ref("v1").unwrap(), RefKind::Tag("v1".into()));
        let d = oci_digest::sha256(b"x");
        assert_eq!(parse_ref(d.as_str()).unwrap(), RefKind::Digest(d));
        assert_eq!(
            parse_ref("sha256:nope").unwrap_err().kind(),
            ErrorKind::InvalidDigest
        );
    }
}
