//! `layout gc` and `layout fsck`: maintenance of an OCI image layout.

use std::path::PathBuf;
use std::time::Duration;

use oci_layout::{GcOptions, OciLayout, Problem};
use oci_target::Result;
use serde_json::json;

use crate::text::out;
use crate::{Common, print_json};

#[derive(clap::Subcommand, Debug)]
pub(crate) enum LayoutCommand {
    /// Remove what no tag reaches: unreferenced blobs, referrers of removed subjects, stale
    /// staging files
    Gc(GcArgs),
    /// Check every blob against its digest and every reference from index.json down
    Fsck(FsckArgs),
}

#[derive(clap::Args, Debug)]
pub(crate) struct GcArgs {
    /// The layout directory
    path: PathBuf,
    /// List what would be removed, remove nothing
    #[arg(long)]
    dry_run: bool,
    /// Spare anything written more recently than this many seconds (a copy may be under way)
    #[arg(long, value_name = "SECONDS", default_value_t = 600)]
    grace: u64,
}

#[derive(clap::Args, Debug)]
pub(crate) struct FsckArgs {
    /// The layout directory
    path: PathBuf,
}

pub(crate) async fn run(common: &Common, command: LayoutCommand) -> Result<()> {
    match command {
        LayoutCommand::Gc(args) => gc(common, args).await,
        LayoutCommand::Fsck(args) => fsck(common, args).await,
    }
}

async fn gc(common: &Common, args: GcArgs) -> Result<()> {
    let options = common.layout_options()?;
    let layout = if args.dry_run {
        OciLayout::open_read_only(&args.path).await?
    } else {
        OciLayout::open(&args.path, options).await?
    };
    let report = layout
        .gc(GcOptions::default()
            .with_dry_run(args.dry_run)
            .with_grace(Duration::from_secs(args.grace)))
        .await?;
    if common.json() {
        print_json(&json!({
            "dryRun": args.dry_run,
            "blobs": report.blobs.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
            "entries": report.entries.iter().map(|d| d.as_str()).collect::<Vec<_>>(),
            "staging": report.staging.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "bytes": report.bytes,
        }));
        return Ok(());
    }
    let verb = if args.dry_run {
        "Would remove"
    } else {
        "Removed"
    };
    for d in &report.blobs {
        out!("{verb} blob {d}");
    }
    for d in &report.entries {
        out!("{verb} index entry {d}");
    }
    for p in &report.staging {
        out!("{verb} staging file {}", p.display());
    }
    out!(
        "{verb} {} blobs, {} index entries, {} staging files ({} bytes)",
        report.blobs.len(),
        report.entries.len(),
        report.staging.len(),
        report.bytes
    );
    Ok(())
}

fn describe(problem: &Problem) -> String {
    match problem {
        Problem::Missing {
            digest,
            referenced_by,
        } => format!("missing {digest} (referenced by {referenced_by})"),
        Problem::SizeMismatch {
            digest,
            expected,
            actual,
        } => format!("size of {digest}: {actual} bytes, {expected} expected"),
        Problem::DigestMismatch { digest, actual } => {
            format!("content of {digest} hashes to {actual}")
        }
        Problem::InvalidManifest { digest, reason } => {
            format!("invalid manifest {digest}: {reason}")
        }
        Problem::StrayFile { path } => format!("stray file {}", path.display()),
        Problem::Unsafe { path, reason } => format!("unsafe path {}: {reason}", path.display()),
        other => format!("{other:?}"),
    }
}

async fn fsck(common: &Common, args: FsckArgs) -> Result<()> {
    let layout = OciLayout::open_read_only(&args.path).await?;
    let problems = layout.fsck().await?;
    if common.json() {
        print_json(&json!({
            "problems": problems.iter().map(describe).collect::<Vec<_>>(),
        }));
    } else {
        for p in &problems {
            out!("{}", describe(p));
        }
        out!("{} problems", problems.len());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(oci_target::Error::new(
            oci_target::ErrorKind::DigestMismatch,
            format!("{} has {} problems", args.path.display(), problems.len()),
        ))
    }
}
