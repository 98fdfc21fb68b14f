//! The image-spec's own test vectors and JSON schemas, from `../shared/vectors/image-spec/`.
//!
//! - Our parsing plus validation agrees with every case's verdict, except where listed below
//!   with the reason.
//! - The schemas agree with the verdicts too (a check that they are loaded and linked right).
//! - Every document our types serialise validates against the schemas.
//! - Docker v2.2 documents parse, and the digest of the bytes kept equals the published one.

use std::path::PathBuf;

use oci_spec_types::{
    Descriptor, ImageConfig, ImageIndex, ImageLayout, ImageManifest, Manifest, MediaType, Platform,
    annotations, media_types,
};
use serde_json::Value;

mod support;
use support::our_verdict;

/// Where the corpus is: `OCI_VECTORS_DIR/image-spec`, else `../shared/vectors/image-spec` beside
/// the checkout. `None`, after one line saying so, where it is absent: the corpus is an extra
/// check on top of `spec_rules.rs`, which carries the project's own documents.
fn vectors_dir() -> Option<PathBuf> {
    let base = std::env::var_os("OCI_VECTORS_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"),
        PathBuf::from,
    );
    let dir = base.join("image-spec");
    if dir.join("cases.json").exists() {
        Some(dir)
    } else {
        // Said once per run, past the test harness's capture, so the run's output shows it.
        static SAID: std::sync::Once = std::sync::Once::new();
        SAID.call_once(|| {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "image-spec corpus not run: {} is absent (an extra check; spec_rules.rs ran)",
                dir.display()
            );
        });
        None
    }
}

fn cases(dir: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("cases.json")).unwrap()).unwrap()
}

/// Cases where our verdict deliberately differs from the schema's, and why.
const DIFFERENCES: &[(&str, &str, &str)] = &[];

#[test]
fn our_validation_agrees_with_every_case() {
    let Some(dir) = vectors_dir() else { return };
    let cases = cases(&dir);
    let mut checked = 0;
    let mut disagreements = Vec::new();
    for kind in ["descriptor", "manifest", "index", "config", "layout"] {
        for case in cases[kind].as_array().unwrap() {
            let name = case["name"].as_str().unwrap();
            let doc = case["document"].as_str().unwrap();
            let want = case["valid"].as_bool().unwrap();
            let got = our_verdict(kind, doc);
            checked += 1;
            let differs = got.is_ok() != want;
            let excused = DIFFERENCES.iter().any(|(k, n, _)| *k == kind && *n == name);
            if differs && !excused {
                disagreements.push(format!(
                    "{kind} / {name}: schema says {want}, we say {got:?}"
                ));
            }
            if !differs && excused {
                disagreements.push(format!(
                    "{kind} / {name}: listed as a difference but we agree"
                ));
            }
            if let Err(message) = &got {
                assert!(!message.is_empty());
            }
        }
    }
    assert!(checked >= 60, "only {checked} cases read");
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// Resolves the schemas' references to the files beside them, by file name.
struct Files(PathBuf);

impl jsonschema::Retrieve for Files {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let path = uri.path().as_str();
        let name = path.rsplit('/').next().unwrap_or("");
        let name = if name.ends_with(".json") {
            name.to_owned()
        } else {
            format!("{name}.json")
        };
        let file = self.0.join(&name);
        Ok(serde_json::from_slice(
            &std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?,
        )?)
    }
}

fn validator(vectors: &std::path::Path, schema_file: &str) -> jsonschema::Validator {
    let dir = vectors.join("schema");
    let schema: Value =
        serde_json::from_slice(&std::fs::read(dir.join(schema_file)).unwrap()).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .with_retriever(Files(dir))
        .build(&schema)
        .unwrap_or_else(|e| panic!("{schema_file}: {e}"))
}

fn schema_for(kind: &str) -> &'static str {
    match kind {
        "descriptor" => "content-descriptor.json",
        "manifest" => "image-manifest-schema.json",
        "index" => "image-index-schema.json",
        "config" => "config-schema.json",
        "layout" => "image-layout-schema.json",
        _ => unreachable!(),
    }
}

/// Cases whose verdict comes from the image-spec's prose rules, which the schemas do not
/// encode: the schemas accept these documents. Our validation applies the prose rules too.
const BEYOND_THE_SCHEMA: &[(&str, &str)] = &[
    // Registered algorithms: sha256 is lowercase hex only.
    (
        "descriptor",
        "expected failure: digest does not match pattern (characters needs to be lower for sha256)",
    ),
    // `data` is padded standard base64 (RFC 4648 section 4).
    (
        "descriptor",
        "expected failure: invalid data base64, missing padding",
    ),
    // Env entries are VARNAME=VARVALUE.
    ("config", "expected failure: Env is invalid"),
];

