//! Push a Helm chart the way `helm push` does: a Helm config and the chart as a gzip tarball,
//! with Helm's media types, tagged with the chart version.
//!
//! ```sh
//! cargo run -p oci-examples --example helm_chart [-- --oci-layout DIR | --plain-http host/repo]
//! ```

use bytes::Bytes;
use oci_artifact::files::{FileRef, PushFilesOptions, push_files};
use oci_artifact::pack::{Created, PackOptions, pack_manifest};
use oci_spec_types::{Descriptor, ImageManifest, MediaType, annotations, media_types};
use oci_target::{ReadOnlyTargetExt, Result, Target, TargetExt};

/// Packs a chart directory and pushes it as `<version>`; returns the manifest descriptor.
pub async fn run(target: &dyn Target) -> Result<Descriptor> {
    let work = tempfile::tempdir()?;
    let chart = work.path().join("mychart");
    std::fs::create_dir_all(chart.join("templates"))?;
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: mychart\nversion: 0.1.0\ndescription: A demo chart\n",
    )?;
    std::fs::write(chart.join("values.yaml"), "replicas: 1\n")?;
    std::fs::write(
        chart.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
    )?;

    // The chart archive: a tar+gzip of the directory under its name, as `helm package` makes.
    let chart_type = MediaType::parse(media_types::HELM_CHART)?;
    let mut layers = push_files(
        target,
        &[FileRef::new(&chart)
            .with_title("mychart")
            .with_media_type(chart_type.clone())],
        &PushFilesOptions::default(),
    )
    .await?;
    // Helm's layers carry no file-name annotations.
    layers[0].annotations = None;

    // The config is Chart.yaml as JSON.
    let config = Bytes::from_static(
        br#"{"apiVersion":"v2","name":"mychart","version":"0.1.0","description":"A demo chart"}"#,
    );
    let config_desc = target
        .push_content(MediaType::parse(media_types::HELM_CONFIG)?, config.clone())
        .await?;
    let options = PackOptions::default()
        .with_config(config_desc, config)
        .with_annotation(annotations::TITLE, "mychart")
        .with_annotation(annotations::VERSION, "0.1.0")
        .with_annotation(annotations::DESCRIPTION, "A demo chart")
        .with_created(Created::from_source_date_epoch());
    let manifest = pack_manifest(target, layers, &options).await?;
    target.tag(&manifest, "0.1.0").await?;

    let (_, bytes) = target.resolve_manifest("0.1.0").await?;
    let parsed = ImageManifest::from_slice(bytes)?.into_parts().0;
    assert_eq!(parsed.config.media_type.as_str(), media_types::HELM_CONFIG);
    assert_eq!(parsed.layers[0].media_type, chart_type);
    println!("pushed chart mychart:0.1.0 as {}", manifest.digest);
    Ok(manifest)
}

#[tokio::main]
async fn main() -> Result<()> {
    let t = oci_examples::target_from_args().await?;
    run(&*t.target).await.map(drop)
}
