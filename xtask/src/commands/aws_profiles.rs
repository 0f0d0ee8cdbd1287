//! `cargo xtask aws-profiles`: writes the AWS profiles of an environment's role chain.
//!
//! In CI the composite action `aws-role-chain` calls this before exchanging the OIDC token, then
//! terraform and `cargo xtask migrate` use the profiles. Locally, `--source-profile` chains from a
//! developer's own profile instead of the environment credentials.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::aws_profiles::{
    Purpose, RoleChainSource, external_id_problem, merge_sections, profiles_for, render_profile,
};
use crate::environment::Arns;
use crate::failure::{Classify, FailureKind, fail};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment whose roles to write.
    #[arg(long = "env", value_name = "NAME")]
    pub env: String,
    /// What the job does, which decides the roles.
    #[arg(long, value_enum)]
    pub purpose: Purpose,
    /// Chain from this profile instead of the AWS_* environment credentials (local use).
    #[arg(long, value_name = "PROFILE")]
    pub source_profile: Option<String>,
    /// The AWS config file (default: $AWS_CONFIG_FILE, else ~/.aws/config).
    #[arg(long, value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Also write `entry-role-arn`, `region` and `session-name` to $GITHUB_OUTPUT.
    #[arg(long)]
    pub github_output: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = super::load_config()?;
    let environment = config.environment(&args.env)?;
    // The run id goes into the file: only the characters a role session name allows.
    let run_id: String = std::env::var("GITHUB_RUN_ID")
        .unwrap_or_else(|_| "local".to_owned())
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c))
        .take(32)
        .collect();
    let session_name = format!("gha-{}-{}-{run_id}", args.purpose.label(), environment.name,);
    let source = match args.source_profile {
        Some(profile) => {
            if profile.is_empty() || profile.contains(|c: char| c.is_whitespace() || c.is_control())
            {
                return Err(fail(
                    FailureKind::Config,
                    "--source-profile must be a profile name (no spaces, line breaks or control characters)",
                ));
            }
            RoleChainSource::Profile(profile)
        }
        None => RoleChainSource::Environment,
    };

    let profiles = profiles_for(environment, args.purpose, &session_name);
    let mut sections = Vec::new();
    for profile in &profiles {
        let external_id = std::env::var(profile.external_id_env.as_ref() as &str).map_err(|_| {
            fail(
                FailureKind::Environment,
                format!(
                    "{} is not set: it holds the external id of {} (in CI, pass secrets.{} through the step's env; locally, export it)",
                    profile.external_id_env, profile.role_arn, profile.external_id_env
                ),
            )
        })?;
        // Checked for every profile before anything is written.
        if let Some(problem) = external_id_problem(&external_id) {
            return Err(fail(
                FailureKind::Environment,
                format!(
                    "{} {problem}: it must hold the external id of {} (nothing was written)",
                    profile.external_id_env, profile.role_arn
                ),
            ));
        }
        sections.push((
            profile.name.clone(),
            render_profile(profile, &external_id, &source),
        ));
    }

    if !sections.is_empty() {
        let path = aws_config_path(args.config_file)?;
        // A symlinked config (dotfile managers) is edited where it points, the link kept.
        let path = resolve_symlinks(&path)?;
        let existing = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => {
                return Err(error)
                    .with_context(|| format!("reading {}", path.display()))
                    .classify(FailureKind::Environment);
            }
        };
        let merged = merge_sections(&existing, &sections);
        if merged != existing {
            crate::fs::write_private(&path, &merged)?;
        }
        for profile in &profiles {
            println!("wrote profile {} -> {}", profile.name, profile.role_arn);
        }
    }

    if args.github_output {
        let entry_role = Arns::new(environment).role(args.purpose.entry_role());
        let outputs = [
            ("entry-role-arn", entry_role.as_str()),
            ("region", environment.region()),
            ("session-name", session_name.as_str()),
        ];
        if !crate::github_actions::set_line_outputs(&outputs)? {
            return Err(fail(
                FailureKind::Environment,
                "--github-output needs GITHUB_OUTPUT (set by GitHub Actions)",
            ));
        }
    }
    Ok(())
}

fn aws_config_path(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    explicit
        .or_else(crate::aws::aws_config_file)
        .ok_or_else(|| {
            fail(
                FailureKind::Environment,
                "HOME is not set; pass --config-file or set AWS_CONFIG_FILE",
            )
        })
}

/// Follows `path` through symlinks (relative ones from the link's directory) to the file they
/// name, which may not exist yet.
fn resolve_symlinks(path: &Path) -> anyhow::Result<PathBuf> {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)
                    .with_context(|| format!("reading the symlink {}", current.display()))
                    .classify(FailureKind::Environment)?;
                current = match current.parent() {
                    Some(dir) if target.is_relative() => dir.join(target),
                    _ => target,
                };
            }
            _ => return Ok(current),
        }
    }
    Err(fail(
        FailureKind::Environment,
        format!("{} is a symlink loop", path.display()),
    ))
}
