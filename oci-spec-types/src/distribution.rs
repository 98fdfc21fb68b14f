//! The distribution-spec's grammars and wire types: tags, the registry naming of Docker Hub, the
//! bodies of tag lists, catalogs, errors and referrers answers, and the referrers fallback tag.
//!
//! These are what a registry client and a registry share; the client crate speaks them over
//! HTTP, and any store or tool that checks a tag or names a fallback index uses them from here.

use serde::{Deserialize, Deserializer, Serialize};
use serde_with::skip_serializing_none;

use crate::{Descriptor, Digest, SpecError, media_types};

/// The longest tag the grammar allows.
pub const TAG_MAX_LEN: usize = 128;

/// Docker Hub's registry name in references (`docker.io/library/ubuntu`).
pub const DOCKER_HUB: &str = "docker.io";

/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// The `Accept` header of a manifest request: the OCI and Docker v2.2 manifest and index types.
pub const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json, \
     application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json";

/// Checks a tag against the grammar `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
///
/// # Errors
///
/// [`SpecError::InvalidField`] for the field `tag`, naming the rule the tag breaks.
///
/// ```
/// use oci_spec_types::distribution::check_tag;
/// assert!(check_tag("v1.2_rc-3").is_ok());
/// assert!(check_tag(".hidden").is_err());
/// ```
pub fn check_tag(tag: &str) -> Result<(), SpecError> {
    let bad = |reason: &str| {
        Err(SpecError::InvalidField {
            field: "tag".into(),
            value: oci_digest::clip(tag, 200).into_owned(),
            reason: reason.into(),
        })
    };
    let b = tag.as_bytes();
    let word = |c: &u8| c.is_ascii_alphanumeric() || *c == b'_';
    if b.is_empty() {
        return bad("a tag may not be empty");
    }
    if b.len() > TAG_MAX_LEN {
        return bad("a tag may have at most 128 characters");
    }
    if !word(&b[0]) {
        return bad("a tag must start with a letter, a digit or '_'");
    }
    if !b.iter().all(|c| word(c) || *c == b'.' || *c == b'-') {
        return bad("a tag may only contain letters, digits, '_', '.' and '-'");
    }
    Ok(())
}

/// True for the names Docker Hub goes by: `docker.io`, `index.docker.io` (the name of its
/// credentials) and `registry-1.docker.io` (its API host).
pub fn is_docker_hub(registry: &str) -> bool {
    matches!(
        registry,
        DOCKER_HUB | "index.docker.io" | DOCKER_HUB_API_HOST
    )
}

/// The host that serves a registry's API: Docker Hub's is `registry-1.docker.io`, any other
/// registry serves its own.
///
/// ```
/// use oci_spec_types::distribution::api_host;
/// assert_eq!(api_host("docker.io"), "registry-1.docker.io");
/// assert_eq!(api_host("localhost:5000"), "localhost:5000");
/// ```
pub fn api_host(registry: &str) -> &str {
    if is_docker_hub(registry) {
        DOCKER_HUB_API_HOST
    } else {
        registry
    }
}

/// The tag under which a registry without the referrers API keeps the referrers of `subject`:
/// `<alg>-<encoded>`, the algorithm cut to 32 characters and the encoded part to 64.
///
/// ```
/// let d = oci_spec_types::Digest::parse(
///     "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855").unwrap();
/// assert_eq!(
///     oci_spec_types::distribution::fallback_tag(&d),
///     "sha256-e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/// );
/// ```
pub fn fallback_tag(subject: &Digest) -> String {
    let alg: String = subject.algorithm().chars().take(32).collect();
    let enc: String = subject.encoded().chars().take(64).collect();
    format!("{alg}-{enc}")
}

/// The tag cosign gives an attachment of `subject` in the subject's repository:
/// `<alg>-<encoded>.<kind>`, where `kind` is `sig` (signatures), `att` (attestations) or `sbom`.
///
/// ```
/// let d: oci_spec_types::Digest = format!("sha256:{}", "a".repeat(64)).parse().unwrap();
/// assert_eq!(
///     oci_spec_types::distribution::cosign_tag(&d, "sig"),
///     format!("sha256-{}.sig", "a".repeat(64))
/// );
/// ```
pub fn cosign_tag(subject: &Digest, kind: &str) -> String {
    format!("{}-{}.{kind}", subject.algorithm(), subject.encoded())
}

