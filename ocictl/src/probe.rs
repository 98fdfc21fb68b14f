//! `probe`: what a registry supports, found by trying.

use crate::target::client;
use crate::text::out;
use crate::{Common, print_json};
use oci_distribution_client::Support;
use oci_spec_types::Reference;
use oci_target::{Error, Result};

#[derive(clap::Args, Debug)]
pub(crate) struct ProbeArgs {
    /// host[:port] or host[:port]/repository (default repository: ocictl-probe)
    target: String,
}

fn split_probe_target(target: &str) -> Result<(String, String)> {
    let (registry, repository) = match target.split_once('/') {
        Some((r, repo)) => (r.to_owned(), repo.to_owned()),
        None => (target.to_owned(), "ocictl-probe".to_owned()),
    };
    Reference::new(&registry, &repository).map_err(|e| {
        Error::from(e).context(format!("{target:?} is not host[:port][/repository]"))
    })?;
    Ok((registry, repository))
}

pub(crate) async fn probe(common: &Common, args: ProbeArgs) -> Result<()> {
    let (registry, repository) = split_probe_target(&args.target)?;
    let client = client(common, &registry)?;
    let report = client.probe(&registry, &repository).await?;
    if common.json() {
        print_json(&serde_json::to_value(&report).expect("reports serialise"));
        return Ok(());
    }
    out!("Probed {registry}/{repository}");
    out!("{:<20} {:<9} detail", "capability", "supported");
    for f in &report.findings {
        let support = match f.support {
            Support::Yes => "yes",
            Support::No => "no",
            _ => "unknown",
        };
        out!("{:<20} {support:<9} {}", f.capability, f.detail);
    }
    out!(
        "Clean-up: {}",
        if report.cleaned_up {
            "everything the probe pushed was deleted"
        } else {
            "some probe content remains (the registry refused deletes)"
        }
    );
    Ok(())
}
