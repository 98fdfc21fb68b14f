//! Sending one registry request: authentication, retries and redirects.
//!
//! Every request goes through [`Inner::send`]: it adds the credential the registry is known to
//! want, answers a 401 challenge once, retries passing failures with backoff when the body can be
//! sent again, and follows redirects itself so that `Authorization` is never sent to another host.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{
    AUTHORIZATION, HeaderMap, HeaderValue, LOCATION, RETRY_AFTER, WWW_AUTHENTICATE,
};
use reqwest::{Method, Response, StatusCode, Url};

use crate::auth::{Auth, Challenge, Scopes, parse_challenge};
use crate::config::ClientConfig;
use crate::errors::{from_response, transport_after};
use oci_target::{Error, ErrorKind, Result};

/// The shared state of a client.
#[derive(Debug)]
pub(crate) struct Inner {
    pub(crate) http: reqwest::Client,
    pub(crate) config: ClientConfig,
    pub(crate) auth: Auth,
    pub(crate) referrers: crate::referrers::ReferrersState,
}

/// The body of a request.
pub(crate) enum CallBody {
    /// No body.
    Empty,
    /// Bytes in memory: can be sent again.
    Bytes(Bytes),
    /// A stream: sent once.
    Once(Option<reqwest::Body>),
}

impl CallBody {
    fn resendable(&self) -> bool {
        !matches!(self, CallBody::Once(_))
    }
}

/// One request to a registry.
pub(crate) struct Call<'a> {
    /// What the request does, for error messages: `"fetch manifest a/b@sha256:…"`.
    pub(crate) what: &'a str,
    /// `host[:port]` of the registry, for credentials and same-origin checks.
    pub(crate) registry: &'a str,
    pub(crate) scopes: &'a Scopes,
    pub(crate) method: Method,
    pub(crate) url: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) body: CallBody,
    /// Follow redirects (the default); off, a redirect is returned as the response.
    pub(crate) follow_redirects: bool,
}

impl<'a> Call<'a> {
    pub(crate) fn new(
        what: &'a str,
        registry: &'a str,
        scopes: &'a Scopes,
        method: Method,
        url: Url,
    ) -> Self {
        Call {
            what,
            registry,
            scopes,
            method,
            url,
            headers: HeaderMap::new(),
            body: CallBody::Empty,
            follow_redirects: true,
        }
    }

    /// Returns a redirect as the response instead of following it.
    pub(crate) fn without_redirects(mut self) -> Self {
        self.follow_redirects = false;
        self
    }

    pub(crate) fn header(mut self, name: reqwest::header::HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.insert(name, v);
        }
        self
    }

    pub(crate) fn body(mut self, body: CallBody) -> Self {
        self.body = body;
        self
    }
}

/// True when `url` is on the registry's own host and port.
pub(crate) fn same_origin(url: &Url, registry: &str) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host_port = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let registry = registry.trim_start_matches('[');
    host_port.trim_start_matches('[') == registry
        || (url.port().is_none() && host == registry.trim_end_matches(']'))
}

