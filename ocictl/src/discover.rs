//! `discover`: what refers to a manifest, as a tree, text or JSON.

use crate::target::{Opened, open_read};
use crate::text::out;
use crate::{Common, Format, print_json};
use oci_spec_types::{Descriptor, MediaType};
use oci_target::Result;
use serde_json::{Value, json};
use std::collections::HashSet;

#[derive(clap::Args, Debug)]
pub(crate) struct DiscoverArgs {
    /// The subject: host/repo:tag or @digest, or a layout path with --oci-layout
    target: String,
    /// The target is an OCI image layout directory
    #[arg(long)]
    oci_layout: bool,
    /// Only referrers of this artifact type
    #[arg(long)]
    artifact_type: Option<String>,
    /// How deep to follow referrers of referrers (default: all the way)
    #[arg(long)]
    depth: Option<usize>,
}

struct Node {
    desc: Descriptor,
    /// For cosign's tag-scheme attachments: the tag they are found by.
    tag: Option<String>,
    children: Vec<Node>,
}

impl Node {
    /// What the node is, for people: a signature, an attestation, an SBOM, or `other`.
    fn kind(&self) -> &'static str {
        use oci_spec_types::media_types as m;
        let artifact_type = self.desc.artifact_type.as_ref().map(MediaType::as_str);
        match (self.tag.as_deref(), artifact_type) {
            (Some(t), _) if t.ends_with(".sig") => "signature (cosign tag)",
            (Some(t), _) if t.ends_with(".att") => "attestation (cosign tag)",
            (Some(_), _) => "sbom (cosign tag)",
            (None, Some(m::COSIGN_SIGNATURE)) => "signature (cosign)",
            (None, Some(m::NOTARY_SIGNATURE)) => "signature (notation)",
            (None, Some(t)) if t.starts_with("application/vnd.dev.sigstore.bundle") => {
                match self.predicate_type() {
                    Some(oci_sign::bundles::SIGNATURE_PREDICATE_TYPE) => {
                        "signature (sigstore bundle)"
                    }
                    Some(_) => "attestation (sigstore bundle)",
                    None => "signature or attestation (sigstore bundle)",
                }
            }
            (None, Some(m::IN_TOTO | m::DSSE_ENVELOPE)) => "attestation",
            (None, Some(m::SPDX_JSON | m::SPDX_TEXT | m::CYCLONEDX_JSON | m::CYCLONEDX_XML))
            | (None, Some(m::COSIGN_SBOM)) => "sbom",
            _ => "other",
        }
    }

    /// The predicate type a bundle referrer's annotation names.
    fn predicate_type(&self) -> Option<&str> {
        self.desc
            .annotation(oci_sign::bundles::PREDICATE_TYPE_ANNOTATION)
    }

    /// The artifact type, or what stands for it.
    fn artifact_type(&self) -> &str {
        self.desc
            .artifact_type
            .as_ref()
            .map_or("(no artifact type)", MediaType::as_str)
    }
}

