//! Manifest, index, config and descriptor parsing never panic; parsed documents keep exactly
//! the bytes they came from, and validation never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_spec_types::{Descriptor, ImageConfig, ImageIndex, ImageManifest, Manifest};

fuzz_target!(|data: &[u8]| {
    let bytes = bytes::Bytes::copy_from_slice(data);
    if let Ok(doc) = Manifest::from_slice(bytes.clone()) {
        assert_eq!(doc.bytes().as_ref(), data);
        assert_eq!(*doc.digest(), oci_digest::sha256(data));
        let _ = doc.value().validate();
        let _ = doc.value().successors();
        let _ = doc.value().media_type();
    }
    if let Ok(doc) = ImageManifest::from_slice(bytes.clone()) {
        let _ = doc.value().validate();
        let again = doc.value().to_document().expect("a parsed manifest serialises");
        assert_eq!(ImageManifest::from_slice(again.bytes().clone()).unwrap().value(), doc.value());
    }
    if let Ok(doc) = ImageIndex::from_slice(bytes.clone()) {
        let _ = doc.value().validate();
    }
    if let Ok(doc) = ImageConfig::from_slice(bytes.clone()) {
        let _ = doc.value().validate();
        let _ = doc.value().platform();
    }
    if let Ok(d) = serde_json::from_slice::<Descriptor>(data) {
        let _ = d.validate();
        let _ = d.decoded_data();
    }
});
