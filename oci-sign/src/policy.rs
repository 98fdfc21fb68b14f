//! A trust policy: which signatures and attestations an artifact needs, by repository, and a
//! store wrapper that refuses what the policy does not accept (the promotion gate).
//!
//! # The policy file
//!
//! JSON, in the spirit of containers' `policy.json`:
//!
//! ```json
//! {
//!   "default": { "type": "reject" },
//!   "scopes": {
//!     "registry.example/prod": {
//!       "type": "signedBy",
//!       "keys": ["keys/release.pub", "keys/backup.pub"],
//!       "threshold": 1,
//!       "signedIdentity": "matchRepository",
//!       "attestations": ["slsaprovenance1"]
//!     },
//!     "registry.example/dev": { "type": "accept" }
//!   }
//! }
//! ```
//!
//! - `scopes` maps a repository, or a prefix of one ending at a `/` (`registry.example` covers
//!   every repository there), to a requirement; the longest scope that covers a repository
//!   applies, and `default` (reject when absent) where none does. A layout is named by its
//!   path.
//! - A requirement is `{"type": "accept"}`, `{"type": "reject"}` or `{"type": "signedBy", …}`:
//!   - `keys`: public key files (PEM), relative to the policy file; `keyData`: PEM text inline.
//!     A key's signature counts in either scheme: cosign's `.sig` tag, or a Sigstore bundle
//!     referrer.
//!   - `identities`: keyless signers, each `{"identity": …, "issuer": …}` (or
//!     `identityRegexp`, `issuerRegexp`): a signature (`.sig` tag or bundle referrer) whose
//!     Fulcio certificate binds them, verified against `trustedRoot`.
//!   - `trustedRoot`: the Sigstore `trusted_root.json` (relative to the policy file) that
//!     bundles are verified against; required with `identities`.
//!   - `ignoreTlog`: accept key-signed bundles without transparency-log entries (default
//!     false; entries present are checked all the same).
//!   - `threshold`: how many of those keys and identities must each have a valid signature
//!     (default 1; 0 when only `attestations` are required, as for artifacts that are attested
//!     but not signed).
//!   - `signedIdentity`: the repository the signed payload must name: `"matchRepository"`
//!     (the repository being read, the default), `"any"`, or `{"exact": "registry/name"}`
//!     (for content signed under another name and copied here).
//!   - `attestations`: predicate types (URIs, or cosign's `--type` shorthands) that must each
//!     have an attestation verified by one of the keys or identities, in either scheme.
//!
//! Unknown fields are errors, so a typo never loosens a policy.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use oci_spec_types::{Descriptor, Digest, ImageIndex, MediaType};
use oci_target::{BlobStream, ErrorKind, ReadOnlyTarget, ReadOnlyTargetExt};
use serde::Deserialize;

use crate::bundles::{self, SIGNATURE_PREDICATE_TYPE};
use crate::keys::PublicKey;
use crate::sigstore::{Matcher, Options, Signer, TrustedRoot};
use crate::tagged::VerifyOptions;
use crate::{Error, Result, attest, tagged};

/// A trust policy, read from its file (see the module documentation for the format).
#[derive(Debug, Clone)]
pub struct Policy {
    default: Requirement,
    scopes: BTreeMap<String, Requirement>,
}

/// What an artifact in a scope needs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Requirement {
    /// Anything is accepted.
    Accept,
    /// Nothing is accepted.
    Reject,
    /// Signatures, and attestations, by known keys.
    SignedBy(SignedBy),
}

/// The `signedBy` requirement.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignedBy {
    /// The keys accepted.
    pub keys: Vec<PublicKey>,
    /// The keyless signers accepted: [`Signer::Identity`] each.
    pub identities: Vec<Signer>,
    /// What bundles are verified against.
    pub trusted_root: Arc<TrustedRoot>,
    /// How bundles are verified.
    pub options: Options,
    /// How many of the keys and identities must each have signed.
    pub threshold: usize,
    /// The repository signed payloads must name.
    pub identity: SignedIdentity,
    /// Predicate types that must each have a verified attestation.
    pub attestations: Vec<String>,
}

