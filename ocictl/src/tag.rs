//! `tag`: more tags on what a reference names.

use crate::Common;
use crate::target::{Access, open};
use crate::text::out;
use oci_target::Result;

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
