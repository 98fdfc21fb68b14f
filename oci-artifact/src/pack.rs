//! Packing: building artifact manifests and indexes from descriptors already pushed.
//!
//! An artifact is a manifest whose layers are the files and whose config says what kind of
//! thing it is; with no files it has one empty layer. Image-spec v1.1 says it in `artifactType` with the empty config `{}`; v1.0
//! registries only know the config's `mediaType`, so a v1.0 artifact puts its type there. These
//! functions build either shape, push the small blobs they need (the empty config, the empty
//! layer) and the manifest, and hand back its descriptor for tagging or for an index.
//!
//! Output is reproducible when the caller fixes the `created` annotation (or omits it): the same
//! inputs give the same bytes and so the same digest.

use derive_setters::Setters;
use std::collections::BTreeMap;

use bytes::Bytes;
use oci_spec_types::{Descriptor, ImageIndex, ImageManifest, MediaType, annotations};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use oci_target::{Error, ErrorKind, ReadOnlyTargetExt, Result, Target, TargetExt};

/// The config media type a v1.0 artifact gets when no artifact type is given, as `oras` writes.
pub const UNKNOWN_CONFIG_MEDIA_TYPE: &str = "application/vnd.unknown.config.v1+json";

/// Which image-spec manifest shape to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ManifestVersion {
    /// Image-spec v1.1: `artifactType`, the empty config, `subject`.
    #[default]
    V1_1,
    /// Image-spec v1.0: the artifact type is the config's media type; no `subject`.
    V1_0,
}

/// What the `org.opencontainers.image.created` annotation says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Created {
    /// The current time, to the second, in UTC.
    #[default]
    Now,
    /// A fixed RFC 3339 time, for reproducible output.
    At(String),
    /// No `created` annotation.
    Omit,
}

impl Created {
    /// The time `SOURCE_DATE_EPOCH` names (the reproducible-builds convention), when it is set
    /// and a number of seconds; otherwise [`Created::Now`].
    pub fn from_source_date_epoch() -> Self {
        std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
            .and_then(|t| t.format(&Rfc3339).ok())
            .map_or(Created::Now, Created::At)
    }

    fn value(&self) -> Result<Option<String>> {
        match self {
            Created::Now => {
                let now = OffsetDateTime::now_utc()
                    .replace_nanosecond(0)
                    .unwrap_or_else(|_| OffsetDateTime::now_utc());
                Ok(Some(now.format(&Rfc3339).map_err(|e| {
                    Error::new(ErrorKind::Other, format!("formatting the time: {e}"))
                })?))
            }
            Created::At(t) => {
                check_rfc3339(t)?;
                Ok(Some(t.clone()))
            }
            Created::Omit => Ok(None),
        }
    }
}

fn check_rfc3339(value: &str) -> Result<()> {
    OffsetDateTime::parse(value, &Rfc3339)
        .map(|_| ())
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("created time {value:?} is not an RFC 3339 date-time: {e}"),
            )
        })
}

/// How to pack one manifest. Build with [`PackOptions::new`] and the `with_` methods.
#[derive(Debug, Clone, Default, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct PackOptions {
    /// The manifest shape; v1.1 unless set.
    pub version: ManifestVersion,
    /// What kind of artifact this is (`application/vnd.example.sbom`, …).
    #[setters(strip_option)]
    pub artifact_type: Option<MediaType>,
    /// A config blob of the caller's own (pushed if the target lacks it). Without one, the
    /// empty config `{}` is used.
    #[setters(skip)]
    pub config: Option<(Descriptor, Bytes)>,
    /// The manifest this one refers to (v1.1 only): an SBOM's image, a signature's subject.
    #[setters(skip)]
    pub subject: Option<Descriptor>,
    /// Manifest annotations. A `org.opencontainers.image.created` entry here wins over
    /// [`PackOptions::created`], and must be RFC 3339.
    #[setters(skip)]
    pub annotations: BTreeMap<String, String>,
    /// The `created` annotation, unless `annotations` has one.
    pub created: Created,
}

impl PackOptions {
    /// Options for an image-spec v1.1 artifact of this type.
    pub fn new(artifact_type: MediaType) -> Self {
        Self {
            artifact_type: Some(artifact_type),
            ..Self::default()
        }
    }

