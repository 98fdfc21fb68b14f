//! Test support: Debian's `docker-registry` (the distribution registry 2.8) on loopback, in the
//! configurations users meet: anonymous, htpasswd Basic auth, Bearer tokens from a token server
//! of our own, and TLS with a test CA.
//!
//! Each shared instance starts once per test binary, on a free port with a temporary storage
//! folder and deletes enabled. A watchdog shell ends the registry and removes its folder when the
//! test process exits, however it exits. A missing `docker-registry` fails loudly, saying how to
//! install it.

pub mod content;
mod faults;
mod pki;
mod token;

use std::collections::HashMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub mod tools;

pub use faults::{FaultCounts, FaultPlan, FaultProxy};
pub use pki::{Issued, TestCa};
pub use token::{Failure, Grant, TokenServer};

/// The users of the Basic and token configurations: name and password.
pub const USERS: &[(&str, &str)] = &[("alice", "alice-secret-pw"), ("bob", "bob-secret-pw")];

/// The peer registries `$OCI_PEERS_DIR` may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Peer {
    /// distribution v3.1.1 (`registry-v3`): the current CNCF registry, Link-paginated tags.
    RegistryV3,
    /// olareg (`olareg`): the OCI 1.1 referrers API, single-POST uploads, tag pagination.
    Olareg,
}

impl Peer {
    fn binary(self) -> &'static str {
        match self {
            Peer::RegistryV3 => "registry-v3",
            Peer::Olareg => "olareg",
        }
    }
}

/// The log level of a distribution registry: `info` logs a line per request with the time its
/// handler took (`http.response.duration`), `error` only what goes wrong.
fn log_level(request_log: bool) -> &'static str {
    if request_log { "info" } else { "error" }
}

