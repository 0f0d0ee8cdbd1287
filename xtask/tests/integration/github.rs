//! The GitHub client against a wiremock server standing in for the REST API.

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};
use xtask::failure::exit_code_for;
use xtask::github::{
    DEFAULT_BOT_LOGIN, GitHub, Label, NewReviewComment, Repository, RetryPolicy, Settings, Upsert,
    api_status,
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
        bot_login: DEFAULT_BOT_LOGIN.into(),
    })
    .unwrap()
}

fn comment(id: u64, body: &str) -> serde_json::Value {
    fake_github::comment(id, body, BOT)
}

/// Mounts page one of #7's comments (`per_page=100`): `items`, and a `Link` to page two on `host`.
async fn mount_first_comments_page(server: &MockServer, host: &str, items: serde_json::Value) {
    let next =
        format!("<{host}/repos/acme/infra/issues/7/comments?per_page=100&page=2>; rel=\"next\"");
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .and(query_param("per_page", "100"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("link", next.as_str())
                .set_body_json(items),
        )
        .mount(server)
        .await;
}

/// Mounts #7's comment create: answered `refusal` once (performing nothing), then created as 5.
async fn mount_create_refused_once(server: &MockServer, refusal: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(refusal)
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(5, "x")))
        .expect(1)
        .mount(server)
        .await;
}

/// A server that must receive no request at all (another host than the API's).
async fn elsewhere() -> MockServer {
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(0)
        .mount(&elsewhere)
        .await;
    elsewhere
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
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .and(query_param("page", "2"))
        .and(header("authorization", "Bearer ghs_test_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([comment(3, MARKER)])))
        .expect(2)
        .mount(&server)
        .await;
    mount_first_comments_page(
        &server,
        &server.uri(),
        json!([comment(1, "a"), comment(2, "b")]),
    )
    .await;
    let github = client(&server, fast_retry(3));
    let comments = github.list_issue_comments(7).await.unwrap();
    let ids: Vec<u64> = comments.iter().map(|c| c.id.into_inner()).collect();
    assert_eq!(ids, [1, 2, 3]);
    // The marked comment is on page two: an upsert finds it there.
    assert_eq!(
        github.upsert_comment(7, MARKER, MARKER).await.unwrap(),
        Upsert::Unchanged(3)
    );
}

#[tokio::test]
async fn a_next_page_on_another_host_is_asked_of_the_api_host_and_gets_no_token() {
    let server = MockServer::start().await;
    let elsewhere = elsewhere().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .and(query_param("page", "2"))
        .and(header("authorization", "Bearer ghs_test_token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([comment(3, "c")])))
        .expect(1)
        .mount(&server)
        .await;
    // A `Link` (from a proxy, or a compromised answer) naming a host that is not the API's.
    mount_first_comments_page(&server, &elsewhere.uri(), json!([comment(1, "a")])).await;
    let comments = client(&server, fast_retry(3))
        .list_issue_comments(7)
        .await
        .unwrap();
    let ids: Vec<u64> = comments.iter().map(|c| c.id.into_inner()).collect();
    assert_eq!(ids, [1, 3]);
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = elsewhere().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/repos/acme/infra/issues/7/comments", elsewhere.uri()).as_str(),
        ))
        .mount(&server)
        .await;
    let error = client(&server, fast_retry(1))
        .list_issue_comments(7)
        .await
        .unwrap_err();
    assert_eq!(xtask::github::api_status(&error), Some(302), "{error:#}");
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_answer_that_is_not_the_apis_model_is_not_called_no_answer_nor_repeated() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"number": 7})))
        .expect(1)
        .mount(&server)
        .await;
    let error = client(&server, fast_retry(3))
        .get_pull_request(7)
        .await
        .unwrap_err();
    let text = format!("{error:#}");
    assert!(
        text.contains("reading pull request #7: the answer is not what GitHub's API describes"),
        "{text}"
    );
    assert!(!text.contains("no answer"), "{text}");
}

