//! `login` and `logout`: credentials in the docker configuration.

use crate::Common;
use crate::target::{client, docker_config};
use crate::text::out;
use oci_target::{Error, ErrorKind, Result};

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
