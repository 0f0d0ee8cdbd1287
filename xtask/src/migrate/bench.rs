//! `cargo xtask bench migrate`: the API cost and the end-detection latency of following an
//! execution, measured by running the real follow loop against a simulated clock.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::time::Duration;

use crate::migrate::poll::{Clock, ExecutionState, FollowEnd, StateSource, Terminal, follow};
use crate::migrate::report::human;

/// Virtual time: sleeping advances it instantly.
#[derive(Debug, Default)]
pub struct SimulatedClock {
    now: Cell<Duration>,
}

impl Clock for SimulatedClock {
    fn elapsed(&self) -> Duration {
        self.now.get()
    }

    async fn sleep(&self, duration: Duration) {
        self.now.set(self.now.get() + duration);
    }
}

/// An execution that runs for `runs_for`, answering DescribeExecution after `latency`.
struct SimulatedExecution<'a> {
    clock: &'a SimulatedClock,
    runs_for: Duration,
    latency: Duration,
    calls: RefCell<Vec<Duration>>,
}

impl StateSource for SimulatedExecution<'_> {
    async fn state(&mut self) -> anyhow::Result<ExecutionState> {
        self.clock.sleep(self.latency).await;
        let now = self.clock.elapsed();
        self.calls.borrow_mut().push(now);
        Ok(if now >= self.runs_for {
            ExecutionState::Ended(Terminal::Succeeded)
        } else {
            ExecutionState::Running
        })
    }
}

/// The figures of one simulated execution.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub runs_for: Duration,
    pub calls: usize,
    pub calls_after_first_minute: usize,
    /// Calls per 10 s after the first minute (0 when the execution is shorter).
    pub calls_per_10s_after_first_minute: f64,
    /// From the terminal state to our exit.
    pub detection_delay: Duration,
    /// The poll interval in force when the execution ended.
    pub interval_at_end: Duration,
}

impl Figures {
    pub fn meets_cost_target(&self) -> bool {
        self.calls_per_10s_after_first_minute <= 1.0
    }

    pub fn meets_latency_target(&self) -> bool {
        self.detection_delay <= self.interval_at_end + Duration::from_secs(2)
    }
}

/// Follows a simulated execution of `runs_for` with the product's follow loop.
pub fn simulate(runs_for: Duration, latency: Duration) -> anyhow::Result<Figures> {
    let clock = SimulatedClock::default();
    let mut execution = SimulatedExecution {
        clock: &clock,
        runs_for,
        latency,
        calls: RefCell::new(Vec::new()),
    };
    let runtime = crate::runtime::current_thread()?;
    let timeout = runs_for * 2 + Duration::from_secs(60);
    let end = runtime.block_on(follow(&mut execution, &clock, timeout, |_| {}))?;
    anyhow::ensure!(
        end == FollowEnd::Ended(Terminal::Succeeded),
        "the simulated execution of {runs_for:?} was not seen to end"
    );
    let calls = execution.calls.into_inner();
    let exit = clock.elapsed();
    let minute = Duration::from_secs(60);
    let after: Vec<&Duration> = calls.iter().filter(|t| **t > minute).collect();
    let calls_per_10s = if runs_for > minute {
        after.len() as f64 / (runs_for - minute).as_secs_f64() * 10.0
    } else {
        0.0
    };
    let interval_at_end = match calls.as_slice() {
        [.., before, last] => *last - *before,
        _ => Duration::ZERO,
    };
    Ok(Figures {
        runs_for,
        calls: calls.len(),
        calls_after_first_minute: after.len(),
        calls_per_10s_after_first_minute: calls_per_10s,
        detection_delay: exit.saturating_sub(runs_for),
        interval_at_end,
    })
}

/// The three scenarios of the issue (5 s, 60 s, 10 min), each with a fast and a slow API.
pub fn run() -> anyhow::Result<String> {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Following a Step Functions execution (real follow loop, simulated clock)\n\
         targets: after the first minute at most 1 DescribeExecution per 10 s on average;\n\
         end detected within one poll interval + 2 s\n"
    );
    let _ = writeln!(
        out,
        "{:>9} {:>8} {:>6} {:>11} {:>13} {:>9} {:>10} {:>7}",
        "execution",
        "latency",
        "calls",
        "after 1 min",
        "per 10 s late",
        "interval",
        "detected",
        "targets"
    );
    for runs_for in [5, 60, 600] {
        for latency_ms in [100, 1000] {
            let figures = simulate(
                Duration::from_secs(runs_for),
                Duration::from_millis(latency_ms),
            )?;
            let ok = figures.meets_cost_target() && figures.meets_latency_target();
            let _ = writeln!(
                out,
                "{:>9} {:>8} {:>6} {:>11} {:>13.2} {:>9} {:>10} {:>7}",
                human(figures.runs_for),
                format!("{latency_ms}ms"),
                figures.calls,
                figures.calls_after_first_minute,
                figures.calls_per_10s_after_first_minute,
                format!("{:.1}s", figures.interval_at_end.as_secs_f64()),
                format!("+{:.1}s", figures.detection_delay.as_secs_f64()),
                if ok { "met" } else { "MISSED" }
            );
            anyhow::ensure!(ok, "a polling target was missed: {figures:?}");
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_meets_the_targets() {
        for seconds in [5, 60, 600, 3600] {
            let figures =
                simulate(Duration::from_secs(seconds), Duration::from_millis(200)).unwrap();
            assert!(figures.meets_cost_target(), "{figures:?}");
            assert!(figures.meets_latency_target(), "{figures:?}");
        }
    }
}
