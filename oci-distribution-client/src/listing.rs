//! Paginated listings: tags, catalog, referrers.
//!
//! Pages follow the `Link: <url>; rel="next"` header. A next page must be on the registry's own
//! host. Pages, bytes and entries across all pages of one listing are held to the client's
//! limits, and a page that links back to one already read ends the listing.

use std::collections::HashSet;

use reqwest::header::LINK;
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;

use crate::auth::Scopes;
use crate::errors::from_response;
use crate::http::{Call, Inner, same_origin};
use oci_target::{Error, ErrorKind, Limits, Result};

/// What one listing may still read: pages, bytes and items across all its pages, within the
/// client's limits; and the pages already read, so a `Link` back to one of them ends the listing.
pub(crate) struct Budget<'a> {
    limits: &'a Limits,
    what: &'a str,
    pages: u64,
    bytes: u64,
    items: u64,
    seen: HashSet<String>,
}

impl<'a> Budget<'a> {
    pub(crate) fn new(limits: &'a Limits, what: &'a str) -> Self {
        Budget {
            limits,
            what,
            pages: 0,
            bytes: 0,
            items: 0,
            seen: HashSet::new(),
        }
    }

    /// Counts a request for the page at `url`. `false` when that page was read before: the
    /// listing has come round and ends.
    ///
    /// # Errors
    ///
    /// `listing-pages` exceeded.
    pub(crate) fn page(&mut self, url: &Url) -> Result<bool> {
        if !self.seen.insert(url.as_str().to_owned()) {
            tracing::debug!(
                what = self.what,
                "a page links back to one already read; the listing ends"
            );
            return Ok(false);
        }
        self.pages += 1;
        self.limits.check("listing-pages", self.pages, self.what)?;
        Ok(true)
    }

    /// How many bytes the next page may have.
    pub(crate) fn bytes_left(&self) -> u64 {
        self.limits.listing_bytes.saturating_sub(self.bytes)
    }

    /// Counts a page of `bytes` bytes and `items` entries.
    ///
    /// # Errors
    ///
    /// `listing-bytes` or `listing-items` exceeded.
    pub(crate) fn add(&mut self, bytes: usize, items: usize) -> Result<()> {
        self.bytes += bytes as u64;
        self.items += items as u64;
        self.limits.check("listing-bytes", self.bytes, self.what)?;
        self.limits.check("listing-items", self.items, self.what)
    }
}

/// Reads every page of a listing starting at `url`; `items` counts the entries of a page.
pub(crate) async fn paginate<T: DeserializeOwned>(
    inner: &Inner,
    what: &str,
    registry: &str,
    scopes: &Scopes,
    first: Url,
    items: impl Fn(&T) -> usize,
) -> Result<Vec<T>> {
    let mut pages = Vec::new();
    let mut budget = Budget::new(&inner.config.limits, what);
    let mut next = Some(first);
    while let Some(url) = next.take() {
        if !budget.page(&url)? {
            break;
        }
        let response = inner
            .send(Call::new(what, registry, scopes, Method::GET, url.clone()))
            .await?;
        if !response.status().is_success() {
            return Err(from_response(what, response).await);
        }
        next = next_page(&response, &url, registry, what)?;
        let body =
            crate::repository::read_limited(response, "listing-bytes", budget.bytes_left(), what)
                .await?;
        let page: T = crate::repository::decode_json(&body, ErrorKind::Transport, |e| {
            format!("{what}: the registry sent a malformed page: {e}")
        })?;
        budget.add(body.len(), items(&page))?;
        pages.push(page);
    }
    Ok(pages)
}

/// The next page a response links to, if any.
pub(crate) fn next_page(
    response: &reqwest::Response,
    current: &Url,
    registry: &str,
    what: &str,
) -> Result<Option<Url>> {
    match response.headers().get(LINK).and_then(|l| l.to_str().ok()) {
        Some(link) => next_link(link, current, registry, what),
        None => Ok(None),
    }
}

/// The `rel="next"` URL of a `Link` header, resolved against the current page.
fn next_link(header: &str, current: &Url, registry: &str, what: &str) -> Result<Option<Url>> {
    for part in header.split(',') {
        let part = part.trim();
        let Some(end) = part.find('>') else { continue };
        if !part.starts_with('<') {
            continue;
        }
        let target = &part[1..end];
        let params = &part[end + 1..];
        let is_next = params
            .split(';')
            .map(str::trim)
            .any(|p| p.eq_ignore_ascii_case("rel=\"next\"") || p.eq_ignore_ascii_case("rel=next"));
        if !is_next {
            continue;
        }
        let url = current.join(target).map_err(|e| {
            Error::new(
                ErrorKind::Transport,
                format!("{what}: malformed Link header: {e}"),
            )
        })?;
        if !same_origin(&url, registry) || url.scheme() != current.scheme() {
            return Err(Error::new(
                ErrorKind::Transport,
                format!(
                    "{what}: the next page is on another host ({}); refusing to follow",
                    url.host_str().unwrap_or("?")
                ),
            ));
        }
        return Ok(Some(url));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links() {
        let cur = Url::parse("http://127.0.0.1:5000/v2/a/tags/list?n=2").unwrap();
        let n = next_link(
            r#"</v2/a/tags/list?n=2&last=b>; rel="next""#,
            &cur,
            "127.0.0.1:5000",
            "x",
        )
        .unwrap();
        assert_eq!(
            n.unwrap().as_str(),
            "http://127.0.0.1:5000/v2/a/tags/list?n=2&last=b"
        );
        let abs = next_link(
            r#"<http://127.0.0.1:5000/v2/a/tags/list?last=c>; rel="next""#,
            &cur,
            "127.0.0.1:5000",
            "x",
        )
        .unwrap();
        assert!(abs.is_some());
        assert!(
            next_link(
                r#"<http://evil.example/v2/a/tags/list>; rel="next""#,
                &cur,
                "127.0.0.1:5000",
                "x"
            )
            .is_err()
        );
        assert!(
            next_link(r#"</x>; rel="prev""#, &cur, "127.0.0.1:5000", "x")
                .unwrap()
                .is_none()
        );
    }
}
