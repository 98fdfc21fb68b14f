//! Credentials from docker's `config.json` (and podman's `auth.json`, the same format).
//!
//! Lookup order for a registry, as docker does it: a per-registry helper (`credHelpers`), then an
//! entry in `auths` (`auth` as base64 `user:password`, or an `identitytoken`), then the default
//! helper (`credsStore`). Helpers are programs named `docker-credential-<name>`, run with `get`,
//! `store` or `erase`. Login and logout write through the same path: a helper when one is
//! configured, else `config.json`, replaced atomically so a crash never leaves it half-written.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::io::AsyncWriteExt;

use super::{Credential, CredentialProvider, Secret};
use oci_target::{Error, ErrorKind, Result};

/// The key docker uses for Docker Hub.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// A docker or podman credentials file, with its helpers.
///
/// Its `Debug` shows the path, the registries it has entries for and the helpers it names,
/// never an `auth`, `identitytoken` or any other value of an entry.
#[derive(Clone)]
pub struct DockerConfig {
    path: PathBuf,
    doc: Map<String, Value>,
    helper_dir: Option<PathBuf>,
}

impl std::fmt::Debug for DockerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = |field: &str| -> Vec<String> {
            match self.doc.get(field) {
                Some(Value::Object(m)) => m.keys().cloned().collect(),
                _ => Vec::new(),
            }
        };
        f.debug_struct("DockerConfig")
            .field("path", &self.path)
            .field("auths", &keys("auths"))
            .field("cred_helpers", &keys("credHelpers"))
            .field(
                "creds_store",
                &self.doc.get("credsStore").and_then(Value::as_str),
            )
            .field("helper_dir", &self.helper_dir)
            .finish()
    }
}

#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

impl DockerConfig {
    /// Finds the file the way docker and podman do: `REGISTRY_AUTH_FILE`, else
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. A missing file is an empty
    /// configuration that [`login`](Self::login) will create.
    ///
    /// # Errors
    ///
    /// As [`load`](Self::load).
    pub fn load_default() -> Result<Self> {
        Self::load(default_path())
    }

