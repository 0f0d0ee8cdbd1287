//! `cargo xtask doctor` (alias `config`): the resolved configuration and the tools it needs.

use serde_json::json;
use xshell::cmd;

use crate::config::Config;
use crate::environment::{Arns, Role};
use crate::failure::{FailureKind, fail};
use crate::github::GitHub;
use crate::github_settings::{self, Expected};
use crate::process::{self, Cmd};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print only the resolved configuration, as JSON; skip the tool checks.
    #[arg(long)]
    pub json: bool,
    /// Check the repository's settings through the GitHub API instead of the local tools (token in GITHUB_TOKEN): the OIDC
    /// subject template and each GitHub environment's existence, branch policy and reviewers.
    /// Exits 3 naming each missing setting and the command that fixes it, 4 on an API error.
    #[arg(long, conflicts_with = "json")]
    pub remote: bool,
    /// With --remote: do not count missing required reviewers (plans without the feature).
    #[arg(long, requires = "remote")]
    pub accept_no_reviewers: bool,
}

/// The programs the commands call, with the flag that prints their version and who needs them.
const TOOLS: &[(&str, &str, &str)] = &[
    ("terraform", "version", "fmt, plan"),
    (
        "git",
        "--version",
        "affected, plan --changed-since, migrate (image tag)",
    ),
    ("docker", "--version", "migrate (build and push)"),
];

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = super::load_config()?;
    let resolved = resolved(&config);
    println!(
        "{}",
        serde_json::to_string_pretty(&resolved).unwrap_or_else(|e| format!("(unprintable: {e})"))
    );
    if args.json {
        return Ok(());
    }
    println!();
    if args.remote {
        let expected = Expected::from_config(&config);
        let settings = super::github_setup::admin_settings(&config)?;
        // The repository's settings instead of this machine's tools.
        return crate::runtime::current_thread()?.block_on(async {
            let client = GitHub::new(settings)?;
            report_remote(&client, &expected, args.accept_no_reviewers).await
        });
    }
    let sh = process::shell(&config.root)?;
    let mut missing = Vec::new();
    for (program, version_flag, needed_by) in TOOLS {
        match Cmd::new(cmd!(sh, "{program} {version_flag}")).run_captured() {
            Ok(output) if output.success => {
                let version = output.output;
                let first_line = version.lines().next().unwrap_or("").trim();
                println!("ok       {program:<10} {first_line}");
            }
            _ => {
                println!("missing  {program:<10} needed by: {needed_by}");
                missing.push(*program);
            }
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(fail(
            FailureKind::Environment,
            format!("not installed or not on PATH: {}", missing.join(", ")),
        ))
    }
}

/// The configuration with what is derived from it (role ARNs, state machine, image), so a reader
/// sees exactly what the generators and commands will use.
fn resolved(config: &Config) -> serde_json::Value {
    let environments: serde_json::Map<String, serde_json::Value> = config
        .environments
        .values()
        .map(|environment| {
            let arns = Arns::new(environment);
            let roles: serde_json::Map<String, serde_json::Value> = Role::ALL
                .iter()
                .map(|role| (role.key().to_owned(), json!(arns.role(*role))))
                .collect();
            (
                environment.name.clone(),
                json!({
                    "settings": environment,
                    "terraform_dir": environment.terraform_dir(),
                    "derived": {
                        "role_arns": roles,
                        "state_machine_arn": arns.state_machine(),
                        "ecr_image": arns.ecr_image(),
                    }
                }),
            )
        })
        .collect();
    json!({
        "root": config.root,
        "repository": config.repository(),
        "repo": config.repo,
        "environments": environments,
    })
}

/// Prints each remote setting's state; exit 3 naming every missing one and its fix, 4 when GitHub
/// answers with an error.
pub(crate) async fn report_remote(
    client: &GitHub,
    expected: &Expected,
    accept_no_reviewers: bool,
) -> anyhow::Result<()> {
    let findings = github_settings::check(client, expected, accept_no_reviewers).await?;
    if findings.is_empty() {
        println!(
            "ok       github     {}: OIDC subject template, environments {} (default branch `{}` only{})",
            expected.repository,
            expected.environments.join(", "),
            expected.default_branch,
            if accept_no_reviewers {
                ""
            } else {
                ", required reviewers"
            }
        );
        return Ok(());
    }
    for finding in &findings {
        println!(
            "missing  github     {finding}\n         fix: {}",
            finding.fix()
        );
    }
    Err(fail(
        FailureKind::Environment,
        format!(
            "{} GitHub setting{} of {} missing: {}",
            findings.len(),
            if findings.len() == 1 { " is" } else { "s are" },
            expected.repository,
            findings
                .iter()
                .map(|f| format!("{f} (fix: {})", f.fix()))
                .collect::<Vec<_>>()
                .join("; ")
        ),
    ))
}
