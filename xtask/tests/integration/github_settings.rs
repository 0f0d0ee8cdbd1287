//! `cargo xtask doctor --remote` and `cargo xtask github-setup` against a wiremock GitHub
//! (issue 9, finding 2): the OIDC subject template, the environment's existence, its branch
//! policy and reviewers; 404 for a missing environment, 403 and 5xx.

use crate::support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use xtask::failure::exit_code_for;
use xtask::github::{GitHub, Repository, RetryPolicy, Settings};
use xtask::github_settings::{self, Expected, Finding};

const OIDC: &str = "/repos/example-org/infra-monorepo/actions/oidc/customization/sub";
const ENV: &str = "/repos/example-org/infra-monorepo/environments/dev";
const POLICIES: &str =
    "/repos/example-org/infra-monorepo/environments/dev/deployment-branch-policies";
/// Both environments of `dev`: the migration's and the apply job's (`<environment>-apply`).
const ROUTES: [(&str, &str); 2] = [
    (ENV, POLICIES),
    (
        "/repos/example-org/infra-monorepo/environments/dev-apply",
        "/repos/example-org/infra-monorepo/environments/dev-apply/deployment-branch-policies",
    ),
];

fn xtask(dir: &Path, server: &MockServer, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .env("GITHUB_API_URL", server.uri())
        .env("GITHUB_TOKEN", "ghs_admin_token")
        .env("GITHUB_REPOSITORY", "example-org/infra-monorepo")
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

fn template(use_default: bool) -> Value {
    if use_default {
        json!({"use_default": true, "sub_claim_prefix": "repo:example-org/infra-monorepo"})
    } else {
        json!({"use_default": false, "include_claim_keys": ["repo", "context", "job_workflow_ref"], "sub_claim_prefix": "repo:example-org/infra-monorepo"})
    }
}

/// A `repos/get-environment` answer as GitHub's OpenAPI description shapes it.
fn environment(reviewers: bool, policy: Value) -> Value {
    let mut rules =
        vec![json!({"id": 3, "node_id": "MDQ6R2F0ZTM=", "type": "wait_timer", "wait_timer": 5})];
    if reviewers {
        rules.push(json!({
            "id": 4, "node_id": "MDQ6R2F0ZTQ=", "type": "required_reviewers", "prevent_self_review": true,
            "reviewers": [{"type": "User", "reviewer": {
                "login": "octocat", "id": 583231, "node_id": "MDQ6VXNlcjU4MzIzMQ==",
                "avatar_url": "https://github.com/images/error/octocat_happy.gif", "gravatar_id": "",
                "url": "https://api.github.com/users/octocat", "html_url": "https://github.com/octocat",
                "followers_url": "https://api.github.com/users/octocat/followers",
                "following_url": "https://api.github.com/users/octocat/following{/other_user}",
                "gists_url": "https://api.github.com/users/octocat/gists{/gist_id}",
                "starred_url": "https://api.github.com/users/octocat/starred{/owner}{/repo}",
                "subscriptions_url": "https://api.github.com/users/octocat/subscriptions",
                "organizations_url": "https://api.github.com/users/octocat/orgs",
                "repos_url": "https://api.github.com/users/octocat/repos",
                "events_url": "https://api.github.com/users/octocat/events{/privacy}",
                "received_events_url": "https://api.github.com/users/octocat/received_events",
                "type": "User", "site_admin": false}}]
        }));
    }
    json!({
        "id": 161088068, "node_id": "MDExOkVudmlyb25tZW50MTYxMDg4MDY4", "name": "dev",
        "url": "https://api.github.com/repos/example-org/infra-monorepo/environments/dev",
        "html_url": "https://github.com/example-org/infra-monorepo/deployments/activity_log?environments_filter=dev",
        "created_at": "2020-11-23T22:00:40Z", "updated_at": "2020-11-23T22:00:40Z",
        "protection_rules": rules,
        "deployment_branch_policy": policy
    })
}

fn custom() -> Value {
    json!({"protected_branches": false, "custom_branch_policies": true})
}

fn policies(names: &[(u64, &str)]) -> Value {
    let list: Vec<Value> = names
        .iter()
        .map(|(id, name)| json!({"id": id, "node_id": "MDE2OkdhdGVCcmFuY2hQb2xpY3kx", "name": name, "type": "branch"}))
        .collect();
    json!({"total_count": list.len(), "branch_policies": list})
}

async fn mount(server: &MockServer, verb: &str, route: &str, status: u16, body: Value) {
    Mock::given(method(verb))
        .and(path(route))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn doctor_remote_passes_when_every_setting_is_in_place() {
    let server = MockServer::start().await;
    mount(&server, "GET", OIDC, 200, template(false)).await;
    // The migration's environment and the apply job's, alike.
    for (env, policies_route) in ROUTES {
        mount(&server, "GET", env, 200, environment(true, custom())).await;
        mount(
            &server,
            "GET",
            policies_route,
            200,
            policies(&[(1, "main")]),
        )
        .await;
    }
    let repo = support::config_only_repo();
    let output = xtask(repo.path(), &server, &["doctor", "--remote"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("ok       github     example-org/infra-monorepo"),
        "{}",
        text(&output)
    );
}

#[tokio::test]
async fn doctor_remote_names_each_missing_setting_and_its_fix_and_exits_3() {
    let server = MockServer::start().await;
    mount(&server, "GET", OIDC, 200, template(true)).await;
    mount(
        &server,
        "GET",
        ENV,
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
    )
    .await;
    let repo = support::config_only_repo();
    let output = xtask(repo.path(), &server, &["doctor", "--remote"]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let all = text(&output);
    assert!(
        all.contains("OIDC subject template: GitHub's default"),
        "{all}"
    );
    assert!(all.contains("environment `dev` does not exist"), "{all}");
    assert!(all.contains("fix: cargo xtask github-setup"), "{all}");
}

#[tokio::test]
async fn doctor_remote_flags_any_branch_other_patterns_no_reviewers_and_a_foreign_prefix() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        OIDC,
        200,
        json!({"use_default": false, "include_claim_keys": ["repo", "context", "job_workflow_ref"], "use_immutable_subject": true, "sub_claim_prefix": "repository_owner_id:1:repository_id:2"}),
    )
    .await;
    mount(&server, "GET", ENV, 200, environment(false, custom())).await;
    mount(
        &server,
        "GET",
        POLICIES,
        200,
        policies(&[(1, "main"), (2, "release/*")]),
    )
    .await;
    let repo = support::config_only_repo();
    let output = xtask(repo.path(), &server, &["doctor", "--remote"]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let all = text(&output);
    assert!(
        all.contains("OIDC subject prefix: `repository_owner_id:1:repository_id:2`"),
        "{all}"
    );
    assert!(
        all.contains("custom: main (branch), release/* (branch)"),
        "{all}"
    );
    assert!(
        all.contains("environment `dev` has no required reviewers"),
        "{all}"
    );

    let server = MockServer::start().await;
    mount(&server, "GET", OIDC, 200, template(false)).await;
    mount(&server, "GET", ENV, 200, environment(false, Value::Null)).await;
    let output = xtask(
        repo.path(),
        &server,
        &["doctor", "--remote", "--accept-no-reviewers"],
    );
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let all = text(&output);
    assert!(all.contains("deployment branches: any branch"), "{all}");
    assert!(!all.contains("required reviewers"), "{all}");
}

#[tokio::test]
async fn a_forbidden_answer_exits_4_and_a_missing_token_exits_3() {
    let server = MockServer::start().await;
    mount(
        &server,
        "GET",
        OIDC,
        403,
        json!({"message": "Resource not accessible by integration"}),
    )
    .await;
    let repo = support::config_only_repo();
    let output = xtask(repo.path(), &server, &["doctor", "--remote"]);
    assert_eq!(output.status.code(), Some(4), "{}", text(&output));
    assert!(text(&output).contains("HTTP 403"), "{}", text(&output));

    let no_token = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["github-setup"])
        .current_dir(repo.path())
        .env("GITHUB_API_URL", server.uri())
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    assert_eq!(no_token.status.code(), Some(3), "{}", text(&no_token));
    assert!(
        text(&no_token).contains("administrator"),
        "{}",
        text(&no_token)
    );
}

#[tokio::test]
async fn server_errors_are_retried_then_exit_4() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(OIDC))
        .respond_with(ResponseTemplate::new(502).set_body_string("bad gateway"))
        .expect(3)
        .mount(&server)
        .await;
    let client = GitHub::new(Settings {
        api_url: server.uri(),
        token: Some("ghs_admin_token".into()),
        repository: Repository::parse("example-org/infra-monorepo").unwrap(),
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
        },
        bot_login: xtask::github::DEFAULT_BOT_LOGIN.into(),
    })
    .unwrap();
    let expected = Expected {
        repository: "example-org/infra-monorepo".to_owned(),
        default_branch: "main".to_owned(),
        environments: vec!["dev".to_owned()],
    };
    let error = github_settings::check(&client, &expected, false)
        .await
        .unwrap_err();
    assert_eq!(exit_code_for(&error), std::process::ExitCode::from(4));
    assert!(
        format!("{error:#}").contains("HTTP 502 after 3 tries"),
        "{error:#}"
    );
}

