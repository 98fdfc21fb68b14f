//! `blob fetch|push|delete`: blobs by digest, verified.

use crate::output::descriptor_json;
use crate::progress::{self, Verb};
use crate::target::{Access, Opened, open, open_read, stat_blob};
use crate::text::out;
use crate::{Common, print_json};
use futures_util::StreamExt;
use oci_digest::Digest;
use oci_spec_types::MediaType;
use oci_target::{Error, ErrorKind, RefKind, Result, parse_ref};
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub(crate) enum BlobCommand {
    /// Fetch a blob into a file (or stdout), verified
    Fetch {
        /// host/repo@digest, or a layout path@digest with --oci-layout
        target: String,
        /// The target is an OCI image layout directory
        #[arg(long)]
        oci_layout: bool,
        /// Write here (- for stdout); required unless --descriptor
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Print the descriptor instead of the content
        #[arg(long)]
        descriptor: bool,
    },
    /// Push a file as a blob
    Push {
        /// host/repo, or a layout path with --oci-layout
        target: String,
        /// The file
        file: PathBuf,
        /// The target is an OCI image layout directory
        #[arg(long)]
        oci_layout: bool,
        /// The media type shown in the printed descriptor
        #[arg(long, default_value = "application/octet-stream")]
        media_type: String,
    },
    /// Delete a blob
    Delete {
        /// host/repo@digest, or a layout path@digest with --oci-layout
        target: String,
        /// The target is an OCI image layout directory
        #[arg(long)]
        oci_layout: bool,
    },
}

fn blob_digest(opened: &Opened) -> Result<Digest> {
    match parse_ref(opened.require_reference()?)? {
        RefKind::Digest(d) => Ok(d),
        RefKind::Tag(t) => Err(Error::new(
            ErrorKind::InvalidReference,
            format!("a blob is named by digest, not by a tag ({t})"),
        )),
    }
}

pub(crate) async fn blob(common: &Common, command: BlobCommand) -> Result<()> {
    match command {
        BlobCommand::Fetch {
            target,
            oci_layout,
            output,
            descriptor,
        } => {
            let opened = open_read(common, &target, oci_layout).await?;
            let digest = blob_digest(&opened)?;
            let desc = stat_blob(&opened, &digest).await?;
            if descriptor {
                print_json(&descriptor_json(&desc));
                return Ok(());
            }
            let Some(output) = output else {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "give --output FILE (or - for stdout), or --descriptor",
                ));
            };
            let mut stream = opened.target.fetch(&desc).await?;
            if output.as_os_str() == "-" {
                let mut out = std::io::stdout().lock();
                while let Some(chunk) = stream.next().await {
                    out.write_all(&chunk?)?;
                }
                out.flush()?;
                return Ok(());
            }
            // Staged beside the destination, renamed only once every byte verified.
            let dir = output
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(std::path::Path::new("."));
            let staged = tempfile::Builder::new()
                .prefix(".ocictl-")
                .suffix(".partial")
                .tempfile_in(dir)
                .map_err(|e| {
                    Error::from(e).context(format!("cannot stage in {}", dir.display()))
                })?;
            oci_target::write_stream(stream, staged.reopen()?, staged.path(), false).await?;
            staged.persist(&output).map_err(|e| Error::from(e.error))?;
            out!("Downloaded {} to {}", desc.digest, output.display());
            Ok(())
        }
        BlobCommand::Push {
            target,
            file,
            oci_layout,
            media_type,
        } => {
            if tokio::fs::metadata(&file).await.is_ok_and(|m| m.is_dir()) {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("{} is a directory; a blob is one file", file.display()),
                ));
            }
            let opened = open(common, &target, oci_layout, Access::Write).await?;
            let mut layers = oci_artifact::files::push_files(
                &*opened.target,
                &[oci_artifact::files::FileRef::new(&file)
                    .with_media_type(MediaType::parse(&media_type)?)
                    .with_title("blob")],
                &push_options(common),
            )
            .await?;
            let mut desc = layers.remove(0);
            desc.annotations = None;
            if common.json() {
                print_json(&descriptor_json(&desc));
            } else {
                out!("Pushed {}", opened.show(desc.digest.as_str()));
                out!("Digest: {}", desc.digest);
            }
            Ok(())
        }
        BlobCommand::Delete { target, oci_layout } => {
            let opened = open(common, &target, oci_layout, Access::Write).await?;
            let digest = blob_digest(&opened)?;
            let desc = stat_blob(&opened, &digest).await?;
            opened.target.delete(&desc).await?;
            out!("Deleted {}", opened.show(desc.digest.as_str()));
            Ok(())
        }
    }
}

fn push_options(common: &Common) -> oci_artifact::files::PushFilesOptions {
    let mut options = oci_artifact::files::PushFilesOptions::default()
        .with_allow_absolute(true)
        .with_concurrency(common.concurrency);
    if let Some(sink) = progress::sink(Verb::Upload, common.quiet()) {
        options = options.with_progress(sink);
    }
    options
}
