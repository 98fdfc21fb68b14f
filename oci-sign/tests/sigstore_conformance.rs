//! The Sigstore client conformance suite's offline bundle-verification cases
//! (`tests/data/sigstore-conformance/bundle-verify`): each case directory holds a bundle, and
//! optionally the artifact, a key, an identity, an issuer and a trusted root; a name ending in
//! `_fail` must be refused. Our verifier must agree with every case it supports, and say
//! `unsupported` (never pass) for the rest.

use std::path::{Path, PathBuf};

use oci_sign::sigstore::{self, Artifact, Bundle, Matcher, Signer, SigstoreError, TrustedRoot};
use oci_sign::{Error, PublicKey};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigstore-conformance")
}

fn read_text(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// Runs one case the way the suite's client protocol does, offline.
fn run(case: &Path) -> Result<sigstore::Verified, Error> {
    let suite = case.parent().unwrap();
    let artifact = std::fs::read(case.join("artifact"))
        .unwrap_or_else(|_| std::fs::read(suite.join("a.txt")).unwrap());
    let root_bytes = std::fs::read(case.join("trusted_root.json"))
        .unwrap_or_else(|_| std::fs::read(data().join("production_trusted_root.json")).unwrap());
    let root = TrustedRoot::from_slice(&root_bytes)?;
    let signer = match read_text(&case.join("key.pub")) {
        Some(pem) => Signer::Key(PublicKey::from_pem(&pem)?),
        None => Signer::Identity {
            identity: Matcher::Exact(
                read_text(&case.join("identity")).unwrap_or(DEFAULT_IDENTITY.into()),
            ),
            issuer: Matcher::Exact(
                read_text(&case.join("issuer")).unwrap_or(DEFAULT_ISSUER.into()),
            ),
        },
    };
    let bundle = Bundle::from_slice(&std::fs::read(case.join("bundle.sigstore.json")).unwrap())?;
    sigstore::verify(&bundle, Artifact::Bytes(&artifact), &signer, &root)
}

/// The report's groups: what each case mostly exercises.
fn group_of(name: &str) -> &'static str {
    if name.starts_with("rekor2-") {
        "Rekor v2 entries with RFC 3161 timestamps"
    } else if name.starts_with("managed-key") {
        "managed keys"
    } else if name.contains("dsse") || name.contains("intoto") {
        "DSSE envelopes (dsse, intoto entries)"
    } else if name.starts_with("trust-root") {
        "trusted-root periods"
    } else {
        "message signatures, Rekor v1 (chain, SCT, SET, proofs, checkpoints)"
    }
}

#[test]
fn bundle_verify_cases_agree_with_the_suite() {
    let dir = data().join("bundle-verify");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 70, "the suite's case count");
    let (mut agree, mut disagree, mut unsupported) = (Vec::new(), Vec::new(), Vec::new());
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let should_pass = !name.ends_with("_fail");
        let outcome = run(case);
        let line = match &outcome {
            Ok(v) => format!("{name}: verified ({})", v.signer),
            Err(e) => format!("{name}: refused: {e}"),
        };
        match outcome {
            Err(Error::Sigstore(SigstoreError::Unsupported(_))) => unsupported.push(line),
            Ok(_) if should_pass => agree.push(line),
            Err(_) if !should_pass => agree.push(line),
            _ => disagree.push(line),
        }
    }
    let mut groups: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for case in &cases {
        let name = case.file_name().unwrap().to_string_lossy();
        let group = group_of(&name);
        let entry = groups.entry(group).or_default();
        entry.1 += 1;
        if agree.iter().any(|l| l.starts_with(&format!("{name}:"))) {
            entry.0 += 1;
        }
    }
    for (group, (ok, all)) in &groups {
        println!("{group}: {ok}/{all} agree");
    }
    println!("agree ({}):\n  {}", agree.len(), agree.join("\n  "));
    println!(
        "unsupported ({}):\n  {}",
        unsupported.len(),
        unsupported.join("\n  ")
    );
    println!(
        "disagree ({}):\n  {}",
        disagree.len(),
        disagree.join("\n  ")
    );
    assert!(disagree.is_empty(), "{} cases disagree", disagree.len());
}