    /// Reads the file at `path`; missing means empty.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when it cannot be read; [`ErrorKind::InvalidManifest`] is not used:
    /// a file that is not a JSON object gives [`ErrorKind::Other`] naming the path.
    pub fn load(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        let doc = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                Ok(_) | Err(_) => {
                    return Err(Error::new(
                        ErrorKind::Other,
                        format!(
                            "{} is not a JSON object of docker credentials",
                            path.display()
                        ),
                    ));
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("cannot read {}: {e}", path.display()),
                )
                .with_source(e));
            }
        };
        Ok(DockerConfig {
            path,
            doc,
            helper_dir: None,
        })
    }

    /// Looks for `docker-credential-*` programs in `dir` before `PATH`.
    pub fn with_helper_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.helper_dir = Some(dir.into());
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The credential for `registry` (`host[:port]`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unauthorized`] when a helper fails other than by not having the entry, or an
    /// entry's `auth` is not base64 `user:password`.
    pub async fn lookup(&self, registry: &str) -> Result<Option<Credential>> {
        if let Some(helper) = self.helper_for(registry) {
            return self.helper_get(&helper, registry).await;
        }
        if let Some(entry) = self.auth_entry(registry) {
            return entry_credential(registry, entry);
        }
        match self.doc.get("credsStore").and_then(Value::as_str) {
            Some(store) if !store.is_empty() => self.helper_get(store, registry).await,
            _ => Ok(None),
        }
    }

    /// Stores `credential` for `registry`: in its helper when one is configured, else in the
    /// file, which is replaced atomically.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Io`] when the file cannot be written; [`ErrorKind::Unauthorized`] when the
    /// helper refuses.
    pub async fn login(&mut self, registry: &str, credential: &Credential) -> Result<()> {
        let (username, secret) = match credential {
            Credential::Basic { username, password } => (username.clone(), password.clone()),
            Credential::RefreshToken(t) => ("<token>".to_owned(), t.clone()),
            Credential::AccessToken(_) => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    "an access token is short-lived and is not stored; log in with a password or a refresh token",
                ));
            }
        };
        if let Some(helper) = self.helper_for(registry).or_else(|| self.default_store()) {
            let input = serde_json::json!({
                "ServerURL": server_url(registry),
                "Username": username,
                "Secret": secret.expose(),
            });
            self.run_helper(&helper, "store", &input.to_string())
                .await?;
            return Ok(());
        }
        let mut entry = Map::new();
        if username == "<token>" {
            entry.insert("identitytoken".into(), Value::from(secret.expose()));
        } else {
            let raw = format!("{username}:{}", secret.expose());
            entry.insert(
                "auth".into(),
                Value::from(base64::engine::general_purpose::STANDARD.encode(raw)),
            );
        }
        let key = self
            .entry_key(registry)
            .unwrap_or_else(|| server_url(registry));
        self.auths_mut().insert(key, Value::Object(entry));
        self.save().await
    }

    /// Removes what is stored for `registry`. Returns false when nothing was.
    ///
    /// # Errors
    ///
    /// As [`login`](Self::login).
    pub async fn logout(&mut self, registry: &str) -> Result<bool> {
        if let Some(helper) = self.helper_for(registry).or_else(|| self.default_store()) {
            let had = self.helper_get(&helper, registry).await?.is_some();
            if had {
                self.run_helper(&helper, "erase", &server_url(registry))
                    .await?;
            }
            let removed = self.remove_entry(registry);
            if removed {
                self.save().await?;
            }
            return Ok(had || removed);
        }
        let removed = self.remove_entry(registry);
        if removed {
            self.save().await?;
        }
        Ok(removed)
    }

    fn remove_entry(&mut self, registry: &str) -> bool {
        match self.entry_key(registry) {
            Some(key) => self.auths_mut().remove(&key).is_some(),
            None => false,
        }
    }

    fn auths_mut(&mut self) -> &mut Map<String, Value> {
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        auths.as_object_mut().expect("made an object above")
    }

    fn default_store(&self) -> Option<String> {
        self.doc
            .get("credsStore")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    }

    fn helper_for(&self, registry: &str) -> Option<String> {
        let helpers = self.doc.get("credHelpers")?.as_object()?;
        aliases(registry)
            .iter()
            .find_map(|a| helpers.iter().find(|(k, _)| normalize(k) == *a))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_owned)
    }

    fn entry_key(&self, registry: &str) -> Option<String> {
        let auths = self.doc.get("auths")?.as_object()?;
        aliases(registry)
            .iter()
            .find_map(|a| auths.keys().find(|k| normalize(k) == *a))
            .cloned()
    }

    fn auth_entry(&self, registry: &str) -> Option<&Map<String, Value>> {
        let key = self.entry_key(registry)?;
        self.doc.get("auths")?.get(&key)?.as_object()
    }

    async fn helper_get(&self, helper: &str, registry: &str) -> Result<Option<Credential>> {
        let out = match self.run_helper(helper, "get", &server_url(registry)).await {
            Ok(out) => out,
            Err(e) if e.message().contains("credentials not found") => return Ok(None),
            Err(e) => return Err(e),
        };
        let answer: HelperAnswer = serde_json::from_slice(&out).map_err(|e| {
            Error::new(
                ErrorKind::Unauthorized,
                format!(
                    "docker-credential-{helper} answered something that is not credentials: {e}"
                ),
            )
        })?;
        if answer.secret.is_empty() {
            return Ok(None);
        }
        Ok(Some(if answer.username == "<token>" {
            Credential::RefreshToken(Secret::new(answer.secret))
        } else {
            Credential::basic(answer.username, answer.secret)
        }))
    }

    async fn run_helper(&self, helper: &str, action: &str, input: &str) -> Result<Vec<u8>> {
        let name = format!("docker-credential-{helper}");
        if helper.contains('/') || helper.contains("..") {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                format!("refusing the helper name {helper:?}"),
            ));
        }
        let program = self
            .helper_dir
            .as_ref()
            .map(|d| d.join(&name))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from(&name));
        let mut child = tokio::process::Command::new(&program)
            .arg(action)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                Error::new(
                    ErrorKind::Unauthorized,
                    format!("cannot run the credential helper {name}: {e}"),
                )
            })?;
        if let Some(mut stdin) = child.stdin.take() {
            // A helper that exits without reading is answered by its exit status below.
            let _ = stdin.write_all(input.as_bytes()).await;
        }
        let output = child.wait_with_output().await.map_err(|e| {
            Error::new(
                ErrorKind::Unauthorized,
                format!("the credential helper {name} failed: {e}"),
            )
        })?;
        if !output.status.success() {
            // Helpers print their error on stdout; neither stream carries the secret.
            let said = String::from_utf8_lossy(if output.stdout.is_empty() {
                &output.stderr
            } else {
                &output.stdout
            });
            let said: String = said.trim().chars().take(200).collect();
            return Err(Error::new(
                ErrorKind::Unauthorized,
                format!("{name} {action} failed ({}): {said}", output.status),
            ));
        }
        Ok(output.stdout)
    }

    async fn save(&self) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(&Value::Object(self.doc.clone())).map_err(|e| {
            Error::new(
                ErrorKind::Other,
                format!("cannot serialise {}: {e}", self.path.display()),
            )
        })?;
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("writing credentials failed: {e}")))?
    }
}

