//! Test support: Debian's `docker-registry` (the distribution registry 2.8) on loopback, in the
//! configurations users meet: anonymous, htpasswd Basic auth, Bearer tokens from a token server
//! of our own, and TLS with a test CA.
//!
//! Each shared instance starts once per test binary, on a free port with a temporary storage
//! folder and deletes enabled. A watchdog shell ends the registry and removes its folder when the
//! test process exits, however it exits. A missing `docker-registry` fails loudly, saying how to
//! install it.

mod pki;
mod token;

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub use pki::{Issued, TestCa};
pub use token::{Failure, Grant, TokenServer};

/// The users of the Basic and token configurations: name and password.
pub const USERS: &[(&str, &str)] = &[("alice", "alice-secret-pw"), ("bob", "bob-secret-pw")];

/// How a registry authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Auth {
    /// Anyone may do anything.
    Anonymous,
    /// htpasswd Basic auth: any listed user may do anything.
    Basic,
    /// Bearer tokens from the harness's token server, granted by [`default_policy`].
    Token,
}

/// What to start.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Authentication.
    pub auth: Auth,
    /// Serve HTTPS with a certificate from the test CA.
    pub tls: bool,
    /// With TLS, require client certificates signed by the test CA.
    pub client_certs: bool,
}

impl Config {
    /// Anonymous, plain HTTP.
    pub fn new(auth: Auth) -> Config {
        Config {
            auth,
            tls: false,
            client_certs: false,
        }
    }

    /// Serves HTTPS and requires a client certificate from the test CA.
    pub fn with_client_certs(mut self) -> Config {
        self.tls = true;
        self.client_certs = true;
        self
    }

    /// Serves HTTPS.
    pub fn with_tls(mut self) -> Config {
        self.tls = true;
        self
    }
}

/// The token server's grants: `alice` pushes and pulls `alice/*`, `conformance/*` and
/// `public/*` and pulls `shared/*`; `bob` pushes and pulls `bob/*` and pulls `shared/*`; anyone pulls `public/*`.
pub fn default_policy() -> HashMap<String, Vec<Grant>> {
    HashMap::from([
        (
            "alice".to_string(),
            vec![
                Grant::new("alice/*", "pull,push,delete"),
                Grant::new("conformance/*", "pull,push,delete"),
                Grant::new("shared/*", "pull"),
                Grant::new("public/*", "pull,push"),
                Grant::new("catalog", "*"),
            ],
        ),
        (
            "bob".to_string(),
            vec![
                Grant::new("bob/*", "pull,push,delete"),
                Grant::new("shared/*", "pull"),
            ],
        ),
        (String::new(), vec![Grant::new("public/*", "pull")]),
    ])
}

/// A running registry.
#[derive(Debug)]
pub struct Registry {
    host: String,
    tls: bool,
    dir: PathBuf,
    ca_pem: String,
    token: Option<TokenServer>,
    watchdog: std::sync::Mutex<std::process::Child>,
}

impl Drop for Registry {
    /// Ends a registry started with [`Registry::start`] when its owner drops it (the shared ones
    /// live until the test process exits, when their watchdog ends them).
    fn drop(&mut self) {
        let mut child = self.watchdog.lock().unwrap_or_else(|e| e.into_inner());
        // SIGTERM runs the watchdog's trap, which stops the registry too.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let _ = child.wait();
    }
}

fn test_ca() -> &'static TestCa {
    static CA: OnceLock<TestCa> = OnceLock::new();
    CA.get_or_init(TestCa::new)
}

