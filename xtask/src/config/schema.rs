//! The shape of the configuration files: `[workspace.metadata.xtask]` in the workspace manifest and
//! `environments/<name>/xtask.toml`, with what each key means and its default.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{AccountId, HumanDuration, Name, Region, SecretName, Version};

/// `[workspace.metadata.xtask]` in the workspace `Cargo.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RepoSettings {
    pub github: GitHubSettings,
    pub terraform: TerraformSettings,
    pub review: ReviewSettings,
    #[serde(default)]
    pub plan: PlanSettings,
    #[serde(default)]
    pub apply: ApplySettings,
    #[serde(default)]
    pub drift: DriftSettings,
}

/// Settings of the generated apply workflow (`cargo xtask apply` on merge).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApplySettings {
    /// The environments in the order a merged commit is applied to them: each one only after the
    /// one before it succeeded (or had nothing to apply) on the same commit. Environments not
    /// listed come after the listed ones, in name order. Validated at load: known names, no repeats.
    #[serde(default)]
    pub order: Vec<String>,
}

/// Settings of the generated drift workflow (`cargo xtask drift`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DriftSettings {
    /// When the scheduled drift check runs: five cron fields, in UTC (GitHub's `schedule`).
    #[serde(default = "default_drift_schedule")]
    pub schedule: String,
}

impl Default for DriftSettings {
    fn default() -> DriftSettings {
        DriftSettings {
            schedule: default_drift_schedule(),
        }
    }
}

fn default_drift_schedule() -> String {
    "23 4 * * *".to_owned()
}

/// Checks a cron expression the way GitHub's `schedule` reads it: five fields (minute, hour, day
/// of month, month, day of week), each `*`, a number in range, a range, a list or a step, or a
/// month or weekday name. The error says which field is wrong.
pub fn validate_cron(expression: &str) -> Result<(), String> {
    const FIELDS: [(&str, u32, u32); 5] = [
        ("minute", 0, 59),
        ("hour", 0, 23),
        ("day of month", 1, 31),
        ("month", 1, 12),
        ("day of week", 0, 6),
    ];
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let fields: Vec<&str> = expression.split_whitespace().collect();
    if fields.len() != FIELDS.len() {
        return Err(format!(
            "`{expression}` has {} fields; a cron schedule has 5 (minute hour day-of-month month day-of-week), for example \"23 4 * * *\"",
            fields.len()
        ));
    }
    for (field, (label, low, high)) in fields.iter().zip(FIELDS) {
        let names: &[&str] = match label {
            "month" => &MONTHS,
            "day of week" => &DAYS,
            _ => &[],
        };
        let value = |text: &str| -> Option<u32> {
            if let Ok(number) = text.parse::<u32>() {
                return (low..=high).contains(&number).then_some(number);
            }
            let lower = text.to_ascii_lowercase();
            let offset = if label == "month" { 1 } else { 0 };
            names
                .iter()
                .position(|name| *name == lower)
                .and_then(|index| u32::try_from(index).ok())
                .map(|index| index + offset)
        };
        let valid = field.split(',').all(|item| {
            let (range, step) = match item.split_once('/') {
                Some((range, step)) => (range, Some(step)),
                None => (item, None),
            };
            let step_ok = step.is_none_or(|step| step.parse::<u32>().is_ok_and(|n| n >= 1));
            let range_ok = range == "*"
                || match range.split_once('-') {
                    Some((from, to)) => {
                        matches!((value(from), value(to)), (Some(from), Some(to)) if from <= to)
                    }
                    None => value(range).is_some(),
                };
            !item.is_empty() && step_ok && range_ok
        });
        if !valid {
            return Err(format!(
                "`{expression}`: the {label} field `{field}` is not valid ({low}-{high}, `*`, a range, a list or a step)"
            ));
        }
    }
    Ok(())
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
    /// Globs of files never sent to the model, listed as ignored. Read from the configuration the
    /// tool runs with, which CI checks out from the base commit (the PR head is only data), so a
    /// pull request cannot widen its own blind spot.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// The repository's own instructions, added to one tool's task.
    #[serde(default)]
    pub extra_instructions: ExtraInstructions,
}

/// `review.extra_instructions`: text added to the task of one tool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExtraInstructions {
    #[serde(default)]
    pub describe: String,
    #[serde(default)]
    pub review: String,
    #[serde(default)]
    pub improve: String,
    /// For the `/ask` comment command.
    #[serde(default)]
    pub ask: String,
}

impl ExtraInstructions {
    /// The text for a tool by its name (`describe`, `review`, `improve`, `ask`).
    pub fn for_tool(&self, tool: &str) -> &str {
        match tool {
            "describe" => &self.describe,
            "review" => &self.review,
            "improve" => &self.improve,
            "ask" => &self.ask,
            _ => "",
        }
    }
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
    /// The protected GitHub environment the apply job runs in, distinct from `environment` so
    /// that the migration job cannot reach the deploy role and the apply job cannot reach migrate.
    /// Default: `<environment>-apply`.
    #[serde(default)]
    pub apply_environment: Option<Name>,
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
    /// OIDC entry role for the migration job in the protected environment; it can reach only
    /// `migrate`.
    pub protected_entry: Name,
    /// OIDC entry role of the apply job in the apply GitHub environment; it can reach only
    /// `backend` and `deploy`. Default: `gha-<env>-apply`.
    #[serde(default)]
    pub apply_entry: Option<Name>,
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

impl EnvGitHubSettings {
    /// The GitHub environment of the apply job: `apply_environment`, or `<environment>-apply`.
    pub fn apply_environment(&self) -> Cow<'_, Name> {
        match &self.apply_environment {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(Name(format!("{}-apply", self.environment))),
        }
    }
}

impl RoleNames {
    /// The apply entry role's name: `apply_entry`, or `gha-<env>-apply`.
    pub fn apply_entry(&self, environment: &str) -> Cow<'_, Name> {
        match &self.apply_entry {
            Some(name) => Cow::Borrowed(name),
            None => Cow::Owned(Name(format!("gha-{environment}-apply"))),
        }
    }
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
