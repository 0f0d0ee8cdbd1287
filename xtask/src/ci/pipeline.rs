//! Runs the selected stages in order, timing each, stopping at the first failure unless asked to
//! keep going, and returns the summary.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use xshell::cmd;

use super::report::{CiRunReport, StageOutcome, StageReport};
use super::stage::{Needs, Stage};
use super::test_counts::{self, TestCounts};
use super::tools::{self, ToolDirs};
use super::zizmor;

use crate::failure::{Classify, FailureKind, fail, kind_of};
use crate::process::{Cmd, Finished, Program, path_with};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// The stages to run, in [`Stage::ALL`] order.
    pub stages: Vec<Stage>,
    /// Run the remaining stages after a failure (the default stops at the first one).
    pub keep_going: bool,
}

/// What a stage found: passed or not, a one-line note, and test counts for the test stages.
struct Verdict {
    passed: bool,
    note: String,
    tests: Option<TestCounts>,
}

impl Verdict {
    fn pass(note: impl Into<String>) -> Verdict {
        Verdict {
            passed: true,
            note: note.into(),
            tests: None,
        }
    }

    fn fail(note: impl Into<String>) -> Verdict {
        Verdict {
            passed: false,
            note: note.into(),
            tests: None,
        }
    }

    /// Passed when the program succeeded; otherwise the note says what to do.
    fn from_exit(finished: &Finished, on_failure: impl Into<String>) -> Verdict {
        if finished.success {
            Verdict::pass("")
        } else {
            Verdict::fail(format!("{} ({})", on_failure.into(), finished.status()))
        }
    }
}

/// Everything the stages share.
struct Workspace {
    root: PathBuf,
    tools: ToolDirs,
    cargo: OsString,
    /// PATH with the venv and the validator's tools first.
    path: OsString,
    selected: Vec<Stage>,
}

impl Workspace {
    fn program(&self, program: impl Into<OsString>) -> Program {
        Program::new(program, &self.root).env("PATH", &self.path)
    }

    /// Cargo gets the caller's environment back: unchanged PATH, and none of the variables
    /// `cargo run` set for the xtask, so its fingerprints match those of a plain shell's cargo.
    /// A shell for the short commands, with the same PATH as [`Workspace::program`].
    fn shell(&self) -> anyhow::Result<xshell::Shell> {
        let sh = crate::process::shell(&self.root)?;
        sh.set_var("PATH", &self.path);
        Ok(sh)
    }

    fn cargo(&self) -> Program {
        Program::new(&self.cargo, &self.root).without_cargo_run_env()
    }
}

/// Runs the stages and returns the summary; the error case is only for a failure to run at all.
pub fn run(root: &Path, options: &Options) -> anyhow::Result<CiRunReport> {
    let tools = ToolDirs::new(root);
    let path = path_with(&[
        tools.venv_bin(),
        tools.validator_dir().join("node_modules/.bin"),
    ])?;
    let context = Workspace {
        root: root.to_path_buf(),
        cargo: std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()),
        tools,
        path,
        selected: options.stages.clone(),
    };
    let mut summary = CiRunReport {
        stages: Vec::new(),
        deselected: Stage::ALL
            .into_iter()
            .filter(|stage| !options.stages.contains(stage))
            .collect(),
    };
    let mut stop = false;
    for &stage in &options.stages {
        if stop {
            summary.stages.push(StageReport {
                stage,
                outcome: StageOutcome::NotRun,
                elapsed: Default::default(),
                note: String::new(),
                tests: None,
                missing_tool: false,
            });
            continue;
        }
        println!("\n== ci stage `{stage}`: {} ==", stage.describe());
        let started = Instant::now();
        let (verdict, missing_tool) = match run_stage(&context, stage) {
            Ok(verdict) => (verdict, false),
            Err(error) => (
                Verdict::fail(format!("{error:#}")),
                is_environment_failure(&error),
            ),
        };
        let elapsed = started.elapsed();
        let status = if verdict.passed { "passed" } else { "FAILED" };
        println!(
            "== ci stage `{stage}` {status} in {:.1}s{} ==",
            elapsed.as_secs_f64(),
            if verdict.note.is_empty() {
                String::new()
            } else {
                format!(": {}", verdict.note)
            }
        );
        if !verdict.passed && !options.keep_going {
            stop = true;
        }
        summary.stages.push(StageReport {
            stage,
            outcome: if verdict.passed {
                StageOutcome::Passed
            } else {
                StageOutcome::Failed
            },
            elapsed,
            note: verdict.note,
            tests: verdict.tests,
            missing_tool,
        });
    }
    Ok(summary)
}

