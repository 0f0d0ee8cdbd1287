//! The client and its one request path: every call is one of octocrab's typed requests run by
//! [`GitHub::call`], which applies the retry policy (with the replay rules of the module doc) and
//! turns octocrab's error into an [`ApiError`]; listings follow octocrab's pages, bounded, with
//! each next page asked of the API host (the token is never sent anywhere else).

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use octocrab::{Octocrab, Page};
use serde::de::DeserializeOwned;

use super::error::{ApiError, api_status, hint_for, message_with_details, never_reached_github};
use super::{Repository, RetryPolicy, Settings};
use crate::failure::{Classify, FailureKind, fail};
use crate::retry::Decision;

/// Pages followed per listing at most (100 items each): keeps every loop bounded.
const MAX_PAGES: usize = 100;

/// Items asked for per page: GitHub's maximum.
pub(super) const PER_PAGE: u8 = 100;

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
pub(super) enum Replay {
    /// Sending it twice has the effect of sending it once: reads, PATCH and DELETE of one
    /// resource, adding labels.
    Idempotent,
    /// A create, or a write over something others edit too (a PR body): repeated only when it
    /// surely did not happen (connection refused, rate limited); otherwise the error says
    /// `outcome_unknown` and the caller re-reads before trying again.
    OnlyIfNotSent,
}

impl Replay {
    fn of(method: Method) -> Replay {
        match method {
            Method::Post => Replay::OnlyIfNotSent,
            Method::Get | Method::Put | Method::Patch | Method::Delete => Replay::Idempotent,
        }
    }
}

/// A failed try: the error, and whether (and when) it may be tried again.
struct Failed {
    error: TryError,
    decision: Decision,
}

enum TryError {
    /// GitHub answered with an error, or could not be reached.
    Api(ApiError),
    /// A 2xx answer that is not what the API describes (GitHub performed the request).
    Unreadable(String),
}

/// The client. Cheap to clone.
#[derive(Clone)]
pub struct GitHub {
    pub(super) octocrab: Octocrab,
    api_url: String,
    repository: Repository,
    pub(super) retry: RetryPolicy,
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
    ///
    /// Octocrab adds the token only to requests for the host of `GITHUB_API_URL` (or to
    /// relative ones), and has no retry of its own here (its `retry` feature is off): ours
    /// knows which requests may be repeated.
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
        crate::aws::install_crypto_provider();
        // No redirects: an API answer is never followed to another place (nor the token with it).
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the HTTP client for GitHub")
            .classify(FailureKind::Environment)?;
        let octocrab = Octocrab::builder()
            .base_uri(api_url.as_str())
            .with_context(|| format!("GITHUB_API_URL `{api_url}` is not a valid URL"))
            .classify(FailureKind::Config)?
            .personal_token(token)
            .build_with_reqwest(http)
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

    /// Whether a comment (or review comment) by `login` with `body` is ours for `marker`: written
    /// by our identity and starting with the marker. A marker anywhere else (quoted by a human,
    /// inside rendered content) does not count.
    pub fn is_ours(&self, login: &str, body: &str, marker: &str) -> bool {
        !marker.is_empty() && self.is_author(Some(login)) && body.starts_with(marker)
    }

    /// Whether `login` (a comment's author, when GitHub names one) is our identity.
    pub(super) fn is_author(&self, login: Option<&str>) -> bool {
        login.is_some_and(|login| login.eq_ignore_ascii_case(&self.bot_login))
    }

