#![doc = include_str!("../README.md")]

pub mod annotations;
mod builders;
mod config;
mod descriptor;
pub mod distribution;
mod document;
mod error;
mod index;
mod manifest;
mod manifest_kind;
mod media_type;
pub mod media_types;
mod platform;
mod reference;
mod validate;

pub use config::{Empty, ExecConfig, History, ImageConfig, ImageLayout, RootFs};
pub use descriptor::Descriptor;
pub use distribution::{DOCKER_HUB, DOCKER_HUB_API_HOST};
pub use document::{Document, MAX_MANIFEST_BYTES};
pub use error::SpecError;
pub use index::ImageIndex;
pub use manifest::ImageManifest;
pub use manifest_kind::{Links, Manifest};
pub use media_type::MediaType;
pub use platform::Platform;
pub use reference::{Reference, check_repository};
pub use validate::check_content_type;

pub use oci_digest::{Algorithm, Digest};
