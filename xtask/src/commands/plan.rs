//! `cargo xtask plan`: terraform plan per environment, summarized from the plan JSON and posted as
//! one updated comment per environment.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, Environment};
use crate::failure::{Classify, FailureKind, fail};
use crate::github::{self, GitHub, Label, Upsert};
use crate::github_actions;
use crate::plan::errors::{error_blocks, hint_for};
use crate::plan::mask::Masker;
use crate::plan::model::Plan;
use crate::plan::render::{
    self, COMMENT_LIMIT, Context as RenderContext, STEP_SUMMARY_LIMIT, summary_line,
};
use crate::plan::summary::{Summary, SummaryJson, sensitive_strings};
use crate::terraform::{PlanExit, Terraform};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Environments to plan (repeatable). Default: the changed ones, or `dev`.
    #[arg(long = "env", value_name = "NAME")]
    pub envs: Vec<String>,
    /// Plan every environment.
    #[arg(long, conflicts_with_all = ["envs", "changed_since"])]
    pub all: bool,
    /// Plan the environments affected by the changes since this git ref.
    #[arg(long, value_name = "REF")]
    pub changed_since: Option<String>,
    /// Post (or update) the plan comment on the pull request.
    #[arg(long)]
    pub comment: bool,
    /// The pull request (default: from the GitHub event).
    #[arg(long)]
    pub pr: Option<u64>,
    /// Write the per-environment summary as JSON.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// Write the rendered comment markdown instead of posting it.
    #[arg(long, value_name = "FILE")]
    pub comment_file: Option<PathBuf>,
    /// Render from an existing `terraform show -json` output instead of running terraform.
    #[arg(long, value_name = "FILE")]
    pub from_plan: Option<PathBuf>,
}

/// The result of one environment.
struct EnvResult {
    env: String,
    /// The PR comment (capped to GitHub's limit).
    comment: String,
    /// The same with the full plan text, for the job summary.
    full: String,
    json: SummaryJson,
    /// `None` when the plan failed.
    summary: Option<Summary>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = super::load_config()?;
    let envs = select_environments(&config, &args)?;
    let masker = Masker::new(&config.repo.plan.masks, |name| std::env::var(name).ok())?;
    let run_url = github_actions::run_url();

    let mut results = Vec::new();
    for env in &envs {
        let environment = config.environment(env)?;
        let result = match &args.from_plan {
            Some(path) => from_plan_file(env, path, &masker, run_url.as_deref())?,
            None => plan_environment(&config, environment, &masker, run_url.as_deref())?,
        };
        // The result reaches the log and the job summary before anything talks to GitHub, so
        // an API failure cannot hide it.
        // The environment and the counts: nothing to mask (values were masked in the summary).
        println!("{}", log_line(&result));
        github_actions::append_step_summary(&result.full)?;
        results.push(result);
    }

    let jsons: Vec<&SummaryJson> = results.iter().map(|r| &r.json).collect();
    let json = serde_json::to_string_pretty(&jsons)
        .context("serializing the plan summary")
        .classify(FailureKind::OperationFailed)?;
    if let Some(path) = &args.summary_json {
        crate::generate::write_atomically(path, &format!("{json}\n"))?;
    }
    github_actions::set_output("plan-summary", &compact(&jsons)?)?;
    if let Some(path) = &args.comment_file {
        let comments: Vec<&str> = results.iter().map(|r| r.comment.as_str()).collect();
        crate::generate::write_atomically(path, &comments.join("\n\n---\n\n"))?;
    }

    let posted = if args.comment {
        post(&config, &args, &results)
    } else {
        Ok(())
    };

    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.summary.is_none())
        .map(|r| r.env.as_str())
        .collect();
    if !failed.is_empty() {
        if let Err(error) = posted {
            eprintln!("error: {error:#}");
        }
        return Err(fail(
            FailureKind::OperationFailed,
            format!("terraform plan failed for {}", failed.join(", ")),
        ));
    }
    posted
}

fn compact(jsons: &[&SummaryJson]) -> anyhow::Result<String> {
    serde_json::to_string(jsons)
        .context("serializing the plan summary")
        .classify(FailureKind::OperationFailed)
}

fn log_line(result: &EnvResult) -> String {
    match &result.summary {
        Some(summary) => format!("{}: {}", result.env, summary_line(summary)),
        None => format!(
            "{}: plan failed (see the comment or the job summary)",
            result.env
        ),
    }
}

fn select_environments(config: &Config, args: &Args) -> anyhow::Result<Vec<String>> {
    if args.all {
        return Ok(config.environments.keys().cloned().collect());
    }
    if !args.envs.is_empty() {
        for env in &args.envs {
            config.environment(env)?;
        }
        return Ok(args.envs.clone());
    }
    if let Some(base) = &args.changed_since {
        return crate::affected::affected_since(config, base);
    }
    if args.from_plan.is_some() {
        return Ok(vec![default_env(config)?]);
    }
    // On a branch: what changed since it left the default branch; otherwise dev.
    let base = format!("origin/{}", config.repo.github.default_branch);
    match crate::affected::affected_since(config, &base) {
        Ok(envs) if !envs.is_empty() => Ok(envs),
        _ => Ok(vec![default_env(config)?]),
    }
}

fn default_env(config: &Config) -> anyhow::Result<String> {
    if config.environments.contains_key("dev") {
        return Ok("dev".to_owned());
    }
    config.environments.keys().next().cloned().ok_or_else(|| {
        fail(
            FailureKind::Config,
            "no environments: add environments/<name>/xtask.toml (cargo xtask new-env)",
        )
    })
}

fn render_context<'a>(env: &'a str, run_url: Option<&'a str>, limit: usize) -> RenderContext<'a> {
    RenderContext {
        env,
        run_url,
        limit,
    }
}

