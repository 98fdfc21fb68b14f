//! One policy for everything read from a store nobody here controls.
//!
//! A registry, a token server or a layout directory can send anything: endless bodies, indexes
//! nested thousands deep, archives that unpack a thousandfold. Every read of such input is held
//! to one of these limits, and every graph walk to a depth and a node budget. The defaults are
//! far above what real artifacts reach; a caller that needs more raises one limit by name.
//!
//! | name | default | what it bounds |
//! |---|---|---|
//! | `manifest-bytes` | 4 MiB | one manifest, index or config read into memory |
//! | `index-json-bytes` | 64 MiB | a layout's `index.json` |
//! | `token-bytes` | 1 MiB | one answer of a token server |
//! | `error-body-bytes` | 64 KiB | how much of a registry's error body is read |
//! | `listing-bytes` | 64 MiB | all pages of one listing (tags, catalog, referrers) together |
//! | `listing-items` | 1,000,000 | entries of one listing across its pages |
//! | `listing-pages` | 1,000 | pages of one listing (a page link seen before ends it) |
//! | `graph-depth` | 64 | levels below a root in a copy, discover, resolve or platform walk |
//! | `graph-nodes` | 100,000 | distinct nodes one walk visits |
//! | `redirects` | 10 | redirects followed for one request |
//! | `upload-recoveries` | 16 | times one upload resumes after the registry refuses a chunk |
//! | `unpacked-bytes` | 256 GiB | bytes a directory pull writes from one archive |
//! | `unpacked-entries` | 1,000,000 | entries a directory pull writes from one archive |
//! | `expansion-ratio` | 200 | unpacked bytes per archive byte, checked past the first 64 MiB |
//!
//! Hitting a limit is an [`Error`] of kind [`ErrorKind::SizeLimitExceeded`] whose
//! [`Error::limit`] names it and whose message says how to raise it.

use std::fmt;

use crate::{Error, ErrorKind, Result};

/// Bytes an archive may unpack to before [`Limits::expansion_ratio`] is checked.
pub const EXPANSION_GRACE_BYTES: u64 = 64 << 20;

/// The caps on untrusted input; see the [module docs](self) for the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// `manifest-bytes`: one manifest, index or config read into memory.
    pub manifest_bytes: u64,
    /// `index-json-bytes`: a layout's `index.json`.
    pub index_json_bytes: u64,
    /// `token-bytes`: one answer of a token server.
    pub token_bytes: u64,
    /// `error-body-bytes`: how much of a registry's error body is read.
    pub error_body_bytes: u64,
    /// `listing-bytes`: all pages of one listing together.
    pub listing_bytes: u64,
    /// `listing-items`: entries of one listing across its pages.
    pub listing_items: u64,
    /// `listing-pages`: pages of one listing.
    pub listing_pages: u64,
    /// `graph-depth`: levels below a root in any graph walk.
    pub graph_depth: u64,
    /// `graph-nodes`: distinct nodes one walk visits.
    pub graph_nodes: u64,
    /// `redirects`: redirects followed for one request.
    pub redirects: u64,
    /// `upload-recoveries`: resumptions of one upload after a refused chunk.
    pub upload_recoveries: u64,
    /// `unpacked-bytes`: bytes written from one archive.
    pub unpacked_bytes: u64,
    /// `unpacked-entries`: entries written from one archive.
    pub unpacked_entries: u64,
    /// `expansion-ratio`: unpacked bytes per archive byte, past the first 64 MiB.
    pub expansion_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            manifest_bytes: oci_spec_types::MAX_MANIFEST_BYTES,
            index_json_bytes: 64 << 20,
            token_bytes: 1 << 20,
            error_body_bytes: 64 << 10,
            listing_bytes: 64 << 20,
            listing_items: 1_000_000,
            listing_pages: 1_000,
            graph_depth: 64,
            graph_nodes: 100_000,
            redirects: 10,
            upload_recoveries: 16,
            unpacked_bytes: 256 << 30,
            unpacked_entries: 1_000_000,
            expansion_ratio: 200,
        }
    }
}

/// Every limit's name, in the order of the table.
pub const LIMIT_NAMES: &[&str] = &[
    "manifest-bytes",
    "index-json-bytes",
    "token-bytes",
    "error-body-bytes",
    "listing-bytes",
    "listing-items",
    "listing-pages",
    "graph-depth",
    "graph-nodes",
    "redirects",
    "upload-recoveries",
    "unpacked-bytes",
    "unpacked-entries",
    "expansion-ratio",
];

