//! Named media types: OCI, Docker v2.2, and well-known artifact types.
//!
//! Constants are `&'static str` so they match in patterns and compare with [`MediaType`]
//! directly; [`MediaType::human_name`] gives a short name for listings.

use crate::MediaType;

/// OCI image manifest.
pub const IMAGE_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const IMAGE_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const IMAGE_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI layer, uncompressed tar.
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// OCI layer, gzip-compressed tar.
pub const LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI layer, zstd-compressed tar.
pub const LAYER_TAR_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// OCI non-distributable layer, tar (deprecated by the image-spec).
pub const LAYER_NONDISTRIBUTABLE_TAR: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar";
/// OCI non-distributable layer, tar+gzip (deprecated by the image-spec).
pub const LAYER_NONDISTRIBUTABLE_TAR_GZIP: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
/// OCI non-distributable layer, tar+zstd (deprecated by the image-spec).
pub const LAYER_NONDISTRIBUTABLE_TAR_ZSTD: &str =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd";
/// The empty JSON object `{}`, for configs and layers of artifacts that need none.
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The `oci-layout` file of an image layout.
pub const LAYOUT_HEADER: &str = "application/vnd.oci.layout.header.v1+json";

/// Docker v2.2 image manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker v2.2 manifest list.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker container config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker layer, gzip-compressed tar.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// Docker foreign layer (fetched from its `urls`).
pub const DOCKER_FOREIGN_LAYER: &str = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// Docker plugin config.
pub const DOCKER_PLUGIN_CONFIG: &str = "application/vnd.docker.plugin.v1+json";
/// Docker schema 1 manifest (refused: it cannot be verified by digest).
pub const DOCKER_MANIFEST_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
/// Docker schema 1 signed manifest (refused).
pub const DOCKER_MANIFEST_V1_SIGNED: &str =
    "application/vnd.docker.distribution.manifest.v1+prettyjws";

/// Helm chart config.
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm chart content (a .tgz).
pub const HELM_CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Helm chart provenance file.
pub const HELM_PROVENANCE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";
/// CycloneDX SBOM (JSON).
pub const CYCLONEDX_JSON: &str = "application/vnd.cyclonedx+json";
/// CycloneDX SBOM (XML).
pub const CYCLONEDX_XML: &str = "application/vnd.cyclonedx+xml";
/// SPDX SBOM (JSON).
pub const SPDX_JSON: &str = "application/spdx+json";
/// SPDX SBOM (tag-value).
pub const SPDX_TEXT: &str = "text/spdx";
/// in-toto attestation.
pub const IN_TOTO: &str = "application/vnd.in-toto+json";
/// Sigstore bundle, v0.3.
pub const SIGSTORE_BUNDLE_V03: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";
/// Sigstore bundle, version given as a parameter.
pub const SIGSTORE_BUNDLE: &str = "application/vnd.dev.sigstore.bundle+json";
/// cosign simple-signing payload.
pub const COSIGN_SIMPLE_SIGNING: &str = "application/vnd.dev.cosign.simplesigning.v1+json";
/// DSSE envelope (a signed in-toto statement, as cosign stores attestations).
pub const DSSE_ENVELOPE: &str = "application/vnd.dsse.envelope.v1+json";
/// cosign signature, as the artifact type of a referrer.
pub const COSIGN_SIGNATURE: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
/// cosign SBOM attachment.
pub const COSIGN_SBOM: &str = "application/vnd.dev.cosign.artifact.sbom.v1+json";
/// Notary project signature.
pub const NOTARY_SIGNATURE: &str = "application/vnd.cncf.notary.signature";
/// WASM module config.
pub const WASM_CONFIG: &str = "application/vnd.wasm.config.v0+json";
/// WASM module content.
pub const WASM_CONTENT: &str = "application/vnd.wasm.content.layer.v1+wasm";
/// Docker AI model config.
pub const DOCKER_AI_MODEL_CONFIG: &str = "application/vnd.docker.ai.model.config.v0.1+json";
/// Docker AI model weights, GGUF.
pub const DOCKER_AI_GGUF: &str = "application/vnd.docker.ai.gguf.v3";
/// Docker AI model licence.
pub const DOCKER_AI_LICENSE: &str = "application/vnd.docker.ai.license";
/// CNAB bundle manifest.
pub const CNAB_MANIFEST: &str = "application/vnd.cnab.manifest.v1";
/// CNAB bundle config.
pub const CNAB_CONFIG: &str = "application/vnd.cnab.config.v1+json";
/// Arbitrary bytes.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Short human names of the well-known types, for listings.
const HUMAN_NAMES: &[(&str, &str)] = &[
    (IMAGE_MANIFEST, "OCI image manifest"),
    (IMAGE_INDEX, "OCI image index"),
    (IMAGE_CONFIG, "OCI image config"),
    (LAYER_TAR, "layer (tar)"),
    (LAYER_TAR_GZIP, "layer (tar+gzip)"),
    (LAYER_TAR_ZSTD, "layer (tar+zstd)"),
    (LAYER_NONDISTRIBUTABLE_TAR, "non-distributable layer (tar)"),
    (
        LAYER_NONDISTRIBUTABLE_TAR_GZIP,
        "non-distributable layer (tar+gzip)",
    ),
    (
        LAYER_NONDISTRIBUTABLE_TAR_ZSTD,
        "non-distributable layer (tar+zstd)",
    ),
    (EMPTY, "empty"),
    (LAYOUT_HEADER, "OCI layout header"),
    (DOCKER_MANIFEST, "Docker image manifest"),
    (DOCKER_MANIFEST_LIST, "Docker manifest list"),
    (DOCKER_CONFIG, "Docker image config"),
    (DOCKER_LAYER_GZIP, "Docker layer (tar+gzip)"),
    (DOCKER_FOREIGN_LAYER, "Docker foreign layer"),
    (DOCKER_PLUGIN_CONFIG, "Docker plugin config"),
    (HELM_CONFIG, "Helm chart"),
    (HELM_CHART, "Helm chart content"),
    (HELM_PROVENANCE, "Helm chart provenance"),
    (CYCLONEDX_JSON, "CycloneDX SBOM"),
    (CYCLONEDX_XML, "CycloneDX SBOM (XML)"),
    (SPDX_JSON, "SPDX SBOM"),
    (SPDX_TEXT, "SPDX SBOM (text)"),
    (IN_TOTO, "in-toto attestation"),
    (SIGSTORE_BUNDLE_V03, "Sigstore bundle"),
    (SIGSTORE_BUNDLE, "Sigstore bundle"),
    (COSIGN_SIMPLE_SIGNING, "cosign signature payload"),
    (COSIGN_SIGNATURE, "cosign signature"),
    (COSIGN_SBOM, "cosign SBOM"),
    (NOTARY_SIGNATURE, "Notary signature"),
    (WASM_CONFIG, "WASM module"),
    (WASM_CONTENT, "WASM module content"),
    (DOCKER_AI_MODEL_CONFIG, "AI model (Docker)"),
    (DOCKER_AI_GGUF, "AI model weights (GGUF)"),
    (DOCKER_AI_LICENSE, "AI model licence"),
    (CNAB_MANIFEST, "CNAB bundle"),
    (CNAB_CONFIG, "CNAB bundle config"),
    (OCTET_STREAM, "bytes"),
];

