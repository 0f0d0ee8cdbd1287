//! How often we ask Step Functions about an execution, and the loop that asks.
//!
//! Migrations usually end in seconds, so the first checks are fast; long ones settle at one
//! DescribeExecution per [`MAX_POLL_INTERVAL`], which keeps the API cost of a ten-minute run to a
//! few dozen calls while still noticing the end within one interval.

use std::future::Future;
use std::time::Duration;

/// The first wait between two checks.
pub const FIRST_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// The longest wait between two checks.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(15);
/// Each wait is this much longer than the previous one, up to the cap.
const GROWTH: f64 = 1.5;

/// The wait after the check number `attempt` (0 for the first check): 1 s, 1.5 s, 2.25 s, ...
/// capped at [`MAX_POLL_INTERVAL`].
pub fn poll_delay(attempt: u32) -> Duration {
    let factor = GROWTH.powi(i32::try_from(attempt.min(64)).unwrap_or(64));
    let seconds = FIRST_POLL_INTERVAL.as_secs_f64() * factor;
    Duration::from_secs_f64(seconds.min(MAX_POLL_INTERVAL.as_secs_f64()))
}

/// The times (from the start of following) at which checks happen, until `horizon`.
pub fn poll_schedule(horizon: Duration) -> Vec<Duration> {
    let mut times = Vec::new();
    let mut at = Duration::ZERO;
    let mut attempt = 0;
    while at <= horizon {
        times.push(at);
        at += poll_delay(attempt);
        attempt += 1;
    }
    times
}

/// The state of an execution as far as following it is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionState {
    Running,
    Ended(Terminal),
}

/// The terminal states of a Step Functions execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Terminal {
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Terminal {
    /// The status as Step Functions spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Terminal::Succeeded => "SUCCEEDED",
            Terminal::Failed => "FAILED",
            Terminal::TimedOut => "TIMED_OUT",
            Terminal::Aborted => "ABORTED",
        }
    }

    /// Maps a DescribeExecution status; anything not terminal (RUNNING, PENDING_REDRIVE, a status
    /// added later) keeps us following.
    pub fn from_status(status: &str) -> ExecutionState {
        match status {
            "SUCCEEDED" => ExecutionState::Ended(Terminal::Succeeded),
            "FAILED" => ExecutionState::Ended(Terminal::Failed),
            "TIMED_OUT" => ExecutionState::Ended(Terminal::TimedOut),
            "ABORTED" => ExecutionState::Ended(Terminal::Aborted),
            _ => ExecutionState::Running,
        }
    }
}

/// Time as the follow loop sees it: the real one, or a simulated one in the benchmark.
pub trait Clock {
    /// Time since following started.
    fn elapsed(&self) -> Duration;
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;
}

/// Where the follow loop gets the execution's state (DescribeExecution, or a simulation).
pub trait StateSource {
    fn state(&mut self) -> impl Future<Output = anyhow::Result<ExecutionState>>;
}

/// How following ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowEnd {
    Ended(Terminal),
    /// The timeout passed while the execution was still running.
    Deadline,
}

/// What the loop tells its observer after each check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub state: ExecutionState,
    pub elapsed: Duration,
    pub checks: u32,
    /// The wait before the next check, when there is one.
    pub next_check_in: Option<Duration>,
}

/// Checks the execution on the [`poll_delay`] schedule until it ends or `timeout` passes.
/// Bounded: every iteration sleeps, and the loop stops at the deadline.
pub async fn follow<S: StateSource, C: Clock>(
    source: &mut S,
    clock: &C,
    timeout: Duration,
    mut observe: impl FnMut(&Progress),
) -> anyhow::Result<FollowEnd> {
    let mut attempt = 0u32;
    loop {
        let state = source.state().await?;
        let elapsed = clock.elapsed();
        let next = match state {
            ExecutionState::Ended(_) => None,
            ExecutionState::Running if elapsed >= timeout => None,
            // Never sleep past the deadline, and never less than a moment so the loop advances.
            ExecutionState::Running => Some(
                poll_delay(attempt)
                    .min(timeout.saturating_sub(elapsed))
                    .max(Duration::from_millis(100)),
            ),
        };
        observe(&Progress {
            state,
            elapsed,
            checks: attempt + 1,
            next_check_in: next,
        });
        match (state, next) {
            (ExecutionState::Ended(terminal), _) => return Ok(FollowEnd::Ended(terminal)),
            (ExecutionState::Running, None) => return Ok(FollowEnd::Deadline),
            (ExecutionState::Running, Some(delay)) => clock.sleep(delay).await,
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn delays_grow_then_cap() {
        let delays: Vec<f64> = (0..10)
            .map(|n| (poll_delay(n).as_secs_f64() * 100.0).round() / 100.0)
            .collect();
        assert_eq!(
            delays,
            vec![1.0, 1.5, 2.25, 3.38, 5.06, 7.59, 11.39, 15.0, 15.0, 15.0]
        );
        assert_eq!(poll_delay(u32::MAX), MAX_POLL_INTERVAL);
    }

    #[test]
    fn schedule_after_the_first_minute_is_at_most_one_check_per_ten_seconds() {
        let schedule = poll_schedule(Duration::from_secs(600));
        let late = schedule
            .iter()
            .filter(|t| **t > Duration::from_secs(60))
            .count();
        assert!(late as f64 <= 540.0 / 10.0, "{late} checks");
        let first_minute = schedule.len() - late;
        assert!((5..=12).contains(&first_minute), "{first_minute} checks");
    }

    struct FakeClock(Cell<Duration>);
    impl Clock for FakeClock {
        fn elapsed(&self) -> Duration {
            self.0.get()
        }
        async fn sleep(&self, duration: Duration) {
            self.0.set(self.0.get() + duration);
        }
    }

    struct EndsAt<'a>(&'a FakeClock, Duration, Terminal);
    impl StateSource for EndsAt<'_> {
        async fn state(&mut self) -> anyhow::Result<ExecutionState> {
            Ok(if self.0.elapsed() >= self.1 {
                ExecutionState::Ended(self.2)
            } else {
                ExecutionState::Running
            })
        }
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        crate::runtime::current_thread().unwrap().block_on(future)
    }

    #[test]
    fn follow_returns_the_terminal_state() {
        let clock = FakeClock(Cell::new(Duration::ZERO));
        let mut source = EndsAt(&clock, Duration::from_secs(30), Terminal::Failed);
        let mut seen = Vec::new();
        let end = block_on(follow(&mut source, &clock, Duration::from_secs(60), |p| {
            seen.push(*p)
        }))
        .unwrap();
        assert_eq!(end, FollowEnd::Ended(Terminal::Failed));
        let last = seen.last().unwrap();
        assert_eq!(last.next_check_in, None);
        assert!(last.elapsed >= Duration::from_secs(30));
        assert!(last.elapsed <= Duration::from_secs(30) + MAX_POLL_INTERVAL);
    }

    #[test]
    fn follow_stops_at_the_deadline_without_overshooting() {
        let clock = FakeClock(Cell::new(Duration::ZERO));
        let mut source = EndsAt(&clock, Duration::from_secs(3600), Terminal::Succeeded);
        let end = block_on(follow(
            &mut source,
            &clock,
            Duration::from_secs(100),
            |_| {},
        ))
        .unwrap();
        assert_eq!(end, FollowEnd::Deadline);
        assert_eq!(clock.elapsed(), Duration::from_secs(100));
    }
}
