//! `ocictl`: push, pull, copy and inspect OCI artifacts in registries and OCI image layouts.
//!
//! Built only on the public APIs of the workspace's crates; read it as an example of using them.

mod attach;
mod blob;
mod cp;
mod discover;
mod index;
mod layout;
mod login;
mod manifest;
mod output;
mod pack_flags;
mod probe;
mod progress;
mod pull;
mod push;
mod repo;
mod resolve;
mod sign;
mod tag;
mod target;
mod text;
mod trust;

use text::err;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use oci_distribution_client::auth::Credential;
use oci_target::{Error, ErrorKind, Result};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  any other failure (network, registry, I/O)
  2  bad usage or input: flags, references, digests, media types, files to push
  3  not found: the tag, digest, repository or file does not exist
  4  authentication or authorisation refused
  5  content failed verification: digest or size mismatch
  6  refused to write: the path would escape the output directory, or exists (see --overwrite)";

#[derive(Parser, Debug)]
#[command(
    name = "ocictl",
    version,
    about = "Push, pull, copy and inspect OCI artifacts in registries and OCI image layouts",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// Flags every command takes.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct Common {
    /// Talk plain HTTP to the registry (never sends credentials to any other host)
    #[arg(long, global = true)]
    pub(crate) plain_http: bool,
    /// Accept any TLS certificate from the registry
    #[arg(long, global = true)]
    pub(crate) insecure: bool,
    /// Trust this CA certificate (PEM) for the registry
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Docker-style credentials file (default: $DOCKER_CONFIG/config.json or ~/.docker/config.json)
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) registry_config: Option<PathBuf>,
    /// Registry username
    #[arg(short = 'u', long, global = true)]
    pub(crate) username: Option<String>,
    /// Registry password (prefer --password-stdin: command lines are visible to other users)
    #[arg(short = 'p', long, global = true)]
    pub(crate) password: Option<String>,
    /// Read the password from standard input
    #[arg(long, global = true)]
    pub(crate) password_stdin: bool,
    /// Blobs moved at once
    #[arg(long, global = true, default_value_t = 4)]
    pub(crate) concurrency: usize,
    /// Output format: text, json, or tree (discover)
    #[arg(long, global = true, value_enum)]
    pub(crate) format: Option<Format>,
    /// No progress output
    #[arg(long, global = true)]
    pub(crate) no_progress: bool,
    /// Raise or lower one of the limits on untrusted input, as NAME=VALUE (K, M, G, T suffixes);
    /// repeatable. Names: manifest-bytes, index-json-bytes, token-bytes, error-body-bytes,
    /// listing-bytes, listing-items, listing-pages, graph-depth, graph-nodes, redirects,
    /// upload-recoveries, unpacked-bytes, unpacked-entries, expansion-ratio
    #[arg(long = "limit", global = true, value_name = "NAME=VALUE")]
    pub(crate) limits: Vec<String>,
    /// Do not fsync what is written to a layout (faster; a power loss may lose recent writes)
    #[arg(long, global = true)]
    pub(crate) no_fsync: bool,
}

impl Common {
    pub(crate) fn credential(&self) -> Result<Option<Credential>> {
        target::credential_from(
            self.username.as_deref(),
            self.password.as_deref(),
            self.password_stdin,
        )
    }

    /// The limits, defaults changed by `--limit`.
    pub(crate) fn limits(&self) -> Result<oci_target::Limits> {
        let mut limits = oci_target::Limits::default();
        for assignment in &self.limits {
            limits.set_from_str(assignment)?;
        }
        Ok(limits)
    }

    /// The options layouts are opened with.
    pub(crate) fn layout_options(&self) -> Result<oci_layout::LayoutOptions> {
        Ok(oci_layout::LayoutOptions::default()
            .with_limits(self.limits()?)
            .with_fsync(!self.no_fsync))
    }

    pub(crate) fn json(&self) -> bool {
        self.format == Some(Format::Json)
    }