impl Inner {
    /// The base URL of `registry`'s API, `https://host/v2/` unless the host is marked for plain
    /// HTTP.
    pub(crate) fn api_base(&self, registry: &str) -> Result<Url> {
        let scheme = if self.config.is_plain_http(registry) {
            "http"
        } else if cfg!(any(feature = "tls-ring", feature = "tls-aws-lc-rs")) {
            "https"
        } else {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{registry} is not marked for plain HTTP, and this build has no TLS (enable \
                     the tls-ring or tls-aws-lc-rs feature of oci-distribution-client)"
                ),
            ));
        };
        Url::parse(&format!("{scheme}://{registry}/v2/")).map_err(|e| {
            Error::new(
                ErrorKind::InvalidReference,
                format!("{registry:?} is not a registry host: {e}"),
            )
        })
    }

    /// May a redirect from `from` go to `to`? To HTTPS always. To plain HTTP from plain HTTP
    /// (a registry the caller marked for plain HTTP handing blobs to object storage beside it,
    /// as distribution on S3 or MinIO does): nothing is downgraded, and the registry's
    /// `Authorization` never goes to another origin. From HTTPS to plain HTTP only when the
    /// caller marked that host too: an HTTPS registry never silently downgrades.
    fn check_redirect(&self, from: &Url, to: &Url, what: &str) -> Result<()> {
        if redirect_allowed(&self.config, from, to) {
            return Ok(());
        }
        let host = to.host_str().unwrap_or_default();
        let host_port = match to.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        Err(Error::new(
            ErrorKind::Transport,
            format!(
                "{what}: refusing a redirect from {} to {}://{host_port}: HTTPS is never \
                 downgraded to a host not marked for plain HTTP",
                from.scheme(),
                to.scheme()
            ),
        ))
    }

    /// Sends `call`, authenticating, retrying and following redirects; returns the final
    /// response whatever its status (callers map non-success statuses with
    /// [`from_response`]).
    pub(crate) async fn send(&self, mut call: Call<'_>) -> Result<Response> {
        let retry = self.config.retry;
        let mut attempt = 0u32;
        let mut answered_challenge = false;
        let mut redirects = 0u64;
        let mut url = call.url.clone();
        loop {
            let body = match &mut call.body {
                CallBody::Empty => None,
                CallBody::Bytes(b) => Some(reqwest::Body::from(b.clone())),
                CallBody::Once(b) => Some(b.take().ok_or_else(|| {
                    Error::new(
                        ErrorKind::Transport,
                        format!(
                            "{}: the request must be sent again but its body was a stream",
                            call.what
                        ),
                    )
                })?),
            };
            let mut request = self
                .http
                .request(call.method.clone(), url.clone())
                .headers(call.headers.clone());
            let own_host = same_origin(&url, call.registry);
            if own_host
                && let Some(h) = self
                    .auth
                    .prepare(&self.http, &self.config, call.registry, call.scopes)
                    .await
            {
                request = request.header(AUTHORIZATION, h);
            }
            if let Some(b) = body {
                request = request.body(b);
            }
            let started = std::time::Instant::now();
            let outcome = request.send().await;
            let response = match outcome {
                Ok(mut r) => {
                    r.extensions_mut().insert(crate::errors::ErrorBodyLimit(
                        self.config.limits.error_body_bytes,
                    ));
                    r
                }
                Err(e) => {
                    let passing = e.is_connect() || e.is_timeout() || e.is_request();
                    if passing && call.body.resendable() && attempt < retry.max_retries {
                        attempt += 1;
                        let wait = backoff(&self.config, attempt, None);
                        tracing::debug!(what = call.what, attempt, ?wait, error = %e, "retrying after a connection error");
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(transport_after(call.what, e, attempt + 1));
                }
            };
            let status = response.status();
            self.surface_warnings(&response);
            tracing::debug!(
                what = call.what,
                method = %call.method,
                url = %redact(&url),
                status = status.as_u16(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "registry request"
            );

            if status == StatusCode::UNAUTHORIZED && own_host {
                if answered_challenge {
                    self.auth.forget(call.registry, call.scopes);
                    return Err(from_response(call.what, response).await);
                }
                let header = response
                    .headers()
                    .get(WWW_AUTHENTICATE)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned);
                let challenge = match header.as_deref().map(parse_challenge) {
                    Some(Ok(c)) => c,
                    Some(Err(why)) => {
                        return Err(Error::new(
                            ErrorKind::Unauthorized,
                            format!(
                                "{}: the registry's WWW-Authenticate header is malformed: {why}",
                                call.what
                            ),
                        )
                        .with_status(401));
                    }
                    None => return Err(from_response(call.what, response).await),
                };
                if let Challenge::Bearer { error: Some(e), .. } = &challenge {
                    tracing::debug!(what = call.what, error = %e, "bearer challenge");
                }
                self.auth.forget(call.registry, call.scopes);
                self.auth
                    .authenticate(
                        &self.http,
                        &self.config,
                        call.registry,
                        &challenge,
                        call.scopes,
                    )
                    .await
                    .map_err(|e| e.context(call.what))?;
                answered_challenge = true;
                if !call.body.resendable() {
                    return Err(Error::new(
                        ErrorKind::Unauthorized,
                        format!(
                            "{}: the registry asked for authentication in the middle of a streamed upload",
                            call.what
                        ),
                    ));
                }
                continue;
            }

            if is_retryable(status) && call.body.resendable() && attempt < retry.max_retries {
                attempt += 1;
                let wait = backoff(&self.config, attempt, response.headers().get(RETRY_AFTER));
                tracing::debug!(
                    what = call.what,
                    attempt,
                    status = status.as_u16(),
                    ?wait,
                    "retrying"
                );
                tokio::time::sleep(wait).await;
                continue;
            }

            if status.is_redirection()
                && call.follow_redirects
                && matches!(call.method, Method::GET | Method::HEAD)
                && let Some(next) = response
                    .headers()
                    .get(LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .and_then(|l| url.join(l).ok())
            {
                redirects += 1;
                self.config
                    .limits
                    .check("redirects", redirects, call.what)?;
                self.check_redirect(&url, &next, call.what)?;
                if !same_origin(&next, call.registry) {
                    // Nothing of ours goes to another host: no Authorization, no cookies.
                    call.headers.remove(AUTHORIZATION);
                }
                url = next;
                continue;
            }
            return Ok(response);
        }
    }
}

impl Inner {
    /// Hands `Warning: 299 - "text"` headers to the caller's hook and the log.
    fn surface_warnings(&self, response: &Response) {
        for value in response.headers().get_all(reqwest::header::WARNING) {
            let Ok(text) = value.to_str() else { continue };
            if let Some(message) = warning_text(text) {
                tracing::warn!(registry_warning = %message, "registry warning");
                if let Some(hook) = &self.config.on_warning {
                    hook(&message);
                }
            }
        }
    }
}

/// The rule of [`Inner::check_redirect`]. Traffic between two loopback addresses never leaves
/// the machine, so a loopback registry may hand a download to plain-HTTP storage on loopback
/// (a local registry with MinIO or moto beside it) whatever its own scheme.
fn redirect_allowed(config: &ClientConfig, from: &Url, to: &Url) -> bool {
    let host = to.host_str().unwrap_or_default();
    let host_port = match to.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    match (from.scheme(), to.scheme()) {
        (_, "https") | ("http", "http") => true,
        (_, "http") => config.is_plain_http(&host_port) || (is_loopback(from) && is_loopback(to)),
        _ => false,
    }
}

/// True for `localhost` and every address of 127.0.0.0/8 and `::1`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The text of a `299` warning (`299 - "text"`), the only code registries use.
fn warning_text(header: &str) -> Option<String> {
    let rest = header.trim().strip_prefix("299")?.trim_start();
    let rest = rest.strip_prefix('-')?.trim_start();
    let inner = rest.strip_prefix('"')?;
    let end = inner.rfind('"')?;
    Some(inner[..end].replace("\\\"", "\""))
}

fn is_retryable(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 429 | 500 | 502 | 503 | 504)
}