#[tokio::test]
async fn a_listing_stops_after_a_hundred_pages() {
    let server = MockServer::start().await;
    // Every page names a next one: a loop only the page cap ends.
    mount_first_comments_page(&server, &server.uri(), json!([comment(1, "a")])).await;
    let error = client(&server, fast_retry(1))
        .list_issue_comments(7)
        .await
        .unwrap_err();
    assert!(
        format!("{error:#}").contains("more than 100 pages"),
        "{error:#}"
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 100);
}

#[tokio::test]
async fn labels_are_created_when_missing_and_stale_ones_removed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/labels"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(fake_github::labels(&["dev/no-changes", "bug"])),
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
        .respond_with(ResponseTemplate::new(201).set_body_json(fake_github::label("dev/destroy")))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/labels"))
        .and(body_json(json!({"labels": ["dev/destroy"]})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fake_github::labels(&[
                "dev/no-changes",
                "bug",
                "dev/destroy",
            ])),
        )
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
        .respond_with(
            ResponseTemplate::new(200).set_body_json(fake_github::pull_request(
                7,
                "t",
                None,
                "dev",
                ("feature", "abc"),
                ("main", "def"),
            )),
        )
        .expect(1)
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(3));
    let pr = github.get_pull_request(7).await.unwrap();
    assert_eq!(pr.head.sha, "abc");
    assert_eq!(pr.base.ref_field, "main");
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
        .respond_with(ResponseTemplate::new(200).set_body_json(fake_github::review(42)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            fake_github::review_comment(11, "main.tf", 4, "b", "bot", 42)
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
        bot_login: DEFAULT_BOT_LOGIN.into(),
    })
    .unwrap_err();
    assert!(format!("{error:#}").contains("GITHUB_TOKEN"));
    assert_eq!(exit_code_for(&error), std::process::ExitCode::from(3));
}

use crate::support::fake_github;

use fake_github::{BOT, lock};

