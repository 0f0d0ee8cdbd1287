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

mod commits;
mod issues;

pub use commits::AssociatedPullRequest;
pub use issues::Issue;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::failure::{Classify, FailureKind, fail};

/// The public GitHub API, used when `GITHUB_API_URL` is not set.
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// Pages followed per listing at most (100 items each): keeps every loop bounded.
const MAX_PAGES: usize = 100;
/// The login GitHub shows for what a workflow writes with its `GITHUB_TOKEN`.
pub const DEFAULT_BOT_LOGIN: &str = "github-actions[bot]";

/// How often and how long to retry a request that met a rate limit (429, or 403 with no quota
/// left), a server error (5xx) or a transport error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in total, the first one included (at least 1).
    pub max_attempts: u32,
    /// The first backoff; it doubles on every further try.
    pub base_delay: Duration,
    /// No single wait is longer than this, whatever `Retry-After` or `x-ratelimit-reset` say.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// The wait before try number `attempt + 1` (attempt counts from 1), honouring the server's hint.
    fn delay(&self, attempt: u32, server_hint: Option<Duration>) -> Duration {
        let backoff = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        server_hint.unwrap_or(backoff).min(self.max_delay)
    }
}

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
fn find_api_error(error: &anyhow::Error) -> Option<&ApiError> {
    // Classified errors keep theirs inside a `Failure`, whose chain anyhow does not walk.
    error.chain().find_map(|cause| {
        cause.downcast_ref::<ApiError>().or_else(|| {
            cause
                .downcast_ref::<crate::failure::Failure>()
                .and_then(|failure| find_api_error(&failure.error))
        })
    })
}

/// The HTTP status of the first GitHub API error in an error chain.
pub fn api_status(error: &anyhow::Error) -> Option<u16> {
    find_api_error(error).and_then(|api| api.status)
}

/// Whether the error is a write GitHub may have performed (see [`ApiError::outcome_unknown`]).
pub fn outcome_unknown(error: &anyhow::Error) -> bool {
    find_api_error(error).is_some_and(|api| api.outcome_unknown)
}

fn hint_for(status: u16) -> &'static str {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

/// Whether a request may simply be sent again after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replay {
    /// Sending it twice has the effect of sending it once: reads, PATCH and DELETE of one
    /// resource, adding labels.
    Idempotent,
    /// A create, or a write over something others edit too (a PR body): repeated only when it
    /// surely did not happen (connection refused, rate limited); otherwise the error says
    /// `outcome_unknown` and the caller re-reads before trying again.
    OnlyIfNotSent,
}

/// The successful answer of one request.
struct Answer {
    status: u16,
    body: String,
    next_page: Option<String>,
}

/// An issue or pull-request comment.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct IssueComment {
    pub id: u64,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub html_url: String,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct User {
    pub login: String,
}

/// What [`GitHub::upsert_comment`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upsert {
    Created(u64),
    Updated(u64),
    /// The comment already had exactly this body.
    Unchanged(u64),
}

impl Upsert {
    pub fn comment_id(self) -> u64 {
        match self {
            Upsert::Created(id) | Upsert::Updated(id) | Upsert::Unchanged(id) => id,
        }
    }
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

/// A label to put on an issue, created in the repository when it does not exist yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub name: String,
    /// Six hex digits, no `#`.
    pub color: String,
    pub description: String,
}

/// One file of a pull request.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct PullRequestFile {
    pub filename: String,
    pub status: String,
    #[serde(default)]
    pub additions: u64,
    #[serde(default)]
    pub deletions: u64,
    /// The unified diff; GitHub omits it for binary and very large files.
    #[serde(default)]
    pub patch: Option<String>,
    #[serde(default)]
    pub previous_filename: Option<String>,
}

/// The parts of a pull request the commands use.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct PullRequest {
    pub number: u64,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub html_url: String,
    #[serde(default)]
    pub user: Option<User>,
    pub head: GitRef,
    pub base: GitRef,
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct GitRef {
    pub sha: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
}

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

/// An existing review comment.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
pub struct ReviewComment {
    pub id: u64,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub line: Option<u64>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub user: Option<User>,
    #[serde(default)]
    pub pull_request_review_id: Option<u64>,
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

/// The client. Cheap to clone.
#[derive(Clone)]
pub struct GitHub {
    octocrab: octocrab::Octocrab,
    api_url: String,
    repository: Repository,
    retry: RetryPolicy,
    bot_login: String,
}

impl fmt::Debug for GitHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHub")
            .field("api_url", &self.api_url)
            .field("repository", &self.repository)
            .field("bot_login", &self.bot_login)
            .finish_non_exhaustive()
    }
}

