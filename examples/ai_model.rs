//! Push an AI model file the way Docker Model Runner packages one: a GGUF weights layer, a
//! licence layer, and a Docker model config that says the format, size and architecture.
//!
//! ```sh
//! cargo run -p oci-examples --example ai_model [-- --oci-layout DIR | --plain-http host/repo]
//! ```

use bytes::Bytes;
use oci_artifact::files::{FileRef, PushFilesOptions, push_files};
use oci_artifact::pack::{PackOptions, pack_manifest};
use oci_spec_types::{Descriptor, ImageManifest, MediaType, annotations, media_types};
use oci_target::{ReadOnlyTargetExt, Result, Target, TargetExt};

/// Pushes the model and tags it `q4`; returns the manifest descriptor.
pub async fn run(target: &dyn Target) -> Result<Descriptor> {
    let work = tempfile::tempdir()?;
    // A GGUF file starts with the magic `GGUF` and a version; the rest here is filler.
    let mut gguf = b"GGUF\x03\x00\x00\x00".to_vec();
    gguf.extend((0..256 * 1024u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8));
    let weights = work.path().join("tiny-llama.Q4_0.gguf");
    std::fs::write(&weights, &gguf)?;
    let licence = work.path().join("LICENSE");
    std::fs::write(&licence, "Apache-2.0\n")?;

    let layers = push_files(
        target,
        &[
            FileRef::new(&weights)
                .with_title("tiny-llama.Q4_0.gguf")
                .with_media_type(MediaType::parse(media_types::DOCKER_AI_GGUF)?),
            FileRef::new(&licence)
                .with_title("LICENSE")
                .with_media_type(MediaType::parse(media_types::DOCKER_AI_LICENSE)?),
        ],
        &PushFilesOptions::default(),
    )
    .await?;

    let config = Bytes::from(format!(
        r#"{{"config":{{"format":"gguf","quantization":"Q4_0","parameters":"1.1B","architecture":"llama","size":"{}"}},"descriptor":{{"created":"2025-01-01T00:00:00Z"}},"rootfs":{{"type":"rootfs","diff_ids":["{}"]}}}}"#,
        gguf.len(),
        layers[0].digest
    ));
    let config_type = MediaType::parse(media_types::DOCKER_AI_MODEL_CONFIG)?;
    let config_desc = target
        .push_content(config_type.clone(), config.clone())
        .await?;
    let options = PackOptions::default()
        .with_config(config_desc, config)
        .with_annotation(annotations::TITLE, "tiny-llama");
    let manifest = pack_manifest(target, layers, &options).await?;
    target.tag(&manifest, "q4").await?;

    let (_, bytes) = target.resolve_manifest("q4").await?;
    let parsed = ImageManifest::from_slice(bytes)?.into_parts().0;
    assert_eq!(parsed.config.media_type, config_type);
    println!(
        "pushed model tiny-llama:q4 ({} layers) as {}",
        parsed.layers.len(),
        manifest.digest
    );
    Ok(manifest)
}

#[tokio::main]
async fn main() -> Result<()> {
    let t = oci_examples::target_from_args().await?;
    run(&*t.target).await.map(drop)
}
