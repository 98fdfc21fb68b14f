//! Directories as gzip-compressed tar archives, the way `oras` packs them.
//!
//! Packing is reproducible: entries in name order, times, owners and the gzip header zeroed, so
//! the same tree gives the same digest on any machine. Unpacking holds every entry to the rules
//! of [`super::paths`], verifies the digest of the uncompressed tar (the
//! `io.deis.oras.content.digest` annotation) and writes into a staging directory that the caller
//! renames into place only once all of it checked out.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use oci_digest::{Algorithm, Digest, Digester};

use super::paths::{check_link_target, prepare_parents, relative_name};
use oci_target::{Error, ErrorKind, Result};

/// What packing a directory produced.
#[derive(Debug)]
pub(crate) struct Packed {
    /// Digest of the compressed archive (the blob).
    pub(crate) digest: Digest,
    /// Its size.
    pub(crate) size: u64,
    /// Digest of the uncompressed tar stream.
    pub(crate) tar_digest: Digest,
}

/// Counts and hashes what passes through to `inner`.
struct HashingWriter<W> {
    inner: W,
    digester: Digester,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digester.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Hashes what is read through it.
struct HashingReader<R> {
    inner: R,
    digester: Digester,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digester.update(&buf[..n]);
        Ok(n)
    }
}

