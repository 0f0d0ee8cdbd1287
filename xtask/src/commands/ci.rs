//! `cargo xtask ci`: installs and starts the local stand-ins and runs every check CI runs.

use crate::ci::pipeline::{self, Options};
use crate::ci::stage::{self, Stage};
use crate::failure::{FailureKind, fail};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Stages, in order: setup, fmt, clippy, gen-workflows, tests, zizmor, \
    workflow-parser, terraform-fmt, lambda-tests, checkov.\n\
    The last line is `ci: N passed, M failed` (test cases); the exit code is 0 only when every stage passed."
)]
pub struct Args {
    /// Run only these stages (comma-separated or repeated); setup still installs what they need.
    #[arg(long, value_name = "STAGE", value_delimiter = ',')]
    pub only: Vec<Stage>,
    /// Leave out these stages (comma-separated or repeated).
    #[arg(long, value_name = "STAGE", value_delimiter = ',')]
    pub skip: Vec<Stage>,
    /// Run the remaining stages after a failure instead of stopping at the first one.
    #[arg(long)]
    pub keep_going: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let root = crate::repo::find_root(&super::current_dir()?)?;
    let stages = stage::select(&args.only, &args.skip);
    if stages.is_empty() {
        return Err(fail(
            FailureKind::Config,
            "--only/--skip left no stage to run",
        ));
    }
    let summary = pipeline::run(
        &root,
        &Options {
            stages,
            keep_going: args.keep_going,
        },
    )?;
    print!("\n{}", summary.render_table());
    if summary.succeeded() {
        println!("{}", summary.closing_line());
        Ok(())
    } else {
        let failed: Vec<&str> = summary.failed().iter().map(|stage| stage.name()).collect();
        // The closing line ends the error message, so that it stays the last line of the log
        // after `error: ...` is printed.
        let kind = if summary.missing_tool() {
            FailureKind::Environment
        } else {
            FailureKind::CheckFailed
        };
        Err(fail(
            kind,
            format!(
                "failed stages: {}\n{}",
                failed.join(", "),
                summary.closing_line()
            ),
        ))
    }
}