    /// Uses a config blob of the caller's own.
    pub fn with_config(mut self, descriptor: Descriptor, content: Bytes) -> Self {
        self.config = Some((descriptor, content));
        self
    }
}

/// The setters packing options share: `with_subject` and `with_annotation`.
macro_rules! attachment_setters {
    ($($ty:ty),+) => {$(
        impl $ty {
            /// Sets the subject: the manifest this one is attached to (an SBOM to its image).
            /// Only the subject's media type, digest and size are kept
            /// ([`Descriptor::as_subject`]), so any descriptor of it will do, a resolved tag
            /// included.
            pub fn with_subject(mut self, subject: Descriptor) -> Self {
                self.subject = Some(subject.as_subject());
                self
            }

            /// Adds an annotation.
            pub fn with_annotation(
                mut self,
                key: impl Into<String>,
                value: impl Into<String>,
            ) -> Self {
                self.annotations.insert(key.into(), value.into());
                self
            }
        }
    )+};
}

attachment_setters!(PackOptions, IndexOptions);

fn annotations_with_created(
    mut annotations: BTreeMap<String, String>,
    created: &Created,
) -> Result<Option<BTreeMap<String, String>>> {
    match annotations.get(annotations::CREATED) {
        Some(t) => check_rfc3339(t)?,
        None => {
            if let Some(t) = created.value()? {
                annotations.insert(annotations::CREATED.to_owned(), t);
            }
        }
    }
    Ok((!annotations.is_empty()).then_some(annotations))
}

/// Builds the manifest `options` describe over `layers`, without pushing anything.
///
/// Returns the manifest and the blobs it needs besides `layers` (the config, the empty layer),
/// for a caller that pushes by itself. [`pack_manifest`] is this plus the pushes.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] for options that contradict the shape: a v1.1 manifest with the
/// empty config and no artifact type, a v1.0 manifest with a subject, or with both an artifact
/// type and a config of its own; a `created` time that is not RFC 3339.
pub fn build_manifest(
    layers: Vec<Descriptor>,
    options: &PackOptions,
) -> Result<(ImageManifest, Vec<(Descriptor, Bytes)>)> {
    let mut blobs = Vec::new();
    let annotations = annotations_with_created(options.annotations.clone(), &options.created)?;
    let mut manifest = match options.version {
        ManifestVersion::V1_1 => {
            let config = match &options.config {
                Some((desc, content)) => {
                    blobs.push((desc.clone(), content.clone()));
                    desc.clone()
                }
                None => {
                    if options.artifact_type.is_none() {
                        return Err(Error::new(
                            ErrorKind::InvalidInput,
                            "an artifact type is required when the config is empty \
                             (image-spec v1.1)",
                        ));
                    }
                    blobs.push((Descriptor::empty(), Bytes::from_static(b"{}")));
                    Descriptor::empty()
                }
            };
            let layers = if layers.is_empty() {
                blobs.push((Descriptor::empty(), Bytes::from_static(b"{}")));
                vec![Descriptor::empty()]
            } else {
                layers
            };
            let mut m = ImageManifest::new(config, layers);
            m.artifact_type = options.artifact_type.clone();
            m.subject = options.subject.clone();
            m
        }
        ManifestVersion::V1_0 => {
            if options.subject.is_some() {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    "a subject needs an image-spec v1.1 manifest",
                ));
            }
            let config = match (&options.config, &options.artifact_type) {
                (Some(_), Some(_)) => {
                    return Err(Error::new(
                        ErrorKind::InvalidInput,
                        "a v1.0 manifest carries its artifact type in the config media type: \
                         give an artifact type or a config, not both",
                    ));
                }
                (Some((desc, content)), None) => {
                    blobs.push((desc.clone(), content.clone()));
                    desc.clone()
                }
                (None, artifact_type) => {
                    let media_type = match artifact_type {
                        Some(t) => t.clone(),
                        None => MediaType::parse(UNKNOWN_CONFIG_MEDIA_TYPE)?,
                    };
                    let mut desc = Descriptor::empty();
                    desc.media_type = media_type;
                    blobs.push((desc.clone(), Bytes::from_static(b"{}")));
                    desc
                }
            };
            let layers = if layers.is_empty() {
                blobs.push((Descriptor::empty(), Bytes::from_static(b"{}")));
                vec![Descriptor::empty()]
            } else {
                layers
            };
            ImageManifest::new(config, layers)
        }
    };
    manifest.annotations = annotations;
    manifest.validate()?;
    let mut seen = std::collections::HashSet::new();
    blobs.retain(|(d, _)| seen.insert(d.digest.clone()));
    Ok((manifest, blobs))
}

