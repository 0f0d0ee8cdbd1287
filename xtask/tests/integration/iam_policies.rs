//! Least privilege as a tested property: the generated policy files are evaluated (after the
//! substitution Terraform does) by a small IAM evaluator, and the role chain is walked the way a
//! GitHub token would walk it.

use crate::iam_eval;
use crate::support;

use std::collections::BTreeMap;

use iam_eval::{Principal, Request, RoleState, Runner, World, allow_statements, allowed, as_list};

use serde_json::Value;
use xtask::config::Config;
use xtask::environment::{Arns, Role};
use xtask::generate::iam::UNSCOPABLE;

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

/// A pull request's plan job, with the repository's subject template (repo, context,
/// job_workflow_ref).
const PULL_REQUEST: &str = "repo:example-org/infra-monorepo:pull_request:job_workflow_ref:example-org/infra-monorepo/.github/workflows/terraform-plan.yml@refs/pull/42/merge";
/// The migration job on main in the protected environment.
const PROTECTED: &str = "repo:example-org/infra-monorepo:environment:dev:job_workflow_ref:example-org/infra-monorepo/.github/workflows/db-migrate-dev.yml@refs/heads/main";

#[test]
fn a_pull_request_token_reaches_the_plan_role_and_nothing_that_writes() {
    assert!(token_may_assume(Role::PullRequestEntry, PULL_REQUEST));
    assert!(!token_may_assume(Role::ProtectedEntry, PULL_REQUEST));
    assert!(!token_may_assume(Role::ApplyEntry, PULL_REQUEST));
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
fn the_protected_environment_reaches_only_migrate_and_a_branch_another_workflow_or_repo_does_not() {
    assert!(token_may_assume(Role::ProtectedEntry, PROTECTED));
    assert!(role_may_assume(
        Role::ProtectedEntry,
        Role::Migrate,
        EXTERNAL_ID
    ));
    // No workflow assumes backend, deploy or plan from the protected environment.
    for target in [Role::Backend, Role::Deploy, Role::Plan] {
        assert!(
            !role_may_assume(Role::ProtectedEntry, target, EXTERNAL_ID),
            "{target:?}"
        );
    }
    let repo = "example-org/infra-monorepo";
    for sub in [
        // GitHub's default subjects, without the workflow.
        "repo:example-org/infra-monorepo:ref:refs/heads/main".to_owned(),
        "repo:example-org/infra-monorepo:environment:dev".to_owned(),
        "repo:example-org/infra-monorepo:pull_request".to_owned(),
        // The environment from another branch, or from another workflow on main.
        xtask::oidc::environment_subject(repo, "dev", "db-migrate-dev.yml", "feature"),
        xtask::oidc::environment_subject(repo, "dev", "evil.yml", "main"),
        xtask::oidc::environment_subject(repo, "prod", "db-migrate-dev.yml", "main"),
        // A pull request's other workflows, a push to a PR-like ref.
        xtask::oidc::pull_request_subject(repo, "review.yml"),
        xtask::oidc::pull_request_subject(repo, "evil.yml"),
        "repo:example-org/infra-monorepo:ref:refs/heads/x:job_workflow_ref:example-org/infra-monorepo/.github/workflows/terraform-plan.yml@refs/heads/x".to_owned(),
        // Other repositories.
        xtask::oidc::pull_request_subject("evil-org/infra-monorepo", "terraform-plan.yml"),
        xtask::oidc::environment_subject("example-org/infra-monorepo-fork", "dev", "db-migrate-dev.yml", "main"),
        "repo:example-org/*:pull_request".to_owned(),
    ] {
        assert!(!token_may_assume(Role::PullRequestEntry, &sub), "{sub}");
        assert!(!token_may_assume(Role::ProtectedEntry, &sub), "{sub}");
        assert!(!token_may_assume(Role::ApplyEntry, &sub), "{sub}");
    }
    assert!(!token_may_assume(Role::ProtectedEntry, PULL_REQUEST));
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

/// The apply job on main in the apply environment.
const APPLY: &str = "repo:example-org/infra-monorepo:environment:dev-apply:job_workflow_ref:example-org/infra-monorepo/.github/workflows/terraform-apply.yml@refs/heads/main";
/// The scheduled drift check on main (no environment).
const DRIFT: &str = "repo:example-org/infra-monorepo:ref:refs/heads/main:job_workflow_ref:example-org/infra-monorepo/.github/workflows/terraform-drift.yml@refs/heads/main";

/// The roles with a permission policy (the ECS task role has none: it may call nothing).
fn with_permissions() -> impl Iterator<Item = Role> {
    Role::ALL.into_iter().filter(|role| *role != Role::EcsTask)
}

/// The roles a role's session may assume (with the right external id).
fn assumable_from(from: Role) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|to| role_may_assume(from, *to, EXTERNAL_ID))
        .collect()
}

