//! Incremental hashing.

use sha2::Digest as _;

use crate::{Algorithm, Digest};

/// Hashes data fed in pieces and produces a [`Digest`].
///
/// Uses RustCrypto's `sha2`, which picks the CPU's SHA extensions at run time where present.
///
/// ```
/// use oci_digest::{Algorithm, Digester};
///
/// let mut d = Digester::new(Algorithm::Sha256);
/// d.update(b"hel");
/// d.update(b"lo");
/// assert_eq!(d.finalize(), oci_digest::sha256(b"hello"));
/// ```
#[derive(Clone)]
pub struct Digester {
    state: State,
}

#[derive(Clone)]
enum State {
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Digester {
    /// A digester for `algorithm`.
    pub fn new(algorithm: Algorithm) -> Self {
        let state = match algorithm {
            Algorithm::Sha256 => State::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => State::Sha512(sha2::Sha512::new()),
        };
        Digester { state }
    }

    /// The algorithm this digester computes.
    pub fn algorithm(&self) -> Algorithm {
        match self.state {
            State::Sha256(_) => Algorithm::Sha256,
            State::Sha512(_) => Algorithm::Sha512,
        }
    }

    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Sha256(h) => h.update(data),
            State::Sha512(h) => h.update(data),
        }
    }

    /// The digest of everything fed so far.
    pub fn finalize(self) -> Digest {
        match self.state {
            State::Sha256(h) => {
                Digest::from_parts_unchecked(Algorithm::Sha256, &hex::encode(h.finalize()))
            }
            State::Sha512(h) => {
                Digest::from_parts_unchecked(Algorithm::Sha512, &hex::encode(h.finalize()))
            }
        }
    }
}

impl std::fmt::Debug for Digester {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digester")
            .field("algorithm", &self.algorithm())
            .finish_non_exhaustive()
    }
}

impl std::io::Write for Digester {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The sha256 digest of `data`.
pub fn sha256(data: &[u8]) -> Digest {
    Algorithm::Sha256.digest(data)
}

/// The sha512 digest of `data`.
pub fn sha512(data: &[u8]) -> Digest {
    Algorithm::Sha512.digest(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // FIPS 180-2 test vector "abc".
        assert_eq!(
            sha256(b"abc").as_str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            sha512(b"abc").as_str(),
            "sha512:ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        for alg in [Algorithm::Sha256, Algorithm::Sha512] {
            let mut d = Digester::new(alg);
            for chunk in data.chunks(97) {
                d.update(chunk);
            }
            assert_eq!(d.algorithm(), alg);
            assert_eq!(d.finalize(), alg.digest(&data));
        }
    }
}