/// cosign's tag-scheme attachments of `subject`: its `.sig`, `.att` and `.sbom` manifests.
async fn cosign_attachments(opened: &Opened, subject: &Descriptor) -> Result<Vec<Node>> {
    let mut nodes = Vec::new();
    for kind in ["sig", "att", "sbom"] {
        let tag = oci_spec_types::distribution::cosign_tag(&subject.digest, kind);
        match opened.target.resolve(&tag).await {
            Ok(desc) => nodes.push(Node {
                desc,
                tag: Some(tag),
                children: Vec::new(),
            }),
            Err(e) if e.kind() == oci_target::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(nodes)
}

/// What a discovery has seen, and how far it may go.
struct Walk {
    limits: oci_target::Limits,
    seen: HashSet<oci_digest::Digest>,
}

/// The referrers of `subject` at `level`, and theirs in turn: as deep as `depth_left` asks and
/// the `graph-depth` limit allows, each node once, within the `graph-nodes` limit.
async fn referrers_tree(
    opened: &Opened,
    subject: &Descriptor,
    artifact_type: Option<&MediaType>,
    depth_left: Option<usize>,
    level: u64,
    walk: &mut Walk,
) -> Result<Vec<Node>> {
    if depth_left == Some(0) {
        return Ok(Vec::new());
    }
    let mut nodes = Vec::new();
    let found = opened.target.referrers(subject, artifact_type).await?;
    let what = format_args!("referrers of {}", subject.digest);
    if !found.is_empty() {
        walk.limits.check("graph-depth", level, what)?;
    }
    for desc in found {
        if !walk.seen.insert(desc.digest.clone()) {
            continue;
        }
        walk.limits
            .check("graph-nodes", walk.seen.len() as u64, what)?;
        let children = Box::pin(referrers_tree(
            opened,
            &desc,
            None,
            depth_left.map(|d| d - 1),
            level + 1,
            walk,
        ))
        .await?;
        nodes.push(Node {
            desc,
            tag: None,
            children,
        });
    }
    Ok(nodes)
}

fn node_json(node: &Node) -> Value {
    json!({
        "mediaType": node.desc.media_type.as_str(),
        "digest": node.desc.digest.as_str(),
        "size": node.desc.size,
        "artifactType": node.desc.artifact_type.as_ref().map(|t| t.as_str()),
        "kind": node.kind(),
        "tag": node.tag,
        "annotations": node.desc.annotations,
        "manifests": node.children.iter().map(node_json).collect::<Vec<_>>(),
    })
}

fn print_tree(nodes: &[Node], prefix: &str) {
    for (i, node) in nodes.iter().enumerate() {
        let last = i + 1 == nodes.len();
        let (branch, carry) = if last {
            ("└── ", "    ")
        } else {
            ("├── ", "│   ")
        };
        let kind = node.kind();
        match &node.tag {
            Some(tag) => out!("{prefix}{branch}{kind}: {tag}"),
            None if kind == "other" => out!("{prefix}{branch}{}", node.artifact_type()),
            None => match node.predicate_type() {
                Some(t) if kind.starts_with("attestation") => {
                    out!("{prefix}{branch}{} [{kind}: {t}]", node.artifact_type())
                }
                _ => out!("{prefix}{branch}{} [{kind}]", node.artifact_type()),
            },
        }
        let inner = format!("{prefix}{carry}");
        out!("{inner}└── {}", node.desc.digest);
        print_tree(&node.children, &format!("{inner}    "));
    }
}

pub(crate) async fn discover(common: &Common, args: DiscoverArgs) -> Result<()> {
    let opened = open_read(common, &args.target, args.oci_layout).await?;
    let subject = opened.resolve().await?;
    let filter = args
        .artifact_type
        .as_deref()
        .map(MediaType::parse)
        .transpose()?;
    let mut walk = Walk {
        limits: common.limits()?,
        seen: HashSet::from([subject.digest.clone()]),
    };
    let mut tree =
        referrers_tree(&opened, &subject, filter.as_ref(), args.depth, 1, &mut walk).await?;
    if filter.is_none() && args.depth != Some(0) {
        tree.extend(cosign_attachments(&opened, &subject).await?);
    }
    let shown = opened.show(subject.digest.as_str());
    match common.format {
        Some(Format::Json) => print_json(&json!({
            "reference": shown,
            "mediaType": subject.media_type.as_str(),
            "digest": subject.digest.as_str(),
            "size": subject.size,
            "manifests": tree.iter().map(node_json).collect::<Vec<_>>(),
        })),
        Some(Format::Text) => {
            fn flat(nodes: &[Node], out: &mut Vec<String>) {
                for n in nodes {
                    let kind = n.desc.artifact_type.as_ref().map_or("-", |t| t.as_str());
                    let what = n.tag.as_deref().unwrap_or(kind);
                    out.push(format!(
                        "{}  {what}  {}  {}",
                        n.desc.digest,
                        n.desc.size,
                        n.kind()
                    ));
                    flat(&n.children, out);
                }
            }
            let mut lines = Vec::new();
            flat(&tree, &mut lines);
            for l in lines {
                out!("{l}");
            }
        }
        Some(Format::Tree) | None => {
            out!("{shown}");
            print_tree(&tree, "");
        }
    }
    Ok(())
}
