#![doc = include_str!("../README.md")]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
mod copy;
mod error;
mod ext;
mod file;
pub mod graph;
mod hashing;
pub mod hook;
pub mod limits;
mod memory;
pub mod progress;
mod tag;
mod target;
mod verified;

pub use copy::{
    Copied, CopyGraphOptions, CopyOptions, CopyStats, ExtendedCopyOptions, MountSources, copy,
    copy_graph, extended_copy, select_platform,
};
pub use error::{Error, ErrorKind, RegistryErrorCode, Result};
pub use ext::{ReadOnlyTargetExt, TargetExt, bytes_stream, read_to_bytes, verified_stream};
pub use file::{
    file_stream, file_stream_limited, open_file_stream, write_file_atomically, write_stream,
};
pub use hashing::{Hashed, Unhashed, hashing_stream};
pub use hook::Hook;
pub use limits::{LIMIT_NAMES, Limits};
pub use memory::MemoryStore;
pub use progress::{ProgressEvent, ProgressSink, SharedProgress};
pub use tag::{RefKind, parse_ref};
pub use target::{BlobStream, OpenContent, ReadOnlyTarget, Target};
pub use verified::Verified;

pub use async_trait::async_trait;
