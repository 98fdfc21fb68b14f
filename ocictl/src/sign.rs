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
use crate::trust::TrustArgs;
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
    /// Attach the signature as a Sigstore bundle referrer (OCI 1.1) instead of a .sig tag
    #[arg(long, conflicts_with = "annotations")]
    new_bundle_format: bool,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyArgs {
    /// What to verify: host/repo:tag or @digest, or a layout path with --oci-layout
    target: String,
    #[command(flatten)]
    trust: TrustArgs,
    /// Verify Sigstore bundle referrers (OCI 1.1) instead of the .sig tag (implied by a
    /// certificate identity)
    #[arg(long)]
    new_bundle_format: bool,
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
    /// Attach the attestation as a Sigstore bundle referrer (OCI 1.1) instead of in the .att tag
    #[arg(long)]
    new_bundle_format: bool,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
}

#[derive(clap::Args, Debug)]
pub(crate) struct VerifyAttestationArgs {
    /// What to verify: host/repo:tag or @digest, or a layout path with --oci-layout
    target: String,
    #[command(flatten)]
    trust: TrustArgs,
    /// Verify Sigstore bundle referrers (OCI 1.1) instead of the .att tag (implied by a
    /// certificate identity)
    #[arg(long)]
    new_bundle_format: bool,
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

/// The artifact `target` names, opened for reading and resolved.
async fn subject_of(common: &Common, target: &str, layout: bool) -> Result<(Opened, Descriptor)> {
    let opened = open(common, target, layout, Access::Read).await?;
    let subject = opened.resolve().await?;
    Ok((opened, subject))
}

/// The public key of the tag scheme's verifications.
fn tag_scheme_key(trust: &TrustArgs) -> Result<PublicKey> {
    let Some(path) = &trust.key else {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "a certificate identity verifies bundles: add --new-bundle-format, or give --key",
        ));
    };
    PublicKey::from_pem(&read_text(path, "public key")?).map_err(from_sign)
}

/// Verifies the bundle referrers of `subject` of `predicate_type` and reports them.
async fn verify_bundles(
    common: &Common,
    trust: &TrustArgs,
    (opened, subject): &(Opened, Descriptor),
    predicate_type: &str,
    what: &str,
) -> Result<()> {
    let signer = trust.signer()?;
    let root = trust.root()?;
    let verified = oci_sign::bundles::verify(
        &*opened.target,
        subject,
        predicate_type,
        &signer,
        &root,
        &trust.options(),
    )
    .await
    .map_err(from_sign)?;
    let mut checks = trust.checks();
    checks.push(format!(
        "The bundle's statement is about the artifact's digest, of predicate type {predicate_type}"
    ));
    let statements: Vec<_> = verified.iter().map(|v| json!(v.statement)).collect();
    report(common, opened, subject, what, &checks, &statements);
    Ok(())
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
    if args.new_bundle_format {
        let signed = oci_sign::bundles::sign(&*opened.target, &identity, &subject, &key).await;
        let referrer = signed.map_err(from_sign)?;
        return report_referrer(common, &opened, &subject, &referrer, "Signed", None);
    }
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
    let resolved = subject_of(common, &args.target, args.oci_layout).await?;
    let (opened, subject) = &resolved;
    if args.trust.keyless() && !args.new_bundle_format {
        // cosign's tag scheme first, as cosign 2 signs; bundle referrers when it has none.
        let options = verify_options(&args, opened)?;
        let found = oci_sign::tagged::verify_keyless(
            &*opened.target,
            subject,
            &args.trust.signer()?,
            &args.trust.root()?,
            &options,
        )
        .await;
        match found {
            Err(oci_sign::Error::NoSignatures { .. }) => {}
            found => {
                let verified = found.map_err(from_sign)?;
                let mut checks = args.trust.checks();
                checks.push("The signed digest is the artifact's digest".to_owned());
                if let Some(name) = &options.reference {
                    checks.push(format!("The signed identity is {name}"));
                }
                let payloads: Vec<_> = verified.iter().map(|v| json!(v.payload)).collect();
                report(common, opened, subject, "signatures", &checks, &payloads);
                return Ok(());
            }
        }
    }
    if args.new_bundle_format || args.trust.keyless() {
        let predicate_type = oci_sign::bundles::SIGNATURE_PREDICATE_TYPE;
        return verify_bundles(common, &args.trust, &resolved, predicate_type, "signatures").await;
    }
    let key = tag_scheme_key(&args.trust)?;
    let options = verify_options(&args, opened)?;
    let verified = tagged::verify(&*opened.target, subject, &key, &options)
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
    report(common, opened, subject, "signatures", &checks, &payloads);
    Ok(())
}

/// What a tag-scheme payload must name and carry.
fn verify_options(args: &VerifyArgs, opened: &Opened) -> Result<VerifyOptions> {
    let mut options = if args.any_identity {
        VerifyOptions::any_reference()
    } else {
        let name = args.signed_identity.clone();
        VerifyOptions::for_reference(name.unwrap_or_else(|| identity_of(opened)))
    };
    for (k, v) in parse_annotations(&args.annotations)? {
        options = options.with_annotation(k, v);
    }
    Ok(options)
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
    if args.new_bundle_format {
        let attested = oci_sign::bundles::attest(
            &*opened.target,
            &repository,
            &subject,
            &key,
            &predicate_type,
            predicate,
        )
        .await;
        let referrer = attested.map_err(from_sign)?;
        let label = Some(predicate_type.as_str());
        return report_referrer(common, &opened, &subject, &referrer, "Attested", label);
    }
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
    let resolved = subject_of(common, &args.target, args.oci_layout).await?;
    let (opened, subject) = &resolved;
    let wanted = args
        .predicate_type
        .as_deref()
        .map(oci_sign::attest::predicate_type);
    if args.new_bundle_format || args.trust.keyless() {
        let Some(wanted) = wanted else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "bundle attestations are verified by predicate type: give --type",
            ));
        };
        return verify_bundles(common, &args.trust, &resolved, wanted, "attestations").await;
    }
    let key = tag_scheme_key(&args.trust)?;
    let verified = oci_sign::attest::verify_attestations(&*opened.target, subject, &key, wanted)
        .await
        .map_err(from_sign)?;
    let checks = [
        "The DSSE envelope's signature was verified against the specified public key".to_owned(),
        "The statement's subject is the artifact's digest".to_owned(),
    ];
    let statements: Vec<_> = verified.iter().map(|v| json!(v.statement)).collect();
    report(
        common,
        opened,
        subject,
        "attestations",
        &checks,
        &statements,
    );
    Ok(())
}

/// What signing as a bundle made: the referrer attached to the subject.
fn report_referrer(
    common: &Common,
    opened: &Opened,
    subject: &Descriptor,
    referrer: &Descriptor,
    done: &str,
    predicate_type: Option<&str>,
) -> Result<()> {
    if common.json() {
        print_json(&json!({
            "subject": subject.digest.to_string(),
            "predicateType": predicate_type.unwrap_or(oci_sign::bundles::SIGNATURE_PREDICATE_TYPE),
            "referrer": referrer.digest.to_string(),
        }));
    } else {
        let shown = opened.show(subject.digest.as_str());
        match predicate_type {
            Some(t) => out!("{done} {shown} ({t})"),
            None => out!("{done} {shown}"),
        }
        out!("Bundle referrer: {}", referrer.digest);
    }
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
