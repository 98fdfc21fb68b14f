//! The cases of the conformance suite.

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::join_all;
use oci_digest::Digest;
use oci_spec_types::{Descriptor, MediaType};

use super::{describe, unique_bytes, unique_tag};
use crate::{BlobStream, Error, ErrorKind, ReadOnlyTargetExt, Target, TargetExt, bytes_stream};

const OCTET: &str = "application/octet-stream";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

fn expect_kind<T: std::fmt::Debug>(what: &str, result: crate::Result<T>, kinds: &[ErrorKind]) {
    match result {
        Ok(v) => panic!("{what}: expected an error of kind {kinds:?}, got Ok({v:?})"),
        Err(e) => assert!(
            kinds.contains(&e.kind()),
            "{what}: expected an error of kind {kinds:?}, got {:?}: {e}",
            e.kind()
        ),
    }
}

async fn must_exist(target: &dyn Target, desc: &Descriptor, want: bool, what: &str) {
    let has = target
        .exists(desc)
        .await
        .unwrap_or_else(|e| panic!("{what}: exists({}) failed: {e}", desc.digest));
    assert_eq!(
        has, want,
        "{what}: exists({}) should be {want}",
        desc.digest
    );
}

/// Pushes a blob built from fresh content and returns its descriptor.
pub async fn push_blob(target: &dyn Target, label: &str, len: usize) -> (Descriptor, Bytes) {
    let data = Bytes::from(unique_bytes(label, len));
    let desc = describe(OCTET, &data);
    target
        .push_bytes(&desc, data.clone())
        .await
        .unwrap_or_else(|e| panic!("push of {label} ({} bytes) failed: {e}", data.len()));
    (desc, data)
}

/// Builds an image manifest over `config` and `layers`, with an optional subject and
/// artifactType. Returns its descriptor and bytes; pushes nothing.
pub fn image_manifest(
    config: &Descriptor,
    layers: &[Descriptor],
    subject: Option<&Descriptor>,
    artifact_type: Option<&str>,
    annotations: &[(&str, &str)],
) -> (Descriptor, Bytes) {
    let mut doc = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config,
        "layers": layers,
    });
    if let Some(s) = subject {
        doc["subject"] = serde_json::to_value(s).expect("descriptor serialises");
    }
    if let Some(t) = artifact_type {
        doc["artifactType"] = t.into();
    }
    if !annotations.is_empty() {
        let map: serde_json::Map<_, _> = annotations
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        doc["annotations"] = map.into();
    }
    let bytes = Bytes::from(serde_json::to_vec(&doc).expect("manifest serialises"));
    (describe(OCI_MANIFEST, &bytes), bytes)
}

/// Pushes a config, a layer and an image manifest over them; returns the manifest's descriptor.
pub async fn push_image(target: &dyn Target, label: &str) -> Descriptor {
    let config_bytes = Bytes::from(format!(
        "{{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{{\"type\":\"layers\",\"diff_ids\":[]}},\"x\":{:?}}}",
        unique_tag(label)
    ));
    let config = describe(OCI_CONFIG, &config_bytes);
    target
        .push_bytes(&config, config_bytes)
        .await
        .unwrap_or_else(|e| panic!("{label}: config push failed: {e}"));
    let layer_bytes = Bytes::from(unique_bytes(label, 3000));
    let layer = describe(LAYER, &layer_bytes);
    target
        .push_bytes(&layer, layer_bytes)
        .await
        .unwrap_or_else(|e| panic!("{label}: layer push failed: {e}"));
    let (desc, bytes) = image_manifest(&config, &[layer], None, None, &[]);
    target
        .push_bytes(&desc, bytes)
        .await
        .unwrap_or_else(|e| panic!("{label}: manifest push failed: {e}"));
    desc
}

/// A blob pushed comes back byte for byte, and `exists` agrees.
pub async fn round_trip(target: &dyn Target) {
    round_trip_of(target, true).await
}