    /// Octocrab's handlers for our repository.
    pub(super) fn issues(&self) -> octocrab::issues::IssueHandler<'_> {
        self.octocrab
            .issues(&self.repository.owner, &self.repository.name)
    }

    pub(super) fn pulls(&self) -> octocrab::pulls::PullRequestHandler<'_> {
        self.octocrab
            .pulls(&self.repository.owner, &self.repository.name)
    }

    /// `/repos/{owner}/{repo}/{rest}`, for the requests octocrab has no typed call for.
    pub(super) fn repo_path(&self, rest: &str) -> String {
        format!(
            "/repos/{}/{}/{rest}",
            self.repository.owner, self.repository.name
        )
    }

    /// One API call with the retry policy: `send` makes one try (an octocrab request); a failed
    /// try is repeated as `replay` allows, waiting as GitHub asks on a rate limit. The last
    /// failure becomes an [`ApiError`] (see [`api_status`]) that names `operation`.
    pub(super) async fn call<T>(
        &self,
        operation: &str,
        replay: Replay,
        mut send: impl AsyncFnMut() -> octocrab::Result<T>,
    ) -> anyhow::Result<T> {
        let result = self
            .retry
            .run(
                async |_| {
                    send()
                        .await
                        .map_err(|error| self.failed(operation, replay, error))
                },
                |failed: &Failed| failed.decision,
            )
            .await;
        result.or_else(|gave_up| match gave_up.error.error {
            TryError::Api(mut error) => {
                error.attempts = gave_up.attempts;
                Err(error).classify(FailureKind::Api)
            }
            TryError::Unreadable(why) => Err(fail(
                FailureKind::Api,
                format!("GitHub API: {operation}: {why}"),
            )),
        })
    }

    /// Every item of a listing: the first page from `first` (which asks for [`PER_PAGE`] items),
    /// then octocrab's `next` pages, at most [`MAX_PAGES`].
    pub(super) async fn all_pages<T: DeserializeOwned>(
        &self,
        operation: &str,
        first: impl AsyncFnMut() -> octocrab::Result<Page<T>>,
    ) -> anyhow::Result<Vec<T>> {
        let mut page = self.call(operation, Replay::Idempotent, first).await?;
        let mut items = page.take_items();
        for _ in 1..MAX_PAGES {
            let Some(next) = page.next.as_ref().map(on_api_host) else {
                return Ok(items);
            };
            let next = Some(next);
            let following: Option<Page<T>> = self
                .call(operation, Replay::Idempotent, async || {
                    self.octocrab.get_page(&next).await
                })
                .await?;
            let Some(following) = following else {
                return Ok(items);
            };
            page = following;
            items.extend(page.take_items());
        }
        if page.next.is_none() {
            return Ok(items);
        }
        Err(fail(
            FailureKind::Api,
            format!("GitHub API: {operation}: more than {MAX_PAGES} pages; giving up"),
        ))
    }

    /// One request to `/repos/{owner}/{repo}/{rest}` for what octocrab has no typed call for
    /// (`github_settings`), with the retry policy (a POST counts as a create); returns the body
    /// of a 2xx answer.
    pub async fn send_repo(
        &self,
        operation: &str,
        method: Method,
        rest: &str,
        body: Option<&serde_json::Value>,
    ) -> anyhow::Result<String> {
        let path = self.repo_path(rest);
        self.call(operation, Replay::of(method), async || {
            let crab = &self.octocrab;
            let response = match method {
                Method::Get => crab._get(path.as_str()).await,
                Method::Post => crab._post(path.as_str(), body).await,
                Method::Put => crab._put(path.as_str(), body).await,
                Method::Patch => crab._patch(path.as_str(), body).await,
                Method::Delete => crab._delete(path.as_str(), body).await,
            }?;
            let response = octocrab::map_github_error(response).await?;
            crab.body_to_string(response).await
        })
        .await
    }

    /// The verdict on one failed try.
    fn failed(&self, operation: &str, replay: Replay, error: octocrab::Error) -> Failed {
        let api_error = |status, message, hint: &str, outcome_unknown| {
            TryError::Api(ApiError {
                operation: operation.to_owned(),
                status,
                message,
                hint: hint.to_owned(),
                attempts: 1,
                outcome_unknown,
            })
        };
        match error {
            octocrab::Error::GitHub { source, .. } => {
                let status = source.status_code.as_u16();
                let header = |name: &str| {
                    source
                        .headers
                        .as_ref()
                        .and_then(|headers| headers.get(name))
                        .and_then(|value| value.to_str().ok())
                };
                // A secondary rate limit may come as a bare 403 whose message says so; GitHub
                // asks to wait at least a minute then (capped by the policy's `max_delay`).
                let secondary = (status == 403 || status == 429)
                    && source
                        .message
                        .to_ascii_lowercase()
                        .contains("secondary rate limit");
                let rate_limited = status == 429
                    || (status == 403 && header("x-ratelimit-remaining") == Some("0"))
                    || (status == 403 && header("retry-after").is_some())
                    || secondary;
                let server_hint = retry_after(header("retry-after"), header("x-ratelimit-reset"))
                    .or(secondary.then_some(Duration::from_secs(60)));
                // A rate-limited request was refused before GitHub acted on it, so even a create
                // may be repeated; after a server error only what is idempotent may.
                let server_error = (500..=599).contains(&status);
                let retryable = rate_limited || (server_error && replay == Replay::Idempotent);
                Failed {
                    decision: if retryable {
                        Decision::Retry(server_hint)
                    } else {
                        Decision::Stop
                    },
                    error: api_error(
                        Some(status),
                        message_with_details(&source.message, source.errors.as_deref()),
                        hint_for(if rate_limited { 429 } else { status }),
                        replay == Replay::OnlyIfNotSent && server_error,
                    ),
                }
            }
            // A 2xx answer that is not the model octocrab expects: the request was performed.
            error @ (octocrab::Error::Json { .. } | octocrab::Error::Serde { .. }) => Failed {
                decision: Decision::Stop,
                error: TryError::Unreadable(format!(
                    "the answer is not what GitHub's API describes ({error}); check that \
                     GITHUB_API_URL (now {}) is GitHub's API",
                    self.api_url
                )),
            },
            error => {
                let not_sent = never_reached_github(&error);
                let may_repeat = replay == Replay::Idempotent || not_sent;
                Failed {
                    decision: if may_repeat {
                        Decision::Retry(None)
                    } else {
                        Decision::Stop
                    },
                    error: api_error(
                        None,
                        transport_message(&error),
                        &format!(
                            "Check the network and GITHUB_API_URL (now {})",
                            self.api_url
                        ),
                        replay == Replay::OnlyIfNotSent && !not_sent,
                    ),
                }
            }
        }
    }
}

