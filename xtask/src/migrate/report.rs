//! What `cargo xtask migrate` says: the dry-run plan, the execution input, the progress line and
//! the report of every way an execution can end. Pure functions, snapshot-tested.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use crate::aws::CredentialOrigin;
use crate::config::format_duration;
use crate::failure::FailureKind;
use crate::migrate::poll::{ExecutionState, Progress, Terminal};
use crate::redact::{Redactor, redact};

/// What a run will do, known before anything is called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    pub env: String,
    pub git_sha: String,
    pub requested_by: String,
    /// `<registry>/<repository>`.
    pub image: String,
    pub registry: String,
    /// The build context, relative to the repository root.
    pub docker_dir: String,
    pub task_family: String,
    pub container_name: String,
    pub state_machine_arn: String,
    pub timeout: Duration,
    /// The AWS profile used, or `None` for the default credential chain.
    pub profile: Option<String>,
}

impl RunPlan {
    /// The immutable tag: the git commit.
    pub fn tagged_image(&self) -> String {
        format!("{}:{}", self.image, self.git_sha)
    }

    pub fn build_argv(&self) -> Vec<String> {
        vec![
            "build".into(),
            "--no-cache".into(),
            "-t".into(),
            self.tagged_image(),
            self.docker_dir.clone(),
        ]
    }
}

/// `--dry-run`: every step, nothing called.
pub fn render_dry_run(plan: &RunPlan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Dry run: migration of `{}` at commit {} (nothing is built, pushed or started).",
        plan.env, plan.git_sha
    );
    let _ = writeln!(
        out,
        "1. ECR GetAuthorizationToken, then: docker login --username AWS --password-stdin {}",
        plan.registry
    );
    let _ = writeln!(out, "2. docker {}", plan.build_argv().join(" "));
    let _ = writeln!(
        out,
        "3. docker push {} (and record the pushed digest)",
        plan.tagged_image()
    );
    let _ = writeln!(
        out,
        "4. register a revision of task definition family `{}` with container `{}` set to {}@<digest>",
        plan.task_family, plan.container_name, plan.image
    );
    let _ = writeln!(
        out,
        "5. unless another execution is RUNNING, start {} with input:",
        plan.state_machine_arn
    );
    let input = execution_input(
        &format!("<{} revision from step 4>", plan.task_family),
        &format!("{}@<digest>", plan.image),
        &plan.git_sha,
        &plan.requested_by,
    );
    let pretty = serde_json::to_string_pretty(&input).unwrap_or_default();
    for line in pretty.lines() {
        let _ = writeln!(out, "     {line}");
    }
    let _ = writeln!(
        out,
        "6. follow it for up to {}; exit 0 only if it SUCCEEDED",
        format_duration(round_to_seconds(plan.timeout))
    );
    let _ = writeln!(
        out,
        "Credentials: {}.",
        CredentialOrigin::of(plan.profile.as_deref())
    );
    out
}

/// The state machine's input (see the contract in the workflow generator).
pub fn execution_input(
    task_definition: &str,
    image: &str,
    git_sha: &str,
    requested_by: &str,
) -> serde_json::Value {
    json!({
        "task_definition": task_definition,
        "image": image,
        "git_sha": git_sha,
        "requested_by": requested_by,
    })
}

/// A unique, readable execution name (1-80 of `A-Za-z0-9-_`): environment, commit, start time.
pub fn execution_name(env: &str, git_sha: &str, unix_millis: u64) -> String {
    let short: String = git_sha.chars().take(12).collect();
    let name = format!("{env}-migrate-{short}-{unix_millis}");
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(80)
        .collect()
}

fn round_to_seconds(duration: Duration) -> Duration {
    Duration::from_secs(duration.as_secs() + u64::from(duration.subsec_millis() >= 500))
}

/// Durations for people: `42s`, `1m05s` style via the config's format (`1m5s`).
pub fn human(duration: Duration) -> String {
    format_duration(round_to_seconds(duration))
}

/// One progress line: `RUNNING, 1m5s elapsed, next check in 15s`.
pub fn render_progress(progress: &Progress) -> String {
    let state = match progress.state {
        ExecutionState::Running => "RUNNING",
        ExecutionState::Ended(terminal) => terminal.as_str(),
    };
    let mut line = format!("{state}, {} elapsed", human(progress.elapsed));
    if let Some(next) = progress.next_check_in {
        let _ = write!(line, ", next check in {}", human(next));
    }
    line
}

