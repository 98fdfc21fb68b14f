//! Turning command-line target strings into stores.
//!
//! A registry target is `host[:port]/repo[:tag][@digest]`; a layout target (with
//! `--oci-layout`) is `path[:tag][@digest]`. Tags may be listed with commas where a command
//! writes several (`repo:v1,latest`).

use std::path::PathBuf;
use std::sync::Arc;

use oci_distribution_client::auth::{Credential, DockerConfig, StaticCredentials};
use oci_distribution_client::{Client, ClientConfig};
use oci_layout::OciLayout;
use oci_spec_types::{Descriptor, Reference};
use oci_target::{Error, ErrorKind, Result, Target};

use crate::Common;
use crate::text::err;

/// A store opened from a target string, with what the string named in it.
pub(crate) struct Opened {
    pub(crate) target: Arc<dyn Target>,
    /// The tag or digest named, if any.
    pub(crate) reference: Option<String>,
    /// More tags named with commas (`repo:v1,latest` gives `latest` here).
    pub(crate) extra_tags: Vec<String>,
    /// How to show the target to people.
    pub(crate) display: String,
    /// Where a registry target lives: its registry and repository names (for mounts).
    pub(crate) location: Option<(String, String)>,
}

impl Opened {
    /// The reference, or an error saying the command needs one.
    pub(crate) fn require_reference(&self) -> Result<&str> {
        self.reference.as_deref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidReference,
                format!("{} names no tag or digest", self.display),
            )
        })
    }

    /// Resolves the reference to a descriptor.
    pub(crate) async fn resolve(&self) -> Result<Descriptor> {
        let reference = self.require_reference()?;
        self.target.resolve(reference).await
    }

    /// Every tag to apply: the reference when it is a tag, and the comma-listed extras.
    pub(crate) fn tags(&self) -> Vec<String> {
        let mut tags: Vec<String> = self
            .reference
            .iter()
            .filter(|r| !r.contains(':'))
            .cloned()
            .collect();
        tags.extend(self.extra_tags.iter().cloned());
        tags
    }

    /// `display` with `reference` appended the way it is written.
    pub(crate) fn show(&self, reference: &str) -> String {
        if reference.contains(':') {
            format!("{}@{reference}", self.display)
        } else {
            format!("{}:{reference}", self.display)
        }
    }
}

/// Whether a command writes to the store.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    Write,
}

fn split_tags(spec: &str) -> (&str, Vec<String>) {
    let mut parts = spec.split(',');
    let first = parts.next().unwrap_or_default();
    (
        first,
        parts.filter(|t| !t.is_empty()).map(str::to_owned).collect(),
    )
}

/// Splits `path[:tag][@digest]`. A `:` belongs to the tag only after the last `/`.
pub(crate) fn split_layout(spec: &str) -> (PathBuf, Option<String>) {
    if let Some((path, digest)) = spec.rsplit_once('@')
        && digest.contains(':')
    {
        let path = path
            .rsplit_once(':')
            .map_or(path, |(p, t)| if t.contains('/') { path } else { p });
        return (PathBuf::from(path), Some(digest.to_owned()));
    }
    match spec.rsplit_once(':') {
        Some((path, tag)) if !tag.contains('/') && !path.is_empty() => {
            (PathBuf::from(path), Some(tag.to_owned()))
        }
        _ => (PathBuf::from(spec), None),
    }
}

/// Builds a registry client from the common flags, for `registry` (a host).
pub(crate) fn client(common: &Common, registry: &str) -> Result<Client> {
    let mut config = ClientConfig::default()
        .with_user_agent(concat!("ocictl/", env!("CARGO_PKG_VERSION")))
        .with_on_warning(|w| err!("Warning from the registry: {w}"))
        .with_limits(common.limits()?);
    if common.plain_http {
        config = config.with_plain_http(registry);
    }
    if common.insecure {
        config = config.with_tls_skip_verify(true);
    }
    if let Some(ca) = &common.ca_file {
        let pem = std::fs::read(ca)
            .map_err(|e| Error::from(e).context(format!("cannot read {}", ca.display())))?;
        config = config.with_ca_pem(pem);
    }
    if let Some(credential) = common.credential()? {
        let host = oci_spec_types::distribution::api_host(registry).to_owned();
        config = config.with_credentials(StaticCredentials::new().with(host, credential));
    } else {
        config = config.with_credentials(docker_config(common)?);
    }
    Client::new(config)
}