    /// Whether progress is drawn.
    pub(crate) fn quiet(&self) -> bool {
        self.no_progress || self.json()
    }
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Json,
    Tree,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Push files and directories as an artifact
    Push(push::PushArgs),
    /// Pull an artifact's files into a directory
    Pull(pull::PullArgs),
    /// Attach an artifact (an SBOM, a signature) to a manifest as its subject
    Attach(attach::AttachArgs),
    /// List the artifacts attached to a manifest (referrers), recursively
    Discover(discover::DiscoverArgs),
    /// Copy an artifact or image between registries and layouts
    #[command(alias = "copy")]
    Cp(cp::CopyArgs),
    /// Fetch, push or delete manifests
    #[command(subcommand)]
    Manifest(manifest::ManifestCommand),
    /// Fetch, push or delete blobs
    #[command(subcommand)]
    Blob(blob::BlobCommand),
    /// Tag a manifest
    Tag(tag::TagArgs),
    /// Make a cosign key pair: PREFIX.key (encrypted with $COSIGN_PASSWORD) and PREFIX.pub
    GenerateKeyPair(sign::GenerateKeyPairArgs),
    /// Sign an artifact with a key, as `cosign sign --key` does (cosign's .sig tag scheme)
    Sign(sign::SignArgs),
    /// Verify an artifact's signatures with a public key, as `cosign verify --key` does
    Verify(sign::VerifyArgs),
    /// Attest a predicate about an artifact (in-toto in DSSE), as `cosign attest --key` does
    Attest(sign::AttestArgs),
    /// Verify an artifact's attestations with a public key, as `cosign verify-attestation` does
    VerifyAttestation(sign::VerifyAttestationArgs),
    /// Verify a Sigstore bundle over a file, offline, as `cosign verify-blob --bundle` does
    VerifyBlob(trust::VerifyBlobArgs),
    /// Print the digest a reference resolves to
    Resolve(resolve::ResolveArgs),
    /// List tags or repositories
    #[command(subcommand)]
    Repo(repo::RepoCommand),
    /// Store credentials for a registry, after checking them
    Login(login::LoginArgs),
    /// Remove stored credentials for a registry
    Logout(login::LogoutArgs),
    /// Find out by trying what a registry supports
    Probe(probe::ProbeArgs),
    /// Maintain an OCI image layout: collect garbage, check every blob
    #[command(subcommand)]
    Layout(layout::LayoutCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completion {
        /// The shell
        shell: clap_complete::Shell,
    },
    /// Print the version of ocictl and of the crates it is built on
    Version,
}

fn exit_code(error: &Error) -> u8 {
    match error.kind() {
        ErrorKind::NotFound => 3,
        ErrorKind::Unauthorized | ErrorKind::Denied => 4,
        ErrorKind::DigestMismatch | ErrorKind::SizeMismatch | ErrorKind::Untrusted => 5,
        ErrorKind::UnsafePath | ErrorKind::AlreadyExists => 6,
        ErrorKind::InvalidInput
        | ErrorKind::InvalidReference
        | ErrorKind::InvalidDigest
        | ErrorKind::InvalidMediaType => 2,
        _ => 1,
    }
}

async fn run(cli: Cli) -> Result<()> {
    let common = &cli.common;
    match cli.command {
        Command::Push(args) => push::push(common, args).await,
        Command::Pull(args) => pull::pull(common, args).await,
        Command::Attach(args) => attach::attach(common, args).await,
        Command::Discover(args) => discover::discover(common, args).await,
        Command::Cp(args) => cp::copy(common, args).await,
        Command::Manifest(cmd) => manifest::manifest(common, cmd).await,
        Command::Blob(cmd) => blob::blob(common, cmd).await,
        Command::Tag(args) => tag::tag(common, args).await,
        Command::GenerateKeyPair(args) => sign::generate_key_pair(args).await,
        Command::Sign(args) => sign::sign(common, args).await,
        Command::Verify(args) => sign::verify(common, args).await,
        Command::Attest(args) => sign::attest(common, args).await,
        Command::VerifyAttestation(args) => sign::verify_attestation(common, args).await,
        Command::VerifyBlob(args) => trust::verify_blob(common, args).await,
        Command::Resolve(args) => resolve::resolve(common, args).await,
        Command::Repo(cmd) => repo::repo(common, cmd).await,
        Command::Login(args) => login::login(common, args).await,
        Command::Logout(args) => login::logout(common, args).await,
        Command::Probe(args) => probe::probe(common, args).await,
        Command::Layout(cmd) => layout::run(common, cmd).await,
        Command::Completion { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ocictl", &mut script);
            text::write_line(false, String::from_utf8_lossy(&script).trim_end());
            Ok(())
        }
        Command::Version => {
            let version = env!("CARGO_PKG_VERSION");
            if common.json() {
                print_json(&serde_json::json!({
                    "version": version,
                    "rustVersion": env!("CARGO_PKG_RUST_VERSION"),
                    "os": std::env::consts::OS,
                    "arch": std::env::consts::ARCH,
                }));
            } else {
                text::out!("ocictl {version}");
                text::out!(
                    "OS/Arch: {}/{}",
                    std::env::consts::OS,
                    std::env::consts::ARCH
                );
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            err!("Error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, however long or strange the registry's message: escaped, then cut at
            // a character boundary.
            let line = e.to_string();
            err!("Error: {}", text::clip(&line, 2000));
            ExitCode::from(exit_code(&e))
        }
    }
}

/// Prints a value as pretty JSON on stdout.
pub(crate) fn print_json(value: &serde_json::Value) {
    let text = serde_json::to_string_pretty(value).expect("JSON values serialise");
    text::write_line(false, &text::escape_lines(&text));
}
