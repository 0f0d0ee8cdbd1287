//! `cargo xtask new-env`: a new environment from the scaffold embedded in the binary.

use crate::failure::{FailureKind, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment name (a-z, 0-9, '-').
    pub name: String,
    /// The AWS account id (default: the first environment's).
    #[arg(long)]
    pub account: Option<String>,
    /// The AWS region (default: the first environment's).
    #[arg(long)]
    pub region: Option<String>,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    Err(fail(
        FailureKind::Config,
        "`cargo xtask new-env` is not implemented yet",
    ))
}