#[test]
fn the_apply_environment_reaches_only_backend_and_deploy_and_nothing_else_reaches_deploy() {
    assert!(token_may_assume(Role::ApplyEntry, APPLY));
    assert_eq!(
        assumable_from(Role::ApplyEntry),
        [Role::Backend, Role::Deploy]
    );
    // The apply job's token reaches no other entry role; the migration's reaches not this one.
    assert!(!token_may_assume(Role::ProtectedEntry, APPLY));
    assert!(!token_may_assume(Role::PullRequestEntry, APPLY));
    assert!(!token_may_assume(Role::ApplyEntry, PROTECTED));
    assert!(!token_may_assume(Role::ApplyEntry, DRIFT));
    let repo = OWNER_REPO;
    for sub in [
        // The apply environment from another branch or workflow, the migration's environment
        // from the apply workflow, another repository.
        xtask::oidc::environment_subject(repo, "dev-apply", "terraform-apply.yml", "feature"),
        xtask::oidc::environment_subject(repo, "dev-apply", "db-migrate-dev.yml", "main"),
        xtask::oidc::environment_subject(repo, "dev", "terraform-apply.yml", "main"),
        xtask::oidc::environment_subject(
            "example-org/other",
            "dev-apply",
            "terraform-apply.yml",
            "main",
        ),
        xtask::oidc::branch_subject(repo, "terraform-apply.yml", "main"),
        "repo:example-org/infra-monorepo:environment:dev-apply".to_owned(),
    ] {
        assert!(!token_may_assume(Role::ApplyEntry, &sub), "{sub}");
    }
    // Deploy and backend: only from the apply entry (administrators come in through
    // `local_principals`, empty here; see the test below), never from the other entries.
    for target in [Role::Deploy, Role::Backend] {
        let from: Vec<Role> = with_permissions()
            .filter(|from| role_may_assume(*from, target, EXTERNAL_ID))
            .collect();
        assert_eq!(from, [Role::ApplyEntry], "{target:?}");
    }
    assert_eq!(
        trust(Role::Deploy)["Statement"][0]["Principal"]["AWS"],
        serde_json::json!([role_arn(Role::ApplyEntry)])
    );
    // The migration's entry reaches migrate only, the pull-request entry the plan role only.
    assert_eq!(assumable_from(Role::ProtectedEntry), [Role::Migrate]);
    assert_eq!(assumable_from(Role::PullRequestEntry), [Role::Plan]);
    assert!(!role_may_assume(Role::ApplyEntry, Role::Deploy, "guessed"));
    assert!(!role_may_assume(Role::ApplyEntry, Role::Backend, ""));
}

#[test]
fn administrators_keep_their_way_into_deploy_beside_the_apply_entry() {
    let repo = support::config_only_repo();
    let path = repo.path().join("environments/dev/xtask.toml");
    let admin = "arn:aws:iam::123456789012:role/platform-admin";
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "local_principals = []",
        &format!("local_principals = [\"{admin}\"]"),
    );
    assert!(text.contains(admin));
    std::fs::write(&path, text).unwrap();
    let config = Config::load(repo.path()).unwrap();
    let files = xtask::generate::generate_all(&config).unwrap();
    let deploy = files
        .iter()
        .find(|f| f.path.ends_with("generated/iam/deploy.trust.json"))
        .unwrap();
    let document: Value = serde_json::from_str(&deploy.contents).unwrap();
    assert_eq!(
        document["Statement"][0]["Principal"]["AWS"],
        serde_json::json!([role_arn(Role::ApplyEntry), admin])
    );
}

#[test]
fn the_scheduled_drift_check_reaches_only_the_read_only_plan_role() {
    assert!(token_may_assume(Role::PullRequestEntry, DRIFT));
    assert!(!token_may_assume(Role::ProtectedEntry, DRIFT));
    let repo = OWNER_REPO;
    for sub in [
        // From another branch, or another workflow on main, or in an environment.
        xtask::oidc::branch_subject(repo, "terraform-drift.yml", "feature"),
        xtask::oidc::branch_subject(repo, "terraform-plan.yml", "main"),
        xtask::oidc::branch_subject(repo, "evil.yml", "main"),
        xtask::oidc::environment_subject(repo, "dev", "terraform-drift.yml", "main"),
        xtask::oidc::branch_subject("example-org/other", "terraform-drift.yml", "main"),
    ] {
        assert!(!token_may_assume(Role::PullRequestEntry, &sub), "{sub}");
    }
    // Through the pull-request entry: the plan role, which writes nothing.
    assert_eq!(assumable_from(Role::PullRequestEntry), [Role::Plan]);
    let world = current_world();
    let closure: Vec<String> = world
        .closure(Role::PullRequestEntry.key())
        .into_iter()
        .map(|identity| identity.label)
        .collect();
    assert_eq!(closure, ["pull-request-entry", "plan"]);
    assert_eq!(writes_in_closure(&world, Role::Plan), Vec::<String>::new());
}

