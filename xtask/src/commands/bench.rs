//! `cargo xtask bench`: benchmarks that print figures.

use crate::failure::{FailureKind, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub which: Bench,
}

#[derive(Debug, clap::Subcommand)]
pub enum Bench {
    /// Cold debug build of the xtask: wall and CPU time, crates in the graph, TLS/hyper/http dedup.
    Build,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    Err(fail(
        FailureKind::Config,
        "`cargo xtask bench` is not implemented yet",
    ))
}