#[test]
fn the_schemas_agree_with_the_cases() {
    // Proves the schema harness is wired right before we trust it with our own documents.
    let Some(dir) = vectors_dir() else { return };
    let cases = cases(&dir);
    let mut beyond = Vec::new();
    for kind in ["descriptor", "manifest", "index", "config", "layout"] {
        let v = validator(&dir, schema_for(kind));
        for case in cases[kind].as_array().unwrap() {
            let Ok(doc) = serde_json::from_str::<Value>(case["document"].as_str().unwrap()) else {
                continue; // not JSON: no schema verdict to compare
            };
            let name = case["name"].as_str().unwrap();
            if v.is_valid(&doc) != case["valid"].as_bool().unwrap() {
                beyond.push((kind, name));
            }
        }
    }
    assert_eq!(
        beyond, BEYOND_THE_SCHEMA,
        "cases where the schemas and the verdicts differ"
    );
}

fn examples() -> Vec<(&'static str, Value)> {
    let config_doc = ImageConfig::new("linux", "arm64");
    let config = config_doc
        .to_document()
        .unwrap()
        .descriptor(MediaType::image_config());
    let layer = Descriptor::new(
        MediaType::parse(media_types::LAYER_TAR_GZIP).unwrap(),
        oci_digest::sha256(b"layer"),
        5,
    )
    .with_annotation(annotations::TITLE, "layer.tar.gz")
    .with_urls(vec!["https://example.com/layer".into()]);
    let manifest = ImageManifest::new(config.clone(), vec![layer.clone()])
        .with_annotation(annotations::CREATED, "2026-01-01T00:00:00Z");
    let manifest_desc = manifest
        .to_document()
        .unwrap()
        .descriptor(MediaType::image_manifest());
    let artifact = ImageManifest::new(
        Descriptor::empty(),
        vec![Descriptor::empty().with_data(b"{}")],
    )
    .with_artifact_type(MediaType::parse(media_types::SPDX_JSON).unwrap())
    .with_subject(manifest_desc.clone());
    let index = ImageIndex::new(vec![
        manifest_desc
            .clone()
            .with_platform(Platform::new("linux", "arm64").with_variant("v8")),
        manifest_desc
            .clone()
            .with_platform(Platform::new("windows", "amd64").with_os_version("10.0.17763.1")),
    ])
    .with_annotation(annotations::REF_NAME, "v1");
    let mut full_config = ImageConfig::new("linux", "amd64");
    full_config.created = Some("2026-01-01T00:00:00Z".into());
    full_config
        .rootfs
        .diff_ids
        .push(oci_digest::sha256(b"diff"));
    let mut exec = oci_spec_types::ExecConfig::default();
    exec.env = Some(vec!["PATH=/bin".into()]);
    exec.cmd = Some(vec!["/bin/sh".into()]);
    exec.exposed_ports = Some([("8080/tcp".to_string(), oci_spec_types::Empty {})].into());
    full_config.config = Some(exec);
    let mut step = oci_spec_types::History::default();
    step.created_by = Some("build".into());
    step.empty_layer = Some(true);
    full_config.history = Some(vec![step]);
    let v = |x: &dyn erased::Ser| x.value();
    vec![
        ("descriptor", v(&layer)),
        ("descriptor", v(&Descriptor::empty().with_data(b"{}"))),
        ("manifest", v(&manifest)),
        ("manifest", v(&artifact)),
        ("index", v(&index)),
        ("config", v(&config_doc)),
        ("config", v(&full_config)),
        ("layout", v(&ImageLayout::default())),
    ]
}

mod erased {
    pub(crate) trait Ser {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap()
        }
    }
}

#[test]
fn what_we_serialise_validates_against_the_schemas() {
    let Some(dir) = vectors_dir() else { return };
    for (kind, doc) in examples() {
        let v = validator(&dir, schema_for(kind));
        let errors: Vec<String> = v.iter_errors(&doc).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{kind} {doc}: {errors:?}");
        // And our own validation accepts it too.
        our_verdict(kind, &doc.to_string()).unwrap_or_else(|e| panic!("{kind}: {e}"));
    }
}

#[test]
fn docker_documents_parse_and_keep_their_digest() {
    let Some(dir) = vectors_dir() else { return };
    let cases = cases(&dir);
    let docs = cases["backwards_compatibility"].as_array().unwrap();
    assert_eq!(docs.len(), 4);
    let (mut manifests, mut configs) = (0, 0);
    for case in docs {
        let bytes = case["document"].as_str().unwrap().as_bytes().to_vec();
        let want = case["digest"].as_str().unwrap();
        let is_manifest = serde_json::from_slice::<Value>(&bytes)
            .unwrap()
            .get("schemaVersion")
            .is_some();
        let digest = if is_manifest {
            manifests += 1;
            let doc = Manifest::from_slice(bytes).unwrap();
            doc.value().validate().unwrap();
            match doc.value() {
                Manifest::Index(i) => assert_eq!(
                    i.media_type.as_ref().unwrap(),
                    media_types::DOCKER_MANIFEST_LIST
                ),
                Manifest::Image(m) => {
                    assert_eq!(m.media_type.as_ref().unwrap(), media_types::DOCKER_MANIFEST)
                }
                other => panic!("unexpected kind {other:?}"),
            }
            doc.digest().to_string()
        } else {
            configs += 1;
            let doc = ImageConfig::from_slice(bytes).unwrap();
            assert!(!doc.value().platform.architecture.is_empty());
            doc.digest().to_string()
        };
        assert_eq!(digest, want, "{}", case["name"]);
    }
    assert_eq!((manifests, configs), (2, 2));
}
