#![doc = include_str!("../README.md")]

mod descriptor;
mod error;
mod media_type;
mod platform;

pub use descriptor::Descriptor;
pub use error::SpecError;
pub use media_type::MediaType;
pub use platform::Platform;

pub use oci_digest::{Algorithm, Digest};