/// Whether the classification of the error says a tool or service is missing.
fn is_environment_failure(error: &anyhow::Error) -> bool {
    kind_of(error) == Some(FailureKind::Environment)
}

fn run_stage(context: &Workspace, stage: Stage) -> anyhow::Result<Verdict> {
    match stage {
        Stage::Setup => setup(context),
        Stage::Fmt => {
            let finished = context
                .cargo()
                .args(["fmt", "--all", "--", "--check"])
                .run_streaming()?;
            Ok(Verdict::from_exit(
                &finished,
                "unformatted Rust code: run `cargo fmt --all`",
            ))
        }
        Stage::Clippy => {
            let finished = context
                .cargo()
                .args(["clippy", "--all-targets", "--", "-D", "warnings"])
                .run_streaming()?;
            Ok(Verdict::from_exit(&finished, "clippy found warnings"))
        }
        Stage::GenWorkflows => gen_workflows_check(context),
        Stage::Tests => tests(context),
        Stage::Zizmor => zizmor_stage(context),
        Stage::WorkflowParser => workflow_parser(context),
        Stage::TerraformFmt => terraform_fmt(context),
        Stage::LambdaTests => lambda_tests(context),
        Stage::Checkov => checkov(context),
    }
}

fn setup(context: &Workspace) -> anyhow::Result<Verdict> {
    let needs = Needs::of(&context.selected);
    let mut done = Vec::new();
    if needs.python_tools {
        done.push(tools::ensure_python_tools(&context.tools)?);
    }
    if needs.workflow_validator {
        done.push(tools::ensure_workflow_validator(&context.tools)?);
    }
    if needs.project_npm_packages {
        if let Some(app) = tools::migration_app(&context.root) {
            done.push(tools::ensure_migration_app_packages(&context.tools, &app)?);
        }
        for package in tools::project_npm_packages(&context.root) {
            done.push(tools::ensure_npm_package(&package)?);
        }
    }
    for step in &done {
        println!("{step}");
    }
    let installed = done
        .iter()
        .filter(|step| matches!(step, tools::Provisioned::Installed(_)))
        .count();
    Ok(Verdict::pass(format!(
        "{} tool sets, {installed} installed, {} up to date",
        done.len(),
        done.len() - installed
    )))
}

fn gen_workflows_check(context: &Workspace) -> anyhow::Result<Verdict> {
    // The running binary is the xtask just built by `cargo xtask`: no nested `cargo run`.
    let exe = std::env::current_exe()
        .context("finding the path of the running xtask binary")
        .classify(FailureKind::Environment)?;
    let finished = context
        .program(exe)
        .args(["gen-workflows", "--check"])
        .run_streaming()?;
    Ok(Verdict::from_exit(
        &finished,
        "generated files are stale, missing or extra: run `cargo xtask gen-workflows` and commit the result",
    ))
}

fn has_nextest(context: &Workspace) -> bool {
    let Ok(sh) = crate::process::shell(&context.root) else {
        return false;
    };
    let cargo = &context.cargo;
    Cmd::new(cmd!(sh, "{cargo} nextest --version"))
        .without_cargo_run_env()
        .run_captured()
        .is_ok_and(|finished| finished.success)
}

