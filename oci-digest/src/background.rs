//! A verifying stream that hashes on a thread of its own.

use std::pin::Pin;
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker, ready};

use bytes::Bytes;
use futures_core::Stream;

use crate::{Digest, DigestError, Verifier, VerifyError};

/// How many bytes may wait for the hashing thread before the stream stops taking more.
const QUEUED_MAX: usize = 2 << 20;

pin_project_lite::pin_project! {
    /// Like [`VerifyingStream`](crate::VerifyingStream), but the hashing runs on a thread of its
    /// own, so the task reading the stream (a socket, a file) is not held up by it: on a machine
    /// with a core to spare, the hash costs no wall time.
    ///
    /// The guarantees are those of `VerifyingStream`: more bytes than expected are refused as
    /// they arrive, and the piece that completes the expected size is handed out only once the
    /// digest has been checked, so a consumer never holds wrong content it was told is whole. At
    /// most 2 MiB wait for the hashing thread; past that, the stream waits for it. Worth it for
    /// content of a few MiB and more; the thread is started for each stream.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use futures_util::{StreamExt, stream};
    /// use oci_digest::{BackgroundVerifyingStream, VerifyError, sha256};
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let pieces = vec![Ok::<_, VerifyError>(Bytes::from("hello ")), Ok(Bytes::from("world"))];
    /// let digest = sha256(b"hello world");
    /// let mut s = BackgroundVerifyingStream::new(stream::iter(pieces), &digest, 11).unwrap();
    /// let mut out = Vec::new();
    /// while let Some(piece) = s.next().await {
    ///     out.extend_from_slice(&piece.unwrap());
    /// }
    /// assert_eq!(out, b"hello world");
    /// # });
    /// ```
    #[derive(Debug)]
    pub struct BackgroundVerifyingStream<S> {
        #[pin]
        inner: S,
        shared: Arc<Shared>,
        to_hasher: Option<Sender<Bytes>>,
        // Hashes here instead when no thread could be started.
        inline: Option<Verifier>,
        size: u64,
        received: u64,
        state: State,
    }
}

#[derive(Debug)]
enum State {
    /// Passing pieces on while the thread hashes them.
    Streaming,
    /// All expected bytes are in; waiting for the digest before handing out the last piece.
    Holding(Bytes),
    /// Verified: only the end of the inner stream is left to see.
    Verified,
    Ended,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<Hashing>,
}

