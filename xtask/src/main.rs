//! `cargo xtask`: parses the command line and dispatches; the work is done in the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::commands::{
    affected, aws_profiles, bench, ci, doctor, fmt, gen_workflows, migrate, new_env, plan, review,
};
use xtask::failure::exit_code_for;

/// Repo automation for Terraform on AWS from GitHub.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate the workflows, composite actions, IAM policies and state machine from the configuration.
    GenWorkflows(gen_workflows::Args),
    /// Print the resolved configuration and check that the tools it needs are installed.
    #[command(alias = "config")]
    Doctor(doctor::Args),
    /// Write the AWS CLI/SDK profiles of an environment's role chain.
    AwsProfiles(aws_profiles::Args),
    /// Run `terraform fmt` over the environments and modules; suggest fixes on a pull request.
    Fmt(fmt::Args),
    /// Run `terraform plan` and post one comment per environment on the pull request.
    Plan(plan::Args),
    /// Print the environments affected by the changes since a git ref, as a JSON list.
    Affected(affected::Args),
    /// AI review of a pull request: describe, review, improve.
    Review(review::Args),
    /// Build and push the migration image and run it through the Step Functions state machine.
    Migrate(migrate::Args),
    /// Create a new environment from the embedded scaffold.
    NewEnv(new_env::Args),
    /// Set up the local stand-ins and run every check CI runs.
    Ci(ci::Args),
    /// Benchmarks that print figures.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::GenWorkflows(args) => gen_workflows::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::AwsProfiles(args) => aws_profiles::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Affected(args) => affected::run(args),
        Command::Review(args) => review::run(args),
        Command::Migrate(args) => migrate::run(args),
        Command::NewEnv(args) => new_env::run(args),
        Command::Ci(args) => ci::run(args),
        Command::Bench(args) => bench::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // An error may quote what a server or a tool said, which may echo a secret.
            eprintln!("error: {}", xtask::redact::redact(&format!("{error:#}")));
            exit_code_for(&error)
        }
    }
}