/// A next-page URL as a path on the API host: a `Link` header naming another host is not
/// followed there (octocrab would not send the token to it, but we do not ask it either).
fn on_api_host(uri: &http::Uri) -> http::Uri {
    let path = uri
        .path_and_query()
        .map_or("/", http::uri::PathAndQuery::as_str);
    http::Uri::try_from(path).unwrap_or_else(|_| http::Uri::from_static("/"))
}

/// A transport error with its causes, without octocrab's backtrace.
fn transport_message(error: &octocrab::Error) -> String {
    let mut parts = Vec::new();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(current) = cause {
        parts.push(current.to_string());
        cause = current.source();
    }
    if parts.is_empty() {
        parts.push(error.to_string());
    }
    parts.dedup();
    parts.join(": ")
}

/// `Ok(())` for a delete of something already gone (404).
pub(super) fn ignore_not_found(result: anyhow::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(error) if api_status(&error) == Some(404) => Ok(()),
        other => other,
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

pub(super) fn same_text(a: &str, b: &str) -> bool {
    a.replace("\r\n", "\n").trim_end() == b.replace("\r\n", "\n").trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_pages_are_asked_of_the_api_host() {
        let elsewhere: http::Uri = "https://evil.example/repositories/1/issues?page=2"
            .parse()
            .unwrap();
        assert_eq!(on_api_host(&elsewhere), "/repositories/1/issues?page=2");
        let enterprise: http::Uri = "https://ghe.example/api/v3/repositories/1/issues?page=3"
            .parse()
            .unwrap();
        assert_eq!(
            on_api_host(&enterprise),
            "/api/v3/repositories/1/issues?page=3"
        );
    }

    #[test]
    fn server_hints() {
        assert_eq!(retry_after(Some("7"), None), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(None, Some("1")), Some(Duration::ZERO));
    }
}
