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
//! **Octocrab's typed API, our retry.** Requests are octocrab's typed calls (issues and their
//! comments and labels, pull requests, review comments and replies) or, where such a call is off
//! GitHub's API description (below), octocrab's typed `get`/`post`/`patch`; answers are its
//! models; listings follow its `Page`s. Each call runs in
//! [`GitHub::call`], which retries by the rules above (octocrab's own `retry` feature is off: it
//! repeats any request after a 5xx, a create included) using the status and headers octocrab's
//! [`octocrab::GitHubError`] carries (`Retry-After`, `x-ratelimit-*`). Octocrab sends the token
//! only to the host of `GITHUB_API_URL`; a next page is asked of that host, whatever host its
//! `Link` names, and at most 100 pages are read. Where octocrab's typed call sends something
//! GitHub's API description (`@octokit/openapi`) does not have, the same request goes through
//! octocrab's typed `get`/`post`/`patch` instead, said at each place: updating an issue comment
//! (octocrab sends POST, the API says PATCH), updating a pull request's body (octocrab adds
//! `pull_number` to the body), a comparison and a commit's pull requests (octocrab adds `base`,
//! `head` or `target` to the query), a review with line comments (octocrab's takes diff
//! positions), the files of a pull request (no `per_page`) and deleting a review comment
//! (octocrab's ignores the answer's status). The integration tests check every request against
//! that description (`tests/integration/support/github_api.rs`). Requests octocrab has no call
//! for (environments and branch policies in `github_settings`) use [`GitHub::send_repo`].
//!
//! One job per file: `transport` (the client, its retry and pagination),
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
pub use commits::is_commit_sha;
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
    /// `owner/name` with GitHub's characters only: an owner of letters, digits and `-`, a name of
    /// letters, digits, `-`, `_` and `.`. Octocrab puts both into request paths as they are, so
    /// nothing else (a `?`, `%`, `..`) may reach a URL.
    pub fn parse(text: &str) -> anyhow::Result<Repository> {
        let owner_ok = |owner: &str| {
            (1..=39).contains(&owner.len())
                && owner
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        let name_ok = |name: &str| {
            (1..=100).contains(&name.len())
                && name != "."
                && name != ".."
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        match text.trim().split_once('/') {
            Some((owner, name)) if owner_ok(owner) && name_ok(name) => Ok(Repository {
                owner: owner.to_owned(),
                name: name.to_owned(),
            }),
            _ => Err(fail(
                FailureKind::Config,
                format!(
                    "`{text}` is not a repository name of the form owner/name (letters, digits, \
                     `-`, and `_` or `.` in the name)"
                ),
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
    fn repository_names_hold_only_githubs_characters() {
        for good in ["acme/infra", "example-org/infra.monorepo_2", " a/b "] {
            assert!(Repository::parse(good).is_ok(), "{good:?}");
        }
        for bad in [
            "acme",
            "/infra",
            "acme/",
            "acme/a/b",
            "acme/..",
            "acme/.",
            "ac me/infra",
            "acme/in%2Ffra",
            "acme/infra?x=1",
            "acme/infra#",
            "acme_x/infra",
        ] {
            assert!(Repository::parse(bad).is_err(), "{bad:?}");
        }
    }

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
