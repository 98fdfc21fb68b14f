//! Sending one registry request: authentication, retries and redirects.
//!
//! Every request goes through [`Inner::send`]: it adds the credential the registry is known to
//! want, answers a 401 challenge once, retries passing failures with backoff when the body can be
//! sent again, and follows redirects itself so that `Authorization` is never sent to another host.

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
    /// Per registry: whether a single-POST upload stored the blob (found by the first one).
    pub(crate) single_post: std::sync::Mutex<std::collections::HashMap<String, bool>>,
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

    pub(crate) fn header(
        mut self,
        name: reqwest::header::HeaderName,
        value: impl AsRef<str>,
    ) -> Self {
        if let Ok(v) = HeaderValue::from_str(value.as_ref()) {
            self.headers.insert(name, v);
        }
        self
    }

    pub(crate) fn body(mut self, body: CallBody) -> Self {
        self.body = body;
        self
    }

    /// No body, said with `Content-Length: 0` (a POST or PUT some registries refuse without it).
    pub(crate) fn empty_body(self) -> Self {
        self.header(reqwest::header::CONTENT_LENGTH, "0")
    }

    /// Bytes in memory as the body, with their `Content-Length`.
    pub(crate) fn bytes(self, body: Bytes) -> Self {
        self.header(reqwest::header::CONTENT_LENGTH, body.len().to_string())
            .body(CallBody::Bytes(body))
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
    ///
    /// Each turn of the loop is one step after another: [`authorise`](Self::authorise) builds
    /// the request with the credential the registry wants, [`dispatch`](Self::dispatch) sends
    /// it, [`classify`] says what the answer calls for, and the challenge, retry and redirect
    /// steps act on it. The whole of it runs within the retry policy's deadline, unless the body
    /// is a stream (then its progress is bounded by the read timeout instead).
    pub(crate) async fn send(&self, call: Call<'_>) -> Result<Response> {
        let deadline = self.config.retry.deadline;
        if deadline.is_zero() || !call.body.resendable() {
            return self.send_steps(call, None).await;
        }
        let what = call.what;
        let until = tokio::time::Instant::now() + deadline;
        match tokio::time::timeout_at(until, self.send_steps(call, Some(until))).await {
            Ok(result) => result,
            Err(_) => Err(Error::new(
                ErrorKind::Cancelled,
                format!(
                    "{what}: not answered within the deadline of {} s (retries, challenges and                      redirects included; raise it with RetryPolicy::with_deadline)",
                    deadline.as_secs_f64()
                ),
            )),
        }
    }

    async fn send_steps(
        &self,
        mut call: Call<'_>,
        until: Option<tokio::time::Instant>,
    ) -> Result<Response> {
        let mut state = Progress {
            url: call.url.clone(),
            attempt: 0,
            answered_challenge: false,
            redirects: 0,
        };
        loop {
            let request = self.authorise(&mut call, &state.url).await?;
            let response = match self.dispatch(&call, &state, request).await {
                Ok(r) => r,
                Err(e) => {
                    let passing = e.is_connect() || e.is_timeout() || e.is_request();
                    if passing && self.may_retry(&call, &state) {
                        let wait = backoff(&self.config, state.attempt + 1, None);
                        tracing::debug!(what = call.what, attempt = state.attempt + 1, ?wait, error = %e, "retrying after a connection error");
                        self.wait(&mut state, wait, until).await;
                        continue;
                    }
                    return Err(transport_after(call.what, e, state.attempt + 1));
                }
            };
            match classify(&call, &state, &response) {
                Next::Challenge => {
                    self.answer_challenge(&call, &mut state, response).await?;
                }
                Next::Retry if self.may_retry(&call, &state) => {
                    let wait = backoff(
                        &self.config,
                        state.attempt + 1,
                        response.headers().get(RETRY_AFTER),
                    );
                    tracing::debug!(
                        what = call.what,
                        attempt = state.attempt + 1,
                        status = response.status().as_u16(),
                        ?wait,
                        "retrying"
                    );
                    self.wait(&mut state, wait, until).await;
                }
                Next::Redirect(next) => self.follow(&mut call, &mut state, next)?,
                Next::Retry | Next::Done => return Ok(response),
            }
        }
    }

    /// Step 1: the request for this turn, with the registry's credential when it goes to the
    /// registry's own origin. A streamed body can be taken only once.
    async fn authorise(&self, call: &mut Call<'_>, url: &Url) -> Result<reqwest::RequestBuilder> {
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
        if same_origin(url, call.registry)
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
        Ok(request)
    }

    /// Step 2: sends it; the answer carries the error-body limit and its warnings are surfaced.
    async fn dispatch(
        &self,
        call: &Call<'_>,
        state: &Progress,
        request: reqwest::RequestBuilder,
    ) -> std::result::Result<Response, reqwest::Error> {
        let started = std::time::Instant::now();
        let mut response = request.send().await?;
        response
            .extensions_mut()
            .insert(crate::errors::ErrorBodyLimit(
                self.config.limits.error_body_bytes,
            ));
        self.surface_warnings(&response);
        tracing::debug!(
            what = call.what,
            method = %call.method,
            url = %redact(&state.url),
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "registry request"
        );
        Ok(response)
    }

    /// Step 3a: a 401 from the registry. Answered once: the credential the challenge asks for
    /// is fetched, and the request goes again; a second 401 is the caller's error.
    async fn answer_challenge(
        &self,
        call: &Call<'_>,
        state: &mut Progress,
        response: Response,
    ) -> Result<()> {
        if state.answered_challenge {
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
        state.answered_challenge = true;
        if !call.body.resendable() {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                format!(
                    "{}: the registry asked for authentication in the middle of a streamed upload",
                    call.what
                ),
            ));
        }
        Ok(())
    }

    /// May the request go again? Only with a body that can be resent, within the policy.
    fn may_retry(&self, call: &Call<'_>, state: &Progress) -> bool {
        call.body.resendable() && state.attempt < self.config.retry.max_retries
    }

    /// Step 3b: waits before the next try, never past the deadline.
    async fn wait(
        &self,
        state: &mut Progress,
        wait: Duration,
        until: Option<tokio::time::Instant>,
    ) {
        state.attempt += 1;
        let wake = tokio::time::Instant::now() + wait;
        tokio::time::sleep_until(until.map_or(wake, |u| wake.min(u))).await;
    }

    /// Step 3c: a redirect the call follows, checked against the redirect limit and the
    /// downgrade rule; `Authorization` never goes to another origin.
    fn follow(&self, call: &mut Call<'_>, state: &mut Progress, next: Url) -> Result<()> {
        state.redirects += 1;
        self.config
            .limits
            .check("redirects", state.redirects, call.what)?;
        self.check_redirect(&state.url, &next, call.what)?;
        if !same_origin(&next, call.registry) {
            call.headers.remove(AUTHORIZATION);
        }
        state.url = next;
        Ok(())
    }
}

