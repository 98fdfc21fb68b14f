//! `resolve`: the digest a reference names.

use crate::output::descriptor_json;
use crate::target::open_read;
use crate::text::out;
use crate::{Common, print_json};
use oci_spec_types::Platform;
use oci_target::Result;

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
        desc = crate::cp::select_platform(&opened, desc, p).await?;
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