#[tokio::test]
async fn github_setup_sets_the_template_and_protects_a_new_environment() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path(OIDC))
        .and(body_json(json!({"use_default": false, "include_claim_keys": ["repo", "context", "job_workflow_ref"]})))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    mount(&server, "GET", OIDC, 200, template(false)).await;
    // The migration's environment and the apply job's, alike.
    for (env, policies_route) in ROUTES {
        // First read: the environment does not exist yet; after the PUT it does.
        Mock::given(method("GET"))
            .and(path(env))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        mount(&server, "GET", env, 200, environment(false, custom())).await;
        Mock::given(method("PUT"))
            .and(path(env))
            .and(body_json(json!({"deployment_branch_policy": {"protected_branches": false, "custom_branch_policies": true}})))
            .respond_with(ResponseTemplate::new(200).set_body_json(environment(false, custom())))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(policies_route))
            .respond_with(ResponseTemplate::new(200).set_body_json(policies(&[(7, "*")])))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        mount(
            &server,
            "GET",
            policies_route,
            200,
            policies(&[(8, "main")]),
        )
        .await;
        Mock::given(method("DELETE"))
            .and(path(format!("{policies_route}/7")))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path(policies_route))
            .and(body_json(json!({"name": "main", "type": "branch"})))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(
                    json!({"id": 8, "node_id": "x", "name": "main", "type": "branch"}),
                ),
            )
            .expect(1)
            .mount(&server)
            .await;
    }
    let repo = support::config_only_repo();
    let output = xtask(
        repo.path(),
        &server,
        &["github-setup", "--accept-no-reviewers"],
    );
    assert!(output.status.success(), "{}", text(&output));
    let all = text(&output);
    assert!(all.contains("environment `dev`: created"), "{all}");
    assert!(all.contains("environment `dev-apply`: created"), "{all}");
    assert!(all.contains("removed the deployment pattern `*`"), "{all}");
    assert!(all.contains("only `main` may deploy"), "{all}");

    // Without the flag, the missing reviewers are named with what to do.
    let output = xtask(repo.path(), &server, &["doctor", "--remote"]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    assert!(
        text(&output).contains("Required reviewers"),
        "{}",
        text(&output)
    );
    // What the command sent is what GitHub's API description describes.
    crate::support::github_api::assert_described(&server).await;
}