/// `GET /v2/<name>/tags/list`: one page of a repository's tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TagList {
    /// The repository.
    #[serde(default)]
    pub name: String,
    /// The tags of this page (`null`, as some registries send for none, reads as empty).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub tags: Vec<String>,
}

/// `GET /v2/_catalog`: one page of a registry's repositories.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Catalog {
    /// The repositories of this page.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub repositories: Vec<String>,
}

/// The body of a failed answer: `{"errors": [{"code", "message", "detail"}]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorBody {
    /// The errors, in the registry's order.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub errors: Vec<ErrorInfo>,
}

/// One entry of an [`ErrorBody`].
#[skip_serializing_none]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorInfo {
    /// The code, such as `MANIFEST_UNKNOWN`.
    #[serde(default)]
    pub code: String,
    /// The registry's message.
    #[serde(default)]
    pub message: String,
    /// Anything the registry added, as it sent it.
    pub detail: Option<serde_json::Value>,
}

/// A referrers list as registries answer it (`GET /v2/<name>/referrers/<digest>`) and as the
/// fallback tag holds it: an image index, read leniently (only `mediaType` and `manifests`
/// matter, and either may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ReferrersIndex {
    /// The index's media type, if it says one.
    #[serde(default)]
    pub media_type: Option<String>,
    /// The referrers.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub manifests: Vec<Descriptor>,
}

impl ReferrersIndex {
    /// Reads a referrers list.
    ///
    /// # Errors
    ///
    /// [`SpecError::Json`] when the bytes are not JSON of that shape, or a descriptor is invalid.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SpecError> {
        crate::document::from_json("referrers index", bytes)
    }

    /// True when it says no media type or the OCI index type: what the fallback tag may hold.
    pub fn is_oci_index(&self) -> bool {
        self.media_type
            .as_deref()
            .is_none_or(|m| m == media_types::IMAGE_INDEX)
    }
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
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
            assert!(
                matches!(&e, SpecError::InvalidField { field, .. } if field == "tag"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn docker_hub_goes_by_three_names_and_one_api_host() {
        for name in ["docker.io", "index.docker.io", "registry-1.docker.io"] {
            assert!(is_docker_hub(name));
            assert_eq!(api_host(name), DOCKER_HUB_API_HOST);
        }
        assert!(!is_docker_hub("ghcr.io"));
        assert_eq!(api_host("[::1]:5000"), "[::1]:5000");
    }

    #[test]
    fn fallback_tags_cut_long_parts() {
        let long = Digest::parse(&format!("{}:{}", "a".repeat(40), "b".repeat(80))).unwrap();
        assert_eq!(
            fallback_tag(&long),
            format!("{}-{}", "a".repeat(32), "b".repeat(64))
        );
        check_tag(&fallback_tag(&long)).unwrap();
    }

    #[test]
    fn wire_bodies_read_leniently() {
        let t: TagList = serde_json::from_str(r#"{"name":"a/b","tags":null}"#).unwrap();
        assert!(t.tags.is_empty());
        let t: TagList = serde_json::from_str(r#"{"tags":["x","y"]}"#).unwrap();
        assert_eq!(t.tags, ["x", "y"]);
        let c: Catalog = serde_json::from_str("{}").unwrap();
        assert!(c.repositories.is_empty());
        let e: ErrorBody = serde_json::from_str(
            r#"{"errors":[{"code":"NAME_UNKNOWN","message":"no","detail":{"name":"x"}}]}"#,
        )
        .unwrap();
        assert_eq!(e.errors[0].code, "NAME_UNKNOWN");
        assert_eq!(e.errors[0].detail.as_ref().unwrap()["name"], "x");
        let r = ReferrersIndex::from_slice(br#"{"manifests":[]}"#).unwrap();
        assert!(r.is_oci_index() && r.manifests.is_empty());
        let r = ReferrersIndex::from_slice(
            br#"{"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json"}"#,
        )
        .unwrap();
        assert!(!r.is_oci_index());
        assert!(ReferrersIndex::from_slice(br#"{"manifests":[{"digest":"x"}]}"#).is_err());
    }
}
