//! `push`, `pull` and `attach`: files in and out of artifacts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;
use oci_artifact::files::{FileRef, PullFilesOptions, PushFilesOptions, pull_files, push_files};
use oci_artifact::pack::{Created, ManifestVersion, PackOptions, pack_manifest};
use oci_spec_types::{Descriptor, MediaType, Platform, annotations};
use oci_target::{Error, ErrorKind, Result};
use serde_json::json;

use crate::progress::{self, Verb};
use crate::target::{Access, Opened, open, open_read};
use crate::text::out;
use crate::{Common, print_json};

/// `k=v` pairs into a map.
pub(crate) fn parse_annotations(pairs: &[String]) -> Result<BTreeMap<String, String>> {
    pairs
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .filter(|(k, _)| !k.is_empty())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!("annotation {pair:?} is not key=value"),
                    )
                })
        })
        .collect()
}

fn media_type(value: &str) -> Result<MediaType> {
    MediaType::parse(value).map_err(Error::from)
}

/// Flags shared by the commands that pack a manifest.
#[derive(clap::Args, Debug)]
pub(crate) struct PackFlags {
    /// The artifact type (image-spec v1.1 `artifactType`; the config media type for v1.0)
    #[arg(long)]
    artifact_type: Option<String>,
    /// A manifest annotation, key=value (repeatable)
    #[arg(short = 'a', long = "annotation", value_name = "KEY=VALUE")]
    annotations: Vec<String>,
    /// Manifest shape
    #[arg(long, value_enum, default_value = "v1.1")]
    image_spec: ImageSpec,
    /// The `created` annotation, RFC 3339 (default: SOURCE_DATE_EPOCH if set, else now)
    #[arg(long, value_name = "TIME")]
    created: Option<String>,
    /// Accept absolute file paths (titled by their last part)
    #[arg(long)]
    disable_path_validation: bool,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum ImageSpec {
    #[value(name = "v1.1")]
    V11,
    #[value(name = "v1.0")]
    V10,
}

impl PackFlags {
    fn options(&self) -> Result<PackOptions> {
        let mut options = PackOptions::default();
        options.version = match self.image_spec {
            ImageSpec::V11 => ManifestVersion::V1_1,
            ImageSpec::V10 => ManifestVersion::V1_0,
        };
        options.artifact_type = self.artifact_type.as_deref().map(media_type).transpose()?;
        options.annotations = parse_annotations(&self.annotations)?;
        options.created = match &self.created {
            Some(t) => Created::At(t.clone()),
            None => Created::from_source_date_epoch(),
        };
        Ok(options)
    }
}

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

async fn push_layers(
    common: &Common,
    opened: &Opened,
    files: &[String],
    allow_absolute: bool,
) -> Result<Vec<Descriptor>> {
    let refs: Vec<FileRef> = files.iter().map(|f| FileRef::parse(f)).collect();
    let mut options = PushFilesOptions::default()
        .with_concurrency(common.concurrency)
        .with_allow_absolute(allow_absolute);
    if let Some(sink) = progress::sink(Verb::Upload, common.quiet()) {
        options = options.with_progress(sink);
    }
    push_files(&*opened.target, &refs, &options).await
}

fn report(common: &Common, verb: &str, shown: &str, desc: &Descriptor, extra: serde_json::Value) {
    if common.json() {
        let mut value = json!({
            "reference": shown,
            "mediaType": desc.media_type.as_str(),
            "digest": desc.digest.as_str(),
            "size": desc.size,
            "artifactType": desc.artifact_type.as_ref().map(|t| t.as_str()),
            "annotations": desc.annotations,
        });
        if let (Some(obj), serde_json::Value::Object(more)) = (value.as_object_mut(), extra) {
            obj.extend(more);
        }
        print_json(&value);
    } else {
        out!("{verb} {shown}");
        if let Some(t) = &desc.artifact_type {
            out!("ArtifactType: {}", t.as_str());
        }
        out!("Digest: {}", desc.digest);
    }
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
    let layers = push_layers(
        common,
        &opened,
        &args.files,
        args.pack.disable_path_validation,
    )
    .await?;
    let desc = pack_manifest(&*opened.target, layers, &options).await?;
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
        subject = crate::graph::select_platform(&opened, subject, platform).await?;
    }
    let subject = Descriptor::new(subject.media_type, subject.digest, subject.size);
    options = options.with_subject(subject.clone());
    let layers = push_layers(
        common,
        &opened,
        &args.files,
        args.pack.disable_path_validation,
    )
    .await?;
    let desc = pack_manifest(&*opened.target, layers, &options).await?;
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