#[tokio::test]
async fn github_setup_keeps_the_reviewers_and_wait_timer_of_an_existing_environment() {
    let server = MockServer::start().await;
    mount(&server, "PUT", OIDC, 201, json!({})).await;
    mount(&server, "GET", OIDC, 200, template(false)).await;
    // The migration's environment and the apply job's, alike.
    for (env, policies_route) in ROUTES {
        Mock::given(method("GET"))
            .and(path(env))
            .respond_with(ResponseTemplate::new(200).set_body_json(environment(true, Value::Null)))
            .up_to_n_times(1)
            .mount(&server)
            .await;
        mount(&server, "GET", env, 200, environment(true, custom())).await;
        Mock::given(method("PUT"))
            .and(path(env))
            .and(body_json(json!({
                "deployment_branch_policy": {"protected_branches": false, "custom_branch_policies": true},
                "reviewers": [{"type": "User", "id": 583231}],
                "wait_timer": 5,
                "prevent_self_review": true
            })))
            .respond_with(ResponseTemplate::new(200).set_body_json(environment(true, custom())))
            .expect(1)
            .mount(&server)
            .await;
        mount(
            &server,
            "GET",
            policies_route,
            200,
            policies(&[(8, "main")]),
        )
        .await;
    }
    let repo = support::config_only_repo();
    let output = xtask(repo.path(), &server, &["github-setup"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("environment `dev`: updated"),
        "{}",
        text(&output)
    );
    assert!(
        text(&output).contains("environment `dev-apply`: updated"),
        "{}",
        text(&output)
    );
    // What the command sent is what GitHub's API description describes.
    crate::support::github_api::assert_described(&server).await;
}

#[test]
fn findings_name_their_fix() {
    let finding = Finding::EnvironmentMissing {
        environment: "dev".to_owned(),
    };
    assert_eq!(finding.fix(), "cargo xtask github-setup");
}