fn io_context(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> Error {
    let shown = path.display().to_string();
    let what = what.to_owned();
    move |e| Error::from(e).context(format!("cannot {what} {shown}"))
}

/// Packs the tree at `dir` into `out` as tar+gzip, every entry under `prefix/`.
///
/// Symbolic links are stored as links, never followed. Special files (sockets, devices, FIFOs)
/// are refused.
pub(crate) fn pack_dir(
    dir: &Path,
    prefix: &str,
    out: File,
    algorithm: Algorithm,
) -> Result<Packed> {
    let compressed = HashingWriter {
        inner: BufWriter::with_capacity(1 << 16, out),
        digester: Digester::new(algorithm),
        written: 0,
    };
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(compressed, Compression::default());
    let tar_stream = HashingWriter {
        inner: gz,
        digester: Digester::new(algorithm),
        written: 0,
    };
    let mut builder = tar::Builder::new(tar_stream);
    builder.mode(tar::HeaderMode::Deterministic);
    builder.follow_symlinks(false);
    append_tree(&mut builder, dir, Path::new(prefix))?;
    let tar_stream = builder.into_inner().map_err(io_context(dir, "pack"))?;
    let tar_digest = tar_stream.digester.finalize();
    let mut compressed = tar_stream
        .inner
        .finish()
        .map_err(io_context(dir, "compress"))?;
    compressed
        .flush()
        .map_err(io_context(dir, "write the archive of"))?;
    let size = compressed.written;
    let file = compressed
        .inner
        .into_inner()
        .map_err(|e| Error::from(e.into_error()).context("cannot write the archive"))?;
    file.sync_all()
        .map_err(io_context(dir, "write the archive of"))?;
    Ok(Packed {
        digest: compressed.digester.finalize(),
        size,
        tar_digest,
    })
}

fn append_tree<W: Write>(builder: &mut tar::Builder<W>, dir: &Path, name: &Path) -> Result<()> {
    builder
        .append_dir(name, dir)
        .map_err(io_context(dir, "pack"))?;
    let mut entries = std::fs::read_dir(dir)
        .map_err(io_context(dir, "read"))?
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io_context(dir, "read"))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let entry_name = name.join(entry.file_name());
        let kind = entry.file_type().map_err(io_context(&path, "inspect"))?;
        if kind.is_dir() {
            append_tree(builder, &path, &entry_name)?;
        } else if kind.is_file() || kind.is_symlink() {
            builder
                .append_path_with_name(&path, &entry_name)
                .map_err(io_context(&path, "pack"))?;
        } else {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "{} is neither a file, a directory nor a link; it cannot be packed",
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Unpacks the tar+gzip archive at `archive` into `staging` (an empty directory), accepting only
/// entries under `title/`, and checks the uncompressed stream against `tar_digest` when given.
///
/// Returns the path of `title` inside `staging`.
///
/// # Errors
///
/// [`ErrorKind::UnsafePath`] for an entry or link that would leave `title`;
/// [`ErrorKind::InvalidInput`] for special files; [`ErrorKind::DigestMismatch`] when the tar
/// stream is not what the annotation says; [`ErrorKind::Io`] for a broken archive.
pub(crate) fn unpack(
    archive: &Path,
    staging: &Path,
    title: &Path,
    tar_digest: Option<&Digest>,
    limits: &oci_target::Limits,
) -> Result<PathBuf> {
    let file = File::open(archive).map_err(io_context(archive, "open"))?;
    let archive_len = file
        .metadata()
        .map_err(io_context(archive, "read"))?
        .len()
        .max(1);
    let mut unpacked_bytes = 0u64;
    let mut unpacked_entries = 0u64;
    let algorithm = match tar_digest {
        Some(d) => d.hash_algorithm()?,
        None => Algorithm::Sha256,
    };
    let mut reader = HashingReader {
        inner: GzDecoder::new(std::io::BufReader::with_capacity(1 << 16, file)),
        digester: Digester::new(algorithm),
    };
    let mut tar = tar::Archive::new(&mut reader);
    tar.set_preserve_permissions(false);
    tar.set_overwrite(false);
    tar.set_unpack_xattrs(false);
    let broken = |e: std::io::Error| {
        Error::new(ErrorKind::Io, format!("the archive is broken: {e}")).with_source(e)
    };
    for entry in tar.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        let raw = entry.path_bytes();
        let name = String::from_utf8_lossy(&raw).into_owned();
        let relative = relative_name("tar entry", &name)?;
        let Ok(inside) = relative.strip_prefix(title) else {
            return Err(Error::new(
                ErrorKind::UnsafePath,
                format!(
                    "tar entry {name:?} is outside the directory {:?} it should unpack",
                    title.display()
                ),
            ));
        };
        let inside = inside.to_path_buf();
        let kind = entry.header().entry_type();
        // Held to the limits before anything of this entry is written.
        let what = format_args!("unpacking {:?}", title.display());
        unpacked_entries += 1;
        limits.check("unpacked-entries", unpacked_entries, what)?;
        unpacked_bytes = unpacked_bytes.saturating_add(entry.size());
        limits.check("unpacked-bytes", unpacked_bytes, what)?;
        if unpacked_bytes > oci_target::limits::EXPANSION_GRACE_BYTES {
            limits.check("expansion-ratio", unpacked_bytes / archive_len, what)?;
        }
        let mut hard_link_source = None;
        match kind {
            tar::EntryType::Regular
            | tar::EntryType::Continuous
            | tar::EntryType::GNUSparse
            | tar::EntryType::Directory => {}
            tar::EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(broken)?
                    .ok_or_else(|| broken(std::io::Error::other("a link without a target")))?;
                check_link_target(&inside, &target)?;
            }
            tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(broken)?
                    .ok_or_else(|| broken(std::io::Error::other("a link without a target")))?;
                let target = relative_name("hard link target", &target.to_string_lossy())?;
                if target.strip_prefix(title).is_err() {
                    return Err(Error::new(
                        ErrorKind::UnsafePath,
                        format!("hard link {name:?} points outside {:?}", title.display()),
                    ));
                }
                let source = staging.join(&target);
                let meta = std::fs::symlink_metadata(&source);
                if !meta.is_ok_and(|m| m.file_type().is_file()) {
                    return Err(Error::new(
                        ErrorKind::UnsafePath,
                        format!(
                            "hard link {name:?} points at {:?}, which is not a file unpacked before it",
                            target.display()
                        ),
                    ));
                }
                hard_link_source = Some(source);
            }
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader => continue,
            other => {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("tar entry {name:?} is a {other:?}, which is not unpacked"),
                ));
            }
        }
        let dest = prepare_parents(staging, &relative)?;
        if std::fs::symlink_metadata(&dest).is_ok() && kind != tar::EntryType::Directory {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!("tar entry {name:?} appears twice"),
            ));
        }
        if kind == tar::EntryType::Directory && dest.is_dir() {
            continue;
        }
        let written = match hard_link_source {
            Some(source) => std::fs::hard_link(source, &dest),
            None => entry.unpack(&dest).map(|_| ()),
        };
        written.map_err(|e| Error::from(e).context(format!("cannot unpack {name:?}")))?;
        normalise_mode(&dest, kind, entry.header().mode().unwrap_or(0o644))
            .map_err(|e| Error::from(e).context(format!("cannot set the mode of {name:?}")))?;
    }
    let rest = tar.into_inner();
    // The digest covers the whole tar stream, end-of-archive padding included.
    std::io::copy(rest, &mut std::io::sink()).map_err(broken)?;
    let actual = reader.digester.finalize();
    if let Some(expected) = tar_digest
        && &actual != expected
    {
        return Err(Error::new(
            ErrorKind::DigestMismatch,
            format!("the unpacked tar stream has digest {actual}, the annotation says {expected}"),
        ));
    }
    let root = staging.join(title);
    if std::fs::symlink_metadata(&root)
        .map(|m| m.is_dir())
        .unwrap_or(false)
    {
        Ok(root)
    } else {
        Err(Error::new(
            ErrorKind::InvalidInput,
            format!("the archive has no directory {:?}", title.display()),
        ))
    }
}

