//! `cargo xtask plan` with the real terraform against moto: state in S3 (path style, lockfile),
//! reached through `assume_role` with an external id. Every scenario applies a base configuration
//! directly with terraform, then runs the xtask binary on the changed configuration and checks
//! its summary against terraform's own `Plan:` line.

use crate::support;
use crate::support::s3_state::{self, BUCKET, EXTERNAL_ID, curl, text};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::Moto;

const SENSITIVE: &str = "sensitive-planted-4b1d";
const MASKED_LITERAL: &str = "literal-planted-22e8";

struct Repo {
    _temp: tempfile::TempDir,
    root: PathBuf,
    env: Vec<(String, String)>,
}

impl Repo {
    /// A repository with the dev environment whose backend is this moto, state under `key`.
    fn new(moto: &Moto, key: &str) -> Repo {
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().to_path_buf();
        let manifest = std::fs::read_to_string(support::repo_root().join("Cargo.toml")).unwrap();
        let metadata = &manifest[manifest.find("[workspace.metadata.xtask").unwrap()..];
        let metadata = metadata.replace(
            "masks = [\"env:DEV_PLAN_EXTERNAL_ID\"]",
            &format!("masks = [\"env:DEV_PLAN_EXTERNAL_ID\", \"{MASKED_LITERAL}\"]"),
        );
        assert!(metadata.contains(MASKED_LITERAL), "the masks line moved");
        std::fs::write(
            root.join("Cargo.toml"),
            format!("[workspace]\nmembers = []\n\n{metadata}"),
        )
        .unwrap();
        let dev = root.join("environments/dev");
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::copy(
            support::repo_root().join("environments/dev/xtask.toml"),
            dev.join("xtask.toml"),
        )
        .unwrap();
        std::fs::write(dev.join("backend.tf"), s3_state::backend_tf(moto, key)).unwrap();
        let env = s3_state::env(moto, &root, None);
        Repo {
            _temp: temp,
            root,
            env,
        }
    }

    fn dev(&self) -> PathBuf {
        self.root.join("environments/dev")
    }

    fn write_config(&self, resources: &str) {
        std::fs::write(self.dev().join("main.tf"), resources).unwrap();
    }

    fn terraform(&self, args: &[&str]) -> Output {
        s3_state::terraform(&self.dev(), &self.env, args)
    }

