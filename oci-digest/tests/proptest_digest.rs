//! Properties of digests and of the verifier, over generated input.

use oci_digest::{Algorithm, Digest, Verifier};
use proptest::prelude::*;

/// Strings by the image-spec grammar, for algorithms this crate does not register (so any
/// encoded part is allowed).
fn grammatical() -> impl Strategy<Value = String> {
    let component = "[a-z0-9]{1,8}";
    let algorithm = (
        component,
        proptest::collection::vec(("[+._-]", component), 0..3),
    )
        .prop_map(|(first, rest)| {
            let mut s = first;
            for (sep, c) in rest {
                s.push_str(&sep);
                s.push_str(&c);
            }
            s
        });
    (algorithm, "[a-zA-Z0-9=_-]{1,80}")
        .prop_filter("registered algorithms have their own encoding", |(a, _)| {
            !matches!(a.as_str(), "sha256" | "sha512" | "blake3")
        })
        .prop_map(|(a, e)| format!("{a}:{e}"))
}

proptest! {
    #[test]
    fn grammatical_digests_parse_and_round_trip(s in grammatical()) {
        let d = Digest::parse(&s).unwrap();
        prop_assert_eq!(d.to_string(), s.clone());
        prop_assert_eq!(Digest::parse(d.as_str()).unwrap(), d.clone());
        let (alg, enc) = s.split_once(':').unwrap();
        prop_assert_eq!(d.algorithm(), alg);
        prop_assert_eq!(d.encoded(), enc);
        prop_assert!(d.hash_algorithm().is_err());
    }

    #[test]
    fn computed_digests_parse_back(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let d = alg.digest(&data);
            let back = Digest::parse(d.as_str()).unwrap();
            prop_assert_eq!(&back, &d);
            prop_assert_eq!(back.hash_algorithm().unwrap(), alg);
            prop_assert!(back.matches(&data));
        }
    }

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,300}") {
        let _ = Digest::parse(&s);
    }

    #[test]
    fn any_split_of_the_right_bytes_verifies(
        data in proptest::collection::vec(any::<u8>(), 1..4096),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let d = oci_digest::sha256(&data);
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(data.len())).collect();
        points.sort_unstable();
        let mut v = Verifier::new(&d, data.len() as u64).unwrap();
        let mut start = 0;
        for p in points.into_iter().chain(std::iter::once(data.len())) {
            v.update(&data[start..p]).unwrap();
            start = p;
        }
        v.finish().unwrap();
        prop_assert!(v.is_verified());
    }

    #[test]
    fn any_single_byte_change_is_caught(
        data in proptest::collection::vec(any::<u8>(), 1..4096),
        at in any::<prop::sample::Index>(),
        flip in 1u8..=255,
    ) {
        let d = oci_digest::sha256(&data);
        let mut bad = data.clone();
        let i = at.index(bad.len());
        bad[i] ^= flip;
        let mut v = Verifier::new(&d, data.len() as u64).unwrap();
        let result = v.update(&bad).and_then(|_| v.finish());
        prop_assert!(result.is_err());
    }
}
