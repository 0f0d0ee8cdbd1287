//! The one typed configuration of the repository.
//!
//! Repo-wide settings live in the workspace manifest under `[workspace.metadata.xtask]`; each
//! environment has its own `environments/<name>/xtask.toml`. Every value is written once: role ARNs,
//! resource ARNs and the names Terraform uses are derived from these files, never typed again.
//!
//! Deserialization is strict (`deny_unknown_fields`, validated newtypes), so a misspelt key, a wrong
//! type or a missing value is reported with the file, the key and the line.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::failure::{Classify, FailureKind, fail};

/// The file, relative to an environment directory, that configures that environment.
pub const ENV_CONFIG_FILE: &str = "xtask.toml";
/// The directory, relative to the repository root, that holds one directory per environment.
pub const ENVIRONMENTS_DIR: &str = "environments";

/// The resolved configuration: the repo-wide settings and every environment.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The repository root (the directory of the workspace `Cargo.toml`).
    #[serde(skip)]
    pub root: PathBuf,
    pub repo: RepoSettings,
    pub environments: BTreeMap<String, Environment>,
}

/// `[workspace.metadata.xtask]` in the workspace `Cargo.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RepoSettings {
    pub github: GitHubSettings,
    pub terraform: TerraformSettings,
    pub review: ReviewSettings,
    #[serde(default)]
    pub plan: PlanSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitHubSettings {
    pub owner: Name,
    pub repo: Name,
    /// The branch migrations run from and pull requests target.
    #[serde(default = "default_branch")]
    pub default_branch: String,
    /// The `runs-on` label of every generated job.
    #[serde(default = "default_runner")]
    pub runner: String,
    /// The login the tool posts as; only its comments are ever treated as the tool's.
    /// `github-actions[bot]` for a workflow's `GITHUB_TOKEN`; `<app-slug>[bot]` for a GitHub App.
    #[serde(default = "default_bot_login")]
    pub bot_login: String,
}

fn default_bot_login() -> String {
    crate::github::DEFAULT_BOT_LOGIN.to_owned()
}

fn default_branch() -> String {
    "main".to_owned()
}

fn default_runner() -> String {
    "ubuntu-24.04".to_owned()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TerraformSettings {
    /// The Terraform version CI installs (and `required_version` should accept).
    pub version: Version,
    /// Local modules shared by environments, relative to the repository root.
    #[serde(default = "default_modules_dir")]
    pub modules_dir: PathBuf,
}

fn default_modules_dir() -> PathBuf {
    PathBuf::from("modules")
}

/// Settings of `cargo xtask plan`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSettings {
    /// Values masked in every comment and log besides Terraform's own sensitive values: a literal,
    /// `env:NAME` (the value of an environment variable) or `regex:PATTERN`.
    #[serde(default)]
    pub masks: Vec<String>,
}

/// One entry of `plan.masks`, parsed: the one reader of the `env:`/`regex:` syntax (the loader
/// validates with it, the plan's masker and the job-secret list use it).
#[derive(Debug, Clone)]
pub enum MaskSpec {
    Literal(String),
    /// The value of this environment variable.
    Env(String),
    Regex(regex::Regex),
}

impl MaskSpec {
    /// Parses one mask; the error says what is wrong with it.
    pub fn parse(mask: &str) -> Result<MaskSpec, String> {
        if let Some(pattern) = mask.strip_prefix("regex:") {
            regex::Regex::new(pattern)
                .map(MaskSpec::Regex)
                .map_err(|error| format!("`{mask}` is not a valid regular expression: {error}"))
        } else if let Some(name) = mask.strip_prefix("env:") {
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                Err(format!(
                    "`{mask}` does not name an environment variable (env:NAME)"
                ))
            } else {
                Ok(MaskSpec::Env(name.to_owned()))
            }
        } else {
            Ok(MaskSpec::Literal(mask.to_owned()))
        }
    }
}

