//! `manifest index create` and `manifest index update`: multi-platform indexes from manifests
//! already in the store, each listed with the platform its config says.

use oci_artifact::pack::{IndexOptions, pack_index, update_index};
use oci_spec_types::{Descriptor, ImageConfig, ImageManifest};
use oci_target::{Error, ErrorKind, ReadOnlyTargetExt, Result};

use crate::target::{Access, Opened, open};
use crate::text::out;
use crate::{Common, print_json};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum IndexCommand {
    /// Create an index over manifests already in the repository or layout
    Create {
        /// Where the index goes: host/repo[:tag[,tag...]], or a layout path with --oci-layout
        target: String,
        /// The manifests, by tag or digest in the same repository or layout
        #[arg(required = true)]
        sources: Vec<String>,
        /// The target is an OCI image layout directory
        #[arg(long)]
        oci_layout: bool,
        /// Index annotations, KEY=VALUE
        #[arg(short = 'a', long = "annotation")]
        annotations: Vec<String>,
    },
    /// Add manifests to an index (replacing the one of the same platform) or remove them
    Update {
        /// The index: host/repo:tag, or a layout path:tag with --oci-layout
        target: String,
        /// Manifests to add, by tag or digest
        #[arg(long = "add")]
        add: Vec<String>,
        /// Manifests to remove, by digest
        #[arg(long = "remove")]
        remove: Vec<String>,
        /// The target is an OCI image layout directory
        #[arg(long)]
        oci_layout: bool,
    },
}

/// The descriptor of `reference`, with the platform its config says when it is an image
/// manifest.
async fn with_platform(opened: &Opened, reference: &str) -> Result<Descriptor> {
    let desc = opened.target.resolve(reference).await?;
    if desc.media_type.is_index() || !desc.media_type.is_manifest() {
        return Ok(desc);
    }
    let bytes = opened.target.fetch_manifest(&desc).await?;
    let manifest = ImageManifest::from_slice(bytes)?.into_parts().0;
    let config = opened.target.fetch_manifest(&manifest.config).await?;
    let Ok(config) = ImageConfig::from_slice(config) else {
        // An artifact's config says no platform: listed without one.
        return Ok(desc);
    };
    Ok(desc.with_platform(config.into_parts().0.platform))
}

fn print(common: &Common, opened: &Opened, verb: &str, desc: &Descriptor) {
    if common.json() {
        print_json(&serde_json::to_value(desc).expect("descriptors serialise"));
        return;
    }
    let shown = opened
        .tags()
        .first()
        .map_or_else(|| opened.show(desc.digest.as_str()), |t| opened.show(t));
    out!("{verb} {shown}");
    out!("Digest: {}", desc.digest);
}

pub(crate) async fn run(common: &Common, command: IndexCommand) -> Result<()> {
    match command {
        IndexCommand::Create {
            target,
            sources,
            oci_layout,
            annotations,
        } => {
            let opened = open(common, &target, oci_layout, Access::Write).await?;
            let mut manifests = Vec::new();
            for s in &sources {
                manifests.push(with_platform(&opened, s).await?);
            }
            let mut options = IndexOptions::default();
            for a in &annotations {
                let (k, v) = a.split_once('=').ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidInput,
                        format!("{a:?}: expected KEY=VALUE"),
                    )
                })?;
                options = options.with_annotation(k, v);
            }
            let desc = pack_index(&*opened.target, manifests, &options).await?;
            for t in opened.tags() {
                opened.target.tag(&desc, &t).await?;
            }
            print(common, &opened, "Created", &desc);
            Ok(())
        }
        IndexCommand::Update {
            target,
            add,
            remove,
            oci_layout,
        } => {
            let opened = open(common, &target, oci_layout, Access::Write).await?;
            let reference = opened.require_reference()?.to_owned();
            let mut added = Vec::new();
            for a in &add {
                added.push(with_platform(&opened, a).await?);
            }
            let removed = remove
                .iter()
                .map(|d| oci_digest::Digest::parse(d).map_err(Error::from))
                .collect::<Result<Vec<_>>>()?;
            let desc = update_index(&*opened.target, &reference, added, &removed).await?;
            print(common, &opened, "Updated", &desc);
            Ok(())
        }
    }
}
