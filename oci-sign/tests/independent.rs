//! What this crate writes, checked by independent implementations: OpenSSL reads the keys and
//! verifies a signature taken straight from the layout's files; Python's scrypt and PyNaCl
//! decrypt the encrypted key files; sigstore-js verifies the Sigstore bundles.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use bytes::Bytes;
use oci_layout::{LayoutOptions, OciLayout};
use oci_sign::{SigningKey, bundles, tagged};
use oci_spec_types::MediaType;
use oci_target::TargetExt;
use oci_test_registry::tools::{tool, tool_ok};

const OPENSSL: &str = "the openssl command (Debian: apt-get install openssl)";

/// A JSON file of the layout.
fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    let (alg, hex) = digest.split_once(':').unwrap();
    std::fs::read(layout.join("blobs").join(alg).join(hex)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_reads_the_keys_and_verifies_a_signature_read_from_the_layout_files() {
    let (dir, root, layout, subject) = layout_with(b"signed content").await;
    let key = SigningKey::generate();
    tagged::sign(
        &layout,
        &subject,
        "registry.example/app",
        &key,
        BTreeMap::new(),
    )
    .await
    .unwrap();

    // The private key as PKCS#8 gives OpenSSL the same public key as ours.
    let private = dir.path().join("key.pem");
    let public = dir.path().join("key.pub");
    std::fs::write(&private, key.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
    std::fs::write(&public, key.public_key().to_pem().unwrap()).unwrap();
    let derived = tool_ok(
        "openssl",
        &["pkey", "-in", private.to_str().unwrap(), "-pubout"],
        OPENSSL,
    );
    assert_eq!(derived, key.public_key().to_pem().unwrap());

    // The signature, found by reading index.json, the .sig manifest and its layer by hand.
    let tag = format!("sha256-{}.sig", subject.digest.encoded());
    let index = read_json(&root.join("index.json"));
    let entry = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag.as_str())
        .expect("the .sig tag is in index.json");
    let manifest: serde_json::Value =
        serde_json::from_slice(&blob(&root, entry["digest"].as_str().unwrap())).unwrap();
    let layer = &manifest["layers"][0];
    assert_eq!(
        layer["mediaType"],
        "application/vnd.dev.cosign.simplesigning.v1+json"
    );
    let payload = blob(&root, layer["digest"].as_str().unwrap());
    let payload_json: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(
        payload_json["critical"]["image"]["docker-manifest-digest"],
        subject.digest.to_string()
    );
    let signature = base64::engine::general_purpose::STANDARD
        .decode(
            layer["annotations"]["dev.cosignproject.cosign/signature"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
    let sig_file = dir.path().join("sig.der");
    let payload_file = dir.path().join("payload.json");
    std::fs::write(&sig_file, &signature).unwrap();
    std::fs::write(&payload_file, &payload).unwrap();
    let verify = |payload: &Path| {
        tool(
            "openssl",
            &[
                "dgst",
                "-sha256",
                "-verify",
                public.to_str().unwrap(),
                "-signature",
                sig_file.to_str().unwrap(),
                payload.to_str().unwrap(),
            ],
            OPENSSL,
        )
    };
    let out = verify(&payload_file);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Verified OK");

    // One byte changed: OpenSSL refuses it too.
    let mut tampered = payload.clone();
    tampered[10] ^= 1;
    std::fs::write(&payload_file, &tampered).unwrap();
    assert!(!verify(&payload_file).status.success());
}

/// Decrypts a cosign key file with Python's scrypt and PyNaCl's secretbox, and prints the
/// PKCS#8 key inside as PEM.
const DECRYPT: &str = r#"
import base64, hashlib, json, sys
import nacl.secret
text = open(sys.argv[1]).read().strip().splitlines()
assert text[0] == "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----", text[0]
f = json.loads(base64.b64decode("".join(text[1:-1])))
p = f["kdf"]["params"]
key = hashlib.scrypt(sys.argv[2].encode(), salt=base64.b64decode(f["kdf"]["salt"]),
                     n=p["N"], r=p["r"], p=p["p"], maxmem=256 * 1024 * 1024, dklen=32)
box = nacl.secret.SecretBox(key)
der = box.decrypt(base64.b64decode(f["ciphertext"]), base64.b64decode(f["cipher"]["nonce"]))
b64 = base64.b64encode(der).decode()
print("-----BEGIN PRIVATE KEY-----")
for i in range(0, len(b64), 64):
    print(b64[i:i + 64])
print("-----END PRIVATE KEY-----")
"#;

#[test]
fn python_scrypt_and_pynacl_decrypt_the_key_files_written_here() {
    let dir = tempfile::tempdir().unwrap();
    let key = SigningKey::generate();
    let file = dir.path().join("cosign.key");
    std::fs::write(
        &file,
        key.to_encrypted_pem(b"open sesame").unwrap().as_bytes(),
    )
    .unwrap();
    let check = tool(
        "python3",
        &["-c", "import nacl.secret"],
        "PyNaCl (pip install pynacl==1.5.0)",
    );
    assert!(
        check.status.success(),
        "PyNaCl is not installed: pip install pynacl==1.5.0 (scripts/setup does it)"
    );
    let pem = tool_ok(
        "python3",
        &["-c", DECRYPT, file.to_str().unwrap(), "open sesame"],
        "Python 3 (Debian: apt-get install python3)",
    );
    // What Python decrypted is the key: OpenSSL derives our public key from it.
    let plain = dir.path().join("plain.pem");
    std::fs::write(&plain, &pem).unwrap();
    let derived = tool_ok(
        "openssl",
        &["pkey", "-in", plain.to_str().unwrap(), "-pubout"],
        OPENSSL,
    );
    assert_eq!(derived, key.public_key().to_pem().unwrap());
    // The wrong password fails there too.
    let wrong = tool(
        "python3",
        &["-c", DECRYPT, file.to_str().unwrap(), "sesame"],
        "Python 3",
    );
    assert!(!wrong.status.success());
}

/// Where `scripts/setup` installs sigstore-js (`npm ci` of `tests/interop/sigstore-js`).
fn sigstore_js_modules() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("OCI_SIGSTORE_JS") {
        return dir.into();
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(&std::env::var_os("HOME").unwrap()).join(".cache"));
    cache.join("oci-sign/sigstore-js/node_modules")
}

/// Runs sigstore-js's verifier over `bundle` with `key`.
fn sigstore_js(bundle: &Path, key: &Path) -> std::process::Output {
    let modules = sigstore_js_modules();
    assert!(
        modules.join("@sigstore/verify").is_dir(),
        "sigstore-js is not installed in {}: run scripts/setup (npm ci of \
         oci-sign/tests/interop/sigstore-js there)",
        modules.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/sigstore-js/verify.cjs");
    let mut command = std::process::Command::new("node");
    command
        .env("NODE_PATH", &modules)
        .arg(script)
        .arg(bundle)
        .arg(key);
    match command.output() {
        Ok(out) => out,
        Err(e) => panic!("cannot run node (Debian: apt-get install nodejs): {e}"),
    }
}

/// sigstore-js's report on `bundle`, which must verify with `key`.
fn sigstore_js_verified(bundle: &Path, key: &Path) -> serde_json::Value {
    let out = sigstore_js(bundle, key);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// A new layout in a temporary directory holding `content`: the directory, the layout's
/// path, the layout and the content's descriptor.
async fn layout_with(
    content: &'static [u8],
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    OciLayout,
    oci_spec_types::Descriptor,
) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("layout");
    let layout = OciLayout::create(&root, LayoutOptions::default())
        .await
        .unwrap();
    let subject = layout
        .push_content(MediaType::octet_stream(), Bytes::from_static(content))
        .await
        .unwrap();
    (dir, root, layout, subject)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigstore_js_verifies_the_bundles_signed_here_and_refuses_another_key() {
    let (dir, root, layout, subject) = layout_with(b"signed").await;
    let key = SigningKey::generate();
    let predicate = serde_json::json!({"buildDefinition": {"buildType": "make"}});
    let slsa = "https://slsa.dev/provenance/v1";
    let signature = bundles::sign(&layout, "registry.example/app", &subject, &key);
    let attestation = bundles::attest(
        &layout,
        "registry.example/app",
        &subject,
        &key,
        slsa,
        predicate,
    );
    let public = dir.path().join("key.pub");
    std::fs::write(&public, key.public_key().to_pem().unwrap()).unwrap();
    let other = dir.path().join("other.pub");
    let stranger = SigningKey::generate().public_key();
    std::fs::write(&other, stranger.to_pem().unwrap()).unwrap();

    for (referrer, predicate_type) in [
        (signature.await.unwrap(), bundles::SIGNATURE_PREDICATE_TYPE),
        (attestation.await.unwrap(), slsa),
    ] {
        // The bundle, read from the layout's files as any tool would.
        let manifest = read_json(&root.join("blobs/sha256").join(referrer.digest.encoded()));
        let layer = manifest["layers"][0]["digest"].as_str().unwrap();
        let bundle = dir.path().join("bundle.json");
        std::fs::write(&bundle, blob(&root, layer)).unwrap();

        let report = sigstore_js_verified(&bundle, &public);
        assert_eq!(report["statement"]["predicateType"], predicate_type);
        assert_eq!(
            report["statement"]["subject"][0]["digest"]["sha256"],
            subject.digest.encoded()
        );

        let refused = sigstore_js(&bundle, &other);
        assert!(!refused.status.success(), "another key must not verify");
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("not verified"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
    }
}

/// The DSSE envelopes of cosign's tag scheme (`.att` layers) are DSSE as anyone reads it:
/// sigstore-js verifies one taken from the layout's files, wrapped in a key bundle.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigstore_js_verifies_an_att_envelope_read_from_the_layout_files() {
    let (dir, root, layout, subject) = layout_with(b"attested").await;
    let key = SigningKey::generate();
    let predicate = serde_json::json!({"buildDefinition": {"buildType": "make"}});
    let att = oci_sign::attest::attest(
        &layout,
        &subject,
        "registry.example/app",
        "https://slsa.dev/provenance/v1",
        predicate,
        &key,
    )
    .await
    .unwrap();
    let manifest = read_json(&root.join("blobs/sha256").join(att.digest.encoded()));
    let envelope: serde_json::Value = serde_json::from_slice(&blob(
        &root,
        manifest["layers"][0]["digest"].as_str().unwrap(),
    ))
    .unwrap();
    let bundle = serde_json::json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"publicKey": {"hint": "release"}},
        "dsseEnvelope": envelope,
    });
    let path = dir.path().join("att.bundle.json");
    std::fs::write(&path, serde_json::to_vec(&bundle).unwrap()).unwrap();
    let public = dir.path().join("key.pub");
    std::fs::write(&public, key.public_key().to_pem().unwrap()).unwrap();
    let report = sigstore_js_verified(&path, &public);
    assert_eq!(
        report["statement"]["predicateType"],
        "https://slsa.dev/provenance/v1"
    );
}