/// Settings of `cargo xtask review`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewSettings {
    pub provider: LlmProvider,
    /// The model (or deployment-backed model name) asked first.
    pub model: String,
    /// Models tried in order when the first one is unavailable.
    #[serde(default)]
    pub fallback_models: Vec<String>,
    /// The language of the review text and of our own headings, as a BCP 47 tag (`en-US`, `ja-JP`).
    #[serde(default = "default_language")]
    pub language: String,
    /// Prompt budget in tokens, the output reserve included.
    #[serde(default = "default_token_budget")]
    pub token_budget: u32,
    /// Tokens kept free for the model's answer.
    #[serde(default = "default_output_reserve")]
    pub output_reserve: u32,
    #[serde(default = "default_max_findings")]
    pub max_findings: u32,
    #[serde(default = "default_max_suggestions")]
    pub max_suggestions: u32,
    /// Per-request timeout.
    #[serde(default = "default_request_timeout")]
    pub request_timeout: HumanDuration,
}

fn default_language() -> String {
    "en-US".to_owned()
}
fn default_token_budget() -> u32 {
    32_000
}
fn default_output_reserve() -> u32 {
    4_000
}
fn default_max_findings() -> u32 {
    5
}
fn default_max_suggestions() -> u32 {
    8
}
fn default_request_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(120))
}

/// Where the review's model runs. Keys are environment variable names (in CI: GitHub secrets
/// exposed under that name), never the keys themselves.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LlmProvider {
    /// api.openai.com, or `base_url` for a proxy.
    Openai {
        #[serde(default = "default_openai_key_env")]
        api_key_env: SecretName,
        #[serde(default)]
        base_url: Option<String>,
    },
    /// An Azure OpenAI resource: `https://<resource>.openai.azure.com`.
    AzureOpenai {
        endpoint: String,
        deployment: String,
        api_version: String,
        #[serde(default = "default_azure_key_env")]
        api_key_env: SecretName,
    },
    /// Amazon Bedrock's Converse API, signed with SigV4 from the ambient AWS credentials.
    Bedrock {
        region: Region,
        #[serde(default)]
        endpoint: Option<String>,
    },
    /// Any server that speaks OpenAI's chat completions (Ollama, vLLM, LM Studio, a gateway).
    OpenaiCompatible {
        base_url: String,
        #[serde(default)]
        api_key_env: Option<SecretName>,
    },
}

fn default_openai_key_env() -> SecretName {
    SecretName("OPENAI_API_KEY".to_owned())
}

fn default_azure_key_env() -> SecretName {
    SecretName("AZURE_OPENAI_API_KEY".to_owned())
}

impl LlmProvider {
    /// The environment variable that holds the provider's key, if it uses one.
    pub fn api_key_env(&self) -> Option<&SecretName> {
        match self {
            LlmProvider::Openai { api_key_env, .. }
            | LlmProvider::AzureOpenai { api_key_env, .. } => Some(api_key_env),
            LlmProvider::OpenaiCompatible { api_key_env, .. } => api_key_env.as_ref(),
            LlmProvider::Bedrock { .. } => None,
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            LlmProvider::Openai { .. } => "OpenAI",
            LlmProvider::AzureOpenai { .. } => "Azure OpenAI",
            LlmProvider::Bedrock { .. } => "Amazon Bedrock",
            LlmProvider::OpenaiCompatible { .. } => "OpenAI-compatible endpoint",
        }
    }
}