#[async_trait::async_trait]
impl CredentialProvider for DockerConfig {
    async fn credential(&self, registry: &str) -> Option<Credential> {
        match self.lookup(registry).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(registry, error = %e, "credential lookup failed; going anonymous");
                None
            }
        }
    }
}

fn default_path() -> PathBuf {
    if let Some(file) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|f| !f.is_empty()) {
        return PathBuf::from(file);
    }
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("config.json");
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    home.join(".docker").join("config.json")
}

/// The names a registry may be filed under.
fn aliases(registry: &str) -> Vec<String> {
    if oci_spec_types::distribution::is_docker_hub(registry) {
        vec![
            "index.docker.io".into(),
            "docker.io".into(),
            "registry-1.docker.io".into(),
        ]
    } else {
        vec![registry.to_owned()]
    }
}

/// The host of a key such as `https://index.docker.io/v1/` or `localhost:5000`.
fn normalize(key: &str) -> String {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    rest.split('/').next().unwrap_or("").to_owned()
}

/// What a helper is given as the server: Docker Hub's historic URL, else the host.
fn server_url(registry: &str) -> String {
    if oci_spec_types::distribution::is_docker_hub(registry) {
        DOCKER_HUB_KEY.to_owned()
    } else {
        registry.to_owned()
    }
}