#[test]
fn a_wrong_or_missing_external_id_is_denied() {
    assert!(!role_may_assume(
        Role::PullRequestEntry,
        Role::Plan,
        "guessed"
    ));
    assert!(!role_may_assume(Role::ProtectedEntry, Role::Migrate, ""));
    assert!(!role_may_assume(
        Role::ProtectedEntry,
        Role::Migrate,
        "guessed"
    ));
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

/// Action verbs that read (AWS's "Read" and "List" access levels start with these).
const READ_VERBS: [&str; 4] = ["Get", "List", "Describe", "BatchGet"];

/// Every action an identity of `role`'s closure may perform that is not a read (a wildcard that
/// could match a write counts as one).
fn writes_in_closure(world: &World, role: Role) -> Vec<String> {
    let mut writes = Vec::new();
    for identity in world.closure(role.key()) {
        let Some(statements) = identity.effective_statements() else {
            writes.push(format!("{}: anything", identity.label));
            continue;
        };
        for statement in statements {
            for action in as_list(&statement["Action"]) {
                let verb = action.split(':').nth(1).unwrap_or(action);
                let reads = !verb.contains('*') && READ_VERBS.iter().any(|p| verb.starts_with(p));
                if !reads {
                    writes.push(format!(
                        "{}: {action} on {:?}",
                        identity.label,
                        as_list(&statement["Resource"])
                    ));
                }
            }
        }
    }
    writes
}

#[test]
fn the_plan_role_writes_nothing_not_even_the_lock() {
    let world = current_world();
    assert_eq!(writes_in_closure(&world, Role::Plan), Vec::<String>::new());
    // The fixture of the policies before issue 9 wrote and deleted the state lock.
    let before = world_before_issue_9();
    let writes = writes_in_closure(&before, Role::Plan);
    assert!(
        writes.iter().any(|w| w.contains("s3:PutObject"))
            && writes.iter().any(|w| w.contains("s3:DeleteObject")),
        "{writes:?}"
    );

    let state = "arn:aws:s3:::example-org-tfstate-dev/environments/dev/terraform.tfstate";
    let lock = "arn:aws:s3:::example-org-tfstate-dev/environments/dev/terraform.tfstate.tflock";
    assert!(role_may(Role::Plan, "s3:GetObject", state));
    for action in ["s3:PutObject", "s3:DeleteObject"] {
        assert!(!role_may(Role::Plan, action, lock), "{action}");
        assert!(!role_may(Role::Plan, action, state), "{action}");
    }
    assert!(!role_may(
        Role::Plan,
        "s3:GetObject",
        "arn:aws:s3:::another-bucket/secret"
    ));
    // The chain roles' trust policies carry the other roles' external ids: not readable. The
    // workload roles, which Terraform refreshes, are.
    for role in Role::ALL {
        let workload = Role::WORKLOAD.contains(&role);
        assert_eq!(
            role_may(Role::Plan, "iam:GetRole", &role_arn(role)),
            workload,
            "iam:GetRole on {role:?}"
        );
    }
    assert!(!role_may(
        Role::Plan,
        "iam:GetOpenIDConnectProvider",
        &oidc_provider()
    ));
    // Task definition tags only of the environment's family (DescribeTaskDefinition cannot be
    // scoped; see UNSCOPABLE).
    assert!(role_may(
        Role::Plan,
        "ecs:ListTagsForResource",
        "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/dev-db-migrate:3"
    ));
    assert!(!role_may(
        Role::Plan,
        "ecs:ListTagsForResource",
        "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/prod-app:3"
    ));
    assert!(UNSCOPABLE.contains(&"ecs:DescribeTaskDefinition"));
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
            // A Deny on `*` narrows; only an Allow on `*` must be unscopable.
            if statement["Effect"] == "Allow" && as_list(&statement["Resource"]).contains(&"*") {
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

// ---------------------------------------------------------------------------------------------
// The escalation check: the closure of every role stays inside its intended set.

/// The name the tests give the notifier's target secret (a Terraform input).
const NOTIFICATION_SECRET: &str = "dev/notifier/target";

fn read_policy(dir: &std::path::Path, file: &str) -> Option<Value> {
    let text = std::fs::read_to_string(dir.join(file)).ok()?;
    let text = text
        .replace("${external_id}", EXTERNAL_ID)
        .replace("${notification_secret_name}", NOTIFICATION_SECRET);
    Some(serde_json::from_str(&text).unwrap())
}

/// The policy `lambda.tf` attaches to the notifier besides the generated one.
fn notifier_target_secret_policy() -> Value {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "ReadNotificationTarget",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": format!("arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:{NOTIFICATION_SECRET}-??????"),
        }]
    })
}

