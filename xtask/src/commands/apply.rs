//! `cargo xtask apply --env NAME [--commit SHA] [--accept DIGEST]`: plans the merged commit,
//! applies that saved plan only when its change set is the one reviewed on the merged pull request
//! (see [`crate::apply`]), and tells the outcome on the PR's plan comment and in the job summary.

use std::path::PathBuf;

use anyhow::Context;

use crate::apply::{self, Decision, Outcome, Reviewed, Run};
use crate::failure::{Classify, FailureKind, fail};
use crate::github::{self, GitHub};
use crate::github_actions;
use crate::plan::digest::{self, ChangeSet, Difference, Stamp};
use crate::plan::errors::Output;
use crate::plan::mask::Masker;
use crate::plan::model::Plan;
use crate::plan::render::marker;
use crate::plan::summary::sensitive_strings;
use crate::terraform::{PlanExit, Terraform};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment to apply.
    #[arg(long = "env", value_name = "NAME")]
    pub env: String,
    /// The merged commit (default: `GITHUB_SHA`).
    #[arg(long, value_name = "SHA", env = "GITHUB_SHA")]
    pub commit: String,
    /// Apply the merged commit's plan although it differs from the reviewed one, when its digest
    /// is exactly this (`sha256:...`, as the plan comment or the refusal shows it).
    #[arg(long, value_name = "DIGEST")]
    pub accept: Option<String>,
    /// Write the machine-readable result as JSON.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = super::load_config()?;
    let environment = config.environment(&args.env)?;
    check_arguments(&args)?;
    let mut masker = Masker::new(&config.repo.plan.masks, |name| std::env::var(name).ok())?;
    let runtime = crate::runtime::current_thread()?;
    let client = runtime.block_on(async { GitHub::new(github::Settings::for_config(&config)?) })?;
    let env_marker = marker(&args.env);

    // 1. What was reviewed: our plan comment on the pull request the commit merged.
    let (reviewed, comment) = runtime.block_on(reviewed(&client, &args.commit, &env_marker))?;

    // 2. The merged commit's plan, saved.
    let dir = config.root.join(environment.terraform_dir());
    let terraform = Terraform::new(&dir);
    let backend = crate::environment::backend_file(&config, environment);
    let work = crate::environment::work_dir(&config, "apply", environment);
    std::fs::create_dir_all(&work)
        .with_context(|| format!("creating {}", work.display()))
        .classify(FailureKind::Environment)?;
    let plan_file = work.join("tfplan");
    let json_file = work.join("plan.json");
    let init = terraform.init(Some(&backend))?;
    let planned = if init.success {
        match terraform.plan(&plan_file)? {
            PlanExit::Failed(output) => Err(Output::parse(&output.combined())),
            PlanExit::NoChanges | PlanExit::Changes => Ok(()),
        }
    } else {
        Err(Output::parse(&init.combined()))
    };
    let run_url = github_actions::run_url();
    let (outcome, merged_digest) = match planned {
        Err(output) => (
            Outcome::Failed {
                errors: output.errors(),
            },
            String::new(),
        ),
        Ok(()) => {
            terraform.show_json(&plan_file, &json_file)?;
            let bytes = crate::terraform::read_file(&json_file)?;
            let plan = Plan::from_slice(&bytes)
                .with_context(|| format!("parsing {}", json_file.display()))
                .classify(FailureKind::OperationFailed)?;
            for value in sensitive_strings(&plan) {
                masker.add_literal(&value);
            }
            let merged = ChangeSet::from_plan(&plan);
            let merged_digest = merged.digest();
            // 3. The decision, then (only when allowed) the apply of that saved plan.
            let decision = apply::decide(
                &reviewed,
                &merged_digest,
                !merged.is_empty(),
                |stamp| Difference::between(stamp, &merged, &plan),
                args.accept.as_deref(),
            );
            let outcome = match decision {
                Decision::NothingToApply => Outcome::NothingToApply,
                Decision::Refuse(refusal) => Outcome::NotApplied(refusal),
                Decision::Apply { accepted } => {
                    let finished = terraform.apply_saved(&plan_file)?;
                    let output = Output::parse(&finished.combined());
                    eprintln!("{}", masker.mask(&output.log()));
                    if finished.success {
                        Outcome::Applied { accepted }
                    } else {
                        Outcome::Failed {
                            errors: output.errors(),
                        }
                    }
                }
            };
            (outcome, merged_digest)
        }
    };

    // 4. The outcome: log and job summary first, then the comment, in one write.
    let run = Run {
        env: &args.env,
        commit: &args.commit,
        run_url: run_url.as_deref(),
        merged_digest: &merged_digest,
    };
    let section = apply::render(&outcome, &run, &masker);
    println!("{}: {}", args.env, outcome.word());
    github_actions::append_step_summary(&section)?;
    let (pr, reviewed_digest) = match &reviewed {
        Reviewed::Found { pr, stamp } => (Some(*pr), Some(stamp.digest.as_str())),
        Reviewed::NoPlanComment { pr } => (Some(*pr), None),
        Reviewed::NoPullRequest => (None, None),
    };
    let json = apply::summary_json(&outcome, &run, pr, reviewed_digest);
    if let Some(path) = &args.summary_json {
        crate::fs::write_atomically(path, format!("{json:#}\n"))?;
    }
    if let Some((id, body)) = comment {
        runtime.block_on(client.update_comment(id, &apply::with_outcome(&body, &section)))?;
    }
    match outcome.exit_code() {
        0 => Ok(()),
        _ => Err(fail(
            FailureKind::OperationFailed,
            format!("{}: {} (see the job summary)", args.env, outcome.word()),
        )),
    }
}

fn check_arguments(args: &Args) -> anyhow::Result<()> {
    if !github::is_commit_sha(&args.commit) {
        return Err(fail(
            FailureKind::Config,
            "--commit must be a commit SHA (hex)",
        ));
    }
    if let Some(accept) = &args.accept
        && !digest::is_digest(accept)
    {
        return Err(fail(
            FailureKind::Config,
            "--accept must be a change-set digest as the plan comment shows it: `sha256:` and 64 lowercase hex digits",
        ));
    }
    Ok(())
}

/// The reviewed stamp, and our plan comment (id, body) to update with the outcome.
async fn reviewed(
    client: &GitHub,
    commit: &str,
    env_marker: &str,
) -> anyhow::Result<(Reviewed, Option<(u64, String)>)> {
    let Some(pr) = client.pull_request_merged_as(commit).await? else {
        return Ok((Reviewed::NoPullRequest, None));
    };
    let Some(comment) = client
        .own_comments(pr, env_marker)
        .await?
        .into_iter()
        .next()
    else {
        return Ok((Reviewed::NoPlanComment { pr }, None));
    };
    let body = comment.body.unwrap_or_default();
    let reviewed = match Stamp::from_comment(&body, env_marker) {
        Some(stamp) => Reviewed::Found { pr, stamp },
        None => Reviewed::NoPlanComment { pr },
    };
    Ok((reviewed, Some((comment.id.into_inner(), body))))
}
