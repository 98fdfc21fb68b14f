//! The image-spec's rules, checked with the project's own documents.
//!
//! Each case is a small document written from one rule of the spec (descriptor, manifest, index,
//! config, layout) and the verdict the rule gives. These run everywhere; the image-spec's own
//! corpus (`vectors.rs`) is an extra check where it is present.

use oci_spec_types::{Descriptor, ImageManifest, MediaType};
use serde_json::{Value, json};

mod support;
use support::our_verdict;

const SHA: &str = "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b";
const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn desc(media_type: &str) -> Value {
    json!({"mediaType": media_type, "size": 7023, "digest": SHA})
}

/// `base` with `key` set to `value` (or removed, for `Value::Null`).
fn with(mut base: Value, key: &str, value: Value) -> Value {
    let map = base.as_object_mut().unwrap();
    if value.is_null() {
        map.remove(key);
    } else {
        map.insert(key.to_owned(), value);
    }
    base
}

fn manifest() -> Value {
    json!({"schemaVersion": 2, "mediaType": MANIFEST, "config": desc(CONFIG), "layers": [desc(LAYER)]})
}

fn index() -> Value {
    json!({"schemaVersion": 2, "mediaType": INDEX, "manifests": [desc(MANIFEST)]})
}

fn config() -> Value {
    json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [SHA]}})
}

