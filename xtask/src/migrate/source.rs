//! The commit the image is built from, and who asked for the migration.

use std::path::Path;

use anyhow::Context;

use crate::failure::{Classify, FailureKind, fail};

/// `git rev-parse HEAD` in `root`.
pub fn head_commit(root: &Path) -> anyhow::Result<String> {
    let output = duct::cmd("git", ["rev-parse", "--verify", "HEAD"])
        .dir(root)
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .context("running `git rev-parse HEAD` (is git installed?)")
        .classify(FailureKind::Environment)?;
    let sha = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if !output.status.success() || sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(fail(
            FailureKind::Environment,
            format!(
                "cannot read the git commit of {}: {}; the image is tagged with it, so run from a git checkout with at least one commit",
                root.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        ));
    }
    Ok(sha)
}

/// Whether `path` (relative to `root`) has uncommitted changes: then the image would not be what
/// its commit tag says.
pub fn has_uncommitted_changes(root: &Path, path: &Path) -> anyhow::Result<bool> {
    let args: [&std::ffi::OsStr; 4] = [
        "status".as_ref(),
        "--porcelain".as_ref(),
        "--".as_ref(),
        path.as_os_str(),
    ];
    let output = duct::cmd("git", args)
        .dir(root)
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .context("running `git status`")
        .classify(FailureKind::Environment)?;
    Ok(output.status.success() && !output.stdout.is_empty())
}

/// Who asked: the GitHub actor in CI, else the local user.
pub fn requested_by(var: impl Fn(&str) -> Option<String>) -> String {
    ["GITHUB_ACTOR", "USER", "USERNAME"]
        .iter()
        .find_map(|name| var(name).filter(|v| !v.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requested_by_prefers_the_github_actor() {
        let env = |name: &str| match name {
            "GITHUB_ACTOR" => Some("octocat".to_owned()),
            "USER" => Some("me".to_owned()),
            _ => None,
        };
        assert_eq!(requested_by(env), "octocat");
        assert_eq!(requested_by(|_| None), "unknown");
    }
}