fn entry_credential(registry: &str, entry: &Map<String, Value>) -> Result<Option<Credential>> {
    if let Some(token) = entry
        .get("identitytoken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        return Ok(Some(Credential::RefreshToken(Secret::new(token))));
    }
    if let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    {
        let bad = || {
            Error::new(
                ErrorKind::Unauthorized,
                format!("the stored credentials for {registry} are not base64 of user:password"),
            )
        };
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad())?;
        let text = String::from_utf8(raw).map_err(|_| bad())?;
        let (user, pass) = text.split_once(':').ok_or_else(bad)?;
        return Ok(Some(Credential::basic(user, pass)));
    }
    match (
        entry.get("username").and_then(Value::as_str),
        entry.get("password").and_then(Value::as_str),
    ) {
        (Some(u), Some(p)) => Ok(Some(Credential::basic(u, p))),
        _ => Ok(None),
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::at_path("cannot create", dir, e))?;
    }
    // Credentials: readable by the owner alone from the moment the file exists.
    oci_target::write_file_atomically(path, bytes, 0o600, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "oci-dc-{name}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn auths_entries_and_identity_tokens() {
        let dir = temp_dir("auths");
        let path = dir.join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{
                "https://index.docker.io/v1/":{"auth":"YWxpY2U6czNjcmV0"},
                "localhost:5000":{"auth":"","identitytoken":"refresh-me"},
                "http://plain.example":{"username":"u","password":"p"},
                "broken.example":{"auth":"!!!"}
            },"other":{"kept":true}}"#,
        )
        .unwrap();
        let config = DockerConfig::load(&path).unwrap();
        assert_eq!(
            config.lookup("docker.io").await.unwrap(),
            Some(Credential::basic("alice", "s3cret"))
        );
        assert_eq!(
            config.lookup("registry-1.docker.io").await.unwrap(),
            Some(Credential::basic("alice", "s3cret"))
        );
        assert_eq!(
            config.lookup("localhost:5000").await.unwrap(),
            Some(Credential::RefreshToken(Secret::new("refresh-me")))
        );
        assert_eq!(
            config.lookup("plain.example").await.unwrap(),
            Some(Credential::basic("u", "p"))
        );
        assert_eq!(config.lookup("nowhere.example").await.unwrap(), None);
        let err = config.lookup("broken.example").await.unwrap_err();
        assert!(!err.to_string().contains("!!!") || err.kind() == ErrorKind::Unauthorized);
    }

    #[test]
    fn debug_shows_no_secret_nor_does_anything_that_holds_it() {
        let dir = temp_dir("debug");
        let path = dir.join("config.json");
        std::fs::write(
            &path,
            r#"{"auths":{"r.example":{"auth":"YWxpY2U6czNjcmV0","identitytoken":"refresh-me"}},
                "credHelpers":{"h.example":"pass"}}"#,
        )
        .unwrap();
        let config = DockerConfig::load(&path).unwrap();
        let client_config = crate::ClientConfig::default().with_credentials(config.clone());
        let client = crate::Client::new(client_config.clone()).unwrap();
        let repo = client.repository("r.example", "a/b").unwrap();
        for shown in [
            format!("{config:?}"),
            format!("{client_config:?}"),
            format!("{client:?}"),
            format!("{repo:?}"),
        ] {
            for secret in ["YWxpY2U6czNjcmV0", "s3cret", "refresh-me"] {
                assert!(!shown.contains(secret), "{secret} shown in {shown}");
            }
        }
        assert!(format!("{config:?}").contains("r.example"));
    }

    #[tokio::test]
    async fn a_planted_link_at_a_temporary_name_cannot_take_the_credentials() {
        let dir = temp_dir("planted");
        let path = dir.join("config.json");
        let elsewhere = dir.join("elsewhere");
        std::fs::write(&elsewhere, b"").unwrap();
        // The names of the old scheme, planted in advance.
        for name in [
            ".config.json.tmp",
            &format!(".config.json.tmp-{}", std::process::id()),
        ] {
            std::os::unix::fs::symlink(&elsewhere, dir.join(name)).unwrap();
        }
        let mut config = DockerConfig::load(&path).unwrap();
        config
            .login("r.example", &Credential::basic("u", "secret-password"))
            .await
            .unwrap();
        assert!(std::fs::read(&elsewhere).unwrap().is_empty());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "credentials readable by others");
    }

    #[tokio::test]
    async fn login_and_logout_rewrite_the_file_keeping_other_fields() {
        let dir = temp_dir("login");
        let path = dir.join("sub").join("config.json");
        let mut config = DockerConfig::load(&path).unwrap();
        config
            .login("registry.example:5000", &Credential::basic("bob", "pw"))
            .await
            .unwrap();
        let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(
            written["auths"]["registry.example:5000"]["auth"],
            "Ym9iOnB3"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let reloaded = DockerConfig::load(&path).unwrap();
        assert_eq!(
            reloaded.lookup("registry.example:5000").await.unwrap(),
            Some(Credential::basic("bob", "pw"))
        );

        std::fs::write(
            &path,
            r#"{"auths":{"a.example":{"auth":"YTpi"}},"psFormat":"x"}"#,
        )
        .unwrap();
        let mut config = DockerConfig::load(&path).unwrap();
        assert!(config.logout("a.example").await.unwrap());
        assert!(!config.logout("a.example").await.unwrap());
        let written: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert_eq!(written["psFormat"], "x", "other fields must survive");
        assert!(written["auths"].as_object().unwrap().is_empty());
        let leftovers: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn helpers_get_store_and_erase() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("helpers");
        let db = dir.join("db");
        // A helper that keeps one entry in a file, like the real ones keep them in a keychain.
        let script = format!(
            "#!/bin/sh\ncase \"$1\" in\n get) read url; if [ -f '{db}' ]; then cat '{db}'; else echo 'credentials not found in native keychain'; exit 1; fi;;\n store) cat > '{db}';;\n erase) read url; rm -f '{db}';;\nesac\n",
            db = db.display()
        );
        let helper = dir.join("docker-credential-test");
        std::fs::write(&helper, script).unwrap();
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = dir.join("config.json");
        std::fs::write(&path, r#"{"credHelpers":{"helped.example":"test"}}"#).unwrap();
        let mut config = DockerConfig::load(&path).unwrap().with_helper_dir(&dir);
        assert_eq!(config.lookup("helped.example").await.unwrap(), None);
        config
            .login("helped.example", &Credential::basic("carol", "pw2"))
            .await
            .unwrap();
        let stored: Value = serde_json::from_slice(&std::fs::read(&db).unwrap()).unwrap();
        assert_eq!(stored["ServerURL"], "helped.example");
        assert_eq!(
            config.lookup("helped.example").await.unwrap(),
            Some(Credential::basic("carol", "pw2"))
        );
        let file: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(
            file.get("auths").is_none(),
            "a helper-stored secret leaked into the file"
        );
        assert!(config.logout("helped.example").await.unwrap());
        assert!(!db.exists());

        std::fs::write(&path, r#"{"credsStore":"missing-helper"}"#).unwrap();
        let config = DockerConfig::load(&path).unwrap();
        let err = config.lookup("any.example").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized);
        assert!(
            err.to_string().contains("docker-credential-missing-helper"),
            "{err}"
        );
    }

    #[test]
    fn keys_normalise() {
        assert_eq!(normalize("https://index.docker.io/v1/"), "index.docker.io");
        assert_eq!(normalize("localhost:5000"), "localhost:5000");
        assert_eq!(normalize("http://h.example/x"), "h.example");
        assert!(
            DockerConfig::load(std::env::temp_dir().join("definitely-missing-oci-config.json"))
                .is_ok()
        );
    }
}
