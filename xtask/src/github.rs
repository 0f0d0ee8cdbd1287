//! A small GitHub REST client on top of octocrab: the few calls `plan`, `fmt` and `review` need,
//! with a bounded retry on rate limits and server errors, and errors that say what to check.
//!
//! Two rules keep re-runs safe:
//!
//! - **Ours means written by us and starting with our marker.** A comment or review comment is the
//!   tool's only when its author is the identity the tool posts as ([`Settings::bot_login`],
//!   `github-actions[bot]` by default) and its body *starts* with the marker. Anyone can type a
//!   marker into a comment, and rendered content can quote one; neither is ever edited, deleted
//!   or trusted.
//! - **A create is never blindly repeated.** A POST that creates something (a comment, a review)
//!   is retried only when it surely did not happen (the connection was refused, or GitHub's rate
//!   limit refused it). After a 5xx or a timeout GitHub may have performed it, so the callers here
//!   read the state again (find ours by marker and author) before trying again; a re-run
//!   converges to one comment per marker even when duplicates exist.
//!
//! The base URL comes from `GITHUB_API_URL` (GitHub Enterprise, or a wiremock server in tests), the
//! token from `GITHUB_TOKEN`, the repository from `GITHUB_REPOSITORY` or the configuration. The
//! client knows nothing of commands or renderers.
//!
//! **Octocrab's models, our request path.** Answers deserialize into octocrab's typed models
//! (issues, issue comments, labels, pull requests, their files, reviews, review comments), but
//! every request goes through `GitHub::send` rather than octocrab's typed builders: those turn a
//! non-2xx answer into an error without its headers (no `Retry-After`/`x-ratelimit-*` to wait on),
//! octocrab's own retry repeats any request after a 5xx (a second comment for a create GitHub
//! performed), and its page-following sends the token only to `api.github.com` or relative URLs,
//! so on GitHub Enterprise the absolute `Link` URLs of later pages would go out without it. Our
//! path keeps the replay rules, the bounded pagination with `Link` URLs made relative (the token
//! only ever reaches the API host) and the typed [`ApiError`].
//!
//! One job per file: `transport` (the client, its one request path, retry and pagination),
//! `error` (the typed [`ApiError`]), `comments`, `labels`, `pulls` (pull requests, files, reviews)
//! and `event` (the Actions event payload).

mod comments;
mod error;
mod event;
mod labels;
mod pulls;
mod transport;

mod commits;
mod issues;

pub use issues::Issue;

use std::fmt;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::failure::{FailureKind, fail};

pub use comments::{IssueComment, Upsert};
pub(crate) use error::parse_json;
pub use error::{ApiError, api_status, outcome_unknown};
pub use event::{pull_request_from_event, pull_request_number, resolve_pull_request};
pub use labels::Label;
pub use pulls::{NewReviewComment, PullRequest, PullRequestFile, ReviewComment};
pub use transport::{GitHub, Method};

/// The public GitHub API, used when `GITHUB_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// The login GitHub shows for what a workflow writes with its `GITHUB_TOKEN`.
pub const DEFAULT_BOT_LOGIN: &str = "github-actions[bot]";

/// Retries a request that met a rate limit (429, or 403 with no quota left), a server error (5xx)
/// or a transport error; a create is repeated only when it surely did not happen.
pub use crate::retry::RetryPolicy;

/// `owner/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    pub owner: String,
    pub name: String,
}

impl Repository {
    pub fn parse(text: &str) -> anyhow::Result<Repository> {
        match text.trim().split_once('/') {
            Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(Repository {
                    owner: owner.to_owned(),
                    name: name.to_owned(),
                })
            }
            _ => Err(fail(
                FailureKind::Config,
                format!("`{text}` is not a repository name of the form owner/name"),
            )),
        }
    }
}

impl fmt::Display for Repository {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct User {
    pub login: String,
}

/// Where to reach GitHub.
#[derive(Debug, Clone)]
pub struct Settings {
    pub api_url: String,
    pub token: Option<String>,
    pub repository: Repository,
    pub retry: RetryPolicy,
    /// The login the token posts as (`github-actions[bot]` for a workflow's `GITHUB_TOKEN`, the
    /// app's `<slug>[bot]` for a GitHub App token): only its comments are ever treated as ours.
    pub bot_login: String,
}

impl Settings {
    /// From `GITHUB_API_URL`, `GITHUB_TOKEN` and `GITHUB_REPOSITORY`; `configured` (the
    /// configuration's `owner/repo`) when `GITHUB_REPOSITORY` is not set, as on a laptop.
    pub fn from_env(configured: Option<&str>) -> anyhow::Result<Settings> {
        let api_url = non_empty_env("GITHUB_API_URL").unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let token = non_empty_env("GITHUB_TOKEN");
        let repository = match (non_empty_env("GITHUB_REPOSITORY"), configured) {
            (Some(repo), _) => Repository::parse(&repo).context("reading GITHUB_REPOSITORY")?,
            (None, Some(repo)) => Repository::parse(repo)?,
            (None, None) => {
                return Err(fail(
                    FailureKind::Config,
                    "no repository: set GITHUB_REPOSITORY=owner/name or [workspace.metadata.xtask.github]",
                ));
            }
        };
        Ok(Settings {
            api_url,
            token,
            repository,
            retry: RetryPolicy::default(),
            bot_login: DEFAULT_BOT_LOGIN.to_owned(),
        })
    }

    /// [`Settings::from_env`] with the repository and the bot login of the configuration
    /// (`[workspace.metadata.xtask.github]`).
    pub fn for_config(config: &crate::config::Config) -> anyhow::Result<Settings> {
        let mut settings = Settings::from_env(Some(&config.repository()))?;
        settings.bot_login = check_login(&config.repo.github.bot_login)
            .map_err(|why| {
                fail(
                    FailureKind::Config,
                    format!(
                        "{}: [workspace.metadata.xtask.github] bot_login: {why}",
                        config.root.join("Cargo.toml").display()
                    ),
                )
            })?
            .to_owned();
        Ok(settings)
    }
}

/// A GitHub login as the API shows it: letters, digits, `-`, and the `[bot]` suffix of apps. An
/// empty or odd value would match no comment, so every run would post a new one.
fn check_login(login: &str) -> Result<&str, String> {
    let name = login.strip_suffix("[bot]").unwrap_or(login);
    let valid = !name.is_empty()
        && name.len() <= 39
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if valid {
        Ok(login)
    } else {
        Err(format!(
            "`{login}` is not a GitHub login (such as `github-actions[bot]`, or `<app-slug>[bot]` for a GitHub App)"
        ))
    }
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bot_logins() {
        for good in ["github-actions[bot]", "acme-infra[bot]", "ci-user"] {
            assert_eq!(check_login(good), Ok(good));
        }
        for bad in ["", " ", "[bot]", "a b", "evil<!--", "x\n"] {
            assert!(check_login(bad).is_err(), "{bad:?}");
        }
    }
}