/// The fakes answer in GitHub's own shapes (its OpenAPI response examples): the octocrab models the
/// client reads accept them, and refuse the bare payloads the fakes used to send.
#[test]
fn the_fake_payloads_are_the_octocrab_models_the_client_reads() {
    use octocrab::models::{Label, pulls};
    let label: Label = serde_json::from_value(fake_github::label("dev/destroy")).unwrap();
    assert_eq!(label.name, "dev/destroy");
    let labels: Vec<Label> = serde_json::from_value(fake_github::labels(&["a", "b"])).unwrap();
    let names: Vec<&str> = labels.iter().map(|label| label.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    let review: pulls::Review = serde_json::from_value(fake_github::review(42)).unwrap();
    assert_eq!(review.id.into_inner(), 42);
    let pull: pulls::PullRequest =
        serde_json::from_value(fake_github::associated_pull(7, "abc", true)).unwrap();
    assert_eq!(
        (pull.number, pull.merge_commit_sha.as_deref()),
        (7, Some("abc"))
    );
    assert!(pull.merged_at.is_some());
    let open: pulls::PullRequest =
        serde_json::from_value(fake_github::associated_pull(8, "abc", false)).unwrap();
    assert!(open.merged_at.is_none());
    let issue: octocrab::models::issues::Issue = serde_json::from_value(fake_github::issue(
        3,
        "Drift in environment dev",
        "<!-- m -->",
        BOT,
        false,
        &["drift"],
    ))
    .unwrap();
    assert_eq!((issue.number, issue.user.login.as_str()), (3, BOT));
    assert!(issue.pull_request.is_none());
    assert_eq!(issue.labels[0].name, "drift");
    let comment: octocrab::models::issues::Comment =
        serde_json::from_value(fake_github::comment(5, "hello", BOT)).unwrap();
    assert_eq!(
        (
            comment.id.into_inner(),
            comment.body.as_deref(),
            comment.user.login.as_str()
        ),
        (5, Some("hello"), BOT)
    );
    assert!(
        serde_json::from_value::<octocrab::models::issues::Comment>(
            json!({"id": 5, "body": "hello", "user": {"login": BOT}, "html_url": "https://x"})
        )
        .is_err()
    );
    // The reply answer is octocrab's (legacy) review comment model.
    let reply: pulls::ReviewComment =
        serde_json::from_value(fake_github::review_comment(12, "main.tf", 4, "r", BOT, 42))
            .unwrap();
    assert_eq!(reply.id.into_inner(), 12);
    let mut comparison = fake_github::example("commit-comparison");
    comparison["status"] = "ahead".into();
    comparison["files"] = fake_github::diff_entries(&json!([
        {"filename": "main.tf", "status": "modified", "additions": 1, "deletions": 0, "changes": 1, "patch": "@@ -1 +1,2 @@\n a\n+b"}
    ]));
    let comparison: octocrab::models::commits::CommitComparison =
        serde_json::from_value(comparison).unwrap();
    assert!(matches!(
        comparison.status,
        octocrab::models::commits::GithubCommitStatus::Ahead
    ));
    assert_eq!(comparison.files.unwrap()[0].filename, "main.tf");
    assert!(
        serde_json::from_value::<octocrab::models::commits::CommitComparison>(
            json!({"status": "ahead", "files": [], "commits": []})
        )
        .is_err()
    );
    let review_comment: pulls::Comment =
        serde_json::from_value(fake_github::review_comment(11, "main.tf", 4, "b", BOT, 42))
            .unwrap();
    assert_eq!(
        (
            review_comment.id.into_inner(),
            review_comment.line,
            review_comment.body.as_str()
        ),
        (11, Some(4), "b")
    );
    assert_eq!(
        review_comment
            .pull_request_review_id
            .map(|id| id.into_inner()),
        Some(42)
    );
    assert!(
        serde_json::from_value::<pulls::Comment>(
            json!({"id": 11, "path": "main.tf", "line": 4, "body": "b", "user": {"login": BOT}})
        )
        .is_err()
    );
    let pull: pulls::PullRequest = serde_json::from_value(fake_github::pull_request(
        7,
        "t",
        Some("b"),
        "dev",
        ("feature", "abc"),
        ("main", "def"),
    ))
    .unwrap();
    assert_eq!(
        (
            pull.head.ref_field.as_str(),
            pull.head.sha.as_str(),
            pull.base.ref_field.as_str()
        ),
        ("feature", "abc", "main")
    );
    assert_eq!(
        (pull.title.as_deref(), pull.body.as_deref()),
        (Some("t"), Some("b"))
    );
    let minimal = json!([
        {"filename": "a.tf", "status": "renamed", "additions": 1, "deletions": 2,
         "patch": "@@ -1 +1 @@\n-a\n+b", "previous_filename": "b.tf"},
        {"filename": "logo.png", "status": "added", "additions": 0, "deletions": 0}
    ]);
    let files: Vec<octocrab::models::repos::DiffEntry> =
        serde_json::from_value(fake_github::diff_entries(&minimal)).unwrap();
    assert_eq!(
        (files[0].changes, files[0].previous_filename.as_deref()),
        (3, Some("b.tf"))
    );
    assert!(files[1].patch.is_none());
    assert!(serde_json::from_value::<Vec<octocrab::models::repos::DiffEntry>>(minimal).is_err());
    assert!(serde_json::from_value::<Label>(json!({"name": "x"})).is_err());
    assert!(
        serde_json::from_value::<octocrab::models::issues::Issue>(
            json!({"number": 3, "title": "t", "user": {"login": BOT}, "state": "open"})
        )
        .is_err()
    );
    assert!(serde_json::from_value::<pulls::Review>(json!({"id": 42})).is_err());
    assert!(serde_json::from_value::<pulls::PullRequest>(json!({"number": 7})).is_err());
}

const DEV: &str = "<!-- xtask:plan env=dev -->";

#[tokio::test]
async fn a_foreign_comment_carrying_our_marker_is_never_edited_deleted_or_trusted() {
    let state = fake_github::state();
    let server = fake_github::server(state.clone()).await;
    let (planted, quoted) = {
        let mut st = lock(&state);
        // An outsider pre-posts our marker, and our own bot quotes it in the middle of a comment.
        let planted = st.foreign("mallory", &format!("{DEV}\nno changes, merge away"));
        let quoted = st.foreign(BOT, &format!("a plan that shows a value\n{DEV}\n"));
        (planted, quoted)
    };
    let github = client(&server, fast_retry(3));
    let first = github.upsert_comment(7, DEV, "real plan").await.unwrap();
    let Upsert::Created(ours) = first else {
        panic!("expected a new comment, got {first:?}")
    };
    let second = github
        .upsert_comment(7, DEV, "real plan, updated")
        .await
        .unwrap();
    assert_eq!(second, Upsert::Updated(ours));
    let st = lock(&state);
    let body = |id: u64| {
        st.comments
            .iter()
            .find(|c| c.id == id)
            .unwrap()
            .body
            .clone()
    };
    assert_eq!(body(planted), format!("{DEV}\nno changes, merge away"));
    assert_eq!(body(quoted), format!("a plan that shows a value\n{DEV}\n"));
    assert_eq!(body(ours), format!("{DEV}\nreal plan, updated"));
    assert_eq!(st.comments.len(), 3);
    assert!(st.violations.is_empty(), "{:?}", st.violations);
}

#[tokio::test]
async fn duplicates_of_our_own_comment_converge_to_the_oldest() {
    let state = fake_github::state();
    let server = fake_github::server(state.clone()).await;
    let (oldest, newer) = {
        let mut st = lock(&state);
        let oldest = st.foreign(BOT, &format!("{DEV}\nfirst"));
        st.foreign("alice", "LGTM");
        let newer = st.foreign(BOT, &format!("{DEV}\nsecond"));
        (oldest, newer)
    };
    let github = client(&server, fast_retry(3));
    let outcome = github.upsert_comment(7, DEV, "third").await.unwrap();
    assert_eq!(outcome, Upsert::Updated(oldest));
    let st = lock(&state);
    let ours = st.bot_comments_starting_with(DEV);
    assert_eq!(ours.len(), 1, "{:?}", st.comments);
    assert_eq!(ours[0].id, oldest);
    assert!(st.comments.iter().all(|c| c.id != newer));
    assert_eq!(st.comments.len(), 2, "the human's comment stays");
    assert!(st.violations.is_empty(), "{:?}", st.violations);
}

#[tokio::test]
async fn a_comment_created_but_answered_502_stays_one_comment_over_any_number_of_reruns() {
    let state = fake_github::state();
    let server = fake_github::server(state.clone()).await;
    lock(&state).perform_then_502 = 100;
    let github = client(&server, fast_retry(3));
    for run in 0..4 {
        // Every create is performed and answered 502: a run may fail, but never duplicates.
        let _ = github
            .upsert_comment(7, DEV, &format!("plan of run {run}"))
            .await;
        let st = lock(&state);
        assert_eq!(
            st.bot_comments_starting_with(DEV).len(),
            1,
            "run {run}: {:?}",
            st.comments
        );
    }
    // The last run's text is the one shown.
    let st = lock(&state);
    assert_eq!(
        st.bot_comments_starting_with(DEV)[0].body,
        format!("{DEV}\nplan of run 3")
    );
}

#[tokio::test]
async fn a_create_that_failed_without_effect_is_tried_again_after_looking() {
    let state = fake_github::state();
    let server = fake_github::server(state.clone()).await;
    lock(&state).fail_without_performing = 1;
    let github = client(&server, fast_retry(3));
    let outcome = github.upsert_comment(7, DEV, "plan").await.unwrap();
    assert!(matches!(outcome, Upsert::Created(_)), "{outcome:?}");
    assert_eq!(lock(&state).bot_comments_starting_with(DEV).len(), 1);
}

#[tokio::test]
async fn a_review_created_but_answered_502_is_not_posted_twice() {
    let state = fake_github::state();
    let server = fake_github::server(state.clone()).await;
    lock(&state).perform_then_502 = 1;
    let github = client(&server, fast_retry(3));
    let comments = [
        NewReviewComment::on_new_lines("main.tf", 2, 4, "<!-- xtask:fmt fp=aa -->\nx".into()),
        NewReviewComment::on_new_lines("main.tf", 9, 9, "<!-- xtask:fmt fp=bb -->\ny".into()),
    ];
    let _ = github.create_review(7, "abc", "fmt", &comments).await;
    let st = lock(&state);
    assert_eq!(st.reviews_created, 1);
    assert_eq!(st.review_comments.len(), 2, "{:?}", st.review_comments);
}

#[tokio::test]
async fn marker_matches_see_every_page() {
    let state = fake_github::state();
    let server = fake_github::server(state.clone()).await;
    let ours = {
        let mut st = lock(&state);
        st.page_size = 2;
        for n in 0..5 {
            st.foreign("alice", &format!("comment {n}"));
        }
        let ours = st.foreign(BOT, &format!("{DEV}\nold"));
        st.foreign("bob", "after");
        ours
    };
    let github = client(&server, fast_retry(3));
    assert_eq!(
        github.upsert_comment(7, DEV, "new").await.unwrap(),
        Upsert::Updated(ours)
    );
}

#[tokio::test]
async fn a_github_app_identity_owns_only_its_own_comments() {
    let state = fake_github::state();
    let server = fake_github::server(state.clone()).await;
    let workflow_bot = lock(&state).foreign(BOT, &format!("{DEV}\nby the workflow token"));
    lock(&state).author = "acme-infra[bot]".into();
    let github = GitHub::new(Settings {
        api_url: server.uri(),
        token: Some("ghs_test_token".into()),
        repository: Repository::parse("acme/infra").unwrap(),
        retry: fast_retry(3),
        bot_login: "acme-infra[bot]".into(),
    })
    .unwrap();
    let outcome = github.upsert_comment(7, DEV, "by the app").await.unwrap();
    assert!(matches!(outcome, Upsert::Created(id) if id != workflow_bot));
    let st = lock(&state);
    assert_eq!(st.comments.len(), 2);
    assert!(st.violations.is_empty(), "{:?}", st.violations);
}

#[tokio::test]
async fn own_review_comments_ignore_others_and_drop_our_duplicates() {
    let state = fake_github::state();
    let server = fake_github::server(state.clone()).await;
    let (foreign, kept, duplicate, other) = {
        let mut st = lock(&state);
        st.page_size = 1;
        let foreign =
            st.foreign_review_comment("mallory", "main.tf", 1, "<!-- xtask:fmt fp=aa -->\nplanted");
        let kept = st.foreign_review_comment(BOT, "main.tf", 2, "<!-- xtask:fmt fp=aa -->\nx");
        let duplicate = st.foreign_review_comment(BOT, "main.tf", 2, "<!-- xtask:fmt fp=aa -->\nx");
        let other = st.foreign_review_comment(BOT, "main.tf", 3, "<!-- xtask:fmt fp=bb -->\ny");
        st.foreign_review_comment(BOT, "main.tf", 3, "quoted: <!-- xtask:fmt fp=cc -->");
        (foreign, kept, duplicate, other)
    };
    let github = client(&server, fast_retry(3));
    let ours = github
        .own_review_comments(7, "<!-- xtask:fmt fp=")
        .await
        .unwrap();
    let ids: Vec<u64> = ours.iter().map(|c| c.id.into_inner()).collect();
    assert_eq!(ids, [kept, other]);
    let st = lock(&state);
    assert!(st.review_comments.iter().any(|c| c.id == foreign));
    assert!(st.review_comments.iter().all(|c| c.id != duplicate));
    assert!(st.violations.is_empty(), "{:?}", st.violations);
}

/// Only the headers tell this 403 from a permission error: the retry reads them from octocrab's
/// error (a create refused by the primary rate limit is repeated, after the wait GitHub asks for).
#[tokio::test]
async fn a_403_whose_headers_say_rate_limited_is_waited_out_and_repeated() {
    let server = MockServer::start().await;
    mount_create_refused_once(
        &server,
        ResponseTemplate::new(403)
            .insert_header("x-ratelimit-remaining", "0")
            .insert_header("retry-after", "1")
            .set_body_json(json!({"message": "API rate limit exceeded for installation"})),
    )
    .await;
    let github = client(
        &server,
        RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_secs(5),
        },
    );
    let started = std::time::Instant::now();
    let created = github.create_comment(7, "x").await.unwrap();
    assert_eq!(created.id.into_inner(), 5);
    // The server's `Retry-After: 1`, not the 10 ms backoff (a lower bound only).
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_create_is_repeated_when_it_surely_did_not_happen() {
    // Nothing listens on this port: the connection is refused before anything is sent.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let github = GitHub::new(Settings {
        api_url: format!("http://127.0.0.1:{port}"),
        token: Some("ghs_test_token".into()),
        repository: Repository::parse("acme/infra").unwrap(),
        retry: fast_retry(3),
        bot_login: DEFAULT_BOT_LOGIN.into(),
    })
    .unwrap();
    let error = github.create_comment(7, "x").await.unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("after 3 tries"), "{text}");
    assert!(!text.contains("may have performed"), "{text}");

    // A rate limit refuses the request before GitHub acts on it: repeated too.
    let server = MockServer::start().await;
    mount_create_refused_once(
        &server,
        ResponseTemplate::new(403)
            .insert_header("retry-after", "0")
            .set_body_json(json!({"message": "You have exceeded a secondary rate limit"})),
    )
    .await;
    let github = client(&server, fast_retry(3));
    assert_eq!(
        github.create_comment(7, "x").await.unwrap().id.into_inner(),
        5
    );
}