impl GitHub {
    /// Builds the client; a write without a token fails with a message that says to set one.
    /// Must be called inside a tokio runtime.
    pub fn new(settings: Settings) -> anyhow::Result<GitHub> {
        let token = settings.token.ok_or_else(|| {
            fail(
                FailureKind::Environment,
                "GITHUB_TOKEN is not set: in a workflow pass `GITHUB_TOKEN: ${{ github.token }}` in \
                 `env:`; locally export a token with pull-requests:write and issues:write (for example \
                 `export GITHUB_TOKEN=$(gh auth token)`), or leave out the flag that posts to GitHub",
            )
        })?;
        let api_url = settings.api_url.trim_end_matches('/').to_owned();
        let octocrab = octocrab::Octocrab::builder()
            .base_uri(api_url.as_str())
            .with_context(|| format!("GITHUB_API_URL `{api_url}` is not a valid URL"))
            .classify(FailureKind::Config)?
            .personal_token(token)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .build()
            .context("building the GitHub client")
            .classify(FailureKind::Environment)?;
        Ok(GitHub {
            octocrab,
            api_url,
            repository: settings.repository,
            retry: settings.retry,
            bot_login: settings.bot_login,
        })
    }

    pub fn repository(&self) -> &Repository {
        &self.repository
    }

    /// The login whose comments are ours.
    pub fn bot_login(&self) -> &str {
        &self.bot_login
    }

    /// Whether a comment (or review comment) by `user` with `body` is ours for `marker`: written
    /// by our identity and starting with the marker. A marker anywhere else (quoted by a human,
    /// inside rendered content) does not count.
    pub fn is_ours(&self, user: Option<&User>, body: &str, marker: &str) -> bool {
        !marker.is_empty() && self.is_author(user) && body.starts_with(marker)
    }

