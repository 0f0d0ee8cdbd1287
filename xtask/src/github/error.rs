//! The errors of the GitHub client: one typed [`ApiError`] per failed call, with the HTTP status,
//! GitHub's own message and what to check.

use std::fmt;

use anyhow::Context;
use serde::de::DeserializeOwned;

use crate::failure::{Classify, FailureKind};
use crate::retry::Decision;

/// A GitHub API answer that was not a success, kept typed so that callers can react to a status
/// (a 404 on delete, a 422 on a review line) without parsing text.
#[derive(Debug)]
pub struct ApiError {
    /// What we were doing, such as "updating comment 12 on #7".
    pub operation: String,
    /// The HTTP status, or `None` when GitHub could not be reached at all.
    pub status: Option<u16>,
    /// GitHub's own message (and its `errors` details), or the transport error.
    pub message: String,
    /// What the user should check.
    pub hint: String,
    /// How many tries were made.
    pub attempts: u32,
    /// A write that GitHub may have performed although it did not say so (a 5xx or no answer
    /// after the request was sent): read the state before trying again.
    pub outcome_unknown: bool,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GitHub API: {} failed", self.operation)?;
        match self.status {
            Some(status) => write!(f, " with HTTP {status}")?,
            None => write!(f, " (no answer)")?,
        }
        if self.attempts > 1 {
            write!(f, " after {} tries", self.attempts)?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if self.outcome_unknown {
            write!(
                f,
                ". GitHub may have performed it anyway; a re-run finds and reuses the result"
            )?;
        }
        if !self.hint.is_empty() {
            write!(f, ". {}", self.hint)?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// The first GitHub API error in an error chain.
pub(super) fn find_api_error(error: &anyhow::Error) -> Option<&ApiError> {
    crate::failure::find_cause::<ApiError>(error)
}

/// The HTTP status of the first GitHub API error in an error chain.
pub fn api_status(error: &anyhow::Error) -> Option<u16> {
    find_api_error(error).and_then(|api| api.status)
}

/// Whether the error is a write GitHub may have performed (see [`ApiError::outcome_unknown`]).
pub fn outcome_unknown(error: &anyhow::Error) -> bool {
    find_api_error(error).is_some_and(|api| api.outcome_unknown)
}

pub(super) fn hint_for(status: u16) -> &'static str {
    match status {
        401 => "Check that GITHUB_TOKEN is set and still valid",
        403 => {
            "The token lacks permission: on a pull request from a fork GITHUB_TOKEN is read-only, \
             otherwise check the workflow's `permissions:` (pull-requests: write, issues: write)"
        }
        404 => {
            "Check the repository (GITHUB_REPOSITORY or [workspace.metadata.xtask.github]), the \
             pull request number, and that the token can see the repository"
        }
        409 | 422 => "GitHub rejected the request's content; the message above says which field",
        429 => "GitHub's rate limit was still exceeded; re-run the job later",
        500..=599 => "GitHub kept failing; see https://www.githubstatus.com and re-run the job",
        _ => "",
    }
}

/// One short line for a write whose outcome is unknown and that is about to be checked and
/// retried (the full error is printed only if the last try fails too, so it is not repeated).
pub(super) fn retry_note(error: &anyhow::Error) -> String {
    match find_api_error(error) {
        Some(api) => {
            let answer = api
                .status
                .map_or_else(|| "no answer".to_owned(), |status| format!("HTTP {status}"));
            format!(
                "github: {}: {answer}, so it may or may not have happened",
                api.operation
            )
        }
        None => format!("github: {error:#}"),
    }
}

/// The retry decision of a write that looks at the state again before another try: only a write
/// whose outcome is unknown is tried again, after a line that says what happens next.
pub(super) fn retry_if_unknown(error: &anyhow::Error, next: &str) -> Decision {
    if outcome_unknown(error) {
        eprintln!("{}; {next}", retry_note(error));
        Decision::Retry(None)
    } else {
        Decision::Stop
    }
}

/// Whether a transport error happened before the request reached GitHub (the connection was
/// refused), so that even a create may be sent again.
pub(super) fn never_reached_github(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::ConnectionRefused
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// A 2xx answer's body as `T`, or an error that names the operation and shows how the body starts.
pub(crate) fn parse_json<T: DeserializeOwned>(operation: &str, text: &str) -> anyhow::Result<T> {
    serde_json::from_str(text)
        .with_context(|| {
            let start: String = text.chars().take(200).collect();
            format!("GitHub API: {operation}: the answer is not the expected JSON (starts with {start:?})")
        })
        .classify(FailureKind::Api)
}

/// GitHub's `message` plus its `errors` details (strings, or objects with a `message`).
pub(super) fn message_with_details(message: &str, errors: Option<&[serde_json::Value]>) -> String {
    let details: Vec<String> = errors
        .unwrap_or_default()
        .iter()
        .map(|error| match error {
            serde_json::Value::String(text) => text.clone(),
            other => other
                .get("message")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| other.to_string()),
        })
        .collect();
    if details.is_empty() {
        message.to_owned()
    } else {
        format!("{message} ({})", details.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_refused_connection_counts_as_never_sent() {
        #[derive(Debug)]
        struct Wrapper(std::io::Error);
        impl fmt::Display for Wrapper {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let refused = Wrapper(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert!(never_reached_github(&refused));
        let timed_out = Wrapper(std::io::Error::from(std::io::ErrorKind::TimedOut));
        assert!(!never_reached_github(&timed_out));
        let reset = Wrapper(std::io::Error::from(std::io::ErrorKind::ConnectionReset));
        assert!(!never_reached_github(&reset));
    }

    #[test]
    fn messages_and_encoding() {
        let errors = [serde_json::json!({"message": "line must be part of the diff"})];
        assert_eq!(
            message_with_details("Validation Failed", Some(&errors)),
            "Validation Failed (line must be part of the diff)"
        );
        assert_eq!(message_with_details("Not Found", None), "Not Found");
    }
}
