//! `cargo xtask fmt` with the real terraform, and `--suggest` against a wiremock GitHub.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::Output;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const UNFORMATTED: &str = "resource \"terraform_data\" \"a\" {\n  input = \"a\"\n      triggers_replace = [\"x\"]\n}\n\n\n\nresource \"terraform_data\" \"b\" {\ninput=\"b\"\n}\n";

fn repo() -> tempfile::TempDir {
    let temp = support::config_only_repo();
    let dev = temp.path().join("environments/dev");
    std::fs::write(dev.join("main.tf"), UNFORMATTED).unwrap();
    std::fs::create_dir_all(temp.path().join("modules/net")).unwrap();
    std::fs::write(
        temp.path().join("modules/net/variables.tf"),
        "variable \"x\" {\n type = string\n}\n",
    )
    .unwrap();
    support::terraform_cli_config(temp.path());
    temp
}

fn xtask(dir: &Path, args: &[&str], api: Option<&str>) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("terraformrc"))
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_TOKEN");
    if let Some(api) = api {
        command
            .env("GITHUB_API_URL", api)
            .env("GITHUB_TOKEN", "ghs_test")
            .env("GITHUB_REPOSITORY", "acme/infra");
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn check_lists_unformatted_files_and_fmt_fixes_them() {
    if support::which("terraform").is_none() {
        support::missing("terraform");
        return;
    }
    let dir = repo();
    let check = xtask(dir.path(), &["fmt", "--check"], None);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("environments/dev/main.tf"));
    assert!(text(&check).contains("modules/net/variables.tf"));
    let fix = xtask(dir.path(), &["fmt"], None);
    assert!(fix.status.success(), "{}", text(&fix));
    let again = xtask(dir.path(), &["fmt", "--check"], None);
    assert!(again.status.success(), "{}", text(&again));
    let formatted = std::fs::read_to_string(dir.path().join("environments/dev/main.tf")).unwrap();
    assert!(formatted.contains("  triggers_replace = [\"x\"]"));
}

async fn mount_pr(server: &MockServer, existing: serde_json::Value) {
    // The PR touched lines 1-4 of main.tf only; line 9 is outside its diff.
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{
            "filename": "environments/dev/main.tf", "status": "modified", "additions": 2, "deletions": 1,
            "patch": "@@ -1,3 +1,4 @@\n resource \"terraform_data\" \"a\" {\n   input = \"a\"\n+      triggers_replace = [\"x\"]\n }"
        }])))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(existing))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 7, "head": {"sha": "headsha", "ref": "f"}, "base": {"sha": "b", "ref": "main"}
        })))
        .mount(server)
        .await;
}

#[tokio::test]
async fn suggest_posts_inside_the_diff_annotates_outside_and_does_not_repeat() {
    if support::which("terraform").is_none() {
        support::missing("terraform");
        return;
    }
    let dir = repo();

    let server = MockServer::start().await;
    mount_pr(
        &server,
        json!([
            {"id": 50, "path": "environments/dev/main.tf", "line": 1, "body": "<!-- xtask:fmt fp=0000000000000000 -->\nold suggestion", "user": {"login": "github-actions[bot]"}},
            {"id": 51, "path": "environments/dev/main.tf", "line": 1, "body": "a human remark"}
        ]),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/infra/pulls/comments/50"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/pulls/7/reviews"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 9})))
        .expect(1)
        .mount(&server)
        .await;
    let uri = server.uri();
    let path_dir = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        xtask(&path_dir, &["fmt", "--suggest", "--pr", "7"], Some(&uri))
    })
    .await
    .unwrap();
    let log = text(&output);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(
        log.contains(
            "::warning file=environments/dev/main.tf,line=9,endLine=9,title=terraform fmt::"
        ),
        "{log}"
    );
    let requests = server.received_requests().await.unwrap();
    let review = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let review: serde_json::Value = serde_json::from_slice(&review.body).unwrap();
    assert_eq!(review["commit_id"], "headsha");
    let comments = review["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{review}");
    assert_eq!(comments[0]["start_line"], 2);
    assert_eq!(comments[0]["line"], 3);
    let body = comments[0]["body"].as_str().unwrap().to_owned();
    assert!(
        body.contains(
            "```suggestion\n  input            = \"a\"\n  triggers_replace = [\"x\"]\n```"
        ),
        "{body}"
    );
    // The file was not rewritten: --suggest only reads.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("environments/dev/main.tf")).unwrap(),
        UNFORMATTED
    );

    // A re-run that finds its own suggestion posts no second review.
    let rerun = MockServer::start().await;
    mount_pr(
        &rerun,
        json!([{"id": 60, "path": "environments/dev/main.tf", "line": 3, "body": body, "user": {"login": "github-actions[bot]"}}]),
    )
    .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&rerun)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&rerun)
        .await;
    let uri = rerun.uri();
    let path_dir = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        xtask(&path_dir, &["fmt", "--suggest", "--pr", "7"], Some(&uri))
    })
    .await
    .unwrap();
    let log = text(&output);
    assert!(
        log.contains("0 suggestion(s) posted, 1 already there"),
        "{log}"
    );
}
