//! `manifest`, `blob`, `tag`, `resolve` and `repo`: single pieces of content and names.

use std::io::Write;
use std::path::PathBuf;

use bytes::Bytes;
use futures_util::StreamExt;
use oci_digest::Digest;
use oci_spec_types::{Descriptor, MediaType, Platform};
use oci_target::{Error, ErrorKind, RefKind, Result, TargetExt, parse_ref};
use serde_json::json;

use crate::progress::{self, Verb};
use crate::target::{Access, Opened, client, open, open_read, stat_blob};
use crate::text::out;
use crate::{Common, print_json};

fn descriptor_json(desc: &Descriptor) -> serde_json::Value {
    serde_json::to_value(desc).expect("descriptors serialise")
}

async fn read_input(path: &PathBuf) -> Result<Bytes> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut buf).await?;
        return Ok(Bytes::from(buf));
    }
    Ok(Bytes::from(tokio::fs::read(path).await.map_err(|e| {
        Error::from(e).context(format!("cannot read {}", path.display()))
    })?))
}

/// Writes `data` to `output` (a file, or stdout for `-` or none).
async fn write_output(output: Option<&PathBuf>, data: &[u8]) -> Result<()> {
    match output {
        Some(p) if p.as_os_str() != "-" => tokio::fs::write(p, data)
            .await
            .map_err(|e| Error::from(e).context(format!("cannot write {}", p.display()))),
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(data)?;
            out.flush()?;
            Ok(())
        }
    }
}

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
                desc = crate::graph::select_platform(&opened, desc, p).await?;
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
            let mut file = tokio::fs::File::from_std(staged.reopen()?);
            while let Some(chunk) = stream.next().await {
                tokio::io::AsyncWriteExt::write_all(&mut file, &chunk?).await?;
            }
            tokio::io::AsyncWriteExt::flush(&mut file).await?;
            drop(file);
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

#[derive(clap::Args, Debug)]
pub(crate) struct TagArgs {
    /// What to tag: host/repo:tag or @digest, or a layout path with --oci-layout
    target: String,
    /// The new tags
    #[arg(required = true)]
    tags: Vec<String>,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
}

pub(crate) async fn tag(common: &Common, args: TagArgs) -> Result<()> {
    let opened = open(common, &args.target, args.oci_layout, Access::Write).await?;
    let desc = opened.resolve().await?;
    for t in &args.tags {
        opened.target.tag(&desc, t).await?;
        out!("Tagged {}", opened.show(t));
    }
    out!("Digest: {}", desc.digest);
    Ok(())
}

#[derive(clap::Args, Debug)]
pub(crate) struct ResolveArgs {
    /// host/repo:tag, or a layout path:tag with --oci-layout
    target: String,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
    /// Print the full reference (repo@digest) instead of the digest
    #[arg(long)]
    full_reference: bool,
    /// For an index: resolve to this platform's manifest
    #[arg(long)]
    platform: Option<Platform>,
}

pub(crate) async fn resolve(common: &Common, args: ResolveArgs) -> Result<()> {
    let opened = open_read(common, &args.target, args.oci_layout).await?;
    let mut desc = opened.resolve().await?;
    if let Some(p) = &args.platform {
        desc = crate::graph::select_platform(&opened, desc, p).await?;
    }
    if common.json() {
        print_json(&descriptor_json(&desc));
    } else if args.full_reference {
        out!("{}", opened.show(desc.digest.as_str()));
    } else {
        out!("{}", desc.digest);
    }
    Ok(())
}

#[derive(clap::Subcommand, Debug)]
pub(crate) enum RepoCommand {
    /// List the tags of a repository (or a layout)
    Tags {
        /// host/repo, or a layout path with --oci-layout
        target: String,
        /// The target is an OCI image layout directory
        #[arg(long)]
        oci_layout: bool,
    },
    /// List the repositories of a registry
    #[command(alias = "list")]
    Ls {
        /// host[:port]
        registry: String,
    },
}

pub(crate) async fn repo(common: &Common, command: RepoCommand) -> Result<()> {
    let names = match command {
        RepoCommand::Tags { target, oci_layout } => {
            let opened = open_read(common, &target, oci_layout).await?;
            let mut tags = opened.target.tags().await?;
            tags.sort();
            tags
        }
        RepoCommand::Ls { registry } => {
            let client = client(common, &registry)?;
            let mut repos = client.catalog(&registry).await?;
            repos.sort();
            repos
        }
    };
    if common.json() {
        print_json(&json!(names));
    } else {
        for n in names {
            out!("{n}");
        }
    }
    Ok(())
}
