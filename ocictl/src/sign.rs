//! `generate-key-pair`, `sign` and `verify`: cosign's key-based signatures, in cosign's tag
//! scheme, on registries and layouts.

use std::path::PathBuf;

use oci_sign::keys::{PASSWORD_ENV, password_from};
use oci_sign::{PublicKey, SigningKey, VerifyOptions, tagged};
use oci_spec_types::Descriptor;
use oci_target::{Error, ErrorKind, Result};
use serde_json::json;

use crate::pack_flags::parse_annotations;
use crate::target::{Access, Opened, open};
use crate::text::{err, out};
use crate::{Common, print_json};

#[derive(clap::Args, Debug)]
pub(crate) struct GenerateKeyPairArgs {
    /// Write PREFIX.key (encrypted with $COSIGN_PASSWORD, empty if unset) and PREFIX.pub
    #[arg(long, default_value = "cosign", value_name = "PREFIX")]
    output_key_prefix: String,
}

#[derive(clap::Args, Debug)]
pub(crate) struct SignArgs {
    /// What to sign: host/repo:tag or @digest, or a layout path with --oci-layout
    target: String,
    /// The private key: cosign's encrypted PEM (password from $COSIGN_PASSWORD), or PKCS#8
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// An annotation to sign with the payload, key=value (repeatable)
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// The repository the payload names (default: the target's registry/repository, or the
    /// layout's absolute path)
    #[arg(long, value_name = "NAME")]
    sign_container_identity: Option<String>,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    /// What to verify: host/repo:tag or @digest, or a layout path with --oci-layout
    target: String,
    /// The public key (PEM: ECDSA, Ed25519 or RSA)
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// An annotation the signed payload must carry, key=value (repeatable)
    #[arg(short = 'a', long = "annotations", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// The repository the payload must name (default: the target's own name)
    #[arg(long, value_name = "NAME", conflicts_with = "any_identity")]
    signed_identity: Option<String>,
    /// Accept a payload naming any repository (the digest is still checked): for content
    /// copied from where it was signed
    #[arg(long)]
    any_identity: bool,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct AttestArgs {
    /// What to attest: host/repo:tag or @digest, or a layout path with --oci-layout
    target: String,
    /// The private key: cosign's encrypted PEM (password from $COSIGN_PASSWORD), or PKCS#8
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The predicate, a JSON file
    #[arg(long, value_name = "FILE")]
    predicate: PathBuf,
    /// The predicate type: a URI, or one of slsaprovenance, slsaprovenance02, slsaprovenance1,
    /// link, spdx, spdxjson, cyclonedx, vuln, openvex, custom
    #[arg(long = "type", default_value = "custom", value_name = "TYPE")]
    predicate_type: String,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyAttestationArgs {
    /// What to verify: host/repo:tag or @digest, or a layout path with --oci-layout
    target: String,
    /// The public key (PEM: ECDSA, Ed25519 or RSA)
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// Accept only attestations of this predicate type (a URI or a shorthand, as for attest)
    #[arg(long = "type", value_name = "TYPE")]
    predicate_type: Option<String>,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
}

/// A signing failure as ocictl reports it: a missing signature is "not found" (exit 3), a key
/// that cannot be used is bad input (exit 2), a signature that fails a check is a verification
/// failure (exit 5).
pub(crate) fn from_sign(e: oci_sign::Error) -> Error {
    let kind = match &e {
        oci_sign::Error::Store(inner) => return inner.clone(),
        oci_sign::Error::Key(_) | oci_sign::Error::Malformed { .. } => ErrorKind::InvalidInput,
        oci_sign::Error::NoSignatures { .. } => ErrorKind::NotFound,
        _ => ErrorKind::Untrusted,
    };
    Error::new(kind, e.to_string())
}

fn read_text(path: &PathBuf, what: &str) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| Error::at_path(&format!("cannot read the {what}"), path, e))
}

pub(crate) async fn generate_key_pair(args: GenerateKeyPairArgs) -> Result<()> {
    let private = PathBuf::from(format!("{}.key", args.output_key_prefix));
    let public = PathBuf::from(format!("{}.pub", args.output_key_prefix));
    for path in [&private, &public] {
        if path.exists() {
            return Err(Error::new(
                ErrorKind::AlreadyExists,
                format!("{} exists: not overwritten", path.display()),
            ));
        }
    }
    let key = SigningKey::generate();
    let password = password_from(None);
    let encrypted = key.to_encrypted_pem(&password).map_err(from_sign)?;
    oci_target::write_file_atomically(&private, encrypted.as_bytes(), 0o600, true)?;
    let pem = key.public_key().to_pem().map_err(from_sign)?;
    oci_target::write_file_atomically(&public, pem.as_bytes(), 0o644, true)?;
    if password.is_empty() {
        err!(
            "Warning: ${PASSWORD_ENV} is not set: the private key is encrypted with an empty password"
        );
    }
    out!("Private key written to {}", private.display());
    out!("Public key written to {}", public.display());
    Ok(())
}

/// The private key at `key` (password from `COSIGN_PASSWORD`) and the artifact `target`
/// names, opened for writing and resolved.
async fn signing_key_and_subject(
    common: &Common,
    key: &PathBuf,
    target: &str,
    layout: bool,
) -> Result<(SigningKey, Opened, Descriptor)> {
    let pem = read_text(key, "private key")?;
    let key = SigningKey::from_pem(&pem, &password_from(None)).map_err(from_sign)?;
    let opened = open(common, target, layout, Access::Write).await?;
    let subject = opened.resolve().await?;
    Ok((key, opened, subject))
}