fn cases() -> Vec<(&'static str, &'static str, String, bool)> {
    let long = |n: usize| "a".repeat(n);
    let data = |b64: &str, size: u64, content: &[u8]| json!({"mediaType": "text/plain", "size": size, "digest": oci_digest::sha256(content).to_string(), "data": b64});
    let mut full_config = config();
    full_config["config"] = json!({"User": "1000", "Env": ["PATH=/bin"], "Volumes": {"/data": {}}});
    full_config["history"] = json!([{"created_by": "build", "empty_layer": true}]);
    let s = |v: Value| v.to_string();
    vec![
        // Descriptors: mediaType, size and digest are required; each has a grammar.
        (
            "descriptor",
            "all three required fields",
            s(desc(CONFIG)),
            true,
        ),
        (
            "descriptor",
            "a zero-length blob",
            s(
                json!({"mediaType": "application/octet-stream", "size": 0, "digest": "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"}),
            ),
            true,
        ),
        (
            "descriptor",
            "mediaType missing",
            s(with(desc(CONFIG), "mediaType", Value::Null)),
            false,
        ),
        (
            "descriptor",
            "mediaType without a subtype",
            s(desc("application")),
            false,
        ),
        (
            "descriptor",
            "mediaType starting with a symbol",
            s(desc(".application/json")),
            false,
        ),
        (
            "descriptor",
            "subtype starting with a symbol",
            s(desc("application/.json")),
            false,
        ),
        (
            "descriptor",
            "type and subtype of 127 characters",
            s(desc(&format!("{}/{}", long(127), long(127)))),
            true,
        ),
        (
            "descriptor",
            "type of 128 characters",
            s(desc(&format!("{}/json", long(128)))),
            false,
        ),
        (
            "descriptor",
            "subtype of 128 characters",
            s(desc(&format!("application/{}", long(128)))),
            false,
        ),
        (
            "descriptor",
            "size missing",
            s(with(desc(CONFIG), "size", Value::Null)),
            false,
        ),
        (
            "descriptor",
            "size as a string",
            s(with(desc(CONFIG), "size", json!("7023"))),
            false,
        ),
        (
            "descriptor",
            "negative size",
            s(with(desc(CONFIG), "size", json!(-1))),
            false,
        ),
        (
            "descriptor",
            "digest missing",
            s(with(desc(CONFIG), "digest", Value::Null)),
            false,
        ),
        (
            "descriptor",
            "digest without an algorithm",
            s(with(desc(CONFIG), "digest", json!(":6c3c624b"))),
            false,
        ),
        (
            "descriptor",
            "digest without an encoded part",
            s(with(desc(CONFIG), "digest", json!("sha256:"))),
            false,
        ),
        (
            "descriptor",
            "algorithm with a forbidden character",
            s(with(desc(CONFIG), "digest", json!("sha256!:6c3c624b"))),
            false,
        ),
        (
            "descriptor",
            "uppercase hex for sha256",
            s(with(
                desc(CONFIG),
                "digest",
                json!(SHA.to_uppercase().replacen("SHA256", "sha256", 1)),
            )),
            false,
        ),
        (
            "descriptor",
            "sha256 of the wrong length",
            s(with(desc(CONFIG), "digest", json!("sha256:6c3c"))),
            false,
        ),
        (
            "descriptor",
            "an unregistered algorithm with separators",
            s(with(
                desc(CONFIG),
                "digest",
                json!("sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564"),
            )),
            true,
        ),
        (
            "descriptor",
            "algorithm components joined by . and +",
            s(with(
                desc(CONFIG),
                "digest",
                json!("multihash.x+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8"),
            )),
            true,
        ),
        (
            "descriptor",
            "two separators in a row",
            s(with(desc(CONFIG), "digest", json!("sha256+-b:6c3c624b"))),
            false,
        ),
        (
            "descriptor",
            "an absolute URL",
            s(with(
                desc(LAYER),
                "urls",
                json!(["https://example.com/layer"]),
            )),
            true,
        ),
        (
            "descriptor",
            "a URL that is not one",
            s(with(desc(LAYER), "urls", json!(["not a url"]))),
            false,
        ),
        (
            "descriptor",
            "an artifactType of the media-type grammar",
            s(with(
                desc(MANIFEST),
                "artifactType",
                json!("application/spdx+json"),
            )),
            true,
        ),
        (
            "descriptor",
            "an artifactType outside it",
            s(with(
                desc(MANIFEST),
                "artifactType",
                json!("application/.spdx"),
            )),
            false,
        ),
        (
            "descriptor",
            "padded base64 data of the right size and digest",
            s(data("aGVsbG8=", 5, b"hello")),
            true,
        ),
        (
            "descriptor",
            "data without its padding",
            s(data("aGVsbG8", 5, b"hello")),
            false,
        ),
        (
            "descriptor",
            "data of another size",
            s(data("aGVsbG8=", 6, b"hello")),
            false,
        ),
        (
            "descriptor",
            "data of another digest",
            s(data("aGVsbG8=", 5, b"world")),
            false,
        ),
        // Manifests.
        ("manifest", "config and one layer", s(manifest()), true),
        (
            "manifest",
            "an image-index mediaType",
            s(with(manifest(), "mediaType", json!(INDEX))),
            false,
        ),
        (
            "manifest",
            "config size as a string",
            s(with(
                manifest(),
                "config",
                with(desc(CONFIG), "size", json!("1")),
            )),
            false,
        ),
        (
            "manifest",
            "a layer size as a string",
            s(with(
                manifest(),
                "layers",
                json!([with(desc(LAYER), "size", json!("1"))]),
            )),
            false,
        ),
        (
            "manifest",
            "schemaVersion 1",
            s(with(manifest(), "schemaVersion", json!(1))),
            false,
        ),
        (
            "manifest",
            "config missing",
            s(with(manifest(), "config", Value::Null)),
            false,
        ),
        (
            "manifest",
            "a subject",
            s(with(manifest(), "subject", desc(MANIFEST))),
            true,
        ),
        (
            "manifest",
            "a subject that is no descriptor",
            s(with(manifest(), "subject", json!("sha256:x"))),
            false,
        ),
        (
            "manifest",
            "an artifactType with the empty config",
            s(with(
                with(manifest(), "artifactType", json!("application/spdx+json")),
                "config",
                json!({"mediaType": "application/vnd.oci.empty.v1+json", "size": 2, "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}),
            )),
            true,
        ),
        (
            "manifest",
            "annotations of strings",
            s(with(
                manifest(),
                "annotations",
                json!({"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}),
            )),
            true,
        ),
        (
            "manifest",
            "an annotation that is not a string",
            s(with(manifest(), "annotations", json!({"a": 1}))),
            false,
        ),
        // Indexes.
        ("index", "one manifest", s(index()), true),
        (
            "index",
            "a manifest mediaType",
            s(with(index(), "mediaType", json!(MANIFEST))),
            false,
        ),
        (
            "index",
            "a manifest size as a string",
            s(with(
                index(),
                "manifests",
                json!([with(desc(MANIFEST), "size", json!("1"))]),
            )),
            false,
        ),
        (
            "index",
            "a manifest without a digest",
            s(with(
                index(),
                "manifests",
                json!([with(desc(MANIFEST), "digest", Value::Null)]),
            )),
            false,
        ),
        (
            "index",
            "a platform without architecture",
            s(with(
                index(),
                "manifests",
                json!([with(desc(MANIFEST), "platform", json!({"os": "linux"}))]),
            )),
            false,
        ),
        (
            "index",
            "a platform with os and architecture",
            s(with(
                index(),
                "manifests",
                json!([with(
                    desc(MANIFEST),
                    "platform",
                    json!({"os": "linux", "architecture": "arm64", "variant": "v8"})
                )]),
            )),
            true,
        ),
        (
            "index",
            "a manifest of an empty media type",
            s(with(index(), "manifests", json!([desc("")]))),
            false,
        ),
        (
            "index",
            "a manifest of another registered type",
            s(with(
                index(),
                "manifests",
                json!([desc("application/vnd.example.custom+json")]),
            )),
            true,
        ),
        (
            "index",
            "an artifactType",
            s(with(
                index(),
                "artifactType",
                json!("application/vnd.example+type"),
            )),
            true,
        ),
        (
            "index",
            "a subject",
            s(with(index(), "subject", desc(MANIFEST))),
            true,
        ),
        (
            "index",
            "a subject that is no descriptor",
            s(with(index(), "subject", json!(["x"]))),
            false,
        ),
        // Image configs.
        ("config", "architecture, os and rootfs", s(config()), true),
        ("config", "every optional field", s(full_config), true),
        (
            "config",
            "os as a number",
            s(with(config(), "os", json!(1))),
            false,
        ),
        (
            "config",
            "variant as a number",
            s(with(config(), "variant", json!(8))),
            false,
        ),
        (
            "config",
            "User as a number",
            s(with(config(), "config", json!({"User": 1000}))),
            false,
        ),
        (
            "config",
            "history as a string",
            s(with(config(), "history", json!("built"))),
            false,
        ),
        (
            "config",
            "an Env entry as a number",
            s(with(config(), "config", json!({"Env": [1]}))),
            false,
        ),
        (
            "config",
            "an Env entry without =",
            s(with(config(), "config", json!({"Env": ["PATH"]}))),
            false,
        ),
        (
            "config",
            "Volumes as a list",
            s(with(config(), "config", json!({"Volumes": ["/data"]}))),
            false,
        ),
        (
            "config",
            "not JSON",
            "{\"architecture\": ".to_owned(),
            false,
        ),
        // The image layout's marker file.
        (
            "layout",
            "version 1.0.0",
            s(json!({"imageLayoutVersion": "1.0.0"})),
            true,
        ),
        (
            "layout",
            "a version that is not one",
            s(json!({"imageLayoutVersion": "one"})),
            false,
        ),
    ]
}

#[test]
fn every_rule_gives_its_verdict() {
    let mut wrong = Vec::new();
    let all = cases();
    for (kind, name, doc, valid) in &all {
        let got = our_verdict(kind, doc);
        if got.is_ok() != *valid {
            wrong.push(format!(
                "{kind} / {name}: the rule says {valid}, we say {got:?}"
            ));
        }
        if let Err(message) = got {
            assert!(!message.is_empty(), "{kind} / {name}: an empty error");
        }
    }
    assert!(all.len() >= 60, "only {} cases", all.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_manifest_built_by_the_types_is_valid_and_round_trips() {
    let layer = Descriptor::new(MediaType::octet_stream(), oci_digest::sha256(b"x"), 1);
    let doc = ImageManifest::new(Descriptor::empty(), vec![layer])
        .to_document()
        .unwrap();
    let text = std::str::from_utf8(doc.bytes()).unwrap();
    our_verdict("manifest", text).unwrap();
    let back = ImageManifest::from_slice(doc.bytes().to_vec()).unwrap();
    assert_eq!(back.digest(), doc.digest());
}

#[test]
fn new_documents_serialise_deterministically() {
    let build = || {
        let layer = Descriptor::new(MediaType::octet_stream(), oci_digest::sha256(b"x"), 1)
            .with_annotation("z", "1")
            .with_annotation("a", "2");
        ImageManifest::new(Descriptor::empty(), vec![layer])
            .with_annotation("org.b", "1")
            .with_annotation("org.a", "2")
            .to_document()
            .unwrap()
    };
    let (a, b) = (build(), build());
    assert_eq!(a.bytes(), b.bytes());
    assert_eq!(a.digest(), b.digest());
    let text = std::str::from_utf8(a.bytes()).unwrap();
    assert!(
        text.find("org.a").unwrap() < text.find("org.b").unwrap(),
        "maps are sorted: {text}"
    );
    // A parsed document keeps the bytes it came from, whitespace and key order included.
    let odd = br#"{ "layers":[], "config": {"size":2,"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},  "schemaVersion": 2, "x-unknown": true }"#;
    let parsed = ImageManifest::from_slice(odd.to_vec()).unwrap();
    assert_eq!(parsed.bytes().as_ref(), odd);
    assert_eq!(*parsed.digest(), oci_digest::sha256(odd));
}