fn tests(context: &Workspace) -> anyhow::Result<Verdict> {
    let nextest = has_nextest(context);
    let junit = nextest_junit(&context.root);
    prepare_report(&junit)?;
    let mut program = context.cargo();
    program = if nextest {
        program.args([
            "nextest",
            "run",
            "--profile",
            "ci",
            "--workspace",
            "--no-fail-fast",
            "--run-ignored",
            "all",
        ])
    } else {
        println!(
            "cargo-nextest is not installed; running `cargo test` (cargo install cargo-nextest for nicer output)"
        );
        program.args([
            "test",
            "--workspace",
            "--no-fail-fast",
            "--",
            "--include-ignored",
        ])
    };
    // The tests that need a stand-in are `#[ignore]`d, so a plain `cargo test` lists them as
    // ignored instead of passing them silently; here they run (`--run-ignored all`), and
    // XTASK_REQUIRE_SERVICES makes a missing stand-in fail instead of skipping.
    let finished = program
        .env("XTASK_REQUIRE_SERVICES", "1")
        .env("XTASK_CI_TOOLS", &context.tools.dir)
        .run_streaming()?;
    let (runner, counts) = if nextest {
        ("cargo nextest", read_junit(&junit))
    } else {
        (
            "cargo test",
            test_counts::parse_libtest(&finished.output)
                .ok_or_else(|| "printed no test summary".to_owned()),
        )
    };
    let counts = match counts {
        Ok(counts) => counts,
        Err(why) => {
            return Ok(Verdict::fail(format!(
                "{runner} {why} ({}): the build failed or nothing ran",
                finished.status()
            )));
        }
    };
    let note = format!(
        "{} passed, {} failed, {} skipped",
        counts.passed, counts.failed, counts.skipped
    );
    let passed = finished.success && counts.failed == 0 && counts.passed > 0;
    let note = if counts.passed == 0 && counts.failed == 0 {
        format!("{runner} ran no test")
    } else if !passed && counts.failed == 0 {
        format!("{note}; {runner} failed ({})", finished.status())
    } else {
        note
    };
    Ok(Verdict {
        passed,
        note,
        tests: Some(counts),
    })
}

/// Where nextest's `ci` profile writes its JUnit report (`.config/nextest.toml`).
fn nextest_junit(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("nextest/ci/junit.xml")
}

/// Makes room for a test report: its directory exists, and a report left by an earlier run is
/// gone, so that it cannot be read as this run's.
fn prepare_report(report: &Path) -> anyhow::Result<()> {
    if let Some(dir) = report.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating {}", dir.display()))
            .classify(FailureKind::Environment)?;
    }
    match std::fs::remove_file(report) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error)
            .with_context(|| format!("removing the old test report {}", report.display()))
            .classify(FailureKind::Environment),
        _ => Ok(()),
    }
}

/// The counts of a JUnit report; the error says why there are none.
fn read_junit(report: &Path) -> Result<TestCounts, String> {
    let xml = std::fs::read_to_string(report)
        .map_err(|error| format!("wrote no JUnit report {} ({error})", report.display()))?;
    test_counts::parse_junit(&xml).map_err(|why| {
        format!(
            "wrote a JUnit report {} that cannot be read: {why}",
            report.display()
        )
    })
}

fn require_github_dir(context: &Workspace) -> anyhow::Result<PathBuf> {
    let github = context.root.join(".github");
    if github.is_dir() {
        Ok(github)
    } else {
        Err(fail(
            FailureKind::CheckFailed,
            "there is no .github directory: run `cargo xtask gen-workflows` and commit the generated files",
        ))
    }
}

