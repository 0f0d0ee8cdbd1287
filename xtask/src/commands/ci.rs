//! `cargo xtask ci`: installs and starts the local stand-ins and runs every check CI runs.

use crate::failure::{FailureKind, fail};

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    Err(fail(
        FailureKind::Config,
        "`cargo xtask ci` is not implemented yet",
    ))
}
