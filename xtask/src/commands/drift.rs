//! `cargo xtask drift [--env NAME]... [--summary-json FILE]`: per environment, a refresh-only plan
//! and a normal plan (read-only, no lock), the drift they show (see [`crate::drift`]), and the
//! environment's drift issue opened, updated in place or closed to match.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, Environment};
use crate::drift::{self, Checked, Drift, Existing, IssueAction, Run};
use crate::failure::{Classify, FailureKind, fail, report};
use crate::github::{self, GitHub};
use crate::github_actions;
use crate::plan::errors::Output;
use crate::plan::mask::Masker;
use crate::plan::model::Plan;
use crate::plan::render::STEP_SUMMARY_LIMIT;
use crate::plan::summary::sensitive_strings;
use crate::terraform::{PlanExit, Terraform};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environments to check (repeatable). Default: every environment of the configuration.
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,
    /// Write the machine-readable result (a list, one object per environment) as JSON.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

/// How one environment ended.
struct EnvResult {
    env: String,
    checked: Checked,
    action: &'static str,
    issue: Option<u64>,
    /// The GitHub error that kept the issue from matching the drift (redacted).
    github_error: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = super::load_config()?;
    let envs = config.named_environments(&args.envs)?;
    let masker = Masker::new(&config.repo.plan.masks, |name| std::env::var(name).ok())?;
    let run_url = github_actions::run_url();
    let commit = checked_commit();
    let run = Run {
        commit: commit.as_deref(),
        run_url: run_url.as_deref(),
    };
    let runtime = crate::runtime::current_thread()?;
    let client = runtime.block_on(async { GitHub::new(github::Settings::for_config(&config)?) })?;
    // GitHub's limit is per step: the environments share it.
    let summary_limit = STEP_SUMMARY_LIMIT / envs.len().max(1);

    let mut results = Vec::new();
    let mut first_github_error = None;
    for env in &envs {
        let environment = config.environment(env)?;
        // 1. The two plans; a failure is this environment's result, the others go on.
        let checked = check(&config, environment, &masker)?;
        // 2. The log, before anything talks to GitHub.
        log(env, &checked);
        // 3. The issue (left alone when the check failed).
        let synced = match &checked {
            Checked::Failed { .. } => Ok((IssueAction::Leave { number: None }, None)),
            Checked::Planned(_) => runtime.block_on(sync_issue(&client, env, &checked, &run)),
        };
        let (result, github_error) = env_result(env, checked, synced);
        if let Some(error) = github_error {
            first_github_error.get_or_insert(error);
        }
        // 4. The job summary.
        github_actions::append_step_summary(&drift::render_summary(
            env,
            &result.checked,
            &issue_sentence(&result),
            summary_limit,
        ))?;
        results.push(result);
    }

    // 5. The machine-readable result, then the exit code: a failed check first (5), then a
    // GitHub error (4).
    if let Some(path) = &args.summary_json {
        write_summary_json(path, &results)?;
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| matches!(r.checked, Checked::Failed { .. }))
        .map(|r| r.env.as_str())
        .collect();
    if !failed.is_empty() {
        return Err(fail(
            FailureKind::OperationFailed,
            format!(
                "the drift check failed for {} (see the log or the job summary); their issues were left as they were",
                failed.join(", ")
            ),
        ));
    }
    first_github_error.map_or(Ok(()), Err)
}

/// The environment's result, and the GitHub error (already printed) that kept its issue from
/// matching the drift.
fn env_result(
    env: &str,
    checked: Checked,
    synced: anyhow::Result<(IssueAction, Option<u64>)>,
) -> (EnvResult, Option<anyhow::Error>) {
    match synced {
        Ok((action, issue)) => {
            if let Some(number) = issue {
                println!("{env}: issue #{number} {}", action.word());
            }
            let result = EnvResult {
                env: env.to_owned(),
                checked,
                action: action.word(),
                issue,
                github_error: None,
            };
            (result, None)
        }
        Err(error) => {
            let error = error.context(format!("keeping the {env} drift issue up to date"));
            let text = crate::redact::redact(&format!("{error:#}"));
            // Printed here, next to its environment; `main` does not print it again.
            let error = report(error);
            let result = EnvResult {
                env: env.to_owned(),
                checked,
                action: "none",
                issue: None,
                github_error: Some(text),
            };
            (result, Some(error))
        }
    }
}

/// The checked commit from `GITHUB_SHA`, when it is one.
fn checked_commit() -> Option<String> {
    std::env::var("GITHUB_SHA")
        .ok()
        .filter(|sha| crate::github::is_commit_sha(sha))
}

