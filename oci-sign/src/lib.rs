#![doc = include_str!("../README.md")]

mod attachments;
pub mod attest;
pub mod bundles;
pub mod dsse;
mod error;
pub mod keys;
pub mod payload;
pub mod policy;
pub mod sigstore;
pub mod tagged;

pub use attest::{Statement, VerifiedAttestation};
pub use error::{Error, Result};
pub use keys::{PublicKey, SigningKey};
pub use payload::SimpleSigning;
pub use policy::{Gate, Policy};
pub use tagged::{VerifiedSignature, VerifyOptions};