/// One environment: `environments/<name>/xtask.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub name: String,
    /// The environment directory, relative to the repository root.
    pub dir: PathBuf,
    #[serde(flatten)]
    pub settings: EnvSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvSettings {
    pub aws: AwsSettings,
    pub github: EnvGitHubSettings,
    pub roles: RoleNames,
    pub terraform: EnvTerraformSettings,
    pub migration: MigrationSettings,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AwsSettings {
    pub account_id: AccountId,
    pub region: Region,
}

/// What the generated workflows need from GitHub for this environment.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvGitHubSettings {
    /// The protected GitHub environment (required reviewers, branch rule) that migrations run in.
    pub environment: Name,
    /// Names of the GitHub secrets holding the external id of each chained role.
    pub external_id_secrets: ExternalIdSecrets,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalIdSecrets {
    pub plan: SecretName,
    pub backend: SecretName,
    pub deploy: SecretName,
    pub migrate: SecretName,
}

/// IAM role names. ARNs are derived from them and the account id.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RoleNames {
    /// OIDC entry role for pull-request workflows (plan, review); it can only reach `plan`.
    pub pull_request_entry: Name,
    /// OIDC entry role for jobs in the protected environment; it can reach `backend`, `deploy`
    /// and `migrate`.
    pub protected_entry: Name,
    /// Read-only Terraform role: reads the state, writes only the state lock, describes resources.
    pub plan: Name,
    /// Terraform state read/write (apply).
    pub backend: Name,
    /// Terraform provider role for apply.
    pub deploy: Name,
    /// Pushes the migration image and starts/follows the state machine.
    pub migrate: Name,
    /// Assumed by Step Functions to run the task and call the notifier.
    pub state_machine: Name,
    /// ECS task execution role: pulls the image, writes logs, reads the database secret.
    pub ecs_execution: Name,
    /// ECS task role: what the migration container itself may call (nothing by default).
    pub ecs_task: Name,
    /// The notification Lambda's execution role.
    pub notifier: Name,
    /// Extra principals (for example an SSO admin role) that may assume the chained roles from a
    /// workstation, with the same external id. Empty by default: only the entry roles may.
    #[serde(default)]
    pub local_principals: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvTerraformSettings {
    /// The Terraform root module, relative to the environment directory.
    #[serde(default = "default_terraform_dir")]
    pub dir: PathBuf,
    pub state_bucket: Name,
    pub state_key: String,
}

fn default_terraform_dir() -> PathBuf {
    PathBuf::from(".")
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MigrationSettings {
    pub ecr_repository: Name,
    pub ecs_cluster: Name,
    pub task_family: Name,
    pub container_name: Name,
    pub state_machine: Name,
    pub log_group: String,
    pub notifier_function: Name,
    /// Secrets Manager secret holding `DATABASE_URL`.
    pub database_secret: Name,
    pub subnets: Vec<String>,
    /// Security groups besides the one Terraform creates for the task.
    #[serde(default)]
    pub security_groups: Vec<String>,
    #[serde(default)]
    pub assign_public_ip: bool,
    /// How long `cargo xtask migrate` follows an execution before giving up.
    #[serde(default = "default_migration_timeout")]
    pub timeout: HumanDuration,
}

fn default_migration_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(30 * 60))
}

impl Config {
    /// Loads the configuration of the repository whose root is `root`.
    pub fn load(root: &Path) -> anyhow::Result<Config> {
        let manifest_path = root.join("Cargo.toml");
        let repo = load_repo_settings(&manifest_path)?;
        let environments = load_environments(root)?;
        check_collisions(root, &environments)?;
        Ok(Config {
            root: root.to_path_buf(),
            repo,
            environments,
        })
    }

    /// Finds the repository root from `start` (the first ancestor whose `Cargo.toml` has
    /// `[workspace.metadata.xtask]`) and loads it.
    pub fn discover(start: &Path) -> anyhow::Result<Config> {
        Config::load(&crate::repo::find_root(start)?)
    }

    pub fn environment(&self, name: &str) -> anyhow::Result<&Environment> {
        self.environments.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.environments.keys().map(String::as_str).collect();
            fail(
                FailureKind::Config,
                format!(
                    "unknown environment `{name}`: there is no {ENVIRONMENTS_DIR}/{name}/{ENV_CONFIG_FILE} (known: {})",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            )
        })
    }

    /// `owner/repo`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.repo.github.owner, self.repo.github.repo)
    }
}

impl Environment {
    /// The Terraform root module, relative to the repository root.
    pub fn terraform_dir(&self) -> PathBuf {
        normalize(&self.dir.join(&self.settings.terraform.dir))
    }

    pub fn account_id(&self) -> &str {
        &self.settings.aws.account_id.0
    }

    pub fn region(&self) -> &str {
        &self.settings.aws.region.0
    }

    pub fn role_arn(&self, role_name: &Name) -> String {
        format!("arn:aws:iam::{}:role/{}", self.account_id(), role_name)
    }

    pub fn state_machine_arn(&self) -> String {
        format!(
            "arn:aws:states:{}:{}:stateMachine:{}",
            self.region(),
            self.account_id(),
            self.settings.migration.state_machine
        )
    }

    pub fn ecr_registry(&self) -> String {
        format!(
            "{}.dkr.ecr.{}.amazonaws.com",
            self.account_id(),
            self.region()
        )
    }

    /// `<registry>/<repository>`, the image name without tag or digest.
    pub fn ecr_image(&self) -> String {
        format!(
            "{}/{}",
            self.ecr_registry(),
            self.settings.migration.ecr_repository
        )
    }

    /// The migration image's build context, relative to the repository root.
    pub fn docker_dir(&self) -> PathBuf {
        self.dir.join("docker")
    }
}

fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

fn load_repo_settings(manifest_path: &Path) -> anyhow::Result<RepoSettings> {
    #[derive(Deserialize)]
    struct Manifest {
        workspace: Option<Workspace>,
    }
    #[derive(Deserialize)]
    struct Workspace {
        metadata: Option<Metadata>,
    }
    #[derive(Deserialize)]
    struct Metadata {
        xtask: Option<RepoSettings>,
    }

    let text = std::fs::read_to_string(manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))
        .classify(FailureKind::Config)?;
    let manifest: Manifest =
        toml::from_str(&text).map_err(|error| config_error(manifest_path, error))?;
    let settings = manifest
        .workspace
        .and_then(|workspace| workspace.metadata)
        .and_then(|metadata| metadata.xtask)
        .ok_or_else(|| {
            fail(
                FailureKind::Config,
                format!(
                    "{}: missing table [workspace.metadata.xtask]",
                    manifest_path.display()
                ),
            )
        })?;
    settings.validate(manifest_path, &text)?;
    Ok(settings)
}

impl RepoSettings {
    /// Checks the values that parse but would break later (a review with no room for a prompt,
    /// a mask that is not a regular expression).
    fn validate(&self, path: &Path, text: &str) -> anyhow::Result<()> {
        const REVIEW: &str = "workspace.metadata.xtask.review";
        const PLAN: &str = "workspace.metadata.xtask.plan";
        let review = &self.review;
        if review.output_reserve >= review.token_budget {
            return Err(value_error(
                path,
                text,
                (REVIEW, "output_reserve"),
                format!(
                    "output_reserve ({}) must be smaller than token_budget ({}): the prompt gets token_budget - output_reserve tokens",
                    review.output_reserve, review.token_budget
                ),
            ));
        }
        if review.output_reserve == 0 {
            return Err(value_error(
                path,
                text,
                (REVIEW, "output_reserve"),
                "output_reserve must leave the model room to answer (more than 0 tokens)",
            ));
        }
        if review.request_timeout.0.is_zero() {
            return Err(value_error(
                path,
                text,
                (REVIEW, "request_timeout"),
                "request_timeout must be longer than 0s",
            ));
        }
        if review.model.trim().is_empty() {
            return Err(value_error(
                path,
                text,
                (REVIEW, "model"),
                "model must name a model",
            ));
        }
        for mask in &self.plan.masks {
            if let Err(why) = MaskSpec::parse(mask) {
                return Err(value_error(
                    path,
                    text,
                    (PLAN, "masks"),
                    format!("masks: {why}"),
                ));
            }
        }
        Ok(())
    }
}

fn load_environments(root: &Path) -> anyhow::Result<BTreeMap<String, Environment>> {
    let environments_dir = root.join(ENVIRONMENTS_DIR);
    let mut environments = BTreeMap::new();
    let entries = match std::fs::read_dir(&environments_dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(environments),
        Err(error) => {
            return Err(anyhow::Error::new(error))
                .with_context(|| format!("listing {}", environments_dir.display()))
                .classify(FailureKind::Config);
        }
    };
    for entry in entries {
        let entry = entry
            .with_context(|| format!("listing {}", environments_dir.display()))
            .classify(FailureKind::Config)?;
        let Some(config_path) = environment_config(&entry.path())? else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        validate_environment_name(&name).map_err(|why| {
            fail(
                FailureKind::Config,
                format!(
                    "{}: invalid environment name: {why}",
                    entry.path().display()
                ),
            )
        })?;
        let text = std::fs::read_to_string(&config_path)
            .with_context(|| format!("reading {}", config_path.display()))
            .classify(FailureKind::Config)?;
        let settings: EnvSettings =
            toml::from_str(&text).map_err(|error| config_error(&config_path, error))?;
        let dir = PathBuf::from(ENVIRONMENTS_DIR).join(&name);
        environments.insert(
            name.clone(),
            Environment {
                name,
                dir,
                settings,
            },
        );
    }
    Ok(environments)
}

