//! Pull requests: the description, the changed files, reviews and their line comments.

use serde::Serialize;
use serde_json::json;

use octocrab::models::CommentId;
use octocrab::models::commits::CommitComparison;
use octocrab::models::pulls::Review;

use super::GitHub;
use super::commits::check_sha;
use super::error::retry_if_unknown;
use super::transport::{PER_PAGE, Replay, ignore_not_found, same_text};
use crate::retry::Decision;

/// One file of a pull request (or of a comparison): octocrab's model. GitHub omits `patch` for
/// binary and very large files.
pub use octocrab::models::repos::DiffEntry as PullRequestFile;

/// A pull request: octocrab's model.
pub use octocrab::models::pulls::PullRequest;

/// A line comment of a new review. `start_line` makes it span several lines.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NewReviewComment {
    pub path: String,
    pub line: u64,
    pub side: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_side: Option<String>,
    pub body: String,
}

impl NewReviewComment {
    /// A comment on lines `start..=end` of the new version of `path`.
    pub fn on_new_lines(path: &str, start: u64, end: u64, body: String) -> NewReviewComment {
        NewReviewComment {
            path: path.to_owned(),
            line: end,
            side: "RIGHT".to_owned(),
            start_line: (start < end).then_some(start),
            start_side: (start < end).then(|| "RIGHT".to_owned()),
            body,
        }
    }
}

/// An existing review comment: octocrab's model.
pub use octocrab::models::pulls::Comment as ReviewComment;

impl GitHub {
    pub async fn get_pull_request(&self, pr: u64) -> anyhow::Result<PullRequest> {
        self.call(
            &format!("reading pull request #{pr}"),
            Replay::Idempotent,
            async || self.pulls().get(pr).await,
        )
        .await
    }

    /// Rewrites the body (description) of a pull request with `edit` applied to the body as it
    /// is now, read just before writing; writes nothing when `edit` changes nothing. Returns
    /// whether it wrote.
    ///
    /// The body is shared with its author, so a write is never sent again blindly: after an
    /// answer that leaves the outcome unknown (a 5xx, a timeout) the body is read again and
    /// `edit` applied to that, so an edit the author saved in the meantime is not overwritten
    /// with an older copy.
    pub async fn edit_pull_request_body(
        &self,
        pr: u64,
        edit: impl Fn(&str) -> String,
    ) -> anyhow::Result<bool> {
        let result = self
            .retry
            .run(
                // A try after the first follows a write whose outcome was unknown.
                async |attempt| {
                    let current = self.get_pull_request(pr).await?.body.unwrap_or_default();
                    let updated = edit(&current);
                    if updated.replace("\r\n", "\n") == current.replace("\r\n", "\n") {
                        return Ok(attempt > 1);
                    }
                    // Octocrab's `update(pr)` puts `pull_number` into the body, which GitHub's
                    // API description does not have: its typed `patch` with the body alone.
                    let route = self.repo_path(&format!("pulls/{pr}"));
                    let request = json!({ "body": updated });
                    self.call(
                        &format!("updating the description of pull request #{pr}"),
                        Replay::OnlyIfNotSent,
                        async || -> octocrab::Result<PullRequest> {
                            self.octocrab.patch(&route, Some(&request)).await
                        },
                    )
                    .await?;
                    Ok(true)
                },
                |error| retry_if_unknown(error, "reading the description again before retrying"),
            )
            .await;
        result.map_err(|gave_up| gave_up.error)
    }

    /// Every file of a pull request (GitHub lists at most 3,000).
    pub async fn list_pull_request_files(&self, pr: u64) -> anyhow::Result<Vec<PullRequestFile>> {
        // Octocrab's `list_files` takes no `per_page` (30 a page would need 100 pages for
        // GitHub's 3,000): the same request through its typed `get`.
        let route = self.repo_path(&format!("pulls/{pr}/files"));
        self.all_pages(
            &format!("listing the files of pull request #{pr}"),
            async || {
                self.octocrab
                    .get(&route, Some(&[("per_page", PER_PAGE)]))
                    .await
            },
        )
        .await
    }