    fn apply(&self, resources: &str) {
        self.write_config(resources);
        let init = self.terraform(&["init", "-input=false", "-no-color"]);
        assert!(init.status.success(), "{}", text(&init));
        let apply = self.terraform(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert!(apply.status.success(), "{}", text(&apply));
    }

    fn xtask(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(&self.root)
            .env_remove("GITHUB_TOKEN")
            .env_remove("GITHUB_EVENT_PATH")
            .env_remove("GITHUB_REPOSITORY")
            .env_remove("GITHUB_SERVER_URL")
            .env_remove("GITHUB_RUN_ID")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    /// Runs `cargo xtask plan`; returns (exit code, comment, summary objects, everything written).
    fn plan(&self) -> (i32, String, serde_json::Value, String) {
        let output = self.xtask(&[
            "plan",
            "--env",
            "dev",
            "--comment-file",
            "comment.md",
            "--summary-json",
            "summary.json",
        ]);
        let comment = std::fs::read_to_string(self.root.join("comment.md")).unwrap_or_default();
        let summary: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(self.root.join("summary.json")).unwrap_or("null".into()),
        )
        .unwrap();
        let mut everything = text(&output);
        for file in [
            "comment.md",
            "summary.json",
            "step-summary.md",
            "github-output",
        ] {
            everything.push_str(&std::fs::read_to_string(self.root.join(file)).unwrap_or_default());
        }
        (output.status.code().unwrap(), comment, summary, everything)
    }

    /// Terraform's own `Plan:` line for the plan file the xtask wrote.
    fn terraform_plan_line(&self) -> Option<String> {
        let plan_file = self.root.join("target/xtask/plan/dev/tfplan");
        let show = self.terraform(&["show", "-no-color", plan_file.to_str().unwrap()]);
        assert!(show.status.success(), "{}", text(&show));
        String::from_utf8_lossy(&show.stdout)
            .lines()
            .find(|line| line.starts_with("Plan: "))
            .map(str::to_owned)
    }
}

/// UUIDs (terraform_data ids) and S3 request ids change on every run.
fn stable(text: &str) -> String {
    let uuid =
        regex::Regex::new(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}").unwrap();
    let ids = regex::Regex::new(r"(RequestID|HostID):\s*\S+").unwrap();
    // A replaced terraform_data's old id (a UUID) is part of its change set.
    let digests =
        regex::Regex::new(r"sha256:[0-9a-f]{64}|\b[orc][0-9a-f]{12}=[0-9a-f]{12}\b").unwrap();
    let text = uuid.replace_all(text, "[uuid]");
    let text = digests.replace_all(&text, "[digest]");
    ids.replace_all(&text, "$1: [id]").into_owned()
}

struct Scenario {
    name: &'static str,
    base: &'static str,
    new: &'static str,
    /// (import, add, change, destroy, move)
    counts: (u64, u64, u64, u64, u64),
    has_changes: bool,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "create",
        base: "",
        new: r#"resource "terraform_data" "a" { input = "a" }
resource "terraform_data" "b" { input = "b" }
"#,
        counts: (0, 2, 0, 0, 0),
        has_changes: true,
    },
    Scenario {
        name: "update",
        base: r#"resource "terraform_data" "a" { input = "old" }"#,
        new: r#"resource "terraform_data" "a" { input = "new" }"#,
        counts: (0, 0, 1, 0, 0),
        has_changes: true,
    },
    Scenario {
        name: "replace_destroy_first",
        base: r#"resource "terraform_data" "a" { triggers_replace = ["v1"] }"#,
        new: r#"resource "terraform_data" "a" { triggers_replace = ["v2"] }"#,
        counts: (0, 1, 0, 1, 0),
        has_changes: true,
    },
    Scenario {
        name: "replace_create_first",
        base: r#"resource "terraform_data" "a" {
  triggers_replace = ["v1"]
  lifecycle { create_before_destroy = true }
}"#,
        new: r#"resource "terraform_data" "a" {
  triggers_replace = ["v2"]
  lifecycle { create_before_destroy = true }
}"#,
        counts: (0, 1, 0, 1, 0),
        has_changes: true,
    },
    Scenario {
        name: "delete",
        base: r#"resource "terraform_data" "a" { input = "a" }
resource "terraform_data" "b" { input = "b" }
"#,
        new: r#"resource "terraform_data" "a" { input = "a" }"#,
        counts: (0, 0, 0, 1, 0),
        has_changes: true,
    },
    Scenario {
        name: "move",
        base: r#"resource "terraform_data" "old" { input = "a" }"#,
        new: r#"resource "terraform_data" "new" { input = "a" }
moved {
  from = terraform_data.old
  to   = terraform_data.new
}
"#,
        counts: (0, 0, 0, 0, 1),
        has_changes: true,
    },
    Scenario {
        name: "import",
        base: "",
        new: r#"import {
  to = terraform_data.imported
  id = "existing-object"
}
resource "terraform_data" "imported" {}
"#,
        counts: (1, 0, 0, 0, 0),
        has_changes: true,
    },
    Scenario {
        name: "outputs_only",
        base: r#"output "version" { value = "1" }"#,
        new: r#"output "version" { value = "2" }"#,
        counts: (0, 0, 0, 0, 0),
        has_changes: true,
    },
    Scenario {
        name: "no_changes",
        base: r#"resource "terraform_data" "a" { input = "a" }"#,
        new: r#"resource "terraform_data" "a" { input = "a" }"#,
        counts: (0, 0, 0, 0, 0),
        has_changes: false,
    },
    Scenario {
        name: "sensitive",
        base: "",
        new: r#"variable "token" {
  type      = string
  sensitive = true
  default   = "sensitive-planted-4b1d"
}
resource "terraform_data" "a" { input = var.token }
resource "terraform_data" "b" { input = "literal-planted-22e8" }
output "token" {
  value     = var.token
  sensitive = true
}
"#,
        counts: (0, 2, 0, 0, 0),
        has_changes: true,
    },
];

fn assert_no_secret(name: &str, everything: &str) {
    for secret in [EXTERNAL_ID, SENSITIVE, MASKED_LITERAL] {
        assert!(
            !everything.contains(secret),
            "{name}: {secret} leaked into the output:\n{everything}"
        );
    }
}