/// As [`round_trip`], leaving out the blob of zero bytes when `empty` is false.
pub async fn round_trip_of(target: &dyn Target, empty: bool) {
    let lengths: &[usize] = if empty {
        &[0, 1, 4096, 1 << 20, (3 << 20) + 17]
    } else {
        &[1, 4096, 1 << 20, (3 << 20) + 17]
    };
    for &len in lengths {
        let data = Bytes::from(if len == 0 {
            Vec::new()
        } else {
            unique_bytes("round-trip", len)
        });
        let desc = describe(OCTET, &data);
        if len >= 32 {
            // Shorter content cannot be made unique to this run.
            must_exist(target, &desc, false, "before push").await;
        }
        target
            .push_bytes(&desc, data.clone())
            .await
            .unwrap_or_else(|e| panic!("push of {len} bytes failed: {e}"));
        must_exist(target, &desc, true, "after push").await;
        let back = target
            .fetch_bytes(&desc, u64::MAX)
            .await
            .unwrap_or_else(|e| panic!("fetch of {len} bytes failed: {e}"));
        assert!(
            back == data,
            "fetched {} bytes differ from the {len} pushed",
            back.len()
        );
    }
}

/// A manifest comes back byte for byte, and resolves by digest.
pub async fn manifest_round_trip(target: &dyn Target) {
    let desc = push_image(target, "manifest-round-trip").await;
    let resolved = target
        .resolve(desc.digest.as_str())
        .await
        .unwrap_or_else(|e| panic!("resolve by digest {} failed: {e}", desc.digest));
    assert_eq!(
        resolved.digest, desc.digest,
        "resolve by digest gave another digest"
    );
    assert_eq!(
        resolved.size, desc.size,
        "resolve by digest gave another size"
    );
    let back = target.fetch_manifest(&desc).await.expect("manifest fetch");
    assert!(
        desc.digest.matches(&back),
        "fetched manifest bytes have another digest"
    );
}

/// Content that does not match its descriptor is refused and leaves nothing visible.
pub async fn mismatched_content_is_refused(target: &dyn Target) {
    let data = Bytes::from(unique_bytes("mismatch", 10_000));
    let good = describe(OCTET, &data);

    let mut wrong_digest = good.clone();
    wrong_digest.digest = oci_digest::sha256(b"something else entirely");
    expect_kind(
        "push with a wrong digest",
        target.push_bytes(&wrong_digest, data.clone()).await,
        &[ErrorKind::DigestMismatch],
    );
    must_exist(
        target,
        &wrong_digest,
        false,
        "after a refused push (wrong digest)",
    )
    .await;
    must_exist(target, &good, false, "after a refused push (wrong digest)").await;

    for size in [good.size - 1, good.size + 1] {
        let mut wrong_size = good.clone();
        wrong_size.size = size;
        expect_kind(
            &format!("push of {} bytes declared as {size}", good.size),
            target.push_bytes(&wrong_size, data.clone()).await,
            &[ErrorKind::SizeMismatch, ErrorKind::DigestMismatch],
        );
        must_exist(target, &good, false, "after a refused push (wrong size)").await;
    }

    // A stream that fails midway leaves nothing either.
    let half = data.slice(..5000);
    let broken: BlobStream = Box::pin(futures_util::stream::iter(vec![
        Ok(half),
        Err(Error::new(ErrorKind::Transport, "connection reset")),
    ]));
    assert!(
        target.push(&good, broken).await.is_err(),
        "a push whose stream failed midway succeeded"
    );
    must_exist(target, &good, false, "after a push whose stream failed").await;

    // Unverifiable algorithms are refused up front.
    let mut odd = good.clone();
    odd.digest = Digest::parse("md5+hex:0123456789abcdef").expect("grammatical digest");
    expect_kind(
        "push with an unverifiable digest algorithm",
        target.push_bytes(&odd, data.clone()).await,
        &[ErrorKind::Unsupported, ErrorKind::InvalidDigest],
    );

    // The right push still works afterwards.
    target
        .push_bytes(&good, data)
        .await
        .expect("the correct push after refusals");
    must_exist(target, &good, true, "after the correct push").await;
}

/// Pushing what the store has is not an error.
pub async fn repush_is_fine(target: &dyn Target) {
    let (desc, data) = push_blob(target, "repush", 2048).await;
    target
        .push_bytes(&desc, data.clone())
        .await
        .unwrap_or_else(|e| panic!("re-push of {} failed: {e}", desc.digest));
    let back = target
        .fetch_bytes(&desc, u64::MAX)
        .await
        .expect("fetch after re-push");
    assert!(back == data, "content changed after a re-push");
    let manifest = push_image(target, "repush-manifest").await;
    let bytes = target
        .fetch_manifest(&manifest)
        .await
        .expect("fetch manifest");
    target
        .push_bytes(&manifest, bytes)
        .await
        .expect("re-push of a manifest");
}