/// The folder for a registry's files (its storage among them): a new one under `parent`, or
/// under the system's temporary folder.
fn registry_dir(parent: Option<&Path>, name: &str) -> PathBuf {
    parent
        .map_or_else(std::env::temp_dir, Path::to_path_buf)
        .join(format!(
            "{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        ))
}

/// Starts a peer, or says in one line why it does not run. Of `config`, only `request_log`
/// and `storage_parent` apply.
fn start_peer(peer: Peer, config: &Config) -> Option<Registry> {
    use std::io::Write;
    let name = peer.binary();
    let binary = match std::env::var_os("OCI_PEERS_DIR") {
        Some(dir) => PathBuf::from(dir).join(name),
        None => {
            let _ = writeln!(
                std::io::stderr(),
                "peer {name} not run: OCI_PEERS_DIR is not set (.ci/run sets it)"
            );
            return None;
        }
    };
    if !binary.is_file() {
        let _ = writeln!(
            std::io::stderr(),
            "peer {name} not run: {} is absent",
            binary.display()
        );
        return None;
    }
    let dir = registry_dir(
        config.storage_parent.as_deref(),
        &format!("oci-test-peer-{name}"),
    );
    std::fs::create_dir_all(dir.join("data")).expect("create the peer's folder");
    let host = format!("127.0.0.1:{}", free_port());
    let data = dir.join("data");
    let config_file = dir.join("config.yml");
    let args: Vec<&std::ffi::OsStr> = match peer {
        Peer::RegistryV3 => {
            std::fs::write(
                &config_file,
                format!(
                    "version: 0.1\nlog:\n  level: {}\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {host}\n  secret: oci-test-registry-secret\n",
                    log_level(config.request_log),
                    data.display()
                ),
            )
            .expect("write the peer's config");
            vec![
                binary.as_os_str(),
                "serve".as_ref(),
                config_file.as_os_str(),
            ]
        }
        Peer::Olareg => vec![binary.as_os_str(), host.as_ref(), data.as_os_str()],
    };
    let watchdog = spawn_with_watchdog(&dir, "registry.log", &args);
    wait_until_listening(&host, &dir.join("registry.log"), name);
    Some(Registry {
        host,
        tls: false,
        dir,
        ca_pem: test_ca().cert_pem.clone(),
        token: None,
        s3: None,
        watchdog: std::sync::Mutex::new(watchdog),
    })
}

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
    /// Keep blobs in S3 (a local `moto_server`) instead of a folder: every blob GET is then a
    /// 307 redirect to a presigned URL on the S3 endpoint's port, as registries run at scale.
    pub s3: bool,
    /// With `s3`, a fault proxy between the registry (and its presigned URLs) and the S3
    /// endpoint, breaking things on this plan.
    pub s3_faults: Option<FaultPlan>,
    /// Log every request with the time its handler took (level `info`), in
    /// [`Registry::log_path`].
    pub request_log: bool,
    /// Where the registry's folder (its storage among them) goes: the system's temporary
    /// folder when `None`.
    pub storage_parent: Option<PathBuf>,
}

impl Config {
    /// Anonymous, plain HTTP.
    pub fn new(auth: Auth) -> Config {
        Config {
            auth,
            tls: false,
            client_certs: false,
            s3: false,
            s3_faults: None,
            request_log: false,
            storage_parent: None,
        }
    }

    /// Keeps the registry's folder, its storage among them, under `parent` (a memory-backed
    /// filesystem, say, to take the disk out of what is measured).
    pub fn with_storage_in(mut self, parent: impl Into<PathBuf>) -> Config {
        self.storage_parent = Some(parent.into());
        self
    }

    /// Logs every request with the time its handler took.
    pub fn with_request_log(mut self) -> Config {
        self.request_log = true;
        self
    }

    /// Keeps blobs in S3 behind a fault proxy with `plan`: downloads from presigned URLs get
    /// cut, stalled or answered busy.
    pub fn with_s3_faults(mut self, plan: FaultPlan) -> Config {
        self.s3 = true;
        self.s3_faults = Some(plan);
        self
    }

    /// Keeps blobs in S3 (a local `moto_server`, from PyPI's `moto[server]`).
    pub fn with_s3(mut self) -> Config {
        self.s3 = true;
        self
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
    s3: Option<S3>,
    watchdog: std::sync::Mutex<std::process::Child>,
}

/// The S3 endpoint behind a registry on object storage.
#[derive(Debug)]
struct S3 {
    endpoint: String,
    /// What the registry is told the endpoint is: the fault proxy, when there is one.
    public: String,
    proxy: Option<FaultProxy>,
    watchdog: std::sync::Mutex<std::process::Child>,
}

impl Drop for Registry {
    /// Ends a registry started with [`Registry::start`] when its owner drops it (the shared ones
    /// live until the test process exits, when their watchdog ends them).
    fn drop(&mut self) {
        stop(&self.watchdog);
        if let Some(s3) = &self.s3 {
            stop(&s3.watchdog);
        }
    }
}

/// SIGTERM to a watchdog runs its trap, which stops what it watches too.
fn stop(watchdog: &std::sync::Mutex<std::process::Child>) {
    let mut child = watchdog.lock().unwrap_or_else(|e| e.into_inner());
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let _ = child.wait();
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

    /// The shared anonymous registry on object storage (S3 through a local `moto_server`).
    pub fn s3() -> &'static Registry {
        static R: OnceLock<Registry> = OnceLock::new();
        R.get_or_init(|| Registry::start(Config::new(Auth::Anonymous).with_s3()))
    }

    /// A peer registry from the ready binaries in `$OCI_PEERS_DIR` (distribution v3 or olareg),
    /// started once per test binary, anonymous and on plain HTTP. `None`, after one line on
    /// stderr saying so, where the variable is unset or the binary is absent: these tests run
    /// where the peers are (CI), and say so where they are not.
    pub fn peer(peer: Peer) -> Option<&'static Registry> {
        static V3: OnceLock<Option<Registry>> = OnceLock::new();
        static OLAREG: OnceLock<Option<Registry>> = OnceLock::new();
        let cell = match peer {
            Peer::RegistryV3 => &V3,
            Peer::Olareg => &OLAREG,
        };
        cell.get_or_init(|| start_peer(peer, &Config::new(Auth::Anonymous)))
            .as_ref()
    }

    /// A peer registry of its own (not shared), as [`Registry::peer`] starts them. Of
    /// `config`, `request_log` (distribution logs every request with its handler's time in
    /// [`Registry::log_path`]; olareg logs as it always does) and `storage_parent` apply.
    pub fn start_peer(peer: Peer, config: &Config) -> Option<Registry> {
        start_peer(peer, config)
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
        let dir = registry_dir(config.storage_parent.as_deref(), "oci-test-registry");
        std::fs::create_dir_all(dir.join("data")).expect("create the registry folder");
        let ca = test_ca();
        std::fs::write(dir.join("ca.pem"), &ca.cert_pem).expect("write the CA");
        let port = free_port();
        let host = format!("127.0.0.1:{port}");
        let s3 = config.s3.then(|| start_s3(&dir, config.s3_faults));
        let storage = match &s3 {
            Some(s3) => format!(
                "  s3:\n    accesskey: test\n    secretkey: testtesttest\n    region: us-east-1\n    regionendpoint: http://{}\n    bucket: {S3_BUCKET}\n    forcepathstyle: true\n    secure: false\n    v4auth: true\n",
                s3.public
            ),
            None => format!(
                "  filesystem:\n    rootdirectory: {}\n",
                dir.join("data").display()
            ),
        };
        let level = log_level(config.request_log);
        let mut yaml = format!(
            "version: 0.1\nlog:\n  level: {level}\n  accesslog:\n    disabled: true\nstorage:\n{storage}  delete:\n    enabled: true\nhttp:\n  addr: {host}\n  secret: oci-test-registry-secret\n"
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
        let config_file = dir.join("config.yml");
        let watchdog = spawn_with_watchdog(
            &dir,
            "registry.log",
            &[
                binary.as_os_str(),
                "serve".as_ref(),
                config_file.as_os_str(),
            ],
        );
        wait_until_listening(&host, &dir.join("registry.log"), "docker-registry");
        Registry {
            host,
            tls: config.tls,
            dir,
            ca_pem: ca.cert_pem.clone(),
            token,
            s3,
            watchdog: std::sync::Mutex::new(watchdog),
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// For a registry on object storage, the S3 endpoint (`127.0.0.1:PORT`) its blob GETs
    /// redirect to.
    pub fn s3_endpoint(&self) -> Option<&str> {
        self.s3.as_ref().map(|s| s.public.as_str())
    }

    /// For a registry on object storage behind a fault proxy, what the proxy did so far.
    pub fn s3_faults(&self) -> Option<FaultCounts> {
        self.s3.as_ref()?.proxy.as_ref().map(FaultProxy::counts)
    }

    /// For a registry on object storage, every request the S3 endpoint has recorded since it
    /// started, in order: JSON objects with `method`, `url` and `headers` (moto's recorder). Lets a test see what reached the object store, the presigned GETs of a
    /// client included.
    pub fn s3_requests(&self) -> Vec<serde_json::Value> {
        let Some(s3) = &self.s3 else {
            return Vec::new();
        };
        let text = http_request(&s3.endpoint, "GET", "/moto-api/recorder/download-recording");
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
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

    /// The file the registry's output goes to.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("registry.log")
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

/// Runs `command` under a shell that ends it, and removes `dir`, once this process is gone, so
/// nothing the harness starts outlives the tests whatever way they end. Its output goes to
/// `dir/log`.
fn spawn_with_watchdog(dir: &Path, log: &str, command: &[&std::ffi::OsStr]) -> std::process::Child {
    let script = r#"
dir="$1"; log="$2"; parent="$3"; shift 3
"$@" > "$dir/$log" 2>&1 &
child=$!
trap 'kill $child 2>/dev/null; wait $child 2>/dev/null; rm -rf "$dir"; exit 0' TERM INT
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 0.5; done
kill "$child" 2>/dev/null
wait "$child" 2>/dev/null
rm -rf "$dir"
"#;
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("watchdog")
        .arg(dir)
        .arg(log)
        .arg(std::process::id().to_string())
        .args(command)
        // The registry's S3 driver must not pick up a CA bundle meant for real AWS.
        .env_remove("AWS_CA_BUNDLE")
        // moto's recorder writes its file where it runs: in the server's own folder, which
        // goes with it, never in the checkout.
        .env("MOTO_RECORDER_FILEPATH", dir.join("moto_recording"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a test server")
}

/// The bucket the registry keeps its blobs in.
const S3_BUCKET: &str = "registry";

/// Starts `moto_server` on a free port with its request recorder on, and creates the bucket.
///
/// # Panics
///
/// When `moto_server` is not installed, saying how to install it.
fn start_s3(registry_dir: &Path, faults: Option<FaultPlan>) -> S3 {
    let dir = registry_dir.with_extension("s3");
    std::fs::create_dir_all(&dir).expect("create the S3 folder");
    // `moto_server` where pip put it on PATH, else the module through python3.
    let found = Command::new("sh")
        .args(["-c", "command -v moto_server"])
        .output()
        .expect("run sh");
    let mut command: Vec<String> = if found.status.success() {
        vec![String::from_utf8_lossy(&found.stdout).trim().to_owned()]
    } else {
        let module = Command::new("python3")
            .args(["-c", "import moto.server"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            module,
            "moto_server not found: install it with `python3 -m pip install 'moto[server]'` \
             (./scripts/setup does)"
        );
        vec!["python3".into(), "-m".into(), "moto.server".into()]
    };
    let port = free_port().to_string();
    let endpoint = format!("127.0.0.1:{port}");
    command.extend(["-H".into(), "127.0.0.1".into(), "-p".into(), port]);
    let args: Vec<&std::ffi::OsStr> = command.iter().map(|a| a.as_ref()).collect();
    let watchdog = spawn_with_watchdog(&dir, "moto.log", &args);
    wait_until_listening(&endpoint, &dir.join("moto.log"), "moto_server");
    http_request(&endpoint, "POST", "/moto-api/recorder/start-recording");
    http_request(&endpoint, "PUT", &format!("/{S3_BUCKET}"));
    let proxy = faults.map(|plan| FaultProxy::start(&endpoint, plan));
    S3 {
        public: proxy
            .as_ref()
            .map_or_else(|| endpoint.clone(), |p| p.host().to_owned()),
        endpoint,
        proxy,
        watchdog: std::sync::Mutex::new(watchdog),
    }
}

/// One plain HTTP/1.1 request on loopback; returns the body. For the harness's own set-up.
fn http_request(host: &str, method: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(host).expect("connect to the test server");
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status_ok = text.starts_with("HTTP/1.1 2") || text.starts_with("HTTP/1.0 2");
    assert!(status_ok, "{method} {path} on {host} failed: {text}");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    if text
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(body)
    } else {
        body.to_owned()
    }
}

/// The body of a chunked HTTP/1.1 answer.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

fn wait_until_listening(host: &str, log: &Path, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect(host).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = std::fs::read_to_string(log).unwrap_or_default();
    panic!("{what} did not listen on {host} within 30 s; its output:\n{log}");
}
