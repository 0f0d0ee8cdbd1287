//! `cargo xtask affected`: the environments whose files, or whose local modules, changed.

use crate::failure::{FailureKind, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The git ref to compare with (merge base with HEAD).
    #[arg(long, value_name = "REF")]
    pub base: String,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    Err(fail(
        FailureKind::Config,
        "`cargo xtask affected` is not implemented yet",
    ))
}