/// The account as Terraform leaves it, from the policy files in `dir`; `bounded(role)` says
/// whether the role carries the workload boundary.
fn world_from(dir: &std::path::Path, bounded: impl Fn(Role) -> bool) -> World {
    let (config, name) = arns();
    let environment = config.environment(&name).unwrap();
    let arns = Arns::new(environment);
    let boundary_file = support::repo_root()
        .join("environments/dev/generated/iam")
        .join(xtask::environment::BOUNDARY_FILE);
    let boundary = read_policy(
        boundary_file.parent().unwrap(),
        xtask::environment::BOUNDARY_FILE,
    )
    .unwrap_or_else(|| serde_json::json!({"Version": "2012-10-17", "Statement": []}));
    // A role without a trust file in `dir` did not exist then (the apply entry before issue 12).
    let mut roles: Vec<RoleState> = Role::ALL
        .iter()
        .filter(|role| dir.join(format!("{}.trust.json", role.key())).exists())
        .map(|role| {
            let mut policies: Vec<Value> = read_policy(dir, &format!("{}.policy.json", role.key()))
                .into_iter()
                .collect();
            if *role == Role::Notifier {
                policies.push(notifier_target_secret_policy());
            }
            RoleState {
                label: role.key().to_owned(),
                arn: arns.role(*role),
                trust: read_policy(dir, &format!("{}.trust.json", role.key())).unwrap(),
                policies,
                bounded: bounded(*role),
                exists: true,
            }
        })
        .collect();
    // A role that does not exist yet: creating one is a route too.
    roles.push(RoleState {
        label: "a-new-role".to_owned(),
        arn: "arn:aws:iam::123456789012:role/xtask-probe-new-role".to_owned(),
        trust: serde_json::json!({"Version": "2012-10-17", "Statement": []}),
        policies: Vec::new(),
        bounded: false,
        exists: false,
    });
    World {
        account: environment.account_id().to_owned(),
        roles,
        boundary_arn: arns.boundary_policy(),
        boundary,
        functions: vec![Runner {
            arn: arns.notifier(),
            role_arn: arns.role(Role::Notifier),
        }],
        state_machines: vec![Runner {
            arn: arns.state_machine(),
            role_arn: arns.role(Role::StateMachine),
        }],
        task_definitions: arns.task_definitions(),
        cluster: arns.cluster(),
        external_id: EXTERNAL_ID.to_owned(),
    }
}

/// Does `environments/dev/iam.tf` set the boundary on the workload role `role`?
fn iam_tf_sets_the_boundary(role: Role) -> bool {
    let path = support::repo_root().join("environments/dev/iam.tf");
    let body = hcl::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let resource = role.key().replace('-', "_");
    body.blocks().any(|block| {
        block.identifier() == "resource"
            && block.labels().first().map(|l| l.as_str()) == Some("aws_iam_role")
            && block.labels().get(1).map(|l| l.as_str()) == Some(resource.as_str())
            && block
                .body()
                .attributes()
                .any(|a| a.key() == "permissions_boundary")
    })
}

fn current_world() -> World {
    world_from(
        &support::repo_root().join("environments/dev/generated/iam"),
        |role| Role::WORKLOAD.contains(&role) && iam_tf_sets_the_boundary(role),
    )
}

/// The policies `main` generated before issue 9 (copied into a fixture), with no boundary
/// anywhere, as `iam.tf` had it.
fn world_before_issue_9() -> World {
    world_from(
        &support::repo_root().join("xtask/tests/fixtures/iam-before-issue-9"),
        |_| false,
    )
}

/// What each role is meant to reach: its own policy, and the roles it legitimately runs code as
/// (the deploy role manages the workload, so the boundary is its set).
fn intended(world: &World, role: Role) -> Vec<Value> {
    let policies = |roles: &[Role]| -> Vec<Value> {
        roles
            .iter()
            .flat_map(|r| world.role(r.key()).policies.clone())
            .collect()
    };
    let mut documents = match role {
        Role::PullRequestEntry => policies(&[Role::PullRequestEntry, Role::Plan]),
        Role::ProtectedEntry => {
            policies(&[Role::ProtectedEntry, Role::Migrate, Role::EcsExecution])
        }
        Role::Migrate => policies(&[Role::Migrate, Role::EcsExecution]),
        Role::StateMachine => policies(&[Role::StateMachine, Role::EcsExecution]),
        Role::Deploy => policies(&[Role::Deploy]),
        // The apply job: the state and the provider, so the deploy role's set.
        Role::ApplyEntry => policies(&[Role::ApplyEntry, Role::Backend, Role::Deploy]),
        other => policies(&[other]),
    };
    if matches!(role, Role::Deploy | Role::ApplyEntry) {
        documents.push(world.boundary.clone());
    }
    allow_statements(&documents.iter().collect::<Vec<_>>())
}

