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
    /// Compress a 50,000-line diff into a 32,000-token review budget: wall time and accounting error.
    Review,
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
        Bench::Review => crate::review::bench::run(),
    }
}
