//! Issues the tool owns (the drift issue of each environment): found by our marker at the start
//! of the body and our bot as the author, never by title, so a look-alike opened by someone else
//! is never edited or closed.

use octocrab::models::IssueState;
use octocrab::models::issues::IssueStateReason;
use octocrab::params::State;

use super::error::retry_if_unknown;
use super::transport::{PER_PAGE, Replay};
use super::{GitHub, Label};

/// An issue as the issues API returns it: octocrab's model. The listing returns pull requests
/// too (with `pull_request` set).
pub use octocrab::models::issues::Issue;

impl GitHub {
    /// Our open issue for `marker` carrying `label`, the oldest when there are several.
    pub async fn find_own_issue(&self, marker: &str, label: &str) -> anyhow::Result<Option<Issue>> {
        let labels = [label.to_owned()];
        let issues = self
            .all_pages(
                &format!("listing the open issues labelled {label}"),
                async || {
                    self.issues()
                        .list()
                        .state(State::Open)
                        .labels(&labels)
                        .per_page(PER_PAGE)
                        .send()
                        .await
                },
            )
            .await?;
        Ok(issues
            .into_iter()
            .filter(|issue| issue.pull_request.is_none())
            .filter(|issue| {
                self.is_ours(
                    &issue.user.login,
                    issue.body.as_deref().unwrap_or_default(),
                    marker,
                )
            })
            .min_by_key(|issue| issue.number))
    }

    /// Opens an issue with `labels` (created in the repository when missing).
    pub async fn create_issue(
        &self,
        title: &str,
        body: &str,
        labels: &[Label],
    ) -> anyhow::Result<Issue> {
        for label in labels {
            self.ensure_label(label).await?;
        }
        let names: Vec<String> = labels.iter().map(|label| label.name.clone()).collect();
        self.call(
            &format!("opening the issue {title:?}"),
            Replay::OnlyIfNotSent,
            async || {
                self.issues()
                    .create(title)
                    .body(body)
                    .labels(names.clone())
                    .send()
                    .await
            },
        )
        .await
    }

    /// Opens our issue for `marker` with `label` unless it exists: a create whose outcome is
    /// unknown (GitHub answered 5xx after it may have performed it) is followed by a fresh look
    /// before it is tried again, so a run never opens a second copy. The body must start with
    /// `marker`.
    pub async fn open_own_issue(
        &self,
        marker: &str,
        label: &Label,
        title: &str,
        body: &str,
    ) -> anyhow::Result<Issue> {
        let labels = std::slice::from_ref(label);
        let result = self
            .retry
            .run(
                async |attempt| {
                    if attempt > 1
                        && let Some(issue) = self.find_own_issue(marker, &label.name).await?
                    {
                        // Ours, performed by the try GitHub answered with an error.
                        return Ok(issue);
                    }
                    self.create_issue(title, body, labels).await
                },
                |error| retry_if_unknown(error, "looking for the issue before trying again"),
            )
            .await;
        result.map_err(|gave_up| gave_up.error)
    }

    /// Comments on our issue `number` (one comment per `marker`, updated on a re-run) and closes
    /// it as completed: the comment first, so that a closed issue always says why; a re-run after
    /// a failed close updates that comment instead of adding another.
    pub async fn close_issue_with_comment(
        &self,
        number: u64,
        marker: &str,
        comment: &str,
    ) -> anyhow::Result<()> {
        self.upsert_comment(number, marker, comment).await?;
        self.close_issue(number).await
    }

    /// Replaces the title and body of our issue `number`.
    pub async fn update_issue(&self, number: u64, title: &str, body: &str) -> anyhow::Result<()> {
        self.call(
            &format!("updating issue #{number}"),
            Replay::Idempotent,
            async || {
                self.issues()
                    .update(number)
                    .title(title)
                    .body(body)
                    .send()
                    .await
            },
        )
        .await?;
        Ok(())
    }

    /// Closes our issue `number` as completed.
    pub async fn close_issue(&self, number: u64) -> anyhow::Result<()> {
        self.call(
            &format!("closing issue #{number}"),
            Replay::Idempotent,
            async || {
                self.issues()
                    .update(number)
                    .state(IssueState::Closed)
                    .state_reason(IssueStateReason::Completed)
                    .send()
                    .await
            },
        )
        .await?;
        Ok(())
    }
}