/// Requests no role's closure may allow, whatever its intended set says.
fn forbidden(world: &World) -> Vec<(String, String, BTreeMap<&'static str, &'static str>)> {
    let chain = [
        Role::PullRequestEntry,
        Role::ProtectedEntry,
        Role::ApplyEntry,
        Role::Plan,
        Role::Backend,
        Role::Deploy,
        Role::Migrate,
    ];
    let none = BTreeMap::new;
    let mut requests = Vec::new();
    for role in chain {
        for action in [
            "iam:PutRolePolicy",
            "iam:AttachRolePolicy",
            "iam:UpdateAssumeRolePolicy",
            "iam:DeleteRolePermissionsBoundary",
            "iam:CreateRole",
        ] {
            requests.push((action.to_owned(), role_arn(role), none()));
        }
    }
    for role in Role::WORKLOAD {
        // A workload role's policy is written only with the boundary on it.
        requests.push(("iam:PutRolePolicy".to_owned(), role_arn(role), none()));
        requests.push((
            "iam:UpdateAssumeRolePolicy".to_owned(),
            role_arn(role),
            none(),
        ));
        requests.push((
            "iam:DeleteRolePermissionsBoundary".to_owned(),
            role_arn(role),
            none(),
        ));
    }
    for action in [
        "iam:CreateOpenIDConnectProvider",
        "iam:DeleteOpenIDConnectProvider",
        "iam:UpdateOpenIDConnectProviderThumbprint",
        "iam:AddClientIDToOpenIDConnectProvider",
    ] {
        requests.push((action.to_owned(), oidc_provider(), none()));
    }
    for action in [
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "s3:PutEncryptionConfiguration",
    ] {
        requests.push((
            action.to_owned(),
            "arn:aws:s3:::example-org-tfstate-dev".to_owned(),
            none(),
        ));
    }
    for action in [
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicy",
    ] {
        requests.push((action.to_owned(), world.boundary_arn.clone(), none()));
    }
    for (action, resource) in [
        ("iam:CreateUser", "arn:aws:iam::123456789012:user/x"),
        ("iam:CreateAccessKey", "arn:aws:iam::123456789012:user/x"),
        (
            "iam:CreateRole",
            "arn:aws:iam::123456789012:role/xtask-probe-new-role",
        ),
        ("ec2:RunInstances", "*"),
        ("s3:GetObject", "arn:aws:s3:::another-bucket/secret"),
        ("kms:Decrypt", "*"),
        (
            "ec2:AuthorizeSecurityGroupIngress",
            "arn:aws:ec2:ap-northeast-1:123456789012:security-group/sg-not-ours",
        ),
    ] {
        requests.push((action.to_owned(), resource.to_owned(), none()));
    }
    requests
}

/// Every problem of `world`'s closure of `role`: escapes from its intended set and forbidden
/// requests it allows.
fn escalations(world: &World, role: Role) -> Vec<String> {
    let closure = world.closure(role.key());
    let mut problems = world.escapes_of(role.key(), &closure, &intended(world, role));
    for (action, resource, context) in forbidden(world) {
        if closure
            .iter()
            .any(|identity| identity.allows(&action, &resource, &context))
        {
            problems.push(format!("{} reaches {action} on {resource}", role.key()));
        }
    }
    problems
}

