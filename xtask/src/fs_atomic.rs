//! Writes files whole or not at all: a temporary file next to the target, then a rename.

use std::io::Write as _;
use std::path::Path;

use anyhow::Context;

use crate::failure::{Classify, FailureKind};

/// Writes `contents` to `path` atomically, creating the parent directory.
pub fn write_atomic(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("creating directory {}", parent.display()))
        .classify(FailureKind::Environment)?;
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_owned());
    let temp = parent.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
        .with_context(|| format!("writing {}", path.display()))
        .classify(FailureKind::Environment)
}