fn planned(
    env: &str,
    plan: &Plan,
    text: Option<&str>,
    masker: &Masker,
    run_url: Option<&str>,
) -> EnvResult {
    let mut masker = masker.clone();
    for value in sensitive_strings(plan) {
        masker.add_literal(&value);
    }
    let summary = Summary::from_plan(plan);
    let comment = render::render_plan(
        &summary,
        text,
        &masker,
        &render_context(env, run_url, COMMENT_LIMIT),
    );
    let full = render::render_plan(
        &summary,
        text,
        &masker,
        &render_context(env, run_url, STEP_SUMMARY_LIMIT),
    );
    EnvResult {
        env: env.to_owned(),
        comment,
        full,
        // Values masked, the environment name (ours) not.
        json: masker.summary(&summary).to_json(env),
        summary: Some(summary),
    }
}

fn failed(
    env: &str,
    step: &str,
    output: &str,
    masker: &Masker,
    run_url: Option<&str>,
) -> EnvResult {
    let errors = error_blocks(output);
    let hint = hint_for(&errors);
    let comment = render::render_failure(
        step,
        &errors,
        hint,
        masker,
        &render_context(env, run_url, COMMENT_LIMIT),
    );
    // The log keeps terraform's own words (masked) for whoever reads the job.
    eprintln!("{}", masker.mask(output.trim()));
    EnvResult {
        env: env.to_owned(),
        full: comment.clone(),
        comment,
        json: SummaryJson::failed(env),
        summary: None,
    }
}

fn from_plan_file(
    env: &str,
    path: &Path,
    masker: &Masker,
    run_url: Option<&str>,
) -> anyhow::Result<EnvResult> {
    let bytes = crate::terraform::read_file(path)?;
    let plan = Plan::from_slice(&bytes)
        .with_context(|| format!("{} is not `terraform show -json` output", path.display()))
        .classify(FailureKind::Config)?;
    drop(bytes);
    Ok(planned(env, &plan, None, masker, run_url))
}

fn plan_environment(
    config: &Config,
    environment: &Environment,
    masker: &Masker,
    run_url: Option<&str>,
) -> anyhow::Result<EnvResult> {
    let env = environment.name.as_str();
    let dir = config.root.join(environment.terraform_dir());
    let terraform = Terraform::new(&dir);
    let backend = config
        .root
        .join(&environment.dir)
        .join("generated/backend.tfbackend");
    let work = config.root.join("target/xtask/plan").join(env);
    std::fs::create_dir_all(&work)
        .with_context(|| format!("creating {}", work.display()))
        .classify(FailureKind::Environment)?;
    let plan_file = work.join("tfplan");
    let json_file = work.join("plan.json");

    let init = terraform.init(Some(&backend))?;
    if !init.success() {
        return Ok(failed(env, "init", &init.combined(), masker, run_url));
    }
    let validate = terraform.validate()?;
    if !validate.success() {
        return Ok(failed(
            env,
            "validate",
            &validate.combined(),
            masker,
            run_url,
        ));
    }
    match terraform.plan(&plan_file)? {
        PlanExit::Failed(output) => {
            return Ok(failed(env, "plan", &output.combined(), masker, run_url));
        }
        PlanExit::NoChanges | PlanExit::Changes => {}
    }
    terraform.show_json(&plan_file, &json_file)?;
    let text = terraform.show_text(&plan_file)?;
    let bytes = crate::terraform::read_file(&json_file)?;
    let plan = Plan::from_slice(&bytes)
        .with_context(|| format!("parsing {}", json_file.display()))
        .classify(FailureKind::OperationFailed)?;
    drop(bytes);
    Ok(planned(env, &plan, Some(&text), masker, run_url))
}

fn labels_for(env: &str, result: &EnvResult) -> (Vec<Label>, Vec<String>) {
    let label = |suffix: &str, color: &str, description: &str| Label {
        name: format!("{env}/{suffix}"),
        color: color.to_owned(),
        description: description.to_owned(),
    };
    let managed = ["add-or-update", "destroy", "no-changes"]
        .iter()
        .map(|suffix| format!("{env}/{suffix}"))
        .collect();
    let wanted = match &result.summary {
        None => Vec::new(),
        Some(summary) if summary.has_destroy() => vec![label(
            "destroy",
            "d73a4a",
            "terraform plan destroys or replaces resources",
        )],
        Some(summary) if summary.has_changes() => vec![label(
            "add-or-update",
            "1d76db",
            "terraform plan adds or updates resources",
        )],
        Some(_) => vec![label(
            "no-changes",
            "0e8a16",
            "terraform plan has no changes",
        )],
    };
    (wanted, managed)
}

fn post(config: &Config, args: &Args, results: &[EnvResult]) -> anyhow::Result<()> {
    let pr = github::resolve_pull_request(args.pr)?;
    let settings = github::Settings::from_env(Some(&config.repository()))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .classify(FailureKind::Environment)?;
    runtime.block_on(async {
        let client = GitHub::new(settings)?;
        let mut first_error = None;
        for result in results {
            let posted = async {
                let outcome = client
                    .upsert_comment(pr, &render::marker(&result.env), &result.comment)
                    .await?;
                let (wanted, managed) = labels_for(&result.env, result);
                // A failed plan keeps the labels of the last good one.
                if result.summary.is_some() {
                    client.sync_labels(pr, &wanted, &managed).await?;
                }
                Ok::<Upsert, anyhow::Error>(outcome)
            }
            .await;
            match posted {
                Ok(outcome) => println!("{}: {outcome} on #{pr}", result.env),
                Err(error) => {
                    let error = error.context(format!("posting the {} plan to #{pr}", result.env));
                    eprintln!("error: {error:#}");
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    })
}
