//! The conformance suite every store runs.
//!
//! Async functions that take a store as `&dyn Target` plus [`Flags`] saying what it supports.
//! Each case panics with a message saying what the store did wrong, so a store's own test calls
//! them directly:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use oci_target::MemoryStore;
//! use oci_target::conformance::{Flags, run_all};
//!
//! let store = MemoryStore::new();
//! run_all(&store, &Flags::all()).await;
//! # });
//! ```
//!
//! Cases use fresh content and tag names on every call, so they can run against a store that
//! already holds data (a shared registry) and run again.

mod cases;
mod wrappers;

pub use cases::*;
pub use wrappers::{Faults, Instrumented};

use derive_setters::Setters;
use oci_digest::Digest;
use oci_spec_types::Descriptor;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Target;

/// Replaces the stored bytes of a digest with the given bytes (see [`Flags::corrupt`]).
pub type Corrupt = crate::Hook<dyn Fn(&Digest, &[u8]) + Send + Sync>;

/// What the store under test supports, and how to reach behind it.
#[derive(Debug, Default, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct Flags {
    /// Run the referrers case.
    pub referrers: bool,
    /// Run the delete case.
    pub delete: bool,
    /// Run the untag case.
    pub untag: bool,
    /// The store keeps data outside memory: run the large-stream case with a blob of this many
    /// bytes, checking the process's memory does not grow with it.
    #[setters(strip_option)]
    pub large_blob: Option<u64>,
    /// The store cannot keep a blob of zero bytes (distribution 2.8 on S3 answers 500 to its
    /// upload): the round trip leaves that length out.
    pub no_empty_blob: bool,
    /// Replaces the stored bytes of a digest with other bytes, behind the store's back, so the
    /// suite can check that reads refuse them. Without it the corruption case is not run.
    #[setters(skip)]
    pub corrupt: Option<Corrupt>,
}

impl Flags {
    /// Every optional case on: the store answers referrers, delete and untag. A case the store
    /// should not pass is turned off with the setters below; then the suite checks the store
    /// says [`Unsupported`](crate::ErrorKind::Unsupported) for it, where it can tell.
    pub fn all() -> Self {
        Flags {
            referrers: true,
            delete: true,
            untag: true,
            ..Flags::default()
        }
    }

    /// Sets the corruption hook.
    pub fn with_corrupt(
        mut self,
        corrupt: impl Fn(&Digest, &[u8]) + Send + Sync + 'static,
    ) -> Self {
        self.corrupt = Some(crate::Hook::new(std::sync::Arc::new(corrupt)));
        self
    }
}

/// Runs every case the flags allow, one after another.
pub async fn run_all(target: &dyn Target, flags: &Flags) {
    round_trip_of(target, !flags.no_empty_blob).await;
    manifest_round_trip(target).await;
    mismatched_content_is_refused(target).await;
    repush_is_fine(target).await;
    push_absent_sends_only_what_is_missing(target).await;
    push_stream_learns_the_digest(target).await;
    describe_by_digest(target).await;
    tag_resolve_retag(target).await;
    concurrent_pushes_of_one_blob(target).await;
    if flags.delete {
        delete(target).await;
    }
    if flags.untag {
        untag(target).await;
    }
    if flags.referrers {
        referrers(target).await;
    } else {
        referrers_unsupported(target).await;
    }
    if let Some(corrupt) = &flags.corrupt {
        corrupted_content_is_refused(target, &**corrupt).await;
    }
    if let Some(size) = flags.large_blob {
        large_blob_streams_in_bounded_memory(target, size).await;
    }
}

/// Fresh bytes on every call: a counter and the time, so runs against a store that keeps data
/// never collide.
pub fn unique_bytes(label: &str, len: usize) -> Vec<u8> {
    let (n, nanos) = unique_id();
    let mut state = nanos ^ (n << 32) ^ 0x9e37_79b9_7f4a_7c15;
    let mut out = format!("{nanos}-{n}-{label}-").into_bytes();
    while out.len() < len {
        // xorshift64*
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len.max(1));
    out
}

/// A unique tag name, for cases that tag.
pub fn unique_tag(label: &str) -> String {
    let (n, nanos) = unique_id();
    let tag: String = format!("{label}-{n}-{nanos}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    tag.chars()
        .rev()
        .take(120)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

fn unique_id() -> (u64, u64) {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    (n, nanos)
}

/// A descriptor of `data` as `media_type`.
pub fn describe(media_type: &str, data: &[u8]) -> Descriptor {
    Descriptor::new(
        oci_spec_types::MediaType::parse(media_type).expect("valid media type"),
        oci_digest::sha256(data),
        data.len() as u64,
    )
}
