//! The memory store against the conformance suite.

use bytes::Bytes;
use oci_target::MemoryStore;
use oci_target::conformance::{self, Flags};

fn flags(store: &MemoryStore) -> Flags {
    let behind = store.clone();
    Flags::all().with_corrupt(move |digest, bytes| {
        assert!(
            behind.corrupt(digest, Bytes::copy_from_slice(bytes)),
            "corrupt: {digest} not held"
        );
    })
}

#[tokio::test]
async fn memory_store_passes_the_whole_suite() {
    let store = MemoryStore::new();
    let flags = flags(&store);
    assert!(flags.referrers && flags.delete && flags.untag && flags.corrupt.is_some());
    conformance::run_all(&store, &flags).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_store_is_safe_under_concurrent_use() {
    let store = MemoryStore::new();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = store.clone();
            tokio::spawn(async move {
                conformance::concurrent_pushes_of_one_blob(&s).await;
                conformance::tag_resolve_retag(&s).await;
                conformance::referrers(&s).await;
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task panicked");
    }
}

#[tokio::test]
async fn a_store_without_referrers_says_unsupported() {
    // The trait's default answer, seen through a wrapper that hides the capability.
    #[derive(Debug)]
    struct NoReferrers(MemoryStore);
    #[oci_target::async_trait]
    impl oci_target::ReadOnlyTarget for NoReferrers {
        async fn fetch(
            &self,
            d: &oci_spec_types::Descriptor,
        ) -> oci_target::Result<oci_target::BlobStream> {
            self.0.fetch(d).await
        }
        async fn exists(&self, d: &oci_spec_types::Descriptor) -> oci_target::Result<bool> {
            self.0.exists(d).await
        }
        async fn resolve(&self, r: &str) -> oci_target::Result<oci_spec_types::Descriptor> {
            self.0.resolve(r).await
        }
        async fn tags(&self) -> oci_target::Result<Vec<String>> {
            self.0.tags().await
        }
    }
    #[oci_target::async_trait]
    impl oci_target::Target for NoReferrers {
        async fn push(
            &self,
            d: &oci_spec_types::Descriptor,
            c: oci_target::BlobStream,
        ) -> oci_target::Result<()> {
            self.0.push(d, c).await
        }
        async fn tag(&self, d: &oci_spec_types::Descriptor, r: &str) -> oci_target::Result<()> {
            self.0.tag(d, r).await
        }
    }
    let store = NoReferrers(MemoryStore::new());
    // The default methods answer Unsupported for every optional call this wrapper leaves out.
    let flags = Flags::default();
    conformance::run_all(&store, &flags).await;
    use oci_target::Target;
    let e = store
        .delete(&conformance::describe("a/b", b"x"))
        .await
        .unwrap_err();
    assert!(e.is_unsupported());
    let e = store
        .mount(&conformance::describe("a/b", b"x"), "other")
        .await
        .unwrap_err();
    assert!(e.is_unsupported());
}
