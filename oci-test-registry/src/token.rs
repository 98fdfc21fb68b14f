//! A token server for registries configured with `auth.token`.
//!
//! It issues ES256 JWTs whose header carries an `x5c` chain from the test CA, and grants only
//! the intersection of the scopes asked for and what each user's policy allows. It answers GET
//! (`service`, repeated `scope`, optional Basic credentials) and the OAuth2 POST form
//! (`grant_type=password` or `refresh_token`), and can be told to fail. It is a blocking server
//! on threads of its own, so it serves every test runtime alike.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::pki::Issued;

/// How the token server misbehaves, when told to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Work normally.
    None,
    /// Answer 500.
    ServerError,
    /// Answer 200 with a body that is not JSON.
    Garbage,
    /// Answer 401 to everyone.
    Refuse,
}

/// One grant: repositories matching `pattern` (a name, or a prefix ending in `*`) get `actions`.
#[derive(Debug, Clone)]
pub struct Grant {
    /// `alice/*`, `shared/app`, or `*`.
    pub pattern: String,
    /// `pull`, `push`, `delete`, `*`.
    pub actions: Vec<String>,
}

impl Grant {
    /// A grant of `actions` (comma-separated) on `pattern`.
    pub fn new(pattern: &str, actions: &str) -> Grant {
        Grant {
            pattern: pattern.to_owned(),
            actions: actions.split(',').map(str::to_owned).collect(),
        }
    }

    fn covers(&self, name: &str) -> bool {
        match self.pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => self.pattern == name,
        }
    }
}

#[derive(Debug)]
struct State {
    users: HashMap<String, String>,
    policy: HashMap<String, Vec<Grant>>,
    refresh: HashMap<String, String>,
}

/// A running token server.
#[derive(Debug, Clone)]
pub struct TokenServer {
    addr: String,
    service: String,
    issuer: String,
    state: Arc<Mutex<State>>,
    failure: Arc<AtomicU8>,
    served: Arc<AtomicUsize>,
}

