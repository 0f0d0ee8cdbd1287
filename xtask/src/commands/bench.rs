//! `cargo xtask bench`: benchmarks that print figures.

use std::path::PathBuf;

use crate::ci::build_bench;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub which: Bench,
}

#[derive(Debug, clap::Subcommand)]
pub enum Bench {
    /// Cold debug build of the xtask: wall and CPU time, crates in the graph, TLS/hyper/http dedup.
    Build,
    /// Plan summary + comment on synthetic plans of 1k/10k/50k changes: time, peak RSS, jq beside.
    Plan,
    /// One measured run of `bench plan` (the child process whose peak RSS is reported).
    #[command(hide = true)]
    PlanOnce {
        #[arg(long)]
        file: PathBuf,
    },
    /// Following a migration: DescribeExecution calls and end-detection delay for 5 s, 60 s and
    /// 10 min executions (simulated clock).
    Migrate,
    /// Compress a 50,000-line diff into a 32,000-token review budget: wall time and accounting error.
    Review,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.which {
        Bench::Build => build_bench::run(&crate::repo::find_root(&super::current_dir()?)?),
        Bench::Plan => crate::plan::bench::run(&super::load_config()?.root),
        Bench::PlanOnce { file } => crate::plan::bench::run_once(&file),
        Bench::Migrate => {
            print!("{}", crate::migrate::bench::run()?);
            Ok(())
        }
        Bench::Review => crate::review::bench::run(),
    }
}