/// Packs and pushes a manifest over `layers` (already pushed), with the blobs it needs.
///
/// The returned descriptor carries the artifact type and the manifest's annotations, ready to
/// tag or to list in an index.
///
/// # Errors
///
/// As [`build_manifest`], and the target's errors from the pushes.
pub async fn pack_manifest(
    target: &dyn Target,
    layers: Vec<Descriptor>,
    options: &PackOptions,
) -> Result<Descriptor> {
    let (manifest, blobs) = build_manifest(layers, options)?;
    for (desc, content) in blobs {
        if !target.exists(&desc).await? {
            target.push_bytes(&desc, content).await?;
        }
    }
    let labels = (&manifest.artifact_type, &manifest.annotations);
    push_document(
        target,
        manifest.to_document()?,
        MediaType::image_manifest(),
        labels,
    )
    .await
}

/// Pushes a packed manifest or index; its descriptor carries the artifact type and annotations.
async fn push_document<T>(
    target: &dyn Target,
    doc: oci_spec_types::Document<T>,
    media_type: MediaType,
    (artifact_type, annotations): (&Option<MediaType>, &Option<BTreeMap<String, String>>),
) -> Result<Descriptor> {
    let mut desc = doc.descriptor(media_type);
    desc.artifact_type = artifact_type.clone();
    desc.annotations = annotations.clone();
    target.push_bytes(&desc, doc.bytes().clone()).await?;
    Ok(desc)
}

/// Pushes `files` as layers, packs a manifest over them, and tags it with each of `tags`: what
/// `oras push` does, in one call. Returns the manifest's descriptor.
///
/// # Errors
///
/// As [`push_files`](crate::files::push_files), [`pack_manifest`], and the target's `tag`.
pub async fn push_artifact(
    target: &dyn Target,
    files: &[crate::files::FileRef],
    tags: &[&str],
    files_options: &crate::files::PushFilesOptions,
    options: &PackOptions,
) -> Result<Descriptor> {
    let layers = crate::files::push_files(target, files, files_options).await?;
    let manifest = pack_manifest(target, layers, options).await?;
    for t in tags {
        target.tag(&manifest, t).await?;
    }
    Ok(manifest)
}

/// How to pack an index. Build with [`IndexOptions::default`] and the `with_` methods.
#[derive(Debug, Clone, Default, Setters)]
#[setters(prefix = "with_")]
#[non_exhaustive]
pub struct IndexOptions {
    /// What kind of artifact the index is, if any.
    #[setters(strip_option)]
    pub artifact_type: Option<MediaType>,
    /// The manifest this index refers to.
    #[setters(skip)]
    pub subject: Option<Descriptor>,
    /// Index annotations; a `created` entry here wins over [`IndexOptions::created`].
    #[setters(skip)]
    pub annotations: BTreeMap<String, String>,
    /// The `created` annotation, unless `annotations` has one. Omitted unless set.
    #[setters(strip_option)]
    pub created: Option<Created>,
}

async fn push_index(target: &dyn Target, index: &ImageIndex) -> Result<Descriptor> {
    index.validate()?;
    let labels = (&index.artifact_type, &index.annotations);
    push_document(
        target,
        index.to_document()?,
        MediaType::image_index(),
        labels,
    )
    .await
}

/// Packs and pushes an index over `manifests` (already pushed): a multi-platform artifact when
/// each descriptor carries its `platform`.
///
/// # Errors
///
/// [`ErrorKind::InvalidInput`] for a bad `created` time; the target's errors from the push.
pub async fn pack_index(
    target: &dyn Target,
    manifests: Vec<Descriptor>,
    options: &IndexOptions,
) -> Result<Descriptor> {
    let mut index = ImageIndex::new(manifests);
    index.artifact_type = options.artifact_type.clone();
    index.subject = options.subject.clone();
    index.annotations = annotations_with_created(
        options.annotations.clone(),
        options.created.as_ref().unwrap_or(&Created::Omit),
    )?;
    push_index(target, &index).await
}