fn zizmor_stage(context: &Workspace) -> anyhow::Result<Verdict> {
    require_github_dir(context)?;
    let zizmor = context.tools.venv_bin().join("zizmor");
    let sh = context.shell()?;
    let run = |persona: &str| {
        Cmd::new(cmd!(
            sh,
            "{zizmor} --offline --persona {persona} --format json .github"
        ))
        .run_captured()
    };
    let finished = run("regular")?;
    let findings = zizmor::parse(&finished.output);
    // The pedantic persona is a report, not a gate: its count goes into the note.
    let pedantic = run("pedantic")
        .and_then(|pedantic| zizmor::parse(&pedantic.output))
        .map_or_else(
            |error| format!("pedantic persona: unreadable ({error:#})"),
            |found| {
                format!(
                    "pedantic persona: {}",
                    zizmor::describe_counts(&zizmor::count_by_audit(&found))
                )
            },
        );
    Ok(match findings {
        Ok(findings) => {
            for finding in &findings {
                println!("{}", finding.render());
            }
            println!("{pedantic}");
            if findings.is_empty() && finished.success {
                Verdict::pass(format!("0 findings; {pedantic}"))
            } else {
                Verdict::fail(format!(
                    "{} findings at the default persona ({}); {pedantic}",
                    findings.len(),
                    finished.status()
                ))
            }
        }
        Err(_) => {
            eprintln!("{}", finished.stderr.trim_end());
            Verdict::fail(format!(
                "zizmor printed no findings ({})",
                finished.status()
            ))
        }
    })
}

/// `.github/workflows/*.yml` and `.github/actions/*/action.yml` (and `.yaml`), relative, sorted.
pub fn workflow_files(root: &Path) -> Vec<PathBuf> {
    let is_yaml = |path: &Path| {
        path.extension()
            .is_some_and(|extension| extension == "yml" || extension == "yaml")
    };
    let mut files: Vec<PathBuf> = read_dir_sorted(&root.join(".github/workflows"))
        .into_iter()
        .filter(|path| path.is_file() && is_yaml(path))
        .collect();
    for action_dir in read_dir_sorted(&root.join(".github/actions")) {
        files.extend(
            ["action.yml", "action.yaml"]
                .iter()
                .map(|name| action_dir.join(name))
                .filter(|path| path.is_file()),
        );
    }
    files
        .into_iter()
        .map(|path| {
            path.strip_prefix(root)
                .map(Path::to_path_buf)
                .unwrap_or(path)
        })
        .collect()
}

fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .collect()
        })
        .unwrap_or_default();
    entries.sort();
    entries
}

fn workflow_parser(context: &Workspace) -> anyhow::Result<Verdict> {
    require_github_dir(context)?;
    let files = workflow_files(&context.root);
    if files.is_empty() {
        return Ok(Verdict::fail(
            "no workflow or action under .github: run `cargo xtask gen-workflows`",
        ));
    }
    let bundle = context.tools.validator_bundle();
    if !bundle.is_file() {
        return Ok(Verdict::fail(format!(
            "{} is missing: run the setup stage (`cargo xtask ci --only workflow-parser`)",
            bundle.display()
        )));
    }
    let finished = context
        .program("node")
        .arg(&bundle)
        .args(&files)
        .run_streaming()?;
    Ok(if finished.success {
        Verdict::pass(format!("{} files valid", files.len()))
    } else {
        Verdict::fail(format!(
            "GitHub's parser rejected a generated file ({})",
            finished.status()
        ))
    })
}

fn require_environments_dir(context: &Workspace) -> anyhow::Result<()> {
    if context.root.join("environments").is_dir() {
        Ok(())
    } else {
        Err(fail(
            FailureKind::CheckFailed,
            "there is no environments directory",
        ))
    }
}

fn terraform_fmt(context: &Workspace) -> anyhow::Result<Verdict> {
    require_environments_dir(context)?;
    if crate::process::which("terraform").is_none() {
        return Err(fail(
            FailureKind::Environment,
            "`terraform` is not on PATH: install Terraform (the version in [workspace.metadata.xtask.terraform])",
        ));
    }
    let mut program = context.program("terraform");
    if std::env::var_os("TF_CLI_CONFIG_FILE").is_none() {
        // Without a ~/.terraformrc terraform prints a warning that reads like a failure.
        let empty_config = context.tools.dir.join("terraformrc");
        crate::fs::write_atomically(&empty_config, b"")?;
        program = program.env("TF_CLI_CONFIG_FILE", empty_config);
    }
    let finished = program
        .args(["fmt", "-check", "-diff", "-recursive", "environments"])
        .run_streaming()?;
    Ok(Verdict::from_exit(
        &finished,
        "unformatted Terraform: run `terraform fmt -recursive environments` (or `cargo xtask fmt`)",
    ))
}