#[tokio::test]
async fn a_create_answered_502_is_not_repeated_blindly() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad gateway"))
        .expect(1)
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(3));
    let error = github.create_comment(7, "x").await.unwrap_err();
    let text = format!("{error:#}");
    assert!(text.contains("HTTP 502"), "{text}");
    assert!(text.contains("may have performed it"), "{text}");
    assert!(xtask::github::outcome_unknown(&error));
}

#[tokio::test]
async fn a_plan_value_carrying_another_environments_marker_changes_nothing() {
    const PROD: &str = "<!-- xtask:plan env=prod -->";
    let state = fake_github::state();
    let server = fake_github::server(state.clone()).await;
    let dev = lock(&state).foreign(BOT, &format!("{DEV}\noutput `x` = \"{PROD}\""));
    let github = client(&server, fast_retry(3));
    let prod = github.upsert_comment(7, PROD, "prod plan").await.unwrap();
    assert!(matches!(prod, Upsert::Created(id) if id != dev), "{prod:?}");
    let st = lock(&state);
    assert_eq!(
        st.comments.iter().find(|c| c.id == dev).unwrap().body,
        format!("{DEV}\noutput `x` = \"{PROD}\"")
    );
}

#[tokio::test]
async fn a_bare_403_for_a_secondary_rate_limit_is_waited_out_not_taken_for_a_fork() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "message": "You have exceeded a secondary rate limit and have been temporarily blocked from content creation. Please retry your request again later."
        })))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(ResponseTemplate::new(201).set_body_json(comment(5, "x")))
        .expect(1)
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(3));
    assert_eq!(
        github.create_comment(7, "x").await.unwrap().id.into_inner(),
        5
    );
}