/// `push_absent` sends what the store lacks, reads nothing when it answers that it has it, and
/// refuses wrong content as `push` does.
pub async fn push_absent_sends_only_what_is_missing(target: &dyn Target) {
    let opened = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Content checked against `checked_as`, as a source store hands it out.
    let open_as = |checked_as: &Descriptor, data: Bytes| -> crate::OpenContent<'static> {
        let opened = opened.clone();
        let checked_as = checked_as.clone();
        Box::pin(async move {
            opened.store(true, std::sync::atomic::Ordering::SeqCst);
            crate::Verified::new(&checked_as, crate::bytes_stream(data))
        })
    };
    let open = |data: Bytes| open_as(&describe(OCTET, &data), data);
    let data = Bytes::from(unique_bytes("push-absent", 2048));
    let desc = describe(OCTET, &data);
    let sent = target
        .push_absent(&desc, open(data.clone()))
        .await
        .unwrap_or_else(|e| panic!("push_absent of a missing blob failed: {e}"));
    assert!(sent, "push_absent of a missing blob says it sent nothing");
    must_exist(target, &desc, true, "after push_absent").await;
    let back = target.fetch_bytes(&desc, u64::MAX).await.expect("fetch");
    assert!(back == data, "push_absent stored other bytes");

    opened.store(false, std::sync::atomic::Ordering::SeqCst);
    let sent = target
        .push_absent(&desc, open(data.clone()))
        .await
        .unwrap_or_else(|e| panic!("push_absent of a present blob failed: {e}"));
    let read = opened.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        sent, read,
        "push_absent of a present blob: said sent={sent} but opened the content: {read}"
    );

    let wrong = Bytes::from(unique_bytes("push-absent-wrong", 2048));
    let claimed = describe(
        OCTET,
        &Bytes::from(unique_bytes("push-absent-claimed", 2048)),
    );
    // Checked against its own descriptor, not the one it is pushed as: the store checks it.
    expect_kind(
        "push_absent of wrong content",
        target.push_absent(&claimed, open(wrong.clone())).await,
        &[ErrorKind::DigestMismatch, ErrorKind::SizeMismatch],
    );
    must_exist(target, &claimed, false, "after a refused push_absent").await;
    // Checked against the descriptor it is pushed as, and wrong: the check fails at the end,
    // and the store keeps nothing.
    expect_kind(
        "push_absent of wrong content checked as what it claims to be",
        target.push_absent(&claimed, open_as(&claimed, wrong)).await,
        &[ErrorKind::DigestMismatch, ErrorKind::SizeMismatch],
    );
    must_exist(target, &claimed, false, "after a refused push_absent").await;
    // The same for content over the small-blob sizes stores treat apart.
    let big = Bytes::from(unique_bytes("push-absent-big", 600 * 1024));
    let mut flipped = big.to_vec();
    flipped[300 * 1024] ^= 1;
    let big_desc = describe(OCTET, &big);
    expect_kind(
        "push_absent of large wrong content checked as what it claims to be",
        target
            .push_absent(&big_desc, open_as(&big_desc, Bytes::from(flipped)))
            .await,
        &[ErrorKind::DigestMismatch],
    );
    must_exist(target, &big_desc, false, "after a refused push_absent").await;
    let sent = target
        .push_absent(&big_desc, open(big.clone()))
        .await
        .unwrap_or_else(|e| panic!("push_absent of a large missing blob failed: {e}"));
    assert!(
        sent,
        "push_absent of a large missing blob says it sent nothing"
    );
    let back = target
        .fetch_bytes(&big_desc, u64::MAX)
        .await
        .expect("fetch");
    assert!(
        back == big,
        "push_absent stored other bytes for a large blob"
    );
}

/// `push_stream` stores content under the digest it hashes to, read once, and refuses content
/// of another size than announced, keeping nothing of it. Stores that cannot answer
/// `Unsupported`.
pub async fn push_stream_learns_the_digest(target: &dyn Target) {
    let data = Bytes::from(unique_bytes("push-stream", 300_000));
    let media_type = MediaType::parse(OCTET).expect("media type");
    let new = crate::Unhashed::new(media_type.clone()).with_size(data.len() as u64);
    let pushed = target.push_stream(&new, bytes_stream(data.clone())).await;
    let desc = match pushed {
        Err(e) if e.is_unsupported() => return,
        other => other.unwrap_or_else(|e| panic!("push_stream failed: {e}")),
    };
    assert_eq!(desc, describe(OCTET, &data), "push_stream's descriptor");
    let back = target.fetch_bytes(&desc, u64::MAX).await.expect("fetch");
    assert!(back == data, "push_stream stored other bytes");

    let short = Bytes::from(unique_bytes("push-stream-short", 1000));
    expect_kind(
        "push_stream of content shorter than announced",
        target
            .push_stream(
                &crate::Unhashed::new(media_type).with_size(2000),
                bytes_stream(short.clone()),
            )
            .await,
        &[ErrorKind::SizeMismatch],
    );
    must_exist(
        target,
        &describe(OCTET, &short),
        false,
        "after a refused push_stream",
    )
    .await;
}

