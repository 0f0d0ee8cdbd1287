//! `cargo xtask migrate`: build and push the migration image, run it through the state machine and
//! report how it really ended.

use crate::config::HumanDuration;
use crate::failure::{FailureKind, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment to migrate.
    #[arg(long = "env", value_name = "NAME")]
    pub env: String,
    /// Print the build, push and start it would do; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Start the execution and return without following it.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to follow the execution (default: the environment's `migration.timeout`).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<HumanDuration>,
    /// Start even while another execution of the state machine is running.
    #[arg(long)]
    pub force: bool,
    /// On Ctrl-C, stop the execution instead of leaving it running.
    #[arg(long)]
    pub stop_on_interrupt: bool,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    Err(fail(
        FailureKind::Config,
        "`cargo xtask migrate` is not implemented yet",
    ))
}