/// The docker configuration `--registry-config` names, or the default one.
pub(crate) fn docker_config(common: &Common) -> Result<DockerConfig> {
    match &common.registry_config {
        Some(path) => DockerConfig::load(path),
        None => DockerConfig::load_default(),
    }
}

/// Opens `spec` as a layout (when `layout` is set) or a registry repository.
pub(crate) async fn open(
    common: &Common,
    spec: &str,
    layout: bool,
    access: Access,
) -> Result<Opened> {
    let (spec, extra_tags) = split_tags(spec);
    if layout {
        let (path, reference) = split_layout(spec);
        let options = common.layout_options()?;
        let store = match access {
            Access::Write => OciLayout::create(&path, options).await?,
            Access::Read => OciLayout::open(&path, options).await?,
        };
        return Ok(Opened {
            target: Arc::new(store.clone()),
            reference,
            extra_tags,
            display: path.display().to_string(),
            location: None,
        });
    }
    let parsed = Reference::parse(spec).map_err(|e| {
        Error::from(e).context(format!(
            "{spec:?} is not a registry reference (host[:port]/repo[:tag][@digest]); \
             for a directory add --oci-layout"
        ))
    })?;
    let client = client(common, parsed.registry())?;
    let repository = client.repository_for(&parsed)?;
    Ok(Opened {
        target: Arc::new(repository),
        reference: parsed.target(),
        extra_tags,
        display: format!("{}/{}", parsed.registry(), parsed.repository()),
        location: Some((parsed.registry().to_owned(), parsed.repository().to_owned())),
    })
}

/// The descriptor of a blob known by digest only.
pub(crate) async fn stat_blob(opened: &Opened, digest: &oci_digest::Digest) -> Result<Descriptor> {
    let found = opened
        .target
        .describe(digest)
        .await
        .map_err(|e| e.context(format!("no blob {digest} in {}", opened.display)))?;
    Ok(Descriptor::new(
        oci_spec_types::MediaType::octet_stream(),
        digest.clone(),
        found.size,
    ))
}

/// A shorthand used by commands that only read.
pub(crate) async fn open_read(common: &Common, spec: &str, layout: bool) -> Result<Opened> {
    open(common, spec, layout, Access::Read).await
}

/// A credential from `-u` with `-p` or `--password-stdin`.
pub(crate) fn credential_from(
    username: Option<&str>,
    password: Option<&str>,
    password_stdin: bool,
) -> Result<Option<Credential>> {
    let Some(user) = username else {
        if password.is_some() || password_stdin {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a password needs a username (-u)",
            ));
        }
        return Ok(None);
    };
    let password = match (password, password_stdin) {
        (Some(_), true) => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "give -p or --password-stdin, not both",
            ));
        }
        (Some(p), false) => p.to_owned(),
        (None, true) => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| Error::from(e).context("cannot read the password from stdin"))?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
        (None, false) => {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "-u needs a password: -p or --password-stdin",
            ));
        }
    };
    Ok(Some(Credential::basic(user, password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_specs() {
        let s = |x: &str| split_layout(x);
        assert_eq!(s("dir"), (PathBuf::from("dir"), None));
        assert_eq!(s("dir:v1"), (PathBuf::from("dir"), Some("v1".into())));
        assert_eq!(s("./a/b:v1"), (PathBuf::from("./a/b"), Some("v1".into())));
        let d = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert_eq!(
            s(&format!("dir@{d}")),
            (PathBuf::from("dir"), Some(d.into()))
        );
        assert_eq!(
            s(&format!("dir:v1@{d}")),
            (PathBuf::from("dir"), Some(d.into()))
        );
        assert_eq!(
            split_tags("r/x:a,b,c"),
            ("r/x:a", vec!["b".into(), "c".into()])
        );
    }
}