/// Where one call stands across its turns.
struct Progress {
    /// Where the next request goes (the call's URL, or where a redirect led).
    url: Url,
    /// Retries made so far.
    attempt: u32,
    answered_challenge: bool,
    redirects: u64,
}

/// What an answer calls for.
#[derive(Debug, PartialEq)]
enum Next {
    /// A 401 from the registry's own origin: authenticate.
    Challenge,
    /// A passing failure (408, 429, 5xx but 501): try again if the policy allows.
    Retry,
    /// A redirect to follow.
    Redirect(Url),
    /// The answer to hand back.
    Done,
}

/// Step 3: what `response` to `call` means, without acting on it.
fn classify(call: &Call<'_>, state: &Progress, response: &Response) -> Next {
    let status = response.status();
    if status == StatusCode::UNAUTHORIZED && same_origin(&state.url, call.registry) {
        return Next::Challenge;
    }
    if is_retryable(status) {
        return Next::Retry;
    }
    if status.is_redirection()
        && call.follow_redirects
        && matches!(call.method, Method::GET | Method::HEAD)
        && let Some(next) = response
            .headers()
            .get(LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| state.url.join(l).ok())
    {
        return Next::Redirect(next);
    }
    Next::Done
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

/// Exponential backoff with jitter (anywhere in `[exp/2, exp]`), or the server's
/// `Retry-After` (seconds or an HTTP date), capped at the policy's longest wait.
fn backoff(config: &ClientConfig, attempt: u32, retry_after: Option<&HeaderValue>) -> Duration {
    let max = config.retry.max_backoff;
    if let Some(wait) = retry_after.and_then(retry_after_wait) {
        return wait.min(max);
    }
    let exp = config
        .retry
        .initial_backoff
        .saturating_mul(1u32 << attempt.min(16))
        .min(max);
    exp / 2 + exp.mul_f64(fastrand::f64() / 2.0)
}

/// A `Retry-After` value as a wait from now: delay-seconds, or an HTTP date (a date already
/// past means no wait).
fn retry_after_wait(value: &HeaderValue) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(
        at.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
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
        let soon = std::time::SystemTime::now() + Duration::from_secs(5);
        let date = HeaderValue::from_str(&httpdate::fmt_http_date(soon)).unwrap();
        let wait = backoff(&config, 1, Some(&date));
        assert!(
            wait > Duration::from_secs(3) && wait <= Duration::from_secs(5),
            "{wait:?}"
        );
        let past = HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT");
        assert_eq!(backoff(&config, 1, Some(&past)), Duration::ZERO);
        let junk = HeaderValue::from_static("soon");
        assert!(backoff(&config, 1, Some(&junk)) <= Duration::from_millis(400));
    }
}