/// The repository a signed payload must name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignedIdentity {
    /// The repository the artifact is read from.
    MatchRepository,
    /// Any repository.
    Any,
    /// This one.
    Exact(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    #[serde(default)]
    default: Option<RequirementFile>,
    #[serde(default)]
    scopes: BTreeMap<String, RequirementFile>,
}

#[derive(Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
enum RequirementFile {
    #[serde(rename = "accept")]
    Accept,
    #[serde(rename = "reject")]
    Reject,
    #[serde(rename = "signedBy", rename_all = "camelCase")]
    SignedBy {
        #[serde(default)]
        keys: Vec<String>,
        #[serde(default)]
        key_data: Vec<String>,
        #[serde(default)]
        identities: Vec<IdentityRule>,
        #[serde(default)]
        trusted_root: Option<String>,
        #[serde(default)]
        ignore_tlog: bool,
        #[serde(default)]
        threshold: Option<usize>,
        #[serde(default)]
        signed_identity: Option<IdentityFile>,
        #[serde(default)]
        attestations: Vec<String>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IdentityRule {
    #[serde(default)]
    identity: Option<String>,
    #[serde(default)]
    identity_regexp: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    issuer_regexp: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IdentityFile {
    Named(String),
    Exact { exact: String },
}

impl Policy {
    /// Reads a policy file; key paths in it are relative to its directory.
    ///
    /// # Errors
    ///
    /// [`Error::Malformed`] for a file that is not a valid policy, or a key that cannot be read.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read(path)
            .map_err(|e| Error::malformed(format!("policy {}", path.display()), e))?;
        Self::from_json(&text, path.parent().unwrap_or(Path::new(".")))
    }

    /// Reads a policy from JSON; key paths are relative to `base`.
    ///
    /// # Errors
    ///
    /// As [`Policy::from_file`].
    pub fn from_json(json: &[u8], base: &Path) -> Result<Self> {
        let file: PolicyFile =
            serde_json::from_slice(json).map_err(|e| Error::malformed("policy", e))?;
        let default = match file.default {
            Some(r) => requirement(r, base, "default")?,
            None => Requirement::Reject,
        };
        let mut scopes = BTreeMap::new();
        for (scope, r) in file.scopes {
            let scope = scope.trim_end_matches('/').to_owned();
            if scope.is_empty() {
                return Err(Error::malformed("policy", "an empty scope"));
            }
            let req = requirement(r, base, &scope)?;
            scopes.insert(scope, req);
        }
        Ok(Policy { default, scopes })
    }

    /// A policy with one requirement for every repository.
    pub fn everywhere(requirement: Requirement) -> Self {
        Policy {
            default: requirement,
            scopes: BTreeMap::new(),
        }
    }

    /// The requirement for `repository`: the longest scope covering it, else the default.
    pub fn requirement_for(&self, repository: &str) -> &Requirement {
        let covers = |scope: &str| {
            repository == scope
                || repository
                    .strip_prefix(scope)
                    .is_some_and(|rest| rest.starts_with('/'))
        };
        self.scopes
            .iter()
            .filter(|(scope, _)| covers(scope))
            .max_by_key(|(scope, _)| scope.len())
            .map_or(&self.default, |(_, r)| r)
    }

    /// Checks `subject`, read from `repository` in `target`, against the policy.
    ///
    /// # Errors
    ///
    /// [`Error::Rejected`] saying which requirement failed and why; the store's errors.
    pub async fn check(
        &self,
        target: &dyn ReadOnlyTarget,
        subject: &Descriptor,
        repository: &str,
    ) -> Result<()> {
        let rejected = |why: String| Error::Rejected {
            repository: repository.to_owned(),
            digest: subject.digest.clone(),
            why,
        };
        let signed_by = match self.requirement_for(repository) {
            Requirement::Accept => return Ok(()),
            Requirement::Reject => return Err(rejected("the policy rejects it".into())),
            Requirement::SignedBy(s) => s,
        };
        let options = match &signed_by.identity {
            SignedIdentity::MatchRepository => VerifyOptions::for_reference(repository),
            SignedIdentity::Any => VerifyOptions::any_reference(),
            SignedIdentity::Exact(name) => VerifyOptions::for_reference(name.clone()),
        };
        let mut signers = 0;
        let mut reasons = Vec::new();
        for signer in signed_by.signers() {
            let mut why = Vec::new();
            let tag_scheme = match &signer {
                Signer::Key(key) => tagged::verify(target, subject, key, &options).await,
                identity => {
                    let root = &signed_by.trusted_root;
                    tagged::verify_keyless(target, subject, identity, root, &options).await
                }
            };
            match tag_scheme {
                Ok(_) => {
                    signers += 1;
                    continue;
                }
                Err(Error::Store(e)) => return Err(Error::Store(e)),
                Err(e) => why.push(e.to_string()),
            }
            match signed_by
                .bundles(target, subject, SIGNATURE_PREDICATE_TYPE, &signer)
                .await
            {
                Ok(()) => signers += 1,
                Err(Error::Store(e)) => return Err(Error::Store(e)),
                Err(e) => {
                    why.push(e.to_string());
                    reasons.push(format!("{}: {}", name_of(&signer), why.join("; ")));
                }
            }
        }
        if signers < signed_by.threshold {
            return Err(rejected(format!(
                "{signers} of the {} signers signed it, {} needed ({})",
                signed_by.keys.len() + signed_by.identities.len(),
                signed_by.threshold,
                reasons.join("; ")
            )));
        }
        for wanted in &signed_by.attestations {
            let mut found = false;
            let mut why = Vec::new();
            for signer in signed_by.signers() {
                if let Signer::Key(key) = &signer {
                    match attest::verify_attestations(target, subject, key, Some(wanted)).await {
                        Ok(_) => {
                            found = true;
                            break;
                        }
                        Err(Error::Store(e)) => return Err(Error::Store(e)),
                        Err(e) => why.push(e.to_string()),
                    }
                }
                match signed_by.bundles(target, subject, wanted, &signer).await {
                    Ok(()) => {
                        found = true;
                        break;
                    }
                    Err(Error::Store(e)) => return Err(Error::Store(e)),
                    Err(e) => why.push(e.to_string()),
                }
            }
            if !found {
                return Err(rejected(format!(
                    "no verified {wanted} attestation ({})",
                    why.join("; ")
                )));
            }
        }
        Ok(())
    }
}

impl SignedBy {
    /// The keys and identities, as signers.
    fn signers(&self) -> impl Iterator<Item = Signer> + '_ {
        let keys = self.keys.iter().map(|k| Signer::Key(k.clone()));
        keys.chain(self.identities.iter().cloned())
    }

    /// Whether a bundle referrer of `predicate_type` by `signer` verifies.
    async fn bundles(
        &self,
        target: &dyn ReadOnlyTarget,
        subject: &Descriptor,
        predicate_type: &str,
        signer: &Signer,
    ) -> Result<()> {
        let root = &self.trusted_root;
        bundles::verify(target, subject, predicate_type, signer, root, &self.options)
            .await
            .map(|_| ())
    }
}

fn name_of(signer: &Signer) -> String {
    match signer {
        Signer::Key(key) => format!("key {}", key.fingerprint()),
        Signer::Identity { identity, issuer } => format!("identity {identity} from {issuer}"),
    }
}

fn matcher(exact: Option<String>, pattern: Option<String>, what: &str) -> Result<Matcher> {
    match (exact, pattern) {
        (Some(exact), None) => Ok(Matcher::Exact(exact)),
        (None, Some(pattern)) => regex::Regex::new(&pattern)
            .map(Matcher::Regex)
            .map_err(|e| Error::malformed("policy", format!("{what}Regexp {pattern:?}: {e}"))),
        _ => Err(Error::malformed(
            "policy",
            format!("an identity needs one of {what} and {what}Regexp"),
        )),
    }
}

fn requirement(file: RequirementFile, base: &Path, scope: &str) -> Result<Requirement> {
    let bad = |why: String| Error::malformed(format!("policy for {scope:?}"), why);
    Ok(match file {
        RequirementFile::Accept => Requirement::Accept,
        RequirementFile::Reject => Requirement::Reject,
        RequirementFile::SignedBy {
            keys,
            key_data,
            identities,
            trusted_root,
            ignore_tlog,
            threshold,
            signed_identity,
            attestations,
        } => {
            let mut public = Vec::new();
            for k in &keys {
                let path = base.join(k);
                let pem = std::fs::read_to_string(&path)
                    .map_err(|e| bad(format!("cannot read the key {}: {e}", path.display())))?;
                public.push(PublicKey::from_pem(&pem).map_err(|e| bad(format!("{k}: {e}")))?);
            }
            for pem in &key_data {
                public.push(PublicKey::from_pem(pem).map_err(|e| bad(e.to_string()))?);
            }
            let identities = identities
                .into_iter()
                .map(|rule| {
                    Ok(Signer::Identity {
                        identity: matcher(rule.identity, rule.identity_regexp, "identity")?,
                        issuer: matcher(rule.issuer, rule.issuer_regexp, "issuer")?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let trusted_root = match &trusted_root {
                Some(file) => {
                    let path = base.join(file);
                    let bytes = std::fs::read(&path).map_err(|e| {
                        bad(format!(
                            "cannot read the trusted root {}: {e}",
                            path.display()
                        ))
                    })?;
                    TrustedRoot::from_slice(&bytes).map_err(|e| bad(e.to_string()))?
                }
                None if !identities.is_empty() => {
                    return Err(bad("identities need a trustedRoot".into()));
                }
                None => TrustedRoot::default(),
            };
            let signers = public.len() + identities.len();
            if signers == 0 {
                return Err(bad("signedBy names no key or identity".into()));
            }
            let threshold = threshold.unwrap_or(1);
            if threshold > signers || (threshold == 0 && attestations.is_empty()) {
                return Err(bad(format!(
                    "a threshold of {threshold} with {signers} signers{}",
                    if threshold == 0 {
                        " and no attestation required"
                    } else {
                        ""
                    }
                )));
            }
            let identity = match signed_identity {
                None => SignedIdentity::MatchRepository,
                Some(IdentityFile::Named(n)) if n == "matchRepository" => {
                    SignedIdentity::MatchRepository
                }
                Some(IdentityFile::Named(n)) if n == "any" => SignedIdentity::Any,
                Some(IdentityFile::Named(n)) => {
                    return Err(bad(format!(
                        "signedIdentity {n:?} is not matchRepository, any or {{\"exact\": …}}"
                    )));
                }
                Some(IdentityFile::Exact { exact }) => SignedIdentity::Exact(exact),
            };
            let attestations = attestations
                .iter()
                .map(|t| attest::predicate_type(t).to_owned())
                .collect();
            Requirement::SignedBy(SignedBy {
                keys: public,
                identities,
                trusted_root: Arc::new(trusted_root),
                options: Options::default().with_require_log(!ignore_tlog),
                threshold,
                identity,
                attestations,
            })
        }
    })
}

/// A store that serves only what a policy accepts: resolving a reference, or fetching a
/// manifest, checks the manifest first, and is an [`ErrorKind::Untrusted`] error when the policy
/// refuses it. What an accepted manifest reaches (an index's manifests, blobs) and its
/// signatures and attestations are served without more checks. As a copy's source it is the
/// promotion gate: nothing the policy refuses reaches the destination.
#[derive(Debug)]
pub struct Gate {
    inner: Arc<dyn ReadOnlyTarget>,
    policy: Arc<Policy>,
    repository: String,
    accepted: Mutex<HashSet<Digest>>,
}

impl Gate {
    /// Serves `inner`, which is `repository` (as policy scopes name it), through `policy`.
    pub fn new(inner: Arc<dyn ReadOnlyTarget>, policy: Arc<Policy>, repository: &str) -> Self {
        Gate {
            inner,
            policy,
            repository: repository.to_owned(),
            accepted: Mutex::new(HashSet::new()),
        }
    }

    fn is_accepted(&self, digest: &Digest) -> bool {
        self.accepted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains(digest)
    }

    fn accept(&self, digests: impl IntoIterator<Item = Digest>) {
        let mut set = self
            .accepted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        set.extend(digests);
    }

    /// Checks `desc` against the policy unless already accepted; an accepted index's manifests
    /// are accepted with it.
    async fn admit(&self, desc: &Descriptor) -> oci_target::Result<()> {
        if self.is_accepted(&desc.digest) {
            return Ok(());
        }
        match self
            .policy
            .check(&*self.inner, desc, &self.repository)
            .await
        {
            Ok(()) => {}
            Err(Error::Store(e)) => return Err(e),
            Err(e) => return Err(oci_target::Error::new(ErrorKind::Untrusted, e.to_string())),
        }
        let mut reached = vec![desc.digest.clone()];
        if desc.media_type.is_index() {
            let bytes = self.inner.fetch_manifest(desc).await?;
            if let Ok(index) = ImageIndex::from_slice(bytes) {
                reached.extend(index.value().manifests.iter().map(|m| m.digest.clone()));
            }
        }
        self.accept(reached);
        Ok(())
    }

    /// The subject digest of a cosign attachment tag (`sha256-<hex>.sig`), if it is one.
    fn attachment_subject(reference: &str) -> Option<Digest> {
        let (base, kind) = reference.rsplit_once('.')?;
        if !matches!(kind, "sig" | "att" | "sbom") {
            return None;
        }
        let (alg, hex) = base.split_once('-')?;
        format!("{alg}:{hex}").parse().ok()
    }
}

fn is_manifest(media_type: &MediaType) -> bool {
    media_type.is_manifest() || media_type.is_index()
}

#[async_trait]
impl ReadOnlyTarget for Gate {
    async fn fetch(&self, desc: &Descriptor) -> oci_target::Result<BlobStream> {
        if is_manifest(&desc.media_type) {
            self.admit(desc).await?;
        }
        self.inner.fetch(desc).await
    }

    async fn fetch_verified(&self, desc: &Descriptor) -> oci_target::Result<oci_target::Verified> {
        if is_manifest(&desc.media_type) {
            self.admit(desc).await?;
        }
        self.inner.fetch_verified(desc).await
    }

    async fn exists(&self, desc: &Descriptor) -> oci_target::Result<bool> {
        self.inner.exists(desc).await
    }

    async fn resolve(&self, reference: &str) -> oci_target::Result<Descriptor> {
        let desc = self.inner.resolve(reference).await?;
        match Self::attachment_subject(reference) {
            Some(subject) if self.is_accepted(&subject) => self.accept([desc.digest.clone()]),
            _ => self.admit(&desc).await?,
        }
        Ok(desc)
    }

    async fn tags(&self) -> oci_target::Result<Vec<String>> {
        self.inner.tags().await
    }

    async fn describe(&self, digest: &Digest) -> oci_target::Result<Descriptor> {
        self.inner.describe(digest).await
    }

    async fn referrers(
        &self,
        subject: &Descriptor,
        artifact_type: Option<&MediaType>,
    ) -> oci_target::Result<Vec<Descriptor>> {
        let found = self.inner.referrers(subject, artifact_type).await?;
        if self.is_accepted(&subject.digest) {
            self.accept(found.iter().map(|d| d.digest.clone()));
        }
        Ok(found)
    }
}
