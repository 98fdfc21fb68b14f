//! Digest parsing never panics; what parses round-trips; the verifier never accepts bytes
//! that are not the content.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_digest::{Digest, Verifier};

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(d) = Digest::parse(s) {
            assert_eq!(d.as_str(), s);
            assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
            assert_eq!(format!("{}:{}", d.algorithm(), d.encoded()), s);
        }
    }
    // Split the input: the first half is the content, the rest are chunk boundaries.
    let (content, cuts) = data.split_at(data.len() / 2);
    let digest = oci_digest::sha256(content);
    let mut v = Verifier::new(&digest, content.len() as u64).unwrap();
    let mut start = 0usize;
    for c in cuts {
        let end = (start + *c as usize).min(content.len());
        v.update(&content[start..end]).unwrap();
        start = end;
    }
    v.update(&content[start..]).unwrap();
    v.finish().unwrap();
    // Any other content of the same length must fail.
    if let Some(first) = content.first() {
        let mut other = content.to_vec();
        other[0] = first.wrapping_add(1);
        let mut v = Verifier::new(&digest, content.len() as u64).unwrap();
        assert!(v.update(&other).and_then(|_| v.finish()).is_err());
    }
});
