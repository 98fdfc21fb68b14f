//! References: `[registry/]repository[:tag][@digest]`.
//!
//! Parsed by the distribution reference grammar, with docker's normalisation: a name whose first
//! component is not a host (no `.` or `:`, not `localhost`, all lowercase) lives on Docker Hub,
//! and a one-component name there gets the `library/` prefix. The API of Docker Hub is served
//! by another host than its name; [`Reference::api_host`] says which.

use std::fmt;

use oci_digest::Digest;

use crate::SpecError;
use crate::distribution::DOCKER_HUB;
use crate::error::clip;

/// The longest repository name, registry included, the distribution grammar allows.
const NAME_MAX: usize = 255;

/// A reference to a manifest in a registry.
///
/// ```
/// use oci_spec_types::Reference;
///
/// let r: Reference = "ubuntu:22.04".parse().unwrap();
/// assert_eq!(r.registry(), "docker.io");
/// assert_eq!(r.repository(), "library/ubuntu");
/// assert_eq!(r.tag(), Some("22.04"));
/// assert_eq!(r.api_host(), "registry-1.docker.io");
/// assert_eq!(r.to_string(), "docker.io/library/ubuntu:22.04");
///
/// let local: Reference = "localhost:5000/team/app@sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".parse().unwrap();
/// assert_eq!(local.registry(), "localhost:5000");
/// assert!(local.digest().is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

fn invalid(value: &str, reason: impl Into<String>) -> SpecError {
    SpecError::InvalidField {
        field: "reference".into(),
        value: clip(value),
        reason: reason.into(),
    }
}

impl Reference {
    /// Parses a reference.
    ///
    /// # Errors
    ///
    /// [`SpecError::InvalidField`] (field `reference`) saying which part breaks the grammar:
    /// uppercase in the repository, an empty component, a bad tag or digest, a name over 255
    /// characters.
    pub fn parse(s: &str) -> Result<Self, SpecError> {
        if s.is_empty() {
            return Err(invalid(s, "a reference may not be empty"));
        }
        let (rest, digest) = match s.split_once('@') {
            Some((rest, d)) => {
                let digest =
                    Digest::parse(d).map_err(|e| invalid(s, format!("bad digest: {e}")))?;
                (rest, Some(digest))
            }
            None => (s, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let i = last_slash + i;
                (&rest[..i], Some(&rest[i + 1..]))
            }
            None => (rest, None),
        };
        if let Some(t) = tag {
            check_tag(t).map_err(|why| invalid(s, why))?;
        }
        if name.is_empty() {
            return Err(invalid(s, "the repository name is empty"));
        }
        if name.len() > NAME_MAX {
            return Err(invalid(
                s,
                format!("the name is longer than {NAME_MAX} characters"),
            ));
        }
        let (registry, repository) = split_registry(name);
        check_host(registry).map_err(|why| invalid(s, why))?;
        check_path(repository).map_err(|why| invalid(s, why))?;
        let mut registry = registry.to_owned();
        let mut repository = repository.to_owned();
        if registry == "index.docker.io" {
            registry = DOCKER_HUB.into();
        }
        if registry == DOCKER_HUB && !repository.contains('/') {
            repository = format!("library/{repository}");
        }
        // The limit is on the full name, registry and library/ included, as it will be shown.
        if registry.len() + 1 + repository.len() > NAME_MAX {
            return Err(invalid(
                s,
                format!("the name is longer than {NAME_MAX} characters once its registry is added"),
            ));
        }
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    /// A reference to `repository` on `registry`, with neither tag nor digest.
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse).
    pub fn new(registry: &str, repository: &str) -> Result<Self, SpecError> {
        let whole = format!("{registry}/{repository}");
        check_host(registry).map_err(|why| invalid(&whole, why))?;
        check_path(repository).map_err(|why| invalid(&whole, why))?;
        if whole.len() > NAME_MAX {
            return Err(invalid(
                &whole,
                format!("the name is longer than {NAME_MAX} characters"),
            ));
        }
        Ok(Reference {
            registry: registry.to_owned(),
            repository: repository.to_owned(),
            tag: None,
            digest: None,
        })
    }

    /// Sets the tag.
    ///
    /// # Errors
    ///
    /// [`SpecError::InvalidField`] for a tag that breaks `[\w][\w.-]{0,127}`.
    pub fn with_tag(mut self, tag: &str) -> Result<Self, SpecError> {
        check_tag(tag).map_err(|why| invalid(tag, why))?;
        self.tag = Some(tag.to_owned());
        Ok(self)
    }

    /// Sets the digest.
    pub fn with_digest(mut self, digest: Digest) -> Self {
        self.digest = Some(digest);
        self
    }