impl TokenServer {
    /// Starts a server on 127.0.0.1 signing with `signer` (a certificate of the test CA).
    /// `users` are name → password; `policy` is user (or `""` for anonymous) → grants.
    pub(crate) fn start(
        signer: Issued,
        service: &str,
        issuer: &str,
        users: &[(&str, &str)],
        policy: HashMap<String, Vec<Grant>>,
    ) -> TokenServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the token server");
        let addr = listener.local_addr().expect("address").to_string();
        let server = TokenServer {
            addr,
            service: service.to_owned(),
            issuer: issuer.to_owned(),
            state: Arc::new(Mutex::new(State {
                users: users
                    .iter()
                    .map(|(u, p)| (u.to_string(), p.to_string()))
                    .collect(),
                policy,
                refresh: HashMap::new(),
            })),
            failure: Arc::new(AtomicU8::new(0)),
            served: Arc::new(AtomicUsize::new(0)),
        };
        let key = Arc::new(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &signer.key_der)
                .expect("signing key"),
        );
        let x5c = STANDARD.encode(&signer.cert_der);
        let me = server.clone();
        std::thread::Builder::new()
            .name("token-server".into())
            .spawn(move || {
                for conn in listener.incoming().flatten() {
                    let me = me.clone();
                    let key = key.clone();
                    let x5c = x5c.clone();
                    std::thread::spawn(move || {
                        let _ = me.serve(conn, &key, &x5c);
                    });
                }
            })
            .expect("spawn the token server");
        server
    }

    /// The realm URL (`http://127.0.0.1:PORT/token`).
    pub fn realm(&self) -> String {
        format!("http://{}/token", self.addr)
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> &str {
        &self.addr
    }

    /// The service name registries and tokens use.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Token requests served so far (including failed ones).
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    /// Makes the server misbehave (or stop misbehaving).
    pub fn set_failure(&self, failure: Failure) {
        let v = match failure {
            Failure::None => 0,
            Failure::ServerError => 1,
            Failure::Garbage => 2,
            Failure::Refuse => 3,
        };
        self.failure.store(v, Ordering::SeqCst);
    }

    fn serve(&self, conn: TcpStream, key: &EcdsaKeyPair, x5c: &str) -> std::io::Result<()> {
        let mut reader = BufReader::new(conn.try_clone()?);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_owned();
            let target = parts.next().unwrap_or("").to_owned();
            let mut headers = HashMap::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h)? == 0 {
                    return Ok(());
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
                }
            }
            let len: usize = headers
                .get("content-length")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0u8; len];
            reader.read_exact(&mut body)?;
            self.served.fetch_add(1, Ordering::SeqCst);
            let (status, payload) = self.answer(&method, &target, &headers, &body, key, x5c);
            let mut out = conn.try_clone()?;
            write!(
                out,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                payload.len()
            )?;
            out.write_all(payload.as_bytes())?;
        }
    }

    fn answer(
        &self,
        method: &str,
        target: &str,
        headers: &HashMap<String, String>,
        body: &[u8],
        key: &EcdsaKeyPair,
        x5c: &str,
    ) -> (u16, String) {
        match self.failure.load(Ordering::SeqCst) {
            1 => return (500, r#"{"error":"injected failure"}"#.into()),
            2 => return (200, "<html>this is not a token</html>".into()),
            3 => return (401, r#"{"error":"refused"}"#.into()),
            _ => {}
        }
        let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
        let params: Vec<(String, String)> = if method == "POST" {
            url::form_urlencoded::parse(body).into_owned().collect()
        } else {
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect()
        };
        let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let scopes: Vec<String> = params
            .iter()
            .filter(|(n, _)| n == "scope")
            .flat_map(|(_, v)| v.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .collect();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // Who is asking.
        let user: Option<String> = if method == "POST" {
            match get("grant_type").as_deref() {
                Some("password") => {
                    let (u, p) = (
                        get("username").unwrap_or_default(),
                        get("password").unwrap_or_default(),
                    );
                    if state.users.get(&u) != Some(&p) {
                        return (401, r#"{"error":"invalid_grant"}"#.into());
                    }
                    Some(u)
                }
                Some("refresh_token") => {
                    match state.refresh.get(&get("refresh_token").unwrap_or_default()) {
                        Some(u) => Some(u.clone()),
                        None => return (401, r#"{"error":"invalid_grant"}"#.into()),
                    }
                }
                _ => return (400, r#"{"error":"unsupported_grant_type"}"#.into()),
            }
        } else {
            match headers
                .get("authorization")
                .and_then(|h| h.strip_prefix("Basic "))
            {
                Some(b64) => {
                    let decoded = STANDARD
                        .decode(b64.trim())
                        .ok()
                        .and_then(|d| String::from_utf8(d).ok());
                    let Some((u, p)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
                        return (400, r#"{"error":"malformed credentials"}"#.into());
                    };
                    if state.users.get(u).map(String::as_str) != Some(p) {
                        return (401, r#"{"error":"invalid credentials"}"#.into());
                    }
                    Some(u.to_owned())
                }
                None => None,
            }
        };
        let grants = state
            .policy
            .get(user.as_deref().unwrap_or(""))
            .cloned()
            .unwrap_or_default();
        let mut access = Vec::new();
        for scope in &scopes {
            let mut parts = scope.splitn(3, ':');
            let (Some(kind), Some(name), Some(actions)) =
                (parts.next(), parts.next(), parts.next())
            else {
                continue;
            };
            let granted: Vec<&str> = actions
                .split(',')
                .filter(|a| {
                    grants
                        .iter()
                        .any(|g| g.covers(name) && (g.actions.iter().any(|x| x == a || x == "*")))
                })
                .collect();
            if !granted.is_empty() {
                access.push(serde_json::json!({"type": kind, "name": name, "actions": granted}));
            }
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let claims = serde_json::json!({
            "iss": self.issuer,
            "sub": user.clone().unwrap_or_default(),
            "aud": get("service").unwrap_or_else(|| self.service.clone()),
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": format!("{now}-{}", self.served()),
            "access": access,
        });
        let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [x5c]});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = key
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .expect("sign the token");
        let token = format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        );
        let mut answer = serde_json::json!({
            "token": token,
            "access_token": token,
            "expires_in": 300,
            "issued_at": format!("{now}"),
        });
        let offline = get("offline_token").as_deref() == Some("true")
            || get("access_type").as_deref() == Some("offline");
        if let Some(u) = &user
            && (offline || method == "POST")
        {
            let refresh = format!("refresh-{u}-{now}-{}", self.served());
            state.refresh.insert(refresh.clone(), u.clone());
            answer["refresh_token"] = refresh.into();
        }
        (200, answer.to_string())
    }
}
