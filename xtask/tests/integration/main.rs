//! The integration tests, one binary with a module per area, so the library is linked once.
//!
//! Tests that need a local stand-in (moto, PostgreSQL, terraform) say `SKIPPED` under a plain
//! `cargo test` when it is missing; `cargo xtask ci` sets `XTASK_REQUIRE_SERVICES=1` so they fail
//! instead.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod consistency;
mod iam_eval;
mod support;

mod affected;
mod apply;
mod aws_client;
mod aws_models;
mod aws_profiles;
mod ci_command;
mod drift;
mod environment;
mod fmt;
mod gen_workflows;
mod github;
mod github_settings;
mod harness;
mod iam_policies;
mod migrate;
mod new_env;
mod plan;
mod plan_github;
mod pr_data;
mod redaction;
mod review;
mod review_golden;
