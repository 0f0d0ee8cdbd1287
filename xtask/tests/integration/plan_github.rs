//! `cargo xtask plan --from-plan ... --comment` against a wiremock GitHub: the marked comment is
//! updated in place, labels follow the plan, and an API failure still leaves the result in the
//! log and the job summary and exits 4.

use crate::support;

use std::path::PathBuf;
use std::process::Output;

use serde_json::json;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const PLANTED: &str = "hunter2-planted";

fn plan_json() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/plan/testdata/mixed.plan.json")
}

fn run(dir: &std::path::Path, server: &MockServer) -> Output {
    run_with_uri(dir, &server.uri())
}

fn run_with_uri(dir: &std::path::Path, uri: &str) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "plan",
            "--env",
            "dev",
            "--comment",
            "--pr",
            "7",
            "--from-plan",
        ])
        .arg(plan_json())
        .current_dir(dir)
        .env("GITHUB_API_URL", uri)
        .env("GITHUB_TOKEN", "ghs_planted_token")
        .env("GITHUB_REPOSITORY", "acme/infra")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_RUN_ID", "42")
        .env("GITHUB_STEP_SUMMARY", dir.join("step-summary.md"))
        .env("GITHUB_OUTPUT", dir.join("github-output"))
        .env_remove("GITHUB_EVENT_PATH")
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

#[tokio::test]
async fn updates_the_marked_comment_and_sets_the_destroy_label() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            fake_github::comment(1, "LGTM", "octocat"),
            fake_github::comment(
                2,
                "<!-- xtask:plan env=dev -->\n## 📝 Plan `dev`: changes (stale)",
                fake_github::BOT
            ),
        ])))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/infra/issues/comments/2"))
        .and(|request: &Request| {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            let body = body["body"].as_str().unwrap();
            body.starts_with("<!-- xtask:plan env=dev -->")
                && body.contains("Plan: 1 to import, 3 to add, 1 to change, 3 to destroy.")
                && body.contains("[CI run](https://github.com/acme/infra/actions/runs/42)")
                && !body.contains(PLANTED)
        })
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fake_github::comment(2, "", fake_github::BOT)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/labels"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fake_github::labels(&["dev/no-changes"])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/labels/dev%2Fdestroy"))
        .respond_with(ResponseTemplate::new(200).set_body_json(fake_github::label("dev/destroy")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/labels"))
        .and(wiremock::matchers::body_json(
            json!({"labels": ["dev/destroy"]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        // Octocrab encodes every byte but letters and digits (`-` too): both forms are one path.
        .and(path_regex(
            r"^/repos/acme/infra/issues/7/labels/dev%2Fno(-|%2D)changes$",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;

    let dir = support::config_only_repo();
    let output = run(dir.path(), &server);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("dev: updated comment 2 on #7"),
        "{}",
        text(&output)
    );
    assert!(!text(&output).contains(PLANTED));
}

#[tokio::test]
async fn a_forbidden_token_exits_4_and_keeps_the_result_in_the_log_and_summary() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"message": "Resource not accessible by integration"})),
        )
        .mount(&server)
        .await;

    let dir = support::config_only_repo();
    let output = run(dir.path(), &server);
    let log = text(&output);
    assert_eq!(output.status.code(), Some(4), "{log}");
    assert!(
        log.contains("dev: Plan: 1 to import, 3 to add, 1 to change, 3 to destroy."),
        "{log}"
    );
    assert!(log.contains("HTTP 403"), "{log}");
    assert_eq!(
        log.matches("HTTP 403").count(),
        1,
        "the error is printed once: {log}"
    );
    assert!(log.contains("fork"), "{log}");
    assert!(!log.contains("ghs_planted_token"));
    let summary = std::fs::read_to_string(dir.path().join("step-summary.md")).unwrap();
    assert!(summary.contains("### Replace (2)"), "{summary}");
    assert!(!summary.contains(PLANTED));
    let outputs = std::fs::read_to_string(dir.path().join("github-output")).unwrap();
    assert!(outputs.contains(r#""has_destroy":true"#), "{outputs}");
}

use crate::support::fake_github;

#[tokio::test]
async fn reruns_against_a_github_that_creates_then_answers_502_leave_one_comment() {
    let state = fake_github::state();
    let planted = {
        let mut st = fake_github::lock(&state);
        st.perform_then_502 = 100;
        // An outsider's comment carrying our marker: never edited, never taken for ours.
        st.foreign("mallory", "<!-- xtask:plan env=dev -->\n✅ no changes")
    };
    let server = fake_github::server(state.clone()).await;
    let dir = support::config_only_repo();
    for run in 0..3 {
        let output = tokio::task::spawn_blocking({
            let dir = dir.path().to_path_buf();
            let uri = server.uri();
            move || run_with_uri(&dir, &uri)
        })
        .await
        .unwrap();
        assert!(output.status.success(), "run {run}: {}", text(&output));
        let st = fake_github::lock(&state);
        let ours = st.bot_comments_starting_with("<!-- xtask:plan env=dev -->");
        assert_eq!(ours.len(), 1, "run {run}: {:?}", st.comments);
        assert!(ours[0].body.contains("3 to destroy"), "{}", ours[0].body);
        assert_eq!(
            st.comments.iter().find(|c| c.id == planted).unwrap().body,
            "<!-- xtask:plan env=dev -->\n✅ no changes"
        );
        assert!(st.violations.is_empty(), "{:?}", st.violations);
    }
}

#[tokio::test]
async fn a_create_that_keeps_failing_is_reported_once_with_githubs_words() {
    let state = fake_github::state();
    fake_github::lock(&state).fail_without_performing = 100;
    let server = fake_github::server(state.clone()).await;
    let dir = support::config_only_repo();
    let output = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        let uri = server.uri();
        move || run_with_uri(&dir, &uri)
    })
    .await
    .unwrap();
    let log = text(&output);
    assert_eq!(output.status.code(), Some(4), "{log}");
    assert_eq!(log.matches("Server Error").count(), 1, "{log}");
    assert_eq!(log.matches("error: ").count(), 1, "{log}");
    assert!(fake_github::lock(&state).comments.is_empty());
}
