//! The names, ARNs and paths an environment's configuration implies, each written once here: the
//! generators put them into the committed files and the commands use them at run time, so the
//! two cannot drift apart.
//!
//! - [`Role`]: the roles of the chain, their configured names and how they chain.
//! - [`Arns`]: every ARN (and the image registry) derived from the account, region and names.
//! - the AWS profile names of the role chain ([`profile_backend`] ...), which Terraform's backend
//!   and `cargo xtask aws-profiles` both use;
//! - the paths of the generated files ([`GENERATED_DIR`] ...);
//! - [`execution_timeout`]: how long a migration may run, which the state machine enforces, and
//!   the limits derived from it: how long `cargo xtask migrate` follows it and the job's limit.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::config::{Config, Environment, MigrationSettings, Name};

/// The directory of an environment's generated files, relative to the environment directory.
pub const GENERATED_DIR: &str = "generated";
/// The `local.xtask` object Terraform reads, relative to the environment directory.
pub const LOCALS_FILE: &str = "xtask.generated.tf.json";
/// The partial backend configuration for `terraform init`, relative to the environment directory.
pub const BACKEND_FILE: &str = "generated/backend.tfbackend";
/// The README that marks the generated directory as generated (JSON has no comments).
pub const README_FILE: &str = "generated/README.md";
/// Directory of the policy files, relative to the environment directory.
pub const IAM_DIR: &str = "generated/iam";
/// The file (under [`IAM_DIR`]) of the workload roles' permissions boundary. Terraform reads it
/// with `templatefile` in `bootstrap/`, filling [`NOTIFICATION_SECRET_PLACEHOLDER`].
pub const BOUNDARY_FILE: &str = "workload-boundary.policy.json";
/// The migration state machine's definition, relative to the environment directory.
pub const DEFINITION_FILE: &str = "generated/sfn/migrate.asl.json";

/// The environment's [`BACKEND_FILE`] in the checkout at `config.root`.
pub fn backend_file(config: &Config, environment: &Environment) -> std::path::PathBuf {
    config.root.join(&environment.dir).join(BACKEND_FILE)
}

/// Where `command` (`plan`, `apply`, `drift`) keeps an environment's saved plans and records:
/// `target/xtask/<command>/<env>`, ignored by git with the rest of `target/`.
pub fn work_dir(config: &Config, command: &str, environment: &Environment) -> std::path::PathBuf {
    config
        .root
        .join("target/xtask")
        .join(command)
        .join(&environment.name)
}

/// The AWS profile names of an environment's role chain.
pub fn profile_backend(environment: &Environment) -> String {
    format!("{}-terraform-backend", environment.name)
}

pub fn profile_deploy(environment: &Environment) -> String {
    format!("{}-terraform-deploy", environment.name)
}

pub fn profile_migrate(environment: &Environment) -> String {
    format!("{}-db-migrate", environment.name)
}

/// Time the notifications may take after the task, on top of `migration.timeout`.
const NOTIFICATION_ALLOWANCE: Duration = Duration::from_secs(300);

/// How long an execution may run in all: the task's own limit (`migration.timeout`) plus the
/// notifications. `cargo xtask migrate` follows a little longer than this by default, so the
/// state machine, not our patience, decides how a slow migration ends.
pub fn execution_timeout(migration: &MigrationSettings) -> Duration {
    migration.timeout.0.saturating_add(NOTIFICATION_ALLOWANCE)
}

/// How long `cargo xtask migrate` follows an execution by default: a minute past
/// [`execution_timeout`], so that the state machine, not our patience, decides how a slow
/// migration ends.
pub fn follow_timeout(migration: &MigrationSettings) -> Duration {
    execution_timeout(migration).saturating_add(Duration::from_secs(60))
}

/// The migration job's limit (`timeout-minutes`): `migration.timeout` and half an hour for the
/// image build and push, the notifications and the minute of [`follow_timeout`].
pub fn job_timeout(migration: &MigrationSettings) -> Duration {
    migration
        .timeout
        .0
        .saturating_add(Duration::from_secs(30 * 60))
}

/// The issuer of GitHub Actions OIDC tokens: the IAM OIDC provider and its condition keys.
pub const GITHUB_OIDC_HOST: &str = "token.actions.githubusercontent.com";

/// The notifier's target secret is a Terraform input (not in xtask.toml): the boundary names it by
/// this placeholder, which `bootstrap/` fills from its `notification_secret_name` variable.
pub const NOTIFICATION_SECRET_PLACEHOLDER: &str = "${notification_secret_name}";

