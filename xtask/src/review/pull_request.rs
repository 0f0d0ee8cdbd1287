//! The GitHub reads of an incremental review: the earlier review's state in our comment, and the
//! diff from the head it reviewed to the pull request's head (compare API).

use super::answers::Earlier;
use super::diff::FileDiff;
use super::increment::{Since, State};
use octocrab::models::AuthorAssociation;
use octocrab::models::commits::GithubCommitStatus;

use crate::github::{self, GitHub};

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
    if !github::is_commit_sha(&state.head) {
        eprintln!(
            "review: the earlier review's head {:?} is not a commit; reviewing the whole pull request",
            state.head
        );
        return Ok(None);
    }
    let comparison = match github.compare(&state.head, head).await {
        Ok(comparison) => comparison,
        Err(error) if github::api_status(&error) == Some(404) => {
            eprintln!(
                "review: the reviewed head {} is gone (force-push?); reviewing the whole pull request",
                state.head
            );
            return Ok(None);
        }
        Err(error) => return Err(error),
    };
    let files = comparison.files.unwrap_or_default();
    if !matches!(comparison.status, GithubCommitStatus::Ahead) {
        // `diverged`, `behind` or `identical`: the reviewed head is not an older ancestor.
        eprintln!(
            "review: the reviewed head {} is not an ancestor of {head} ({:?}); reviewing the whole pull request",
            state.head, comparison.status
        );
        return Ok(None);
    }
    eprintln!(
        "review: reviewing the commits since {} ({} file(s) changed)",
        state.head,
        files.len()
    );
    let head_reviewed = state.head.clone();
    Ok(Some(Earlier {
        state,
        since: Since {
            head: head_reviewed,
            changes: files
                .into_iter()
                .map(FileDiff::from_pull_request_file)
                .collect(),
        },
    }))
}

/// A comment that may hold an `/ask`, as GitHub has it (never as the event says).
#[derive(Debug, Clone)]
pub struct AskComment {
    pub id: u64,
    pub body: String,
    pub user: Option<github::User>,
    /// GitHub's `author_association` (`OWNER`, `MEMBER`, ...), empty when it gives none.
    pub author_association: String,
    /// Review (diff-line) comments only.
    pub path: Option<String>,
    pub line: Option<u64>,
    pub diff_hunk: Option<String>,
    /// The thread's first comment, when this one is a reply in a review thread.
    pub in_reply_to_id: Option<u64>,
}

/// The comment `id`: a review comment on a diff line (`on_line`) or a pull request comment.
pub async fn ask_comment(github: &GitHub, id: u64, on_line: bool) -> anyhow::Result<AskComment> {
    let user = |author: &octocrab::models::Author| github::User {
        login: author.login.clone(),
    };
    Ok(if on_line {
        let comment = github.get_review_comment(id).await?;
        AskComment {
            id,
            body: comment.body,
            user: comment.user.as_ref().map(user),
            author_association: association(comment.author_association.as_ref()),
            path: Some(comment.path),
            line: comment.line,
            diff_hunk: Some(comment.diff_hunk),
            in_reply_to_id: comment.in_reply_to_id.map(|id| id.into_inner()),
        }
    } else {
        let comment = github.get_issue_comment(id).await?;
        AskComment {
            id,
            body: comment.body.unwrap_or_default(),
            user: Some(user(&comment.user)),
            author_association: association(comment.author_association.as_ref()),
            path: None,
            line: None,
            diff_hunk: None,
            in_reply_to_id: None,
        }
    })
}

/// An `author_association` as GitHub spells it (`OWNER`), empty when GitHub gives none.
fn association(association: Option<&AuthorAssociation>) -> String {
    association
        .and_then(|association| serde_json::to_value(association).ok())
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
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
        github.reply_in_thread(pr, thread, body).await?;
    } else {
        github.create_comment(pr, body).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn associations_are_spelled_as_github_does() {
        assert_eq!(association(Some(&AuthorAssociation::Owner)), "OWNER");
        assert_eq!(
            association(Some(&AuthorAssociation::FirstTimeContributor)),
            "FIRST_TIME_CONTRIBUTOR"
        );
        assert_eq!(
            association(Some(&AuthorAssociation::Other("NEW_ROLE".into()))),
            "NEW_ROLE"
        );
        assert_eq!(association(None), "");
    }
}
