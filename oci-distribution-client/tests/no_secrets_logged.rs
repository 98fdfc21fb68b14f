//! Secrets never reach the logs, at the most verbose level, through a whole authenticated
//! exchange with Basic and Bearer registries.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use oci_distribution_client::auth::{Credential, StaticCredentials};
use oci_distribution_client::{Client, ClientConfig};
use oci_target::ReadOnlyTarget;
use support::hostile::{Hostile, Recorded, Reply};

const PASSWORD: &str = "pa55-w0rd-never-logged";
const TOKEN: &str = "t0ken-never-logged";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn credentials_and_tokens_stay_out_of_logs_and_errors() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let tokens = Hostile::start(|_| {
        Reply::new(
            200,
            &[],
            format!(r#"{{"token":"{TOKEN}","expires_in":300}}"#).into_bytes(),
        )
    })
    .await;
    let challenge = format!(
        "Bearer realm=\"http://{}/token\",service=\"reg\"",
        tokens.host()
    );
    let bearer = Hostile::start(move |r: &Recorded| {
        if r.header("authorization") == Some(&format!("Bearer {TOKEN}")) {
            Reply::new(
                404,
                &[],
                br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#
                    .to_vec(),
            )
        } else {
            Reply::new(401, &[("WWW-Authenticate", &challenge)], Vec::new())
        }
    })
    .await;
    let basic = Hostile::start(|r: &Recorded| {
        if r.header("authorization").is_some() {
            Reply::new(403, &[], b"denied".to_vec())
        } else {
            Reply::new(
                401,
                &[("WWW-Authenticate", "Basic realm=\"r\"")],
                Vec::new(),
            )
        }
    })
    .await;
    let creds = StaticCredentials::new()
        .with(bearer.host(), Credential::basic("alice", PASSWORD))
        .with(basic.host(), Credential::basic("bob", PASSWORD));
    let mut config = ClientConfig::default().with_credentials(creds);
    for h in [&tokens, &bearer, &basic] {
        config = config.with_plain_http(h.host());
    }
    let client = Client::new(config).unwrap();
    let mut shown = Vec::new();
    for host in [bearer.host(), basic.host()] {
        let repo = client.repository(&host, "a/b").unwrap();
        let err = repo.resolve("latest").await.unwrap_err();
        shown.push(format!("{err} {err:?}"));
    }
    shown.push(format!("{client:?}"));

    // The exchange really happened with the secrets…
    assert!(
        tokens.carrying("authorization") > 0,
        "no Basic to the token server"
    );
    assert!(
        bearer
            .requests()
            .iter()
            .any(|r| r.header("authorization") == Some(&format!("Bearer {TOKEN}")))
    );
    // …and none of them was written anywhere.
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("registry request"),
        "nothing was logged; the test would prove nothing"
    );
    for text in shown.iter().chain(std::iter::once(&logs)) {
        assert!(!text.contains(PASSWORD), "the password leaked: {text}");
        assert!(!text.contains(TOKEN), "the token leaked: {text}");
        assert!(
            !text.contains("YWxpY2U6"),
            "base64 credentials leaked: {text}"
        );
    }
}