/// The tag key on the security groups this tool manages; the deploy role may create only groups
/// that carry it (with [`managed_tag_value`]) and change only groups that do.
pub const MANAGED_TAG_KEY: &str = "xtask-managed-by";

/// The name of the workload roles' permissions boundary (a customer managed policy).
pub fn boundary_policy_name(environment: &Environment) -> String {
    format!("{}-xtask-workload-boundary", environment.name)
}

/// The value of [`MANAGED_TAG_KEY`]: the repository and the environment, so that two repositories
/// (or environments) in one account never reach each other's groups.
pub fn managed_tag_value(config: &Config, environment: &Environment) -> String {
    format!("{}/{}", config.repository(), environment.name)
}

/// The roles of an environment, by the key used in file names and in Terraform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    PullRequestEntry,
    ProtectedEntry,
    ApplyEntry,
    Plan,
    Backend,
    Deploy,
    Migrate,
    StateMachine,
    EcsExecution,
    EcsTask,
    Notifier,
}

impl Role {
    pub const ALL: [Role; 11] = [
        Role::PullRequestEntry,
        Role::ProtectedEntry,
        Role::ApplyEntry,
        Role::Plan,
        Role::Backend,
        Role::Deploy,
        Role::Migrate,
        Role::StateMachine,
        Role::EcsExecution,
        Role::EcsTask,
        Role::Notifier,
    ];

    /// The key used in file names (`plan.trust.json`).
    pub fn key(self) -> &'static str {
        match self {
            Role::PullRequestEntry => "pull-request-entry",
            Role::ProtectedEntry => "protected-entry",
            Role::ApplyEntry => "apply-entry",
            Role::Plan => "plan",
            Role::Backend => "backend",
            Role::Deploy => "deploy",
            Role::Migrate => "migrate",
            Role::StateMachine => "state-machine",
            Role::EcsExecution => "ecs-execution",
            Role::EcsTask => "ecs-task",
            Role::Notifier => "notifier",
        }
    }

    pub fn name(self, environment: &Environment) -> Cow<'_, Name> {
        let roles = &environment.settings.roles;
        Cow::Borrowed(match self {
            Role::PullRequestEntry => &roles.pull_request_entry,
            Role::ProtectedEntry => &roles.protected_entry,
            Role::ApplyEntry => return roles.apply_entry(&environment.name),
            Role::Plan => &roles.plan,
            Role::Backend => &roles.backend,
            Role::Deploy => &roles.deploy,
            Role::Migrate => &roles.migrate,
            Role::StateMachine => &roles.state_machine,
            Role::EcsExecution => &roles.ecs_execution,
            Role::EcsTask => &roles.ecs_task,
            Role::Notifier => &roles.notifier,
        })
    }

    /// The entry role a chained role is assumed from (with an external id) by a generated workflow:
    /// the plan role from pull requests (and the scheduled drift check on the default branch), the
    /// migrate role from the migration's protected environment, the backend and deploy roles from
    /// the apply environment. Each chained role has one entry, so a job that can reach one chain
    /// reaches no other; the administrator also assumes them from `local_principals`
    /// (`cargo xtask aws-profiles --source-profile`).
    pub fn entry(self) -> Option<Role> {
        match self {
            Role::Plan => Some(Role::PullRequestEntry),
            Role::Migrate => Some(Role::ProtectedEntry),
            Role::Backend | Role::Deploy => Some(Role::ApplyEntry),
            _ => None,
        }
    }

    /// The roles of the workload root (`environments/<env>/iam.tf`), which the deploy role manages
    /// and which carry the permissions boundary.
    pub const WORKLOAD: [Role; 4] = [
        Role::StateMachine,
        Role::EcsExecution,
        Role::EcsTask,
        Role::Notifier,
    ];
}

/// The ARNs of an environment's resources (and its image registry), derived from the configuration.
pub struct Arns<'a> {
    environment: &'a Environment,
}

