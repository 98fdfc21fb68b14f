//! `attach`: an artifact whose subject is a manifest already there.

use crate::Common;
use crate::pack_flags::*;
use crate::push::push_and_pack;
use crate::target::{Access, open};
use oci_artifact::pack::ManifestVersion;
use oci_spec_types::Platform;
use oci_target::{Error, ErrorKind, Result};
use serde_json::json;

#[derive(clap::Args, Debug)]
pub(crate) struct AttachArgs {
    /// The manifest to attach to: host/repo:tag or @digest, or a layout path with --oci-layout
    target: String,
    /// Files or directories, each path[:mediaType]
    files: Vec<String>,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
    /// For an index: attach to this platform's manifest (os/arch[/variant])
    #[arg(long)]
    platform: Option<Platform>,
    #[command(flatten)]
    pack: PackFlags,
}

pub(crate) async fn attach(common: &Common, args: AttachArgs) -> Result<()> {
    let mut options = args.pack.options()?;
    if options.artifact_type.is_none() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "attach needs --artifact-type",
        ));
    }
    if options.version != ManifestVersion::V1_1 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "attach writes a subject, which needs --image-spec v1.1",
        ));
    }
    let opened = open(common, &args.target, args.oci_layout, Access::Write).await?;
    let mut subject = opened.resolve().await?;
    if let Some(platform) = &args.platform {
        subject = crate::cp::select_platform(&opened, subject, platform).await?;
    }
    options = options.with_subject(subject.clone());
    let desc = push_and_pack(common, &opened, &args.files, &args.pack, &options).await?;
    let shown = opened.show(desc.digest.as_str());
    report(
        common,
        "Attached to",
        &opened.show(subject.digest.as_str()),
        &desc,
        json!({ "reference": shown, "subject": subject.digest.as_str() }),
    );
    Ok(())
}
