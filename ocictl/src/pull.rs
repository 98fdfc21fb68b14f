//! `pull`: an artifact's files into a directory, verified.

use crate::progress::{self, Verb};
use crate::target::open_read;
use crate::text::out;
use crate::{Common, print_json};
use oci_artifact::files::{PullFilesOptions, pull_files};
use oci_spec_types::{Platform, annotations};
use oci_target::Result;
use serde_json::json;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub(crate) struct PullArgs {
    /// What to pull: host/repo:tag or @digest, or a layout path with --oci-layout
    target: String,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
    /// Output directory
    #[arg(short, long, default_value = ".")]
    output: PathBuf,
    /// Replace files that exist (by default an existing name stops the pull before any download)
    #[arg(long)]
    overwrite: bool,
    /// For an index: pull this platform's manifest (os/arch[/variant])
    #[arg(long)]
    platform: Option<Platform>,
}

pub(crate) async fn pull(common: &Common, args: PullArgs) -> Result<()> {
    let opened = open_read(common, &args.target, args.oci_layout).await?;
    let reference = opened.require_reference()?.to_owned();
    let mut options = PullFilesOptions::default()
        .with_overwrite(args.overwrite)
        .with_concurrency(common.concurrency)
        .with_limits(common.limits()?);
    if let Some(p) = args.platform {
        options = options.with_platform(p);
    }
    if let Some(sink) = progress::sink(Verb::Download, common.quiet()) {
        options = options.with_progress(sink);
    }
    let report = pull_files(&*opened.target, &reference, &args.output, &options).await?;
    if common.json() {
        let files: Vec<_> = report
            .files
            .iter()
            .map(|f| {
                json!({
                    "path": f.path,
                    "title": f.descriptor.annotation(annotations::TITLE),
                    "digest": f.descriptor.digest.as_str(),
                    "size": f.descriptor.size,
                    "mediaType": f.descriptor.media_type.as_str(),
                    "unpacked": f.unpacked,
                })
            })
            .collect();
        print_json(&json!({
            "reference": opened.show(&reference),
            "digest": report.manifest.digest.as_str(),
            "files": files,
            "skipped": report.skipped.len(),
        }));
    } else {
        for f in &report.files {
            out!("{}", f.path.display());
        }
        if !report.skipped.is_empty() {
            out!(
                "Skipped {} layer(s) without an {} annotation",
                report.skipped.len(),
                annotations::TITLE
            );
        }
        out!("Pulled {}", opened.show(&reference));
        out!("Digest: {}", report.manifest.digest);
    }
    Ok(())
}
