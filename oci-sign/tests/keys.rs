//! Keys: cosign's files read, ours written the way cosign reads them, secrets kept out of sight.

use std::path::PathBuf;

use base64::Engine as _;
use oci_sign::{Error, PublicKey, SigningKey};

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cosign")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn cosign_encrypted_keys_decrypt_with_their_password_only() {
    for (file, password) in [
        ("sigstore-label-hello.key", "hello"),
        ("cosign-label-hello.key", "hello"),
        ("cosign-empty-password.key", ""),
    ] {
        let key = SigningKey::from_pem(&data(file), password.as_bytes())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        // The key signs, and its public half verifies what it signed.
        let sig = key.sign(b"message");
        key.public_key().verify(b"message", &sig).unwrap();
        let wrong = SigningKey::from_pem(&data(file), b"not the password").unwrap_err();
        assert!(
            matches!(&wrong, Error::Key(why) if why.contains("wrong password")),
            "{file}: {wrong}"
        );
    }
}

#[test]
fn keys_cosign_refuses_are_refused_with_a_reason() {
    // A SEC1 key under the old label (cosign: "use ParseECPrivateKey instead").
    let ec = SigningKey::from_pem(&data("cosign-label-ec-hello.key"), b"hello").unwrap_err();
    assert!(
        matches!(&ec, Error::Key(why) if why.contains("P-256")),
        "{ec}"
    );
    for junk in [
        "",
        "not pem",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    ] {
        assert!(
            matches!(SigningKey::from_pem(junk, b""), Err(Error::Key(_))),
            "{junk:?}"
        );
    }
}

#[test]
fn a_cosign_signature_verifies_and_a_tampered_one_does_not() {
    let key = PublicKey::from_pem(&data("signature/key.pub")).unwrap();
    assert_eq!(key.kind(), "ecdsa-p256");
    let payload = data("signature/payload.json");
    let sig = base64::engine::general_purpose::STANDARD
        .decode(data("signature/signature.b64").trim())
        .unwrap();
    key.verify(payload.as_bytes(), &sig).unwrap();

    let tampered = payload.replace("busybox", "busyb0x");
    let err = key.verify(tampered.as_bytes(), &sig).unwrap_err();
    assert!(matches!(err, Error::BadSignature { .. }), "{err}");
    let mut flipped = sig.clone();
    *flipped.last_mut().unwrap() ^= 1;
    assert!(key.verify(payload.as_bytes(), &flipped).is_err());
    // Another key does not verify it.
    let other = SigningKey::generate().public_key();
    assert!(matches!(
        other.verify(payload.as_bytes(), &sig),
        Err(Error::BadSignature { .. })
    ));
}

#[test]
fn written_keys_read_back_and_keep_their_secret() {
    let key = SigningKey::generate();
    let encrypted = key.to_encrypted_pem(b"pw").unwrap();
    assert!(encrypted.starts_with("-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n"));
    // The JSON inside is cosign's: scrypt N=32768, r=8, p=1 and NaCl secretbox.
    let body: String = encrypted
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let json: serde_json::Value = serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(json["kdf"]["name"], "scrypt");
    assert_eq!(
        json["kdf"]["params"],
        serde_json::json!({"N": 32768, "r": 8, "p": 1})
    );
    assert_eq!(json["cipher"]["name"], "nacl/secretbox");

    let back = SigningKey::from_pem(&encrypted, b"pw").unwrap();
    assert_eq!(back.public_key(), key.public_key());
    let plain = key.to_pkcs8_pem().unwrap();
    assert_eq!(
        SigningKey::from_pem(&plain, b"").unwrap().public_key(),
        key.public_key()
    );
    let public = key.public_key().to_pem().unwrap();
    assert_eq!(PublicKey::from_pem(&public).unwrap(), key.public_key());

    // Debug output names the public key only.
    let shown = format!("{key:?}");
    let secret_der = plain
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>();
    assert!(shown.contains(&key.public_key().fingerprint()), "{shown}");
    assert!(!shown.contains(&secret_der[..20]), "{shown}");
}

#[test]
fn a_key_file_demanding_huge_scrypt_work_is_refused_before_the_work() {
    let file = serde_json::json!({
        "kdf": {"name": "scrypt", "params": {"N": 1u64 << 40, "r": 8, "p": 1}, "salt": "AAAA"},
        "cipher": {"name": "nacl/secretbox", "nonce": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
        "ciphertext": "AAAA"
    });
    let body = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&file).unwrap());
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n{}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n",
        lines.join("\n")
    );
    let started = std::time::Instant::now();
    let err = SigningKey::from_pem(&pem, b"").unwrap_err();
    assert!(
        matches!(&err, Error::Key(why) if why.contains("N=")),
        "{err}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}
