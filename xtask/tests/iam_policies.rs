//! Least privilege as a tested property: the generated policy files are evaluated (after the
//! substitution Terraform does) by a small IAM evaluator, and the role chain is walked the way a
//! GitHub token would walk it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use serde_json::Value;
use xtask::config::Config;
use xtask::generate::iam::{Arns, Role, UNSCOPABLE};

const EXTERNAL_ID: &str = "test-external-id";
const OWNER_REPO: &str = "example-org/infra-monorepo";

/// Reads a generated policy file of the `dev` environment, with Terraform's substitution done.
fn policy(file: &str) -> Value {
    let path = support::repo_root()
        .join("environments/dev/generated/iam")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text.replace("${external_id}", EXTERNAL_ID)).unwrap()
}

fn trust(role: Role) -> Value {
    policy(&format!("{}.trust.json", role.key()))
}

fn permissions(role: Role) -> Value {
    policy(&format!("{}.policy.json", role.key()))
}

fn arns() -> (Config, String) {
    let config = Config::load(&support::repo_root()).unwrap();
    (config, "dev".to_owned())
}

fn role_arn(role: Role) -> String {
    let (config, name) = arns();
    Arns::new(config.environment(&name).unwrap()).role(role)
}

/// An API request as IAM sees it.
struct Request<'a> {
    principal: Principal<'a>,
    action: &'a str,
    resource: &'a str,
    context: BTreeMap<&'a str, &'a str>,
}

