//! The pull request a commit on the default branch merged: what `cargo xtask apply` reads the
//! reviewed plan from.

use octocrab::models::pulls::PullRequest;

use super::GitHub;
use super::transport::PER_PAGE;
use crate::failure::{FailureKind, fail};

impl GitHub {
    /// The pull request whose merge produced `sha`: merged, and with `sha` as its merge commit
    /// (a merge, squash or rebase merge all record it). A commit pushed directly, or one that is
    /// only part of a pull request's branch, has none.
    pub async fn pull_request_merged_as(&self, sha: &str) -> anyhow::Result<Option<u64>> {
        check_sha(sha)?;
        // Octocrab's `associated_pull_requests` also sends its target as a query parameter,
        // which GitHub's API description does not have: its typed `get` of the same path.
        let route = self.repo_path(&format!("commits/{sha}/pulls"));
        let pulls: Vec<PullRequest> = self
            .all_pages(
                &format!("listing the pull requests of commit {sha}"),
                async || {
                    self.octocrab
                        .get(&route, Some(&[("per_page", PER_PAGE)]))
                        .await
                },
            )
            .await?;
        Ok(merged_as(&pulls, sha))
    }
}

/// Whether `text` can be a commit SHA (4 to 64 hex digits, abbreviated or SHA-256).
pub fn is_commit_sha(text: &str) -> bool {
    (4..=64).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// A commit SHA goes into a path as it is (octocrab does not encode it): only hex digits pass.
pub(super) fn check_sha(sha: &str) -> anyhow::Result<()> {
    if is_commit_sha(sha) {
        Ok(())
    } else {
        Err(fail(
            FailureKind::Config,
            format!("`{sha}` is not a commit SHA (4 to 64 hex digits)"),
        ))
    }
}

fn merged_as(pulls: &[PullRequest], sha: &str) -> Option<u64> {
    pulls
        .iter()
        .find(|pull| pull.merged_at.is_some() && pull.merge_commit_sha.as_deref() == Some(sha))
        .map(|pull| pull.number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_pull_request_merged_as_the_commit_counts() {
        let pull = |number: u64, merged: bool, sha: &str| -> PullRequest {
            let git_ref = serde_json::json!({"ref": "main", "sha": "0123"});
            serde_json::from_value(serde_json::json!({
                "id": number,
                "number": number,
                "url": format!("https://api.github.com/repos/acme/infra/pulls/{number}"),
                "head": git_ref,
                "base": git_ref,
                "merged_at": merged.then_some("2026-01-01T00:00:00Z"),
                "merge_commit_sha": sha,
            }))
            .unwrap()
        };
        // Open, or merged as another commit (the commit was only on its branch): not it.
        let pulls = [
            pull(3, false, "abc"),
            pull(4, true, "def"),
            pull(5, true, "abc"),
        ];
        assert_eq!(merged_as(&pulls, "abc"), Some(5));
        assert_eq!(merged_as(&pulls[..2], "abc"), None);
        assert_eq!(merged_as(&[], "abc"), None);
    }
}