    /// Posts one review (event `COMMENT`) with line comments on `commit_id`; returns its id.
    ///
    /// When GitHub answers with an error after which the review may exist (a 5xx, a timeout),
    /// the review comments are read again: the comments of ours already there (same path and
    /// body, by our identity) are not posted again, and when all are there the review counts as
    /// posted (its id is then the one GitHub gives those comments, or 0 when it gives none).
    pub async fn create_review(
        &self,
        pr: u64,
        commit_id: &str,
        body: &str,
        comments: &[NewReviewComment],
    ) -> anyhow::Result<u64> {
        let mut pending: Vec<&NewReviewComment> = comments.iter().collect();
        let result = self
            .retry
            .run(
                async |attempt| {
                    if attempt > 1 {
                        // The last try's outcome is unknown: post only what is not there yet.
                        let existing: Vec<ReviewComment> = self
                            .list_review_comments(pr)
                            .await?
                            .into_iter()
                            .filter(|comment| {
                                self.is_author(
                                    comment.user.as_ref().map(|user| user.login.as_str()),
                                )
                            })
                            .collect();
                        let posted = |wanted: &NewReviewComment| {
                            existing
                                .iter()
                                .find(|c| c.path == wanted.path && same_text(&c.body, &wanted.body))
                        };
                        let review_id = pending
                            .iter()
                            .find_map(|wanted| posted(wanted))
                            .and_then(|found| found.pull_request_review_id)
                            .map(|id| id.into_inner());
                        pending.retain(|wanted| posted(wanted).is_none());
                        if pending.is_empty() {
                            return Ok(review_id.unwrap_or(0));
                        }
                    }
                    let operation = format!(
                        "creating a review with {} comments on pull request #{pr}",
                        pending.len()
                    );
                    // Octocrab's `create_review` takes comments by diff `position`; ours
                    // name lines (`line`, `side`, `start_line`): the same request through its
                    // typed `post`.
                    let route = self.repo_path(&format!("pulls/{pr}/reviews"));
                    let request = json!({
                        "commit_id": commit_id,
                        "body": body,
                        "event": "COMMENT",
                        "comments": pending,
                    });
                    let review: Review = self
                        .call(&operation, Replay::OnlyIfNotSent, async || {
                            self.octocrab.post(&route, Some(&request)).await
                        })
                        .await?;
                    Ok(review.id.into_inner())
                },
                // A review without line comments leaves nothing to look for: not retried.
                |error| {
                    if comments.is_empty() {
                        Decision::Stop
                    } else {
                        retry_if_unknown(
                            error,
                            "looking for the review comments before trying again",
                        )
                    }
                },
            )
            .await;
        result.map_err(|gave_up| gave_up.error)
    }

    /// The review comments of ours (see [`GitHub::is_ours`]) whose body starts with `prefix`
    /// (such as `<!-- xtask:fmt fp=`), one per first line (the whole marker): of duplicates the
    /// oldest is kept and the others are deleted. Every page is read.
    pub async fn own_review_comments(
        &self,
        pr: u64,
        prefix: &str,
    ) -> anyhow::Result<Vec<ReviewComment>> {
        let mut ours: Vec<ReviewComment> = self
            .list_review_comments(pr)
            .await?
            .into_iter()
            .filter(|comment| {
                let login = comment.user.as_ref().map(|user| user.login.as_str());
                login.is_some_and(|login| self.is_ours(login, &comment.body, prefix))
            })
            .collect();
        ours.sort_by_key(|comment| comment.id);
        let mut kept: Vec<ReviewComment> = Vec::with_capacity(ours.len());
        for comment in ours {
            let marker = comment.body.lines().next().unwrap_or_default();
            match kept
                .iter()
                .find(|k| k.body.lines().next().unwrap_or_default() == marker)
            {
                Some(original) => {
                    eprintln!(
                        "github: deleting review comment {} on #{pr}, a duplicate of {}",
                        comment.id, original.id
                    );
                    self.delete_review_comment(comment.id.into_inner()).await?;
                }
                None => kept.push(comment),
            }
        }
        Ok(kept)
    }

    pub async fn list_review_comments(&self, pr: u64) -> anyhow::Result<Vec<ReviewComment>> {
        self.all_pages(
            &format!("listing the review comments of pull request #{pr}"),
            async || {
                self.pulls()
                    .list_comments(Some(pr))
                    .per_page(PER_PAGE)
                    .send()
                    .await
            },
        )
        .await
    }

    /// Deletes a review comment; one that is already gone counts as deleted.
    pub async fn delete_review_comment(&self, comment_id: u64) -> anyhow::Result<()> {
        // Octocrab's `comment(id).delete()` takes any answer for success (a 500 included): its
        // untyped delete, with the answer's status checked.
        let route = self.repo_path(&format!("pulls/comments/{comment_id}"));
        let result = self
            .call(
                &format!("deleting review comment {comment_id}"),
                Replay::Idempotent,
                async || {
                    let answer = self.octocrab._delete(route.as_str(), None::<&()>).await?;
                    octocrab::map_github_error(answer).await.map(drop)
                },
            )
            .await;
        ignore_not_found(result)
    }

    /// Review comment `id`.
    pub async fn get_review_comment(&self, id: u64) -> anyhow::Result<ReviewComment> {
        self.call(
            &format!("reading review comment {id}"),
            Replay::Idempotent,
            async || self.pulls().comment(CommentId(id)).get().await,
        )
        .await
    }

    /// Replies in the review thread that starts with comment `thread` of pull request `pr`.
    pub async fn reply_in_thread(&self, pr: u64, thread: u64, body: &str) -> anyhow::Result<()> {
        self.call(
            &format!("replying in the review thread of comment {thread}"),
            Replay::OnlyIfNotSent,
            async || {
                self.pulls()
                    .reply_to_comment(pr, CommentId(thread), body)
                    .await
                    .map(drop)
            },
        )
        .await
    }

    /// The comparison of `base...head` with its changed files (GitHub lists at most 300).
    pub async fn compare(&self, base: &str, head: &str) -> anyhow::Result<CommitComparison> {
        for sha in [base, head] {
            check_sha(sha)?;
        }
        // Octocrab's `compare` also sends `base` and `head` as query parameters, which GitHub's
        // API description does not have: its typed `get` of the same path.
        let route = self.repo_path(&format!("compare/{base}...{head}"));
        self.call(
            &format!("comparing {base}...{head}"),
            Replay::Idempotent,
            async || {
                self.octocrab
                    .get(&route, Some(&[("per_page", PER_PAGE)]))
                    .await
            },
        )
        .await
    }
}
