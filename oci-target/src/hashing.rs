//! Content whose digest is learnt as it passes: what a one-pass push stores.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use oci_digest::{Algorithm, Digest, Digester};
use oci_spec_types::MediaType;

use crate::{BlobStream, Error, ErrorKind, Result};

/// What is known of content pushed before its digest is
/// ([`Target::push_stream`](crate::Target::push_stream)): its media type, the hash to name it
/// by, and its size when known.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unhashed {
    /// The media type of the descriptor the push returns.
    pub media_type: MediaType,
    /// The hash the digest is computed with (sha256 unless set).
    pub algorithm: Algorithm,
    /// The content's size, when known: content of another length is refused.
    pub size: Option<u64>,
}

impl Unhashed {
    /// Content of `media_type`, to be named by its sha256 digest, of a size not known.
    pub fn new(media_type: MediaType) -> Self {
        Unhashed {
            media_type,
            algorithm: Algorithm::Sha256,
            size: None,
        }
    }

    /// The content is `size` bytes long.
    pub fn with_size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }

    /// The digest is computed with `algorithm`.
    pub fn with_algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }
}

/// Wraps `content` so that every piece is hashed with `algorithm` as it passes, and refused
/// past `size` when one is given. The returned [`Hashed`] gives the digest once the stream has
/// ended.
pub fn hashing_stream(
    content: BlobStream,
    algorithm: Algorithm,
    size: Option<u64>,
) -> (BlobStream, Hashed) {
    let state = Arc::new(Mutex::new(State {
        digester: Some(Digester::new(algorithm)),
        received: 0,
    }));
    let seen = state.clone();
    let stream = content.map(move |piece| {
        let piece = piece?;
        let mut st = seen.lock().unwrap_or_else(|e| e.into_inner());
        st.received += piece.len() as u64;
        if let Some(max) = size
            && st.received > max
        {
            return Err(Error::new(
                ErrorKind::SizeMismatch,
                format!("the content is longer than the {max} bytes announced"),
            ));
        }
        if let Some(d) = st.digester.as_mut() {
            d.update(&piece);
        }
        Ok(piece)
    });
    // Ending short is an error of the stream too, so a consumer that sends it stops there.
    let at_end = state.clone();
    let end_check = futures_util::stream::once(async move {
        let received = at_end.lock().unwrap_or_else(|e| e.into_inner()).received;
        match size {
            Some(max) if received < max => Some(Err(Error::new(
                ErrorKind::SizeMismatch,
                format!("the content is {received} bytes, not the {max} announced"),
            ))),
            _ => None,
        }
    })
    .filter_map(|item| async move { item });
    (Box::pin(stream.chain(end_check)), Hashed { state, size })
}

/// The digest of a [`hashing_stream`], once it has been read to its end.
#[derive(Debug)]
pub struct Hashed {
    state: Arc<Mutex<State>>,
    size: Option<u64>,
}

#[derive(Debug)]
struct State {
    digester: Option<Digester>,
    received: u64,
}

impl Hashed {
    /// The digest and size of everything that passed.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::SizeMismatch`] when fewer bytes passed than announced.
    pub fn finish(self) -> Result<(Digest, u64)> {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(size) = self.size
            && st.received != size
        {
            return Err(Error::new(
                ErrorKind::SizeMismatch,
                format!(
                    "the content is {} bytes, not the {size} announced",
                    st.received
                ),
            ));
        }
        let digester = st.digester.take().ok_or_else(|| {
            Error::new(
                ErrorKind::Other,
                "the digest of this content was taken already",
            )
        })?;
        Ok((digester.finalize(), st.received))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn pieces(parts: &[&'static [u8]]) -> BlobStream {
        let items: Vec<Result<Bytes>> = parts.iter().map(|p| Ok(Bytes::from_static(p))).collect();
        Box::pin(futures_util::stream::iter(items))
    }

    #[tokio::test]
    async fn the_digest_is_of_what_passed_and_sizes_are_held_to() {
        let (mut s, hashed) =
            hashing_stream(pieces(&[b"hello ", b"world"]), Algorithm::Sha256, Some(11));
        while let Some(p) = s.next().await {
            p.unwrap();
        }
        assert_eq!(
            hashed.finish().unwrap(),
            (oci_digest::sha256(b"hello world"), 11)
        );

        let (mut s, hashed) = hashing_stream(pieces(&[b"hello"]), Algorithm::Sha256, Some(11));
        assert!(s.next().await.unwrap().is_ok());
        assert_eq!(
            s.next().await.unwrap().unwrap_err().kind(),
            ErrorKind::SizeMismatch
        );
        assert_eq!(hashed.finish().unwrap_err().kind(), ErrorKind::SizeMismatch);

        let (mut s, _) = hashing_stream(pieces(&[b"hello world!"]), Algorithm::Sha256, Some(11));
        assert_eq!(
            s.next().await.unwrap().unwrap_err().kind(),
            ErrorKind::SizeMismatch
        );

        let (mut s, hashed) = hashing_stream(pieces(&[b"abc"]), Algorithm::Sha512, None);
        while s.next().await.is_some() {}
        assert_eq!(hashed.finish().unwrap(), (oci_digest::sha512(b"abc"), 3));
    }
}