/// `terraform init`, the refresh-only plan and the normal plan of one environment, read into its
/// masked drift; a failed step is the environment's result.
fn check(config: &Config, environment: &Environment, masker: &Masker) -> anyhow::Result<Checked> {
    let terraform = Terraform::new(&config.root.join(environment.terraform_dir()));
    let backend = crate::environment::backend_file(config, environment);
    let work = crate::environment::work_dir(config, "drift", environment);
    std::fs::create_dir_all(&work)
        .with_context(|| format!("creating {}", work.display()))
        .classify(FailureKind::Environment)?;
    let init = terraform.init(Some(&backend))?;
    if !init.success {
        return Ok(failed(masker, "init", &init.combined()));
    }
    let refresh_only = match plan(&terraform, &work, masker, true)? {
        Ok(plan) => plan,
        Err(failure) => return Ok(failure),
    };
    let normal = match plan(&terraform, &work, masker, false)? {
        Ok(plan) => plan,
        Err(failure) => return Ok(failure),
    };
    let mut masker = masker.clone();
    for value in sensitive_strings(&refresh_only)
        .into_iter()
        .chain(sensitive_strings(&normal))
    {
        masker.add_literal(&value);
    }
    Ok(Checked::Planned(
        Drift::from_plans(&refresh_only, &normal).masked(&masker),
    ))
}

/// One saved plan (refresh-only or normal) read from `terraform show -json`, or the failed step.
fn plan(
    terraform: &Terraform,
    work: &Path,
    masker: &Masker,
    refresh_only: bool,
) -> anyhow::Result<Result<Plan, Checked>> {
    let (step, name) = if refresh_only {
        ("plan -refresh-only", "refresh-only")
    } else {
        ("plan", "plan")
    };
    let plan_file = work.join(format!("{name}.tfplan"));
    let json_file = work.join(format!("{name}.json"));
    let exit = if refresh_only {
        terraform.plan_refresh_only(&plan_file)?
    } else {
        terraform.plan(&plan_file)?
    };
    if let PlanExit::Failed(output) = exit {
        return Ok(Err(failed(masker, step, &output.combined())));
    }
    terraform.show_json(&plan_file, &json_file)?;
    let bytes = crate::terraform::read_file(&json_file)?;
    Ok(Plan::from_slice(&bytes).map_err(|why| {
        failed(
            masker,
            &format!("show -json ({step})"),
            &format!("{} is not a plan: {why}", json_file.display()),
        )
    }))
}

/// A failed step: terraform's words (masked) to the log, its `Error:` blocks (masked) as the
/// environment's result.
fn failed(masker: &Masker, step: &str, output: &str) -> Checked {
    let output = Output::parse(output);
    eprintln!("{}", masker.mask(&output.log()));
    Checked::Failed {
        step: step.to_owned(),
        errors: masker.mask(output.errors().trim()),
    }
}

fn log(env: &str, checked: &Checked) {
    match checked {
        Checked::Planned(drift) => {
            println!("{env}: {}", drift.line());
            let lines = drift::log_lines(env, drift);
            if !lines.is_empty() {
                println!("{lines}");
            }
        }
        Checked::Failed { step, .. } => {
            println!(
                "{env}: the drift check failed at `terraform {step}`; the issue is left as it was"
            );
        }
    }
}

/// Finds our issue, decides, and does what the decision says; the action and the issue number.
async fn sync_issue(
    client: &GitHub,
    env: &str,
    checked: &Checked,
    run: &Run<'_>,
) -> anyhow::Result<(IssueAction, Option<u64>)> {
    let marker = drift::marker(env);
    let label = drift::label(env);
    let existing = client.find_own_issue(&marker, &label.name).await?;
    let action = drift::decide(
        env,
        checked,
        existing.as_ref().map(|issue| Existing {
            number: issue.number,
            title: &issue.title,
            body: issue.body.as_deref().unwrap_or_default(),
        }),
        run,
    );
    let number = match &action {
        IssueAction::Open { title, body } => Some(
            client
                .open_own_issue(&marker, &label, title, body)
                .await?
                .number,
        ),
        IssueAction::Update {
            number,
            title,
            body,
        } => {
            client.update_issue(*number, title, body).await?;
            Some(*number)
        }
        IssueAction::Unchanged { number } => Some(*number),
        IssueAction::Close { number, comment } => {
            client
                .close_issue_with_comment(*number, &drift::resolved_marker(env), comment)
                .await?;
            Some(*number)
        }
        IssueAction::Nothing => None,
        IssueAction::Leave { number } => *number,
    };
    Ok((action, number))
}

/// What happened to the issue, one sentence of Markdown for the job summary.
fn issue_sentence(result: &EnvResult) -> String {
    if let Some(error) = &result.github_error {
        return format!(
            "The drift issue could not be kept up to date: {}",
            crate::markdown::text(error)
        );
    }
    match (result.action, result.issue) {
        ("opened", Some(n)) => format!("Issue #{n} opened."),
        ("updated", Some(n)) => format!("Issue #{n} updated."),
        ("unchanged", Some(n)) => format!("Issue #{n} already says this."),
        ("closed", Some(n)) => format!("Issue #{n} commented and closed."),
        _ => "No drift issue was open.".to_owned(),
    }
}

fn write_summary_json(path: &std::path::Path, results: &[EnvResult]) -> anyhow::Result<()> {
    let list: Vec<serde_json::Value> = results
        .iter()
        .map(|r| {
            drift::summary_json(
                &r.env,
                &r.checked,
                r.issue,
                r.action,
                r.github_error.as_deref(),
            )
        })
        .collect();
    let text = serde_json::to_string_pretty(&list)
        .context("serializing the drift summary")
        .classify(FailureKind::OperationFailed)?;
    crate::fs::write_atomically(path, format!("{text}\n"))
}
