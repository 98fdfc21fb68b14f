//! `login`, `logout` and `probe`: a registry as a whole.

use oci_distribution_client::Support;
use oci_spec_types::Reference;
use oci_target::{Error, ErrorKind, Result};

use crate::target::{client, docker_config};
use crate::text::out;
use crate::{Common, print_json};

#[derive(clap::Args, Debug)]
pub(crate) struct LoginArgs {
    /// The registry host[:port]
    registry: String,
}

pub(crate) async fn login(common: &Common, args: LoginArgs) -> Result<()> {
    let credential = common.credential()?.ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidInput,
            "login needs -u and a password (-p or --password-stdin)",
        )
    })?;
    let anonymous = Common {
        username: None,
        password: None,
        password_stdin: false,
        ..common.clone()
    };
    let client = client(&anonymous, &args.registry)?;
    let mut store = docker_config(common)?;
    client.login(&args.registry, credential, &mut store).await?;
    out!("Login Succeeded");
    Ok(())
}

#[derive(clap::Args, Debug)]
pub(crate) struct LogoutArgs {
    /// The registry host[:port]
    registry: String,
}

pub(crate) async fn logout(common: &Common, args: LogoutArgs) -> Result<()> {
    let mut store = docker_config(common)?;
    if store.logout(&args.registry).await? {
        out!("Removed login credentials for {}", args.registry);
    } else {
        out!("Not logged in to {}", args.registry);
    }
    Ok(())
}

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