#[test]
fn no_generated_role_can_escalate_beyond_its_intended_set() {
    let world = current_world();
    for role in Role::WORKLOAD {
        assert!(
            iam_tf_sets_the_boundary(role),
            "iam.tf: aws_iam_role for {role:?} has no permissions_boundary"
        );
    }
    let mut problems = Vec::new();
    for role in Role::ALL {
        problems.extend(escalations(&world, role));
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_escalation_check_flags_the_deploy_policy_of_before_issue_9() {
    let world = world_before_issue_9();
    let problems = escalations(&world, Role::Deploy);
    // PutRolePolicy on an unbounded workload role, plus a trust it may rewrite: anything.
    assert!(
        problems
            .iter()
            .any(|p| p.contains("with any permission and no boundary")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p
            .contains("iam:PutRolePolicy on arn:aws:iam::123456789012:role/dev-db-migrate-task")),
        "{problems:#?}"
    );
    // The protected entry reached backend and deploy, which only the apply job may.
    let entry = escalations(&world, Role::ProtectedEntry);
    assert!(!entry.is_empty());
}

#[test]
fn the_closure_follows_code_definitions_and_passed_roles() {
    let world = current_world();
    let labels = |role: Role| -> Vec<String> {
        world
            .closure(role.key())
            .into_iter()
            .map(|identity| identity.label)
            .collect()
    };
    // Deploy reaches the workload roles (the notifier's code, the state machine's definition, the
    // roles it may write), always under the boundary.
    let deploy = world.closure("deploy");
    for role in Role::WORKLOAD {
        let arn = role_arn(role);
        let reached: Vec<_> = deploy.iter().filter(|i| i.arn == arn).collect();
        assert!(!reached.is_empty(), "deploy does not reach {role:?}");
        assert!(
            reached.iter().all(|i| i.boundary.is_some()),
            "deploy reaches {role:?} without the boundary"
        );
    }
    // The migrate role runs a task it registers: it reaches the execution role's secret read.
    assert!(labels(Role::Migrate).contains(&"ecs-execution".to_owned()));
    assert!(world.reaches(
        "migrate",
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:dev/db-migrate/database-url-AbCdEf",
        &BTreeMap::new()
    ));
    // The pull-request entry reaches the plan role and nothing else.
    assert_eq!(
        labels(Role::PullRequestEntry),
        vec!["pull-request-entry", "plan"]
    );
    assert_eq!(
        labels(Role::ProtectedEntry)[..2],
        ["protected-entry".to_owned(), "migrate".to_owned()]
    );
    for role in [Role::Deploy, Role::Backend] {
        assert!(!labels(Role::ProtectedEntry).contains(&role.key().to_owned()));
        assert!(!labels(Role::PullRequestEntry).contains(&role.key().to_owned()));
    }
    // The apply entry reaches the state, the provider and, through it, the workload under the
    // boundary; never migrate, the plan role or another entry.
    let apply = labels(Role::ApplyEntry);
    assert_eq!(apply[..3], ["apply-entry", "backend", "deploy"]);
    for role in [
        Role::Migrate,
        Role::Plan,
        Role::ProtectedEntry,
        Role::PullRequestEntry,
    ] {
        assert!(!apply.contains(&role.key().to_owned()), "{role:?}");
    }
}

#[test]
fn the_deploy_role_changes_only_security_groups_tagged_as_ours() {
    let deploy = permissions(Role::Deploy);
    let tag = "example-org/infra-monorepo/dev";
    let sg = "arn:aws:ec2:ap-northeast-1:123456789012:security-group/sg-1";
    let vpc = "arn:aws:ec2:ap-northeast-1:123456789012:vpc/vpc-1";
    let may = |action: &str, resource: &str, context: BTreeMap<&str, &str>| {
        allowed(
            &deploy,
            &Request {
                principal: Principal::Identity,
                action,
                resource,
                context,
            },
        )
    };
    let tagged = || BTreeMap::from([("aws:ResourceTag/xtask-managed-by", tag)]);
    let foreign = || BTreeMap::from([("aws:ResourceTag/xtask-managed-by", "other-org/repo/dev")]);
    for action in [
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:DeleteSecurityGroup",
    ] {
        assert!(may(action, sg, tagged()), "{action}");
        assert!(!may(action, sg, foreign()), "{action} on a foreign group");
        assert!(
            !may(action, sg, BTreeMap::new()),
            "{action} on an untagged group"
        );
    }
    assert!(may("ec2:CreateSecurityGroup", vpc, BTreeMap::new()));
    assert!(may(
        "ec2:CreateSecurityGroup",
        sg,
        BTreeMap::from([("aws:RequestTag/xtask-managed-by", tag)])
    ));
    assert!(!may("ec2:CreateSecurityGroup", sg, BTreeMap::new()));
    assert!(may(
        "ec2:CreateTags",
        sg,
        BTreeMap::from([("ec2:CreateAction", "CreateSecurityGroup")])
    ));
    assert!(!may("ec2:CreateTags", sg, foreign()));
    // The managed tag cannot be taken off.
    let mut untag = tagged();
    untag.insert("aws:TagKeys", "xtask-managed-by");
    assert!(!may("ec2:DeleteTags", sg, untag));
    // And the Terraform security group carries the tag.
    let text =
        std::fs::read_to_string(support::repo_root().join("environments/dev/security_group.tf"))
            .unwrap();
    assert!(
        text.contains("local.xtask.managed_tag.key")
            && text.contains("local.xtask.managed_tag.value"),
        "security_group.tf does not tag the group"
    );
}

// ---------------------------------------------------------------------------------------------
// Workflows and roles: every role a generated workflow assumes is reachable from that workflow's
// OIDC subject, and no entry role trusts a subject, or reaches a role, that no workflow uses.

/// One role-chain step of a generated workflow: the entry role, the subject its job's token has
/// and the chained roles its profiles point at.
struct ChainUse {
    workflow: String,
    subject: String,
    entry: Role,
    chained: Vec<Role>,
}

fn chain_uses() -> Vec<ChainUse> {
    let (config, _) = arns();
    let dir = support::repo_root().join(".github/workflows");
    let workflows = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&path).unwrap(),
            )
        })
        .collect::<Vec<_>>();
    chain_uses_of(&config, &workflows)
}

/// The role-chain steps of `workflows` (file name, YAML text), with the subject of each trigger
/// their job runs on: a pull request's merge ref, the environment on the default branch, or the
/// default branch itself (comment commands, pushes, dispatches).
fn chain_uses_of(config: &Config, workflows: &[(String, String)]) -> Vec<ChainUse> {
    let repository = config.repository();
    let branch = &config.repo.github.default_branch;
    let mut uses = Vec::new();
    for (file, text) in workflows {
        let workflow: Value = serde_saphyr::from_str(text).unwrap();
        let triggers: Vec<&String> = workflow["on"].as_object().unwrap().keys().collect();
        for job in workflow["jobs"].as_object().unwrap().values() {
            for step in job["steps"].as_array().into_iter().flatten() {
                if step["uses"] != "./.github/actions/aws-role-chain" {
                    continue;
                }
                let purpose = step["with"]["purpose"].as_str().unwrap();
                let purpose =
                    <xtask::aws_profiles::Purpose as clap::ValueEnum>::from_str(purpose, true)
                        .unwrap();
                let named = step["with"]["environment"].as_str().unwrap();
                let environments: Vec<_> = if named.contains("${{") {
                    config.environments.values().collect()
                } else {
                    vec![config.environment(named).unwrap()]
                };
                let subjects: Vec<String> = match job["environment"].as_str() {
                    Some(github_environment) => vec![xtask::oidc::environment_subject(
                        &repository,
                        github_environment,
                        file,
                        branch,
                    )],
                    None => triggers
                        .iter()
                        .map(|trigger| match trigger.as_str() {
                            "pull_request" => xtask::oidc::pull_request_subject(&repository, file)
                                .replace("refs/pull/*/merge", "refs/pull/7/merge"),
                            _ => xtask::oidc::branch_subject(&repository, file, branch),
                        })
                        .collect(),
                };
                for environment in environments {
                    let arns = Arns::new(environment);
                    let chained: Vec<Role> =
                        xtask::aws_profiles::profiles_for(environment, purpose, "s")
                            .into_iter()
                            .map(|p| {
                                *Role::ALL
                                    .iter()
                                    .find(|r| arns.role(**r) == p.role_arn)
                                    .unwrap()
                            })
                            .collect();
                    for subject in &subjects {
                        uses.push(ChainUse {
                            workflow: file.clone(),
                            subject: subject.clone(),
                            entry: purpose.entry_role(),
                            chained: chained.clone(),
                        });
                    }
                }
            }
        }
    }
    uses
}

