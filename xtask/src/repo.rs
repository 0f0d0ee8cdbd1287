//! The repository root: the nearest directory, from where a command runs upwards, whose
//! `Cargo.toml` has a `[workspace.metadata.xtask]` table (the settings every command reads).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::failure::{Classify, FailureKind, fail};

/// The nearest ancestor of `start` (itself included) whose `Cargo.toml` declares
/// `[workspace.metadata.xtask]`. A `Cargo.toml` that is not valid TOML is an error naming it,
/// since it cannot be told apart from a broken root.
pub fn find_root(start: &Path) -> anyhow::Result<PathBuf> {
    for dir in start.ancestors() {
        let manifest = dir.join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let table: toml::Table = toml::from_str(&text)
            .with_context(|| format!("{} is not valid TOML", manifest.display()))
            .classify(FailureKind::Config)?;
        let xtask = table
            .get("workspace")
            .and_then(|workspace| workspace.get("metadata"))
            .and_then(|metadata| metadata.get("xtask"));
        if xtask.is_some_and(toml::Value::is_table) {
            return Ok(dir.to_path_buf());
        }
    }
    Err(fail(
        FailureKind::Config,
        format!(
            "no Cargo.toml with [workspace.metadata.xtask] in {} or any parent directory; run cargo xtask from inside the repository",
            start.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_is_the_nearest_manifest_with_xtask_metadata() {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("xtask/src")).unwrap();
        std::fs::write(
            root.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"xtask\"]\n\n[workspace.metadata.xtask.terraform]\nversion = \"1\"\n",
        )
        .unwrap();
        // A member's manifest that only mentions the table in a comment or a string is not a root.
        std::fs::write(
            root.path().join("xtask/Cargo.toml"),
            "[package]\ndescription = \"[workspace.metadata.xtask]\"\n",
        )
        .unwrap();
        assert_eq!(
            find_root(&root.path().join("xtask/src")).unwrap(),
            root.path()
        );
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("Cargo.toml"), "[workspace]\n").unwrap();
        assert!(find_root(elsewhere.path()).is_err());
        std::fs::write(elsewhere.path().join("Cargo.toml"), "[workspace\n").unwrap();
        let error = find_root(elsewhere.path()).unwrap_err();
        assert!(
            format!("{error:#}").contains("is not valid TOML"),
            "{error:#}"
        );
    }
}
