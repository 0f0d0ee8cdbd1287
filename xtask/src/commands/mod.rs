//! One module per `cargo xtask` command: its arguments and its `run` function.

pub mod affected;
pub mod apply;
pub mod aws_profiles;
pub mod bench;
pub mod ci;
pub mod doctor;
pub mod drift;
pub mod fmt;
pub mod gen_workflows;
pub mod github_setup;
pub mod migrate;
pub mod new_env;
pub mod plan;
pub mod review;

use std::path::PathBuf;

use anyhow::Context;

use crate::config::Config;
use crate::failure::{Classify, FailureKind};

/// Loads the configuration of the repository that contains the current directory.
pub fn load_config() -> anyhow::Result<Config> {
    let cwd = current_dir()?;
    let config = Config::discover(&cwd)?;
    // From here on every redaction also masks the exact values of the job's own secrets.
    crate::redact::remember_job_secrets(&config);
    Ok(config)
}

pub(crate) fn current_dir() -> anyhow::Result<PathBuf> {
    std::env::current_dir()
        .context("reading the current directory")
        .classify(FailureKind::Environment)
}
