//! The copy engine: moves a graph of content from one store to another.
//!
//! It walks index → manifests → config, layers and subject; skips what the destination has;
//! shares one transfer between every part of the graph that needs the same digest; bounds how
//! many transfers run at once; pushes children before parents and tags the root last, so a tag
//! never points at an incomplete graph. Every store's pushes are atomic, so dropping a copy's
//! future midway leaves only whole, verified content behind, and running the copy again moves
//! only what is missing.
//!
//! All transfers of one copy run on the caller's task, polled together; the stores are borrowed,
//! not shared, so any `&dyn Target` will do.

mod engine;
mod options;

use std::collections::HashSet;

use oci_digest::Digest;
use oci_spec_types::{Descriptor, MediaType, Platform};

pub use options::{CopyGraphOptions, CopyOptions, ExtendedCopyOptions, MountSources};

use crate::graph::{self, is_index, is_manifest};
use crate::tag::{RefKind, parse_ref};
use crate::{Error, ErrorKind, Limits, ReadOnlyTarget, ReadOnlyTargetExt, Result, Target};
use engine::Engine;

/// What a copy did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyStats {
    /// Nodes transferred (blobs and manifests).
    pub copied: u64,
    /// Nodes the destination already had.
    pub skipped: u64,
    /// Blobs mounted from another repository instead of transferred.
    pub mounted: u64,
    /// Bytes transferred.
    pub bytes: u64,
}

/// The outcome of [`copy`] and [`extended_copy`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Copied {
    /// The root that was copied (for a platform-filtered copy, the platform's manifest).
    pub root: Descriptor,
    /// What the copy did.
    pub stats: CopyStats,
}

/// Copies what `src_ref` names in `src` into `dst`, then tags it `dst_ref` there.
///
/// `dst_ref` may be empty or a digest, in which case nothing is tagged. With a platform in
/// `options`, an index is resolved to the one manifest for that platform, which is copied and
/// tagged alone.
///
/// # Errors
///
/// Errors of either store, as they come; [`ErrorKind::NotFound`] when the platform filter matches
/// nothing. Whatever was pushed before the error stays, whole and verified.
pub async fn copy(
    src: &dyn ReadOnlyTarget,
    src_ref: &str,
    dst: &dyn Target,
    dst_ref: &str,
    options: &CopyOptions,
) -> Result<Copied> {
    let root = resolve_root(src, src_ref, options).await?;
    let engine = Engine::new(src, dst, &options.graph);
    engine.copy_roots(std::slice::from_ref(&root)).await?;
    tag_root(dst, &root, dst_ref).await?;
    Ok(Copied {
        root,
        stats: engine.stats(),
    })
}

/// Copies `root` and everything below it from `src` to `dst`, tagging nothing.
///
/// # Errors
///
/// Errors of either store, as they come.
pub async fn copy_graph(
    src: &dyn ReadOnlyTarget,
    dst: &dyn Target,
    root: &Descriptor,
    options: &CopyGraphOptions,
) -> Result<CopyStats> {
    let engine = Engine::new(src, dst, options);
    engine.copy_roots(std::slice::from_ref(root)).await?;
    Ok(engine.stats())
}

/// Copies like [`copy`], and also the root's referrers (signatures, SBOMs, attestations),
/// their referrers in turn up to `options.depth`, and, unless turned off, cosign's tag-scheme
/// attachments with their tags. The root is tagged last of all.
///
/// A source that cannot list referrers contributes none; one that cannot list tags contributes
/// no cosign attachments.
///
/// # Errors
///
/// As [`copy`].
pub async fn extended_copy(
    src: &dyn ReadOnlyTarget,
    src_ref: &str,
    dst: &dyn Target,
    dst_ref: &str,
    options: &ExtendedCopyOptions,
) -> Result<Copied> {
    let root = resolve_root(src, src_ref, &options.copy).await?;
    let engine = Engine::new(src, dst, &options.copy.graph);
    engine.copy_roots(std::slice::from_ref(&root)).await?;
    let limits = &options.copy.graph.limits;

    let src_tags: HashSet<String> = if options.cosign_tags {
        match src.tags().await {
            Ok(tags) => tags.into_iter().collect(),
            Err(e) => {
                tracing::debug!(error = %e, "source cannot list tags; skipping cosign attachments");
                HashSet::new()
            }
        }
    } else {
        HashSet::new()
    };

    let server_filter = match options.artifact_types.as_slice() {
        [only] => Some(only),
        _ => None,
    };
    let mut seen: HashSet<Digest> = HashSet::from([root.digest.clone()]);
    let mut frontier = vec![root.clone()];
    let mut attachment_tags: Vec<(Descriptor, String)> = Vec::new();
    let mut depth = 0usize;
    while !frontier.is_empty() && options.depth.is_none_or(|max| depth < max) {
        limits.check(
            "graph-depth",
            depth as u64 + 1,
            format_args!("referrers of {}", root.digest),
        )?;
        let mut next = Vec::new();
        for subject in &frontier {
            let found = match src.referrers(subject, server_filter).await {
                Ok(found) => found,
                Err(e) if e.is_unsupported() => Vec::new(),
                Err(e) => return Err(e),
            };
            for r in found {
                if wanted_type(&options.artifact_types, &r) && seen.insert(r.digest.clone()) {
                    next.push(r);
                }
            }
            for tag in cosign_tags_for(&subject.digest) {
                if !src_tags.contains(&tag) {
                    continue;
                }
                let desc = src.resolve(&tag).await?;
                if seen.insert(desc.digest.clone()) {
                    next.push(desc.clone());
                }
                attachment_tags.push((desc, tag));
            }
        }
        limits.check(
            "graph-nodes",
            seen.len() as u64,
            format_args!("referrers of {}", root.digest),
        )?;
        engine.copy_roots(&next).await?;
        frontier = next;
        depth += 1;
    }
    for (desc, tag) in &attachment_tags {
        dst.tag(desc, tag).await?;
    }
    tag_root(dst, &root, dst_ref).await?;
    Ok(Copied {
        root,
        stats: engine.stats(),
    })
}

