//! `cp`: copy an artifact or image, with its referrers, between registries and layouts.

use crate::progress::{self, Verb};
use crate::target::{Access, Opened, open, open_read};
use crate::text::out;
use crate::{Common, print_json};
use oci_spec_types::{Descriptor, ImageIndex, Platform};
use oci_target::{
    CopyGraphOptions, CopyOptions, Error, ErrorKind, ExtendedCopyOptions, ReadOnlyTarget,
    ReadOnlyTargetExt, Result, copy as copy_one, extended_copy,
};
use serde_json::json;
use std::sync::Arc;

/// For an index, the manifest for `platform`; anything else is returned as it is.
pub(crate) async fn select_platform(
    opened: &Opened,
    desc: Descriptor,
    platform: &Platform,
) -> Result<Descriptor> {
    if !desc.media_type.is_index() {
        return Ok(desc);
    }
    let bytes = opened.target.fetch_manifest(&desc).await?;
    let index = ImageIndex::from_slice(bytes)?.into_parts().0;
    index.select(platform).cloned().ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!("{} has no manifest for {platform}", desc.digest),
        )
    })
}

#[derive(clap::Args, Debug)]
pub(crate) struct CopyArgs {
    /// Source: host/repo:tag or @digest, or a layout path with --from-oci-layout
    source: String,
    /// Destination: host/repo[:tag[,tag...]], or a layout path with --to-oci-layout
    /// (the source's tag when none is given)
    destination: String,
    /// Also copy what refers to the source (signatures, SBOMs), recursively
    #[arg(short = 'r', long)]
    recursive: bool,
    /// For an index: copy only this platform's manifest (os/arch[/variant])
    #[arg(long)]
    platform: Option<Platform>,
    /// Copy only what this trust policy accepts (signatures and attestations by its keys; see
    /// the oci-sign crate for the file format): nothing it refuses reaches the destination
    #[arg(long, value_name = "FILE")]
    policy: Option<std::path::PathBuf>,
    /// The source is an OCI image layout directory
    #[arg(long)]
    from_oci_layout: bool,
    /// The destination is an OCI image layout directory
    #[arg(long)]
    to_oci_layout: bool,
    /// Talk plain HTTP to the source registry
    #[arg(long)]
    from_plain_http: bool,
    /// Talk plain HTTP to the destination registry
    #[arg(long)]
    to_plain_http: bool,
    /// Accept any TLS certificate from the source registry
    #[arg(long)]
    from_insecure: bool,
    /// Accept any TLS certificate from the destination registry
    #[arg(long)]
    to_insecure: bool,
    /// Trust this CA certificate (PEM) for the source registry
    #[arg(long, value_name = "FILE")]
    from_ca_file: Option<std::path::PathBuf>,
    /// Trust this CA certificate (PEM) for the destination registry
    #[arg(long, value_name = "FILE")]
    to_ca_file: Option<std::path::PathBuf>,
    /// Credentials file for the source registry
    #[arg(long, value_name = "FILE")]
    from_registry_config: Option<std::path::PathBuf>,
    /// Credentials file for the destination registry
    #[arg(long, value_name = "FILE")]
    to_registry_config: Option<std::path::PathBuf>,
    /// Username for the source registry
    #[arg(long)]
    from_username: Option<String>,
    /// Password for the source registry
    #[arg(long)]
    from_password: Option<String>,
    /// Username for the destination registry
    #[arg(long)]
    to_username: Option<String>,
    /// Password for the destination registry
    #[arg(long)]
    to_password: Option<String>,
}

