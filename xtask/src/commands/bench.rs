//! `cargo xtask bench`: benchmarks that print figures.

use crate::ci::{build_bench, pipeline};

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
        Bench::Build => build_bench::run(&pipeline::find_repo_root(&super::current_dir()?)?),
        Bench::Migrate => {
            print!("{}", crate::migrate::bench::run()?);
            Ok(())
        }
    }
}
