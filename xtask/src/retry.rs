//! The one retry policy and backoff loop of the crate's HTTP clients (GitHub, the LLM providers).
//!
//! A client says *what* may be retried; this module says *how*: a bounded number of tries with
//! exponential backoff, each wait capped, and the server's own hint (`Retry-After`, a rate-limit
//! reset) used instead of the backoff when the client passes one on.
//!
//! ```ignore
//! let policy = RetryPolicy::default();
//! let answer = policy
//!     .run(
//!         async |_attempt| send().await,
//!         |error: &MyError| if error.transient { Decision::Retry(error.retry_after) } else { Decision::Stop },
//!     )
//!     .await
//!     .map_err(|gave_up| gave_up.error)?;
//! ```

use std::time::Duration;

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in total, the first one included (0 counts as 1).
    pub max_attempts: u32,
    /// The first backoff; it doubles on every further try.
    pub base_delay: Duration,
    /// No single wait is longer than this, whatever the server's hint says.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Four tries, waiting 1 s, 2 s, 4 s (at most a minute when the server asks for longer).
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// What to do after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Give up now: the failure will not go away by itself (or repeating it is not safe).
    Stop,
    /// Try again after the backoff, or after the server's hint when there is one.
    Retry(Option<Duration>),
}

/// The failure of the last try of [`RetryPolicy::run`].
#[derive(Debug)]
pub struct GaveUp<E> {
    pub error: E,
    /// Tries made, the last included.
    pub attempts: u32,
}

impl RetryPolicy {
    /// The number of tries, at least 1.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The wait before try number `attempt + 1` (attempt counts from 1): the server's hint when
    /// there is one, else the doubling backoff; capped at [`RetryPolicy::max_delay`].
    pub fn delay(&self, attempt: u32, server_hint: Option<Duration>) -> Duration {
        let backoff = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        server_hint.unwrap_or(backoff).min(self.max_delay)
    }

    /// Waits as [`RetryPolicy::delay`] says.
    pub async fn wait(&self, attempt: u32, server_hint: Option<Duration>) {
        tokio::time::sleep(self.delay(attempt, server_hint)).await;
    }

    /// Calls `call` (with the try number, from 1) until it succeeds, `decide` says
    /// [`Decision::Stop`], or the tries are used up; waits between tries. Bounded by
    /// [`RetryPolicy::attempts`]. `decide` is asked only when a try is left, so it may say what
    /// it is about to do (a log line, noting that the next try follows an unknown outcome).
    pub async fn run<T, E>(
        &self,
        mut call: impl AsyncFnMut(u32) -> Result<T, E>,
        mut decide: impl FnMut(&E) -> Decision,
    ) -> Result<T, GaveUp<E>> {
        let attempts = self.attempts();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match call(attempt).await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            match (attempt < attempts).then(|| decide(&error)) {
                Some(Decision::Retry(hint)) => self.wait(attempt, hint).await,
                Some(Decision::Stop) | None => {
                    return Err(GaveUp {
                        error,
                        attempts: attempt,
                    });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(max_attempts: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts,
            base_delay: Duration::ZERO,
            max_delay: Duration::ZERO,
        }
    }

    #[test]
    fn delays_double_and_are_capped() {
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
    }

    #[tokio::test]
    async fn the_loop_is_bounded_and_stops_when_told() {
        let (mut calls, mut asked) = (0, 0);
        let gave_up = fast(3)
            .run(
                async |_| {
                    calls += 1;
                    Err::<(), _>("busy")
                },
                |_| {
                    asked += 1;
                    Decision::Retry(None)
                },
            )
            .await
            .unwrap_err();
        assert_eq!(
            (calls, asked, gave_up.attempts),
            (3, 2, 3),
            "not asked after the last"
        );

        let mut calls = 0;
        let gave_up = fast(3)
            .run(
                async |_| {
                    calls += 1;
                    Err::<(), _>("denied")
                },
                |_| Decision::Stop,
            )
            .await
            .unwrap_err();
        assert_eq!((calls, gave_up.attempts), (1, 1));

        let answer = fast(0)
            .run(
                async |attempt| {
                    if attempt < 2 {
                        Err("busy")
                    } else {
                        Ok(attempt)
                    }
                },
                |_| Decision::Retry(None),
            )
            .await;
        assert_eq!(answer.unwrap_err().attempts, 1, "0 tries counts as 1");
        let answer = fast(3)
            .run(
                async |attempt| {
                    if attempt < 2 {
                        Err("busy")
                    } else {
                        Ok(attempt)
                    }
                },
                |_| Decision::Retry(None),
            )
            .await;
        assert_eq!(answer.unwrap(), 2);
    }
}
