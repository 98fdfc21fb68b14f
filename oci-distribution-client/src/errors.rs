//! Registry responses that failed, as the shared error type.

use oci_spec_types::distribution::ErrorBody;
use oci_target::{Error, ErrorKind, RegistryErrorCode};

/// How much of an error body is read, as the client's `error-body-bytes` limit says: every
/// response [`Inner::send`](crate::http::Inner::send) returns carries it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ErrorBodyLimit(pub(crate) u64);

/// The error kind an HTTP status and the registry's codes mean.
fn kind_of(status: u16, codes: &[RegistryErrorCode]) -> ErrorKind {
    let has = |c: &str| codes.iter().any(|e| e.code == c);
    if has("DIGEST_INVALID") {
        return ErrorKind::DigestMismatch;
    }
    if has("SIZE_INVALID") {
        return ErrorKind::SizeMismatch;
    }
    if has("MANIFEST_INVALID") || has("MANIFEST_BLOB_UNKNOWN") {
        return ErrorKind::InvalidManifest;
    }
    if has("NAME_INVALID") || has("TAG_INVALID") {
        return ErrorKind::InvalidReference;
    }
    if has("UNSUPPORTED") {
        return ErrorKind::Unsupported;
    }
    match status {
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Denied,
        404 => ErrorKind::NotFound,
        405 => ErrorKind::Unsupported,
        413 => ErrorKind::SizeLimitExceeded,
        416 => ErrorKind::Transport,
        429 => ErrorKind::TooManyRequests,
        408 | 500..=599 => ErrorKind::Transport,
        _ => ErrorKind::Other,
    }
}

/// Turns a failed response into an [`Error`] that keeps the registry's codes. `what` says which
/// operation on which reference failed.
pub(crate) async fn from_response(what: &str, response: reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let max = response
        .extensions()
        .get::<ErrorBodyLimit>()
        .map_or(oci_target::Limits::default().error_body_bytes, |l| l.0);
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let mut body = Vec::new();
    let mut response = response;
    while body.len() < max {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    body.truncate(max);
    from_parts(what, status, &body)
}

/// As [`from_response`], from a status and the start of the body.
pub(crate) fn from_parts(what: &str, status: u16, body: &[u8]) -> Error {
    let codes: Vec<RegistryErrorCode> = serde_json::from_slice::<ErrorBody>(body)
        .map(|b| {
            b.errors
                .into_iter()
                .map(|e| {
                    let c = RegistryErrorCode::new(e.code, e.message);
                    match e.detail {
                        Some(d) if !d.is_null() => c.with_detail(d.to_string()),
                        _ => c,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let mut message = format!("{what}: the registry answered {status}");
    if codes.is_empty() && !body.is_empty() {
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
        let text: String = text.chars().filter(|c| !c.is_control()).collect();
        message.push_str(&format!(" ({})", text.trim()));
    }
    Error::new(kind_of(status, &codes), message)
        .with_status(status)
        .with_registry_errors(codes)
}

/// A transport failure of `what`.
pub(crate) fn transport(what: &str, err: reqwest::Error) -> Error {
    transport_after(what, err, 1)
}

/// A transport failure of `what` after `attempts` tries (retries included): the message names
/// the innermost cause and, past one, how many tries were made.
pub(crate) fn transport_after(what: &str, err: reqwest::Error, attempts: u32) -> Error {
    let kind = if err.is_timeout() {
        ErrorKind::Cancelled
    } else {
        ErrorKind::Transport
    };
    // The URL, if any, without its query (presigned signatures, upload state) or password.
    let url = err.url().map(crate::http::redact);
    let err = err.without_url();
    let mut message = format!("{what}: {}", innermost(&err));
    if let Some(u) = url {
        message.push_str(&format!(" ({u})"));
    }
    if attempts > 1 {
        message.push_str(&format!(", after {attempts} attempts"));
    }
    Error::new(kind, message).with_source(err)
}

/// The deepest cause of an error, which says what actually failed (connection refused, reset,
/// a certificate refused) rather than "error sending request".
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        last = e.to_string();
        source = e.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_codes_are_kept() {
        let e = from_parts(
            "fetch manifest a/b:latest",
            404,
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"latest"}}]}"#,
        );
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.has_registry_code("MANIFEST_UNKNOWN"));
        assert_eq!(
            e.registry_errors()[0].detail.as_deref(),
            Some(r#"{"Tag":"latest"}"#)
        );
        assert_eq!(e.status(), Some(404));
    }

    #[test]
    fn codes_beat_statuses_and_non_json_is_shown() {
        assert_eq!(
            from_parts(
                "x",
                400,
                br#"{"errors":[{"code":"DIGEST_INVALID","message":"m"}]}"#
            )
            .kind(),
            ErrorKind::DigestMismatch
        );
        let e = from_parts("push blob", 502, b"<html>Bad Gateway</html>\n");
        assert_eq!(e.kind(), ErrorKind::Transport);
        assert!(e.to_string().contains("Bad Gateway"), "{e}");
        assert_eq!(from_parts("x", 429, b"").kind(), ErrorKind::TooManyRequests);
        assert_eq!(from_parts("x", 403, b"").kind(), ErrorKind::Denied);
    }
}