/// Tags resolve to what they point at; re-tagging moves a tag; bad tags and unknown content are
/// refused.
pub async fn tag_resolve_retag(target: &dyn Target) {
    let first = push_image(target, "tag-first").await;
    let second = push_image(target, "tag-second").await;
    let tag = unique_tag("t");
    target
        .tag(&first, &tag)
        .await
        .unwrap_or_else(|e| panic!("tag {tag} failed: {e}"));
    let got = target
        .resolve(&tag)
        .await
        .unwrap_or_else(|e| panic!("resolve {tag}: {e}"));
    assert_eq!(
        got.digest, first.digest,
        "tag {tag} resolves to the wrong manifest"
    );
    assert_eq!(got.size, first.size);
    assert_eq!(
        got.media_type, first.media_type,
        "resolve lost the media type"
    );
    let tags = target.tags().await.expect("tags");
    assert!(tags.contains(&tag), "tags() lacks {tag}: {tags:?}");
    let mut sorted = tags.clone();
    sorted.sort();
    assert_eq!(tags, sorted, "tags() is not sorted");

    target.tag(&second, &tag).await.expect("re-tag");
    let got = target.resolve(&tag).await.expect("resolve after re-tag");
    assert_eq!(got.digest, second.digest, "re-tagging did not move the tag");

    let other = unique_tag("u");
    target
        .tag_all(&first, &[other.as_str(), tag.as_str()])
        .await
        .expect("tag_all");
    assert_eq!(
        target.resolve(&other).await.expect("resolve").digest,
        first.digest
    );

    expect_kind(
        "resolve of an unknown tag",
        target.resolve(&unique_tag("missing")).await,
        &[ErrorKind::NotFound],
    );
    expect_kind(
        "resolve of an unknown digest",
        target
            .resolve(oci_digest::sha256(&unique_bytes("nothing", 64)).as_str())
            .await,
        &[ErrorKind::NotFound],
    );
    expect_kind(
        "tag with an invalid name",
        target.tag(&first, "-not/a:tag").await,
        &[ErrorKind::InvalidReference],
    );
    let absent = describe(OCI_MANIFEST, &unique_bytes("absent", 100));
    expect_kind(
        "tag of content the store lacks",
        target.tag(&absent, &unique_tag("absent")).await,
        &[ErrorKind::NotFound],
    );
}

/// Several pushes of one blob at once all succeed and leave it whole.
pub async fn concurrent_pushes_of_one_blob(target: &dyn Target) {
    let data = Bytes::from(unique_bytes("concurrent", 512 * 1024 + 3));
    let desc = describe(OCTET, &data);
    let results = join_all((0..8).map(|_| target.push_bytes(&desc, data.clone()))).await;
    for (i, r) in results.into_iter().enumerate() {
        r.unwrap_or_else(|e| panic!("concurrent push #{i} failed: {e}"));
    }
    let back = target.fetch_bytes(&desc, u64::MAX).await.expect("fetch");
    assert!(back == data, "content differs after concurrent pushes");
}

/// The value of an operation that must succeed.
fn done<T>(what: &str, result: crate::Result<T>) -> T {
    result.unwrap_or_else(|e| panic!("{what} failed: {e}"))
}

/// A new image and a new tag pointing at it.
async fn tagged_image(target: &dyn Target, label: &str) -> (Descriptor, String) {
    let manifest = push_image(target, label).await;
    let tag = unique_tag(label);
    target.tag(&manifest, &tag).await.expect("tag");
    (manifest, tag)
}

