//! `cargo xtask ci` on small throwaway repositories: stages fail with a clear message when their
//! inputs are missing, count the test cases of the runners they start, and end the log with the
//! closing `ci: N passed, M failed` line. Also GitHub's workflow parser, as bundled by the setup
//! stage, rejects a misspelt key.

use crate::support;

use std::path::Path;
use std::process::{Command, Output};

/// A directory that `cargo xtask ci` takes for a repository root.
fn throwaway_repo() -> tempfile::TempDir {
    let repo = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(repo.path().join("xtask")).unwrap();
    std::fs::write(
        repo.path().join("Cargo.toml"),
        "[workspace]\n\n[workspace.metadata.xtask]\n",
    )
    .unwrap();
    std::fs::write(repo.path().join("xtask/Cargo.toml"), "[package]\n").unwrap();
    repo
}

fn xtask_ci(repo: &Path, args: &[&str]) -> (Output, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("ci")
        .args(args)
        .current_dir(repo)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output, text)
}

fn last_line(text: &str) -> &str {
    text.trim_end().lines().last().unwrap_or_default()
}

#[test]
fn a_stage_without_its_inputs_fails_and_says_why() {
    let repo = throwaway_repo();
    let (output, text) = xtask_ci(
        repo.path(),
        &[
            "--only",
            "zizmor,workflow-parser,lambda-tests",
            "--skip",
            "setup",
            "--keep-going",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(
        text.contains("there is no .github directory: run `cargo xtask gen-workflows`"),
        "{text}"
    );
    assert!(
        text.contains("no environments/*/lambda_function/package.json"),
        "{text}"
    );
    assert!(
        text.contains("failed stages: zizmor, workflow-parser, lambda-tests"),
        "{text}"
    );
    assert_eq!(last_line(&text), "ci: 0 passed, 0 failed");
}

#[test]
fn the_first_failure_stops_the_run_unless_asked_to_keep_going() {
    let repo = throwaway_repo();
    let (_, text) = xtask_ci(
        repo.path(),
        &["--only", "zizmor,lambda-tests", "--skip", "setup"],
    );
    assert!(text.contains("zizmor           FAILED"), "{text}");
    assert!(text.contains("lambda-tests     not run"), "{text}");
}

#[test]
fn an_unknown_stage_is_a_usage_error() {
    let repo = throwaway_repo();
    let (output, text) = xtask_ci(repo.path(), &["--only", "zizmo"]);
    assert_eq!(output.status.code(), Some(2), "{text}");
    assert!(text.contains("unknown stage `zizmo`"), "{text}");
}

fn write_lambda(repo: &Path, test_body: &str) {
    let lambda = repo.join("environments/dev/lambda_function");
    std::fs::create_dir_all(&lambda).unwrap();
    std::fs::write(
        lambda.join("package.json"),
        r#"{"name":"notifier","private":true}"#,
    )
    .unwrap();
    std::fs::write(
        lambda.join("index.test.js"),
        format!("const test = require('node:test');\nconst assert = require('node:assert');\n{test_body}\n"),
    )
    .unwrap();
}

#[test]
fn lambda_test_cases_are_counted_in_the_closing_line() {
    if support::which("node").is_none() {
        support::missing("node (Node.js 20)");
        return;
    }
    let repo = throwaway_repo();
    write_lambda(
        repo.path(),
        "test('one', () => assert.equal(1, 1));\ntest('two', () => assert.ok(true));",
    );
    let (output, text) = xtask_ci(repo.path(), &["--only", "lambda-tests", "--skip", "setup"]);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("lambda-tests     passed"), "{text}");
    assert_eq!(last_line(&text), "ci: 2 passed, 0 failed");
}

#[test]
fn a_failing_lambda_test_fails_the_run() {
    if support::which("node").is_none() {
        support::missing("node (Node.js 20)");
        return;
    }
    let repo = throwaway_repo();
    write_lambda(
        repo.path(),
        "test('good', () => assert.ok(true));\ntest('bad', () => assert.equal(1, 2));",
    );
    let (output, text) = xtask_ci(repo.path(), &["--only", "lambda-tests", "--skip", "setup"]);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("1 failed"), "{text}");
    assert_eq!(last_line(&text), "ci: 1 passed, 1 failed");
}

#[test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
fn unformatted_terraform_fails_its_stage() {
    if support::which("terraform").is_none() {
        support::missing("terraform");
        return;
    }
    let repo = throwaway_repo();
    let env = repo.path().join("environments/dev");
    std::fs::create_dir_all(&env).unwrap();
    std::fs::write(env.join("main.tf"), "locals {\n  a = 1\n    bb = 2\n}\n").unwrap();
    let (output, text) = xtask_ci(repo.path(), &["--only", "terraform-fmt", "--skip", "setup"]);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("unformatted Terraform"), "{text}");
    std::fs::write(env.join("main.tf"), "locals {\n  a  = 1\n  bb = 2\n}\n").unwrap();
    let (output, text) = xtask_ci(repo.path(), &["--only", "terraform-fmt", "--skip", "setup"]);
    assert!(output.status.success(), "{text}");
}

#[test]
#[ignore = "needs GitHub's workflow parser: `cargo xtask ci` installs it and runs this"]
fn githubs_parser_rejects_a_misspelt_key_and_accepts_the_fix() {
    let bundle = support::ci_tools_dir().join("workflow-parser/workflow-validator.cjs");
    if !bundle.is_file() || support::which("node").is_none() {
        support::missing("the workflow validator bundle (target/ci/workflow-parser)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let workflow = |paths_key: &str| {
        format!(
            "on:\n  push:\n    {paths_key}: [\"environments/dev/docker/**\"]\npermissions: {{}}\n\
             jobs:\n  migrate:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: cargo xtask migrate --env dev\n"
        )
    };
    std::fs::write(dir.path().join("bad.yml"), workflow("path")).unwrap();
    std::fs::write(dir.path().join("good.yml"), workflow("paths")).unwrap();
    std::fs::create_dir_all(dir.path().join("setup")).unwrap();
    std::fs::write(
        dir.path().join("setup/action.yml"),
        "name: setup\ndescription: d\nruns:\n  using: composite\n  steps:\n    - run: echo hi\n      shell: bash\n      unknown: 1\n",
    )
    .unwrap();
    let run = |file: &str| {
        let output = Command::new("node")
            .arg(&bundle)
            .arg(file)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    let (code, text) = run("bad.yml");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("bad.yml (Line: 3, Col: 5): Unexpected value 'path'"),
        "{text}"
    );
    let (code, text) = run("good.yml");
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = run("setup/action.yml");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("Unexpected value 'unknown'"), "{text}");
}

#[test]
fn a_missing_tool_exits_3() {
    let repo = throwaway_repo();
    std::fs::create_dir_all(repo.path().join("environments/dev")).unwrap();
    // No setup stage, so target/ci/venv/bin/checkov does not exist in the throwaway repo.
    let (output, text) = xtask_ci(repo.path(), &["--only", "checkov", "--skip", "setup"]);
    assert_eq!(output.status.code(), Some(3), "{text}");
    assert!(text.contains("starting `"), "{text}");
    assert_eq!(last_line(&text), "ci: 0 passed, 0 failed");
}
