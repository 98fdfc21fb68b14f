//! Authentication: Basic, and Bearer tokens from a token server.
//!
//! The client learns per registry which scheme it asks for (from the first 401), then sends the
//! right header up front. Tokens are cached per registry and scope set until shortly before they
//! expire; a 401 or an `insufficient_scope` answer drops the cached token and asks again.

mod challenge;
mod docker_config;
mod secret;
mod token;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use base64::Engine as _;
use reqwest::header::HeaderValue;

pub use challenge::{Challenge, parse as parse_challenge};
pub use docker_config::DockerConfig;
pub use secret::{Anonymous, Credential, CredentialProvider, Secret, StaticCredentials};

use crate::config::ClientConfig;
use oci_target::{Error, ErrorKind, Result};

/// The scopes one operation needs, such as `repository:library/ubuntu:pull`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// No scopes (the `/v2/` ping).
    pub fn none() -> Self {
        Scopes::default()
    }

    /// `repository:<name>:<actions>`.
    pub fn repository(name: &str, actions: &str) -> Self {
        let mut s = Scopes::default();
        s.add(format!("repository:{name}:{actions}"));
        s
    }

    /// Adds a scope string.
    pub fn add(&mut self, scope: impl Into<String>) {
        self.0.insert(scope.into());
    }

    /// Adds every scope of `other`.
    pub fn extend(&mut self, other: &Scopes) {
        self.0.extend(other.0.iter().cloned());
    }

    /// The scopes, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    fn key(&self) -> String {
        self.0.iter().cloned().collect::<Vec<_>>().join(" ")
    }
}

#[derive(Debug, Clone)]
enum Scheme {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

#[derive(Debug, Default)]
struct State {
    schemes: HashMap<String, Scheme>,
    /// What the provider said for each registry, asked once.
    credentials: HashMap<String, Option<Credential>>,
    tokens: HashMap<(String, String), (Secret, Instant)>,
    /// Refresh tokens a token server handed out, per registry.
    refresh: HashMap<String, Secret>,
}

/// Authentication state shared by every repository of a client.
#[derive(Debug)]
pub(crate) struct Auth {
    provider: Arc<dyn crate::auth::CredentialProvider>,
    state: Mutex<State>,
}

impl Auth {
    pub(crate) fn new(config: &ClientConfig) -> Self {
        Auth {
            provider: config.credentials.clone(),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The provider's credential for `registry`, asked once and remembered.
    async fn credential(&self, registry: &str) -> Option<Credential> {
        if let Some(c) = self.state().credentials.get(registry) {
            return c.clone();
        }
        let found = self.provider.credential(registry).await;
        self.state()
            .credentials
            .insert(registry.to_owned(), found.clone());
        found
    }

    /// The `Authorization` value to send up front, from what is known already.
    pub(crate) fn cached_header(&self, registry: &str, scopes: &Scopes) -> Option<HeaderValue> {
        let state = self.state();
        match state.schemes.get(registry)? {
            Scheme::Basic => basic_header(state.credentials.get(registry)?.as_ref()),
            Scheme::Bearer { .. } => {
                let (token, expires) = state.tokens.get(&(registry.to_owned(), scopes.key()))?;
                (Instant::now() < *expires).then(|| bearer_header(token))?
            }
        }
    }

    /// The header to send up front: the cached one, or, for a registry known to use tokens, a
    /// token fetched now for these scopes (saving the 401 round trip). `None` when nothing is
    /// known yet or the token server failed (the request then goes anonymous and the challenge
    /// path takes over).
    pub(crate) async fn prepare(
        &self,
        http: &reqwest::Client,
        config: &ClientConfig,
        registry: &str,
        scopes: &Scopes,
    ) -> Option<HeaderValue> {
        if let Some(h) = self.cached_header(registry, scopes) {
            return Some(h);
        }
        let scheme = self.state().schemes.get(registry).cloned()?;
        let Scheme::Bearer { realm, service } = scheme else {
            return None;
        };
        let challenge = Challenge::Bearer {
            realm,
            service,
            scope: None,
            error: None,
        };
        self.authenticate(http, config, registry, &challenge, scopes)
            .await
            .ok()
    }

    /// Forgets the cached token of `registry` for `scopes` (after it was refused).
    pub(crate) fn forget(&self, registry: &str, scopes: &Scopes) {
        self.state()
            .tokens
            .remove(&(registry.to_owned(), scopes.key()));
    }

    /// Answers a challenge: finds or fetches what the registry asked for and returns the header.
    pub(crate) async fn authenticate(
        &self,
        http: &reqwest::Client,
        config: &ClientConfig,
        registry: &str,
        challenge: &Challenge,
        scopes: &Scopes,
    ) -> Result<HeaderValue> {
        let credential = self.credential(registry).await;
        match challenge {
            Challenge::Basic { .. } => {
                self.state()
                    .schemes
                    .insert(registry.to_owned(), Scheme::Basic);
                basic_header(credential.as_ref()).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Unauthorized,
                        format!("{registry} asks for a username and password, and none is configured for it"),
                    )
                })
            }
            Challenge::Bearer {
                realm,
                service,
                scope,
                ..
            } => {
                let mut wanted = scopes.clone();
                if let Some(s) = scope {
                    for one in s.split(' ').filter(|s| !s.is_empty()) {
                        wanted.add(one);
                    }
                }
                self.state().schemes.insert(
                    registry.to_owned(),
                    Scheme::Bearer {
                        realm: realm.clone(),
                        service: service.clone(),
                    },
                );
                let refresh = self.state().refresh.get(registry).cloned();
                let credential = match (credential, refresh) {
                    (Some(Credential::Basic { .. }) | None, Some(r)) => {
                        Some(Credential::RefreshToken(r))
                    }
                    (c, _) => c,
                };
                let got = token::fetch(
                    http,
                    config,
                    realm,
                    service.as_deref(),
                    &wanted,
                    credential.as_ref(),
                )
                .await?;
                let mut state = self.state();
                if let Some(r) = got.refresh_token.clone() {
                    state.refresh.insert(registry.to_owned(), r);
                }
                let header = bearer_header(&got.token).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Unauthorized,
                        "the token server's token is not a valid header value",
                    )
                })?;
                // Cache under both the scopes asked for and those the challenge named.
                for key in [scopes.key(), wanted.key()] {
                    state.tokens.insert(
                        (registry.to_owned(), key),
                        (got.token.clone(), got.expires_at),
                    );
                }
                Ok(header)
            }
        }
    }
}

fn basic_header(credential: Option<&Credential>) -> Option<HeaderValue> {
    match credential? {
        Credential::Basic { username, password } => {
            let raw = format!("{username}:{}", password.expose());
            let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
            let mut v = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
            v.set_sensitive(true);
            Some(v)
        }
        _ => None,
    }
}

fn bearer_header(token: &Secret) -> Option<HeaderValue> {
    let mut v = HeaderValue::from_str(&format!("Bearer {}", token.expose())).ok()?;
    v.set_sensitive(true);
    Some(v)
}