/// Deleted content is gone, with the tags that pointed at it.
pub async fn delete(target: &dyn Target) {
    let (manifest, tag) = tagged_image(target, "delete").await;
    done("delete", target.delete(&manifest).await);
    must_exist(target, &manifest, false, "after delete").await;
    expect_kind(
        "fetch after delete",
        target.fetch(&manifest).await.map(|_| ()),
        &[ErrorKind::NotFound],
    );
    expect_kind(
        "resolve of a tag whose manifest was deleted",
        target.resolve(&tag).await,
        &[ErrorKind::NotFound],
    );
    expect_kind(
        "second delete",
        target.delete(&manifest).await,
        &[ErrorKind::NotFound],
    );

    let (blob, _) = push_blob(target, "delete-blob", 100).await;
    target.delete(&blob).await.expect("delete blob");
    must_exist(target, &blob, false, "after blob delete").await;
}

/// Untagging removes the tag and keeps the content.
pub async fn untag(target: &dyn Target) {
    let (manifest, tag) = tagged_image(target, "untag").await;
    done("untag", target.untag(&tag).await);
    expect_kind(
        "resolve after untag",
        target.resolve(&tag).await,
        &[ErrorKind::NotFound],
    );
    must_exist(target, &manifest, true, "after untag").await;
    expect_kind(
        "untag of an unknown tag",
        target.untag(&tag).await,
        &[ErrorKind::NotFound],
    );
}

/// Manifests with a `subject` are listed as its referrers, with their artifact type and
/// annotations, and the artifact-type filter works.
pub async fn referrers(target: &dyn Target) {
    let subject = push_image(target, "subject").await;
    let empty = Bytes::from_static(b"{}");
    let empty_desc = describe("application/vnd.oci.empty.v1+json", &empty);
    target
        .push_bytes(&empty_desc, empty)
        .await
        .expect("empty config");
    let (sbom_blob, _) = push_blob(target, "sbom", 500).await;
    let (sig_blob, _) = push_blob(target, "sig", 300).await;
    let sbom_type = "application/vnd.example.sbom.v1+json";
    let sig_type = "application/vnd.example.signature.v1";
    let (sbom, sbom_bytes) = image_manifest(
        &empty_desc,
        &[sbom_blob],
        Some(&subject),
        Some(sbom_type),
        &[("org.example.kind", "sbom")],
    );
    let (sig, sig_bytes) = image_manifest(
        &empty_desc,
        &[sig_blob],
        Some(&subject),
        Some(sig_type),
        &[],
    );
    for (desc, bytes) in [(&sbom, sbom_bytes), (&sig, sig_bytes)] {
        let pushed = target.push_bytes(desc, bytes).await;
        pushed.unwrap_or_else(|e| panic!("push of referrer {}: {e}", desc.digest));
    }

    let all = target.referrers(&subject, None).await.expect("referrers");
    let mut digests: Vec<_> = all.iter().map(|d| d.digest.clone()).collect();
    digests.sort();
    let mut want = vec![sbom.digest.clone(), sig.digest.clone()];
    want.sort();
    assert_eq!(digests, want, "referrers of the subject");
    let listed = all
        .iter()
        .find(|d| d.digest == sbom.digest)
        .expect("sbom listed");
    assert_eq!(
        listed.artifact_type.as_ref().map(MediaType::as_str),
        Some(sbom_type),
        "artifactType of a referrer"
    );
    assert_eq!(
        listed.annotation("org.example.kind"),
        Some("sbom"),
        "annotations of a referrer"
    );
    assert_eq!(listed.size, sbom.size);

    let filter = MediaType::parse(sig_type).expect("media type");
    let only = target
        .referrers(&subject, Some(&filter))
        .await
        .expect("filtered referrers");
    assert_eq!(only.len(), 1, "filtered referrers: {only:?}");
    assert_eq!(only[0].digest, sig.digest);

    let none = target
        .referrers(&sig, None)
        .await
        .expect("referrers of a node with none");
    assert!(
        none.is_empty(),
        "a node nobody refers to has referrers: {none:?}"
    );
}

/// A store that cannot list referrers says so with `Unsupported`.
pub async fn referrers_unsupported(target: &dyn Target) {
    let subject = push_image(target, "no-referrers").await;
    match target.referrers(&subject, None).await {
        Err(e) => assert!(
            e.is_unsupported(),
            "referrers failed with {e} instead of Unsupported"
        ),
        Ok(list) => assert!(list.is_empty(), "unexpected referrers {list:?}"),
    }
}

