//! `cargo xtask`: parses the command line and dispatches; the work is done in the library.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xtask::commands::{
    affected, apply, aws_profiles, bench, ci, doctor, drift, fmt, gen_workflows, github_setup,
    migrate, new_env, plan, review,
};
use xtask::failure::{Outcome, exit_code_for, report};

/// Repo automation for Terraform on AWS from GitHub.
#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    about,
    propagate_version = true
)]
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
    /// As a repository administrator: set the OIDC subject template and protect the environments.
    GithubSetup(github_setup::Args),
    /// Write the AWS CLI/SDK profiles of an environment's role chain.
    AwsProfiles(aws_profiles::Args),
    /// Run `terraform fmt` over the environments and modules; suggest fixes on a pull request.
    Fmt(fmt::Args),
    /// Run `terraform plan` and post one comment per environment on the pull request.
    Plan(plan::Args),
    /// Apply the merged commit's saved plan when it is the reviewed one.
    Apply(apply::Args),
    /// Check each environment for drift (changed outside Terraform, merged but not applied) and
    /// keep its drift issue up to date.
    Drift(drift::Args),
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
        Command::Doctor(args) => doctor::run(args).map(Outcome::from),
        Command::GithubSetup(args) => github_setup::run(args).map(Outcome::from),
        Command::AwsProfiles(args) => aws_profiles::run(args).map(Outcome::from),
        Command::Fmt(args) => fmt::run(args).map(Outcome::from),
        Command::Plan(args) => plan::run(args).map(Outcome::from),
        Command::Apply(args) => apply::run(args).map(Outcome::from),
        Command::Drift(args) => drift::run(args).map(Outcome::from),
        Command::Affected(args) => affected::run(args).map(Outcome::from),
        Command::Review(args) => review::run(args).map(Outcome::from),
        Command::Migrate(args) => migrate::run(args),
        Command::NewEnv(args) => new_env::run(args).map(Outcome::from),
        Command::Ci(args) => ci::run(args).map(Outcome::from),
        Command::Bench(args) => bench::run(args).map(Outcome::from),
    };
    exit_code(result)
}

/// The one mapping from how a command ended to the documented exit code (README "Exit codes").
fn exit_code(result: anyhow::Result<Outcome>) -> ExitCode {
    match result {
        Ok(Outcome::Success) => ExitCode::SUCCESS,
        Ok(Outcome::Unsuccessful { kind, summary }) => {
            // A summary may quote what a tool or a service said, which may echo a secret.
            eprintln!("error: {}", xtask::redact::redact(&summary));
            ExitCode::from(kind.code())
        }
        // Printed once: an error a command already reported where it happened is not repeated.
        Err(error) => exit_code_for(&report(error)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn usage_says_what_users_type() {
        let usage = Cli::command().render_usage().to_string();
        assert!(usage.contains("Usage: cargo xtask <COMMAND>"), "{usage}");
        let error = Cli::try_parse_from(["xtask", "plan", "--bogus"]).unwrap_err();
        let text = error.render().to_string();
        assert!(text.contains("Usage: cargo xtask plan [OPTIONS]"), "{text}");
    }
}
