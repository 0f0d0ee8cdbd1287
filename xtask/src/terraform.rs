//! Runs the `terraform` CLI (through [`crate::process`]) in a root module.
//!
//! The read-only steps (init, validate, plan, show, fmt) and one writing step: `apply` of a saved
//! plan file, which only `cargo xtask apply` calls, after it has compared the plan's change set
//! with the reviewed one. There is no apply without a saved plan.
//! Credentials reach terraform through the environment and the AWS profiles, never the argv.
//! The steps whose errors we report (init, validate, plan, apply) run with `-json`: their output
//! is read by [`crate::plan::errors::Output`], for the diagnostics and a readable log.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::failure::{Classify, FailureKind};
use crate::process::{Finished, Program};

/// What `terraform plan -detailed-exitcode` said.
#[derive(Debug)]
pub enum PlanExit {
    NoChanges,
    Changes,
    Failed(Finished),
}

/// Terraform in one working directory.
#[derive(Debug, Clone)]
pub struct Terraform {
    dir: PathBuf,
}

impl Terraform {
    /// `terraform` from PATH, run in `dir`.
    pub fn new(dir: &Path) -> Terraform {
        Terraform {
            dir: dir.to_path_buf(),
        }
    }

    fn program<I, S>(&self, args: I) -> Program
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Program::new("terraform", &self.dir)
            .args(args)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .install_hint(
                "install the version in [workspace.metadata.xtask.terraform] \
                 (https://developer.hashicorp.com/terraform/install), or run `cargo xtask doctor`",
            )
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<Finished> {
        self.program(args).run_captured()
    }

    /// `terraform init -json` (terraform 1.9 or later), with the generated backend settings
    /// when the file exists.
    pub fn init(&self, backend_config: Option<&Path>) -> anyhow::Result<Finished> {
        let mut args = vec!["init", "-input=false", "-no-color", "-json"];
        let flag;
        if let Some(path) = backend_config.filter(|path| path.is_file()) {
            flag = format!("-backend-config={}", path.display());
            args.push(&flag);
        }
        self.run(&args)
    }

    /// `terraform validate -json`: one JSON document with the diagnostics.
    pub fn validate(&self) -> anyhow::Result<Finished> {
        self.run(&["validate", "-no-color", "-json"])
    }

    /// `terraform plan -json -lock=false -detailed-exitcode -out=<plan_file>`. A plan changes no state,
    /// so it takes no lock: the plan role (reachable from pull requests) may write nothing, the
    /// lock file included, and an apply in progress does not block a plan.
    pub fn plan(&self, plan_file: &Path) -> anyhow::Result<PlanExit> {
        self.plan_with(&[], plan_file)
    }

    /// `terraform plan -refresh-only` (what changed outside Terraform), same flags as [`Self::plan`].
    pub fn plan_refresh_only(&self, plan_file: &Path) -> anyhow::Result<PlanExit> {
        self.plan_with(&["-refresh-only"], plan_file)
    }

    fn plan_with(&self, mode: &[&str], plan_file: &Path) -> anyhow::Result<PlanExit> {
        let out = format!("-out={}", plan_file.display());
        let mut args = vec!["plan"];
        args.extend_from_slice(mode);
        args.extend([
            "-input=false",
            "-no-color",
            "-json",
            "-detailed-exitcode",
            "-lock=false",
            &out,
        ]);
        let output = self.run(&args)?;
        Ok(match output.code {
            Some(0) => PlanExit::NoChanges,
            Some(2) => PlanExit::Changes,
            _ => PlanExit::Failed(output),
        })
    }

    /// `terraform apply -json` of the saved `plan_file`, and nothing else: terraform refuses a plan
    /// whose state has changed since (a stale plan) and waits for no lock (`-lock-timeout=0s`), so
    /// a held lock fails at once instead of applying later than the decision was made.
    pub fn apply_saved(&self, plan_file: &Path) -> anyhow::Result<crate::process::Finished> {
        let path = plan_file.display().to_string();
        self.run(&[
            "apply",
            "-input=false",
            "-no-color",
            "-json",
            "-lock-timeout=0s",
            &path,
        ])
    }

    /// `terraform show -json <plan_file>`, streamed into `json_file` (plans can be large).
    pub fn show_json(&self, plan_file: &Path, json_file: &Path) -> anyhow::Result<()> {
        self.program([OsString::from("show"), "-json".into(), plan_file.into()])
            .run_to_file(json_file)
    }

    /// The human plan text (`terraform show -no-color <plan_file>`).
    pub fn show_text(&self, plan_file: &Path) -> anyhow::Result<String> {
        self.program([OsString::from("show"), "-no-color".into(), plan_file.into()])
            .read()
    }

    /// `terraform fmt -recursive` with extra flags (`-check`, `-diff`, `-list=true`) over `dirs`
    /// (relative to this terraform's directory).
    pub fn fmt(&self, flags: &[&str], dirs: &[PathBuf]) -> anyhow::Result<Finished> {
        let mut outputs = Finished {
            success: true,
            code: Some(0),
            output: String::new(),
            stderr: String::new(),
        };
        // terraform fmt takes one target per call.
        for dir in dirs {
            let target = dir.display().to_string();
            let mut args = vec!["fmt", "-recursive", "-no-color"];
            args.extend_from_slice(flags);
            args.push(&target);
            let output = self.run(&args)?;
            if !output.success {
                outputs.success = false;
                outputs.code = output.code;
            }
            outputs.output.push_str(&output.output);
            outputs.stderr.push_str(&output.stderr);
        }
        Ok(outputs)
    }

    /// `terraform fmt -` over `text` (stdin to stdout): the formatted text; exit 2 and the message
    /// on stderr when it is not valid HCL.
    pub fn fmt_text(&self, text: &str) -> anyhow::Result<Finished> {
        self.program(["fmt", "-no-color", "-"])
            .stdin(text.as_bytes())
            .run_captured()
    }
}

/// Reads a file written by terraform.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path)
        .with_context(|| format!("reading {}", path.display()))
        .classify(FailureKind::Environment)
}
