//! Runs the `terraform` CLI (argv through duct, never a shell string) in a root module.
//!
//! The read-only steps (init, validate, plan, show, fmt) and one writing step: `apply` of a saved
//! plan file, which only `cargo xtask apply` calls, after it has compared the plan's change set
//! with the reviewed one. There is no apply without a saved plan.
//! Credentials reach terraform through the environment and the AWS profiles, never the argv.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::failure::{Classify, FailureKind, fail};

/// The captured result of one terraform invocation.
#[derive(Debug, Clone)]
pub struct Output {
    /// The process exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout then stderr, for error extraction.
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

/// What `terraform plan -detailed-exitcode` said.
#[derive(Debug, Clone)]
pub enum PlanExit {
    NoChanges,
    Changes,
    Failed(Output),
}

/// Terraform in one working directory.
#[derive(Debug, Clone)]
pub struct Terraform {
    program: OsString,
    dir: PathBuf,
}

impl Terraform {
    /// `terraform` from PATH, run in `dir`.
    pub fn new(dir: &Path) -> Terraform {
        Terraform {
            program: OsString::from("terraform"),
            dir: dir.to_path_buf(),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn command(&self, args: &[OsString]) -> duct::Expression {
        duct::cmd(&self.program, args)
            .dir(&self.dir)
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .unchecked()
    }

    fn run(&self, args: &[&str]) -> anyhow::Result<Output> {
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        let output = self
            .command(&argv)
            .stdout_capture()
            .stderr_capture()
            .run()
            .map_err(|error| self.spawn_error(args, error))?;
        Ok(Output {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    fn spawn_error(&self, args: &[&str], error: std::io::Error) -> anyhow::Error {
        if error.kind() == std::io::ErrorKind::NotFound {
            fail(
                FailureKind::Environment,
                "terraform is not on PATH: install the version in [workspace.metadata.xtask.terraform] \
                 (https://developer.hashicorp.com/terraform/install), or run `cargo xtask doctor`",
            )
        } else {
            fail(
                FailureKind::Environment,
                format!(
                    "running terraform {} in {}: {error}",
                    args.first().unwrap_or(&""),
                    self.dir.display()
                ),
            )
        }
    }

    /// `terraform init`, with the generated backend settings when the file exists.
    pub fn init(&self, backend_config: Option<&Path>) -> anyhow::Result<Output> {
        let mut args = vec!["init", "-input=false", "-no-color"];
        let flag;
        if let Some(path) = backend_config.filter(|path| path.is_file()) {
            flag = format!("-backend-config={}", path.display());
            args.push(&flag);
        }
        self.run(&args)
    }

    pub fn validate(&self) -> anyhow::Result<Output> {
        self.run(&["validate", "-no-color"])
    }

    /// `terraform plan -lock=false -detailed-exitcode -out=<plan_file>`. A plan changes no state,
    /// so it takes no lock: the plan role (reachable from pull requests) may write nothing, the
    /// lock file included, and an apply in progress does not block a plan.
    pub fn plan(&self, plan_file: &Path) -> anyhow::Result<PlanExit> {
        let out = format!("-out={}", plan_file.display());
        let output = self.run(&[
            "plan",
            "-input=false",
            "-no-color",
            "-detailed-exitcode",
            "-lock=false",
            &out,
        ])?;
        Ok(match output.code {
            Some(0) => PlanExit::NoChanges,
            Some(2) => PlanExit::Changes,
            _ => PlanExit::Failed(output),
        })
    }

    /// `terraform plan -refresh-only` (what changed outside Terraform), same flags as [`Self::plan`].
    pub fn plan_refresh_only(&self, plan_file: &Path) -> anyhow::Result<PlanExit> {
        let out = format!("-out={}", plan_file.display());
        let output = self.run(&[
            "plan",
            "-refresh-only",
            "-input=false",
            "-no-color",
            "-detailed-exitcode",
            "-lock=false",
            &out,
        ])?;
        Ok(match output.code {
            Some(0) => PlanExit::NoChanges,
            Some(2) => PlanExit::Changes,
            _ => PlanExit::Failed(output),
        })
    }

    /// `terraform apply` of the saved `plan_file`, and nothing else: terraform refuses a plan
    /// whose state has changed since (a stale plan) and waits for no lock (`-lock-timeout=0s`), so
    /// a held lock fails at once instead of applying later than the decision was made.
    pub fn apply_saved(&self, plan_file: &Path) -> anyhow::Result<Output> {
        let path = plan_file.display().to_string();
        self.run(&[
            "apply",
            "-input=false",
            "-no-color",
            "-lock-timeout=0s",
            &path,
        ])
    }

    /// `terraform show -json <plan_file>`, streamed into `json_file` (plans can be large).
    pub fn show_json(&self, plan_file: &Path, json_file: &Path) -> anyhow::Result<()> {
        let argv = [
            OsString::from("show"),
            OsString::from("-json"),
            plan_file.as_os_str().to_owned(),
        ];
        let output = self
            .command(&argv)
            .stdout_path(json_file)
            .stderr_capture()
            .run()
            .map_err(|error| self.spawn_error(&["show"], error))?;
        if !output.status.success() {
            return Err(fail(
                FailureKind::OperationFailed,
                format!(
                    "terraform show -json {} failed: {}",
                    plan_file.display(),
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            ));
        }
        Ok(())
    }

    /// The human plan text (`terraform show -no-color <plan_file>`).
    pub fn show_text(&self, plan_file: &Path) -> anyhow::Result<String> {
        let path = plan_file.display().to_string();
        let output = self.run(&["show", "-no-color", &path])?;
        if !output.success() {
            return Err(fail(
                FailureKind::OperationFailed,
                format!("terraform show {path} failed: {}", output.stderr.trim()),
            ));
        }
        Ok(output.stdout)
    }

    /// `terraform fmt -recursive` with extra flags (`-check`, `-diff`, `-list=true`) over `dirs`
    /// (relative to this terraform's directory).
    pub fn fmt(&self, flags: &[&str], dirs: &[PathBuf]) -> anyhow::Result<Output> {
        let mut outputs = Output {
            code: Some(0),
            stdout: String::new(),
            stderr: String::new(),
        };
        // terraform fmt takes one target per call.
        for dir in dirs {
            let target = dir.display().to_string();
            let mut args = vec!["fmt", "-recursive", "-no-color"];
            args.extend_from_slice(flags);
            args.push(&target);
            let output = self.run(&args)?;
            if !output.success() {
                outputs.code = output.code;
            }
            outputs.stdout.push_str(&output.stdout);
            outputs.stderr.push_str(&output.stderr);
        }
        Ok(outputs)
    }
}

impl Terraform {
    /// `terraform fmt -` over `text` (stdin to stdout): the formatted text; exit 2 and the message
    /// on stderr when it is not valid HCL.
    pub fn fmt_text(&self, text: &str) -> anyhow::Result<Output> {
        let args = ["fmt", "-no-color", "-"];
        let argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        let output = self
            .command(&argv)
            .stdin_bytes(text.as_bytes())
            .stdout_capture()
            .stderr_capture()
            .run()
            .map_err(|error| self.spawn_error(&args, error))?;
        Ok(Output {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }
}

/// Reads a file written by terraform.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path)
        .with_context(|| format!("reading {}", path.display()))
        .classify(FailureKind::Environment)
}