/// The tags cosign gives a signature, attestation and SBOM of `digest`.
fn cosign_tags_for(digest: &Digest) -> [String; 3] {
    ["sig", "att", "sbom"].map(|kind| oci_spec_types::distribution::cosign_tag(digest, kind))
}

async fn tag_root(dst: &dyn Target, root: &Descriptor, dst_ref: &str) -> Result<()> {
    if dst_ref.is_empty() || matches!(parse_ref(dst_ref)?, RefKind::Digest(_)) {
        return Ok(());
    }
    dst.tag(root, dst_ref).await
}

async fn resolve_root(
    src: &dyn ReadOnlyTarget,
    src_ref: &str,
    options: &CopyOptions,
) -> Result<Descriptor> {
    let root = src.resolve(src_ref).await?;
    let Some(want) = &options.platform else {
        return Ok(root);
    };
    select_platform(src, root, want, src_ref, &options.graph.limits).await
}

/// Picks the manifest for `want` under `root`, following nested indexes as deep as the
/// `graph-depth` limit allows.
///
/// # Errors
///
/// [`ErrorKind::NotFound`] when no manifest matches; [`ErrorKind::SizeLimitExceeded`] naming
/// `graph-depth` for indexes nested deeper than it; errors of the store.
pub async fn select_platform(
    src: &dyn ReadOnlyTarget,
    root: Descriptor,
    want: &Platform,
    src_ref: &str,
    limits: &Limits,
) -> Result<Descriptor> {
    let no_match = || {
        Error::not_found(format!(
            "{src_ref} has no manifest for platform {}/{}{}",
            want.os,
            want.architecture,
            want.variant
                .as_deref()
                .map(|v| format!("/{v}"))
                .unwrap_or_default()
        ))
    };
    let mut node = root;
    let mut depth = 0u64;
    loop {
        limits.check(
            "graph-depth",
            depth,
            format_args!("platform selection in {src_ref}"),
        )?;
        depth += 1;
        if node.platform.is_some() && !is_index(&node.media_type) {
            // Chosen from an index by its platform: the index is authoritative.
            return Ok(node);
        }
        if is_index(&node.media_type) {
            let bytes = src.fetch_bytes(&node, limits.manifest_bytes).await?;
            let links = graph::links(&node, &bytes)?;
            node = links
                .manifests
                .into_iter()
                .find(|m| {
                    m.platform.as_ref().is_some_and(|p| want.matches(p))
                        || (is_index(&m.media_type) && m.platform.is_none())
                })
                .ok_or_else(no_match)?;
            continue;
        }
        if !is_manifest(&node.media_type) {
            return Err(no_match());
        }
        // An image manifest: its config says its platform.
        let bytes = src.fetch_bytes(&node, limits.manifest_bytes).await?;
        let links = graph::links(&node, &bytes)?;
        let config = links.config.ok_or_else(no_match)?;
        let config_bytes = src.fetch_bytes(&config, limits.manifest_bytes).await?;
        let have = Platform::of_config(&config_bytes).map_err(|e| {
            Error::new(
                ErrorKind::InvalidManifest,
                format!("config {} is not a JSON image config: {e}", config.digest),
            )
        })?;
        return if want.matches(&have) {
            Ok(node)
        } else {
            Err(no_match())
        };
    }
}

/// Is this referrer of one of the wanted artifact types (all when the list is empty)?
fn wanted_type(types: &[MediaType], desc: &Descriptor) -> bool {
    types.is_empty()
        || desc
            .artifact_type
            .as_ref()
            .is_some_and(|t| types.contains(t))
}
