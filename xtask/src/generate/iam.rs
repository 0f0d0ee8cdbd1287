//! The IAM trust and permission policies of every role of an environment.
//!
//! The role chain: a GitHub OIDC token assumes an *entry* role whose trust names exactly one
//! kind of subject (pull requests and the drift check, the migration's protected environment, or
//! the apply environment); the entry role may only assume
//! its chained roles, which trust that entry role alone and require an external id. Service roles
//! trust their service for this account (and, where the service sends it, this resource) only.
//! Resources are named wherever the action supports resource-level permissions; the few `*` that
//! remain are actions AWS defines without resources (listed in [`UNSCOPABLE`]).
//!
//! The entry roles trust only the OIDC subjects of the workflows that use them (the subject format
//! is [`crate::oidc`]'s, the file names [`crate::workflow_files`]'), and may assume only the chained
//! role those workflows need. The workload roles (state machine, ECS execution and task, notifier)
//! carry the permissions boundary [`boundary_policy`]; the deploy role may write a workload role only
//! with that boundary on it, so rewriting a role, the notifier's code or the state machine's
//! definition never reaches beyond the boundary (`xtask/tests/iam_policies.rs` computes the closure).

use super::GeneratedFile;
use crate::config::{Config, Environment, LlmProvider};
use crate::environment::{
    Arns, BOUNDARY_FILE, GITHUB_OIDC_HOST, IAM_DIR, MANAGED_TAG_KEY, Role, managed_tag_value,
};
use crate::models::iam::{ConditionOperator, Effect, PolicyDocument, Principal, Statement};
use crate::{oidc, workflow_files};

/// The placeholder Terraform fills (with `templatefile`) in the chained roles' trust policies, so
/// that external ids never sit in git.
pub const EXTERNAL_ID_PLACEHOLDER: &str = "${external_id}";

/// Actions that AWS does not let a policy scope to a resource, so they are granted on `*`.
/// `ecs:DescribeTaskDefinition` is one of them: the plan role can read every task definition of the
/// account and region, not only its environment's family (task definitions hold no secret values,
/// only the secrets' ARNs). Its `ecs:ListTagsForResource` is scoped to the family.
pub const UNSCOPABLE: &[&str] = &[
    "ecr:GetAuthorizationToken",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
    "ecs:DeregisterTaskDefinition",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSecurityGroupRules",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeNetworkInterfaces",
    "logs:DescribeLogGroups",
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
];

/// The trust and permission policy of one role.
pub struct RolePolicies {
    pub role: Role,
    pub trust: PolicyDocument,
    /// `None` for a role that needs no permission (the ECS task role).
    pub permissions: Option<PolicyDocument>,
}

pub fn generate(config: &Config, environment: &Environment) -> anyhow::Result<Vec<GeneratedFile>> {
    let dir = environment.dir.join(IAM_DIR);
    let mut files = vec![GeneratedFile::new(
        dir.join(BOUNDARY_FILE),
        super::to_json(&boundary_policy(config, environment))?,
    )];
    for policies in role_policies(config, environment) {
        files.push(GeneratedFile::new(
            dir.join(format!("{}.trust.json", policies.role.key())),
            super::to_json(&policies.trust)?,
        ));
        if let Some(permissions) = &policies.permissions {
            files.push(GeneratedFile::new(
                dir.join(format!("{}.policy.json", policies.role.key())),
                super::to_json(permissions)?,
            ));
        }
    }
    Ok(files)
}