#[derive(Debug, Default)]
struct Hashing {
    /// Bytes sent to the thread and not hashed yet.
    queued: usize,
    /// The verdict, once the thread has one.
    outcome: Option<Result<(), VerifyError>>,
    /// The stream's task, when it waits for the thread.
    waiting: Option<Waker>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Hashing> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<S> BackgroundVerifyingStream<S> {
    /// Wraps `inner`, expecting `size` bytes with digest `digest`, and starts the hashing thread.
    ///
    /// # Errors
    ///
    /// [`DigestError::Unsupported`] when the digest's algorithm cannot be computed. When no
    /// thread can be started, the stream hashes as it reads instead.
    pub fn new(inner: S, digest: &Digest, size: u64) -> Result<Self, DigestError> {
        let fallback = Verifier::new(digest, size)?;
        let mut verifier = fallback.clone();
        let shared = Arc::new(Shared::default());
        let (tx, rx) = channel::<Bytes>();
        let theirs = shared.clone();
        let started = std::thread::Builder::new()
            .name("oci-digest-hash".into())
            .spawn(move || {
                let mut outcome = Ok(());
                for piece in rx {
                    outcome = verifier.update(&piece);
                    let mut st = theirs.lock();
                    st.queued -= piece.len();
                    if outcome.is_err() {
                        break;
                    }
                    if let Some(w) = st.waiting.take() {
                        w.wake();
                    }
                }
                // The sender is gone: every piece is in (or the stream was dropped).
                let outcome = outcome.and_then(|()| verifier.finish());
                let mut st = theirs.lock();
                st.outcome = Some(outcome);
                if let Some(w) = st.waiting.take() {
                    w.wake();
                }
            })
            .is_ok();
        Ok(BackgroundVerifyingStream {
            inner,
            shared,
            to_hasher: started.then_some(tx),
            inline: (!started).then_some(fallback),
            size,
            received: 0,
            state: State::Streaming,
        })
    }

    /// The verdict if the thread has one, else registers `cx` to be woken when it has.
    fn verdict(shared: &Shared, cx: &Context<'_>) -> Poll<Result<(), VerifyError>> {
        let mut st = shared.lock();
        match st.outcome.clone() {
            Some(outcome) => Poll::Ready(outcome),
            None => {
                st.waiting = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<S, E> Stream for BackgroundVerifyingStream<S>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: From<VerifyError>,
{
    type Item = Result<Bytes, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            match this.state {
                State::Ended => return Poll::Ready(None),
                State::Holding(_) => {
                    let outcome = ready!(Self::verdict(this.shared, cx));
                    let State::Holding(last) = std::mem::replace(this.state, State::Verified)
                    else {
                        unreachable!("the state was just matched")
                    };
                    return match outcome {
                        Ok(()) if last.is_empty() => continue,
                        Ok(()) => Poll::Ready(Some(Ok(last))),
                        Err(e) => {
                            *this.state = State::Ended;
                            Poll::Ready(Some(Err(e.into())))
                        }
                    };
                }
                State::Verified => {
                    let item = ready!(this.inner.as_mut().poll_next(cx));
                    return Poll::Ready(match item {
                        Some(Ok(piece)) if piece.is_empty() => continue,
                        Some(Ok(piece)) => {
                            *this.state = State::Ended;
                            Some(Err(VerifyError::TooLong {
                                expected: *this.size,
                                received: this.size.saturating_add(piece.len() as u64),
                            }
                            .into()))
                        }
                        Some(Err(e)) => {
                            *this.state = State::Ended;
                            Some(Err(e))
                        }
                        None => {
                            *this.state = State::Ended;
                            None
                        }
                    });
                }
                State::Streaming => {}
            }
            {
                let mut st = this.shared.lock();
                if let Some(Err(e)) = &st.outcome {
                    let e = e.clone();
                    drop(st);
                    *this.state = State::Ended;
                    return Poll::Ready(Some(Err(e.into())));
                }
                if st.queued >= QUEUED_MAX {
                    st.waiting = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
            let item = ready!(this.inner.as_mut().poll_next(cx));
            match item {
                Some(Ok(piece)) => {
                    if piece.is_empty() {
                        continue;
                    }
                    let total = this.received.saturating_add(piece.len() as u64);
                    if total > *this.size {
                        *this.state = State::Ended;
                        this.to_hasher.take();
                        return Poll::Ready(Some(Err(VerifyError::TooLong {
                            expected: *this.size,
                            received: total,
                        }
                        .into())));
                    }
                    *this.received = total;
                    if let Some(verifier) = this.inline.as_mut() {
                        // No thread: the last piece's update checks the digest.
                        if let Err(e) = verifier.update(&piece) {
                            *this.state = State::Ended;
                            return Poll::Ready(Some(Err(e.into())));
                        }
                        if total == *this.size {
                            *this.state = State::Verified;
                        }
                        return Poll::Ready(Some(Ok(piece)));
                    }
                    this.shared.lock().queued += piece.len();
                    let sent = this
                        .to_hasher
                        .as_ref()
                        .is_some_and(|tx| tx.send(piece.clone()).is_ok());
                    if !sent {
                        // The thread stopped at an error; its verdict says which.
                        this.shared.lock().queued -= piece.len();
                    }
                    if total == *this.size {
                        this.to_hasher.take();
                        *this.state = State::Holding(piece);
                        continue;
                    }
                    return Poll::Ready(Some(Ok(piece)));
                }
                Some(Err(e)) => {
                    *this.state = State::Ended;
                    this.to_hasher.take();
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    // Ended short (or empty content): the verifier's finish says which.
                    if let Some(verifier) = this.inline.as_mut() {
                        *this.state = State::Ended;
                        return Poll::Ready(verifier.finish().err().map(|e| Err(e.into())));
                    }
                    this.to_hasher.take();
                    *this.state = State::Holding(Bytes::new());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sha256;
    use futures_util::{StreamExt, stream};

    async fn run(
        pieces: Vec<&'static [u8]>,
        digest: &Digest,
        size: u64,
    ) -> (Vec<u8>, Option<VerifyError>) {
        let items = pieces
            .into_iter()
            .map(|p| Ok::<_, VerifyError>(Bytes::from_static(p)));
        let mut s = BackgroundVerifyingStream::new(stream::iter(items), digest, size).unwrap();
        let mut out = Vec::new();
        while let Some(item) = s.next().await {
            match item {
                Ok(p) => out.extend_from_slice(&p),
                Err(e) => return (out, Some(e)),
            }
        }
        (out, None)
    }

    #[tokio::test]
    async fn verifies_as_the_foreground_stream_does() {
        let d = sha256(b"hello world");
        assert_eq!(
            run(vec![b"hello ", b"world"], &d, 11).await,
            (b"hello world".to_vec(), None)
        );
        // Wrong content of the right size: the last piece is never handed out.
        let (out, e) = run(vec![b"hello ", b"WORLD"], &d, 11).await;
        assert_eq!(out, b"hello ");
        assert!(
            matches!(e, Some(VerifyError::DigestMismatch { .. })),
            "{e:?}"
        );
        // Too long, at once and after the size is reached.
        let (_, e) = run(vec![b"hello world!"], &d, 11).await;
        assert!(matches!(e, Some(VerifyError::TooLong { .. })), "{e:?}");
        let (out, e) = run(vec![b"hello world", b"!"], &d, 11).await;
        assert_eq!(out, b"hello world");
        assert!(matches!(e, Some(VerifyError::TooLong { .. })), "{e:?}");
        // Too short, and empty content.
        let (_, e) = run(vec![b"hello"], &d, 11).await;
        assert!(matches!(e, Some(VerifyError::TooShort { .. })), "{e:?}");
        assert_eq!(run(vec![], &sha256(b""), 0).await, (Vec::new(), None));
        let (_, e) = run(vec![], &d, 11).await;
        assert!(matches!(e, Some(VerifyError::TooShort { .. })), "{e:?}");
    }

    #[tokio::test]
    async fn many_pieces_past_the_queue_bound_verify() {
        let piece = vec![7u8; 1 << 20];
        let all: Vec<u8> = piece.repeat(24);
        let digest = sha256(&all);
        let items = (0..24).map(|_| Ok::<_, VerifyError>(Bytes::from(piece.clone())));
        let mut s =
            BackgroundVerifyingStream::new(stream::iter(items), &digest, all.len() as u64).unwrap();
        let mut n = 0usize;
        while let Some(p) = s.next().await {
            n += p.unwrap().len();
        }
        assert_eq!(n, all.len());
    }
}
