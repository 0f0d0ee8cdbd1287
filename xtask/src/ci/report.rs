//! The summary of a CI run: one line per stage, then the closing `ci: N passed, M failed` line that
//! CI's log reader looks for.

use std::fmt::Write;
use std::time::Duration;

use super::stage::Stage;
use super::test_counts::TestCounts;

/// How a stage ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageOutcome {
    Passed,
    Failed,
    /// An earlier stage failed, so this one did not run.
    NotRun,
}

/// One stage's line of the summary.
#[derive(Debug, Clone)]
pub struct StageReport {
    pub stage: Stage,
    pub outcome: StageOutcome,
    pub elapsed: Duration,
    /// What it found or why it failed, one line.
    pub note: String,
    /// Test cases, for the stages that run a test runner.
    pub tests: Option<TestCounts>,
    /// The stage could not run: a tool or service it needs is missing or failed to install.
    pub missing_tool: bool,
}

/// The report of a whole `cargo xtask ci` run: a line per stage and the closing line (named apart
/// from `plan::summary::Summary`, the summary of a Terraform plan).
#[derive(Debug, Clone, Default)]
pub struct CiRunReport {
    pub stages: Vec<StageReport>,
    /// Stages left out by `--only`/`--skip`.
    pub deselected: Vec<Stage>,
}

impl CiRunReport {
    pub fn failed(&self) -> Vec<Stage> {
        self.stages
            .iter()
            .filter(|report| report.outcome == StageOutcome::Failed)
            .map(|report| report.stage)
            .collect()
    }

    /// Whether a stage failed for a missing tool rather than a finding (exit 3, not 1).
    pub fn missing_tool(&self) -> bool {
        self.stages.iter().any(|report| report.missing_tool)
    }

    pub fn succeeded(&self) -> bool {
        self.stages
            .iter()
            .all(|report| report.outcome == StageOutcome::Passed)
    }

    /// Test cases of every test stage added up.
    pub fn tests(&self) -> TestCounts {
        let mut total = TestCounts::default();
        for counts in self.stages.iter().filter_map(|report| report.tests) {
            total += counts;
        }
        total
    }

    /// The table of stages (without the closing line).
    pub fn render_table(&self) -> String {
        let mut text = String::from("== cargo xtask ci: summary ==\n");
        for report in &self.stages {
            let status = match report.outcome {
                StageOutcome::Passed => "passed",
                StageOutcome::Failed => "FAILED",
                StageOutcome::NotRun => "not run",
            };
            let elapsed = match report.outcome {
                StageOutcome::NotRun => String::new(),
                _ => format!("{:.1}s", report.elapsed.as_secs_f64()),
            };
            let _ = write!(
                text,
                "{:<16} {:<8} {:>7}",
                report.stage.name(),
                status,
                elapsed
            );
            if !report.note.is_empty() {
                let _ = write!(text, "  {}", report.note);
            }
            let end = text.trim_end().len();
            text.truncate(end);
            text.push('\n');
        }
        if !self.deselected.is_empty() {
            let names: Vec<&str> = self.deselected.iter().map(|stage| stage.name()).collect();
            let _ = writeln!(text, "left out by --only/--skip: {}", names.join(", "));
        }
        let total: Duration = self.stages.iter().map(|report| report.elapsed).sum();
        let failed = self.failed();
        if failed.is_empty() {
            let _ = writeln!(
                text,
                "all {} stages passed in {:.1}s",
                self.stages.len(),
                total.as_secs_f64()
            );
        } else {
            let names: Vec<&str> = failed.iter().map(|stage| stage.name()).collect();
            let _ = writeln!(
                text,
                "failed: {} (after {:.1}s); rerun one with `cargo xtask ci --only {}`",
                names.join(", "),
                total.as_secs_f64(),
                names[0]
            );
        }
        text
    }

    /// `ci: N passed, M failed`, alone on its line: the test cases counted from the runners.
    pub fn closing_line(&self) -> String {
        let tests = self.tests();
        format!("ci: {} passed, {} failed", tests.passed, tests.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(stage: Stage, outcome: StageOutcome, millis: u64, note: &str) -> StageReport {
        StageReport {
            stage,
            outcome,
            elapsed: Duration::from_millis(millis),
            note: note.to_owned(),
            tests: None,
            missing_tool: false,
        }
    }

    #[test]
    fn a_failed_run_names_the_failed_stage_and_counts_tests() {
        let mut tests = report(Stage::Tests, StageOutcome::Failed, 61_250, "2 tests failed");
        tests.tests = Some(TestCounts {
            passed: 40,
            failed: 2,
            skipped: 1,
        });
        let summary = CiRunReport {
            stages: vec![
                report(
                    Stage::Setup,
                    StageOutcome::Passed,
                    1_200,
                    "Python tools: up to date",
                ),
                report(Stage::Fmt, StageOutcome::Passed, 800, ""),
                tests,
                report(Stage::Zizmor, StageOutcome::NotRun, 0, ""),
            ],
            deselected: vec![Stage::Checkov],
        };
        assert!(!summary.succeeded());
        assert_eq!(summary.failed(), vec![Stage::Tests]);
        insta::assert_snapshot!(summary.render_table(), @r"
        == cargo xtask ci: summary ==
        setup            passed      1.2s  Python tools: up to date
        fmt              passed      0.8s
        tests            FAILED     61.2s  2 tests failed
        zizmor           not run
        left out by --only/--skip: checkov
        failed: tests (after 63.2s); rerun one with `cargo xtask ci --only tests`
        ");
        assert_eq!(summary.closing_line(), "ci: 40 passed, 2 failed");
    }

    #[test]
    fn lambda_and_cargo_tests_add_up() {
        let mut cargo = report(Stage::Tests, StageOutcome::Passed, 10, "");
        cargo.tests = Some(TestCounts {
            passed: 30,
            failed: 0,
            skipped: 0,
        });
        let mut node = report(Stage::LambdaTests, StageOutcome::Passed, 10, "");
        node.tests = Some(TestCounts {
            passed: 5,
            failed: 0,
            skipped: 0,
        });
        let summary = CiRunReport {
            stages: vec![cargo, node],
            deselected: Vec::new(),
        };
        assert!(summary.succeeded());
        assert_eq!(summary.closing_line(), "ci: 35 passed, 0 failed");
        assert!(
            summary
                .render_table()
                .contains("all 2 stages passed in 0.0s")
        );
    }
}
