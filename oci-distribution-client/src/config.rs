//! Options of the registry client.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use derive_setters::Setters;
use oci_target::Limits;

use crate::auth::{Anonymous, CredentialProvider};

/// Receives the text of registry warnings.
pub type WarningHook = Arc<dyn Fn(&str) + Send + Sync>;

/// How requests that failed for a passing reason are tried again.
///
/// Retried: 408, 429, 5xx and connection errors, for requests whose body can be sent again.
/// Waits grow exponentially from `initial_backoff` to `max_backoff`, with full jitter, and honour
/// a `Retry-After` header up to `max_backoff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Tries after the first. Default 4.
    pub max_retries: u32,
    /// The first wait. Default 200 ms.
    #[setters(skip)]
    pub initial_backoff: Duration,
    /// The longest wait. Default 10 s.
    #[setters(skip)]
    pub max_backoff: Duration,
    /// The longest one request may take until its answer's headers arrive, every retry, wait,
    /// challenge and redirect included; zero for none. Default 10 minutes. Requests whose body
    /// is a stream (uploads of unknown length) are bounded by the read timeout instead.
    pub deadline: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            deadline: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets the backoff bounds.
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }
}

/// Options of a [`Client`](crate::Client).
///
/// Plain HTTP is used only for hosts listed in `plain_http`, loopback included: a registry on
/// `localhost` gets HTTPS unless the caller says otherwise, so credentials never travel in clear
/// text by accident.
#[derive(Clone, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct ClientConfig {
    /// Sent as `User-Agent`.
    #[setters(into)]
    pub user_agent: String,
    /// Hosts (`host` or `host:port`) spoken to over plain HTTP.
    #[setters(skip)]
    pub plain_http: Vec<String>,
    /// Skip TLS certificate verification (for test registries only).
    pub tls_skip_verify: bool,
    /// Extra root certificates, PEM.
    #[setters(skip)]
    pub ca_certs_pem: Vec<Vec<u8>>,
    /// A client certificate and key, PEM, for registries that ask for one.
    #[setters(into, strip_option)]
    pub client_identity_pem: Option<Vec<u8>>,
    /// Time to connect. Default 15 s.
    #[setters(skip)]
    pub connect_timeout: Duration,
    /// Longest wait for any read on a connection. Default 60 s.
    #[setters(skip)]
    pub read_timeout: Duration,
    /// Retries.
    pub retry: RetryPolicy,
    /// Where credentials come from.
    #[setters(skip)]
    pub credentials: Arc<dyn CredentialProvider>,
    /// Caps on what is read from registries and token servers (see [`Limits`]): manifest,
    /// token, error-body and listing sizes, redirects, upload recoveries.
    pub limits: Limits,
    /// Blobs up to this size are buffered and uploaded in one PUT that can be retried; larger
    /// ones stream. Default 8 MiB.
    pub buffered_upload_max: u64,
    /// Upload blobs in PATCH chunks of this size instead of one streaming PUT. Default none.
    #[setters(skip)]
    pub chunk_size: Option<u64>,
    /// Download large blobs over several connections when the registry serves ranges. Default
    /// none (one connection).
    #[setters(strip_option)]
    pub parallel_download: Option<crate::ParallelDownload>,
    /// Called with the text of each `Warning: 299` header a registry sends (deprecations,
    /// policy notices). They are also logged at warn level.
    #[setters(skip)]
    pub on_warning: Option<WarningHook>,
    /// Single `POST ?digest=` uploads of small blobs (distribution-spec "monolithic POST"): one
    /// request instead of two. `None` (the default): tried once per registry, and used from then
    /// on where the registry stored the blob (201), not where it opened an upload session
    /// instead (202, which the upload then goes on with). `Some(true)`: always tried;
    /// `Some(false)`: never.
    #[setters(strip_option)]
    pub single_post_upload: Option<bool>,
    /// Send every request through this proxy (`http://host:port`). Without it, the standard
    /// `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY` variables apply.
    #[setters(into, strip_option)]
    pub proxy: Option<String>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            user_agent: concat!("oci-distribution-client/", env!("CARGO_PKG_VERSION")).into(),
            plain_http: Vec::new(),
            tls_skip_verify: false,
            ca_certs_pem: Vec::new(),
            client_identity_pem: None,
            connect_timeout: Duration::from_secs(15),
            read_timeout: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            credentials: Arc::new(Anonymous),
            limits: Limits::default(),
            buffered_upload_max: 8 << 20,
            chunk_size: None,
            parallel_download: None,
            on_warning: None,
            single_post_upload: None,
            proxy: None,
        }
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("user_agent", &self.user_agent)
            .field("plain_http", &self.plain_http)
            .field("tls_skip_verify", &self.tls_skip_verify)
            .field("ca_certs", &self.ca_certs_pem.len())
            .field("client_identity", &self.client_identity_pem.is_some())
            .field("connect_timeout", &self.connect_timeout)
            .field("read_timeout", &self.read_timeout)
            .field("retry", &self.retry)
            .field("credentials", &self.credentials)
            .field("limits", &self.limits)
            .field("buffered_upload_max", &self.buffered_upload_max)
            .field("chunk_size", &self.chunk_size)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Speaks plain HTTP to `host` (`host` or `host:port`).
    pub fn with_plain_http(mut self, host: impl Into<String>) -> Self {
        self.plain_http.push(host.into());
        self
    }

    /// Speaks plain HTTP to every host: for a test set-up where nothing is served over TLS.
    /// Credentials then travel in clear text: never use it beyond loopback or a closed network.
    pub fn with_plain_http_all(mut self) -> Self {
        self.plain_http.push("*".into());
        self
    }

    /// Sets where credentials come from.
    pub fn with_credentials(mut self, provider: impl CredentialProvider + 'static) -> Self {
        self.credentials = Arc::new(provider);
        self
    }

    /// Adds a root certificate (PEM).
    pub fn with_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_certs_pem.push(pem.into());
        self
    }

    /// Sets the timeouts.
    pub fn with_timeouts(mut self, connect: Duration, read: Duration) -> Self {
        self.connect_timeout = connect;
        self.read_timeout = read;
        self
    }

    /// Uploads in PATCH chunks of `bytes`.
    pub fn with_chunk_size(mut self, bytes: u64) -> Self {
        self.chunk_size = Some(bytes.max(1));
        self
    }

    /// Sets the hook that receives registry warnings.
    pub fn with_on_warning(mut self, hook: impl Fn(&str) + Send + Sync + 'static) -> Self {
        self.on_warning = Some(Arc::new(hook));
        self
    }

    /// Sets the `manifest-bytes` limit.
    pub fn with_max_manifest_bytes(mut self, bytes: u64) -> Self {
        self.limits.manifest_bytes = bytes;
        self
    }

    /// Sets the `listing-pages` limit.
    pub fn with_max_pages(mut self, pages: u64) -> Self {
        self.limits.listing_pages = pages.max(1);
        self
    }

    pub(crate) fn is_plain_http(&self, registry: &str) -> bool {
        let host = registry.rsplit_once(':').map_or(registry, |(h, _)| h);
        self.plain_http
            .iter()
            .any(|h| h == "*" || h == registry || h == host)
    }
}
