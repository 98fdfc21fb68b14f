//! Every runnable example, run here on a local layout and on the real registry, so the code
//! users copy keeps working.

#![allow(dead_code, unreachable_pub)]

#[path = "../ai_model.rs"]
mod ai_model;
#[path = "../copy_with_signatures.rs"]
mod copy_with_signatures;
#[path = "../embed.rs"]
mod embed;
#[path = "../eo_product.rs"]
mod eo_product;
#[path = "../helm_chart.rs"]
mod helm_chart;
#[path = "../pull_by_digest.rs"]
mod pull_by_digest;
#[path = "../quickstart.rs"]
mod quickstart;
#[path = "../sbom_attach.rs"]
mod sbom_attach;
#[path = "../sign_and_promote.rs"]
mod sign_and_promote;

use std::sync::Arc;

use oci_layout::{LayoutOptions, OciLayout};
use oci_target::{ReadOnlyTarget, Target};
use oci_test_registry::Registry;

async fn layout() -> (tempfile::TempDir, Arc<dyn Target>) {
    let dir = tempfile::tempdir().unwrap();
    let store = OciLayout::create(dir.path().join("layout"), LayoutOptions::default())
        .await
        .unwrap();
    (dir, Arc::new(store))
}

fn registry(repo: &str) -> Arc<dyn Target> {
    let r = Registry::anonymous();
    oci_examples::registry_target(&format!("{}/examples/{repo}", r.host()), true).unwrap()
}

/// Both stores an example runs on.
async fn stores(repo: &str) -> Vec<(tempfile::TempDir, Arc<dyn Target>)> {
    vec![
        layout().await,
        (tempfile::tempdir().unwrap(), registry(repo)),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quickstart_runs_on_a_local_layout() {
    let dir = tempfile::tempdir().unwrap();
    let summary = quickstart::run(dir.path()).await.unwrap();
    assert_eq!(summary.pulled.len(), 2);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("pulled/data/numbers.csv")).unwrap(),
        "n,square\n1,1\n2,4\n3,9\n"
    );
    assert_eq!(summary.copied_tags, ["v1"]);
    // Fixed inputs and a fixed time: the same digest on every machine.
    let again = tempfile::tempdir().unwrap();
    assert_eq!(
        quickstart::run(again.path()).await.unwrap().digest,
        summary.digest
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sbom_attach_runs() {
    for (_dir, store) in stores("sbom").await {
        let (image, sbom) = sbom_attach::run(&*store).await.unwrap();
        let referrers = store.referrers(&image, None).await.unwrap();
        assert!(referrers.iter().any(|r| r.digest == sbom.digest));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_chart_runs() {
    for (_dir, store) in stores("helm").await {
        let chart = helm_chart::run(&*store).await.unwrap();
        let tagged = store.resolve("0.1.0").await.unwrap();
        assert_eq!(
            tagged.digest, chart.digest,
            "the chart's version is its tag"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eo_product_runs() {
    for (_dir, store) in stores("eo").await {
        let (_, paths) = eo_product::run(&*store).await.unwrap();
        assert_eq!(paths.len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ai_model_runs() {
    for (_dir, store) in stores("model").await {
        let model = ai_model::run(&*store).await.unwrap();
        assert_eq!(store.resolve("q4").await.unwrap().digest, model.digest);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_with_signatures_runs() {
    let (_a, src) = layout().await;
    let (_b, dst) = layout().await;
    assert_eq!(
        copy_with_signatures::run(&*src, &*dst).await.unwrap().len(),
        2
    );
    let src = registry("signed");
    let dst = registry("signed-copy");
    assert_eq!(
        copy_with_signatures::run(&*src, &*dst).await.unwrap().len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_and_promote_runs_on_a_layout_and_on_the_registry() {
    let r = Registry::anonymous();
    let on_registry = format!("{}/examples/staging", r.host());
    let (_dir, staging_layout) = layout().await;
    for (staging, name) in [
        (staging_layout, "staging-layout"),
        (registry("staging"), on_registry.as_str()),
    ] {
        let (_prod_dir, prod) = layout().await;
        let promoted = sign_and_promote::run(staging, name, &*prod).await.unwrap();
        assert_eq!(
            promoted.referrers, 1,
            "{name}: the SBOM travels with the image"
        );
        assert_eq!(
            prod.resolve("v1").await.unwrap().digest,
            promoted.image.digest
        );
        assert!(
            prod.resolve("v2").await.is_err(),
            "{name}: the unsigned image stays out"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_by_digest_runs() {
    for (_dir, store) in stores("by-digest").await {
        assert_eq!(pull_by_digest::run(&*store).await.unwrap(), "version = 1\n");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embed_does_the_seven_steps_against_the_registry_in_at_most_60_lines() {
    let r = Registry::anonymous();
    let dir = tempfile::tempdir().unwrap();
    let errors = embed::run(&format!("{}/examples/embed", r.host()), dir.path())
        .await
        .unwrap();
    assert_eq!(
        errors,
        [
            oci_target::ErrorKind::NotFound,
            oci_target::ErrorKind::InvalidReference,
            oci_target::ErrorKind::AlreadyExists
        ]
    );
    let pulled = std::fs::read(dir.path().join("out/model.gguf")).unwrap();
    assert_eq!(pulled.len(), 20 << 20);
    let layout = OciLayout::open(dir.path().join("layout"), LayoutOptions::default())
        .await
        .unwrap();
    let model = layout.resolve("v1").await.unwrap();
    assert_eq!(layout.referrers(&model, None).await.unwrap().len(), 1);
    let lines = include_str!("../embed.rs").lines().count();
    assert!(lines <= 60, "embed.rs has {lines} lines");
}
