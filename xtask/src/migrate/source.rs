//! The commit the image is built from, and who asked for the migration.

use std::path::Path;

use anyhow::Context;
use xshell::cmd;

use crate::failure::{FailureKind, fail};
use crate::process::{self, Cmd};

fn git(command: xshell::Cmd<'_>) -> Cmd<'_> {
    Cmd::new(command)
        .install_hint("install git; the image is tagged with the commit it is built from")
        .failure_kind(FailureKind::Environment)
}

/// `git rev-parse HEAD` in `root`.
pub fn head_commit(root: &Path) -> anyhow::Result<String> {
    let sh = process::shell(root)?;
    let sha = git(cmd!(sh, "git rev-parse --verify HEAD"))
        .read()
        .with_context(|| {
            format!(
                "cannot read the git commit of {}; the image is tagged with it, so run from a git checkout with at least one commit",
                root.display()
            )
        })?
        .trim()
        .to_owned();
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(fail(
            FailureKind::Environment,
            format!(
                "`git rev-parse HEAD` in {} printed `{sha}`, not a commit",
                root.display()
            ),
        ));
    }
    Ok(sha)
}

/// Whether `path` (relative to `root`) has uncommitted changes: then the image would not be what
/// its commit tag says.
pub fn has_uncommitted_changes(root: &Path, path: &Path) -> anyhow::Result<bool> {
    let sh = process::shell(root)?;
    let finished = git(cmd!(sh, "git status --porcelain -- {path}")).run_captured()?;
    Ok(finished.success && !finished.output.is_empty())
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
