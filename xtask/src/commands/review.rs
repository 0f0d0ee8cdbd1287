//! `cargo xtask review`: AI review of a pull request (describe, review, improve).

use std::path::PathBuf;

use crate::failure::{FailureKind, fail};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    Describe,
    Review,
    Improve,
    All,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which output to produce.
    #[arg(value_enum, default_value_t = Tool::All)]
    pub tool: Tool,
    /// The pull request number.
    #[arg(long)]
    pub pr: Option<u64>,
    /// Print the redacted prompt, token counts and the comments it would post; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Review a unified diff from a file instead of a pull request.
    #[arg(long, value_name = "FILE")]
    pub diff: Option<PathBuf>,
    /// A plan summary (`cargo xtask plan --summary-json`) to include in the prompt.
    #[arg(long, value_name = "FILE")]
    pub plan_summary: Option<PathBuf>,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    Err(fail(
        FailureKind::Config,
        "`cargo xtask review` is not implemented yet",
    ))
}
