//! `cargo xtask plan`: terraform plan per environment, summarized from the plan JSON and posted as
//! one updated comment per environment.

use std::path::PathBuf;

use crate::failure::{FailureKind, fail};

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

pub fn run(_args: Args) -> anyhow::Result<()> {
    Err(fail(
        FailureKind::Config,
        "`cargo xtask plan` is not implemented yet",
    ))
}
