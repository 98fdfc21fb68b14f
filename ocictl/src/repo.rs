//! `repo tags|ls`: listings.

use crate::target::{client, open_read};
use crate::text::out;
use crate::{Common, print_json};
use oci_target::Result;
use serde_json::json;

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
