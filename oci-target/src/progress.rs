//! Progress events from the copy engine.
//!
//! A user interface draws these as progress bars; a service counts them as metrics. Events borrow
//! what they describe, so reporting allocates nothing; a sink should return quickly (hand the
//! event to a channel or update an atomic) since it runs on the transfer's task.

use std::sync::Arc;

use futures_util::StreamExt;
use oci_spec_types::Descriptor;

use crate::{BlobStream, Error};

/// Something that happened to one node of a copy.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum ProgressEvent<'a> {
    /// A transfer began.
    Started {
        /// What is being copied.
        desc: &'a Descriptor,
    },
    /// More bytes arrived; `transferred` counts all bytes of this node so far.
    Bytes {
        /// What is being copied.
        desc: &'a Descriptor,
        /// Bytes transferred so far for this node.
        transferred: u64,
    },
    /// The node is in the destination, verified.
    Done {
        /// What was copied.
        desc: &'a Descriptor,
    },
    /// The destination already had the node; nothing was transferred.
    Skipped {
        /// What was skipped.
        desc: &'a Descriptor,
    },
    /// The node was mounted from another repository of the same registry.
    Mounted {
        /// What was mounted.
        desc: &'a Descriptor,
        /// The repository it was mounted from.
        from: &'a str,
    },
    /// Copying the node failed.
    Failed {
        /// What failed.
        desc: &'a Descriptor,
        /// Why.
        error: &'a Error,
    },
}

impl ProgressEvent<'_> {
    /// The node the event is about.
    pub fn descriptor(&self) -> &Descriptor {
        match self {
            ProgressEvent::Started { desc }
            | ProgressEvent::Bytes { desc, .. }
            | ProgressEvent::Done { desc }
            | ProgressEvent::Skipped { desc }
            | ProgressEvent::Mounted { desc, .. }
            | ProgressEvent::Failed { desc, .. } => desc,
        }
    }
}

/// Receives progress events. Implemented for closures `Fn(&ProgressEvent<'_>)`.
pub trait ProgressSink: Send + Sync {
    /// Called for each event, on the task doing the transfer: return quickly.
    fn event(&self, event: &ProgressEvent<'_>);
}

impl<F> ProgressSink for F
where
    F: Fn(&ProgressEvent<'_>) + Send + Sync,
{
    fn event(&self, event: &ProgressEvent<'_>) {
        self(event)
    }
}

/// A shared sink is a sink: one `Arc` can serve every option that takes progress.
impl<T: ProgressSink + ?Sized> ProgressSink for Arc<T> {
    fn event(&self, event: &ProgressEvent<'_>) {
        (**self).event(event)
    }
}

impl std::fmt::Debug for dyn ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProgressSink")
    }
}

/// A shared sink, as options hold it.
pub type SharedProgress = Arc<dyn ProgressSink>;

/// Wraps `stream` so that `sink` hears a [`ProgressEvent::Bytes`] for each piece that passes,
/// counting from zero.
pub fn report_bytes(desc: &Descriptor, stream: BlobStream, sink: SharedProgress) -> BlobStream {
    let desc = desc.clone();
    let mut transferred = 0u64;
    Box::pin(stream.inspect(move |item| {
        if let Ok(chunk) = item {
            transferred += chunk.len() as u64;
            sink.event(&ProgressEvent::Bytes {
                desc: &desc,
                transferred,
            });
        }
    }))
}