/// With the review on Bedrock, `review.yml` assumes the pull-request entry role on pull requests
/// and on comment commands: the entry role trusts exactly those subjects besides the plan's.
#[test]
fn the_review_on_bedrock_is_trusted_from_its_workflow_only() {
    let repo = support::config_only_repo();
    let manifest = std::fs::read_to_string(repo.path().join("Cargo.toml")).unwrap();
    let manifest = manifest.replace(
        "kind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"",
        "kind = \"bedrock\"\nregion = \"us-east-1\"",
    );
    assert!(manifest.contains("bedrock"), "the provider section moved");
    std::fs::write(repo.path().join("Cargo.toml"), manifest).unwrap();
    let config = Config::load(repo.path()).unwrap();
    let environment = config.environment("dev").unwrap();
    let workflows: Vec<(String, String)> = xtask::generate::generate_all(&config)
        .unwrap()
        .into_iter()
        .filter_map(|file| {
            let name = file
                .path
                .strip_prefix(".github/workflows")
                .ok()?
                .to_string_lossy()
                .into_owned();
            Some((name, file.contents))
        })
        .collect();
    let uses = chain_uses_of(&config, &workflows);
    let (operator, subjects) =
        xtask::generate::iam::entry_subjects(&config, environment, Role::PullRequestEntry);
    assert_eq!(operator, xtask::models::iam::ConditionOperator::StringLike);
    let from_workflows: Vec<&ChainUse> = uses
        .iter()
        .filter(|u| u.entry == Role::PullRequestEntry)
        .collect();
    assert!(from_workflows.iter().any(|u| u.workflow == "review.yml"));
    for chain in &from_workflows {
        assert!(
            subjects.iter().any(|s| iam_eval::glob(s, &chain.subject)),
            "{} is not trusted",
            chain.subject
        );
    }
    for subject in &subjects {
        assert!(
            from_workflows
                .iter()
                .any(|u| iam_eval::glob(subject, &u.subject)),
            "{subject} is trusted but no workflow job has it"
        );
    }
}

#[test]
fn each_role_a_workflow_assumes_is_reachable_and_nothing_else_is() {
    let uses = chain_uses();
    assert!(uses.iter().any(|u| u.workflow == "terraform-plan.yml"));
    assert!(uses.iter().any(|u| u.workflow == "db-migrate-dev.yml"));
    assert!(uses.iter().any(|u| u.workflow == "terraform-drift.yml"));
    // The deploy and backend roles are used by the apply workflow alone.
    for chain in &uses {
        let deploys =
            chain.chained.contains(&Role::Deploy) || chain.chained.contains(&Role::Backend);
        assert_eq!(
            deploys,
            chain.workflow == "terraform-apply.yml",
            "{}: {:?}",
            chain.workflow,
            chain.chained
        );
    }
    for chain in &uses {
        assert!(
            token_may_assume(chain.entry, &chain.subject),
            "{}: {:?} does not trust {}",
            chain.workflow,
            chain.entry,
            chain.subject
        );
        for role in &chain.chained {
            assert!(
                role_may_assume(chain.entry, *role, EXTERNAL_ID),
                "{}: {:?} cannot chain into {role:?}",
                chain.workflow,
                chain.entry
            );
        }
    }
    // Nothing else: every chained role an entry role can assume is one a workflow uses through it,
    // and every subject an entry role trusts is one a workflow's job has.
    let (config, name) = arns();
    let environment = config.environment(&name).unwrap();
    for entry in [
        Role::PullRequestEntry,
        Role::ProtectedEntry,
        Role::ApplyEntry,
    ] {
        for role in Role::ALL {
            let used = uses
                .iter()
                .any(|u| u.entry == entry && u.chained.contains(&role));
            assert_eq!(
                role_may_assume(entry, role, EXTERNAL_ID),
                used,
                "{entry:?} -> {role:?}: reachable must equal used by a workflow"
            );
        }
        let (_, subjects) = xtask::generate::iam::entry_subjects(&config, environment, entry);
        for subject in subjects {
            assert!(
                uses.iter()
                    .any(|u| u.entry == entry && iam_eval::glob(&subject, &u.subject)),
                "{entry:?} trusts {subject}, which no generated workflow's job has"
            );
        }
    }
}

