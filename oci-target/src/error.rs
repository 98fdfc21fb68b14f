//! The one error type every store converts into.
//!
//! Callers match on [`ErrorKind`] rather than on a store's own error types, so code written
//! against `dyn Target` handles a registry, a layout and memory alike. Messages say what was
//! expected, what came, and which reference or digest; a registry's JSON error codes are kept.

use std::fmt;
use std::sync::Arc;

use oci_digest::{DigestError, VerifyError};
use oci_spec_types::SpecError;

/// A result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, for callers to match on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The content, manifest, tag or repository does not exist.
    NotFound,
    /// The store refuses to overwrite what exists.
    AlreadyExists,
    /// Content hashed to another digest than its descriptor says.
    DigestMismatch,
    /// Content had another size than its descriptor says.
    SizeMismatch,
    /// A reference string breaks the grammar.
    InvalidReference,
    /// A digest string breaks the grammar.
    InvalidDigest,
    /// A media type breaks the grammar, or disagrees with what was served.
    InvalidMediaType,
    /// A manifest or index is malformed.
    InvalidManifest,
    /// The store cannot do this (a capability it lacks, an algorithm it cannot verify).
    Unsupported,
    /// Credentials are missing or were refused (HTTP 401).
    Unauthorized,
    /// The credentials do not grant this (HTTP 403).
    Denied,
    /// The store asked to slow down (HTTP 429).
    TooManyRequests,
    /// Content is larger than a limit the caller or the store set.
    SizeLimitExceeded,
    /// A network or protocol failure.
    Transport,
    /// A local I/O failure.
    Io,
    /// The operation was cancelled or timed out.
    Cancelled,
    /// The caller's input was refused: options that contradict each other, a file that is not
    /// there to push.
    InvalidInput,
    /// A path taken from content (a file title, a tar entry, a link target) would land outside
    /// the directory it was meant for.
    UnsafePath,
    /// The content failed a trust check: a signature policy refused it.
    Untrusted,
    /// Anything else.
    Other,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::DigestMismatch => "digest mismatch",
            ErrorKind::SizeMismatch => "size mismatch",
            ErrorKind::InvalidReference => "invalid reference",
            ErrorKind::InvalidDigest => "invalid digest",
            ErrorKind::InvalidMediaType => "invalid media type",
            ErrorKind::InvalidManifest => "invalid manifest",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Denied => "denied",
            ErrorKind::TooManyRequests => "too many requests",
            ErrorKind::SizeLimitExceeded => "size limit exceeded",
            ErrorKind::Transport => "transport error",
            ErrorKind::Io => "I/O error",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::UnsafePath => "unsafe path",
            ErrorKind::Untrusted => "untrusted",
            ErrorKind::Other => "error",
        })
    }
}

/// One entry of a registry's JSON error body (`{"errors": [{"code", "message", "detail"}]}`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistryErrorCode {
    /// The code, such as `MANIFEST_UNKNOWN` or `DENIED`.
    pub code: String,
    /// The registry's message.
    pub message: String,
    /// The `detail` value as raw JSON, when present.
    pub detail: Option<String>,
}

impl RegistryErrorCode {
    /// An entry with `code` and `message`.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        RegistryErrorCode {
            code: code.into(),
            message: message.into(),
            detail: None,
        }
    }

    /// Sets `detail` (raw JSON).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// The error of every store and of the copy engine.