impl MediaType {
    /// A short name for a well-known type ("Helm chart", "CycloneDX SBOM", …), `None` for
    /// others. Parameters are ignored.
    pub fn human_name(&self) -> Option<&'static str> {
        let essence = self.essence();
        HUMAN_NAMES
            .iter()
            .find(|(t, _)| *t == essence)
            .map(|(_, n)| *n)
    }

    /// True for manifests and indexes, OCI and Docker v2.2: content that points at other content.
    pub fn is_manifest(&self) -> bool {
        matches!(
            self.essence(),
            IMAGE_MANIFEST | IMAGE_INDEX | DOCKER_MANIFEST | DOCKER_MANIFEST_LIST
        )
    }

    /// True for indexes: OCI image index and Docker manifest list.
    pub fn is_index(&self) -> bool {
        matches!(self.essence(), IMAGE_INDEX | DOCKER_MANIFEST_LIST)
    }

    /// The OCI image manifest type.
    pub fn image_manifest() -> Self {
        MediaType::from_static(IMAGE_MANIFEST)
    }

    /// The OCI image index type.
    pub fn image_index() -> Self {
        MediaType::from_static(IMAGE_INDEX)
    }

    /// The OCI image config type.
    pub fn image_config() -> Self {
        MediaType::from_static(IMAGE_CONFIG)
    }

    /// The empty-JSON type.
    pub fn empty() -> Self {
        MediaType::from_static(EMPTY)
    }

    /// `application/octet-stream`.
    pub fn octet_stream() -> Self {
        MediaType::from_static(OCTET_STREAM)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_constant_is_valid_and_named() {
        for (t, name) in HUMAN_NAMES {
            let m = MediaType::parse(t).unwrap();
            assert_eq!(m.human_name(), Some(*name));
        }
        assert_eq!(
            MediaType::parse("application/vnd.dev.sigstore.bundle+json; version=0.3")
                .unwrap()
                .human_name(),
            Some("Sigstore bundle")
        );
        assert_eq!(
            MediaType::parse("application/x-unknown")
                .unwrap()
                .human_name(),
            None
        );
    }

    #[test]
    fn manifest_kinds() {
        assert!(MediaType::image_index().is_index() && MediaType::image_index().is_manifest());
        assert!(MediaType::parse(DOCKER_MANIFEST).unwrap().is_manifest());
        assert!(!MediaType::image_config().is_manifest());
    }
}
