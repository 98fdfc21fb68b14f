//! References generated from the distribution grammar parse and round-trip; arbitrary strings
//! never panic.

use oci_spec_types::Reference;
use proptest::prelude::*;

fn component() -> impl Strategy<Value = String> {
    (
        "[a-z0-9]{1,6}",
        proptest::collection::vec(
            (prop_oneof!["\\.", "_", "__", "-{1,2}"], "[a-z0-9]{1,6}"),
            0..2,
        ),
    )
        .prop_map(|(first, rest)| {
            let mut s = first;
            for (sep, c) in rest {
                s.push_str(&sep);
                s.push_str(&c);
            }
            s
        })
}

fn registry() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("localhost".to_string())),
        (1u16..65535).prop_map(|p| Some(format!("localhost:{p}"))),
        ("[a-z][a-z0-9]{0,8}", "[a-z]{2,5}").prop_map(|(a, b)| Some(format!("{a}.{b}"))),
        (1u16..65535).prop_map(|p| Some(format!("[::1]:{p}"))),
        (0u8..255, 1u16..65535).prop_map(|(a, p)| Some(format!("10.0.0.{a}:{p}"))),
    ]
}

fn reference() -> impl Strategy<Value = String> {
    (
        registry(),
        proptest::collection::vec(component(), 1..4),
        proptest::option::of("[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}"),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..16)),
    )
        .prop_map(|(reg, path, tag, digest)| {
            let mut s = match reg {
                Some(r) => format!("{r}/{}", path.join("/")),
                None => path.join("/"),
            };
            if let Some(t) = tag {
                s.push(':');
                s.push_str(&t);
            }
            if let Some(d) = digest {
                s.push('@');
                s.push_str(oci_digest::sha256(&d).as_str());
            }
            s
        })
}

proptest! {
    #[test]
    fn generated_references_parse_and_round_trip(s in reference()) {
        let r = Reference::parse(&s).map_err(|e| TestCaseError::fail(format!("{s}: {e}")))?;
        let shown = r.to_string();
        prop_assert_eq!(Reference::parse(&shown).unwrap(), r.clone());
        prop_assert_eq!(Reference::parse(&r.familiar()).unwrap(), r.clone());
        prop_assert!(shown.ends_with(&s[s.len().saturating_sub(10)..]) || s.len() < 10);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,300}") {
        if let Ok(r) = Reference::parse(&s) {
            prop_assert_eq!(Reference::parse(&r.to_string()).unwrap(), r);
        }
    }
}