/// `environments/*/lambda_function` directories that have a package.json.
fn lambda_dirs(root: &Path) -> Vec<PathBuf> {
    tools::environment_dirs(root)
        .into_iter()
        .map(|env| env.join("lambda_function"))
        .filter(|dir| dir.join("package.json").is_file())
        .collect()
}

fn lambda_tests(context: &Workspace) -> anyhow::Result<Verdict> {
    let dirs = lambda_dirs(&context.root);
    if dirs.is_empty() {
        return Ok(Verdict::fail(
            "no environments/*/lambda_function/package.json: the notification Lambda and its tests are missing",
        ));
    }
    let mut total = TestCounts::default();
    let mut problems = Vec::new();
    for dir in &dirs {
        let shown = dir
            .strip_prefix(&context.root)
            .unwrap_or(dir)
            .display()
            .to_string();
        println!("node --test in {shown}");
        let junit = context
            .tools
            .dir
            .join("node-test")
            .join(format!("{}.xml", shown.replace('/', "_")));
        prepare_report(&junit)?;
        let finished = Program::new("node", dir)
            .env("PATH", &context.path)
            .arg("--test")
            // The spec reporter for the log, the JUnit one for the counts.
            .args(["--test-reporter=spec", "--test-reporter-destination=stdout"])
            .arg("--test-reporter=junit")
            .arg(format!("--test-reporter-destination={}", junit.display()))
            .run_streaming()?;
        match read_junit(&junit) {
            Ok(counts) => {
                total += counts;
                if counts.passed == 0 && counts.failed == 0 {
                    problems.push(format!("{shown}: node --test found no test"));
                } else if !finished.success || counts.failed > 0 {
                    problems.push(format!(
                        "{shown}: {} failed ({})",
                        counts.failed,
                        finished.status()
                    ));
                }
            }
            Err(why) => problems.push(format!(
                "{shown}: node --test {why} ({})",
                finished.status()
            )),
        }
    }
    let counts_note = format!(
        "{} passed, {} failed in {} packages",
        total.passed,
        total.failed,
        dirs.len()
    );
    Ok(Verdict {
        passed: problems.is_empty(),
        note: if problems.is_empty() {
            counts_note
        } else {
            format!("{}; {counts_note}", problems.join("; "))
        },
        tests: Some(total),
    })
}

fn checkov(context: &Workspace) -> anyhow::Result<Verdict> {
    require_environments_dir(context)?;
    let mut program = context
        .program(context.tools.venv_bin().join("checkov"))
        .args([
            "--directory",
            "environments",
            "--quiet",
            "--compact",
            "--skip-download",
        ]);
    let config = Path::new("environments").join(".checkov.yaml");
    let note = if context.root.join(&config).is_file() {
        program = program.arg("--config-file").arg(&config);
        format!("with {}", config.display())
    } else {
        format!("without {} (not present)", config.display())
    };
    let finished = program.run_streaming()?;
    Ok(if finished.success {
        Verdict::pass(note)
    } else {
        Verdict::fail(format!(
            "checkov reported failed checks {note} ({})",
            finished.status()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_files_are_the_workflows_and_the_local_actions() {
        let root = tempfile::tempdir().unwrap();
        let github = root.path().join(".github");
        std::fs::create_dir_all(github.join("workflows")).unwrap();
        std::fs::create_dir_all(github.join("actions/setup")).unwrap();
        std::fs::create_dir_all(github.join("actions/empty")).unwrap();
        for file in [
            "workflows/plan.yml",
            "workflows/ci.yaml",
            "workflows/README.md",
            "actions/setup/action.yml",
            "dependabot.yml",
        ] {
            std::fs::write(github.join(file), "x").unwrap();
        }
        let files: Vec<String> = workflow_files(root.path())
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        assert_eq!(
            files,
            [
                ".github/workflows/ci.yaml",
                ".github/workflows/plan.yml",
                ".github/actions/setup/action.yml"
            ]
        );
    }
}