impl<'a> Arns<'a> {
    pub fn new(environment: &'a Environment) -> Arns<'a> {
        Arns { environment }
    }

    /// `arn:aws:<service>:<region>:<account>:<resource>` in the environment's region.
    fn regional(&self, service: &str, resource: impl fmt::Display) -> String {
        let (region, account) = (self.environment.region(), self.environment.account_id());
        format!("arn:aws:{service}:{region}:{account}:{resource}")
    }

    /// `arn:aws:iam::<account>:<resource>`: IAM is global.
    fn iam(&self, resource: impl fmt::Display) -> String {
        format!("arn:aws:iam::{}:{resource}", self.environment.account_id())
    }

    fn migration(&self) -> &MigrationSettings {
        &self.environment.settings.migration
    }

    pub fn role(&self, role: Role) -> String {
        self.iam(format_args!("role/{}", role.name(self.environment)))
    }

    pub fn account_root(&self) -> String {
        self.iam("root")
    }

    pub fn boundary_policy(&self) -> String {
        self.iam(format_args!(
            "policy/{}",
            boundary_policy_name(self.environment)
        ))
    }

    pub fn oidc_provider(&self) -> String {
        self.iam(format_args!("oidc-provider/{GITHUB_OIDC_HOST}"))
    }

    pub fn state_bucket(&self) -> String {
        let terraform = &self.environment.settings.terraform;
        format!("arn:aws:s3:::{}", terraform.state_bucket)
    }

    pub fn state_object(&self) -> String {
        let terraform = &self.environment.settings.terraform;
        format!("{}/{}", self.state_bucket(), terraform.state_key)
    }

    pub fn state_lock(&self) -> String {
        format!("{}.tflock", self.state_object())
    }

    /// The notifier's target secret, named by a placeholder Terraform fills (see
    /// [`NOTIFICATION_SECRET_PLACEHOLDER`]).
    pub fn notification_secret(&self) -> String {
        self.secret(NOTIFICATION_SECRET_PLACEHOLDER)
    }

    pub fn database_secret(&self) -> String {
        self.secret(&self.migration().database_secret)
    }

    /// Secrets Manager appends six random characters to the name in the ARN.
    fn secret(&self, name: &str) -> String {
        self.regional("secretsmanager", format_args!("secret:{name}-??????"))
    }

    pub fn ecr_repository(&self) -> String {
        let repository = &self.migration().ecr_repository;
        self.regional("ecr", format_args!("repository/{repository}"))
    }

    /// The registry of the account and region (a host, not an ARN; derived the same way).
    pub fn ecr_registry(&self) -> String {
        let (region, account) = (self.environment.region(), self.environment.account_id());
        format!("{account}.dkr.ecr.{region}.amazonaws.com")
    }

    /// `<registry>/<repository>`, the migration image's name without tag or digest.
    pub fn ecr_image(&self) -> String {
        let repository = &self.migration().ecr_repository;
        format!("{}/{repository}", self.ecr_registry())
    }

    pub fn cluster(&self) -> String {
        self.regional(
            "ecs",
            format_args!("cluster/{}", self.migration().ecs_cluster),
        )
    }

    pub fn task_definitions(&self) -> String {
        let family = &self.migration().task_family;
        self.regional("ecs", format_args!("task-definition/{family}:*"))
    }

    pub fn tasks(&self) -> String {
        self.regional(
            "ecs",
            format_args!("task/{}/*", self.migration().ecs_cluster),
        )
    }

    /// Anything of ECS in the account and region: what ECS may name as the source when it assumes
    /// a task role.
    pub fn ecs_anything(&self) -> String {
        self.regional("ecs", "*")
    }

    pub fn state_machine(&self) -> String {
        let name = &self.migration().state_machine;
        self.regional("states", format_args!("stateMachine:{name}"))
    }

    pub fn executions(&self) -> String {
        let name = &self.migration().state_machine;
        self.regional("states", format_args!("execution:{name}:*"))
    }

    pub fn log_group(&self, name: &str) -> String {
        self.regional("logs", format_args!("log-group:{name}"))
    }

    pub fn task_log_group(&self) -> String {
        self.log_group(&self.migration().log_group)
    }

    pub fn state_machine_log_group(&self) -> String {
        let name = &self.migration().state_machine;
        self.log_group(&format!("/aws/vendedlogs/states/{name}"))
    }

    pub fn notifier_log_group(&self) -> String {
        let name = &self.migration().notifier_function;
        self.log_group(&format!("/aws/lambda/{name}"))
    }

    pub fn notifier(&self) -> String {
        let name = &self.migration().notifier_function;
        self.regional("lambda", format_args!("function:{name}"))
    }

    pub fn security_groups(&self) -> String {
        self.regional("ec2", "security-group/*")
    }

    pub fn vpcs(&self) -> String {
        self.regional("ec2", "vpc/*")
    }

    pub fn ecs_sync_rule(&self) -> String {
        self.regional("events", "rule/StepFunctionsGetEventsForECSTaskRule")
    }

    /// A Bedrock model in `region` (the review provider's, not necessarily the environment's): the
    /// foundation model and the account's inference profile of that name.
    pub fn bedrock_model(&self, region: &str, model: &str) -> [String; 2] {
        let account = self.environment.account_id();
        [
            format!("arn:aws:bedrock:{region}::foundation-model/{model}"),
            format!("arn:aws:bedrock:{region}:{account}:inference-profile/{model}"),
        ]
    }
}