/// Content corrupted behind the store's back is refused when read: the reader gets an error, not
/// the wrong bytes.
pub async fn corrupted_content_is_refused(
    target: &dyn Target,
    corrupt: &(dyn Fn(&Digest, &[u8]) + Send + Sync),
) {
    for (label, wrong) in [
        ("flipped", None),
        ("truncated", Some(100usize)),
        ("extended", Some(300)),
    ] {
        let (desc, data) = push_blob(target, label, 200).await;
        let bad: Vec<u8> = match wrong {
            None => {
                let mut d = data.to_vec();
                d[199] ^= 0x01;
                d
            }
            Some(n) if n < data.len() => data[..n].to_vec(),
            Some(n) => {
                let mut d = data.to_vec();
                d.resize(n, b'!');
                d
            }
        };
        corrupt(&desc.digest, &bad);
        let result = async {
            let mut stream = target.fetch(&desc).await?;
            let mut got = Vec::new();
            while let Some(chunk) = stream.next().await {
                got.extend_from_slice(&chunk?);
            }
            Ok::<_, Error>(got)
        }
        .await;
        match result {
            Ok(got) => panic!(
                "{label} content was read without error ({} bytes)",
                got.len()
            ),
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    ErrorKind::DigestMismatch | ErrorKind::SizeMismatch
                ),
                "{label} content: expected a digest or size mismatch, got {:?}: {e}",
                e.kind()
            ),
        }
    }
}

/// A large blob is pushed and fetched as a stream: the process's peak memory does not grow with
/// its size.
pub async fn large_blob_streams_in_bounded_memory(target: &dyn Target, size: u64) {
    const CHUNK: usize = 1 << 20;
    let chunks = size.div_ceil(CHUNK as u64);
    // Chunk i of the blob: made afresh on each call, so nothing of the blob is kept.
    let piece = move |i: u64| {
        let len = (size - i * CHUNK as u64).min(CHUNK as u64) as usize;
        let mut c = vec![(i % 251) as u8; len];
        let stamp = i.to_le_bytes();
        let n = stamp.len().min(len);
        c[..n].copy_from_slice(&stamp[..n]);
        Bytes::from(c)
    };
    let mut digester = oci_digest::Digester::new(oci_digest::Algorithm::Sha256);
    for i in 0..chunks {
        digester.update(&piece(i));
    }
    let desc = Descriptor::new(
        MediaType::parse(LAYER).expect("media type"),
        digester.finalize(),
        size,
    );
    let before = peak_rss_bytes();
    let stream: BlobStream =
        Box::pin(futures_util::stream::iter(0..chunks).map(move |i| Ok(piece(i))));
    target
        .push(&desc, stream)
        .await
        .unwrap_or_else(|e| panic!("push of {size} bytes failed: {e}"));
    let mut fetched = target.fetch(&desc).await.expect("fetch large blob");
    let mut total = 0u64;
    while let Some(chunk) = fetched.next().await {
        total += chunk
            .unwrap_or_else(|e| panic!("reading the large blob back failed at {total}: {e}"))
            .len() as u64;
    }
    assert_eq!(total, size, "the large blob came back with another size");
    if let (Some(before), Some(after)) = (before, peak_rss_bytes()) {
        let growth = after.saturating_sub(before);
        assert!(
            growth < (size / 4).max(64 << 20),
            "peak memory grew by {} MiB for a {} MiB blob: the store buffers content",
            growth >> 20,
            size >> 20
        );
    }
    if let Err(e) = target.delete(&desc).await {
        assert!(
            e.is_unsupported() || e.is_not_found(),
            "cleanup delete failed: {e}"
        );
    }
}

/// The process's peak resident memory (Linux `VmHWM`), when the platform tells.
fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Pushes `data` described by `desc` through `push` as one stream; helper for stores' tests.
pub fn stream_of(data: Bytes) -> BlobStream {
    bytes_stream(data)
}

/// Content known by digest alone is described with its size, and a digest the store lacks is
/// not found (stores that cannot describe say `Unsupported`).
pub async fn describe_by_digest(target: &dyn Target) {
    let data = unique_bytes("describe", 3000);
    let desc = describe(OCTET, &data);
    target
        .push_bytes(&desc, Bytes::from(data))
        .await
        .expect("push");
    match target.describe(&desc.digest).await {
        Ok(found) => {
            assert_eq!(found.digest, desc.digest);
            assert_eq!(found.size, desc.size, "describe gave another size");
            let missing = oci_digest::sha256(&unique_bytes("describe-missing", 64));
            let err = target.describe(&missing).await.unwrap_err();
            assert!(err.is_not_found(), "describe of missing content: {err}");
        }
        Err(e) => assert!(e.is_unsupported(), "describe failed: {e}"),
    }
}
