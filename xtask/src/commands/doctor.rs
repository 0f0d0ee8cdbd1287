//! `cargo xtask doctor` (alias `config`): the resolved configuration and the tools it needs.

use serde_json::json;

use crate::config::Config;
use crate::failure::{FailureKind, fail};
use crate::generate::iam::{Arns, Role};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print only the resolved configuration, as JSON; skip the tool checks.
    #[arg(long)]
    pub json: bool,
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
    let mut missing = Vec::new();
    for (program, version_flag, needed_by) in TOOLS {
        match duct::cmd(*program, [*version_flag])
            .stdout_capture()
            .stderr_null()
            .unchecked()
            .run()
        {
            Ok(output) if output.status.success() => {
                let version = String::from_utf8_lossy(&output.stdout);
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
                        "state_machine_arn": environment.state_machine_arn(),
                        "ecr_image": environment.ecr_image(),
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
