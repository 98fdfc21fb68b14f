#![doc = include_str!("../README.md")]
//!
//! # Why a crate of its own
//!
//! Every byte that moves between OCI stores is checked against a descriptor's size and digest.
//! Keeping that check small, fast and separate lets every store share one implementation, and
//! lets users who only need digests avoid the rest of the stack.
#![cfg_attr(docsrs, feature(doc_cfg))]

/// Implements `FromStr` and `TryFrom<&str>` for a type through its `parse(&str)`: the string
/// types of this crate and of `oci-spec-types` read the same way whichever trait is used.
#[doc(hidden)]
#[macro_export]
macro_rules! impl_from_str {
    ($ty:ty, $err:ty) => {
        impl ::std::str::FromStr for $ty {
            type Err = $err;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                <$ty>::parse(s)
            }
        }

        impl ::std::convert::TryFrom<&str> for $ty {
            type Error = $err;
            fn try_from(s: &str) -> ::std::result::Result<Self, Self::Error> {
                <$ty>::parse(s)
            }
        }
    };
}

mod algorithm;
mod background;
mod digest;
mod digester;
mod error;
mod read;
mod stream;
mod verifier;

#[cfg(feature = "tokio")]
mod async_read;

pub use algorithm::Algorithm;
pub use background::BackgroundVerifyingStream;
pub use digest::Digest;
pub use digester::{Digester, sha256, sha512};
pub use error::{DigestError, VerifyError, clip};
pub use read::VerifyingReader;
pub use stream::VerifyingStream;
pub use verifier::Verifier;

#[cfg(feature = "tokio")]
pub use async_read::VerifyingAsyncReader;