/// What we learnt about the ECS task that ran the migration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFacts {
    pub task_arn: Option<String>,
    pub cluster_arn: Option<String>,
    pub exit_code: Option<i64>,
    pub stopped_reason: Option<String>,
    /// `<log group> <log stream>`, when the logs could be located.
    pub log_location: Option<String>,
    /// The last lines of the task's log stream.
    pub log_lines: Vec<String>,
    /// Why some of the above is missing (for example a failed DescribeTasks).
    pub notes: Vec<String>,
}

/// How following ended, from the user's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Ended(Terminal),
    /// Our `--timeout` passed; the execution was left running.
    StillRunning {
        timeout: Duration,
    },
    /// Ctrl-C without `--stop-on-interrupt`: the execution was left running.
    InterruptedLeftRunning,
    /// Ctrl-C with `--stop-on-interrupt`: StopExecution was called.
    InterruptedStopped,
}

/// Everything the final message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub env: String,
    pub region: String,
    pub execution_arn: String,
    pub image: String,
    pub task_definition: String,
    pub git_sha: String,
    pub profile: Option<String>,
    pub ending: Ending,
    pub elapsed: Duration,
    pub error: Option<String>,
    pub cause: Option<String>,
    pub task: Option<TaskFacts>,
}

/// The exit code class of an ending; `None` means success.
pub fn failure_kind(ending: Ending) -> Option<FailureKind> {
    match ending {
        Ending::Ended(Terminal::Succeeded) => None,
        Ending::Ended(_) => Some(FailureKind::OperationFailed),
        Ending::StillRunning { .. } => Some(FailureKind::TimedOut),
        Ending::InterruptedLeftRunning | Ending::InterruptedStopped => {
            Some(FailureKind::Interrupted)
        }
    }
}

/// The one-line error `main` prints last (the report above it has the details).
pub fn failure_summary(report: &Report) -> String {
    match report.ending {
        Ending::Ended(terminal) => format!(
            "migration of `{}` ended {}: {}",
            report.env,
            terminal.as_str(),
            report.execution_arn
        ),
        Ending::StillRunning { .. } => format!(
            "migration of `{}` is still running after {}: {}",
            report.env,
            human(report.elapsed),
            report.execution_arn
        ),
        Ending::InterruptedLeftRunning => format!(
            "interrupted; the execution is still running: {}",
            report.execution_arn
        ),
        Ending::InterruptedStopped => format!(
            "interrupted; the execution was stopped: {}",
            report.execution_arn
        ),
    }
}

const MAX_CAUSE_CHARS: usize = 1500;

fn clipped(text: &str, limit: usize) -> String {
    if text.chars().count() <= limit {
        text.to_owned()
    } else {
        let head: String = text.chars().take(limit).collect();
        format!("{head}... ({} characters in all)", text.chars().count())
    }
}

fn aws_cli(report: &Report, verb: &str) -> String {
    let mut command = format!(
        "aws stepfunctions {verb} --execution-arn {} --region {}",
        report.execution_arn, report.region
    );
    if let Some(profile) = &report.profile {
        let _ = write!(command, " --profile {profile}");
    }
    command
}

fn console_url(report: &Report) -> String {
    format!(
        "https://{0}.console.aws.amazon.com/states/home?region={0}#/v2/executions/details/{1}",
        report.region, report.execution_arn
    )
}

fn headline(report: &Report) -> String {
    let env = &report.env;
    let elapsed = human(report.elapsed);
    match report.ending {
        Ending::Ended(Terminal::Succeeded) => {
            format!("Migration of `{env}` SUCCEEDED in {elapsed}.")
        }
        Ending::Ended(Terminal::Failed) => format!("Migration of `{env}` FAILED after {elapsed}."),
        Ending::Ended(Terminal::TimedOut) => format!(
            "Migration of `{env}` TIMED_OUT after {elapsed}: the state machine's own time limit stopped it."
        ),
        Ending::Ended(Terminal::Aborted) => format!(
            "Migration of `{env}` was ABORTED after {elapsed}: the execution was stopped before it finished."
        ),
        Ending::StillRunning { timeout } => format!(
            "Migration of `{env}` is still RUNNING after {elapsed}: gave up following it at the {} timeout, and did not stop it.",
            human(timeout)
        ),
        Ending::InterruptedLeftRunning => format!(
            "Interrupted after {elapsed}; the migration of `{env}` is still RUNNING (it was not stopped; use --stop-on-interrupt to stop it on Ctrl-C)."
        ),
        Ending::InterruptedStopped => format!(
            "Interrupted after {elapsed}; the migration of `{env}` was stopped (StopExecution)."
        ),
    }
}

