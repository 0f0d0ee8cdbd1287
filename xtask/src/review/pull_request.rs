//! The GitHub reads of an incremental review: the earlier review's state in our comment, and the
//! diff from the head it reviewed to the pull request's head (compare API).

use super::answers::Earlier;
use super::diff::FileDiff;
use super::increment::{Since, State};
use crate::github::{self, GitHub, Method, PullRequestFile};

/// The earlier review behind our comment `marker` on `pr`, when only the commits since it need a
/// review: `None` when there is no such comment (or state), when it reviewed `head` already, or
/// when its head is no longer an ancestor of `head` (a force-push dropped it: the whole pull
/// request is reviewed again).
pub async fn earlier(
    github: &GitHub,
    pr: u64,
    marker: &str,
    head: &str,
) -> anyhow::Result<Option<Earlier>> {
    let ours = github.own_comments(pr, marker).await?.into_iter().next();
    let Some(state) =
        ours.and_then(|comment| State::read(marker, comment.body.as_deref().unwrap_or_default()))
    else {
        return Ok(None);
    };
    if state.head.is_empty() || state.head == head {
        return Ok(None);
    }
    let path = format!(
        "compare/{}...{}",
        crate::percent::encode_segment(&state.head),
        crate::percent::encode_segment(head)
    );
    let operation = format!("comparing {}...{head}", state.head);
    let body = match github.send_repo(&operation, Method::Get, &path, None).await {
        Ok(body) => body,
        Err(error) if github::api_status(&error) == Some(404) => {
            eprintln!(
                "review: the reviewed head {} is gone (force-push?); reviewing the whole pull request",
                state.head
            );
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    #[derive(serde::Deserialize)]
    struct Comparison {
        status: String,
        #[serde(default)]
        files: Vec<PullRequestFile>,
    }
    let comparison: Comparison = serde_json::from_str(&body).map_err(|error| {
        crate::failure::fail(
            crate::failure::FailureKind::Api,
            format!("{operation}: GitHub's answer is not a comparison ({error})"),
        )
    })?;
    if comparison.status != "ahead" {
        // `diverged` or `behind`: the reviewed head is not an ancestor of the new one.
        eprintln!(
            "review: the reviewed head {} is not an ancestor of {head} ({}); reviewing the whole pull request",
            state.head, comparison.status
        );
        return Ok(None);
    }
    eprintln!(
        "review: reviewing the commits since {} ({} file(s) changed)",
        state.head,
        comparison.files.len()
    );
    let head_reviewed = state.head.clone();
    Ok(Some(Earlier {
        state,
        since: Since {
            head: head_reviewed,
            changes: comparison
                .files
                .into_iter()
                .map(FileDiff::from_pull_request_file)
                .collect(),
        },
    }))
}

/// A comment that may hold an `/ask`, as GitHub has it (never as the event says).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct AskComment {
    pub id: u64,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub user: Option<github::User>,
    #[serde(default)]
    pub author_association: String,
    /// Review (diff-line) comments only.
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub line: Option<u64>,
    #[serde(default)]
    pub diff_hunk: Option<String>,
    /// The thread's first comment, when this one is a reply in a review thread.
    #[serde(default)]
    pub in_reply_to_id: Option<u64>,
}

/// The comment `id`: a review comment on a diff line (`on_line`) or a pull request comment.
pub async fn ask_comment(github: &GitHub, id: u64, on_line: bool) -> anyhow::Result<AskComment> {
    let rest = if on_line {
        format!("pulls/comments/{id}")
    } else {
        format!("issues/comments/{id}")
    };
    let operation = format!("reading comment {id}");
    let body = github
        .send_repo(&operation, Method::Get, &rest, None)
        .await?;
    serde_json::from_str(&body).map_err(|error| {
        crate::failure::fail(
            crate::failure::FailureKind::Api,
            format!("{operation}: GitHub's answer is not a comment ({error})"),
        )
    })
}

/// Posts `body` in reply to `comment`: in its review thread for a diff-line comment, on the pull
/// request otherwise.
pub async fn reply(
    github: &GitHub,
    pr: u64,
    comment: &AskComment,
    body: &str,
) -> anyhow::Result<()> {
    if comment.path.is_some() {
        // GitHub threads replies under the thread's first comment.
        let thread = comment.in_reply_to_id.unwrap_or(comment.id);
        github
            .send_repo(
                &format!("replying in the review thread of comment {thread}"),
                Method::Post,
                &format!("pulls/{pr}/comments/{thread}/replies"),
                Some(&serde_json::json!({ "body": body })),
            )
            .await?;
    } else {
        github.create_comment(pr, body).await?;
    }
    Ok(())
}