#[test]
fn the_deploy_role_writes_workload_roles_only_with_the_boundary() {
    let deploy = permissions(Role::Deploy);
    let (config, name) = arns();
    let boundary = Arns::new(config.environment(&name).unwrap()).boundary_policy();
    let may = |action: &str, role: Role, with: Option<&str>| {
        allowed(
            &deploy,
            &Request {
                principal: Principal::Identity,
                action,
                resource: &role_arn(role),
                context: with
                    .map(|b| BTreeMap::from([("iam:PermissionsBoundary", b)]))
                    .unwrap_or_default(),
            },
        )
    };
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    for action in [
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:PutRolePermissionsBoundary",
    ] {
        for role in Role::WORKLOAD {
            assert!(may(action, role, Some(&boundary)), "{action} {role:?}");
            assert!(
                !may(action, role, None),
                "{action} {role:?} without a boundary"
            );
            assert!(
                !may(action, role, Some(admin)),
                "{action} {role:?} with another"
            );
        }
        for role in [
            Role::Deploy,
            Role::Plan,
            Role::ProtectedEntry,
            Role::ApplyEntry,
        ] {
            assert!(!may(action, role, Some(&boundary)), "{action} on {role:?}");
        }
    }
    for role in Role::WORKLOAD {
        assert!(!may(
            "iam:DeleteRolePermissionsBoundary",
            role,
            Some(&boundary)
        ));
        assert!(!may("iam:UpdateAssumeRolePolicy", role, Some(&boundary)));
        assert!(!may("iam:AttachRolePolicy", role, Some(&boundary)));
    }
    for action in [
        "iam:CreatePolicyVersion",
        "iam:SetDefaultPolicyVersion",
        "iam:DeletePolicy",
    ] {
        assert!(!role_may(Role::Deploy, action, &boundary), "{action}");
    }
    // PassRole: each workload role to its own service only.
    let pass = |role: Role, service: &str| {
        allowed(
            &deploy,
            &Request {
                principal: Principal::Identity,
                action: "iam:PassRole",
                resource: &role_arn(role),
                context: BTreeMap::from([("iam:PassedToService", service)]),
            },
        )
    };
    assert!(pass(Role::Notifier, "lambda.amazonaws.com"));
    assert!(!pass(Role::Notifier, "states.amazonaws.com"));
    assert!(pass(Role::StateMachine, "states.amazonaws.com"));
    assert!(!pass(Role::StateMachine, "lambda.amazonaws.com"));
    assert!(pass(Role::EcsTask, "ecs-tasks.amazonaws.com"));
    assert!(!pass(Role::EcsTask, "lambda.amazonaws.com"));
    assert!(!pass(Role::Deploy, "lambda.amazonaws.com"));
}

#[test]
fn the_evaluator_follows_iam_semantics_the_policies_rely_on() {
    // A negated operator holds when the key is absent; a positive one does not.
    let document = serde_json::json!({"Statement": [
        {"Effect": "Allow", "Action": "iam:CreateRole", "Resource": "*",
         "Condition": {"StringEquals": {"iam:PermissionsBoundary": "b"}}},
        {"Effect": "Deny", "Action": "iam:CreateRole", "Resource": "*",
         "Condition": {"StringNotEquals": {"iam:PermissionsBoundary": "b"}}},
        {"Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/?x*"},
    ]});
    let request = |action: &'static str,
                   resource: &'static str,
                   context: BTreeMap<&'static str, &'static str>| Request {
        principal: Principal::Identity,
        action,
        resource,
        context,
    };
    assert!(allowed(
        &document,
        &request(
            "iam:CreateRole",
            "r",
            BTreeMap::from([("iam:PermissionsBoundary", "b")])
        )
    ));
    assert!(!allowed(
        &document,
        &request("iam:CreateRole", "r", BTreeMap::new())
    ));
    assert!(!allowed(
        &document,
        &request(
            "iam:CreateRole",
            "r",
            BTreeMap::from([("iam:PermissionsBoundary", "c")])
        )
    ));
    // Actions are case-insensitive, resources are not; `?` is one character, `*` any run.
    assert!(allowed(
        &document,
        &request("S3:GETOBJECT", "arn:aws:s3:::b/axyz", BTreeMap::new())
    ));
    assert!(!allowed(
        &document,
        &request("s3:GetObject", "arn:aws:s3:::b/x", BTreeMap::new())
    ));
    assert!(!allowed(
        &document,
        &request("s3:GetObject", "arn:aws:s3:::B/axyz", BTreeMap::new())
    ));
    assert!(!allowed(
        &document,
        &request("s3:PutObject", "arn:aws:s3:::b/axyz", BTreeMap::new())
    ));
    assert!(iam_eval::glob("a*b*c", "aXbYbZc") && !iam_eval::glob("a*b*c", "aXbYbZ"));
}