fn still_running(ending: Ending) -> bool {
    matches!(
        ending,
        Ending::StillRunning { .. } | Ending::InterruptedLeftRunning
    )
}

/// The task's log tail with secrets redacted, as one text: a key block spans lines. What the
/// migration printed is never shown unredacted, neither in the log nor in the job summary.
fn redacted_lines(lines: &[String]) -> Vec<String> {
    let mut redactor = Redactor::new();
    lines
        .iter()
        .map(|line| redactor.line(line, String::new))
        .collect()
}

/// The final message, for a terminal and for CI logs alike. Texts from AWS and the task (error,
/// cause, stopped reason, notes, log lines) are redacted.
pub fn render_report(report: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", headline(report));
    let _ = writeln!(out, "  execution:       {}", report.execution_arn);
    let _ = writeln!(out, "  image:           {}", report.image);
    let _ = writeln!(out, "  task definition: {}", report.task_definition);
    let _ = writeln!(out, "  commit:          {}", report.git_sha);
    if let Some(error) = &report.error {
        let _ = writeln!(out, "  error:           {}", redact(error));
    }
    if let Some(cause) = &report.cause {
        let _ = writeln!(
            out,
            "  cause:           {}",
            clipped(&redact(cause), MAX_CAUSE_CHARS)
        );
    }
    if let Some(task) = &report.task {
        render_task(&mut out, task);
    }
    if still_running(report.ending) {
        let _ = writeln!(out, "Follow it:  {}", aws_cli(report, "describe-execution"));
        let _ = writeln!(out, "Stop it:    {}", aws_cli(report, "stop-execution"));
        let _ = writeln!(out, "Console:    {}", console_url(report));
    } else if report.ending != Ending::Ended(Terminal::Succeeded) {
        let _ = writeln!(out, "History:    {}", console_url(report));
    }
    out
}

fn render_task(out: &mut String, task: &TaskFacts) {
    if let Some(arn) = &task.task_arn {
        let _ = writeln!(out, "  ECS task:        {arn}");
    }
    if let Some(code) = task.exit_code {
        let _ = writeln!(out, "  exit code:       {code}");
    }
    if let Some(reason) = &task.stopped_reason {
        let _ = writeln!(out, "  stopped reason:  {}", redact(reason));
    }
    for note in &task.notes {
        let _ = writeln!(out, "  note:            {}", redact(note));
    }
    if !task.log_lines.is_empty() {
        let location = task
            .log_location
            .as_deref()
            .unwrap_or("the task's log stream");
        let _ = writeln!(
            out,
            "  last {} log lines ({location}):",
            task.log_lines.len()
        );
        for line in redacted_lines(&task.log_lines) {
            let _ = writeln!(out, "    | {line}");
        }
    }
}

