//! The pull request a workflow run is about, from the Actions event payload (`GITHUB_EVENT_PATH`).

use anyhow::Context;
use serde::Deserialize;

use crate::failure::{Classify, FailureKind, fail};

/// The pull request number of the workflow event in `GITHUB_EVENT_PATH`, if it is about one
/// (`pull_request`, `pull_request_target`, `issue_comment` on a pull request).
pub fn pull_request_from_event() -> anyhow::Result<Option<u64>> {
    match std::env::var_os("GITHUB_EVENT_PATH") {
        Some(path) if !path.is_empty() => {
            let path = std::path::PathBuf::from(path);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the GitHub event payload {}", path.display()))
                .classify(FailureKind::Environment)?;
            pull_request_number(&text)
                .with_context(|| format!("parsing the GitHub event payload {}", path.display()))
        }
        _ => Ok(None),
    }
}

/// The pull request number in an event payload.
pub fn pull_request_number(payload: &str) -> anyhow::Result<Option<u64>> {
    #[derive(Deserialize)]
    struct Event {
        pull_request: Option<Numbered>,
        issue: Option<Issue>,
    }
    #[derive(Deserialize)]
    struct Numbered {
        number: u64,
    }
    #[derive(Deserialize)]
    struct Issue {
        number: u64,
        pull_request: Option<serde::de::IgnoredAny>,
    }
    let event: Event = serde_json::from_str(payload).classify(FailureKind::Environment)?;
    Ok(event.pull_request.map(|pr| pr.number).or_else(|| {
        event
            .issue
            .filter(|issue| issue.pull_request.is_some())
            .map(|issue| issue.number)
    }))
}

/// The pull request to work on: `explicit` (a `--pr` flag) or the event's.
pub fn resolve_pull_request(explicit: Option<u64>) -> anyhow::Result<u64> {
    if let Some(pr) = explicit {
        return Ok(pr);
    }
    pull_request_from_event()?.ok_or_else(|| {
        fail(
            FailureKind::Config,
            "no pull request: pass --pr N, or run from a pull_request workflow (GITHUB_EVENT_PATH)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_payloads() {
        assert_eq!(
            pull_request_number(r#"{"pull_request":{"number":12}}"#).unwrap(),
            Some(12)
        );
        assert_eq!(
            pull_request_number(r#"{"issue":{"number":3,"pull_request":{}}}"#).unwrap(),
            Some(3)
        );
        assert_eq!(
            pull_request_number(r#"{"issue":{"number":3}}"#).unwrap(),
            None
        );
        assert_eq!(pull_request_number(r#"{"ref":"main"}"#).unwrap(), None);
    }
}