/// The config file of `dir` when it is an environment directory: every directory under
/// `environments/` except hidden ones (`.terraform`) is one, and one without a readable
/// `xtask.toml` is an error rather than an environment silently left out.
fn environment_config(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    let hidden = dir
        .file_name()
        .is_some_and(|name| name.to_string_lossy().starts_with('.'));
    let link = std::fs::symlink_metadata(dir).map(|m| m.file_type().is_symlink());
    if hidden || !dir.is_dir() {
        if link.unwrap_or(false) && !dir.exists() {
            return Err(fail(
                FailureKind::Config,
                format!(
                    "{} is a dangling symlink in {ENVIRONMENTS_DIR}/; remove it or point it at an environment directory",
                    dir.display()
                ),
            ));
        }
        // A file such as environments/README.md.
        return Ok(None);
    }
    let config_path = dir.join(ENV_CONFIG_FILE);
    let problem = match std::fs::symlink_metadata(&config_path) {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let near: Vec<String> = std::fs::read_dir(dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("xtask") || name.ends_with(".toml"))
                .collect();
            let hint = if near.is_empty() {
                String::new()
            } else {
                format!(" (found {})", near.join(", "))
            };
            format!(
                "{} has no {ENV_CONFIG_FILE}{hint}; every directory under {ENVIRONMENTS_DIR}/ is an environment: add its {ENV_CONFIG_FILE} (cargo xtask new-env) or move the directory out",
                dir.display()
            )
        }
        Err(error) => format!("{}: {error}", config_path.display()),
        Ok(meta) if meta.file_type().is_symlink() && !config_path.exists() => format!(
            "{} is a dangling symlink; point it at the environment's configuration or replace it with the file",
            config_path.display()
        ),
        Ok(_) if config_path.is_dir() => {
            format!("{} is a directory, not a file", config_path.display())
        }
        Ok(_) => return Ok(Some(config_path)),
    };
    Err(fail(FailureKind::Config, problem))
}

/// Values that name one thing outside the repository (a state object, an IAM role, a state
/// machine, a GitHub environment) and so must differ between environments: a copied
/// environment directory would otherwise plan and migrate against the original's resources.
fn check_collisions(
    root: &Path,
    environments: &BTreeMap<String, Environment>,
) -> anyhow::Result<()> {
    // (what is claimed, in which scope) -> (environment, key, table, field)
    let mut claimed: BTreeMap<(String, String), (&str, String, &str, &str)> = BTreeMap::new();
    let mut problems = Vec::new();
    let mut texts: BTreeMap<&str, String> = BTreeMap::new();
    for environment in environments.values() {
        let env = environment.name.as_str();
        let settings = &environment.settings;
        let account = environment.account_id();
        let region = environment.region();
        let mut claims: Vec<(String, String, String, &str, &str)> = vec![(
            format!(
                "s3://{}/{}",
                settings.terraform.state_bucket, settings.terraform.state_key
            ),
            "state".to_owned(),
            "terraform.state_bucket + terraform.state_key".to_owned(),
            "terraform",
            "state_key",
        )];
        let roles = &settings.roles;
        for (field, name) in [
            ("pull_request_entry", &roles.pull_request_entry),
            ("protected_entry", &roles.protected_entry),
            ("plan", &roles.plan),
            ("backend", &roles.backend),
            ("deploy", &roles.deploy),
            ("migrate", &roles.migrate),
            ("state_machine", &roles.state_machine),
            ("ecs_execution", &roles.ecs_execution),
            ("ecs_task", &roles.ecs_task),
            ("notifier", &roles.notifier),
        ] {
            claims.push((
                name.to_string(),
                format!("IAM roles of account {account}"),
                format!("roles.{field}"),
                "roles",
                field,
            ));
        }
        let migration = &settings.migration;
        for (field, name) in [
            ("ecr_repository", migration.ecr_repository.to_string()),
            ("ecs_cluster", migration.ecs_cluster.to_string()),
            ("task_family", migration.task_family.to_string()),
            ("state_machine", migration.state_machine.to_string()),
            ("log_group", migration.log_group.clone()),
            ("notifier_function", migration.notifier_function.to_string()),
            ("database_secret", migration.database_secret.to_string()),
        ] {
            claims.push((
                name,
                format!("migration.{field} in {account}/{region}"),
                format!("migration.{field}"),
                "migration",
                field,
            ));
        }
        claims.push((
            settings.github.environment.to_string(),
            "GitHub environments".to_owned(),
            "github.environment".to_owned(),
            "github",
            "environment",
        ));
        claims.push((
            settings.github.external_id_secrets.plan.to_string(),
            "repository secrets read by the plan workflow".to_owned(),
            "github.external_id_secrets.plan".to_owned(),
            "github.external_id_secrets",
            "plan",
        ));
        for (value, scope, key, table, field) in claims {
            match claimed.get(&(value.clone(), scope.clone())) {
                Some((other, other_key, other_table, other_field)) => {
                    let file = |name: &str| {
                        PathBuf::from(ENVIRONMENTS_DIR)
                            .join(name)
                            .join(ENV_CONFIG_FILE)
                    };
                    let here = line_for(root, &mut texts, env, table, field);
                    let there = line_for(root, &mut texts, other, other_table, other_field);
                    problems.push(if *other == env {
                        format!(
                            "environment `{env}` uses `{value}` for both {other_key} ({}{there}) and {key} ({}{here})",
                            file(other).display(),
                            file(env).display(),
                        )
                    } else {
                        format!(
                            "environments `{other}` and `{env}` share {key} = `{value}` ({}{there}, {}{here})",
                            file(other).display(),
                            file(env).display(),
                        )
                    });
                }
                None => {
                    claimed.insert((value, scope), (env, key, table, field));
                }
            }
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(fail(
        FailureKind::Config,
        format!(
            "environments must not share what names one thing in AWS or GitHub (a copied environment directory plans and migrates against the original's state and resources); change these values:\n  {}",
            problems.join("\n  ")
        ),
    ))
}

/// ` line N` of `table.field` in an environment's config file, or nothing when not found.
fn line_for<'a>(
    root: &Path,
    texts: &mut BTreeMap<&'a str, String>,
    env: &'a str,
    table: &str,
    field: &str,
) -> String {
    let text = texts.entry(env).or_insert_with(|| {
        let path = root.join(ENVIRONMENTS_DIR).join(env).join(ENV_CONFIG_FILE);
        std::fs::read_to_string(path).unwrap_or_default()
    });
    line_of(text, table, field)
        .map(|n| format!(" line {n}"))
        .unwrap_or_default()
}

/// The 1-based line of `key = ...` in `[table]` of a TOML text (also `key.sub = ...` and a dotted
/// key under the parent table); `None` when it is written some other way.
fn line_of(text: &str, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    let (parent, last) = table.rsplit_once('.').unwrap_or(("", table));
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[') {
            current = header
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or_default()
                .replace(' ', "");
            continue;
        }
        let assigned = |name: &str| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.trim_start().starts_with(['=', '.']))
        };
        if (current == table && assigned(key))
            || (current == parent && assigned(&format!("{last}.{key}")))
        {
            return Some(index + 1);
        }
    }
    None
}