/// Updates an index that `reference` names (a tag or digest on `target`): adds or replaces the
/// entries in `add` (replacing by platform, so a new linux/arm64 build takes the old one's
/// place), drops those whose digest is in `remove`, pushes the result and moves the tag, if
/// `reference` is one.
///
/// Returns the new index's descriptor. The old index stays in the store, untagged.
///
/// # Errors
///
/// [`ErrorKind::NotFound`] when `reference` names nothing; [`ErrorKind::InvalidManifest`] when
/// it names something other than an index; the target's errors.
pub async fn update_index(
    target: &dyn Target,
    reference: &str,
    add: Vec<Descriptor>,
    remove: &[oci_digest::Digest],
) -> Result<Descriptor> {
    let (desc, bytes) = target.resolve_manifest(reference).await?;
    if !desc.media_type.is_index() {
        return Err(Error::new(
            ErrorKind::InvalidManifest,
            format!(
                "{reference} is a {}, not an index",
                desc.media_type.as_str()
            ),
        ));
    }
    let mut index = ImageIndex::from_slice(bytes)?.into_parts().0;
    index.manifests.retain(|m| !remove.contains(&m.digest));
    for m in add {
        index.upsert(m);
    }
    let new = push_index(target, &index).await?;
    if oci_target::parse_ref(reference)? == oci_target::RefKind::Tag(reference.to_owned()) {
        target.tag(&new, reference).await?;
    }
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_target::{MemoryStore, ReadOnlyTarget};

    fn sbom() -> MediaType {
        MediaType::parse("application/vnd.example.sbom").unwrap()
    }

    #[tokio::test]
    async fn v1_1_with_no_layers_gets_the_empty_config_and_one_empty_layer() {
        let store = MemoryStore::new();
        let opts = PackOptions::new(sbom()).with_created(Created::Omit);
        let desc = pack_manifest(&store, vec![], &opts).await.unwrap();
        let bytes = store.fetch_manifest(&desc).await.unwrap();
        let m = ImageManifest::from_slice(bytes).unwrap().into_parts().0;
        assert_eq!(m.artifact_type, Some(sbom()));
        assert_eq!(m.config, Descriptor::empty());
        assert_eq!(m.layers, vec![Descriptor::empty()]);
        assert!(m.annotations.is_none());
        assert!(store.exists(&Descriptor::empty()).await.unwrap());
        assert_eq!(desc.artifact_type, Some(sbom()));
    }

    #[tokio::test]
    async fn a_fixed_created_time_gives_the_same_digest_twice() {
        let store = MemoryStore::new();
        let layer = store
            .push_content(MediaType::octet_stream(), Bytes::from_static(b"x"))
            .await
            .unwrap();
        let opts = PackOptions::new(sbom())
            .with_created(Created::At("2024-01-02T03:04:05Z".into()))
            .with_annotation("a", "b");
        let one = pack_manifest(&store, vec![layer.clone()], &opts)
            .await
            .unwrap();
        let two = pack_manifest(&store, vec![layer], &opts).await.unwrap();
        assert_eq!(one.digest, two.digest);
        assert_eq!(
            one.annotation(annotations::CREATED),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(one.annotation("a"), Some("b"));
    }

    #[tokio::test]
    async fn now_is_rfc3339_and_a_bad_time_is_refused() {
        let (m, _) = build_manifest(vec![], &PackOptions::new(sbom())).unwrap();
        let created = m.annotations.unwrap()[annotations::CREATED].clone();
        assert!(
            OffsetDateTime::parse(&created, &Rfc3339).is_ok(),
            "{created}"
        );
        let bad = PackOptions::new(sbom()).with_annotation(annotations::CREATED, "yesterday");
        assert_eq!(
            build_manifest(vec![], &bad).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let bad = PackOptions::new(sbom()).with_created(Created::At("2024-13-01".into()));
        assert_eq!(
            build_manifest(vec![], &bad).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn v1_1_without_artifact_type_or_config_is_refused() {
        let err = build_manifest(vec![], &PackOptions::default()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.to_string().contains("artifact type"));
    }

    #[test]
    fn v1_0_puts_the_artifact_type_in_the_config() {
        let opts = PackOptions::new(sbom())
            .with_version(ManifestVersion::V1_0)
            .with_created(Created::Omit);
        let (m, blobs) = build_manifest(vec![], &opts).unwrap();
        assert_eq!(m.artifact_type, None);
        assert_eq!(m.config.media_type, sbom());
        assert_eq!(m.config.digest, Descriptor::empty().digest);
        assert_eq!(m.layers, vec![Descriptor::empty()]);
        assert_eq!(
            blobs.len(),
            1,
            "config and layer are the same `{{}}` bytes, pushed once"
        );

        let untyped = PackOptions::default().with_version(ManifestVersion::V1_0);
        let (m, _) = build_manifest(vec![], &untyped).unwrap();
        assert_eq!(m.config.media_type.as_str(), UNKNOWN_CONFIG_MEDIA_TYPE);

        let with_subject = opts.clone().with_subject(Descriptor::empty());
        assert_eq!(
            build_manifest(vec![], &with_subject).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
        let both = opts.with_config(Descriptor::empty(), Bytes::from_static(b"{}"));
        assert_eq!(
            build_manifest(vec![], &both).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[tokio::test]
    async fn a_subject_makes_a_referrer() {
        let store = MemoryStore::new();
        let image = pack_manifest(&store, vec![], &PackOptions::new(sbom()))
            .await
            .unwrap();
        let opts = PackOptions::new(MediaType::parse("application/vnd.example.sig").unwrap())
            .with_subject(image.clone());
        let sig = pack_manifest(&store, vec![], &opts).await.unwrap();
        let referrers = store.referrers(&image, None).await.unwrap();
        assert_eq!(referrers.len(), 1);
        assert_eq!(referrers[0].digest, sig.digest);
    }

    #[tokio::test]
    async fn an_index_is_created_and_updated_by_platform() {
        let store = MemoryStore::new();
        let mut per_platform = Vec::new();
        for (i, p) in ["linux/amd64", "linux/arm64"].into_iter().enumerate() {
            let layer = store
                .push_content(MediaType::octet_stream(), Bytes::from(vec![i as u8; 3]))
                .await
                .unwrap();
            let d = pack_manifest(&store, vec![layer], &PackOptions::new(sbom()))
                .await
                .unwrap();
            per_platform.push(d.with_platform(p.parse().unwrap()));
        }
        let index = pack_index(&store, per_platform.clone(), &IndexOptions::default())
            .await
            .unwrap();
        store.tag(&index, "v1").await.unwrap();

        let layer = store
            .push_content(MediaType::octet_stream(), Bytes::from_static(b"new arm"))
            .await
            .unwrap();
        let arm = pack_manifest(&store, vec![layer], &PackOptions::new(sbom()))
            .await
            .unwrap()
            .with_platform("linux/arm64".parse().unwrap());
        let updated = update_index(&store, "v1", vec![arm.clone()], &[])
            .await
            .unwrap();
        assert_ne!(updated.digest, index.digest);
        assert_eq!(store.resolve("v1").await.unwrap().digest, updated.digest);
        let bytes = store.fetch_manifest(&updated).await.unwrap();
        let idx = ImageIndex::from_slice(bytes).unwrap().into_parts().0;
        assert_eq!(idx.manifests.len(), 2);
        assert_eq!(idx.manifests[1].digest, arm.digest);
        assert_eq!(idx.manifests[0].digest, per_platform[0].digest);

        let removed = update_index(&store, "v1", vec![], std::slice::from_ref(&arm.digest))
            .await
            .unwrap();
        let bytes = store.fetch_manifest(&removed).await.unwrap();
        let idx = ImageIndex::from_slice(bytes).unwrap().into_parts().0;
        assert_eq!(idx.manifests.len(), 1);

        let not_index = update_index(&store, per_platform[0].digest.as_ref(), vec![], &[])
            .await
            .unwrap_err();
        assert_eq!(not_index.kind(), ErrorKind::InvalidManifest);
    }
}
