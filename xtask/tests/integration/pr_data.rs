//! Pull-request files as data (issue 9, finding 3): the job that runs `terraform plan` hands a
//! record to the job that posts, and `fmt --source` formats another checkout with this
//! repository's configuration.

use crate::support;

use std::path::Path;
use std::process::Output;

fn xtask(dir: &Path, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("terraformrc"))
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

const PLAN: &str = r#"{"format_version":"1.2","terraform_version":"1.11.4","planned_values":{},
  "prior_state":{"values":{"root_module":{"resources":[{"values":{"input":"hunter2-prior"}}]}}},
  "resource_changes":[{"address":"terraform_data.gone","mode":"managed","type":"terraform_data","name":"gone",
    "change":{"actions":["delete"],"before":{"input":"hunter2-before"},"after":null}}]}"#;

#[test]
fn the_comment_job_renders_the_plan_jobs_record_and_reports_a_missing_one() {
    let repo = support::config_only_repo();
    let record = repo.path().join("record");
    xtask::plan::record::write_planned(
        &record,
        "dev",
        PLAN.as_bytes(),
        "terraform_data.gone will be destroyed",
        str::to_owned,
    )
    .unwrap();
    let stored = std::fs::read_to_string(record.join("dev/plan.json")).unwrap();
    assert!(!stored.contains("hunter2"), "{stored}");

    let comment = repo.path().join("comment.md");
    let summary = repo.path().join("summary.json");
    let output = xtask(
        repo.path(),
        &[
            "plan",
            "--env",
            "dev",
            "--from-record",
            "record",
            "--comment-file",
            comment.to_str().unwrap(),
            "--summary-json",
            summary.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    let body = std::fs::read_to_string(&comment).unwrap();
    assert!(body.contains("terraform_data.gone"), "{body}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(json[0]["destroy"], 1);
    assert_eq!(json[0]["has_destroy"], true);

    // The plan job left nothing (it failed before terraform ran): a failed plan, exit 5.
    std::fs::remove_dir_all(&record).unwrap();
    let output = xtask(
        repo.path(),
        &[
            "plan",
            "--env",
            "dev",
            "--from-record",
            "record",
            "--comment-file",
            comment.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(5), "{}", text(&output));
    let body = std::fs::read_to_string(&comment).unwrap();
    assert!(body.contains("no plan result"), "{body}");
}

#[test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
fn fmt_source_checks_another_checkout_with_this_repositorys_configuration() {
    if support::which("terraform").is_none() {
        support::missing("terraform");
        return;
    }
    let repo = support::config_only_repo();
    support::terraform_cli_config(repo.path());
    let data = repo.path().join("pr-head");
    std::fs::create_dir_all(data.join("environments/dev")).unwrap();
    std::fs::write(
        data.join("environments/dev/main.tf"),
        "resource \"terraform_data\" \"a\" {\ninput=\"a\"\n}\n",
    )
    .unwrap();
    let output = xtask(repo.path(), &["fmt", "--check", "--source", "pr-head"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("environments/dev/main.tf"),
        "{}",
        text(&output)
    );
    let missing = xtask(repo.path(), &["fmt", "--check", "--source", "nowhere"]);
    assert_eq!(missing.status.code(), Some(2), "{}", text(&missing));
}

/// The plan job's side with the real terraform (local backend): `--record` writes the reduced
/// plan without the values of sensitive attributes, variables or outputs, then the comment job's
/// `--from-record` renders the same summary.
#[test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
fn plan_record_with_terraform_keeps_no_value_and_renders_the_same_summary() {
    if support::which("terraform").is_none() {
        support::missing("terraform");
        return;
    }
    let repo = support::config_only_repo();
    support::terraform_cli_config(repo.path());
    let dev = repo.path().join("environments/dev");
    std::fs::create_dir_all(dev.join("generated")).unwrap();
    std::fs::write(
        dev.join("main.tf"),
        r#"terraform {
  backend "local" {}
}

variable "password" {
  type      = string
  sensitive = true
  default   = "hunter2-variable"
}

resource "terraform_data" "db" {
  input = { password = var.password, size = 10 }
}

output "password" {
  value     = var.password
  sensitive = true
}
"#,
    )
    .unwrap();
    std::fs::write(
        dev.join("generated/backend.tfbackend"),
        "path = \"terraform.tfstate\"\n",
    )
    .unwrap();
    let live = repo.path().join("live.json");
    let output = xtask(
        repo.path(),
        &[
            "plan",
            "--env",
            "dev",
            "--record",
            "record",
            "--summary-json",
            live.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    for file in ["record/dev/plan.json", "record/dev/plan.txt"] {
        let stored = std::fs::read_to_string(repo.path().join(file)).unwrap();
        assert!(!stored.contains("hunter2"), "{file}: {stored}");
    }
    let replayed = repo.path().join("replayed.json");
    let output = xtask(
        repo.path(),
        &[
            "plan",
            "--env",
            "dev",
            "--from-record",
            "record",
            "--summary-json",
            replayed.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", text(&output));
    assert_eq!(
        std::fs::read_to_string(&live).unwrap(),
        std::fs::read_to_string(&replayed).unwrap()
    );
}

/// A terraform error in the plan job is recorded (masked) and the comment job reports it: "Plan
/// failed" with terraform's `Error:` block, exit 5 on both sides.
#[test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
fn a_failed_plan_is_recorded_and_reported_by_the_comment_job() {
    if support::which("terraform").is_none() {
        support::missing("terraform");
        return;
    }
    let repo = support::config_only_repo();
    support::terraform_cli_config(repo.path());
    let dev = repo.path().join("environments/dev");
    std::fs::create_dir_all(dev.join("generated")).unwrap();
    std::fs::write(
        dev.join("main.tf"),
        "terraform {\n  backend \"local\" {}\n}\n\nresource \"terraform_data\" \"a\" {\n  input = var.missing\n}\n",
    )
    .unwrap();
    std::fs::write(
        dev.join("generated/backend.tfbackend"),
        "path = \"terraform.tfstate\"\n",
    )
    .unwrap();
    let output = xtask(repo.path(), &["plan", "--env", "dev", "--record", "record"]);
    assert_eq!(output.status.code(), Some(5), "{}", text(&output));
    let recorded = std::fs::read_to_string(repo.path().join("record/dev/error.json")).unwrap();
    assert!(recorded.contains("var.missing"), "{recorded}");
    let comment = repo.path().join("comment.md");
    let output = xtask(
        repo.path(),
        &[
            "plan",
            "--env",
            "dev",
            "--from-record",
            "record",
            "--comment-file",
            comment.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(5), "{}", text(&output));
    let body = std::fs::read_to_string(&comment).unwrap();
    assert!(body.contains("var.missing"), "{body}");
    // The record holds terraform's `-json` lines; the comment job reads them into `Error:` blocks.
    assert!(
        body.contains("Error: Reference to undeclared input variable"),
        "{body}"
    );
    assert!(!body.contains(r#""@level""#), "{body}");
}
