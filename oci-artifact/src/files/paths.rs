//! Paths taken from content, held inside the directory they are meant for.
//!
//! A file title, a tar entry name and a link target all come from whoever wrote the artifact.
//! They are checked by their text first (relative, no `..`, no root or drive prefix, no NUL),
//! and the directories they go through are checked on disk: a symbolic link already in the output
//! directory is never followed when writing.

use std::path::{Component, Path, PathBuf};

use oci_target::{Error, ErrorKind, Result};

fn unsafe_path(what: &str, name: &str, why: &str) -> Error {
    let shown: String = name.chars().take(200).collect();
    Error::new(ErrorKind::UnsafePath, format!("{what} {shown:?} {why}"))
}

/// Checks a name from content (`a/b.txt`) and returns it as a relative path of plain
/// components, `.` parts dropped.
///
/// # Errors
///
/// [`ErrorKind::UnsafePath`] for an empty name, an absolute one, a `..` component, a Windows
/// drive or UNC prefix, a backslash or a NUL byte.
pub(crate) fn relative_name(what: &str, name: &str) -> Result<PathBuf> {
    if name.contains('\0') {
        return Err(unsafe_path(what, name, "contains a NUL byte"));
    }
    if name.contains('\\') {
        return Err(unsafe_path(
            what,
            name,
            "contains a backslash; names use '/' between parts",
        ));
    }
    let mut out = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => {
                let part_str = part.to_string_lossy();
                if part_str.len() >= 2 && part_str.as_bytes()[1] == b':' {
                    return Err(unsafe_path(what, name, "starts with a drive letter"));
                }
                out.push(part);
            }
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(unsafe_path(what, name, "contains '..'"));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_path(what, name, "is absolute"));
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(unsafe_path(what, name, "names no file"));
    }
    Ok(out)
}

/// Checks a symbolic link target found at `link` (a relative path of plain components, inside
/// the tree being written): it must be relative, may climb with leading `..` parts only, no
/// higher than `link` is deep, and then only descend.
///
/// A target of that shape cannot leave the tree however the links in it resolve: its climb is
/// bounded by where the link itself sits, and every later part goes down.
///
/// # Errors
///
/// [`ErrorKind::UnsafePath`] naming the link and its target.
pub(crate) fn check_link_target(link: &Path, target: &Path) -> Result<()> {
    let name = target.to_string_lossy();
    let bad = |why: &str| {
        Err(unsafe_path(
            "link target",
            &format!("{} -> {name}", link.display()),
            why,
        ))
    };
    if name.contains('\\') {
        return bad("contains a backslash");
    }
    let depth = link.components().count().saturating_sub(1);
    let mut climbed = 0usize;
    let mut descended = false;
    for component in target.components() {
        match component {
            Component::ParentDir if !descended => {
                climbed += 1;
                if climbed > depth {
                    return bad("points outside the directory");
                }
            }
            Component::ParentDir => return bad("climbs with '..' after descending"),
            Component::Normal(_) => descended = true,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return bad("is absolute"),
        }
    }
    Ok(())
}

/// Creates the directories of `relative` under `root` (all but the last part), refusing to go
/// through anything already there that is not a real directory (a symbolic link above all).
///
/// Returns the full path of the last part.
///
/// # Errors
///
/// [`ErrorKind::UnsafePath`] when a parent is a link or a file; [`ErrorKind::Io`] when a
/// directory cannot be created.
pub(crate) fn prepare_parents(root: &Path, relative: &Path) -> Result<PathBuf> {
    let mut at = root.to_path_buf();
    let parts: Vec<_> = relative.components().collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        at.push(part);
        match std::fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_dir() => {}
            Ok(_) => {
                return Err(unsafe_path(
                    "path",
                    &relative.to_string_lossy(),
                    &format!(
                        "goes through {}, which is not a directory (a link is never followed)",
                        at.display()
                    ),
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::create_dir(&at) {
                Ok(()) => {}
                // Another file of the same pull made it meanwhile: fine if it is a directory.
                Err(e)
                    if e.kind() == std::io::ErrorKind::AlreadyExists
                        && std::fs::symlink_metadata(&at).is_ok_and(|m| m.is_dir()) => {}
                Err(e) => {
                    return Err(Error::from(e).context(format!("cannot create {}", at.display())));
                }
            },
            Err(e) => {
                return Err(Error::from(e).context(format!("cannot inspect {}", at.display())));
            }
        }
    }
    Ok(root.join(relative))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_stay_inside() {
        assert_eq!(
            relative_name("title", "a/./b.txt").unwrap(),
            Path::new("a/b.txt")
        );
        for bad in [
            "",
            ".",
            "../x",
            "a/../../x",
            "a/..",
            "/etc/passwd",
            "C:/x",
            "a\\..\\x",
            "a\0b",
        ] {
            let err = relative_name("title", bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnsafePath, "{bad:?}");
        }
    }

    #[test]
    fn link_targets_climb_no_higher_than_the_link_sits() {
        let ok = |l: &str, t: &str| check_link_target(Path::new(l), Path::new(t)).is_ok();
        assert!(ok("d/link", "file"));
        assert!(ok("d/link", "../file"));
        assert!(ok("d/e/link", "../../x/y"));
        assert!(ok("d/link", "./sub/file"));
        assert!(!ok("d/link", "../../file"));
        assert!(!ok("link", "../file"));
        assert!(!ok("d/link", "/etc/passwd"));
        assert!(!ok("d/link", "sub/../../x"), "'..' after descending");
        assert!(!ok("d/link", "up/../x"));
    }

    #[test]
    fn parents_that_are_links_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("evil")).unwrap();
        let err = prepare_parents(dir.path(), Path::new("evil/x")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnsafePath);
        let p = prepare_parents(dir.path(), Path::new("a/b/c.txt")).unwrap();
        assert_eq!(p, dir.path().join("a/b/c.txt"));
        assert!(dir.path().join("a/b").is_dir());
        assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    }
}