#[test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
fn plan_scenarios_against_terraform_and_moto() {
    let Some(moto) = Moto::start() else { return };
    s3_state::prepare(&moto);
    for scenario in SCENARIOS {
        let repo = Repo::new(&moto, &format!("{}/terraform.tfstate", scenario.name));
        repo.apply(scenario.base);
        repo.write_config(scenario.new);
        let (code, comment, summary, everything) = repo.plan();
        assert_eq!(code, 0, "{}: {everything}", scenario.name);
        let object = &summary[0];
        let counts = (
            object["import"].as_u64().unwrap(),
            object["add"].as_u64().unwrap(),
            object["change"].as_u64().unwrap(),
            object["destroy"].as_u64().unwrap(),
            object["move"].as_u64().unwrap(),
        );
        assert_eq!(counts, scenario.counts, "{}: {object}", scenario.name);
        assert_eq!(
            object["has_changes"], scenario.has_changes,
            "{}",
            scenario.name
        );
        assert_eq!(object["errored"], false);
        // Our line is terraform's line, whenever terraform prints one.
        if let Some(line) = repo.terraform_plan_line() {
            assert!(
                comment.contains(&line),
                "{}: `{line}` not in the comment:\n{comment}",
                scenario.name
            );
        }
        assert!(comment.chars().count() <= 65_000);
        assert_no_secret(scenario.name, &everything);
        insta::assert_snapshot!(format!("plan_{}", scenario.name), stable(&comment));
    }
}