/// The public key at `key` and the artifact `target` names, resolved.
async fn public_key_and_subject(
    common: &Common,
    key: &PathBuf,
    target: &str,
    layout: bool,
) -> Result<(PublicKey, Opened, Descriptor)> {
    let key = PublicKey::from_pem(&read_text(key, "public key")?).map_err(from_sign)?;
    let opened = open(common, target, layout, Access::Read).await?;
    let subject = opened.resolve().await?;
    Ok((key, opened, subject))
}

/// The name a payload (and a policy scope) gives the target: its registry and repository, or
/// a layout's absolute path, however the command line spelled it.
pub(crate) fn identity_of(opened: &Opened) -> String {
    match &opened.location {
        Some((registry, repository)) => format!("{registry}/{repository}"),
        None => std::fs::canonicalize(&opened.display)
            .map_or_else(|_| opened.display.clone(), |p| p.display().to_string()),
    }
}

pub(crate) async fn sign(common: &Common, args: SignArgs) -> Result<()> {
    let annotations = parse_annotations(&args.annotations)?;
    let (key, opened, subject) =
        signing_key_and_subject(common, &args.key, &args.target, args.oci_layout).await?;
    let identity = args
        .sign_container_identity
        .unwrap_or_else(|| identity_of(&opened));
    let tag = oci_spec_types::distribution::cosign_tag(&subject.digest, "sig");
    let signed = tagged::sign(&*opened.target, &subject, &identity, &key, annotations).await;
    let sig = signed.map_err(from_sign)?;
    if common.json() {
        print_json(&json!({
            "signed": subject.digest.to_string(),
            "identity": identity,
            "key": key.public_key().fingerprint(),
            "signatures": { "tag": tag, "digest": sig.digest.to_string() },
        }));
    } else {
        out!("Signed {}", opened.show(subject.digest.as_str()));
        out!("Signatures: {} ({})", opened.show(&tag), sig.digest);
    }
    Ok(())
}

pub(crate) async fn verify(common: &Common, args: VerifyArgs) -> Result<()> {
    let (key, opened, subject) =
        public_key_and_subject(common, &args.key, &args.target, args.oci_layout).await?;
    let mut options = if args.any_identity {
        VerifyOptions::any_reference()
    } else {
        VerifyOptions::for_reference(args.signed_identity.unwrap_or_else(|| identity_of(&opened)))
    };
    for (k, v) in parse_annotations(&args.annotations)? {
        options = options.with_annotation(k, v);
    }
    let verified = tagged::verify(&*opened.target, &subject, &key, &options)
        .await
        .map_err(from_sign)?;
    let mut checks = vec![
        "The signature was verified against the specified public key".to_owned(),
        "The signed digest is the artifact's digest".to_owned(),
    ];
    if let Some(name) = &options.reference {
        checks.push(format!("The signed identity is {name}"));
    }
    let payloads: Vec<_> = verified.iter().map(|v| json!(v.payload)).collect();
    report(common, &opened, &subject, "signatures", &checks, &payloads);
    Ok(())
}

pub(crate) async fn attest(common: &Common, args: AttestArgs) -> Result<()> {
    let predicate: serde_json::Value =
        serde_json::from_str(&read_text(&args.predicate, "predicate")?).map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "the predicate {} is not JSON: {e}",
                    args.predicate.display()
                ),
            )
        })?;
    let predicate_type = oci_sign::attest::predicate_type(&args.predicate_type).to_owned();
    let (key, opened, subject) =
        signing_key_and_subject(common, &args.key, &args.target, args.oci_layout).await?;
    let repository = identity_of(&opened);
    let att = oci_sign::attest::attest(
        &*opened.target,
        &subject,
        &repository,
        &predicate_type,
        predicate,
        &key,
    )
    .await
    .map_err(from_sign)?;
    let tag = oci_spec_types::distribution::cosign_tag(&subject.digest, "att");
    if common.json() {
        print_json(&json!({
            "attested": subject.digest.to_string(),
            "predicateType": predicate_type,
            "attestations": { "tag": tag, "digest": att.digest.to_string() },
        }));
    } else {
        out!(
            "Attested {} ({predicate_type})",
            opened.show(subject.digest.as_str())
        );
        out!("Attestations: {} ({})", opened.show(&tag), att.digest);
    }
    Ok(())
}

pub(crate) async fn verify_attestation(common: &Common, args: VerifyAttestationArgs) -> Result<()> {
    let (key, opened, subject) =
        public_key_and_subject(common, &args.key, &args.target, args.oci_layout).await?;
    let wanted = args
        .predicate_type
        .as_deref()
        .map(oci_sign::attest::predicate_type);
    let verified = oci_sign::attest::verify_attestations(&*opened.target, &subject, &key, wanted)
        .await
        .map_err(from_sign)?;
    let checks = [
        "The DSSE envelope's signature was verified against the specified public key".to_owned(),
        "The statement's subject is the artifact's digest".to_owned(),
    ];
    let statements: Vec<_> = verified.iter().map(|v| json!(v.statement)).collect();
    report(
        common,
        &opened,
        &subject,
        "attestations",
        &checks,
        &statements,
    );
    Ok(())
}

/// What a verification found: the checks made on stderr, as cosign says them, and what passed
/// on stdout (a JSON array with `--format json`, else one JSON document a line).
fn report(
    common: &Common,
    opened: &Opened,
    subject: &Descriptor,
    what: &str,
    checks: &[String],
    passed: &[serde_json::Value],
) {
    err!(
        "Verification for {} --",
        opened.show(subject.digest.as_str())
    );
    err!("The following checks were performed on each of these {what}:");
    for check in checks {
        err!("  - {check}");
    }
    if common.json() {
        print_json(&json!(passed));
    } else {
        for p in passed {
            out!("{p}");
        }
    }
}
