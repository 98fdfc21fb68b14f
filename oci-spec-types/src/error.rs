//! The error of parsing and validating spec documents and strings.

/// A document or string that breaks the OCI specs.
///
/// Each variant names the field (as a JSON path such as `layers[2].digest` where one applies)
/// and the offending value, cut to a length fit for a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// A field holds a value the spec does not allow.
    #[error("invalid {field}: {reason} (got {value:?})")]
    InvalidField {
        /// The field, as a JSON path.
        field: String,
        /// The offending value.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A required field is absent.
    #[error("missing required field {field}")]
    MissingField {
        /// The field, as a JSON path.
        field: String,
    },
    /// The bytes are not JSON of the expected shape.
    #[error("invalid {document} JSON: {message}")]
    Json {
        /// What was being parsed (`manifest`, `index`, …).
        document: &'static str,
        /// serde_json's account, with line and column.
        message: String,
    },
    /// A document is larger than the cap a caller set.
    #[error("{document} of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// What was being read.
        document: &'static str,
        /// Its size.
        size: u64,
        /// The cap.
        limit: u64,
    },
}

/// Untrusted input cut to a length fit for an error message (200 characters).
pub(crate) fn clip(value: &str) -> String {
    oci_digest::clip(value, 200).into_owned()
}
