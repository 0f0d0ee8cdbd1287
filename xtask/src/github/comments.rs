//! Issue and pull-request comments, and the one comment per marker that `plan` keeps up to date.

use std::fmt;

use octocrab::models::CommentId;

use super::GitHub;
use super::error::retry_if_unknown;
use super::transport::{PER_PAGE, Replay, ignore_not_found, same_text};

/// An issue or pull-request comment: octocrab's model.
pub use octocrab::models::issues::Comment as IssueComment;

/// What [`GitHub::upsert_comment`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Created(u64),
    Updated(u64),
    /// The comment already had exactly this body.
    Unchanged(u64),
}

impl fmt::Display for Upsert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Upsert::Created(id) => write!(f, "created comment {id}"),
            Upsert::Updated(id) => write!(f, "updated comment {id}"),
            Upsert::Unchanged(id) => write!(f, "comment {id} is up to date"),
        }
    }
}

impl GitHub {
    /// Every comment of an issue or pull request, oldest first.
    pub async fn list_issue_comments(&self, issue: u64) -> anyhow::Result<Vec<IssueComment>> {
        self.all_pages(&format!("listing the comments of #{issue}"), async || {
            self.issues()
                .list_comments(issue)
                .per_page(PER_PAGE)
                .send()
                .await
        })
        .await
    }

    /// The comments of an issue or pull request that are ours for `marker` (see
    /// [`GitHub::is_ours`]), oldest first.
    pub async fn own_comments(
        &self,
        issue: u64,
        marker: &str,
    ) -> anyhow::Result<Vec<IssueComment>> {
        let mut ours: Vec<IssueComment> = self
            .list_issue_comments(issue)
            .await?
            .into_iter()
            .filter(|comment| {
                let body = comment.body.as_deref().unwrap_or_default();
                self.is_ours(&comment.user.login, body, marker)
            })
            .collect();
        ours.sort_by_key(|comment| comment.id);
        Ok(ours)
    }

    /// Issue (or pull request) comment `id`.
    pub async fn get_issue_comment(&self, id: u64) -> anyhow::Result<IssueComment> {
        self.call(
            &format!("reading comment {id}"),
            Replay::Idempotent,
            async || self.issues().get_comment(CommentId(id)).await,
        )
        .await
    }

    pub async fn create_comment(&self, issue: u64, body: &str) -> anyhow::Result<IssueComment> {
        self.call(
            &format!("creating a comment on #{issue}"),
            Replay::OnlyIfNotSent,
            async || self.issues().create_comment(issue, body).await,
        )
        .await
    }

    pub async fn update_comment(
        &self,
        comment_id: u64,
        body: &str,
    ) -> anyhow::Result<IssueComment> {
        // Octocrab's `update_comment` sends a POST; GitHub's API description says PATCH: its
        // typed `patch`, as the API describes it.
        let route = self.repo_path(&format!("issues/comments/{comment_id}"));
        let request = serde_json::json!({ "body": body });
        self.call(
            &format!("updating comment {comment_id}"),
            Replay::Idempotent,
            async || self.octocrab.patch(&route, Some(&request)).await,
        )
        .await
    }

    /// Deletes a comment; one that is already gone counts as deleted.
    pub async fn delete_comment(&self, comment_id: u64) -> anyhow::Result<()> {
        let result = self
            .call(
                &format!("deleting comment {comment_id}"),
                Replay::Idempotent,
                async || self.issues().delete_comment(CommentId(comment_id)).await,
            )
            .await;
        ignore_not_found(result)
    }

    /// Creates or updates the one comment of `issue` that is ours for `marker` (a hidden HTML
    /// comment such as `<!-- xtask:plan env=dev -->`, see [`GitHub::is_ours`]); leaves it alone
    /// when the body is the same. The marker is put at the top of the body unless the body starts
    /// with it. Duplicates of ours (an earlier run's create that GitHub performed but answered
    /// with an error) are deleted, keeping the oldest; a create whose outcome is unknown is
    /// followed by a fresh look before it is tried again, so no run adds a second copy.
    pub async fn upsert_comment(
        &self,
        issue: u64,
        marker: &str,
        body: &str,
    ) -> anyhow::Result<Upsert> {
        let body = if body.starts_with(marker) {
            body.to_owned()
        } else {
            format!("{marker}\n{body}")
        };
        let result = self
            .retry
            .run(
                // A try after the first follows a create whose outcome was unknown.
                async |attempt| {
                    let ours = self.own_comments(issue, marker).await?;
                    let Some((kept, duplicates)) = ours.split_first() else {
                        let created = self.create_comment(issue, &body).await?;
                        return Ok(Upsert::Created(created.id.into_inner()));
                    };
                    let kept_id = kept.id.into_inner();
                    for duplicate in duplicates {
                        eprintln!(
                            "github: deleting comment {} on #{issue}, a duplicate of comment {kept_id}",
                            duplicate.id
                        );
                        self.delete_comment(duplicate.id.into_inner()).await?;
                    }
                    if same_text(kept.body.as_deref().unwrap_or_default(), &body) {
                        // Our own create of a moment ago, performed although GitHub said otherwise.
                        return Ok(if attempt > 1 {
                            Upsert::Created(kept_id)
                        } else {
                            Upsert::Unchanged(kept_id)
                        });
                    }
                    self.update_comment(kept_id, &body).await?;
                    Ok(Upsert::Updated(kept_id))
                },
                |error| retry_if_unknown(error, "looking for the comment before trying again"),
            )
            .await;
        result.map_err(|gave_up| gave_up.error)
    }
}
