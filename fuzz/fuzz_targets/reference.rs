//! Reference parsing never panics, and what parses round-trips through Display and the
//! familiar form.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oci_spec_types::Reference;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = Reference::parse(s) {
        let shown = r.to_string();
        let again = Reference::parse(&shown).expect("Display output parses");
        assert_eq!(again, r);
        assert_eq!(Reference::parse(&r.familiar()).expect("familiar form parses"), r);
        assert!(shown.len() <= s.len() + "docker.io/library/".len());
    }
});