    /// The registry as named (`docker.io`, `localhost:5000`, `[::1]:5000`).
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The host that serves the registry's API: `registry-1.docker.io` for Docker Hub, else the
    /// registry itself.
    pub fn api_host(&self) -> &str {
        crate::distribution::api_host(&self.registry)
    }

    /// The repository path (`library/ubuntu`).
    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }

    /// What to ask a repository for: the digest when there is one, else the tag.
    pub fn target(&self) -> Option<String> {
        self.digest
            .as_ref()
            .map(|d| d.to_string())
            .or_else(|| self.tag.clone())
    }

    /// The short form people type: Docker Hub's name dropped, and `library/` for its official
    /// one-component names.
    pub fn familiar(&self) -> String {
        let mut out = if self.registry == DOCKER_HUB {
            match self.repository.strip_prefix("library/") {
                Some(official) if !official.contains('/') => official.to_owned(),
                // A first component that reads as a host must keep the registry in front.
                _ if first_component_is_host(&self.repository) => {
                    format!("{DOCKER_HUB}/{}", self.repository)
                }
                _ => self.repository.clone(),
            }
        } else {
            format!("{}/{}", self.registry, self.repository)
        };
        if let Some(t) = &self.tag {
            out.push(':');
            out.push_str(t);
        }
        if let Some(d) = &self.digest {
            out.push('@');
            out.push_str(d.as_str());
        }
        out
    }
}

/// Checks a repository path by the distribution grammar: lowercase components separated by `/`,
/// each `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`, 255 characters at most.
///
/// # Errors
///
/// [`SpecError::InvalidField`] (field `repository`) saying which rule the path breaks.
pub fn check_repository(path: &str) -> Result<(), SpecError> {
    let bad = |why: String| SpecError::InvalidField {
        field: "repository".into(),
        value: clip(path),
        reason: why,
    };
    if path.len() > NAME_MAX {
        return Err(bad(format!(
            "the name is longer than {NAME_MAX} characters"
        )));
    }
    check_path(path).map_err(bad)
}

/// Whether the first component of `name` reads as a registry host, by docker's rule: it holds a
/// `.` or `:`, is `localhost`, or has uppercase letters.
fn first_component_is_host(name: &str) -> bool {
    name.split_once('/').is_some_and(|(first, _)| {
        first.contains(['.', ':'])
            || first == "localhost"
            || first.bytes().any(|b| b.is_ascii_uppercase())
    })
}

/// Splits `registry/path`, applying docker's rule for names without a registry.
fn split_registry(name: &str) -> (&str, &str) {
    match name.split_once('/') {
        Some((first, rest)) if first_component_is_host(name) => (first, rest),
        _ => (DOCKER_HUB, name),
    }
}

fn check_tag(tag: &str) -> Result<(), String> {
    crate::distribution::check_tag(tag).map_err(|e| match e {
        SpecError::InvalidField { reason, .. } => reason,
        other => other.to_string(),
    })
}

/// `host[:port]`: a domain name, an IPv4 address, or an IPv6 address in brackets.
fn check_host(registry: &str) -> Result<(), String> {
    let (host, port) = if let Some(rest) = registry.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or("an IPv6 address must be closed with ']'")?;
        let addr = &rest[..end];
        if addr.is_empty()
            || !addr
                .bytes()
                .all(|c| c.is_ascii_hexdigit() || c == b':' || c == b'.')
        {
            return Err(format!("{addr:?} is not an IPv6 address"));
        }
        let after = &rest[end + 1..];
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or("only ':port' may follow an IPv6 address")?,
            ),
        };
        (None, port)
    } else {
        match registry.split_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(registry), None),
        }
    };
    if let Some(p) = port
        && (p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()))
    {
        return Err(format!("the port {p:?} is not a number"));
    }
    if let Some(h) = host {
        if h.is_empty() {
            return Err("the registry host is empty".into());
        }
        for component in h.split('.') {
            let b = component.as_bytes();
            if b.is_empty() {
                return Err(format!("the registry host {h:?} has an empty label"));
            }
            if !b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
                || b[0] == b'-'
                || b[b.len() - 1] == b'-'
            {
                return Err(format!(
                    "the registry host {h:?} is not a domain name or address"
                ));
            }
        }
    }
    Ok(())
}