/// Whatever mode the archive says, a directory gets 0755 and a file 0755 when any execute bit
/// was set, else 0644: no setuid, setgid, sticky or world-writable bits from content.
fn normalise_mode(path: &Path, kind: tar::EntryType, mode: u32) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let normal = match kind {
            tar::EntryType::Directory => 0o755,
            tar::EntryType::Symlink => return Ok(()),
            _ if mode & 0o111 != 0 => 0o755,
            _ => 0o644,
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(normal))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, kind, mode);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("data");
        std::fs::create_dir_all(d.join("sub/deeper")).unwrap();
        std::fs::write(d.join("a.txt"), b"alpha").unwrap();
        std::fs::write(d.join("sub/b.bin"), vec![7u8; 100_000]).unwrap();
        std::fs::write(d.join("sub/deeper/c"), b"").unwrap();
        std::os::unix::fs::symlink("../a.txt", d.join("sub/link")).unwrap();
        dir
    }

    fn pack(dir: &Path, out: &Path) -> Packed {
        let f = File::create(out).unwrap();
        pack_dir(&dir.join("data"), "data", f, Algorithm::Sha256).unwrap()
    }

    /// Unpacks the `data` directory of `archive` into `staging` in a new temporary directory,
    /// returned so a test can see what was left beside it.
    fn unpack_data(
        archive: &Path,
        tar_digest: Option<&Digest>,
        limits: &oci_target::Limits,
    ) -> (tempfile::TempDir, Result<PathBuf>) {
        let outer = tempfile::tempdir().unwrap();
        let staging = outer.path().join("staging");
        std::fs::create_dir(&staging).unwrap();
        let root = unpack(archive, &staging, Path::new("data"), tar_digest, limits);
        (outer, root)
    }

    #[test]
    fn packing_is_reproducible_and_round_trips() {
        let src = tree();
        let work = tempfile::tempdir().unwrap();
        let one = pack(src.path(), &work.path().join("1.tgz"));
        // Touch a file: times are not recorded, so the digest stays.
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(src.path().join("data/a.txt"), b"alpha").unwrap();
        let two = pack(src.path(), &work.path().join("2.tgz"));
        assert_eq!(one.digest, two.digest);
        assert_eq!(one.tar_digest, two.tar_digest);
        assert_eq!(
            one.size,
            std::fs::metadata(work.path().join("1.tgz")).unwrap().len()
        );
        let bytes = std::fs::read(work.path().join("1.tgz")).unwrap();
        assert_eq!(oci_digest::sha256(&bytes), one.digest);

        let limits = oci_target::Limits::default();
        let (_out, root) = unpack_data(&work.path().join("1.tgz"), Some(&one.tar_digest), &limits);
        let root = root.unwrap();
        assert_eq!(std::fs::read(root.join("a.txt")).unwrap(), b"alpha");
        assert_eq!(
            std::fs::read(root.join("sub/b.bin")).unwrap().len(),
            100_000
        );
        assert!(root.join("sub/deeper/c").is_file());
        assert_eq!(
            std::fs::read_link(root.join("sub/link")).unwrap(),
            Path::new("../a.txt")
        );
    }

    #[test]
    fn a_wrong_tar_digest_is_refused() {
        let src = tree();
        let work = tempfile::tempdir().unwrap();
        pack(src.path(), &work.path().join("1.tgz"));
        let other = oci_digest::sha256(b"something else");
        let limits = oci_target::Limits::default();
        let (_out, err) = unpack_data(&work.path().join("1.tgz"), Some(&other), &limits);
        let err = err.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DigestMismatch);
    }

    /// Writes a tar.gz with raw headers, so names the tar crate's builder refuses can be made.
    fn hostile(entries: &[(&str, tar::EntryType, &str, &[u8])]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let gz = flate2::write::GzEncoder::new(file.reopen().unwrap(), Compression::fast());
        let mut b = tar::Builder::new(gz);
        for (name, kind, link, data) in entries {
            let mut h = tar::Header::new_gnu();
            {
                let raw = h.as_old_mut();
                raw.name[..name.len()].copy_from_slice(name.as_bytes());
                raw.linkname[..link.len()].copy_from_slice(link.as_bytes());
            }
            h.set_entry_type(*kind);
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
        file
    }

    #[test]
    fn hostile_entries_are_refused_and_nothing_escapes() {
        use tar::EntryType::{Directory, Link, Regular, Symlink};
        type Entry<'a> = (&'a str, tar::EntryType, &'a str, &'a [u8]);
        let cases: [(&str, Vec<Entry<'_>>); 9] = [
            ("dot-dot", vec![("data/../../evil", Regular, "", b"x")]),
            ("absolute", vec![("/tmp/evil", Regular, "", b"x")]),
            ("outside the title", vec![("other/file", Regular, "", b"x")]),
            ("symlink out", vec![("data/l", Symlink, "/etc/passwd", b"")]),
            ("symlink up", vec![("data/l", Symlink, "../../x", b"")]),
            (
                "symlink beside the title",
                vec![("data/l", Symlink, "../x", b"")],
            ),
            (
                "write through a symlink",
                vec![
                    ("data/", Directory, "", b""),
                    ("data/l", Symlink, "sub", b""),
                    ("data/l/x", Regular, "", b"x"),
                ],
            ),
            (
                "hard link out",
                vec![("data/h", Link, "../etc/passwd", b"")],
            ),
            ("device", vec![("data/dev", tar::EntryType::Char, "", b"")]),
        ];
        for (what, entries) in cases {
            // A device is not a path problem: it is refused as input no store can hold.
            let kind = match what {
                "device" => ErrorKind::InvalidInput,
                _ => ErrorKind::UnsafePath,
            };
            let archive = hostile(&entries);
            let (outer, err) = unpack_data(archive.path(), None, &oci_target::Limits::default());
            let err = err.unwrap_err();
            assert_eq!(err.kind(), kind, "{what}: {err}");
            let names: Vec<_> = std::fs::read_dir(outer.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(
                names,
                vec!["staging"],
                "{what}: nothing beside the staging dir"
            );
        }
    }

    /// A tar.gz of `entries` (name, mode, content), made with the tar crate's builder.
    fn archive_of(entries: &[(&str, u32, &[u8])]) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        let gz = flate2::write::GzEncoder::new(file.reopen().unwrap(), Compression::best());
        let mut b = tar::Builder::new(gz);
        for (name, mode, data) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(if name.ends_with('/') {
                tar::EntryType::Directory
            } else {
                tar::EntryType::Regular
            });
            h.set_size(data.len() as u64);
            h.set_mode(*mode);
            h.set_cksum();
            b.append_data(&mut h, name, *data).unwrap();
        }
        b.into_inner().unwrap().finish().unwrap();
        file
    }

    #[test]
    fn unpacking_stops_at_its_byte_entry_and_ratio_limits() {
        let zeros = vec![0u8; 80 << 20];
        let bomb = archive_of(&[("data/", 0o755, b""), ("data/zeros", 0o644, &zeros)]);
        let packed = std::fs::metadata(bomb.path()).unwrap().len();
        assert!(packed < 1 << 20, "the bomb is {packed} bytes");
        let many: Vec<(String, Vec<u8>)> =
            (0..50).map(|i| (format!("data/f{i}"), vec![1u8])).collect();
        let mut entries: Vec<(&str, u32, &[u8])> = vec![("data/", 0o755, b"")];
        entries.extend(many.iter().map(|(n, d)| (n.as_str(), 0o644, d.as_slice())));
        let crowd = archive_of(&entries);

        let mut few_entries = oci_target::Limits::default();
        few_entries.unpacked_entries = 20;
        let mut few_bytes = oci_target::Limits::default();
        few_bytes.unpacked_bytes = 1 << 20;
        for (archive, limits, name) in [
            (&bomb, oci_target::Limits::default(), "expansion-ratio"),
            (&bomb, few_bytes, "unpacked-bytes"),
            (&crowd, few_entries, "unpacked-entries"),
        ] {
            let (outer, err) = unpack_data(archive.path(), None, &limits);
            let err = err.unwrap_err();
            assert_eq!(err.limit(), Some(name), "{err}");
            let written: u64 = walk(&outer.path().join("staging"))
                .iter()
                .map(|p| p.metadata().unwrap().len())
                .sum();
            assert!(written < 1 << 20, "{name}: {written} bytes written");
        }
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
        out
    }

    #[cfg(unix)]
    #[test]
    fn modes_are_normalised_whatever_the_archive_says() {
        use std::os::unix::fs::PermissionsExt;
        let archive = archive_of(&[
            ("data/", 0o777, b""),
            ("data/open", 0o777, b"x"),
            ("data/shared", 0o666, b"y"),
            ("data/setuid", 0o4755, b"z"),
        ]);
        let (_outer, root) = unpack_data(archive.path(), None, &oci_target::Limits::default());
        let root = root.unwrap();
        let mode = |p: &Path| p.metadata().unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&root), 0o755);
        assert_eq!(mode(&root.join("open")), 0o755);
        assert_eq!(mode(&root.join("shared")), 0o644);
        assert_eq!(mode(&root.join("setuid")), 0o755);
    }
}
