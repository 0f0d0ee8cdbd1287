//! The client and its one request path: every call goes through [`GitHub::send`], which applies
//! the retry policy, turns a non-2xx answer into an [`ApiError`] and follows `Link` pages with the
//! token sent only to the API host.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use serde::de::DeserializeOwned;

use super::error::{
    ApiError, api_status, github_message, hint_for, never_reached_github, parse_json,
};
use super::{Repository, RetryPolicy, Settings};
use crate::failure::{Classify, FailureKind, fail};
use crate::retry::Decision;

/// Pages followed per listing at most (100 items each): keeps every loop bounded.
const MAX_PAGES: usize = 100;

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

/// A failed try: the error, and whether (and when) it may be tried again.
struct Failed {
    error: ApiError,
    decision: Decision,
}

/// The successful answer of one request.
pub(super) struct Answer {
    pub(super) body: String,
    next_page: Option<String>,
}

/// The client. Cheap to clone.
#[derive(Clone)]
pub struct GitHub {
    octocrab: octocrab::Octocrab,
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

    pub(super) fn repo_path(&self, rest: &str) -> String {
        format!(
            "/repos/{}/{}/{rest}",
            crate::percent::encode_segment(&self.repository.owner),
            crate::percent::encode_segment(&self.repository.name)
        )
    }

    /// One request with the retry policy applied; a non-2xx answer becomes an [`ApiError`]. A
    /// POST is treated as a create ([`Replay::OnlyIfNotSent`]).
    pub(super) async fn request(
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

    pub(super) async fn send(
        &self,
        operation: &str,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        replay: Replay,
    ) -> anyhow::Result<Answer> {
        let result = self
            .retry
            .run(
                async |_| self.send_once(operation, method, path, body, replay).await,
                |failed: &Failed| failed.decision,
            )
            .await;
        result.or_else(|gave_up| {
            let mut error = gave_up.error.error;
            error.attempts = gave_up.attempts;
            Err(error).classify(FailureKind::Api)
        })
    }

    /// One try of a request: the answer, or the error with whether (and when) to try again.
    async fn send_once(
        &self,
        operation: &str,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        replay: Replay,
    ) -> Result<Answer, Failed> {
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
                return Err(Failed {
                    decision: if may_repeat {
                        Decision::Retry(None)
                    } else {
                        Decision::Stop
                    },
                    error: ApiError {
                        operation: operation.to_owned(),
                        status: None,
                        message: format!("{error}"),
                        hint: format!(
                            "Check the network and GITHUB_API_URL (now {})",
                            self.api_url
                        ),
                        attempts: 1,
                        outcome_unknown: replay == Replay::OnlyIfNotSent && !not_sent,
                    },
                });
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
        if (200..300).contains(&status) {
            return Ok(Answer {
                body: text,
                next_page,
            });
        }
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
        let hint = if rate_limited {
            hint_for(429)
        } else {
            hint_for(status)
        };
        Err(Failed {
            decision: if retryable {
                Decision::Retry(server_hint)
            } else {
                Decision::Stop
            },
            error: ApiError {
                operation: operation.to_owned(),
                status: Some(status),
                message: github_message(&text),
                hint: hint.to_owned(),
                attempts: 1,
                outcome_unknown: replay == Replay::OnlyIfNotSent && server_error,
            },
        })
    }

    pub(super) async fn get_json<T: DeserializeOwned>(
        &self,
        operation: &str,
        path: &str,
    ) -> anyhow::Result<T> {
        let answer = self.request(operation, Method::Get, path, None).await?;
        parse_json(operation, &answer.body)
    }

    /// Every item of a paginated listing (bounded to [`MAX_PAGES`] pages).
    pub(super) async fn get_all<T: DeserializeOwned>(
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
}

pub(super) fn ignore_not_found(result: anyhow::Result<Answer>) -> anyhow::Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(error) if api_status(&error) == Some(404) => Ok(()),
        Err(error) => Err(error),
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

pub(super) fn same_text(a: &str, b: &str) -> bool {
    a.replace("\r\n", "\n").trim_end() == b.replace("\r\n", "\n").trim_end()
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
    fn server_hints() {
        assert_eq!(retry_after(Some("7"), None), Some(Duration::from_secs(7)));
        assert_eq!(retry_after(None, Some("1")), Some(Duration::ZERO));
    }
}