/// Every request the client can send, one call of each method against the stateful fake, checked
/// against GitHub's API description (`@octokit/openapi`): method and path, query parameters and
/// body members. (Octocrab's own `update_comment` sends a POST the description does not have;
/// the client sends the PATCH it describes.)
#[tokio::test]
async fn every_request_of_the_client_is_an_operation_of_githubs_api_description() {
    let state = fake_github::state();
    let server = fake_github::server(state.clone()).await;
    let thread = {
        let mut st = lock(&state);
        st.foreign("alice", "LGTM");
        st.foreign_review_comment("alice", "main.tf", 2, "why?")
    };
    // A label the repository does not have yet, so that it is created.
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/labels/dev%2Fdestroy"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/labels"))
        .respond_with(ResponseTemplate::new(201).set_body_json(fake_github::label("dev/destroy")))
        .mount(&server)
        .await;
    let github = client(&server, fast_retry(1));
    let label = Label {
        name: "dev/destroy".into(),
        color: "d73a4a".into(),
        description: "destroys".into(),
    };
    // Results are not the point (the fake does not answer every route): what is sent is.
    let created = github.create_comment(7, "hello").await.unwrap();
    let id = created.id.into_inner();
    let _ = github.get_issue_comment(id).await;
    let _ = github.update_comment(id, "hello again").await;
    let _ = github.delete_comment(id).await;
    let _ = github.upsert_comment(7, DEV, "plan").await;
    let _ = github.ensure_label(&label).await;
    let _ = github.add_labels(7, std::slice::from_ref(&label)).await;
    let _ = github.remove_label(7, "dev/no-changes").await;
    let _ = github.list_issue_labels(7).await;
    let _ = github.get_pull_request(7).await;
    let _ = github
        .edit_pull_request_body(7, |body| format!("{body}\nmore"))
        .await;
    let _ = github.list_pull_request_files(7).await;
    let comments = [NewReviewComment::on_new_lines(
        "main.tf",
        1,
        2,
        "fix".into(),
    )];
    let _ = github.create_review(7, "abc123", "", &comments).await;
    let _ = github.list_review_comments(7).await;
    let _ = github.get_review_comment(thread).await;
    let _ = github.reply_in_thread(7, thread, "because").await;
    let _ = github.delete_review_comment(thread).await;
    let _ = github.compare("abc123", "def456").await;
    let _ = github.pull_request_merged_as("abc123").await;
    let _ = github.find_own_issue(DEV, "dev/drift").await;
    let _ = github.create_issue("Drift in dev", DEV, &[]).await;
    let _ = github.update_issue(3, "Drift in dev", DEV).await;
    let _ = github.close_issue(3).await;
    let mut seen = crate::support::github_api::assert_described(&server).await;
    seen.sort();
    seen.dedup();
    for operation in [
        "issues/create-comment",
        "issues/get-comment",
        "issues/update-comment",
        "issues/delete-comment",
        "issues/list-comments",
        "issues/get-label",
        "issues/create-label",
        "issues/add-labels",
        "issues/remove-label",
        "issues/list-labels-on-issue",
        "pulls/get",
        "pulls/update",
        "pulls/list-files",
        "pulls/create-review",
        "pulls/list-review-comments",
        "pulls/get-review-comment",
        "pulls/create-reply-for-review-comment",
        "pulls/delete-review-comment",
        "repos/compare-commits",
        "repos/list-pull-requests-associated-with-commit",
        "issues/list-for-repo",
        "issues/create",
        "issues/update",
    ] {
        assert!(
            seen.iter().any(|s| s == operation),
            "{operation} not asked: {seen:?}"
        );
    }
}