/// The permissions boundary of the workload roles: exactly what their own policies grant (and the
/// notifier's target secret, which `lambda.tf` grants), so a workload role rewritten by the deploy
/// role, or code and definitions run with it, reaches nothing beyond the workload's intended set.
pub fn boundary_policy(config: &Config, environment: &Environment) -> PolicyDocument {
    let arns = Arns::new(environment);
    let mut statements: Vec<Statement> = Role::WORKLOAD
        .iter()
        .filter_map(|role| permission_policy(config, environment, &arns, *role).map(|p| (*role, p)))
        .flat_map(|(role, policy)| {
            policy
                .statement
                .into_iter()
                .filter(|statement| statement.effect == Effect::Allow)
                .map(move |mut statement| {
                    statement.sid = format!("{}{}", pascal(role.key()), statement.sid);
                    statement
                })
        })
        .collect();
    statements.push(Statement::allow(
        "NotifierReadsItsTargetSecret",
        &["secretsmanager:GetSecretValue"],
        vec![arns.notification_secret()],
    ));
    PolicyDocument::new(statements)
}

/// `state-machine` -> `StateMachine`.
fn pascal(key: &str) -> String {
    key.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

pub fn role_policies(config: &Config, environment: &Environment) -> Vec<RolePolicies> {
    let arns = Arns::new(environment);
    Role::ALL
        .into_iter()
        .map(|role| RolePolicies {
            role,
            trust: trust_policy(config, environment, &arns, role),
            permissions: permission_policy(config, environment, &arns, role),
        })
        .collect()
}

fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

fn trust_policy(
    config: &Config,
    environment: &Environment,
    arns: &Arns,
    role: Role,
) -> PolicyDocument {
    let account = vec![environment.account_id().to_owned()];
    let service_trust = |service: &str, source_arn: String| {
        Statement::trust(
            "TrustedServiceForThisAccountOnly",
            Principal::Service(service.to_owned()),
            "sts:AssumeRole",
        )
        .when(
            ConditionOperator::StringEquals,
            "aws:SourceAccount",
            account.clone(),
        )
        .when(
            ConditionOperator::ArnLike,
            "aws:SourceArn",
            vec![source_arn],
        )
    };
    let statement = match role {
        Role::PullRequestEntry | Role::ProtectedEntry | Role::ApplyEntry => {
            let (operator, subjects) = entry_subjects(config, environment, role);
            Statement::trust(
                "GitHubOidc",
                Principal::Federated(arns.oidc_provider()),
                "sts:AssumeRoleWithWebIdentity",
            )
            .when(
                ConditionOperator::StringEquals,
                &format!("{GITHUB_OIDC_HOST}:aud"),
                vec!["sts.amazonaws.com".to_owned()],
            )
            .when(operator, &format!("{GITHUB_OIDC_HOST}:sub"), subjects)
        }
        Role::Plan | Role::Backend | Role::Deploy | Role::Migrate => {
            let entry = role.entry().map(|entry| arns.role(entry)).into_iter();
            let mut principals: Vec<String> = entry
                .chain(environment.settings.roles.local_principals.iter().cloned())
                .collect();
            if principals.is_empty() {
                // No workflow and no configured principal: the account delegates to IAM, so only an
                // identity whose own policy allows sts:AssumeRole on this role (an administrator)
                // may assume it, with the external id. None of the generated roles may.
                principals.push(arns.account_root());
            }
            Statement::trust(
                "ChainedFromEntryRole",
                Principal::Aws(principals),
                "sts:AssumeRole",
            )
            .when(
                ConditionOperator::StringEquals,
                "sts:ExternalId",
                vec![EXTERNAL_ID_PLACEHOLDER.to_owned()],
            )
        }
        Role::StateMachine => service_trust("states.amazonaws.com", arns.state_machine()),
        Role::EcsExecution | Role::EcsTask => {
            service_trust("ecs-tasks.amazonaws.com", arns.ecs_anything())
        }
        // Lambda does not send aws:SourceArn when it assumes a function's execution role.
        Role::Notifier => Statement::trust(
            "LambdaService",
            Principal::Service("lambda.amazonaws.com".to_owned()),
            "sts:AssumeRole",
        ),
    };
    PolicyDocument::new(vec![statement])
}

/// The OIDC subjects an entry role trusts: those of the jobs of the generated workflows that assume
/// it, with the condition operator their format needs (a pull request's ref is its merge ref,
/// `refs/pull/N/merge`, so those are matched with `StringLike`; environment subjects are exact).
pub fn entry_subjects(
    config: &Config,
    environment: &Environment,
    role: Role,
) -> (ConditionOperator, Vec<String>) {
    let repository = config.repository();
    match role {
        Role::PullRequestEntry => {
            let mut subjects = vec![oidc::pull_request_subject(
                &repository,
                workflow_files::PLAN,
            )];
            // The review on Bedrock calls the model with the pull-request entry role, on pull
            // requests and on comment commands (which run on the default branch).
            if matches!(config.repo.review.provider, LlmProvider::Bedrock { .. }) {
                subjects.push(oidc::pull_request_subject(
                    &repository,
                    workflow_files::REVIEW,
                ));
                subjects.push(oidc::branch_subject(
                    &repository,
                    workflow_files::REVIEW,
                    &config.repo.github.default_branch,
                ));
            }
            // The scheduled drift check runs on the default branch (no pull request, no GitHub
            // environment): its exact subject, pinned to the drift workflow at the default branch.
            // It reaches only the read-only plan role, as pull requests do; a dedicated entry role
            // would add a role with the same reach and a second trust to keep in step.
            subjects.push(oidc::branch_subject(
                &repository,
                workflow_files::DRIFT,
                &config.repo.github.default_branch,
            ));
            (ConditionOperator::StringLike, subjects)
        }
        Role::ApplyEntry => (
            ConditionOperator::StringEquals,
            vec![oidc::environment_subject(
                &repository,
                &environment.settings.github.apply_environment().to_string(),
                workflow_files::APPLY,
                &config.repo.github.default_branch,
            )],
        ),
        Role::ProtectedEntry => (
            ConditionOperator::StringEquals,
            vec![oidc::environment_subject(
                &repository,
                &environment.settings.github.environment.to_string(),
                &workflow_files::migrate(&environment.name),
                &config.repo.github.default_branch,
            )],
        ),
        _ => (ConditionOperator::StringEquals, Vec::new()),
    }
}

/// The permission policy of `role`: one function per role below, each a list of statements.
fn permission_policy(
    config: &Config,
    environment: &Environment,
    arns: &Arns,
    role: Role,
) -> Option<PolicyDocument> {
    let statements = match role {
        Role::PullRequestEntry => pull_request_entry_permissions(config, arns),
        Role::ProtectedEntry => protected_entry_permissions(arns),
        Role::ApplyEntry => apply_entry_permissions(arns),
        Role::Plan => plan_permissions(arns),
        Role::Backend => backend_permissions(arns),
        Role::Deploy => deploy_permissions(config, environment, arns),
        Role::Migrate => migrate_permissions(arns),
        Role::StateMachine => state_machine_permissions(arns),
        Role::EcsExecution => ecs_execution_permissions(arns),
        // What the migration container itself may call: nothing by default.
        Role::EcsTask => return None,
        Role::Notifier => notifier_permissions(arns),
    };
    Some(PolicyDocument::new(statements))
}

/// The resource of actions AWS defines without one (see [`UNSCOPABLE`]).
fn star() -> Vec<String> {
    vec!["*".to_owned()]
}

/// Assumes the plan role; on Bedrock, also calls the review's models.
fn pull_request_entry_permissions(config: &Config, arns: &Arns) -> Vec<Statement> {
    let mut statements = vec![Statement::allow(
        "AssumeThePlanRole",
        &["sts:AssumeRole"],
        vec![arns.role(Role::Plan)],
    )];
    if let LlmProvider::Bedrock { region, .. } = &config.repo.review.provider {
        let models = std::iter::once(&config.repo.review.model)
            .chain(&config.repo.review.fallback_models)
            .flat_map(|model| arns.bedrock_model(region, model))
            .collect();
        statements.push(Statement::allow(
            "InvokeTheReviewModels",
            &[
                "bedrock:InvokeModel",
                "bedrock:InvokeModelWithResponseStream",
            ],
            models,
        ));
    }
    statements
}

/// The migration workflow is the only one in the protected environment.
fn protected_entry_permissions(arns: &Arns) -> Vec<Statement> {
    vec![Statement::allow(
        "AssumeTheMigrateRole",
        &["sts:AssumeRole"],
        vec![arns.role(Role::Migrate)],
    )]
}

/// The apply workflow is the only one in the apply environment: the state (backend role) and the
/// provider (deploy role), nothing else.
fn apply_entry_permissions(arns: &Arns) -> Vec<Statement> {
    vec![Statement::allow(
        "AssumeTheBackendAndDeployRoles",
        &["sts:AssumeRole"],
        vec![arns.role(Role::Backend), arns.role(Role::Deploy)],
    )]
}

/// Reads the state and describes the workload: what `terraform plan -lock=false` needs.
fn plan_permissions(arns: &Arns) -> Vec<Statement> {
    vec![
        Statement::allow(
            "ListStateBucket",
            &["s3:ListBucket"],
            vec![arns.state_bucket()],
        ),
        // `terraform plan -lock=false`: the plan role reads the state and writes nothing, not
        // even the lock (a plan changes no state, so it needs no lock).
        Statement::allow("ReadState", &["s3:GetObject"], vec![arns.state_object()]),
        // What Terraform refreshes: the workload roles only. The chain roles' trust policies
        // carry the other roles' external ids, so the plan role may not read them.
        Statement::allow(
            "ReadTheWorkloadRoles",
            &[
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
            ],
            Role::WORKLOAD.iter().map(|role| arns.role(*role)).collect(),
        ),
        Statement::allow(
            "ReadMigrationResources",
            &[
                "ecr:DescribeRepositories",
                "ecr:GetLifecyclePolicy",
                "ecr:GetRepositoryPolicy",
                "ecr:ListTagsForResource",
                "ecs:DescribeClusters",
                "ecs:ListTagsForResource",
                "states:DescribeStateMachine",
                "states:ListTagsForResource",
                "lambda:GetFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetPolicy",
                "lambda:ListVersionsByFunction",
                "lambda:ListTags",
                "logs:ListTagsForResource",
                "secretsmanager:DescribeSecret",
            ],
            vec![
                arns.ecr_repository(),
                arns.cluster(),
                arns.task_definitions(),
                arns.state_machine(),
                arns.notifier(),
                arns.task_log_group(),
                arns.state_machine_log_group(),
                arns.notifier_log_group(),
                arns.database_secret(),
            ],
        ),
        Statement::allow(
            "DescribeWhatCannotBeScoped",
            &[
                "ecs:DescribeTaskDefinition",
                "logs:DescribeLogGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
            ],
            star(),
        ),
    ]
}

/// Reads and writes the state and its lock: `terraform apply`'s backend.
fn backend_permissions(arns: &Arns) -> Vec<Statement> {
    vec![
        Statement::allow(
            "ListStateBucket",
            &["s3:ListBucket"],
            vec![arns.state_bucket()],
        ),
        Statement::allow(
            "ReadWriteStateAndLock",
            &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            vec![arns.state_object(), arns.state_lock()],
        ),
    ]
}

/// Pushes the migration image, registers its task definition, starts and follows the execution.
fn migrate_permissions(arns: &Arns) -> Vec<Statement> {
    vec![
        Statement::allow("EcrLogin", &["ecr:GetAuthorizationToken"], star()),
        Statement::allow(
            "PushTheMigrationImage",
            &[
                "ecr:BatchCheckLayerAvailability",
                "ecr:InitiateLayerUpload",
                "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload",
                "ecr:PutImage",
                "ecr:BatchGetImage",
                "ecr:DescribeImages",
            ],
            vec![arns.ecr_repository()],
        ),
        Statement::allow(
            "RegisterTaskDefinitionForTheImage",
            &["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
            star(),
        ),
        // Registering a revision copies the family's tags, which is a tagging action.
        Statement::allow(
            "TagTheRegisteredRevision",
            &["ecs:TagResource"],
            vec![arns.task_definitions()],
        )
        .when(
            ConditionOperator::StringEquals,
            "ecs:CreateAction",
            strings(&["RegisterTaskDefinition"]),
        ),
        pass_task_roles(arns),
        Statement::allow(
            "StartTheMigration",
            &["states:StartExecution", "states:ListExecutions"],
            vec![arns.state_machine()],
        ),
        Statement::allow(
            "FollowTheMigration",
            &[
                "states:DescribeExecution",
                "states:GetExecutionHistory",
                "states:StopExecution",
            ],
            vec![arns.executions()],
        ),
        Statement::allow(
            "DescribeTheTask",
            &["ecs:DescribeTasks"],
            vec![arns.tasks()],
        ),
        Statement::allow(
            "ReadTheTaskLogs",
            &["logs:GetLogEvents"],
            vec![format!("{}:log-stream:*", arns.task_log_group())],
        ),
    ]
}

/// Runs the migration task, follows it and calls the notifier.
fn state_machine_permissions(arns: &Arns) -> Vec<Statement> {
    vec![
        Statement::allow(
            "RunTheMigrationTask",
            &["ecs:RunTask"],
            vec![arns.task_definitions()],
        )
        .when(
            ConditionOperator::ArnLike,
            "ecs:cluster",
            vec![arns.cluster()],
        ),
        Statement::allow(
            "FollowTheMigrationTask",
            &["ecs:StopTask", "ecs:DescribeTasks"],
            vec![arns.tasks()],
        ),
        // `PropagateTags` tags the task it starts, which is a tagging action.
        Statement::allow(
            "TagTheStartedTask",
            &["ecs:TagResource"],
            vec![arns.tasks()],
        )
        .when(
            ConditionOperator::StringEquals,
            "ecs:CreateAction",
            strings(&["RunTask"]),
        ),
        Statement::allow(
            "ManagedRuleForRunTaskSync",
            &["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            vec![arns.ecs_sync_rule()],
        ),
        pass_task_roles(arns),
        Statement::allow(
            "InvokeTheNotifier",
            &["lambda:InvokeFunction"],
            vec![arns.notifier(), format!("{}:*", arns.notifier())],
        ),
        Statement::allow(
            "DeliverExecutionLogs",
            &[
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups",
            ],
            star(),
        ),
    ]
}

/// Pulls the image, writes the task's logs and reads the database URL.
fn ecs_execution_permissions(arns: &Arns) -> Vec<Statement> {
    vec![
        Statement::allow("EcrLogin", &["ecr:GetAuthorizationToken"], star()),
        Statement::allow(
            "PullTheMigrationImage",
            &[
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
            ],
            vec![arns.ecr_repository()],
        ),
        Statement::allow(
            "WriteTaskLogs",
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            vec![format!("{}:log-stream:*", arns.task_log_group())],
        ),
        Statement::allow(
            "ReadTheDatabaseUrl",
            &["secretsmanager:GetSecretValue"],
            vec![arns.database_secret()],
        ),
    ]
}

/// Writes the notifier's own logs.
fn notifier_permissions(arns: &Arns) -> Vec<Statement> {
    vec![Statement::allow(
        "WriteFunctionLogs",
        &["logs:CreateLogStream", "logs:PutLogEvents"],
        vec![format!("{}:log-stream:*", arns.notifier_log_group())],
    )]
}

fn pass_task_roles(arns: &Arns) -> Statement {
    Statement::allow(
        "PassTheTaskRolesToEcs",
        &["iam:PassRole"],
        vec![arns.role(Role::EcsExecution), arns.role(Role::EcsTask)],
    )
    .when(
        ConditionOperator::StringEquals,
        "iam:PassedToService",
        strings(&["ecs-tasks.amazonaws.com"]),
    )
}

/// What `terraform apply` needs for the workload of `environments/<env>`, each on its own ARN.
///
/// The CI identity (the OIDC provider, the entry roles and the chained roles, this one included)
/// is deliberately out of reach: a role that could rewrite its own trust or permissions would
/// make every other limit here decorative. Changes to those need administrator credentials.
///
/// The workload roles it does manage it may create, and write the policies of, only with the
/// permissions boundary on them; it may not remove or replace the boundary, edit the boundary
/// policy, or rewrite a workload role's trust (`iam:UpdateAssumeRolePolicy` is not granted: a
/// changed workload trust policy needs the administrator). `iam:CreateRole` sets a trust policy
/// that no condition key can constrain, which is why the boundary, not the trust, is what bounds a
/// workload role.
fn deploy_permissions(config: &Config, environment: &Environment, arns: &Arns) -> Vec<Statement> {
    let workload_roles: Vec<String> = Role::WORKLOAD.iter().map(|role| arns.role(*role)).collect();
    let boundary = vec![arns.boundary_policy()];
    let managed_tag = managed_tag_value(config, environment);
    let pass = |role: Role, service: &str| {
        Statement::allow(
            &format!("Pass{}ToItsService", pascal(role.key())),
            &["iam:PassRole"],
            vec![arns.role(role)],
        )
        .when(
            ConditionOperator::StringEquals,
            "iam:PassedToService",
            vec![service.to_owned()],
        )
    };
    vec![
        Statement::allow(
            "ReadAndDescribeWorkloadRoles",
            &[
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:ListInstanceProfilesForRole",
                "iam:UpdateRole",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:DeleteRole",
            ],
            workload_roles.clone(),
        ),
        Statement::allow(
            "WriteWorkloadRolesOnlyWithTheBoundary",
            &[
                "iam:CreateRole",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:PutRolePermissionsBoundary",
            ],
            workload_roles,
        )
        .when(
            ConditionOperator::StringEquals,
            "iam:PermissionsBoundary",
            boundary.clone(),
        ),
        Statement::deny(
            "NoRoleWriteWithoutTheBoundary",
            &[
                "iam:CreateRole",
                "iam:PutRolePolicy",
                "iam:AttachRolePolicy",
                "iam:PutRolePermissionsBoundary",
            ],
            star(),
        )
        .when(
            ConditionOperator::StringNotEquals,
            "iam:PermissionsBoundary",
            boundary.clone(),
        ),
        Statement::deny(
            "NeverRemoveABoundary",
            &["iam:DeleteRolePermissionsBoundary"],
            star(),
        ),
        Statement::deny(
            "NeverEditTheBoundaryPolicy",
            &[
                "iam:CreatePolicyVersion",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
                "iam:DeletePolicy",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            boundary,
        ),
        pass(Role::StateMachine, "states.amazonaws.com"),
        pass(Role::EcsExecution, "ecs-tasks.amazonaws.com"),
        pass(Role::EcsTask, "ecs-tasks.amazonaws.com"),
        pass(Role::Notifier, "lambda.amazonaws.com"),
        Statement::allow(
            "ManageTheRepository",
            &[
                "ecr:CreateRepository",
                "ecr:DeleteRepository",
                "ecr:DescribeRepositories",
                "ecr:PutImageScanningConfiguration",
                "ecr:PutImageTagMutability",
                "ecr:PutLifecyclePolicy",
                "ecr:GetLifecyclePolicy",
                "ecr:DeleteLifecyclePolicy",
                "ecr:ListTagsForResource",
                "ecr:TagResource",
                "ecr:UntagResource",
            ],
            vec![arns.ecr_repository()],
        ),
        Statement::allow(
            "ManageTheCluster",
            &[
                "ecs:CreateCluster",
                "ecs:DeleteCluster",
                "ecs:DescribeClusters",
                "ecs:UpdateCluster",
                "ecs:PutClusterCapacityProviders",
                "ecs:TagResource",
                "ecs:UntagResource",
                "ecs:ListTagsForResource",
            ],
            vec![arns.cluster(), arns.task_definitions()],
        ),
        Statement::allow(
            "ManageTaskDefinitions",
            &[
                "ecs:RegisterTaskDefinition",
                "ecs:DeregisterTaskDefinition",
                "ecs:DescribeTaskDefinition",
            ],
            star(),
        ),
        Statement::allow(
            "ManageLogGroups",
            &[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:ListTagsForResource",
                "logs:AssociateKmsKey",
                "logs:DisassociateKmsKey",
            ],
            vec![
                format!("{}:*", arns.task_log_group()),
                format!("{}:*", arns.state_machine_log_group()),
                format!("{}:*", arns.notifier_log_group()),
            ],
        ),
        Statement::allow(
            "ManageTheStateMachine",
            &[
                "states:CreateStateMachine",
                "states:UpdateStateMachine",
                "states:DeleteStateMachine",
                "states:DescribeStateMachine",
                "states:ListStateMachineVersions",
                "states:TagResource",
                "states:UntagResource",
                "states:ListTagsForResource",
            ],
            vec![arns.state_machine()],
        ),
        Statement::allow(
            "ManageTheNotifier",
            &[
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:GetFunction",
                "lambda:GetFunctionCodeSigningConfig",
                "lambda:GetPolicy",
                "lambda:ListVersionsByFunction",
                "lambda:ListTags",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:TagResource",
                "lambda:UntagResource",
            ],
            vec![arns.notifier()],
        ),
        // Security groups: created only with the managed tag, changed only when they carry it, so
        // the deploy role cannot open another group of the account.
        Statement::allow(
            "CreateSecurityGroupsInAVpc",
            &["ec2:CreateSecurityGroup"],
            vec![arns.vpcs()],
        ),
        Statement::allow(
            "CreateOnlyTaggedSecurityGroups",
            &["ec2:CreateSecurityGroup"],
            vec![arns.security_groups()],
        )
        .when(
            ConditionOperator::StringEquals,
            &format!("aws:RequestTag/{MANAGED_TAG_KEY}"),
            vec![managed_tag.clone()],
        ),
        Statement::allow(
            "TagSecurityGroupsWhenCreatingThem",
            &["ec2:CreateTags"],
            vec![arns.security_groups()],
        )
        .when(
            ConditionOperator::StringEquals,
            "ec2:CreateAction",
            strings(&["CreateSecurityGroup"]),
        ),
        Statement::allow(
            "ChangeOnlyTheManagedSecurityGroups",
            &[
                "ec2:DeleteSecurityGroup",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:CreateTags",
                "ec2:DeleteTags",
            ],
            vec![arns.security_groups()],
        )
        .when(
            ConditionOperator::StringEquals,
            &format!("aws:ResourceTag/{MANAGED_TAG_KEY}"),
            vec![managed_tag.clone()],
        ),
        // The managed tag itself stays: a group without it is no longer recognisably ours.
        Statement::deny(
            "KeepTheManagedTag",
            &["ec2:DeleteTags"],
            vec![arns.security_groups()],
        )
        .when(
            ConditionOperator::ForAnyValueStringEquals,
            "aws:TagKeys",
            vec![MANAGED_TAG_KEY.to_owned()],
        ),
        // Creating or updating a state machine with logging configures a log delivery on the
        // caller's behalf; these actions have no resource-level permissions.
        Statement::allow(
            "ConfigureStateMachineLogDelivery",
            &[
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery",
                "logs:UpdateLogDelivery",
                "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries",
                "logs:PutResourcePolicy",
                "logs:DescribeResourcePolicies",
            ],
            star(),
        ),
        Statement::allow(
            "DescribeWhatCannotBeScoped",
            &[
                "logs:DescribeLogGroups",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeVpcs",
                "ec2:DescribeSubnets",
                "ec2:DescribeNetworkInterfaces",
            ],
            star(),
        ),
        Statement::allow(
            "ReadTheDatabaseSecretMetadata",
            &["secretsmanager:DescribeSecret"],
            vec![arns.database_secret()],
        ),
    ]
}