enum Principal<'a> {
    Aws(&'a str),
    Federated(&'a str),
    Service(&'a str),
    /// The identity whose own policy is evaluated (no Principal element).
    Identity,
}

/// IAM's wildcard match: `*` any run, `?` one character; case-insensitive for actions.
fn glob(pattern: &str, value: &str) -> bool {
    fn matches(p: &[char], v: &[char]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some('*'), _) => matches(&p[1..], v) || (!v.is_empty() && matches(p, &v[1..])),
            (Some('?'), Some(_)) => matches(&p[1..], &v[1..]),
            (Some(a), Some(b)) => a == b && matches(&p[1..], &v[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    matches(&p, &v)
}

fn as_list(value: &Value) -> Vec<&str> {
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn principal_matches(statement: &Value, principal: &Principal) -> bool {
    let Some(element) = statement.get("Principal") else {
        return matches!(principal, Principal::Identity);
    };
    let (key, who) = match principal {
        Principal::Aws(arn) => ("AWS", *arn),
        Principal::Federated(provider) => ("Federated", *provider),
        Principal::Service(service) => ("Service", *service),
        Principal::Identity => return false,
    };
    element.get(key).is_some_and(|v| as_list(v).contains(&who))
}

fn conditions_hold(statement: &Value, context: &BTreeMap<&str, &str>) -> bool {
    let Some(conditions) = statement.get("Condition").and_then(Value::as_object) else {
        return true;
    };
    conditions.iter().all(|(operator, tests)| {
        tests.as_object().unwrap().iter().all(|(key, expected)| {
            let Some(actual) = context.get(key.as_str()) else {
                return false; // a missing key never satisfies a positive operator
            };
            let expected = as_list(expected);
            match operator.as_str() {
                "StringEquals" => expected.contains(actual),
                "StringLike" | "ArnLike" => expected.iter().any(|p| glob(p, actual)),
                "Bool" => expected.contains(actual),
                other => panic!("the evaluator does not know {other}"),
            }
        })
    })
}

/// Allowed when an Allow statement matches and no Deny does (IAM's default deny otherwise).
fn allowed(document: &Value, request: &Request) -> bool {
    let statements: Vec<&Value> = match &document["Statement"] {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let matching = |effect: &str| {
        statements.iter().any(|s| {
            s["Effect"] == effect
                && principal_matches(s, &request.principal)
                && as_list(&s["Action"])
                    .iter()
                    .any(|a| glob(&a.to_lowercase(), &request.action.to_lowercase()))
                && (s.get("Principal").is_some()
                    || as_list(&s["Resource"])
                        .iter()
                        .any(|r| glob(r, request.resource)))
                && conditions_hold(s, &request.context)
        })
    };
    matching("Allow") && !matching("Deny")
}

fn oidc_provider() -> String {
    "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com".to_owned()
}

/// Can a GitHub OIDC token with subject `sub` assume `role`?
fn token_may_assume(role: Role, sub: &str) -> bool {
    let provider = oidc_provider();
    allowed(
        &trust(role),
        &Request {
            principal: Principal::Federated(&provider),
            action: "sts:AssumeRoleWithWebIdentity",
            resource: "",
            context: BTreeMap::from([
                ("token.actions.githubusercontent.com:sub", sub),
                (
                    "token.actions.githubusercontent.com:aud",
                    "sts.amazonaws.com",
                ),
            ]),
        },
    )
}

/// Can the session of role `from` assume role `to` with `external_id`? Both sides must allow it:
/// `from`'s permissions and `to`'s trust.
fn role_may_assume(from: Role, to: Role, external_id: &str) -> bool {
    let from_arn = role_arn(from);
    let to_arn = role_arn(to);
    let identity_side = allowed(
        &permissions(from),
        &Request {
            principal: Principal::Identity,
            action: "sts:AssumeRole",
            resource: &to_arn,
            context: BTreeMap::new(),
        },
    );
    let trust_side = allowed(
        &trust(to),
        &Request {
            principal: Principal::Aws(&from_arn),
            action: "sts:AssumeRole",
            resource: "",
            context: BTreeMap::from([("sts:ExternalId", external_id)]),
        },
    );
    identity_side && trust_side
}

fn role_may(role: Role, action: &str, resource: &str) -> bool {
    allowed(
        &permissions(role),
        &Request {
            principal: Principal::Identity,
            action,
            resource,
            context: BTreeMap::new(),
        },
    )
}

const PULL_REQUEST: &str = "repo:example-org/infra-monorepo:pull_request";
const PROTECTED: &str = "repo:example-org/infra-monorepo:environment:dev";

#[test]
fn a_pull_request_token_reaches_the_plan_role_and_nothing_that_writes() {
    assert!(token_may_assume(Role::PullRequestEntry, PULL_REQUEST));
    assert!(!token_may_assume(Role::ProtectedEntry, PULL_REQUEST));
    assert!(role_may_assume(
        Role::PullRequestEntry,
        Role::Plan,
        EXTERNAL_ID
    ));
    for target in [
        Role::Deploy,
        Role::Backend,
        Role::Migrate,
        Role::StateMachine,
        Role::EcsTask,
    ] {
        assert!(
            !role_may_assume(Role::PullRequestEntry, target, EXTERNAL_ID),
            "a pull request reaches {target:?}"
        );
    }
}

#[test]
fn the_protected_environment_reaches_deploy_and_migrate_but_a_branch_or_another_repo_does_not() {
    assert!(token_may_assume(Role::ProtectedEntry, PROTECTED));
    for target in [Role::Backend, Role::Deploy, Role::Migrate] {
        assert!(
            role_may_assume(Role::ProtectedEntry, target, EXTERNAL_ID),
            "{target:?}"
        );
    }
    // The protected entry does not need the plan role, so it does not get it.
    assert!(!role_may_assume(
        Role::ProtectedEntry,
        Role::Plan,
        EXTERNAL_ID
    ));
    for sub in [
        "repo:example-org/infra-monorepo:ref:refs/heads/main",
        "repo:example-org/infra-monorepo:ref:refs/heads/feature",
        "repo:example-org/infra-monorepo:environment:prod",
        "repo:evil-org/infra-monorepo:pull_request",
        "repo:example-org/infra-monorepo-fork:environment:dev",
        "repo:example-org/*:pull_request",
    ] {
        assert!(!token_may_assume(Role::PullRequestEntry, sub), "{sub}");
        assert!(!token_may_assume(Role::ProtectedEntry, sub), "{sub}");
    }
    // The audience matters too.
    let provider = oidc_provider();
    assert!(!allowed(
        &trust(Role::PullRequestEntry),
        &Request {
            principal: Principal::Federated(&provider),
            action: "sts:AssumeRoleWithWebIdentity",
            resource: "",
            context: BTreeMap::from([
                ("token.actions.githubusercontent.com:sub", PULL_REQUEST),
                (
                    "token.actions.githubusercontent.com:aud",
                    "https://github.com/example-org"
                ),
            ]),
        }
    ));
    assert_eq!(OWNER_REPO, "example-org/infra-monorepo");
}

#[test]
fn a_wrong_or_missing_external_id_is_denied() {
    assert!(!role_may_assume(
        Role::PullRequestEntry,
        Role::Plan,
        "guessed"
    ));
    assert!(!role_may_assume(Role::ProtectedEntry, Role::Migrate, ""));
    let entry = role_arn(Role::PullRequestEntry);
    assert!(!allowed(
        &trust(Role::Plan),
        &Request {
            principal: Principal::Aws(&entry),
            action: "sts:AssumeRole",
            resource: "",
            context: BTreeMap::new(),
        }
    ));
    // Any other principal of the account is denied, even with the right external id.
    let other = "arn:aws:iam::123456789012:role/some-other-role";
    assert!(!allowed(
        &trust(Role::Plan),
        &Request {
            principal: Principal::Aws(other),
            action: "sts:AssumeRole",
            resource: "",
            context: BTreeMap::from([("sts:ExternalId", EXTERNAL_ID)]),
        }
    ));
}

#[test]
fn the_plan_role_writes_nothing_but_the_state_lock() {
    let state = "arn:aws:s3:::example-org-tfstate-dev/environments/dev/terraform.tfstate";
    let lock = "arn:aws:s3:::example-org-tfstate-dev/environments/dev/terraform.tfstate.tflock";
    assert!(role_may(Role::Plan, "s3:GetObject", state));
    assert!(role_may(Role::Plan, "s3:PutObject", lock));
    assert!(role_may(Role::Plan, "s3:DeleteObject", lock));
    assert!(!role_may(Role::Plan, "s3:PutObject", state));
    assert!(!role_may(Role::Plan, "s3:DeleteObject", state));
    assert!(!role_may(
        Role::Plan,
        "s3:GetObject",
        "arn:aws:s3:::another-bucket/secret"
    ));
    for (action, resource) in [
        ("iam:CreateRole", "arn:aws:iam::123456789012:role/x"),
        ("iam:PutRolePolicy", &role_arn(Role::Plan)),
        ("iam:PassRole", &role_arn(Role::EcsTask)),
        (
            "ecs:RunTask",
            "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/dev-db-migrate:1",
        ),
        ("ecs:RegisterTaskDefinition", "*"),
        (
            "states:StartExecution",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:dev-db-migrate",
        ),
        (
            "ecr:PutImage",
            "arn:aws:ecr:ap-northeast-1:123456789012:repository/dev/db-migrate",
        ),
        (
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:dev/db-migrate/database-url-AbCdEf",
        ),
        (
            "lambda:UpdateFunctionCode",
            "arn:aws:lambda:ap-northeast-1:123456789012:function:dev-db-migrate-notifier",
        ),
        (
            "ec2:AuthorizeSecurityGroupEgress",
            "arn:aws:ec2:ap-northeast-1:123456789012:security-group/sg-1",
        ),
    ] {
        assert!(
            !role_may(Role::Plan, action, resource),
            "plan may {action} on {resource}"
        );
    }
    // Structurally: every action that is not a read is granted on the lock object alone.
    for statement in permissions(Role::Plan)["Statement"].as_array().unwrap() {
        for action in as_list(&statement["Action"]) {
            let verb = action.split(':').nth(1).unwrap();
            let reads = ["Get", "List", "Describe"]
                .iter()
                .any(|prefix| verb.starts_with(prefix));
            if !reads {
                assert_eq!(as_list(&statement["Resource"]), vec![lock], "{action}");
            }
        }
    }
}

#[test]
fn the_state_machine_passes_only_the_task_roles_and_runs_only_its_task() {
    let ecs = "ecs-tasks.amazonaws.com";
    let pass = |role: Role, service: &str| {
        allowed(
            &permissions(Role::StateMachine),
            &Request {
                principal: Principal::Identity,
                action: "iam:PassRole",
                resource: &role_arn(role),
                context: BTreeMap::from([("iam:PassedToService", service)]),
            },
        )
    };
    assert!(pass(Role::EcsExecution, ecs));
    assert!(pass(Role::EcsTask, ecs));
    assert!(
        !pass(Role::StateMachine, ecs),
        "PassRole on its own role (the article's defect)"
    );
    assert!(!pass(Role::EcsTask, "lambda.amazonaws.com"));
    assert!(!pass(Role::Deploy, ecs));

    let run_task = |task_definition: &str, cluster: &str| {
        allowed(
            &permissions(Role::StateMachine),
            &Request {
                principal: Principal::Identity,
                action: "ecs:RunTask",
                resource: task_definition,
                context: BTreeMap::from([("ecs:cluster", cluster)]),
            },
        )
    };
    let cluster = "arn:aws:ecs:ap-northeast-1:123456789012:cluster/dev-db-migrate";
    assert!(run_task(
        "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/dev-db-migrate:7",
        cluster
    ));
    assert!(!run_task(
        "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/other:1",
        cluster
    ));
    assert!(!run_task(
        "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/dev-db-migrate:7",
        "arn:aws:ecs:ap-northeast-1:123456789012:cluster/production"
    ));
}

fn service_may_assume(role: Role, service: &str, account: &str, source_arn: &str) -> bool {
    allowed(
        &trust(role),
        &Request {
            principal: Principal::Service(service),
            action: "sts:AssumeRole",
            resource: "",
            context: BTreeMap::from([
                ("aws:SourceAccount", account),
                ("aws:SourceArn", source_arn),
            ]),
        },
    )
}

#[test]
fn the_evaluator_catches_the_reference_designs_open_trust() {
    // The article's entry role trusts `repo:ORG/REPO:*`: any branch, pull request or environment.
    let reference = support::repo_root().join("../shared/reference/seed/iam/aws_role.trust.json");
    let Ok(text) = std::fs::read_to_string(&reference) else {
        eprintln!(
            "SKIPPED: {} is not beside the repository",
            reference.display()
        );
        return;
    };
    let article: Value = serde_json::from_str(&text).unwrap();
    let provider = oidc_provider();
    let request = |sub| Request {
        principal: Principal::Federated(&provider),
        action: "sts:AssumeRoleWithWebIdentity",
        resource: "",
        context: BTreeMap::from([
            ("token.actions.githubusercontent.com:sub", sub),
            (
                "token.actions.githubusercontent.com:aud",
                "sts.amazonaws.com",
            ),
        ]),
    };
    assert!(allowed(&article, &request(PULL_REQUEST)));
    assert!(allowed(
        &article,
        &request("repo:example-org/infra-monorepo:ref:refs/heads/any-branch")
    ));
    assert!(!token_may_assume(
        Role::ProtectedEntry,
        "repo:example-org/infra-monorepo:ref:refs/heads/any-branch"
    ));
}

#[test]
fn service_roles_trust_their_service_for_this_account_and_resource_only() {
    let cases = [
        (
            Role::StateMachine,
            "states.amazonaws.com",
            "arn:aws:states:ap-northeast-1:123456789012:stateMachine:dev-db-migrate",
        ),
        (
            Role::EcsExecution,
            "ecs-tasks.amazonaws.com",
            "arn:aws:ecs:ap-northeast-1:123456789012:task/dev-db-migrate/abc",
        ),
        (
            Role::EcsTask,
            "ecs-tasks.amazonaws.com",
            "arn:aws:ecs:ap-northeast-1:123456789012:task/dev-db-migrate/abc",
        ),
    ];
    for (role, service, source_arn) in cases {
        let from_account = |account| service_may_assume(role, service, account, source_arn);
        assert!(from_account("123456789012"), "{role:?}");
        assert!(!from_account("999999999999"), "{role:?} confused deputy");
    }
    assert!(!allowed(
        &trust(Role::StateMachine),
        &Request {
            principal: Principal::Service("states.amazonaws.com"),
            action: "sts:AssumeRole",
            resource: "",
            context: BTreeMap::from([
                ("aws:SourceAccount", "123456789012"),
                (
                    "aws:SourceArn",
                    "arn:aws:states:ap-northeast-1:123456789012:stateMachine:another"
                ),
            ]),
        }
    ));
    // Separate execution and task roles; the task role may call nothing.
    assert_ne!(role_arn(Role::EcsExecution), role_arn(Role::EcsTask));
    assert!(
        !support::repo_root()
            .join("environments/dev/generated/iam/ecs-task.policy.json")
            .exists()
    );
    assert!(role_may(
        Role::EcsExecution,
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:dev/db-migrate/database-url-AbCdEf"
    ));
    assert!(!role_may(
        Role::EcsExecution,
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:prod/other-AbCdEf"
    ));
}

#[test]
fn no_full_access_and_no_star_where_a_resource_can_be_named() {
    let dir = support::repo_root().join("environments/dev/generated/iam");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let document: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for statement in document["Statement"].as_array().unwrap() {
            let actions = as_list(&statement["Action"]);
            for action in &actions {
                assert!(
                    !action.ends_with(":*") && *action != "*",
                    "{}: {action}",
                    path.display()
                );
                assert!(
                    !action.contains("FullAccess"),
                    "{}: {action}",
                    path.display()
                );
            }
            if as_list(&statement["Resource"]).contains(&"*") {
                for action in actions {
                    assert!(
                        UNSCOPABLE.contains(&action),
                        "{}: {action} is granted on * but AWS lets it be scoped",
                        path.display()
                    );
                }
            }
        }
    }
}

#[test]
fn the_migration_role_starts_only_its_state_machine_and_pushes_only_its_repository() {
    let state_machine = "arn:aws:states:ap-northeast-1:123456789012:stateMachine:dev-db-migrate";
    assert!(role_may(
        Role::Migrate,
        "states:StartExecution",
        state_machine
    ));
    assert!(!role_may(
        Role::Migrate,
        "states:StartExecution",
        "arn:aws:states:ap-northeast-1:123456789012:stateMachine:prod-db-migrate"
    ));
    assert!(role_may(
        Role::Migrate,
        "states:DescribeExecution",
        "arn:aws:states:ap-northeast-1:123456789012:execution:dev-db-migrate:run-1"
    ));
    assert!(role_may(
        Role::Migrate,
        "ecr:PutImage",
        "arn:aws:ecr:ap-northeast-1:123456789012:repository/dev/db-migrate"
    ));
    assert!(!role_may(
        Role::Migrate,
        "ecr:PutImage",
        "arn:aws:ecr:ap-northeast-1:123456789012:repository/prod/app"
    ));
    assert!(
        !role_may(Role::Migrate, "ecs:RunTask", "*"),
        "only the state machine runs the task"
    );
}
