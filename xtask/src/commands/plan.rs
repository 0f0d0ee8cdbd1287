//! `cargo xtask plan`: terraform plan per environment, summarized from the plan JSON and posted as
//! one updated comment per environment.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, Environment};
use crate::failure::{Classify, FailureKind, fail};
use crate::github::{self, GitHub, Upsert};
use crate::github_actions;
use crate::plan::digest::{ChangeSet, Stamp};
use crate::plan::errors::Output;
use crate::plan::mask::Masker;
use crate::plan::model::Plan;
use crate::plan::record::{self, Record};
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
    #[arg(long, value_name = "FILE", conflicts_with = "from_record")]
    pub from_plan: Option<PathBuf>,
    /// Also write each environment's result under DIR/<env>/ (the plan JSON without attribute
    /// values, the masked plan text, or the failed step): what the job that runs terraform hands
    /// to the job that posts the comment.
    #[arg(long, value_name = "DIR", conflicts_with = "from_record")]
    pub record: Option<PathBuf>,
    /// Render from the records `--record` wrote instead of running terraform (an environment
    /// without one is reported as a failed plan).
    #[arg(long, value_name = "DIR")]
    pub from_record: Option<PathBuf>,
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
    let outlets = Outlets {
        run_url: github_actions::run_url(),
        // GitHub's limit is per step: the environments share it.
        step_summary_limit: STEP_SUMMARY_LIMIT / envs.len().max(1),
    };

    let mut results = Vec::new();
    for env in &envs {
        let environment = config.environment(env)?;
        let result = match (&args.from_plan, &args.from_record) {
            (Some(path), _) => from_plan_file(env, path, &masker, &outlets)?,
            (None, Some(dir)) => from_record(env, dir, &masker, &outlets)?,
            (None, None) => plan_environment(
                &config,
                environment,
                &masker,
                &outlets,
                args.record.as_deref(),
            )?,
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
        crate::fs::write_atomically(path, format!("{json}\n"))?;
    }
    github_actions::set_output("plan-summary", &compact(&jsons)?)?;
    if let Some(path) = &args.comment_file {
        let comments: Vec<&str> = results.iter().map(|r| r.comment.as_str()).collect();
        crate::fs::write_atomically(path, comments.join("\n\n---\n\n"))?;
    }

    let posted = if args.comment {
        post(&config, &args, &results)
    } else {
        Ok(())
    };

    // A plan file written by a plan that errored (`--from-plan`) failed as much as a plan run.
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.summary.as_ref().is_none_or(|s| s.errored))
        .map(|r| r.env.as_str())
        .collect();
    if !failed.is_empty() {
        if let Err(error) = posted {
            // Already printed by `post`; `report` prints only what was not.
            let _ = crate::failure::report(error);
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
        return config.named_environments(&args.envs);
    }
    if let Some(base) = &args.changed_since {
        return crate::affected::affected_since(config, base);
    }
    if args.from_plan.is_some() || args.from_record.is_some() {
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

fn render_context<'a>(env: &'a str, run_url: Option<&'a str>) -> RenderContext<'a> {
    RenderContext {
        limit: COMMENT_LIMIT,
        ..RenderContext::job_summary(env, run_url, COMMENT_LIMIT)
    }
}

/// Where a result goes besides the comment.
struct Outlets {
    /// The link to the CI run, when running in Actions.
    run_url: Option<String>,
    /// The room of one environment in the job summary.
    step_summary_limit: usize,
}

fn planned(
    env: &str,
    plan: &Plan,
    text: Option<&str>,
    stamp: Option<&Stamp>,
    masker: &Masker,
    outlets: &Outlets,
) -> EnvResult {
    let run_url = outlets.run_url.as_deref();
    let mut masker = masker.clone();
    for value in sensitive_strings(plan) {
        masker.add_literal(&value);
    }
    let summary = Summary::from_plan(plan);
    // The job summary first: the comment says what it holds in full.
    let (full, complete) = render::render_plan_complete(
        &summary,
        text,
        &masker,
        &RenderContext {
            stamp,
            ..RenderContext::job_summary(env, run_url, outlets.step_summary_limit)
        },
    );
    let comment = render::render_plan(
        &summary,
        text,
        &masker,
        &RenderContext {
            stamp,
            ..RenderContext::comment(env, run_url, complete)
        },
    );
    // The log lists every address (the comment may count them per type) and terraform's text.
    let addresses = render::address_list(&summary);
    if !addresses.is_empty() {
        println!("{}", masker.mask(&addresses));
    }
    if let Some(text) = text {
        println!("{}", masker.mask(text));
    }
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
    let output = Output::parse(output);
    let comment = render::render_failure(
        step,
        &output.errors(),
        output.hint(),
        masker,
        &render_context(env, run_url),
    );
    // The log keeps terraform's own words (masked) for whoever reads the job.
    eprintln!("{}", masker.mask(&output.log()));
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
    outlets: &Outlets,
) -> anyhow::Result<EnvResult> {
    // The file is named on the command line: a missing or unreadable one is a usage mistake.
    let bytes = std::fs::read(path)
        .with_context(|| format!("--from-plan {}: cannot read it", path.display()))
        .classify(FailureKind::Config)?;
    let plan = Plan::from_slice(&bytes).map_err(|why| {
        fail(
            FailureKind::Config,
            format!("--from-plan {}: {why}", path.display()),
        )
    })?;
    drop(bytes);
    let stamp = ChangeSet::from_plan(&plan).stamp();
    Ok(planned(env, &plan, None, Some(&stamp), masker, outlets))
}

/// Renders an environment from the record of the job that ran terraform: untrusted data, parsed
/// with the plan model and rendered by our renderer like any plan.
fn from_record(
    env: &str,
    dir: &Path,
    masker: &Masker,
    outlets: &Outlets,
) -> anyhow::Result<EnvResult> {
    let run_url = outlets.run_url.as_deref();
    match record::read(dir, env)? {
        Record::Planned { plan_json, text } => {
            let plan = Plan::from_slice(&plan_json)
                .with_context(|| {
                    format!(
                        "{} is not a plan record",
                        record::env_dir(dir, env).join(record::PLAN_FILE).display()
                    )
                })
                .classify(FailureKind::Config)?;
            let text = (!text.trim().is_empty()).then_some(text);
            // Computed by the plan job from the full plan (the record holds no values).
            let stamp = record::read_stamp(dir, env);
            Ok(planned(
                env,
                &plan,
                text.as_deref(),
                stamp.as_ref(),
                masker,
                outlets,
            ))
        }
        Record::Failed(failure) => Ok(failed(env, &failure.step, &failure.output, masker, run_url)),
    }
}

/// A failed step: recorded (masked) when `--record` asks for it, then rendered.
fn failed_step(
    env: &str,
    step: &str,
    output: &str,
    masker: &Masker,
    run_url: Option<&str>,
    record_dir: Option<&Path>,
) -> anyhow::Result<EnvResult> {
    if let Some(dir) = record_dir {
        record::write_failed(
            dir,
            env,
            &record::Failure {
                step: step.to_owned(),
                output: masker.mask(output),
            },
        )?;
    }
    Ok(failed(env, step, output, masker, run_url))
}

fn plan_environment(
    config: &Config,
    environment: &Environment,
    masker: &Masker,
    outlets: &Outlets,
    record_dir: Option<&Path>,
) -> anyhow::Result<EnvResult> {
    let env = environment.name.as_str();
    let run_url = outlets.run_url.as_deref();
    let dir = config.root.join(environment.terraform_dir());
    let terraform = Terraform::new(&dir);
    let backend = crate::environment::backend_file(config, environment);
    let work = crate::environment::work_dir(config, "plan", environment);
    std::fs::create_dir_all(&work)
        .with_context(|| format!("creating {}", work.display()))
        .classify(FailureKind::Environment)?;
    let plan_file = work.join("tfplan");
    let json_file = work.join("plan.json");

    let init = terraform.init(Some(&backend))?;
    if !init.success {
        return failed_step(env, "init", &init.combined(), masker, run_url, record_dir);
    }
    let validate = terraform.validate()?;
    if !validate.success {
        return failed_step(
            env,
            "validate",
            &validate.combined(),
            masker,
            run_url,
            record_dir,
        );
    }
    match terraform.plan(&plan_file)? {
        PlanExit::Failed(output) => {
            return failed_step(env, "plan", &output.combined(), masker, run_url, record_dir);
        }
        PlanExit::NoChanges | PlanExit::Changes => {}
    }
    terraform.show_json(&plan_file, &json_file)?;
    let text = terraform.show_text(&plan_file)?;
    let bytes = crate::terraform::read_file(&json_file)?;
    let plan = Plan::from_slice(&bytes)
        .with_context(|| format!("parsing {}", json_file.display()))
        .classify(FailureKind::OperationFailed)?;
    let stamp = ChangeSet::from_plan(&plan).stamp();
    if let Some(dir) = record_dir {
        let mut masker = masker.clone();
        for value in sensitive_strings(&plan) {
            masker.add_literal(&value);
        }
        record::write_planned(dir, env, &bytes, &text, |t| masker.mask(t))?;
        record::write_stamp(dir, env, &stamp)?;
    }
    drop(bytes);
    Ok(planned(
        env,
        &plan,
        Some(&text),
        Some(&stamp),
        masker,
        outlets,
    ))
}

fn post(config: &Config, args: &Args, results: &[EnvResult]) -> anyhow::Result<()> {
    let pr = github::resolve_pull_request(args.pr)?;
    let settings = github::Settings::for_config(config)?;
    let runtime = crate::runtime::current_thread()?;
    runtime.block_on(async {
        let client = GitHub::new(settings)?;
        let mut first_error = None;
        for result in results {
            let posted = async {
                let outcome = client
                    .upsert_comment(pr, &render::marker(&result.env), &result.comment)
                    .await?;
                if render::labels_apply(result.summary.as_ref()) {
                    let (wanted, managed) = render::labels(&result.env, result.summary.as_ref());
                    client.sync_labels(pr, &wanted, &managed).await?;
                }
                Ok::<Upsert, anyhow::Error>(outcome)
            }
            .await;
            match posted {
                Ok(outcome) => println!("{}: {outcome} on #{pr}", result.env),
                Err(error) => {
                    let error = error.context(format!("posting the {} plan to #{pr}", result.env));
                    // Printed here, next to its environment; `main` does not print it again.
                    let error = crate::failure::report(error);
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    })
}