impl Limits {
    fn slot(&mut self, name: &str) -> Option<&mut u64> {
        Some(match name {
            "manifest-bytes" => &mut self.manifest_bytes,
            "index-json-bytes" => &mut self.index_json_bytes,
            "token-bytes" => &mut self.token_bytes,
            "error-body-bytes" => &mut self.error_body_bytes,
            "listing-bytes" => &mut self.listing_bytes,
            "listing-items" => &mut self.listing_items,
            "listing-pages" => &mut self.listing_pages,
            "graph-depth" => &mut self.graph_depth,
            "graph-nodes" => &mut self.graph_nodes,
            "redirects" => &mut self.redirects,
            "upload-recoveries" => &mut self.upload_recoveries,
            "unpacked-bytes" => &mut self.unpacked_bytes,
            "unpacked-entries" => &mut self.unpacked_entries,
            "expansion-ratio" => &mut self.expansion_ratio,
            _ => return None,
        })
    }

    /// The value of the limit called `name` (as in the table), if there is one of that name.
    pub fn get(&self, name: &str) -> Option<u64> {
        let mut copy = *self;
        copy.slot(name).map(|v| *v)
    }

    /// Sets the limit called `name` to `value`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a name not in the table.
    pub fn set(&mut self, name: &str, value: u64) -> Result<()> {
        match self.slot(name) {
            Some(slot) => {
                *slot = value;
                Ok(())
            }
            None => Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "no limit is called {name:?}; the limits are {}",
                    LIMIT_NAMES.join(", ")
                ),
            )),
        }
    }

    /// As [`set`](Self::set), from `name=value` (the form of `ocictl --limit`). The value may
    /// end in `K`, `M`, `G` or `T` (binary multiples).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidInput`] for a missing `=`, an unknown name or a value that is not a
    /// number.
    pub fn set_from_str(&mut self, assignment: &str) -> Result<()> {
        let bad = |why: String| Error::new(ErrorKind::InvalidInput, why);
        let (name, value) = assignment
            .split_once('=')
            .ok_or_else(|| bad(format!("{assignment:?}: expected NAME=VALUE")))?;
        let value = value.trim();
        let (digits, shift) = match value.char_indices().last() {
            Some((i, 'K' | 'k')) => (&value[..i], 10),
            Some((i, 'M' | 'm')) => (&value[..i], 20),
            Some((i, 'G' | 'g')) => (&value[..i], 30),
            Some((i, 'T' | 't')) => (&value[..i], 40),
            _ => (value, 0),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| bad(format!("{assignment:?}: {value:?} is not a number")))?;
        let n = n
            .checked_mul(1u64 << shift)
            .ok_or_else(|| bad(format!("{assignment:?}: {value:?} is too large")))?;
        self.set(name.trim(), n)
    }

    /// Checks `value` against the limit called `name`.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::SizeLimitExceeded`] naming the limit when `value` is over it; `what` says
    /// what was being read.
    pub fn check(&self, name: &'static str, value: u64, what: impl fmt::Display) -> Result<()> {
        let limit = self.get(name).unwrap_or(u64::MAX);
        if value > limit {
            return Err(Error::limit_exceeded(name, limit, what));
        }
        Ok(())
    }
}

impl Error {
    /// The error for going past the limit called `name`, whose value is `limit`; `what` says
    /// what was being read. Its message says how to raise the limit.
    pub fn limit_exceeded(name: &'static str, limit: u64, what: impl fmt::Display) -> Self {
        let field = name.replace('-', "_");
        let mut e = Error::new(
            ErrorKind::SizeLimitExceeded,
            format!(
                "{what}: over the {name} limit of {limit} (raise it with Limits::{field}, or \
                 `ocictl --limit {name}=N`)"
            ),
        );
        e.set_limit(name);
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_has_a_slot_and_a_default() {
        let mut limits = Limits::default();
        for name in LIMIT_NAMES {
            assert!(limits.get(name).is_some_and(|v| v > 0), "{name}");
            limits.set(name, 7).unwrap();
            assert_eq!(limits.get(name), Some(7), "{name}");
        }
        assert!(limits.set("no-such", 1).is_err());
    }

    #[test]
    fn assignments_take_binary_suffixes() {
        let mut limits = Limits::default();
        limits.set_from_str("token-bytes=2M").unwrap();
        assert_eq!(limits.token_bytes, 2 << 20);
        limits.set_from_str("graph-depth=100000").unwrap();
        assert_eq!(limits.graph_depth, 100_000);
        for bad in [
            "graph-depth",
            "graph-depth=x",
            "nope=1",
            "unpacked-bytes=99999999999T",
        ] {
            assert_eq!(
                limits.set_from_str(bad).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{bad}"
            );
        }
    }

    #[test]
    fn going_past_a_limit_names_it_and_says_how_to_raise_it() {
        let limits = Limits::default();
        limits.check("graph-depth", 64, "copy").unwrap();
        let e = limits.check("graph-depth", 65, "copy of x").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::SizeLimitExceeded);
        assert_eq!(e.limit(), Some("graph-depth"));
        let text = e.to_string();
        assert!(text.contains("copy of x") && text.contains("graph-depth limit of 64"));
        assert!(text.contains("--limit graph-depth=N"), "{text}");
    }
}
