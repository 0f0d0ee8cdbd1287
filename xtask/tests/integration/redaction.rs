//! Secrets never leave the machine, tried as a new user would with the real binary: a diff with a
//! secret of every rule's kind and the job's own secret values reaches no LLM request (an
//! OpenAI-compatible wiremock), and the job's secrets planted in a plan reach no comment, log
//! line, summary JSON, job summary or step output. Masking touches values only: a sensitive
//! output whose value is the environment name leaves the marker and the title alone.

use crate::support;

#[path = "../../src/redact/examples.rs"]
mod examples;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The job's own secrets, as CI passes them: values with no recognisable shape, so only the
/// configuration-named exact values can catch them.
const OPENAI_KEY: &str = "job-openai-key-4c1f9a2b7e";
const GITHUB_TOKEN: &str = "job-github-token-8d3e6f0a1b";
const PLAN_EXTERNAL_ID: &str = "plan-external-id-5a7c9e1d3f";
const MIGRATE_EXTERNAL_ID: &str = "migrate-external-id-2b4d6f8a0c";
/// An external id only the AWS config file holds (`aws-profiles` wrote it in an earlier step, the
/// variable is gone): still a secret of the job.
const PROFILE_EXTERNAL_ID: &str = "profile-external-id-9e8d7c6b5a";
const JOB_SECRETS: &[&str] = &[
    OPENAI_KEY,
    GITHUB_TOKEN,
    PLAN_EXTERNAL_ID,
    MIGRATE_EXTERNAL_ID,
    PROFILE_EXTERNAL_ID,
];

/// A repository with the project's configuration and the dev environment, without `plan.masks`:
/// the job's secrets must be masked because the configuration names them, not because a mask
/// repeats them.
fn repo() -> tempfile::TempDir {
    let dir = support::config_only_repo();
    let manifest = dir.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let without_masks: String = text
        .lines()
        .filter(|line| !line.starts_with("masks = "))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_ne!(without_masks, text, "the masks line moved");
    std::fs::write(&manifest, without_masks).unwrap();
    dir
}

fn xtask(dir: &Path, args: &[&str], envs: &[(&str, String)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.current_dir(dir).args(args);
    for name in [
        "GITHUB_EVENT_PATH",
        "GITHUB_REPOSITORY",
        "GITHUB_SERVER_URL",
        "GITHUB_RUN_ID",
        "GITHUB_API_URL",
        "AZURE_OPENAI_API_KEY",
        "AWS_PROFILE",
    ] {
        command.env_remove(name);
    }
    let aws_config = dir.join("aws-config");
    std::fs::write(
        &aws_config,
        format!("[default]\nregion = x\n\n[profile dev-terraform-backend]\nrole_arn = arn:aws:iam::123456789012:role/gha-dev-terraform-plan\nexternal_id = {PROFILE_EXTERNAL_ID}\ncredential_source = Environment\n"),
    )
    .unwrap();
    command
        .env("AWS_CONFIG_FILE", &aws_config)
        .env("GITHUB_STEP_SUMMARY", dir.join("step-summary.md"))
        .env("GITHUB_OUTPUT", dir.join("github-output"))
        .env("OPENAI_API_KEY", OPENAI_KEY)
        .env("GITHUB_TOKEN", GITHUB_TOKEN)
        .env("DEV_PLAN_EXTERNAL_ID", PLAN_EXTERNAL_ID)
        .env("DEV_MIGRATE_EXTERNAL_ID", MIGRATE_EXTERNAL_ID);
    for (name, value) in envs {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

fn assert_none_in(what: &str, text: &str, secrets: &[String]) {
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret} reached {what}:\n{text}"
        );
    }
}

/// A `terraform show -json` plan: the job's secrets in a for_each key (an address that is
/// destroyed, so it is in the warning, the lists and the summary JSON) and in an output value,
/// shaped secrets in another output, and a sensitive output whose value is `dev`.
fn plan_json(shaped: &[String]) -> Value {
    let deleted = |key: &str| {
        json!({"address": format!("terraform_data.keys[\"{key}\"]"), "mode": "managed",
            "type": "terraform_data", "name": "keys", "index": key,
            "change": {"actions": ["delete"], "before": {"input": "x"}, "after": null,
                "after_unknown": {}, "before_sensitive": {}, "after_sensitive": false}})
    };
    let output = |after: Value, sensitive: bool| {
        json!({"actions": ["create"], "before": null, "after": after, "after_unknown": false,
            "before_sensitive": false, "after_sensitive": sensitive})
    };
    json!({
        "format_version": "1.2",
        "terraform_version": "1.11.4",
        "planned_values": {"root_module": {}},
        "resource_changes": [deleted(MIGRATE_EXTERNAL_ID), deleted(GITHUB_TOKEN), deleted("dev-keep")],
        "output_changes": {
            "environment": output(json!("dev"), true),
            "ids": output(json!([PLAN_EXTERNAL_ID, OPENAI_KEY, PROFILE_EXTERNAL_ID]), false),
            "shaped": output(json!(shaped.join(" ")), false),
        },
        "applyable": true,
        "complete": true,
        "errored": false
    })
}

/// A few shaped secrets short enough for the 200 characters an output value shows.
fn shaped_for_plan() -> Vec<String> {
    ["slack-webhook", "stripe-key", "google-api-key"]
        .iter()
        .map(|kind| examples::case(kind).1)
        .collect()
}

