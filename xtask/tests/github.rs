//! The GitHub client against a wiremock server standing in for the REST API.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};
use xtask::failure::exit_code_for;
use xtask::github::{
    GitHub, Label, NewReviewComment, Repository, RetryPolicy, Settings, Upsert, api_status,
};

const MARKER: &str = "<!-- xtask:plan:dev -->";

fn fast_retry(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
    }
}

fn client(server: &MockServer, retry: RetryPolicy) -> GitHub {
    GitHub::new(Settings {
        api_url: server.uri(),
        token: Some("ghs_test_token".into()),
        repository: Repository::parse("acme/infra").unwrap(),
        retry,
    })
    .unwrap()
}

fn comment(id: u64, body: &str) -> serde_json::Value {
    json!({"id": id, "body": body, "user": {"login": "github-actions[bot]"}, "html_url": "https://x"})
}

#[tokio::test]
async fn upsert_creates_when_no_comment_has_the_marker() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .and(header("authorization", "Bearer ghs_test_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([comment(1, "hello")])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .and(body_json(json!({"body": format!("{MARKER}\nplan body")})))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(99, "x")))
        .expect(1)
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(3));
    let outcome = github.upsert_comment(7, MARKER, "plan body").await.unwrap();
    assert_eq!(outcome, Upsert::Created(99));
}

#[tokio::test]
async fn upsert_updates_the_marked_comment_and_skips_when_identical() {
    let server = MockServer::start().await;
    let old = format!("{MARKER}\nold plan");
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([comment(1, "unrelated"), comment(5, &old)])),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/infra/issues/comments/5"))
        .and(body_json(json!({"body": format!("{MARKER}\nnew plan")})))
        .respond_with(ResponseTemplate::new(200).set_body_json(comment(5, "x")))
        .expect(1)
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(3));
    assert_eq!(
        github
            .upsert_comment(7, MARKER, &format!("{MARKER}\nnew plan"))
            .await
            .unwrap(),
        Upsert::Updated(5)
    );
    // Same body as the stored one: no PATCH (the expectation above stays at one call).
    assert_eq!(
        github.upsert_comment(7, MARKER, &old).await.unwrap(),
        Upsert::Unchanged(5)
    );
}

#[tokio::test]
async fn comment_lists_follow_pagination() {
    let server = MockServer::start().await;
    let next = format!(
        "<{}/repos/acme/infra/issues/7/comments?per_page=100&page=2>; rel=\"next\"",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .and(query_param("page", "2"))
        .and(header("authorization", "Bearer ghs_test_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([comment(3, MARKER)])))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .and(query_param("per_page", "100"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", next.as_str())
                .set_body_json(json!([comment(1, "a"), comment(2, "b")])),
        )
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(3));
    let comments = github.list_issue_comments(7).await.unwrap();
    let ids: Vec<u64> = comments.iter().map(|c| c.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    // The marked comment is on page two: an upsert finds it there.
    assert_eq!(
        github.upsert_comment(7, MARKER, MARKER).await.unwrap(),
        Upsert::Unchanged(3)
    );
}

#[tokio::test]
async fn labels_are_created_when_missing_and_stale_ones_removed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/labels"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"name": "dev/no-changes"}, {"name": "bug"}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/labels/dev%2Fdestroy"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/labels"))
        .and(body_json(
            json!({"name": "dev/destroy", "color": "d73a4a", "description": "destroys"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"name": "dev/destroy"})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/labels"))
        .and(body_json(json!({"labels": ["dev/destroy"]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/infra/issues/7/labels/dev%2Fno-changes"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(3));
    let wanted = [Label {
        name: "dev/destroy".into(),
        color: "d73a4a".into(),
        description: "destroys".into(),
    }];
    let managed = [
        "dev/add-or-update".to_owned(),
        "dev/destroy".to_owned(),
        "dev/no-changes".to_owned(),
    ];
    github.sync_labels(7, &wanted, &managed).await.unwrap();
}

#[tokio::test]
async fn forbidden_on_a_fork_names_the_operation_and_the_permission() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"message": "Resource not accessible by integration", "documentation_url": "x"}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(3));
    let error = github.upsert_comment(7, MARKER, "body").await.unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("creating a comment on #7"), "{text}");
    assert!(text.contains("HTTP 403"), "{text}");
    assert!(
        text.contains("Resource not accessible by integration"),
        "{text}"
    );
    assert!(text.contains("fork"), "{text}");
    assert!(!text.contains("ghs_test_token"), "{text}");
    assert_eq!(api_status(&error), Some(403));
    assert_eq!(exit_code_for(&error), std::process::ExitCode::from(4));
}

#[tokio::test]
async fn rate_limit_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .set_body_json(json!({"message": "API rate limit exceeded"})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "number": 7, "title": "t", "body": null, "draft": false, "html_url": "u",
            "user": {"login": "dev"},
            "head": {"sha": "abc", "ref": "feature"}, "base": {"sha": "def", "ref": "main"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(3));
    let pr = github.get_pull_request(7).await.unwrap();
    assert_eq!(pr.head.sha, "abc");
    assert_eq!(pr.base.ref_name, "main");
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7/files"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad gateway</html>"))
        .expect(3)
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(3));
    let error = github.list_pull_request_files(7).await.unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains("listing the files of pull request #7"),
        "{text}"
    );
    assert!(text.contains("HTTP 502 after 3 tries"), "{text}");
    assert!(text.contains("Bad gateway"), "{text}");
    assert_eq!(api_status(&error), Some(502));
}

#[tokio::test]
async fn reviews_and_review_comments() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/pulls/7/reviews"))
        .and(|request: &Request| {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            body["event"] == "COMMENT"
                && body["commit_id"] == "abc"
                && body["comments"][0]["start_line"] == 2
                && body["comments"][0]["line"] == 4
                && body["comments"][0]["side"] == "RIGHT"
        })
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 42})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            {"id": 11, "path": "main.tf", "line": 4, "body": "b", "user": {"login": "bot"}, "pull_request_review_id": 42}
        ])))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/infra/pulls/comments/11"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .expect(1)
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(3));
    let id = github
        .create_review(
            7,
            "abc",
            "fmt",
            &[NewReviewComment::on_new_lines("main.tf", 2, 4, "x".into())],
        )
        .await
        .unwrap();
    assert_eq!(id, 42);
    let comments = github.list_review_comments(7).await.unwrap();
    assert_eq!(comments[0].line, Some(4));
    // Already deleted (404) counts as deleted.
    github.delete_review_comment(11).await.unwrap();
}

#[tokio::test]
async fn a_missing_token_says_what_to_set() {
    let error = GitHub::new(Settings {
        api_url: "http://127.0.0.1:9".into(),
        token: None,
        repository: Repository::parse("acme/infra").unwrap(),
        retry: RetryPolicy::default(),
    })
    .unwrap_err();
    assert!(format!("{error:#}").contains("GITHUB_TOKEN"));
    assert_eq!(exit_code_for(&error), std::process::ExitCode::from(3));
}