/// A configuration error about one value: the file, the line and the key.
fn value_error(
    path: &Path,
    text: &str,
    (table, key): (&str, &str),
    why: impl fmt::Display,
) -> anyhow::Error {
    let line = line_of(text, table, key)
        .map(|n| format!(" line {n}"))
        .unwrap_or_default();
    fail(
        FailureKind::Config,
        format!(
            "invalid configuration in {}{line}: [{table}] {key}: {why}",
            path.display()
        ),
    )
}

/// Environment names become directory names, GitHub environment names, label prefixes and parts
/// of AWS resource names, so they are kept to what all of those accept.
pub fn validate_environment_name(name: &str) -> Result<(), String> {
    let valid = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` must be 1-32 characters of a-z, 0-9 and '-', start with a letter and not end with '-'"
        ))
    }
}

fn config_error(path: &Path, error: toml::de::Error) -> anyhow::Error {
    fail(
        FailureKind::Config,
        format!("invalid configuration in {}: {error}", path.display()),
    )
}

macro_rules! validated_string {
    ($(#[$meta:meta])* $name:ident, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                let check: fn(&str) -> Result<(), String> = $check;
                check(&value)?;
                Ok($name(value))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
    };
}

validated_string!(
    /// A twelve-digit AWS account id.
    AccountId,
    |value| {
        if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(format!("`{value}` is not an AWS account id (12 digits)"))
        }
    }
);

validated_string!(
    /// An AWS region such as `ap-northeast-1`.
    Region,
    |value| {
        let parts: Vec<&str> = value.split('-').collect();
        let valid = parts.len() >= 3
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
            && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if valid { Ok(()) } else { Err(format!("`{value}` is not an AWS region (like ap-northeast-1)")) }
    }
);

validated_string!(
    /// A resource name: IAM role, bucket, repository, cluster, GitHub owner. Letters, digits and
    /// `-_./+=@`, no spaces.
    Name,
    |value| {
        let valid = !value.is_empty()
            && value.len() <= 128
            && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_./+=@".contains(c));
        if valid { Ok(()) } else { Err(format!("`{value}` is not a valid name (1-128 characters of letters, digits and -_./+=@)")) }
    }
);

validated_string!(
    /// The name of a GitHub secret or environment variable: upper case, digits and `_`.
    SecretName,
    |value| {
        let valid = !value.is_empty()
            && value.starts_with(|c: char| c.is_ascii_uppercase())
            && value.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && !value.starts_with("GITHUB_");
        if valid { Ok(()) } else { Err(format!("`{value}` is not a secret name (A-Z, 0-9 and _, starting with a letter, not GITHUB_)")) }
    }
);

validated_string!(
    /// A dotted version number such as `1.11.4`.
    Version,
    |value| {
        let valid = !value.is_empty()
            && value.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if valid { Ok(()) } else { Err(format!("`{value}` is not a version number like 1.11.4")) }
    }
);

/// A duration written as `90s`, `15m`, `2h` or `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HumanDuration(pub Duration);

impl TryFrom<String> for HumanDuration {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        parse_duration(&value).map(HumanDuration)
    }
}

