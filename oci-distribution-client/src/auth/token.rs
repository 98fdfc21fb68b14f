//! Fetching tokens from a registry's token server.
//!
//! A refresh token (docker's `identitytoken`) is exchanged by the OAuth2 POST form, falling back
//! to GET when the server answers 404 to POST; a username and password go as HTTP Basic on GET; an
//! anonymous client GETs. The token server's URL must be HTTPS unless its host is one the caller
//! marked for plain HTTP, so credentials never travel in clear text by accident.

use std::time::{Duration, Instant};

use serde::Deserialize;

use super::{Credential, Scopes, Secret};
use crate::config::ClientConfig;
use oci_target::{Error, ErrorKind, Result};

/// Tokens a server says last longer than this are refreshed after it anyway.
const MAX_TOKEN_LIFE: Duration = Duration::from_secs(3600);
/// The distribution token spec's default lifetime.
const DEFAULT_TOKEN_LIFE: Duration = Duration::from_secs(60);
/// Tokens are renewed this long before they expire.
const MARGIN: Duration = Duration::from_secs(5);
/// The client id sent in OAuth2 requests.
const CLIENT_ID: &str = "oci-distribution-client";

pub(crate) struct Token {
    pub(crate) token: Secret,
    pub(crate) expires_at: Instant,
    pub(crate) refresh_token: Option<Secret>,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<String>,
}

pub(crate) async fn fetch(
    http: &reqwest::Client,
    config: &ClientConfig,
    realm: &str,
    service: Option<&str>,
    scopes: &Scopes,
    credential: Option<&Credential>,
) -> Result<Token> {
    if let Some(Credential::AccessToken(t)) = credential {
        return Ok(Token {
            token: t.clone(),
            expires_at: Instant::now() + MAX_TOKEN_LIFE,
            refresh_token: None,
        });
    }
    let url = check_realm(config, realm)?;
    let started = Instant::now();
    let response = match credential {
        Some(Credential::RefreshToken(refresh)) => {
            let scope = scopes.iter().collect::<Vec<_>>().join(" ");
            let mut form = vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh.expose()),
                ("client_id", CLIENT_ID),
                ("access_type", "offline"),
            ];
            if let Some(s) = service {
                form.push(("service", s));
            }
            if !scope.is_empty() {
                form.push(("scope", &scope));
            }
            let posted = http
                .post(url.clone())
                .form(&form)
                .send()
                .await
                .map_err(|e| token_transport(realm, e))?;
            if posted.status() == reqwest::StatusCode::NOT_FOUND {
                get(http, url, service, scopes, None).await?
            } else {
                posted
            }
        }
        other => get(http, url, service, scopes, other).await?,
    };
    let status = response.status();
    if !status.is_success() {
        let kind = match status.as_u16() {
            401 | 403 => ErrorKind::Unauthorized,
            _ => ErrorKind::Transport,
        };
        return Err(Error::new(
            kind,
            format!("the token server {realm} refused to issue a token ({status})"),
        )
        .with_status(status.as_u16()));
    }
    let body = crate::repository::read_limited(
        response,
        "token-bytes",
        config.limits.token_bytes,
        &format!("the answer of the token server {realm}"),
    )
    .await?;
    let answer: Answer = crate::repository::decode_json(&body, ErrorKind::Unauthorized, |e| {
        format!("the token server {realm} answered with something that is not a token: {e}")
    })?;
    let token = answer
        .token
        .or(answer.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthorized,
                format!("the token server {realm} answered without a token"),
            )
        })?;
    let life = answer
        .expires_in
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_TOKEN_LIFE)
        .min(MAX_TOKEN_LIFE);
    Ok(Token {
        token: Secret::new(token),
        expires_at: started + life.saturating_sub(MARGIN),
        refresh_token: answer.refresh_token.map(Secret::new),
    })
}

async fn get(
    http: &reqwest::Client,
    url: reqwest::Url,
    service: Option<&str>,
    scopes: &Scopes,
    credential: Option<&Credential>,
) -> Result<reqwest::Response> {
    let mut query: Vec<(&str, &str)> = Vec::new();
    if let Some(s) = service {
        query.push(("service", s));
    }
    for s in scopes.iter() {
        query.push(("scope", s));
    }
    let mut request = http.get(url.clone()).query(&query);
    if let Some(Credential::Basic { username, password }) = credential {
        request = request
            .query(&[("account", username.as_str())])
            .basic_auth(username, Some(password.expose()));
    }
    request
        .send()
        .await
        .map_err(|e| token_transport(url.as_str(), e))
}

fn check_realm(config: &ClientConfig, realm: &str) -> Result<reqwest::Url> {
    let url = reqwest::Url::parse(realm).map_err(|e| {
        Error::new(
            ErrorKind::Unauthorized,
            format!("the registry named a token server that is not a URL ({realm:?}: {e})"),
        )
    })?;
    let host = url.host_str().unwrap_or_default();
    let host_port = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if config.is_plain_http(&host_port) => Ok(url),
        "http" => Err(Error::new(
            ErrorKind::Unauthorized,
            format!(
                "the token server {realm} uses plain HTTP and {host_port} is not marked for it"
            ),
        )),
        other => Err(Error::new(
            ErrorKind::Unauthorized,
            format!("the token server URL has the unsupported scheme {other:?}"),
        )),
    }
}

fn token_transport(realm: &str, e: reqwest::Error) -> Error {
    Error::new(ErrorKind::Transport, format!("token server {realm}: {e}")).with_source(e)
}