/// The GitHub job summary (Markdown) appended to `GITHUB_STEP_SUMMARY`.
pub fn render_step_summary(report: &Report) -> String {
    let mut out = String::new();
    let mark = match report.ending {
        Ending::Ended(Terminal::Succeeded) => "✅",
        Ending::StillRunning { .. } | Ending::InterruptedLeftRunning => "⏳",
        _ => "❌",
    };
    let _ = writeln!(out, "### {mark} {}\n", headline(report));
    let _ = writeln!(out, "| | |\n|---|---|");
    let mut row = |key: &str, value: &str| {
        let value = value.replace('|', "\\|").replace('\n', " ");
        let _ = writeln!(out, "| {key} | `{value}` |");
    };
    row("Execution", &report.execution_arn);
    row("Image", &report.image);
    row("Task definition", &report.task_definition);
    row("Commit", &report.git_sha);
    row("Elapsed", &human(report.elapsed));
    if let Some(error) = &report.error {
        row("Error", &redact(error));
    }
    if let Some(cause) = &report.cause {
        row("Cause", &clipped(&redact(cause), 500));
    }
    if let Some(task) = &report.task {
        if let Some(arn) = &task.task_arn {
            row("ECS task", arn);
        }
        if let Some(code) = task.exit_code {
            row("Exit code", &code.to_string());
        }
        if let Some(reason) = &task.stopped_reason {
            row("Stopped reason", &redact(reason));
        }
    }
    if still_running(report.ending) {
        row("Follow", &aws_cli(report, "describe-execution"));
        row("Stop", &aws_cli(report, "stop-execution"));
    }
    if let Some(task) = report.task.as_ref().filter(|t| !t.log_lines.is_empty()) {
        let _ = writeln!(
            out,
            "\n<details><summary>Last log lines</summary>\n\n~~~~text"
        );
        for line in redacted_lines(&task.log_lines) {
            let _ = writeln!(out, "{}", line.replace("~~~~", "~ ~ ~ ~"));
        }
        let _ = writeln!(out, "~~~~\n\n</details>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> RunPlan {
        RunPlan {
            env: "dev".into(),
            git_sha: "0123456789abcdef0123456789abcdef01234567".into(),
            requested_by: "octocat".into(),
            image: "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/dev/db-migrate".into(),
            registry: "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com".into(),
            docker_dir: "environments/dev/docker".into(),
            task_family: "dev-db-migrate".into(),
            container_name: "db-migrate".into(),
            state_machine_arn:
                "arn:aws:states:ap-northeast-1:123456789012:stateMachine:dev-db-migrate".into(),
            timeout: Duration::from_secs(1800),
            profile: Some("dev-db-migrate".into()),
        }
    }

    fn report(ending: Ending) -> Report {
        Report {
            env: "dev".into(),
            region: "ap-northeast-1".into(),
            execution_arn: "arn:aws:states:ap-northeast-1:123456789012:execution:dev-db-migrate:dev-migrate-0123456789ab-1795770000".into(),
            image: "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/dev/db-migrate@sha256:1111111111111111111111111111111111111111111111111111111111111111".into(),
            task_definition: "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/dev-db-migrate:7".into(),
            git_sha: "0123456789abcdef0123456789abcdef01234567".into(),
            profile: Some("dev-db-migrate".into()),
            ending,
            elapsed: Duration::from_millis(65_400),
            error: None,
            cause: None,
            task: None,
        }
    }

    fn failed_task() -> TaskFacts {
        TaskFacts {
            task_arn: Some(
                "arn:aws:ecs:ap-northeast-1:123456789012:task/dev-db-migrate/4f1c".into(),
            ),
            cluster_arn: None,
            exit_code: Some(1),
            stopped_reason: Some("Essential container in task exited".into()),
            log_location: Some("/ecs/dev/db-migrate ecs/db-migrate/4f1c".into()),
            log_lines: vec![
                "Applying migration `20260101000000_init`".into(),
                "Error: P3018 A migration failed to apply.".into(),
            ],
            notes: vec![],
        }
    }

    #[test]
    fn dry_run() {
        insta::assert_snapshot!(render_dry_run(&plan()));
    }

    #[test]
    fn execution_input_has_the_contract_keys_in_order() {
        let input = execution_input("td:7", "repo@sha256:1", "abc", "me");
        assert_eq!(
            input.to_string(),
            r#"{"task_definition":"td:7","image":"repo@sha256:1","git_sha":"abc","requested_by":"me"}"#
        );
    }

    #[test]
    fn execution_names_are_valid() {
        assert_eq!(
            execution_name("dev", "0123456789abcdef", 1_795_770_000_123),
            "dev-migrate-0123456789ab-1795770000123"
        );
        assert_eq!(execution_name("a", "x/y", 1), "a-migrate-x-y-1");
        assert!(execution_name(&"e".repeat(100), "s", 1).len() <= 80);
    }

    #[test]
    fn progress_lines() {
        let progress = Progress {
            state: ExecutionState::Running,
            elapsed: Duration::from_millis(65_400),
            next_check_in: Some(Duration::from_secs(15)),
        };
        assert_eq!(
            render_progress(&progress),
            "RUNNING, 1m5s elapsed, next check in 15s"
        );
    }

    #[test]
    fn succeeded() {
        let report = report(Ending::Ended(Terminal::Succeeded));
        assert_eq!(failure_kind(report.ending), None);
        insta::assert_snapshot!(render_report(&report));
        insta::assert_snapshot!("succeeded_summary", render_step_summary(&report));
    }

    #[test]
    fn failed_with_task_and_logs() {
        let mut report = report(Ending::Ended(Terminal::Failed));
        report.error = Some("MigrationFailed".into());
        report.cause = Some("the migration container exited with code 1".into());
        report.task = Some(failed_task());
        assert_eq!(
            failure_kind(report.ending),
            Some(FailureKind::OperationFailed)
        );
        insta::assert_snapshot!(render_report(&report));
        insta::assert_snapshot!("failed_summary", render_step_summary(&report));
        insta::assert_snapshot!("failed_error_line", failure_summary(&report));
    }

    #[test]
    fn secrets_in_the_log_tail_and_the_cause_are_redacted() {
        let webhook = format!(
            "https://{}.com/services/T0ABCDEFG/B0ABCDEFGHI/{}",
            "hooks.slack", "Zk3xQ9mW2pL7vN4bR8tY1cJ6"
        );
        let mut report = report(Ending::Ended(Terminal::Failed));
        report.error = Some("MigrationFailed".into());
        report.cause = Some("connect postgres://app:S3cr3tPassw0rd@db:5432/app failed".into());
        let mut task = failed_task();
        task.stopped_reason = Some(format!("notify {webhook} failed"));
        task.log_lines = vec![
            "Datasource \"db\": PostgreSQL database \"app\" at \"postgres://app:S3cr3tPassw0rd@db:5432/app\"".into(),
            format!("SLACK_WEBHOOK_URL={webhook}"),
            "-----BEGIN RSA PRIVATE KEY-----".into(),
            "MIIEowIBAAKCAQEAplantedkeymaterial".into(),
            "-----END RSA PRIVATE KEY-----".into(),
        ];
        report.task = Some(task);
        for text in [render_report(&report), render_step_summary(&report)] {
            for secret in [
                "S3cr3tPassw0rd",
                &webhook,
                "MIIEowIBAAKCAQEAplantedkeymaterial",
            ] {
                assert!(!text.contains(secret), "{secret} in\n{text}");
            }
            assert!(text.contains("[REDACTED:url-password]"), "{text}");
            assert!(text.contains("[REDACTED:slack-webhook]"), "{text}");
            assert!(text.contains("[REDACTED:private-key]"), "{text}");
        }
    }

    #[test]
    fn timed_out() {
        let mut report = report(Ending::Ended(Terminal::TimedOut));
        report.error = Some("States.Timeout".into());
        assert_eq!(
            failure_kind(report.ending),
            Some(FailureKind::OperationFailed)
        );
        insta::assert_snapshot!(render_report(&report));
    }

    #[test]
    fn aborted() {
        let report = report(Ending::Ended(Terminal::Aborted));
        assert_eq!(
            failure_kind(report.ending),
            Some(FailureKind::OperationFailed)
        );
        insta::assert_snapshot!(render_report(&report));
    }

    #[test]
    fn still_running_at_our_timeout() {
        let report = report(Ending::StillRunning {
            timeout: Duration::from_secs(60),
        });
        assert_eq!(failure_kind(report.ending), Some(FailureKind::TimedOut));
        insta::assert_snapshot!(render_report(&report));
        insta::assert_snapshot!("still_running_summary", render_step_summary(&report));
        insta::assert_snapshot!("still_running_error_line", failure_summary(&report));
    }

    #[test]
    fn interrupted() {
        let left = report(Ending::InterruptedLeftRunning);
        assert_eq!(failure_kind(left.ending), Some(FailureKind::Interrupted));
        insta::assert_snapshot!("interrupted_left_running", render_report(&left));
        let stopped = report(Ending::InterruptedStopped);
        insta::assert_snapshot!("interrupted_stopped", render_report(&stopped));
    }

    #[test]
    fn long_causes_are_clipped() {
        let mut report = report(Ending::Ended(Terminal::Failed));
        report.cause = Some("x".repeat(5000));
        let text = render_report(&report);
        assert!(text.contains("(5000 characters in all)"));
        assert!(text.len() < 2500);
    }
}