    /// One request to `/repos/{owner}/{repo}/{rest}` with the retry policy, returning the body of
    /// a 2xx answer; any other answer is an [`ApiError`] (see [`api_status`]). For typed calls
    /// kept in other modules (`github_settings`).
    pub async fn send_repo(
        &self,
        operation: &str,
        method: Method,
        rest: &str,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<String> {
        let path = self.repo_path(rest);
        Ok(self.request(operation, method, &path, body).await?.body)
    }

    fn repo_path(&self, rest: &str) -> String {
        format!(
            "/repos/{}/{}/{rest}",
            crate::percent::encode_segment(&self.repository.owner),
            crate::percent::encode_segment(&self.repository.name)
        )
    }

    /// One request with the retry policy applied; a non-2xx answer becomes an [`ApiError`]. A
    /// POST is treated as a create ([`Replay::OnlyIfNotSent`]).
    async fn request(
        &self,
        operation: &str,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<Answer> {
        let replay = match method {
            Method::Post => Replay::OnlyIfNotSent,
            Method::Get | Method::Put | Method::Patch | Method::Delete => Replay::Idempotent,
        };
        self.send(operation, method, path, body, replay).await
    }

    async fn send(
        &self,
        operation: &str,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        replay: Replay,
    ) -> anyhow::Result<Answer> {
        let attempts = self.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = match method {
                Method::Get => self.octocrab._get(path).await,
                Method::Post => self.octocrab._post(path, body).await,
                Method::Put => self.octocrab._put(path, body).await,
                Method::Patch => self.octocrab._patch(path, body).await,
                Method::Delete => self.octocrab._delete(path, body).await,
            };
            let response = match sent {
                Ok(response) => response,
                Err(error) => {
                    let not_sent = never_reached_github(&error);
                    let may_repeat = replay == Replay::Idempotent || not_sent;
                    if may_repeat && attempt < attempts {
                        tokio::time::sleep(self.retry.delay(attempt, None)).await;
                        continue;
                    }
                    return Err(ApiError {
                        operation: operation.to_owned(),
                        status: None,
                        message: format!("{error}"),
                        hint: format!(
                            "Check the network and GITHUB_API_URL (now {})",
                            self.api_url
                        ),
                        attempts: attempt,
                        outcome_unknown: replay == Replay::OnlyIfNotSent && !not_sent,
                    })
                    .classify(FailureKind::Api);
                }
            };
            let status = response.status().as_u16();
            let headers = response.headers();
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|value| value.to_str().ok())
                    .map(str::to_owned)
            };
            let limited_by_headers = status == 429
                || (status == 403 && header("x-ratelimit-remaining").as_deref() == Some("0"))
                || (status == 403 && header("retry-after").is_some());
            let server_hint = retry_after(
                header("retry-after").as_deref(),
                header("x-ratelimit-reset").as_deref(),
            );
            let next_page = header("link").and_then(|link| next_link(&link));
            let text = self
                .octocrab
                .body_to_string(response)
                .await
                .unwrap_or_default();
            // A secondary rate limit may come as a bare 403 whose message says so; GitHub asks to
            // wait at least a minute then (capped by the policy's `max_delay`).
            let secondary = (status == 403 || status == 429)
                && text.to_ascii_lowercase().contains("secondary rate limit");
            let rate_limited = limited_by_headers || secondary;
            let server_hint = server_hint.or(secondary.then_some(Duration::from_secs(60)));
            // A rate-limited request was refused before GitHub acted on it, so even a create may
            // be repeated; after a server error only what is idempotent may.
            let server_error = (500..=599).contains(&status);
            let retryable = rate_limited || (server_error && replay == Replay::Idempotent);
            if (200..300).contains(&status) {
                return Ok(Answer {
                    status,
                    body: text,
                    next_page,
                });
            }
            if retryable && attempt < attempts {
                tokio::time::sleep(self.retry.delay(attempt, server_hint)).await;
                continue;
            }
            let hint = if rate_limited {
                hint_for(429)
            } else {
                hint_for(status)
            };
            return Err(ApiError {
                operation: operation.to_owned(),
                status: Some(status),
                message: github_message(&text),
                hint: hint.to_owned(),
                attempts: attempt,
                outcome_unknown: replay == Replay::OnlyIfNotSent && server_error,
            })
            .classify(FailureKind::Api);
        }
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        operation: &str,
        path: &str,
    ) -> anyhow::Result<T> {
        let answer = self.request(operation, Method::Get, path, None).await?;
        parse_json(operation, &answer.body)
    }

    /// Every item of a paginated listing (bounded to [`MAX_PAGES`] pages).
    async fn get_all<T: DeserializeOwned>(
        &self,
        operation: &str,
        first_path: &str,
    ) -> anyhow::Result<Vec<T>> {
        let separator = if first_path.contains('?') { '&' } else { '?' };
        let mut path = format!("{first_path}{separator}per_page=100");
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let answer = self.request(operation, Method::Get, &path, None).await?;
            let page: Vec<T> = parse_json(operation, &answer.body)?;
            items.extend(page);
            match answer.next_page {
                Some(next) => path = self.relative(&next),
                None => return Ok(items),
            }
        }
        Err(fail(
            FailureKind::Api,
            format!("GitHub API: {operation}: more than {MAX_PAGES} pages; giving up"),
        ))
    }

    /// A `Link` URL as a path: octocrab only sends the token to relative URLs (or api.github.com),
    /// which keeps it from leaking to a host a response names.
    fn relative(&self, url: &str) -> String {
        if let Some(rest) = url.strip_prefix(&self.api_url) {
            return rest.to_owned();
        }
        match url.find("://") {
            Some(scheme_end) => {
                let after = &url[scheme_end + 3..];
                after
                    .find('/')
                    .map_or_else(|| "/".to_owned(), |slash| after[slash..].to_owned())
            }
            None => url.to_owned(),
        }
    }

    /// Every comment of an issue or pull request, oldest first.
    pub async fn list_issue_comments(&self, issue: u64) -> anyhow::Result<Vec<IssueComment>> {
        self.get_all(
            &format!("listing the comments of #{issue}"),
            &self.repo_path(&format!("issues/{issue}/comments")),
        )
        .await
    }

    pub async fn create_comment(&self, issue: u64, body: &str) -> anyhow::Result<IssueComment> {
        let operation = format!("creating a comment on #{issue}");
        let answer = self
            .request(
                &operation,
                Method::Post,
                &self.repo_path(&format!("issues/{issue}/comments")),
                Some(&json!({ "body": body })),
            )
            .await?;
        parse_json(&operation, &answer.body)
    }

    pub async fn update_comment(
        &self,
        comment_id: u64,
        body: &str,
    ) -> anyhow::Result<IssueComment> {
        let operation = format!("updating comment {comment_id}");
        let answer = self
            .request(
                &operation,
                Method::Patch,
                &self.repo_path(&format!("issues/comments/{comment_id}")),
                Some(&json!({ "body": body })),
            )
            .await?;
        parse_json(&operation, &answer.body)
    }

    /// Deletes a comment; one that is already gone counts as deleted.
    pub async fn delete_comment(&self, comment_id: u64) -> anyhow::Result<()> {
        let result = self
            .request(
                &format!("deleting comment {comment_id}"),
                Method::Delete,
                &self.repo_path(&format!("issues/comments/{comment_id}")),
                None,
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
        let attempts = self.retry.max_attempts.max(1);
        let mut unknown_create = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut ours: Vec<IssueComment> = self
                .list_issue_comments(issue)
                .await?
                .into_iter()
                .filter(|comment| self.is_ours(comment.user.as_ref(), &comment.body, marker))
                .collect();
            ours.sort_by_key(|comment| comment.id);
            if let Some((kept, duplicates)) = ours.split_first() {
                for duplicate in duplicates {
                    eprintln!(
                        "github: deleting comment {} on #{issue}, a duplicate of comment {}",
                        duplicate.id, kept.id
                    );
                    self.delete_comment(duplicate.id).await?;
                }
                if same_text(&kept.body, &body) {
                    // Our own create of a moment ago, performed although GitHub said otherwise.
                    return Ok(if unknown_create {
                        Upsert::Created(kept.id)
                    } else {
                        Upsert::Unchanged(kept.id)
                    });
                }
                self.update_comment(kept.id, &body).await?;
                return Ok(Upsert::Updated(kept.id));
            }
            match self.create_comment(issue, &body).await {
                Ok(created) => return Ok(Upsert::Created(created.id)),
                Err(error) if outcome_unknown(&error) && attempt < attempts => {
                    eprintln!(
                        "{}; looking for the comment before trying again",
                        retry_note(&error)
                    );
                    unknown_create = true;
                    tokio::time::sleep(self.retry.delay(attempt, None)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The names of the labels on an issue or pull request.
    pub async fn list_issue_labels(&self, issue: u64) -> anyhow::Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Named {
            name: String,
        }
        let labels: Vec<Named> = self
            .get_all(
                &format!("listing the labels of #{issue}"),
                &self.repo_path(&format!("issues/{issue}/labels")),
            )
            .await?;
        Ok(labels.into_iter().map(|label| label.name).collect())
    }

    /// Creates the label in the repository unless it exists.
    pub async fn ensure_label(&self, label: &Label) -> anyhow::Result<()> {
        let lookup = self
            .request(
                &format!("looking up label `{}`", label.name),
                Method::Get,
                &self.repo_path(&format!(
                    "labels/{}",
                    crate::percent::encode_segment(&label.name)
                )),
                None,
            )
            .await;
        match lookup {
            Ok(_) => return Ok(()),
            Err(error) if api_status(&error) == Some(404) => {}
            Err(error) => return Err(error),
        }
        // A second create of the same label answers 422, handled below: safe to send again.
        let created = self
            .send(
                &format!("creating label `{}`", label.name),
                Method::Post,
                &self.repo_path("labels"),
                Some(&json!({
                    "name": label.name,
                    "color": label.color,
                    "description": label.description,
                })),
                Replay::Idempotent,
            )
            .await;
        match created {
            // Another job created it between our two calls.
            Err(error) if api_status(&error) == Some(422) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Adds labels to an issue or pull request, creating missing ones in the repository first.
    pub async fn add_labels(&self, issue: u64, labels: &[Label]) -> anyhow::Result<()> {
        if labels.is_empty() {
            return Ok(());
        }
        for label in labels {
            self.ensure_label(label).await?;
        }
        let names: Vec<&str> = labels.iter().map(|label| label.name.as_str()).collect();
        // Adding a label the issue already has changes nothing: safe to send again.
        self.send(
            &format!("adding labels {} to #{issue}", names.join(", ")),
            Method::Post,
            &self.repo_path(&format!("issues/{issue}/labels")),
            Some(&json!({ "labels": names })),
            Replay::Idempotent,
        )
        .await?;
        Ok(())
    }

    /// Removes a label from an issue; a label that is not there counts as removed.
    pub async fn remove_label(&self, issue: u64, name: &str) -> anyhow::Result<()> {
        let result = self
            .request(
                &format!("removing label `{name}` from #{issue}"),
                Method::Delete,
                &self.repo_path(&format!(
                    "issues/{issue}/labels/{}",
                    crate::percent::encode_segment(name)
                )),
                None,
            )
            .await;
        ignore_not_found(result)
    }

    /// Makes the issue carry `wanted` and none of the other `managed` labels; labels outside
    /// `managed` are left alone.
    pub async fn sync_labels(
        &self,
        issue: u64,
        wanted: &[Label],
        managed: &[String],
    ) -> anyhow::Result<()> {
        let current = self.list_issue_labels(issue).await?;
        let missing: Vec<Label> = wanted
            .iter()
            .filter(|label| !current.contains(&label.name))
            .cloned()
            .collect();
        self.add_labels(issue, &missing).await?;
        for name in managed {
            let keep = wanted.iter().any(|label| &label.name == name);
            if !keep && current.contains(name) {
                self.remove_label(issue, name).await?;
            }
        }
        Ok(())
    }

    pub async fn get_pull_request(&self, pr: u64) -> anyhow::Result<PullRequest> {
        self.get_json(
            &format!("reading pull request #{pr}"),
            &self.repo_path(&format!("pulls/{pr}")),
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
        let attempts = self.retry.max_attempts.max(1);
        let mut attempt = 0;
        let mut wrote = false;
        loop {
            attempt += 1;
            let current = self.get_pull_request(pr).await?.body.unwrap_or_default();
            let updated = edit(&current);
            if updated.replace("\r\n", "\n") == current.replace("\r\n", "\n") {
                return Ok(wrote);
            }
            let sent = self
                .send(
                    &format!("updating the description of pull request #{pr}"),
                    Method::Patch,
                    &self.repo_path(&format!("pulls/{pr}")),
                    Some(&json!({ "body": updated })),
                    Replay::OnlyIfNotSent,
                )
                .await;
            match sent {
                Ok(_) => return Ok(true),
                Err(error) if outcome_unknown(&error) && attempt < attempts => {
                    eprintln!(
                        "{}; reading the description again before retrying",
                        retry_note(&error)
                    );
                    wrote = true;
                    tokio::time::sleep(self.retry.delay(attempt, None)).await;
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// Every file of a pull request (GitHub lists at most 3,000).
    pub async fn list_pull_request_files(&self, pr: u64) -> anyhow::Result<Vec<PullRequestFile>> {
        self.get_all(
            &format!("listing the files of pull request #{pr}"),
            &self.repo_path(&format!("pulls/{pr}/files")),
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
        #[derive(Deserialize)]
        struct Created {
            id: u64,
        }
        let attempts = self.retry.max_attempts.max(1);
        let mut pending: Vec<&NewReviewComment> = comments.iter().collect();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let operation = format!(
                "creating a review with {} comments on pull request #{pr}",
                pending.len()
            );
            let sent = self
                .request(
                    &operation,
                    Method::Post,
                    &self.repo_path(&format!("pulls/{pr}/reviews")),
                    Some(&json!({
                        "commit_id": commit_id,
                        "body": body,
                        "event": "COMMENT",
                        "comments": pending,
                    })),
                )
                .await;
            let error = match sent {
                Ok(answer) => return Ok(parse_json::<Created>(&operation, &answer.body)?.id),
                Err(error)
                    if outcome_unknown(&error) && attempt < attempts && !pending.is_empty() =>
                {
                    error
                }
                Err(error) => return Err(error),
            };
            eprintln!(
                "{}; looking for the review comments before trying again",
                retry_note(&error)
            );
            tokio::time::sleep(self.retry.delay(attempt, None)).await;
            let existing: Vec<ReviewComment> = self
                .list_review_comments(pr)
                .await?
                .into_iter()
                .filter(|comment| self.is_author(comment.user.as_ref()))
                .collect();
            let posted = |wanted: &NewReviewComment| {
                existing
                    .iter()
                    .find(|c| c.path == wanted.path && same_text(&c.body, &wanted.body))
            };
            let review_id = pending
                .iter()
                .find_map(|wanted| posted(wanted))
                .and_then(|found| found.pull_request_review_id);
            pending.retain(|wanted| posted(wanted).is_none());
            if pending.is_empty() {
                return Ok(review_id.unwrap_or(0));
            }
        }
    }

    fn is_author(&self, user: Option<&User>) -> bool {
        user.is_some_and(|user| user.login.eq_ignore_ascii_case(&self.bot_login))
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
            .filter(|comment| self.is_ours(comment.user.as_ref(), &comment.body, prefix))
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
                    self.delete_review_comment(comment.id).await?;
                }
                None => kept.push(comment),
            }
        }
        Ok(kept)
    }

    pub async fn list_review_comments(&self, pr: u64) -> anyhow::Result<Vec<ReviewComment>> {
        self.get_all(
            &format!("listing the review comments of pull request #{pr}"),
            &self.repo_path(&format!("pulls/{pr}/comments")),
        )
        .await
    }

    /// Deletes a review comment; one that is already gone counts as deleted.
    pub async fn delete_review_comment(&self, comment_id: u64) -> anyhow::Result<()> {
        let result = self
            .request(
                &format!("deleting review comment {comment_id}"),
                Method::Delete,
                &self.repo_path(&format!("pulls/comments/{comment_id}")),
                None,
            )
            .await;
        ignore_not_found(result)
    }
}

/// One short line for a write whose outcome is unknown and that is about to be checked and
/// retried (the full error is printed only if the last try fails too, so it is not repeated).
fn retry_note(error: &anyhow::Error) -> String {
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

/// Whether a transport error happened before the request reached GitHub (the connection was
/// refused), so that even a create may be sent again.
fn never_reached_github(error: &(dyn std::error::Error + 'static)) -> bool {
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

fn ignore_not_found(result: anyhow::Result<Answer>) -> anyhow::Result<()> {
    match result {
        Ok(answer) => {
            debug_assert!((200..300).contains(&answer.status));
            Ok(())
        }
        Err(error) if api_status(&error) == Some(404) => Ok(()),
        Err(error) => Err(error),
    }
}

fn parse_json<T: DeserializeOwned>(operation: &str, text: &str) -> anyhow::Result<T> {
    serde_json::from_str(text)
        .with_context(|| {
            let start: String = text.chars().take(200).collect();
            format!("GitHub API: {operation}: the answer is not the expected JSON (starts with {start:?})")
        })
        .classify(FailureKind::Api)
}

/// GitHub's `message` plus its `errors` details, or the start of a body that is not GitHub JSON.
fn github_message(text: &str) -> String {
    #[derive(Deserialize)]
    struct Body {
        message: Option<String>,
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    match serde_json::from_str::<Body>(text) {
        Ok(body) => {
            let mut message = body.message.unwrap_or_default();
            let details: Vec<String> = body
                .errors
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
            if !details.is_empty() {
                message.push_str(&format!(" ({})", details.join("; ")));
            }
            message
        }
        Err(_) => text.trim().chars().take(200).collect(),
    }
}

/// The wait a 429/403 answer asks for: `Retry-After` seconds, else the time until
/// `x-ratelimit-reset` (epoch seconds).
fn retry_after(retry_after: Option<&str>, reset: Option<&str>) -> Option<Duration> {
    if let Some(seconds) = retry_after.and_then(|value| value.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    let reset = reset.and_then(|value| value.trim().parse::<u64>().ok())?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now)))
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        let is_next = params
            .split(';')
            .any(|param| param.trim().replace(' ', "") == "rel=\"next\"");
        is_next.then(|| {
            url.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
    })
}

fn same_text(a: &str, b: &str) -> bool {
    a.replace("\r\n", "\n").trim_end() == b.replace("\r\n", "\n").trim_end()
}

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
    fn link_header_next() {
        let link = r#"<https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2>; rel="next", <https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=5>; rel="last""#;
        assert_eq!(
            next_link(link).as_deref(),
            Some("https://api.github.com/repositories/1/issues/2/comments?per_page=100&page=2")
        );
        assert_eq!(next_link(r#"<https://x/a?page=1>; rel="prev""#), None);
    }

    #[test]
    fn retry_delays_are_capped() {
        let policy = RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        };
        assert_eq!(policy.delay(1, None), Duration::from_millis(100));
        assert_eq!(policy.delay(3, None), Duration::from_millis(400));
        assert_eq!(policy.delay(10, None), Duration::from_secs(1));
        assert_eq!(
            policy.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(1)
        );
        assert_eq!(retry_after(Some("7"), None), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(None, Some("1")), Some(Duration::ZERO));
    }

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

    #[test]
    fn bot_logins() {
        for good in ["github-actions[bot]", "acme-infra[bot]", "ci-user"] {
            assert_eq!(check_login(good), Ok(good));
        }
        for bad in ["", " ", "[bot]", "a b", "evil<!--", "x\n"] {
            assert!(check_login(bad).is_err(), "{bad:?}");
        }
    }

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
        assert_eq!(
            github_message(
                r#"{"message":"Validation Failed","errors":[{"message":"line must be part of the diff"}]}"#
            ),
            "Validation Failed (line must be part of the diff)"
        );
    }
}
