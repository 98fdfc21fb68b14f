//! The harness starts each configuration and each answers `/v2/` as configured.

use std::io::{Read, Write};
use std::net::TcpStream;

use oci_test_registry::Registry;

fn status_of_v2(host: &str, auth: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect(host).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "GET /v2/ HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, out)
}

#[test]
fn anonymous_answers_200() {
    assert_eq!(status_of_v2(Registry::anonymous().host(), None).0, 200);
}

#[test]
fn basic_asks_for_credentials_and_checks_them() {
    use base64::Engine as _;
    let r = Registry::basic_auth();
    let (status, head) = status_of_v2(r.host(), None);
    assert_eq!(status, 401);
    assert!(head.contains("Basic realm"), "{head}");
    let (user, pass) = r.users()[0];
    let good = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    assert_eq!(
        status_of_v2(r.host(), Some(&format!("Basic {good}"))).0,
        200
    );
    let bad = base64::engine::general_purpose::STANDARD.encode(format!("{user}:wrong"));
    assert_eq!(status_of_v2(r.host(), Some(&format!("Basic {bad}"))).0, 401);
}

#[test]
fn token_points_at_the_token_server() {
    let r = Registry::token_auth();
    let (status, head) = status_of_v2(r.host(), None);
    assert_eq!(status, 401);
    let realm = r.token_server().unwrap().realm();
    assert!(
        head.contains(&format!("Bearer realm=\"{realm}\"")),
        "{head}"
    );
}

#[test]
fn tls_listens_and_shares_the_test_ca() {
    let r = Registry::tls();
    assert!(r.is_tls() && r.base_url().starts_with("https://"));
    assert!(r.ca_pem().contains("BEGIN CERTIFICATE"));
    // Plain HTTP to a TLS port gets a TLS-level refusal, not a registry answer: a 400 from the
    // TLS layer, or the connection closed under the request.
    let mut s = TcpStream::connect(r.host()).unwrap();
    let sent = write!(
        s,
        "GET /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    );
    let mut out = String::new();
    let read = sent.and_then(|()| s.read_to_string(&mut out));
    match read {
        Ok(_) => assert!(
            out.starts_with("HTTP/1.0 400") || out.starts_with("HTTP/1.1 400"),
            "{out}"
        ),
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            ),
            "{e}"
        ),
    }
}

#[test]
fn storage_goes_where_the_config_says_and_is_removed_with_the_registry() {
    let parent = tempfile::tempdir().unwrap();
    let config = oci_test_registry::Config::new(oci_test_registry::Auth::Anonymous)
        .with_storage_in(parent.path());
    let registry = Registry::start(config);
    assert_eq!(status_of_v2(registry.host(), None).0, 200);
    let storage = registry.storage_dir();
    assert!(storage.starts_with(parent.path()), "{}", storage.display());
    assert!(storage.is_dir());
    drop(registry);
    // The watchdog removes the folder once the registry has stopped.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while storage.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!storage.exists(), "{} is left behind", storage.display());
}