#[test]
fn the_job_secrets_in_a_plan_reach_no_comment_log_summary_or_output() {
    let dir = repo();
    let shaped = shaped_for_plan();
    let plan = dir.path().join("plan.json");
    std::fs::write(&plan, plan_json(&shaped).to_string()).unwrap();
    let output = xtask(
        dir.path(),
        &[
            "plan",
            "--env",
            "dev",
            "--from-plan",
            plan.to_str().unwrap(),
            "--comment-file",
            "comment.md",
            "--summary-json",
            "summary.json",
        ],
        &[],
    );
    assert!(output.status.success(), "{}", text(&output));

    let secrets: Vec<String> = JOB_SECRETS
        .iter()
        .map(|s| (*s).to_owned())
        .chain(shaped.iter().cloned())
        .collect();
    let comment = read(dir.path(), "comment.md");
    let summary_json = read(dir.path(), "summary.json");
    let step_summary = read(dir.path(), "step-summary.md");
    let step_output = read(dir.path(), "github-output");
    for (what, written) in [
        ("the comment", &comment),
        ("the summary JSON", &summary_json),
        ("the job summary", &step_summary),
        ("the step outputs", &step_output),
        ("the log", &text(&output)),
    ] {
        assert_none_in(what, written, &secrets);
    }
    // The values were there, masked.
    assert!(comment.contains("[REDACTED:job-secret]"), "{comment}");
    assert!(comment.contains("[REDACTED:slack-webhook]"), "{comment}");

    // Our own structure is never masked, even though a sensitive value is `dev`.
    for body in [&comment, &step_summary] {
        // The marker, then our change-set lines (digests only), then the title.
        assert!(body.starts_with("<!-- xtask:plan env=dev -->\n"), "{body}");
        let first_visible = body
            .lines()
            .skip(1)
            .find(|line| !line.starts_with("<!-- xtask:"));
        assert_eq!(
            first_visible,
            Some("## ⚠️ Plan `dev`: 3 to destroy"),
            "{body}"
        );
    }
    let objects: Value = serde_json::from_str(&summary_json).unwrap();
    assert_eq!(objects[0]["env"], "dev", "{summary_json}");
    assert_eq!(objects[0]["destroy"], 3, "{summary_json}");
    // The value `dev` is masked where it is a value (here, inside an address).
    assert!(
        objects[0]["destroyed"]
            .as_array()
            .unwrap()
            .contains(&json!("terraform_data.keys[\"***-keep\"]")),
        "{summary_json}"
    );
    assert!(step_output.contains("\"env\":\"dev\""), "{step_output}");
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("dev: Plan: 0 to add, 0 to change, 3 to destroy."),
        "{}",
        text(&output)
    );
}

fn review_answer() -> Value {
    json!({"effort": 2, "tests_present": false, "security_concerns": "Secrets are committed.",
        "key_issues": []})
}

async fn openai_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(|_: &Request| {
            ResponseTemplate::new(200).set_body_json(json!({
                "model": "gpt-test", "choices": [{"index": 0, "finish_reason": "stop",
                    "message": {"role": "assistant", "content": review_answer().to_string()}}]
            }))
        })
        .mount(&server)
        .await;
    server
}

/// One added line per rule (its synthetic secret), the job's secrets on added, removed and
/// context lines.
fn diff_with_every_kind() -> (String, Vec<String>) {
    let mut lines = Vec::new();
    let mut secrets: Vec<String> = JOB_SECRETS.iter().map(|s| (*s).to_owned()).collect();
    for kind in examples::KINDS {
        let (line, secret, _) = examples::case(kind);
        for part in line.split('\n') {
            lines.push(format!("+{part}"));
        }
        secrets.push(secret);
    }
    lines.push(format!("+external_id = \"{PLAN_EXTERNAL_ID}\""));
    lines.push(format!("-# key {OPENAI_KEY}"));
    lines.push(format!(" # token {GITHUB_TOKEN} and {MIGRATE_EXTERNAL_ID}"));
    lines.push(format!("+# from the profile: {PROFILE_EXTERNAL_ID}"));
    let added = lines.iter().filter(|l| !l.starts_with('-')).count();
    let removed = lines.iter().filter(|l| !l.starts_with('+')).count();
    let diff = format!(
        "diff --git a/environments/dev/main.tf b/environments/dev/main.tf\n--- a/environments/dev/main.tf\n+++ b/environments/dev/main.tf\n@@ -1,{removed} +1,{added} @@\n{}\n",
        lines.join("\n")
    );
    (diff, secrets)
}

#[tokio::test]
async fn a_diff_with_every_kind_of_secret_and_the_job_secrets_reaches_no_llm_request() {
    let llm = openai_server().await;
    let dir = repo();
    let (diff, secrets) = diff_with_every_kind();
    let diff_file = dir.path().join("change.diff");
    std::fs::write(&diff_file, diff).unwrap();
    let root = dir.path().to_path_buf();
    let base_url = format!("{}/v1", llm.uri());
    let output = tokio::task::spawn_blocking(move || {
        xtask(
            &root,
            &["review", "review", "--diff", diff_file.to_str().unwrap()],
            &[("XTASK_LLM_BASE_URL", base_url)],
        )
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let requests = llm.received_requests().await.unwrap();
    assert!(!requests.is_empty(), "no request reached the model");
    for request in &requests {
        let body = String::from_utf8_lossy(&request.body);
        assert_none_in("an LLM request", &body, &secrets);
        for kind in examples::KINDS {
            assert!(
                body.contains(&format!("[REDACTED:{kind}]")),
                "{kind} not redacted: {body}"
            );
        }
        assert!(body.contains("[REDACTED:job-secret]"), "{body}");
    }
    assert_none_in("the log", &text(&output), &secrets);
    assert_none_in(
        "the job summary",
        &read(dir.path(), "step-summary.md"),
        &secrets,
    );
}
