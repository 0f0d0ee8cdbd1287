//! `cargo xtask`: repo automation for teams that run Terraform on AWS from GitHub.
//!
//! The binary (`main.rs`) only parses the command line and dispatches to [`commands`]. Everything
//! else lives here so that it can be tested:
//!
//! - [`config`]: the typed configuration (`Cargo.toml` metadata + one file per environment).
//! - [`environment`]: the names, ARNs and paths derived from the configuration, for generators and
//!   commands alike.
//! - [`models`]: typed GitHub workflow, composite action, IAM policy and state machine documents.
//! - [`generate`]: turns the configuration into those documents and writes or checks the files.
//! - [`ci`]: `cargo xtask ci` (every check CI runs) and the cold-build benchmark.
//! - [`commands`]: one module per `cargo xtask` command; they orchestrate the rest.

pub mod affected;
pub mod apply;
pub mod aws;
pub mod aws_profiles;
pub mod ci;
pub mod commands;
pub mod config;
pub mod drift;
pub mod environment;
pub mod failure;
pub mod fmt;
pub mod fs;
pub mod generate;
pub mod github;
pub mod github_actions;
pub mod github_settings;
pub mod markdown;
pub mod migrate;
pub mod models;
pub mod oidc;
pub mod percent;
pub mod plan;
pub mod process;
pub mod redact;
pub mod repo;
pub mod retry;
pub mod review;
pub mod runtime;
pub mod scaffold;
pub mod terraform;
pub mod workflow_files;