/// Lowercase path components separated by `/`, each `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the repository path is empty".into());
    }
    for component in path.split('/') {
        let b = component.as_bytes();
        if b.is_empty() {
            return Err("the repository path has an empty component".into());
        }
        if b.iter().any(u8::is_ascii_uppercase) {
            return Err("repository names must be lowercase".into());
        }
        let alnum = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        if !alnum(&b[0]) || !alnum(&b[b.len() - 1]) {
            return Err(format!(
                "the path component {component:?} must start and end with a letter or digit"
            ));
        }
        let mut i = 0;
        while i < b.len() {
            if alnum(&b[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && !alnum(&b[i]) {
                i += 1;
            }
            let sep = &component[start..i];
            if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
                return Err(format!(
                    "{sep:?} in {component:?} is not a separator ('.', '_', '__' or dashes)"
                ));
            }
        }
    }
    Ok(())
}

oci_digest::impl_from_str!(Reference, SpecError);

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl serde::Serialize for Reference {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Reference {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Reference::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn parts(s: &str) -> (String, String, Option<String>, Option<String>) {
        let r = Reference::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        (
            r.registry().into(),
            r.repository().into(),
            r.tag().map(Into::into),
            r.digest().map(|d| d.to_string()),
        )
    }

    #[test]
    fn docker_hub_normalisation() {
        assert_eq!(
            parts("ubuntu"),
            ("docker.io".into(), "library/ubuntu".into(), None, None)
        );
        assert_eq!(parts("ubuntu:22.04").2.as_deref(), Some("22.04"));
        assert_eq!(parts("bitnami/redis").1, "bitnami/redis");
        assert_eq!(parts("index.docker.io/library/ubuntu").0, "docker.io");
        assert_eq!(parts("docker.io/ubuntu").1, "library/ubuntu");
        let r = Reference::parse("ubuntu").unwrap();
        assert_eq!(r.api_host(), crate::DOCKER_HUB_API_HOST);
        assert_eq!(r.familiar(), "ubuntu");
    }

    #[test]
    fn hosts_ports_and_addresses() {
        assert_eq!(parts("localhost/x").0, "localhost");
        assert_eq!(parts("localhost:5000/x:v1").0, "localhost:5000");
        assert_eq!(parts("[::1]:5000/x").0, "[::1]:5000");
        assert_eq!(parts("[fe80::1]/a/b").0, "[fe80::1]");
        let (reg, repo, tag, digest) = parts(&format!("127.0.0.1:5000/a/b:tag@{D}"));
        assert_eq!(
            (reg.as_str(), repo.as_str(), tag.as_deref()),
            ("127.0.0.1:5000", "a/b", Some("tag"))
        );
        assert_eq!(digest.as_deref(), Some(D));
        assert_eq!(
            parts("registry.example.com/a__b/c--d/e.f").1,
            "a__b/c--d/e.f"
        );
        assert_eq!(
            Reference::parse("localhost:5000/x").unwrap().api_host(),
            "localhost:5000"
        );
    }

    #[test]
    fn invalid_references_say_why() {
        for (bad, needle) in [
            ("", "empty"),
            ("Ubuntu", "lowercase"),
            ("example.com/Team/app", "lowercase"),
            ("a//b", "empty component"),
            ("a/", "empty component"),
            ("a:", "tag may not be empty"),
            ("a:-x", "must start"),
            (&format!("a:{}", "t".repeat(129)), "at most 128"),
            ("a@sha256:abc", "bad digest"),
            (
                &format!("example.com/{}", "a".repeat(250)),
                "longer than 255",
            ),
            ("a/b..c", "not a separator"),
            ("[::1/x", "closed"),
            ("host:port/x", "not a number"),
            ("-bad.example/x", "not a domain"),
        ] {
            let e = Reference::parse(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad:?}: {e}");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "ubuntu",
            "a/b:c",
            &format!("localhost:5000/x@{D}"),
            "[::1]:5000/a/b:t",
            &format!("ghcr.io/o/r:v1@{D}"),
        ] {
            let r = Reference::parse(s).unwrap();
            assert_eq!(Reference::parse(&r.to_string()).unwrap(), r, "{s}");
        }
        assert_eq!(
            Reference::parse("ghcr.io/o/r:v1").unwrap().familiar(),
            "ghcr.io/o/r:v1"
        );
        assert_eq!(
            Reference::parse("ghcr.io/o/r:v1")
                .unwrap()
                .target()
                .as_deref(),
            Some("v1")
        );
        assert_eq!(
            Reference::parse(&format!("r:v1@{D}"))
                .unwrap()
                .target()
                .as_deref(),
            Some(D)
        );
    }

    #[test]
    fn builders_validate() {
        let r = Reference::new("localhost:5000", "a/b")
            .unwrap()
            .with_tag("v1")
            .unwrap();
        assert_eq!(r.to_string(), "localhost:5000/a/b:v1");
        assert!(Reference::new("localhost:5000", "A").is_err());
        assert!(
            Reference::new("localhost:5000", "a")
                .unwrap()
                .with_tag("bad tag")
                .is_err()
        );
    }
}