///
/// Cheap to clone (the source is shared), so one failure can be reported to every task waiting
/// on the same transfer.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    registry_errors: Vec<RegistryErrorCode>,
    limit: Option<&'static str>,
    source: Option<Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// An error of `kind` with a message saying what was expected, what came and for which
    /// reference or digest.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            status: None,
            registry_errors: Vec::new(),
            limit: None,
            source: None,
        }
    }

    pub(crate) fn set_limit(&mut self, name: &'static str) {
        self.limit = Some(name);
    }

    /// The name of the [`Limits`](crate::Limits) entry this error went past, for
    /// [`ErrorKind::SizeLimitExceeded`] errors that come from one.
    pub fn limit(&self) -> Option<&'static str> {
        self.limit
    }

    /// [`ErrorKind::NotFound`] with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::NotFound, message)
    }

    /// A local I/O failure: `context` says what was being done to which path. A missing file
    /// gives [`ErrorKind::NotFound`], anything else [`ErrorKind::Io`]; the I/O error is kept as
    /// the source.
    pub fn io(context: impl fmt::Display, e: std::io::Error) -> Self {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::Io,
        };
        Error::new(kind, format!("{context}: {e}")).with_source(e)
    }

    /// A local I/O failure doing `what` (`"cannot read"`) to `path`, as [`Error::io`] says it.
    pub fn at_path(what: &str, path: &std::path::Path, e: std::io::Error) -> Self {
        Error::io(format_args!("{what} {}", path.display()), e)
    }

    /// [`ErrorKind::Unsupported`], naming the operation.
    pub fn unsupported(operation: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported, operation)
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Attaches the HTTP status of the response that failed.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// Attaches the codes of a registry's JSON error body.
    pub fn with_registry_errors(mut self, errors: Vec<RegistryErrorCode>) -> Self {
        self.registry_errors = errors;
        self
    }

    /// Prefixes the message with context, such as the operation and reference.
    pub fn context(mut self, context: impl fmt::Display) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without the kind.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status, for errors from a registry.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The codes of the registry's JSON error body, if it sent one.
    pub fn registry_errors(&self) -> &[RegistryErrorCode] {
        &self.registry_errors
    }

    /// True when the registry's error body has `code`.
    pub fn has_registry_code(&self, code: &str) -> bool {
        self.registry_errors.iter().any(|e| e.code == code)
    }

    /// True for [`ErrorKind::NotFound`].
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }

    /// True for [`ErrorKind::Unsupported`].
    pub fn is_unsupported(&self) -> bool {
        self.kind == ErrorKind::Unsupported
    }

    /// The [`VerifyError`] behind a digest or size mismatch, if there is one.
    pub fn verify_error(&self) -> Option<&VerifyError> {
        let mut source: Option<&(dyn std::error::Error + 'static)> =
            self.source.as_deref().map(|e| e as _);
        while let Some(e) = source {
            if let Some(v) = e.downcast_ref::<VerifyError>() {
                return Some(v);
            }
            if let Some(io) = e.downcast_ref::<std::io::Error>()
                && let Some(v) = VerifyError::from_io(io)
            {
                return Some(v);
            }
            source = e.source();
        }
        None
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(s) = self.status {
            d.field("status", &s);
        }
        if !self.registry_errors.is_empty() {
            d.field("registry_errors", &self.registry_errors);
        }
        if let Some(l) = self.limit {
            d.field("limit", &l);
        }
        if let Some(s) = &self.source {
            d.field("source", s);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(s) = self.status {
            write!(f, " (HTTP {s})")?;
        }
        for e in &self.registry_errors {
            write!(f, " [{}: {}]", e.code, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

impl From<VerifyError> for Error {
    fn from(err: VerifyError) -> Self {
        // The kind already says "digest mismatch": the message says the rest, once.
        let (kind, message) = match &err {
            VerifyError::DigestMismatch { expected, actual } => (
                ErrorKind::DigestMismatch,
                format!("expected {expected}, computed {actual}"),
            ),
            other => (ErrorKind::SizeMismatch, other.to_string()),
        };
        Error::new(kind, message).with_source(err)
    }
}

impl From<DigestError> for Error {
    fn from(err: DigestError) -> Self {
        let kind = match err {
            DigestError::Unsupported { .. } => ErrorKind::Unsupported,
            _ => ErrorKind::InvalidDigest,
        };
        Error::new(kind, err.to_string()).with_source(err)
    }
}

impl From<SpecError> for Error {
    fn from(err: SpecError) -> Self {
        let kind = match &err {
            SpecError::TooLarge { .. } => ErrorKind::SizeLimitExceeded,
            SpecError::InvalidField { field, .. } if field.ends_with("mediaType") => {
                ErrorKind::InvalidMediaType
            }
            SpecError::InvalidField { field, .. }
                if field == "reference" || field == "repository" || field == "tag" =>
            {
                ErrorKind::InvalidReference
            }
            SpecError::InvalidField { field, .. } if field == "platform" => ErrorKind::InvalidInput,
            _ => ErrorKind::InvalidManifest,
        };
        Error::new(kind, err.to_string()).with_source(err)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        if let Some(v) = VerifyError::from_io(&err) {
            let v = v.clone();
            return Error::from(v);
        }
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            std::io::ErrorKind::TimedOut => ErrorKind::Cancelled,
            _ => ErrorKind::Io,
        };
        Error::new(kind, err.to_string()).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_digest::sha256;

    #[test]
    fn verify_errors_map_to_kinds_and_stay_reachable() {
        let mismatch = VerifyError::DigestMismatch {
            expected: sha256(b"a"),
            actual: sha256(b"b"),
        };
        let e = Error::from(mismatch.clone());
        assert_eq!(e.kind(), ErrorKind::DigestMismatch);
        assert_eq!(e.verify_error(), Some(&mismatch));
        assert!(e.to_string().contains(sha256(b"a").as_str()));

        let short = VerifyError::TooShort {
            expected: 3,
            received: 1,
        };
        let e = Error::from(std::io::Error::from(short.clone()));
        assert_eq!(e.kind(), ErrorKind::SizeMismatch);
        assert_eq!(e.verify_error(), Some(&short));
    }

    #[test]
    fn registry_codes_are_kept_and_shown() {
        let e = Error::new(ErrorKind::NotFound, "manifest latest in library/x")
            .with_status(404)
            .with_registry_errors(vec![RegistryErrorCode::new(
                "MANIFEST_UNKNOWN",
                "manifest unknown",
            )]);
        assert!(e.has_registry_code("MANIFEST_UNKNOWN"));
        assert_eq!(
            e.to_string(),
            "not found: manifest latest in library/x (HTTP 404) [MANIFEST_UNKNOWN: manifest unknown]"
        );
    }

    #[test]
    fn digest_errors_map_to_kinds() {
        let e = Error::from(oci_digest::Digest::parse("sha256:xyz").unwrap_err());
        assert_eq!(e.kind(), ErrorKind::InvalidDigest);
        let d = oci_digest::Digest::parse("foo:bar").unwrap();
        let e = Error::from(d.hash_algorithm().unwrap_err());
        assert_eq!(e.kind(), ErrorKind::Unsupported);
    }
}
