//! Set-up shared by the runnable examples: where they store what they push.
//!
//! Every example runs on a local OCI layout by default, so it needs no registry:
//!
//! ```sh
//! cargo run -p oci-examples --example sbom_attach                       # a temporary layout
//! cargo run -p oci-examples --example sbom_attach -- --oci-layout ./dir # a layout you keep
//! cargo run -p oci-examples --example sbom_attach -- --plain-http localhost:5000/demo
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use oci_distribution_client::auth::DockerConfig;
use oci_distribution_client::{Client, ClientConfig};
use oci_layout::{LayoutOptions, OciLayout};
use oci_spec_types::Reference;
use oci_target::{Error, ErrorKind, Result, Target};

/// Where an example stores what it pushes.
pub struct ExampleTarget {
    /// The store.
    pub target: Arc<dyn Target>,
    /// How to name it to people.
    pub description: String,
    _temp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for ExampleTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExampleTarget")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// A registry repository (`host[:port]/repo`) as a target, with credentials from the docker
/// config file; plain HTTP only when `plain_http` is set.
///
/// # Errors
///
/// [`ErrorKind::InvalidReference`] for a bad name; errors building the client.
pub fn registry_target(repository: &str, plain_http: bool) -> Result<Arc<dyn Target>> {
    let reference = Reference::parse(repository)?;
    let mut config = ClientConfig::default().with_credentials(DockerConfig::load_default()?);
    if plain_http {
        config = config.with_plain_http(reference.registry());
    }
    Ok(Arc::new(Client::new(config)?.repository_for(&reference)?))
}

/// The target named on the command line: `--oci-layout DIR`, `[--plain-http] host/repo`, or by
/// default a layout in a temporary directory that lives as long as the returned value. Says on
/// stdout which store it uses.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] for arguments it does not understand; errors opening the store.
pub async fn target_from_args() -> Result<ExampleTarget> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut plain_http = false;
    let mut layout: Option<PathBuf> = None;
    let mut repository: Option<String> = None;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--plain-http" => plain_http = true,
            "--oci-layout" => {
                i += 1;
                layout = Some(PathBuf::from(args.get(i).ok_or_else(|| {
                    Error::new(ErrorKind::InvalidInput, "--oci-layout needs a directory")
                })?));
            }
            other if !other.starts_with('-') && repository.is_none() => {
                repository = Some(other.to_owned());
            }
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "unexpected argument {other:?}; use [--oci-layout DIR] or [--plain-http] host/repo"
                    ),
                ));
            }
        }
        i += 1;
    }
    let chosen = open_example_target(repository, layout, plain_http).await?;
    println!("using {}", chosen.description);
    Ok(chosen)
}

async fn open_example_target(
    repository: Option<String>,
    layout: Option<PathBuf>,
    plain_http: bool,
) -> Result<ExampleTarget> {
    if let Some(repo) = repository {
        return Ok(ExampleTarget {
            target: registry_target(&repo, plain_http)?,
            description: repo,
            _temp: None,
        });
    }
    let (dir, temp) = match layout {
        Some(dir) => (dir, None),
        None => {
            let temp = tempfile::tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let store = OciLayout::create(&dir, LayoutOptions::default()).await?;
    Ok(ExampleTarget {
        target: Arc::new(store),
        description: format!("OCI layout {}", dir.display()),
        _temp: temp,
    })
}

/// Pushes a tiny but well-formed container image (one gzip layer, a linux/amd64 config) and
/// tags it, for examples that need something to attach to or copy. `label` makes its bytes
/// unique.
///
/// # Errors
///
/// The target's errors.
pub async fn push_demo_image(
    target: &dyn Target,
    label: &str,
    tag: &str,
) -> Result<oci_spec_types::Descriptor> {
    use oci_artifact::files::{FileRef, PushFilesOptions, push_files};
    use oci_artifact::pack::{Created, PackOptions, pack_manifest};
    use oci_spec_types::MediaType;
    use oci_target::TargetExt;

    let work = tempfile::tempdir()?;
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("etc"))?;
    std::fs::write(rootfs.join("etc/motd"), format!("demo image {label}\n"))?;
    let mut layers = push_files(
        target,
        &[FileRef::new(&rootfs).with_title("rootfs")],
        &PushFilesOptions::default(),
    )
    .await?;
    let diff_id = layers[0]
        .annotation(oci_spec_types::annotations::ORAS_CONTENT_DIGEST)
        .unwrap_or_default()
        .to_owned();
    layers[0].annotations = None;
    let config = bytes::Bytes::from(format!(
        r#"{{"architecture":"amd64","os":"linux","config":{{"Cmd":["cat","/etc/motd"]}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    ));
    let config_desc = target
        .push_content(MediaType::image_config(), config.clone())
        .await?;
    let options = PackOptions::default()
        .with_config(config_desc, config)
        .with_created(Created::Omit);
    let image = pack_manifest(target, layers, &options).await?;
    target.tag(&image, tag).await?;
    Ok(image)
}
