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
    children: Vec<Node>,
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
        nodes.push(Node { desc, children });
    }
    Ok(nodes)
}

fn node_json(node: &Node) -> Value {
    json!({
        "mediaType": node.desc.media_type.as_str(),
        "digest": node.desc.digest.as_str(),
        "size": node.desc.size,
        "artifactType": node.desc.artifact_type.as_ref().map(|t| t.as_str()),
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
        let kind = node
            .desc
            .artifact_type
            .as_ref()
            .map_or("(no artifact type)", |t| t.as_str());
        out!("{prefix}{branch}{kind}");
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
    let tree = referrers_tree(&opened, &subject, filter.as_ref(), args.depth, 1, &mut walk).await?;
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
                    out.push(format!("{}  {kind}  {}", n.desc.digest, n.desc.size));
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
