//! The promotion workflow: push an image, attach its SBOM, sign it, attest its build
//! provenance, verify both, then copy it to production through a trust policy's gate, which
//! lets through only what the release key signed and attested. An unsigned image is refused.
//!
//! ```sh
//! # Staging in a temporary layout (or --oci-layout DIR, or [--plain-http] host/repo);
//! # production is always a temporary layout:
//! cargo run -p oci-examples --example sign_and_promote
//! ```

use std::sync::Arc;

use bytes::Bytes;
use oci_artifact::pack::{PackOptions, pack_manifest};
use oci_sign::{Gate, Policy, SigningKey, VerifyOptions, attest, tagged};
use oci_spec_types::{Descriptor, MediaType, media_types};
use oci_target::{ErrorKind, ExtendedCopyOptions, ReadOnlyTarget, Target, TargetExt};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// What was promoted.
#[derive(Debug)]
pub struct Promoted {
    /// The image, as production has it.
    pub image: Descriptor,
    /// How many referrers (the SBOM) arrived with it.
    pub referrers: usize,
}

/// Runs the workflow from `staging` (named `name` in signatures and the policy) to `prod`.
pub async fn run(staging: Arc<dyn Target>, name: &str, prod: &dyn Target) -> Result<Promoted> {
    // 1. The image and its SBOM, attached as a referrer.
    let image = oci_examples::push_demo_image(&*staging, "promote", "v1").await?;
    let spdx = MediaType::parse(media_types::SPDX_JSON)?;
    let sbom = staging
        .push_content(
            spdx.clone(),
            Bytes::from_static(br#"{"spdxVersion":"SPDX-2.3","name":"app-v1"}"#),
        )
        .await?;
    let options = PackOptions::new(spdx).with_subject(image.as_subject());
    pack_manifest(&*staging, vec![sbom], &options).await?;

    // 2. Sign and attest with the release key (cosign's tag scheme: .sig and .att).
    let key = SigningKey::generate();
    tagged::sign(&*staging, &image, name, &key, Default::default()).await?;
    let provenance = serde_json::json!({
        "buildDefinition": {"buildType": "https://example.com/make@v1"},
        "runDetails": {"builder": {"id": "https://example.com/ci"}},
    });
    let slsa = attest::predicate_type("slsaprovenance1");
    attest::attest(&*staging, &image, name, slsa, provenance, &key).await?;

    // 3. Verify, as `cosign verify` and `cosign verify-attestation` would.
    let public = key.public_key();
    let expected = VerifyOptions::for_reference(name);
    let signatures = tagged::verify(&*staging, &image, &public, &expected).await?;
    let attestations = attest::verify_attestations(&*staging, &image, &public, Some(slsa)).await?;
    println!(
        "{}: {} signature(s), {} provenance attestation(s)",
        image.digest,
        signatures.len(),
        attestations.len()
    );

    // 4. The policy: this repository needs the release key's signature and provenance.
    let policy = serde_json::json!({
        "default": {"type": "reject"},
        "scopes": {name: {
            "type": "signedBy",
            "keyData": [public.to_pem()?],
            "attestations": ["slsaprovenance1"],
        }},
    });
    let policy = Arc::new(Policy::from_json(
        &serde_json::to_vec(&policy)?,
        std::path::Path::new("."),
    )?);

    // 5. Promote through the gate: the image, its referrers, signatures and attestations.
    let gate = Gate::new(
        staging.clone() as Arc<dyn ReadOnlyTarget>,
        policy.clone(),
        name,
    );
    let copy = ExtendedCopyOptions::default();
    oci_target::extended_copy(&gate, "v1", prod, "v1", &copy).await?;
    let promoted = prod.resolve("v1").await?;
    assert_eq!(promoted.digest, image.digest);
    let referrers = prod.referrers(&promoted, None).await?.len();
    tagged::verify(prod, &image, &public, &expected).await?;
    println!("promoted {} with {referrers} referrer(s)", image.digest);

    // 6. An unsigned image does not pass.
    oci_examples::push_demo_image(&*staging, "unsigned", "v2").await?;
    let gate = Gate::new(staging as Arc<dyn ReadOnlyTarget>, policy, name);
    let refused = oci_target::extended_copy(&gate, "v2", prod, "v2", &copy).await;
    match refused {
        Err(e) if e.kind() == ErrorKind::Untrusted => println!("v2 refused: {e}"),
        other => return Err(format!("v2 should be refused, got {other:?}").into()),
    }
    assert!(prod.resolve("v2").await.is_err(), "nothing refused arrives");
    Ok(Promoted {
        image: promoted,
        referrers,
    })
}

#[tokio::main]
async fn main() -> Result<()> {
    let staging = oci_examples::target_from_args().await?;
    let prod_dir = tempfile::tempdir()?;
    let prod = oci_layout::OciLayout::create(prod_dir.path(), Default::default()).await?;
    run(staging.target.clone(), &staging.description, &prod).await?;
    Ok(())
}
