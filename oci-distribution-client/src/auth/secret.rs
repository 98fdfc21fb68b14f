//! Credentials, kept out of logs.
//!
//! A `Secret` prints as `<redacted>` in `Debug` and has no `Display`, so a credential never lands
//! in a log line, an error message or a panic by accident.

use std::fmt;
use std::sync::Arc;

/// A secret string: a password, a token. Redacted in `Debug`; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Arc::from(value.into()))
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s)
    }
}

/// What a client presents to a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credential {
    /// A username and password, sent as HTTP Basic or exchanged for a token.
    Basic {
        /// The username.
        username: String,
        /// The password.
        password: Secret,
    },
    /// An OAuth2 refresh token (docker's `identitytoken`), exchanged for access tokens.
    RefreshToken(Secret),
    /// A bearer token used as is (registry access token).
    AccessToken(Secret),
}

impl Credential {
    /// A username and password.
    pub fn basic(username: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credential::Basic {
            username: username.into(),
            password: password.into(),
        }
    }
}

/// Where credentials come from, looked up per registry host (`host[:port]`).
#[async_trait::async_trait]
pub trait CredentialProvider: Send + Sync + fmt::Debug {
    /// The credential for `registry`, if any. Called once per registry when it first asks for
    /// authentication; the client keeps the answer.
    async fn credential(&self, registry: &str) -> Option<Credential>;
}

/// No credentials: anonymous access only.
#[derive(Debug, Clone, Copy, Default)]
pub struct Anonymous;

#[async_trait::async_trait]
impl CredentialProvider for Anonymous {
    async fn credential(&self, _registry: &str) -> Option<Credential> {
        None
    }
}

/// Fixed credentials per registry host.
#[derive(Debug, Clone, Default)]
pub struct StaticCredentials {
    entries: Vec<(String, Credential)>,
}

impl StaticCredentials {
    /// No entries yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a credential for `registry` (`host[:port]`).
    pub fn with(mut self, registry: impl Into<String>, credential: Credential) -> Self {
        self.entries.push((registry.into(), credential));
        self
    }
}

#[async_trait::async_trait]
impl CredentialProvider for StaticCredentials {
    async fn credential(&self, registry: &str) -> Option<Credential> {
        self.entries
            .iter()
            .find(|(r, _)| r == registry)
            .map(|(_, c)| c.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let c = Credential::basic("alice", "hunter2");
        let shown = format!("{c:?} {:?}", Secret::new("tok"));
        assert!(
            !shown.contains("hunter2") && !shown.contains("tok\""),
            "{shown}"
        );
        assert!(shown.contains("alice"));
    }
}