impl Registry {
    /// The shared anonymous registry of this test binary.
    pub fn anonymous() -> &'static Registry {
        static R: OnceLock<Registry> = OnceLock::new();
        R.get_or_init(|| Registry::start(Config::new(Auth::Anonymous)))
    }

    /// The shared Basic-auth registry.
    pub fn basic_auth() -> &'static Registry {
        static R: OnceLock<Registry> = OnceLock::new();
        R.get_or_init(|| Registry::start(Config::new(Auth::Basic)))
    }

    /// The shared token-auth registry.
    pub fn token_auth() -> &'static Registry {
        static R: OnceLock<Registry> = OnceLock::new();
        R.get_or_init(|| Registry::start(Config::new(Auth::Token)))
    }

    /// The shared TLS registry (anonymous).
    pub fn tls() -> &'static Registry {
        static R: OnceLock<Registry> = OnceLock::new();
        R.get_or_init(|| Registry::start(Config::new(Auth::Anonymous).with_tls()))
    }

    /// Starts a registry of its own for a test that needs isolation.
    ///
    /// # Panics
    ///
    /// When `docker-registry` is not installed (saying how to install it), or does not answer
    /// within 20 seconds (with its output).
    pub fn start(config: Config) -> Registry {
        let binary = find_binary();
        let dir = std::env::temp_dir().join(format!(
            "oci-test-registry-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ));
        std::fs::create_dir_all(dir.join("data")).expect("create the registry folder");
        let ca = test_ca();
        std::fs::write(dir.join("ca.pem"), &ca.cert_pem).expect("write the CA");
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let mut yaml = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n  secret: oci-test-registry-secret\n",
            dir.join("data").display()
        );
        if config.tls {
            let cert = ca.issue("oci-test-registry", &["127.0.0.1", "localhost", "::1"]);
            std::fs::write(dir.join("server.pem"), &cert.cert_pem).expect("write the certificate");
            std::fs::write(dir.join("server.key"), &cert.key_pem).expect("write the key");
            yaml.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                dir.join("server.pem").display(),
                dir.join("server.key").display()
            ));
            if config.client_certs {
                yaml.push_str(&format!(
                    "    clientcas:\n      - {}\n",
                    dir.join("ca.pem").display()
                ));
            }
        }
        let mut token = None;
        match config.auth {
            Auth::Anonymous => {}
            Auth::Basic => {
                let lines: Vec<String> = USERS
                    .iter()
                    .map(|(u, p)| format!("{u}:{}", bcrypt::hash(p, 4).expect("bcrypt")))
                    .collect();
                std::fs::write(dir.join("htpasswd"), lines.join("\n") + "\n")
                    .expect("write htpasswd");
                yaml.push_str(&format!(
                    "auth:\n  htpasswd:\n    realm: oci-test-registry\n    path: {}\n",
                    dir.join("htpasswd").display()
                ));
            }
            Auth::Token => {
                let signer = ca.issue("oci-test-token-signer", &["token-signer.invalid"]);
                let server = TokenServer::start(
                    signer,
                    "oci-test-registry",
                    "oci-test-token-server",
                    USERS,
                    default_policy(),
                );
                yaml.push_str(&format!(
                    "auth:\n  token:\n    realm: {}\n    service: {}\n    issuer: oci-test-token-server\n    rootcertbundle: {}\n",
                    server.realm(),
                    server.service(),
                    dir.join("ca.pem").display()
                ));
                token = Some(server);
            }
        }
        std::fs::write(dir.join("config.yml"), yaml).expect("write the registry config");
        let watchdog = spawn_with_watchdog(&binary, &dir);
        wait_until_listening(&host, &dir);
        Registry {
            host,
            tls: config.tls,
            dir,
            ca_pem: ca.cert_pem.clone(),
            token,
            watchdog: std::sync::Mutex::new(watchdog),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `http://127.0.0.1:PORT` or `https://…`.
    pub fn base_url(&self) -> String {
        format!(
            "{}://{}",
            if self.tls { "https" } else { "http" },
            self.host
        )
    }

    /// True for an HTTPS registry.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The test CA's certificate (PEM), which signed the TLS certificate and the token signer.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A client certificate and key from the test CA, in one PEM, for registries that require
    /// client certificates.
    pub fn client_identity_pem(&self) -> String {
        let issued = test_ca().issue("oci-test-client", &["client.invalid"]);
        format!("{}{}", issued.cert_pem, issued.key_pem)
    }

    /// The users that may authenticate.
    pub fn users(&self) -> &'static [(&'static str, &'static str)] {
        USERS
    }

    /// The token server, for a token-auth registry.
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token.as_ref()
    }

    /// The registry's storage folder.
    pub fn storage_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Where the registry keeps the bytes of blob `algorithm:encoded`.
    pub fn blob_path(&self, algorithm: &str, encoded: &str) -> PathBuf {
        self.storage_dir()
            .join("docker/registry/v2/blobs")
            .join(algorithm)
            .join(&encoded[..2.min(encoded.len())])
            .join(encoded)
            .join("data")
    }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn find_binary() -> PathBuf {
    for dir in std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
    {
        let candidate = dir.join("docker-registry");
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "docker-registry not found: install it with `apt-get install docker-registry` (./scripts/setup does)"
    );
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("address").port()
}

/// Runs the registry under a shell that ends it, and removes its folder, once this process is
/// gone, so no registry outlives the tests whatever way they end.
fn spawn_with_watchdog(binary: &Path, dir: &Path) -> std::process::Child {
    let script = r#"
"$1" serve "$2/config.yml" > "$2/registry.log" 2>&1 &
child=$!
trap 'kill $child 2>/dev/null; wait $child 2>/dev/null; rm -rf "$2"; exit 0' TERM INT
while kill -0 "$3" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
kill "$child" 2>/dev/null
wait "$child" 2>/dev/null
rm -rf "$2"
"#;
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("watchdog")
        .arg(binary)
        .arg(dir)
        .arg(std::process::id().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the registry")
}

fn wait_until_listening(host: &str, dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(host).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(dir.join("registry.log")).unwrap_or_default();
    panic!("docker-registry did not listen on {host} within 20 s; its output:\n{log}");
}
