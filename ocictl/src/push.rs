//! `push`: files and directories as an artifact.

use crate::Common;
use crate::pack_flags::*;
use crate::progress::{self, Verb};
use crate::target::{Access, Opened, open};
use bytes::Bytes;
use oci_artifact::files::{FileRef, PushFilesOptions, push_files};
use oci_artifact::pack::{ManifestVersion, PackOptions, pack_manifest};
use oci_spec_types::Descriptor;
use oci_target::{Error, Result};
use serde_json::json;

#[derive(clap::Args, Debug)]
pub(crate) struct PushArgs {
    /// Where to push: host/repo[:tag[,tag...]], or a layout path[:tag] with --oci-layout
    target: String,
    /// Files or directories, each path[:mediaType]
    files: Vec<String>,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
    /// A config file of your own, path[:mediaType]
    #[arg(long, value_name = "FILE")]
    config: Option<String>,
    #[command(flatten)]
    pack: PackFlags,
}

/// Pushes `files` (`path[:mediaType]`) as layers and packs a manifest over them with `options`:
/// what `push` and `attach` share.
pub(crate) async fn push_and_pack(
    common: &Common,
    opened: &Opened,
    files: &[String],
    flags: &PackFlags,
    options: &PackOptions,
) -> Result<Descriptor> {
    let refs: Vec<FileRef> = files.iter().map(|f| FileRef::parse(f)).collect();
    let mut push = PushFilesOptions::default()
        .with_concurrency(common.concurrency)
        .with_allow_absolute(flags.disable_path_validation);
    if let Some(sink) = progress::sink(Verb::Upload, common.quiet()) {
        push = push.with_progress(sink);
    }
    let layers = push_files(&*opened.target, &refs, &push).await?;
    pack_manifest(&*opened.target, layers, options).await
}

pub(crate) async fn push(common: &Common, args: PushArgs) -> Result<()> {
    let mut options = args.pack.options()?;
    if let Some(config) = &args.config {
        let file = FileRef::parse(config);
        let content = tokio::fs::read(&file.path)
            .await
            .map_err(|e| Error::from(e).context(format!("cannot read {}", file.path.display())))?;
        let media_type = match file.media_type {
            Some(m) => m,
            None => media_type(oci_artifact::pack::UNKNOWN_CONFIG_MEDIA_TYPE)?,
        };
        let desc = Descriptor::new(
            media_type,
            oci_digest::sha256(&content),
            content.len() as u64,
        );
        options = options.with_config(desc, Bytes::from(content));
    }
    if options.artifact_type.is_none()
        && options.config.is_none()
        && options.version == ManifestVersion::V1_1
    {
        // As oras does: an artifact with no type of its own is of unknown type.
        options.artifact_type = Some(media_type("application/vnd.unknown.artifact.v1")?);
    }
    let opened = open(common, &args.target, args.oci_layout, Access::Write).await?;
    let desc = push_and_pack(common, &opened, &args.files, &args.pack, &options).await?;
    let tags = opened.tags();
    for tag in &tags {
        opened.target.tag(&desc, tag).await?;
    }
    let shown = match tags.first() {
        Some(t) => opened.show(t),
        None => opened.show(desc.digest.as_str()),
    };
    report(common, "Pushed", &shown, &desc, json!({ "tags": tags }));
    Ok(())
}
