//! Who a verification trusts, as cosign's flags say it (`--key`, or `--certificate-identity`
//! with `--certificate-oidc-issuer` against a `--trusted-root`), and `verify-blob`: a
//! Sigstore bundle over a file, offline.

use std::path::PathBuf;

use oci_sign::PublicKey;
use oci_sign::sigstore::{self, Artifact, Bundle, Matcher, Options, Signer, TrustedRoot};
use oci_target::{Error, ErrorKind, Result};
use serde_json::json;

use crate::sign::from_sign;
use crate::text::err;
use crate::{Common, print_json};

#[derive(clap::Args, Debug)]
pub(crate) struct TrustArgs {
    /// The public key (PEM: ECDSA, Ed25519 or RSA)
    #[arg(long, value_name = "FILE")]
    pub(crate) key: Option<PathBuf>,
    /// The identity the signing certificate must bind (an e-mail address or a URI)
    #[arg(long, value_name = "IDENTITY", conflicts_with = "key")]
    certificate_identity: Option<String>,
    /// A pattern the certificate's identity must match (unanchored, as cosign's)
    #[arg(
        long,
        value_name = "REGEX",
        conflicts_with_all = ["key", "certificate_identity"]
    )]
    certificate_identity_regexp: Option<String>,
    /// The OIDC issuer the signing certificate must name
    #[arg(long, value_name = "ISSUER", conflicts_with = "key")]
    certificate_oidc_issuer: Option<String>,
    /// A pattern the certificate's OIDC issuer must match
    #[arg(
        long,
        value_name = "REGEX",
        conflicts_with_all = ["key", "certificate_oidc_issuer"]
    )]
    certificate_oidc_issuer_regexp: Option<String>,
    /// The Sigstore trusted root (trusted_root.json) keyless verification checks against;
    /// nothing is fetched
    #[arg(long, value_name = "FILE")]
    trusted_root: Option<PathBuf>,
    /// Accept key-signed bundles without transparency-log entries (entries present are still
    /// checked)
    #[arg(long)]
    insecure_ignore_tlog: bool,
}

fn read(path: &PathBuf, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::at_path(&format!("cannot read the {what}"), path, e))
}

fn matcher(exact: &Option<String>, pattern: &Option<String>, flag: &str) -> Result<Matcher> {
    match (exact, pattern) {
        (Some(exact), _) => Ok(Matcher::Exact(exact.clone())),
        (None, Some(pattern)) => regex::Regex::new(pattern).map(Matcher::Regex).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("--{flag}-regexp {pattern:?}: {e}"),
            )
        }),
        (None, None) => Err(Error::new(
            ErrorKind::InvalidInput,
            format!("--{flag} or --{flag}-regexp is required for keyless verification"),
        )),
    }
}

impl TrustArgs {
    /// Whether the signer is named by a certificate identity rather than a key.
    pub(crate) fn keyless(&self) -> bool {
        self.key.is_none()
    }

    pub(crate) fn signer(&self) -> Result<Signer> {
        if let Some(path) = &self.key {
            let pem = String::from_utf8_lossy(&read(path, "public key")?).into_owned();
            return Ok(Signer::Key(PublicKey::from_pem(&pem).map_err(from_sign)?));
        }
        Ok(Signer::Identity {
            identity: matcher(
                &self.certificate_identity,
                &self.certificate_identity_regexp,
                "certificate-identity",
            )?,
            issuer: matcher(
                &self.certificate_oidc_issuer,
                &self.certificate_oidc_issuer_regexp,
                "certificate-oidc-issuer",
            )?,
        })
    }

    pub(crate) fn root(&self) -> Result<TrustedRoot> {
        match &self.trusted_root {
            Some(path) => TrustedRoot::from_slice(&read(path, "trusted root")?).map_err(from_sign),
            None if self.keyless() => Err(Error::new(
                ErrorKind::InvalidInput,
                "keyless verification needs --trusted-root FILE (nothing is fetched)",
            )),
            None => Ok(TrustedRoot::default()),
        }
    }

    pub(crate) fn options(&self) -> Options {
        Options::default().with_require_log(!self.insecure_ignore_tlog)
    }

    /// What a passing bundle proved, as the report lists it.
    pub(crate) fn checks(&self) -> Vec<String> {
        let mut checks = Vec::new();
        if self.keyless() {
            checks.push(
                "The signing certificate chains to a trusted certificate authority, valid at \
                 the signing time, with a verified SCT"
                    .to_owned(),
            );
            checks.push("The certificate's identity and OIDC issuer were matched".to_owned());
        } else {
            checks.push("The signature was verified against the specified public key".to_owned());
        }
        if self.insecure_ignore_tlog {
            checks.push("Transparency-log entries, where present, were verified".to_owned());
        } else {
            checks.push(
                "The transparency log's evidence (signed entry timestamp or inclusion proof with \
                 a signed checkpoint) was verified"
                    .to_owned(),
            );
        }
        checks
    }
}

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyBlobArgs {
    /// The file the bundle signs, or its digest as sha256:<hex>
    blob: String,
    /// The Sigstore bundle (.sigstore.json)
    #[arg(long, value_name = "FILE")]
    bundle: PathBuf,
    #[command(flatten)]
    trust: TrustArgs,
}

pub(crate) async fn verify_blob(common: &Common, args: VerifyBlobArgs) -> Result<()> {
    let signer = args.trust.signer()?;
    let root = args.trust.root()?;
    let bundle = Bundle::from_slice(&read(&args.bundle, "bundle")?).map_err(from_sign)?;
    let path = PathBuf::from(&args.blob);
    let content;
    let digest;
    let artifact = match args.blob.strip_prefix("sha256:") {
        Some(hex) if !path.exists() => {
            digest = hex::decode(hex)
                .ok()
                .filter(|d| d.len() == 32)
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!("{:?} is not a SHA-256", args.blob),
                    )
                })?;
            Artifact::Sha256(&digest)
        }
        _ => {
            content = read(&path, "blob")?;
            Artifact::Bytes(&content)
        }
    };
    let verified = sigstore::verify_with(&bundle, artifact, &signer, &root, &args.trust.options())
        .map_err(from_sign)?;
    if common.json() {
        print_json(&json!({
            "verified": true,
            "signer": verified.signer,
            "issuer": verified.issuer,
            "times": verified.times.iter().map(|t| t.unix_timestamp()).collect::<Vec<_>>(),
            "statement": verified.statement,
        }));
    }
    err!("Verified OK");
    Ok(())
}
