//! `cargo xtask affected`: the environments whose files, or whose local modules, changed.

use anyhow::Context;

use crate::failure::{Classify, FailureKind};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The git ref to compare with (merge base with HEAD).
    #[arg(long, value_name = "REF")]
    pub base: String,
}

/// Prints the affected environments as a JSON list (a workflow matrix).
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = super::load_config()?;
    let envs = crate::affected::affected_since(&config, &args.base)?;
    let json = serde_json::to_string(&envs)
        .context("serializing the environment list")
        .classify(FailureKind::OperationFailed)?;
    println!("{json}");
    Ok(())
}
