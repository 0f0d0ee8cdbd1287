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
    /// Following a migration: DescribeExecution calls and end-detection delay for 5 s, 60 s and
    /// 10 min executions (simulated clock).
    Migrate,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.which {
        Bench::Build => Err(fail(
            FailureKind::Config,
            "`cargo xtask bench build` is not implemented yet",
        )),
        Bench::Migrate => {
            print!("{}", crate::migrate::bench::run()?);
            Ok(())
        }
    }
}