#[test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
fn summary_lists_destroyed_and_replaced_addresses_and_goes_to_github_output() {
    let Some(moto) = Moto::start() else { return };
    s3_state::prepare(&moto);
    let repo = Repo::new(&moto, "lists/terraform.tfstate");
    repo.apply(
        r#"resource "terraform_data" "gone" { input = "a" }
resource "terraform_data" "swap" { triggers_replace = ["v1"] }
"#,
    );
    repo.write_config(r#"resource "terraform_data" "swap" { triggers_replace = ["v2"] }"#);
    let (code, comment, summary, everything) = repo.plan();
    assert_eq!(code, 0, "{everything}");
    assert_eq!(
        summary[0]["destroyed"],
        serde_json::json!(["terraform_data.gone"])
    );
    assert_eq!(
        summary[0]["replaced"],
        serde_json::json!(["terraform_data.swap"])
    );
    assert_eq!(summary[0]["has_destroy"], true);
    assert!(comment.contains("[!WARNING]"));
    let outputs = std::fs::read_to_string(repo.root.join("github-output")).unwrap();
    assert!(
        outputs.starts_with("plan-summary<<ghadelimiter_"),
        "{outputs}"
    );
    assert!(outputs.contains(r#""destroyed":["terraform_data.gone"]"#));
    let step_summary = std::fs::read_to_string(repo.root.join("step-summary.md")).unwrap();
    assert!(step_summary.contains("Plan: 1 to add, 0 to change, 2 to destroy."));
}

#[test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
fn an_error_gives_a_failure_comment_and_exit_5() {
    let Some(moto) = Moto::start() else { return };
    s3_state::prepare(&moto);
    let repo = Repo::new(&moto, "error/terraform.tfstate");
    repo.apply("");
    repo.write_config(r#"resource "terraform_data" "a" { input = terraform_data.missing.output }"#);
    let (code, comment, summary, everything) = repo.plan();
    assert_eq!(code, 5, "{everything}");
    assert!(comment.contains("Plan `dev`: failed"), "{comment}");
    assert!(
        comment.contains("Error: Reference to undeclared resource"),
        "{comment}"
    );
    assert_eq!(summary[0]["errored"], true);
    assert_no_secret("error", &everything);
    insta::assert_snapshot!("plan_error", stable(&comment));
}

/// An error only the plan finds (a failed precondition: `validate` passes) comes from
/// `plan -json`'s diagnostic: the comment has terraform's `Error:` block with its place, code and
/// values, and the log its messages, not JSON.
#[test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
fn a_plan_error_is_read_from_terraforms_json_diagnostic() {
    let Some(moto) = Moto::start() else { return };
    s3_state::prepare(&moto);
    let repo = Repo::new(&moto, "plan-error/terraform.tfstate");
    repo.apply("");
    repo.write_config(
        "variable \"ready\" {\n  default = false\n}\nresource \"terraform_data\" \"a\" {\n  input = \"a\"\n  lifecycle {\n    precondition {\n      condition     = var.ready\n      error_message = \"The input is not ready.\"\n    }\n  }\n}\n",
    );
    let (code, comment, summary, everything) = repo.plan();
    assert_eq!(code, 5, "{everything}");
    assert!(comment.contains("`terraform plan` failed"), "{comment}");
    assert!(
        comment.contains("Error: Resource precondition failed\n\n  on main.tf line 8, in resource \"terraform_data\" \"a\":\n   8:       condition     = var.ready\n    ├────────────────\n    │ var.ready is false\n\nThe input is not ready."),
        "{comment}"
    );
    assert!(comment.contains("The input is not ready."), "{comment}");
    assert!(!everything.contains(r#""@level""#), "{everything}");
    assert!(
        everything.contains("Error: Resource precondition failed"),
        "{everything}"
    );
    assert_eq!(summary[0]["errored"], true);
    assert_no_secret("plan-error", &everything);
}

/// `cargo xtask plan` runs `terraform plan -lock=false`: the plan role may write nothing, the lock
/// included. A lock held by an apply neither blocks the plan nor is touched by it, and `init` plus
/// `plan` leave the versioned bucket exactly as it was (no object, version or delete marker).
#[test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
fn a_plan_takes_no_lock_and_writes_nothing_to_the_state_bucket() {
    let Some(moto) = Moto::start() else { return };
    s3_state::prepare(&moto);
    let repo = Repo::new(&moto, "locked/terraform.tfstate");
    repo.apply(r#"resource "terraform_data" "a" { input = "a" }"#);
    let bucket = format!("{}/{BUCKET}", moto.endpoint());
    curl(&[
        "-X",
        "PUT",
        &format!("{bucket}?versioning"),
        "-H",
        "Content-Type: application/xml",
        "--data",
        "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status></VersioningConfiguration>",
    ]);
    // Another run (an apply) holds the S3 lockfile.
    curl(&[
        "-X",
        "PUT",
        &format!("{bucket}/locked/terraform.tfstate.tflock"),
        "--data",
        r#"{"ID":"4a0c5b7e-0000-4000-8000-000000000001","Operation":"OperationTypeApply","Info":"","Who":"someone@laptop","Version":"1.11.4","Created":"2026-01-01T00:00:00Z","Path":"xtask-tfstate/locked/terraform.tfstate"}"#,
    ]);
    let versions = || curl(&[&format!("{bucket}?versions")]);
    let before = versions();
    assert!(before.contains("terraform.tfstate.tflock"), "{before}");
    repo.write_config(r#"resource "terraform_data" "a" { input = "b" }"#);
    let (code, comment, summary, everything) = repo.plan();
    assert_eq!(code, 0, "{everything}");
    assert!(
        !comment.contains("Error acquiring the state lock"),
        "{comment}"
    );
    assert_eq!(summary[0]["change"], 1, "{everything}");
    assert_eq!(versions(), before, "the plan wrote to the state bucket");
    assert_no_secret("lock", &everything);
}

/// A plan made by the real terraform with the local backend: `base` is applied, then `new` is
/// planned. Returns the `terraform show -json` document and terraform's own text.
fn local_plan(base: &str, new: &str) -> Option<(Vec<u8>, String)> {
    support::which("terraform").or_else(|| support::missing("terraform").map(|n| match n {}))?;
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let cli_config = support::terraform_cli_config(dir);
    let run = |args: &[&str]| {
        let output = Command::new("terraform")
            .args(args)
            .current_dir(dir)
            .env("TF_CLI_CONFIG_FILE", &cli_config)
            .env("TF_IN_AUTOMATION", "1")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "terraform {args:?}: {}",
            text(&output)
        );
        output
    };
    std::fs::write(dir.join("main.tf"), base).unwrap();
    run(&["init", "-input=false", "-no-color"]);
    run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    std::fs::write(dir.join("main.tf"), new).unwrap();
    run(&["plan", "-input=false", "-no-color", "-out=tfplan"]);
    let json = run(&["show", "-json", "tfplan"]).stdout;
    let human = String::from_utf8(run(&["show", "-no-color", "tfplan"]).stdout).unwrap();
    Some((json, human))
}

/// The top-level attributes terraform's own text marks as changing (`~`, `+` or `-` at the
/// attribute indentation), per resource that is updated or replaced.
fn terraform_changed_attributes(human: &str) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for line in human.lines() {
        if let Some(rest) = line.strip_prefix("  # ") {
            current = rest
                .split_once(" will be updated in-place")
                .or_else(|| rest.split_once(" must be replaced"))
                .map(|(address, _)| address.to_owned());
            if let Some(address) = &current {
                out.insert(address.clone(), Vec::new());
            }
            continue;
        }
        let Some(address) = &current else { continue };
        // Attributes of the resource are at six columns: four of body, two of symbol.
        if let Some(attribute) = line
            .strip_prefix("      ~ ")
            .or_else(|| line.strip_prefix("      + "))
            .or_else(|| line.strip_prefix("      - "))
        {
            let name = attribute.split([' ', '=']).next().unwrap_or_default();
            if !name.is_empty() && name != "resource" {
                out.get_mut(address).unwrap().push(name.to_owned());
            }
        }
    }
    for names in out.values_mut() {
        names.sort();
        names.dedup();
    }
    out
}

const NESTED_BASE: &str = r#"
resource "terraform_data" "nested" {
  input            = { name = "x", list = [1, 2], map = { k = "v" }, obj = { inner = ["a"] }, empty = {} }
  triggers_replace = [{ a = 1 }, ["b"], { m = { n = [true] } }]
}
resource "terraform_data" "list_only" {
  input            = [[1], [2, 3], []]
  triggers_replace = { keep = ["same"] }
}
resource "terraform_data" "replaced" {
  input            = { tags = { Name = "r" } }
  triggers_replace = [{ v = 1 }]
}
"#;

const NESTED_NEW: &str = r#"
resource "terraform_data" "nested" {
  input            = { name = "y", list = [1, 2], map = { k = "v" }, obj = { inner = ["a"] }, empty = {} }
  triggers_replace = [{ a = 1 }, ["b"], { m = { n = [true] } }]
}
resource "terraform_data" "list_only" {
  input            = [[1], [2, 4], []]
  triggers_replace = { keep = ["same"] }
}
resource "terraform_data" "replaced" {
  input            = { tags = { Name = "r" } }
  triggers_replace = [{ v = 2 }]
}
"#;

#[test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
fn nested_known_values_are_not_read_as_unknown_in_real_plans() {
    let Some((json, human)) = local_plan(NESTED_BASE, NESTED_NEW) else {
        return;
    };
    let plan = xtask::plan::model::Plan::from_slice(&json).unwrap();
    let summary = xtask::plan::summary::Summary::from_plan(&plan);
    let ours: std::collections::BTreeMap<String, Vec<String>> = summary
        .groups
        .update
        .iter()
        .chain(&summary.groups.replace)
        .map(|entry| (entry.address.clone(), entry.attributes.clone()))
        .collect();
    let theirs = terraform_changed_attributes(&human);
    assert_eq!(ours, theirs, "terraform said:\n{human}");
    // What terraform shows, spelt out: `output` becomes unknown, `triggers_replace` is the same.
    assert_eq!(ours["terraform_data.nested"], ["input", "output"]);
    assert_eq!(ours["terraform_data.list_only"], ["input", "output"]);
    assert_eq!(
        ours["terraform_data.replaced"],
        ["id", "output", "triggers_replace"]
    );
}

/// `terraform show -json` of the state that `base` leaves (local backend).
fn local_state(base: &str) -> Option<Vec<u8>> {
    support::which("terraform").or_else(|| support::missing("terraform").map(|n| match n {}))?;
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let cli_config = support::terraform_cli_config(dir);
    let run = |args: &[&str]| {
        let output = Command::new("terraform")
            .args(args)
            .current_dir(dir)
            .env("TF_CLI_CONFIG_FILE", &cli_config)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "terraform {args:?}: {}",
            text(&output)
        );
        output
    };
    std::fs::write(dir.join("main.tf"), base).unwrap();
    run(&["init", "-input=false", "-no-color"]);
    run(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    Some(run(&["show", "-json"]).stdout)
}

fn from_plan(repo: &Path, file: &str) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["plan", "--from-plan", file, "--comment-file", "comment.md"])
        .current_dir(repo)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .output()
        .unwrap();
    let comment = std::fs::read_to_string(repo.join("comment.md")).unwrap_or_default();
    (output.status.code().unwrap(), text(&output), comment)
}

#[test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
fn from_plan_refuses_documents_that_are_not_plans_with_exit_2() {
    let Some(state) = local_state(r#"resource "terraform_data" "a" { input = "a" }"#) else {
        return;
    };
    let repo = support::config_only_repo();
    let cases: &[(&str, &[u8], &str)] = &[
        ("list.json", b"[]", "not an object"),
        ("empty.json", b"{}", "no `format_version`"),
        ("state.json", &state, "is a state"),
        (
            "empty-state.json",
            br#"{"format_version":"1.0"}"#,
            "no `planned_values`",
        ),
        (
            "future.json",
            br#"{"format_version":"2.0","planned_values":{}}"#,
            "`format_version` is \"2.0\"",
        ),
    ];
    for (name, contents, why) in cases {
        std::fs::write(repo.path().join(name), contents).unwrap();
        let (code, output, comment) = from_plan(repo.path(), name);
        assert_eq!(code, 2, "{name}: {output}");
        assert!(
            output.contains(name),
            "{name}: the file is not named: {output}"
        );
        assert!(output.contains(why), "{name}: {output}");
        assert!(!comment.contains("no changes"), "{name}: {comment}");
    }
    // A plan without changes is still read.
    let (json, _) = local_plan("", "").unwrap();
    std::fs::write(repo.path().join("plan.json"), json).unwrap();
    let (code, output, comment) = from_plan(repo.path(), "plan.json");
    assert_eq!(code, 0, "{output}");
    assert!(comment.contains("no changes"), "{comment}");
    // A file that is not there is a mistake on the command line.
    let (code, output, _) = from_plan(repo.path(), "missing.json");
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("missing.json"), "{output}");
}

#[test]
fn beyond_the_list_limit_the_job_summary_and_the_log_have_every_address() {
    let repo = support::config_only_repo();
    let json = xtask::plan::synthetic::plan_json(2_000, "secret-planted-9c1e");
    std::fs::write(repo.path().join("big.json"), json).unwrap();
    let step_summary = repo.path().join("step-summary.md");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "plan",
            "--from-plan",
            "big.json",
            "--comment-file",
            "comment.md",
        ])
        .current_dir(repo.path())
        .env("GITHUB_STEP_SUMMARY", &step_summary)
        .env_remove("GITHUB_OUTPUT")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let log = String::from_utf8_lossy(&output.stdout);
    let summary = std::fs::read_to_string(&step_summary).unwrap();
    let comment = std::fs::read_to_string(repo.path().join("comment.md")).unwrap();
    assert!(comment.contains("listed per type"), "{comment}");
    assert!(
        comment.contains("the job summary and the CI log have every address"),
        "{comment}"
    );
    for i in 0..2_000 {
        if i % 6 == 5 {
            continue; // no-op
        }
        let resource_type = if i % 2 == 0 {
            "terraform_data"
        } else {
            "null_resource"
        };
        let address = format!("{resource_type}.r[{i}]");
        assert!(
            summary.contains(&format!("`{address}`")),
            "{address} not in the job summary"
        );
        assert!(log.contains(&address), "{address} not in the log");
    }
    assert!(!text(&output).contains("secret-planted-9c1e"));
    assert!(!summary.contains("secret-planted-9c1e"));
}

#[test]
fn an_errored_plan_file_fails_with_exit_5_and_says_so() {
    let repo = support::config_only_repo();
    std::fs::write(
        repo.path().join("errored.json"),
        r#"{"format_version":"1.2","terraform_version":"1.11.4","planned_values":{},"errored":true,"complete":false,"applyable":false,
            "resource_changes":[{"address":"terraform_data.a","mode":"managed","type":"terraform_data","change":{"actions":["no-op"]}}]}"#,
    )
    .unwrap();
    let (code, output, comment) = from_plan(repo.path(), "errored.json");
    assert_eq!(code, 5, "{output}");
    assert!(comment.contains("errored"), "{comment}");
    assert!(!comment.contains("no changes"), "{comment}");
}