/// Exponential backoff with full jitter, or the server's `Retry-After` (seconds), capped.
fn backoff(config: &ClientConfig, attempt: u32, retry_after: Option<&HeaderValue>) -> Duration {
    let max = config.retry.max_backoff;
    if let Some(secs) = retry_after
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
    {
        return Duration::from_secs(secs).min(max);
    }
    let exp = config
        .retry
        .initial_backoff
        .saturating_mul(1u32 << attempt.min(16))
        .min(max);
    // Full jitter: anywhere in [exp/2, exp]. Randomness from the std hasher's random keys.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempt);
    let frac = (h.finish() % 1000) as u32;
    exp / 2 + exp / 2 * frac / 1000
}

/// The URL without its query, which may carry upload state.
pub(crate) fn redact(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    let _ = u.set_password(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings() {
        assert_eq!(
            warning_text(r#"299 - "this repository is deprecated""#).as_deref(),
            Some("this repository is deprecated")
        );
        assert_eq!(warning_text(r#"199 - "misc""#), None);
        assert_eq!(warning_text("299 - unquoted"), None);
    }

    #[test]
    fn redirects_never_downgrade_https() {
        let inner = |plain: &[&str]| {
            let mut config = ClientConfig::default();
            for p in plain {
                config = config.with_plain_http(*p);
            }
            config
        };
        let check = |config: &ClientConfig, from: &str, to: &str| {
            redirect_allowed(config, &Url::parse(from).unwrap(), &Url::parse(to).unwrap())
        };
        let none = inner(&[]);
        assert!(check(
            &none,
            "https://r.example/v2/",
            "https://s3.example/b?sig=1"
        ));
        assert!(check(
            &none,
            "http://127.0.0.1:5000/v2/",
            "http://127.0.0.1:9000/b"
        ));
        assert!(!check(
            &none,
            "https://r.example/v2/",
            "http://s3.example:8080/b"
        ));
        assert!(!check(&none, "https://r.example/v2/", "ftp://s3.example/b"));
        assert!(check(
            &inner(&["s3.example:8080"]),
            "https://r.example/v2/",
            "http://s3.example:8080/b"
        ));
    }

    #[test]
    fn all_of_127_slash_8_and_ipv6_loopback_are_loopback() {
        for u in [
            "http://127.0.0.1:5000/",
            "http://127.8.9.10/",
            "http://127.255.255.254:1/",
            "http://[::1]:5000/",
            "http://localhost:9000/",
        ] {
            assert!(is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        for u in [
            "http://128.0.0.1/",
            "http://10.0.0.1/",
            "http://[::2]/",
            "http://local.host/",
        ] {
            assert!(!is_loopback(&Url::parse(u).unwrap()), "{u}");
        }
        let config = ClientConfig::default();
        let https = Url::parse("https://127.0.0.1:5000/v2/a/blobs/x").unwrap();
        let storage = Url::parse("http://127.0.0.2:9000/bucket/x").unwrap();
        assert!(redirect_allowed(&config, &https, &storage));
        let remote = Url::parse("http://203.0.113.9:9000/bucket/x").unwrap();
        assert!(!redirect_allowed(&config, &https, &remote));
    }

    #[test]
    fn origins() {
        let u = Url::parse("https://127.0.0.1:5000/v2/x").unwrap();
        assert!(same_origin(&u, "127.0.0.1:5000"));
        assert!(!same_origin(&u, "127.0.0.1:5001"));
        let u = Url::parse("https://registry.example/v2/x").unwrap();
        assert!(same_origin(&u, "registry.example"));
        assert!(!same_origin(&u, "evil.example"));
        let u = Url::parse("http://[::1]:5000/v2/").unwrap();
        assert!(same_origin(&u, "[::1]:5000"));
    }

    #[test]
    fn backoff_grows_and_honours_retry_after() {
        let config = ClientConfig::default();
        let first = backoff(&config, 1, None);
        let later = backoff(&config, 5, None);
        assert!(first <= Duration::from_millis(400) && first >= Duration::from_millis(200));
        assert!(later >= first);
        assert!(backoff(&config, 30, None) <= config.retry.max_backoff);
        let ra = HeaderValue::from_static("3");
        assert_eq!(backoff(&config, 1, Some(&ra)), Duration::from_secs(3));
        let huge = HeaderValue::from_static("99999");
        assert_eq!(backoff(&config, 1, Some(&huge)), config.retry.max_backoff);
    }
}
