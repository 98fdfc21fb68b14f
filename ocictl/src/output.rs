//! Reading input and writing output for the commands that move raw content.

use bytes::Bytes;
use oci_spec_types::Descriptor;
use oci_target::{Error, Result};
use std::io::Write;
use std::path::PathBuf;

pub(crate) fn descriptor_json(desc: &Descriptor) -> serde_json::Value {
    serde_json::to_value(desc).expect("descriptors serialise")
}

pub(crate) async fn read_input(path: &PathBuf) -> Result<Bytes> {
    if path.as_os_str() == "-" {
        let mut buf = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut tokio::io::stdin(), &mut buf).await?;
        return Ok(Bytes::from(buf));
    }
    Ok(Bytes::from(tokio::fs::read(path).await.map_err(|e| {
        Error::from(e).context(format!("cannot read {}", path.display()))
    })?))
}

/// Writes `data` to `output` (a file, or stdout for `-` or none).
pub(crate) async fn write_output(output: Option<&PathBuf>, data: &[u8]) -> Result<()> {
    match output {
        Some(p) if p.as_os_str() != "-" => tokio::fs::write(p, data)
            .await
            .map_err(|e| Error::from(e).context(format!("cannot write {}", p.display()))),
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(data)?;
            out.flush()?;
            Ok(())
        }
    }
}