/// `common` with one side's flags: each given flag replaces the shared one.
fn side(
    common: &Common,
    plain_http: bool,
    insecure: bool,
    ca_file: &Option<std::path::PathBuf>,
    registry_config: &Option<std::path::PathBuf>,
    username: &Option<String>,
    password: &Option<String>,
) -> Common {
    let mut c = common.clone();
    c.plain_http |= plain_http;
    c.insecure |= insecure;
    if ca_file.is_some() {
        c.ca_file.clone_from(ca_file);
    }
    if registry_config.is_some() {
        c.registry_config.clone_from(registry_config);
    }
    if username.is_some() {
        c.username.clone_from(username);
        c.password.clone_from(password);
        c.password_stdin = false;
    }
    c
}

pub(crate) async fn copy(common: &Common, args: CopyArgs) -> Result<()> {
    let src = open_read(
        &args.source_side(common),
        &args.source,
        args.from_oci_layout,
    )
    .await?;
    let src_ref = src.require_reference()?.to_owned();
    let dst_common = args.destination_side(common);
    let dst = open(
        &dst_common,
        &args.destination,
        args.to_oci_layout,
        Access::Write,
    )
    .await?;
    let dst_ref = dst.reference.clone().unwrap_or_else(|| src_ref.clone());

    let mut graph = CopyGraphOptions::default()
        .with_concurrency(common.concurrency)
        .with_limits(common.limits()?);
    if let Some(sink) = progress::sink(Verb::Copy, common.quiet()) {
        graph.progress = Some(sink);
    }
    // Within one registry, blobs are mounted from the source repository instead of copied.
    if let (Some((s_registry, s_name)), Some((d_registry, d_name))) = (&src.location, &dst.location)
        && s_registry == d_registry
        && s_name != d_name
    {
        let from = s_name.clone();
        graph = graph.with_mount_from(move |_| vec![from.clone()]);
    }
    let mut options = CopyOptions::default().with_graph(graph);
    if let Some(p) = args.platform {
        options = options.with_platform(p);
    }
    // With a policy, the source is read through its gate.
    let source: Arc<dyn ReadOnlyTarget> = match &args.policy {
        Some(file) => {
            let policy = oci_sign::Policy::from_file(file).map_err(crate::sign::from_sign)?;
            let name = crate::sign::identity_of(&src);
            Arc::new(oci_sign::Gate::new(
                src.target.clone(),
                Arc::new(policy),
                &name,
            ))
        }
        None => src.target.clone(),
    };
    let copied = if args.recursive {
        let ext = ExtendedCopyOptions::default().with_copy(options);
        extended_copy(&*source, &src_ref, &*dst.target, &dst_ref, &ext).await?
    } else {
        copy_one(&*source, &src_ref, &*dst.target, &dst_ref, &options).await?
    };
    let mut tags = Vec::new();
    for tag in &dst.extra_tags {
        dst.target.tag(&copied.root, tag).await?;
        tags.push(tag.clone());
    }
    if common.json() {
        print_json(&json!({
            "source": src.show(&src_ref),
            "destination": dst.show(&dst_ref),
            "mediaType": copied.root.media_type.as_str(),
            "digest": copied.root.digest.as_str(),
            "size": copied.root.size,
            "tags": tags,
            "copied": copied.stats.copied,
            "skipped": copied.stats.skipped,
            "mounted": copied.stats.mounted,
            "bytes": copied.stats.bytes,
        }));
    } else {
        out!("Copied {} => {}", src.show(&src_ref), dst.show(&dst_ref));
        out!("Digest: {}", copied.root.digest);
    }
    Ok(())
}

impl CopyArgs {
    /// The common flags with the source's own flags on top.
    fn source_side(&self, common: &Common) -> Common {
        side(
            common,
            self.from_plain_http,
            self.from_insecure,
            &self.from_ca_file,
            &self.from_registry_config,
            &self.from_username,
            &self.from_password,
        )
    }

    /// The common flags with the destination's own flags on top.
    fn destination_side(&self, common: &Common) -> Common {
        side(
            common,
            self.to_plain_http,
            self.to_insecure,
            &self.to_ca_file,
            &self.to_registry_config,
            &self.to_username,
            &self.to_password,
        )
    }
}