impl From<HumanDuration> for String {
    fn from(value: HumanDuration) -> String {
        format_duration(value.0)
    }
}

impl std::str::FromStr for HumanDuration {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        parse_duration(value).map(HumanDuration)
    }
}

/// Parses `90s`, `15m`, `2h`, `1h30m`, `500ms`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("`{text}` is not a duration (like 90s, 15m, 1h30m)");
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(invalid());
        }
        let number: u64 = rest[..digits].parse().map_err(|_| invalid())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let part = match unit {
            "ms" => Duration::from_millis(number),
            "s" => Duration::from_secs(number),
            "m" => Duration::from_secs(number.saturating_mul(60)),
            "h" => Duration::from_secs(number.saturating_mul(3600)),
            _ => return Err(invalid()),
        };
        total = total.saturating_add(part);
    }
    Ok(total)
}

/// Formats a duration the way [`parse_duration`] reads it: `1h30m`, `45s`, `0s`.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.subsec_millis();
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    if s > 0 || (out.is_empty() && millis == 0) {
        out.push_str(&format!("{s}s"));
    }
    if millis > 0 {
        out.push_str(&format!("{millis}ms"));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn durations_round_trip() {
        for (text, secs) in [("90s", 90), ("15m", 900), ("1h30m", 5400), ("0s", 0)] {
            let parsed = parse_duration(text).unwrap();
            assert_eq!(parsed, Duration::from_secs(secs));
            assert_eq!(parse_duration(&format_duration(parsed)).unwrap(), parsed);
        }
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("3 days").is_err());
    }

    #[test]
    fn environment_names() {
        assert!(validate_environment_name("dev").is_ok());
        assert!(validate_environment_name("stg-2").is_ok());
        for bad in ["", "Dev", "2dev", "dev-", "dev_x", "a/b"] {
            assert!(validate_environment_name(bad).is_err(), "{bad}");
        }
    }

    /// A repository with the configuration of this one: the manifest's xtask tables and dev.
    /// Shared by the library's unit tests (the integration tests have their own in `tests/support`).
    pub(crate) fn repo() -> tempfile::TempDir {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let temp = tempfile::tempdir().unwrap();
        let manifest = std::fs::read_to_string(source.join("Cargo.toml")).unwrap();
        let metadata = &manifest[manifest.find("[workspace.metadata.xtask").unwrap()..];
        std::fs::write(
            temp.path().join("Cargo.toml"),
            format!("[workspace]\nmembers = []\n\n{metadata}"),
        )
        .unwrap();
        let dev = temp.path().join("environments/dev");
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::copy(
            source.join("environments/dev/xtask.toml"),
            dev.join(ENV_CONFIG_FILE),
        )
        .unwrap();
        temp
    }

    /// The error `Config::load` gives, checked to be a configuration error (exit 2).
    fn load_error(root: &Path) -> String {
        let error = Config::load(root).unwrap_err();
        assert_eq!(
            crate::failure::exit_code_for(&error),
            std::process::ExitCode::from(2),
            "{error:#}"
        );
        format!("{error:#}")
    }

    fn edit(path: &Path, from: &str, to: &str) {
        let text = std::fs::read_to_string(path).unwrap();
        assert!(text.contains(from), "{from} not in {}", path.display());
        std::fs::write(path, text.replacen(from, to, 1)).unwrap();
    }

    #[test]
    fn the_repository_configuration_loads() {
        let repo = repo();
        assert!(Config::load(repo.path()).is_ok());
    }

    #[test]
    fn a_copied_environment_is_refused_naming_both_and_what_they_share() {
        let repo = repo();
        let envs = repo.path().join(ENVIRONMENTS_DIR);
        std::fs::create_dir_all(envs.join("dev2")).unwrap();
        std::fs::copy(envs.join("dev/xtask.toml"), envs.join("dev2/xtask.toml")).unwrap();
        let message = load_error(repo.path());
        for needle in [
            "`dev` and `dev2`",
            "terraform.state_bucket",
            "migration.state_machine",
            "roles.plan",
            "github.environment",
            "environments/dev2/xtask.toml",
        ] {
            assert!(message.contains(needle), "{needle} not in: {message}");
        }
        assert!(message.contains("line "), "{message}");
        // Changing only the state key still leaves the roles and the rest shared.
        edit(
            &envs.join("dev2/xtask.toml"),
            "state_key = \"environments/dev/",
            "state_key = \"environments/dev2/",
        );
        let message = load_error(repo.path());
        assert!(!message.contains("terraform.state_bucket"), "{message}");
        assert!(message.contains("roles.plan"), "{message}");
    }

    #[test]
    fn an_environment_directory_without_a_readable_config_is_an_error() {
        let repo = repo();
        let stg = repo.path().join(ENVIRONMENTS_DIR).join("stg");
        std::fs::create_dir_all(&stg).unwrap();
        std::fs::write(stg.join("xtask.tml"), "").unwrap();
        let message = load_error(repo.path());
        assert!(message.contains("environments/stg"), "{message}");
        assert!(message.contains("xtask.toml"), "{message}");

        std::os::unix::fs::symlink(stg.join("nowhere.toml"), stg.join(ENV_CONFIG_FILE)).unwrap();
        let message = load_error(repo.path());
        assert!(message.contains("environments/stg/xtask.toml"), "{message}");
        assert!(message.contains("symlink"), "{message}");

        std::fs::remove_file(stg.join(ENV_CONFIG_FILE)).unwrap();
        std::fs::create_dir(stg.join(ENV_CONFIG_FILE)).unwrap();
        let message = load_error(repo.path());
        assert!(message.contains("environments/stg/xtask.toml"), "{message}");
        assert!(message.contains("directory"), "{message}");
    }

    #[test]
    fn an_output_reserve_that_leaves_no_prompt_is_an_error() {
        let repo = repo();
        let manifest = repo.path().join("Cargo.toml");
        edit(&manifest, "output_reserve = 4000", "output_reserve = 32000");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let line = text
            .lines()
            .position(|l| l.starts_with("output_reserve"))
            .unwrap()
            + 1;
        let message = load_error(repo.path());
        assert!(message.contains("Cargo.toml"), "{message}");
        assert!(message.contains("output_reserve"), "{message}");
        assert!(message.contains("token_budget"), "{message}");
        assert!(message.contains(&format!("line {line}")), "{message}");
    }

    #[test]
    fn an_invalid_regex_mask_is_an_error_at_load() {
        let repo = repo();
        let manifest = repo.path().join("Cargo.toml");
        edit(
            &manifest,
            "masks = [\"env:DEV_PLAN_EXTERNAL_ID\"]",
            "masks = [\"env:DEV_PLAN_EXTERNAL_ID\", \"regex:AKIA[0-9A-Z{16}\"]",
        );
        let text = std::fs::read_to_string(&manifest).unwrap();
        let line = text.lines().position(|l| l.starts_with("masks")).unwrap() + 1;
        let message = load_error(repo.path());
        assert!(message.contains("Cargo.toml"), "{message}");
        assert!(message.contains("masks"), "{message}");
        assert!(message.contains("regex:AKIA[0-9A-Z{16}"), "{message}");
        assert!(message.contains(&format!("line {line}")), "{message}");
    }
}
