//! The client: one HTTP connection pool, one credential store, many repositories.

use std::sync::Arc;

use reqwest::Method;

use crate::auth::{Auth, Scopes};
use crate::config::ClientConfig;
use crate::errors::from_response;
use crate::http::{Call, Inner};
use crate::listing::paginate;
use crate::repository::{Repository, check_repository_name};
use oci_target::{Error, ErrorKind, Result};

/// A registry client. Cheap to clone; clones share connections and cached tokens.
///
/// ```no_run
/// # async fn demo() -> oci_target::Result<()> {
/// use oci_distribution_client::{Client, ClientConfig};
/// use oci_target::ReadOnlyTarget;
///
/// let client = Client::new(ClientConfig::default().with_plain_http("localhost:5000"))?;
/// let repo = client.repository("localhost:5000", "library/alpine")?;
/// let desc = repo.resolve("latest").await?;
/// println!("{}", desc.digest);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl Client {
    /// A client with `config`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Transport`] when a certificate or key in the config cannot be read.
    pub fn new(config: ClientConfig) -> Result<Self> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .pool_idle_timeout(std::time::Duration::from_secs(90))
            .tcp_nodelay(true);
        builder = with_tls(builder, &config)?;
        if let Some(proxy) = &config.proxy {
            let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(|e| {
                Error::new(
                    ErrorKind::Transport,
                    format!("the proxy {proxy:?} cannot be used: {e}"),
                )
            })?;
            builder = builder.proxy(proxy);
        }
        let http = builder.build().map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("cannot build the HTTP client: {e}"),
            )
        })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                auth: Auth::new(&config),
                referrers: Default::default(),
                single_post: Default::default(),
                config,
            }),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A repository of `registry` (`host[:port]`; `docker.io` is reached at its API host).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidReference`] when `name` breaks the repository-name grammar.
    pub fn repository(&self, registry: &str, name: &str) -> Result<Repository> {
        check_repository_name(name)?;
        Ok(Repository::new(
            self.inner.clone(),
            api_host(registry),
            name,
        ))
    }

    /// The repository a reference names (its tag or digest is the caller's to use).
    ///
    /// # Errors
    ///
    /// As [`repository`](Self::repository).
    pub fn repository_for(&self, reference: &oci_spec_types::Reference) -> Result<Repository> {
        self.repository(reference.registry(), reference.repository())
    }

    /// Checks that `registry` speaks the distribution API and that the credentials work
    /// (`GET /v2/`).
    pub async fn ping(&self, registry: &str) -> Result<()> {
        let (what, response) = self.get_v2("ping", registry).await?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(from_response(&what, response).await)
        }
    }

    /// Checks `credential` against `registry` and, if the registry accepts it, stores it in
    /// `store` (its helper or its file), as `docker login` does.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unauthorized`] when the registry refuses the credential (nothing is stored);
    /// errors of the store.
    pub async fn login(
        &self,
        registry: &str,
        credential: crate::auth::Credential,
        store: &mut crate::auth::DockerConfig,
    ) -> Result<()> {
        let config = ClientConfig {
            credentials: Arc::new(
                crate::auth::StaticCredentials::new().with(api_host(registry), credential.clone()),
            ),
            ..self.inner.config.clone()
        };
        Client::new(config)?.ping(registry).await?;
        store.login(registry, &credential).await
    }

    /// The HTTP version the registry's `/v2/` endpoint answers with (`HTTP/2.0` where it offers
    /// HTTP/2 over TLS, else `HTTP/1.1`), whatever the status.
    pub async fn http_version(&self, registry: &str) -> Result<String> {
        let (_, response) = self.get_v2("probe", registry).await?;
        Ok(format!("{:?}", response.version()))
    }

    /// `GET /v2/` of `registry`, for `verb`: what was asked (for messages) and the answer.
    async fn get_v2(&self, verb: &str, registry: &str) -> Result<(String, reqwest::Response)> {
        let registry = api_host(registry);
        let url = self.inner.api_base(&registry)?;
        let what = format!("{verb} {registry}");
        let scopes = Scopes::none();
        let call = Call::new(&what, &registry, &scopes, Method::GET, url);
        let response = self.inner.send(call).await?;
        Ok((what, response))
    }

    /// Every repository of `registry` (`GET /v2/_catalog`, following pages).
    pub async fn catalog(&self, registry: &str) -> Result<Vec<String>> {
        let registry = api_host(registry);
        let mut url = self
            .inner
            .api_base(&registry)?
            .join("_catalog")
            .map_err(bad_url)?;
        url.set_query(Some("n=1000"));
        let mut scopes = Scopes::none();
        scopes.add("registry:catalog:*");
        let what = format!("list repositories of {registry}");
        let pages: Vec<oci_spec_types::distribution::Catalog> = paginate(
            &self.inner,
            &what,
            &registry,
            &scopes,
            url,
            |p: &oci_spec_types::distribution::Catalog| p.repositories.len(),
        )
        .await?;
        Ok(pages.into_iter().flat_map(|p| p.repositories).collect())
    }
}

/// The caller's certificates, client identity and verification choice.
#[cfg(any(feature = "tls-ring", feature = "tls-aws-lc-rs"))]
fn with_tls(
    mut builder: reqwest::ClientBuilder,
    config: &ClientConfig,
) -> Result<reqwest::ClientBuilder> {
    for pem in &config.ca_certs_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("a CA certificate cannot be read: {e}"),
            )
        })?;
        for c in certs {
            builder = builder.add_root_certificate(c);
        }
    }
    if let Some(pem) = &config.client_identity_pem {
        let identity = reqwest::Identity::from_pem(pem).map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("the client certificate cannot be read: {e}"),
            )
        })?;
        builder = builder.identity(identity);
    }
    if config.tls_skip_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

/// Built without TLS: any TLS setting is a mistake worth saying.
#[cfg(not(any(feature = "tls-ring", feature = "tls-aws-lc-rs")))]
fn with_tls(
    builder: reqwest::ClientBuilder,
    config: &ClientConfig,
) -> Result<reqwest::ClientBuilder> {
    if !config.ca_certs_pem.is_empty()
        || config.client_identity_pem.is_some()
        || config.tls_skip_verify
    {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "TLS settings were given, but this build has no TLS (enable the tls-ring or \
             tls-aws-lc-rs feature of oci-distribution-client)",
        ));
    }
    Ok(builder)
}

/// With `tls-ring` alone, rustls has no provider of its own choosing: install ring as the
/// process default, unless the program installed one already (its choice stands).
fn install_crypto_provider() {
    #[cfg(all(feature = "tls-ring", not(feature = "tls-aws-lc-rs")))]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// The host that serves a registry's API (Docker Hub's is another than its name).
pub(crate) fn api_host(registry: &str) -> String {
    oci_spec_types::distribution::api_host(registry).to_owned()
}

pub(crate) fn bad_url(e: url::ParseError) -> Error {
    Error::new(
        ErrorKind::InvalidReference,
        format!("cannot build a registry URL: {e}"),
    )
}
