//! `manifest fetch|push|delete|index`: manifests as raw documents.

use crate::output::{descriptor_json, read_input, write_output};
use crate::target::{Access, open, open_read};
use crate::text::out;
use crate::{Common, print_json};
use oci_spec_types::{Descriptor, MediaType, Platform};
use oci_target::{Error, ErrorKind, Result, TargetExt};
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum ManifestCommand {
    /// Print a manifest (its exact bytes), or its descriptor
    Fetch {
        /// host/repo:tag or @digest, or a layout path with --oci-layout
        target: String,
        /// The target is an OCI image layout directory
        #[arg(long)]
        oci_layout: bool,
        /// Print the descriptor instead of the content
        #[arg(long)]
        descriptor: bool,
        /// Write to this file instead of stdout
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// For an index: fetch this platform's manifest
        #[arg(long)]
        platform: Option<Platform>,
    },
    /// Push a manifest from a file (or - for stdin)
    Push {
        /// host/repo[:tag[,tag...]], or a layout path with --oci-layout
        target: String,
        /// The manifest file, or - for stdin
        file: PathBuf,
        /// The target is an OCI image layout directory
        #[arg(long)]
        oci_layout: bool,
        /// The media type (default: the document's own mediaType field)
        #[arg(long)]
        media_type: Option<String>,
    },
    /// Delete a manifest
    Delete {
        /// host/repo:tag or @digest, or a layout path with --oci-layout
        target: String,
        /// The target is an OCI image layout directory
        #[arg(long)]
        oci_layout: bool,
    },
    /// Create or update a multi-platform index
    #[command(subcommand)]
    Index(crate::index::IndexCommand),
}

fn manifest_media_type(bytes: &[u8], given: Option<&str>) -> Result<MediaType> {
    if let Some(m) = given {
        return Ok(MediaType::parse(m)?);
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::new(
            ErrorKind::InvalidManifest,
            format!("the manifest is not JSON: {e}"),
        )
    })?;
    match value.get("mediaType").and_then(|m| m.as_str()) {
        Some(m) => Ok(MediaType::parse(m)?),
        None if value.get("manifests").is_some() => Ok(MediaType::image_index()),
        None => Ok(MediaType::image_manifest()),
    }
}

pub(crate) async fn manifest(common: &Common, command: ManifestCommand) -> Result<()> {
    match command {
        ManifestCommand::Fetch {
            target,
            oci_layout,
            descriptor,
            output,
            platform,
        } => {
            let opened = open_read(common, &target, oci_layout).await?;
            let mut desc = opened.resolve().await?;
            if let Some(p) = &platform {
                desc = crate::cp::select_platform(&opened, desc, p).await?;
            }
            if descriptor {
                let text =
                    serde_json::to_string_pretty(&descriptor_json(&desc)).expect("serialisable");
                return write_output(output.as_ref(), format!("{text}\n").as_bytes()).await;
            }
            let bytes =
                oci_target::ReadOnlyTargetExt::fetch_manifest(&*opened.target, &desc).await?;
            write_output(output.as_ref(), &bytes).await
        }
        ManifestCommand::Push {
            target,
            file,
            oci_layout,
            media_type,
        } => {
            let opened = open(common, &target, oci_layout, Access::Write).await?;
            let bytes = read_input(&file).await?;
            let media_type = manifest_media_type(&bytes, media_type.as_deref())?;
            let desc = Descriptor::new(media_type, oci_digest::sha256(&bytes), bytes.len() as u64);
            opened.target.push_bytes(&desc, bytes).await?;
            let tags = opened.tags();
            for tag in &tags {
                opened.target.tag(&desc, tag).await?;
            }
            if common.json() {
                print_json(&descriptor_json(&desc));
            } else {
                let shown = tags
                    .first()
                    .map_or_else(|| opened.show(desc.digest.as_str()), |t| opened.show(t));
                out!("Pushed {shown}");
                out!("Digest: {}", desc.digest);
            }
            Ok(())
        }
        ManifestCommand::Index(command) => crate::index::run(common, command).await,
        ManifestCommand::Delete { target, oci_layout } => {
            let opened = open(common, &target, oci_layout, Access::Write).await?;
            let desc = opened.resolve().await?;
            opened.target.delete(&desc).await?;
            out!("Deleted {}", opened.show(desc.digest.as_str()));
            Ok(())
        }
    }
}
