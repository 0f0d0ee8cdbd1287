//! Writing files so that a reader never sees half of one: through a temporary sibling and a rename.

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

use anyhow::Context;

use crate::failure::{Classify, FailureKind};

/// Writes `contents` to `path` through a sibling temporary file and a rename, creating the parent
/// directories.
pub fn write_atomically(path: &Path, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    write_with_mode(path, contents.as_ref(), 0o666)
}

/// Like [`write_atomically`], with the file readable by its owner only (mode 0600) from the
/// start: for files that hold external ids or other secrets.
pub fn write_private(path: &Path, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    write_with_mode(path, contents.as_ref(), 0o600)
}

fn write_with_mode(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    let parent = path
        .parent()
        .with_context(|| format!("{} has no parent directory", path.display()))
        .classify(FailureKind::Environment)?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("creating {}", parent.display()))
        .classify(FailureKind::Environment)?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = parent.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&temporary)
        .and_then(|mut file| {
            file.write_all(contents)?;
            file.sync_all()
        })
        .with_context(|| format!("writing {}", temporary.display()))
        .and_then(|()| {
            std::fs::rename(&temporary, path)
                .with_context(|| format!("renaming {} to {}", temporary.display(), path.display()))
        })
        .classify(FailureKind::Environment);
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn writes_leave_no_temporary_file_and_private_ones_are_0600() {
        let dir = tempfile::tempdir().unwrap();
        let public = dir.path().join("a/b/public");
        write_atomically(&public, "one").unwrap();
        write_atomically(&public, b"two").unwrap();
        assert_eq!(std::fs::read_to_string(&public).unwrap(), "two");
        let private = dir.path().join("a/b/private");
        write_private(&private, "secret").unwrap();
        let mode = std::fs::metadata(&private).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mut names: Vec<_> = std::fs::read_dir(dir.path().join("a/b"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, ["private", "public"]);
    }
}
