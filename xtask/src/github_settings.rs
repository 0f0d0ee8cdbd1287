//! The repository settings the trust model needs on GitHub, read and written through the REST API:
//! the OIDC subject template (so that the IAM trust can pin the workflow file and its ref, see
//! [`crate::oidc`]) and each protected environment (it exists, deploys only from the default
//! branch, has required reviewers).
//!
//! GitHub creates a missing environment, unprotected, the first time a job names it, so its
//! absence is a finding, not a detail. Request and response shapes follow GitHub's OpenAPI
//! description (`@octokit/openapi`, `api.github.com`): `actions/get-custom-oidc-sub-claim-for-repo`,
//! `actions/set-custom-oidc-sub-claim-for-repo`, `repos/get-environment`,
//! `repos/create-or-update-environment`, `repos/list-deployment-branch-policies`,
//! `repos/create-deployment-branch-policy`, `repos/delete-deployment-branch-policy`.
//!
//! The calls go through [`GitHub::send_repo`] (retries, typed errors with the HTTP status). The
//! octocrab typed calls were not used: its OIDC model cannot be built outside the crate and drops
//! `sub_claim_prefix`, and its environment routes do not encode the environment name.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::Config;
use crate::github::{GitHub, Method, api_status, parse_json};
use crate::oidc::SUBJECT_CLAIM_KEYS;

/// What the configuration asks of the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// `owner/repo`.
    pub repository: String,
    pub default_branch: String,
    /// The GitHub environments the migration and apply jobs name, without repeats.
    pub environments: Vec<String>,
}

impl Expected {
    pub fn from_config(config: &Config) -> Expected {
        let mut environments: Vec<String> = config
            .environments
            .values()
            .flat_map(|e| {
                [
                    e.settings.github.environment.to_string(),
                    e.settings.github.apply_environment().to_string(),
                ]
            })
            .collect();
        environments.sort();
        environments.dedup();
        Expected {
            repository: config.repository(),
            default_branch: config.repo.github.default_branch.clone(),
            environments,
        }
    }

    /// The `sub` prefix the trust policies assume (`repo:OWNER/REPO`).
    fn subject_prefix(&self) -> String {
        format!("repo:{}", self.repository)
    }
}

/// A setting that is missing or differs from what the trust model needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The OIDC subject uses GitHub's default template, or other claim keys.
    OidcTemplate {
        now: String,
    },
    /// The subject starts with something else than `repo:OWNER/REPO` (the immutable,
    /// repository-ID-based format, or a renamed repository).
    SubjectPrefix {
        now: String,
        expected: String,
    },
    EnvironmentMissing {
        environment: String,
    },
    /// Deployments are not limited to the default branch alone.
    BranchPolicy {
        environment: String,
        now: String,
    },
    NoReviewers {
        environment: String,
    },
}

impl Finding {
    /// What fixes it.
    pub fn fix(&self) -> String {
        match self {
            Finding::OidcTemplate { .. }
            | Finding::EnvironmentMissing { .. }
            | Finding::BranchPolicy { .. } => "cargo xtask github-setup".to_owned(),
            Finding::SubjectPrefix { .. } => "opt the repository out of the immutable subject format (Settings > Actions > OIDC), or align [workspace.metadata.xtask.github] owner/repo with the repository".to_owned(),
            Finding::NoReviewers { environment } => format!(
                "add required reviewers: Settings > Environments > {environment} > Required reviewers (the API needs user or team ids, which the configuration does not hold). Where the plan has no required reviewers, run with --accept-no-reviewers: the branch policy and the role trust pinned to the workflow and ref remain"
            ),
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::OidcTemplate { now } => write!(
                f,
                "OIDC subject template: {now}; the trust policies expect include_claim_keys = {SUBJECT_CLAIM_KEYS:?}"
            ),
            Finding::SubjectPrefix { now, expected } => write!(
                f,
                "OIDC subject prefix: `{now}`; the trust policies expect `{expected}`"
            ),
            Finding::EnvironmentMissing { environment } => write!(
                f,
                "environment `{environment}` does not exist (GitHub would create it unprotected on first use)"
            ),
            Finding::BranchPolicy { environment, now } => write!(
                f,
                "environment `{environment}`: deployment branches: {now}; expected the default branch only"
            ),
            Finding::NoReviewers { environment } => {
                write!(f, "environment `{environment}` has no required reviewers")
            }
        }
    }
}

/// `GET/PUT /repos/{owner}/{repo}/actions/oidc/customization/sub`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcSubject {
    pub use_default: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_claim_keys: Option<Vec<String>>,
    /// Only in answers: the subject's current prefix.
    #[serde(default, skip_serializing)]
    pub sub_claim_prefix: Option<String>,
}

/// The parts of `repos/get-environment` we read.
#[derive(Debug, Clone, Deserialize)]
pub struct Environment {
    pub name: String,
    #[serde(default)]
    pub protection_rules: Vec<ProtectionRule>,
    #[serde(default)]
    pub deployment_branch_policy: Option<BranchPolicySettings>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ProtectionRule {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub wait_timer: Option<u64>,
    #[serde(default)]
    pub prevent_self_review: Option<bool>,
    #[serde(default)]
    pub reviewers: Vec<RuleReviewer>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct RuleReviewer {
    /// `User` or `Team`.
    #[serde(rename = "type")]
    pub kind: String,
    pub reviewer: Option<ReviewerId>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ReviewerId {
    pub id: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BranchPolicySettings {
    pub protected_branches: bool,
    pub custom_branch_policies: bool,
}

#[derive(Debug, Clone, Deserialize)]
struct BranchPolicies {
    branch_policies: Vec<BranchPolicy>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct BranchPolicy {
    pub id: u64,
    pub name: String,
    /// `branch` or `tag`; absent on older servers (then a branch).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

impl BranchPolicy {
    fn is_branch(&self, name: &str) -> bool {
        self.name == name && self.kind.as_deref().is_none_or(|kind| kind == "branch")
    }
}

impl Environment {
    fn reviewers(&self) -> Vec<&RuleReviewer> {
        self.protection_rules
            .iter()
            .filter(|rule| rule.kind == "required_reviewers")
            .flat_map(|rule| &rule.reviewers)
            .collect()
    }
}

fn environment_path(name: &str) -> String {
    format!("environments/{}", crate::percent::encode_segment(name))
}

pub async fn oidc_subject(client: &GitHub) -> anyhow::Result<OidcSubject> {
    let operation = "reading the OIDC subject template";
    let body = client
        .send_repo(
            operation,
            Method::Get,
            "actions/oidc/customization/sub",
            None,
        )
        .await?;
    parse_json(operation, &body)
}

pub async fn set_oidc_subject(client: &GitHub) -> anyhow::Result<()> {
    let body = json!({
        "use_default": false,
        "include_claim_keys": SUBJECT_CLAIM_KEYS,
    });
    client
        .send_repo(
            "setting the OIDC subject template",
            Method::Put,
            "actions/oidc/customization/sub",
            Some(&body),
        )
        .await
        .map(drop)
}

/// The environment, or `None` when GitHub answers 404.
pub async fn environment(client: &GitHub, name: &str) -> anyhow::Result<Option<Environment>> {
    let operation = format!("reading environment `{name}`");
    match client
        .send_repo(&operation, Method::Get, &environment_path(name), None)
        .await
    {
        Ok(body) => parse_json(&operation, &body).map(Some),
        Err(error) if api_status(&error) == Some(404) => Ok(None),
        Err(error) => Err(error),
    }
}

pub async fn branch_policies(client: &GitHub, name: &str) -> anyhow::Result<Vec<BranchPolicy>> {
    let operation = format!("listing the deployment branch policies of `{name}`");
    let body = client
        .send_repo(
            &operation,
            Method::Get,
            &format!(
                "{}/deployment-branch-policies?per_page=100",
                environment_path(name)
            ),
            None,
        )
        .await?;
    Ok(parse_json::<BranchPolicies>(&operation, &body)?.branch_policies)
}

/// Reads every setting and returns what is missing; an API error is returned as such (exit 4).
pub async fn check(
    client: &GitHub,
    expected: &Expected,
    accept_no_reviewers: bool,
) -> anyhow::Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let subject = oidc_subject(client).await?;
    let wanted: Vec<String> = SUBJECT_CLAIM_KEYS.iter().map(|k| (*k).to_owned()).collect();
    if subject.use_default || subject.include_claim_keys.as_ref() != Some(&wanted) {
        findings.push(Finding::OidcTemplate {
            now: if subject.use_default {
                "GitHub's default".to_owned()
            } else {
                format!(
                    "include_claim_keys = {:?}",
                    subject.include_claim_keys.unwrap_or_default()
                )
            },
        });
    }
    if let Some(prefix) = subject.sub_claim_prefix
        && prefix != expected.subject_prefix()
    {
        findings.push(Finding::SubjectPrefix {
            now: prefix,
            expected: expected.subject_prefix(),
        });
    }
    for name in &expected.environments {
        let Some(environment) = environment(client, name).await? else {
            findings.push(Finding::EnvironmentMissing {
                environment: name.clone(),
            });
            continue;
        };
        let now = match environment.deployment_branch_policy {
            None => Some("any branch".to_owned()),
            Some(settings) if settings.protected_branches => {
                Some("every protected branch".to_owned())
            }
            Some(settings) if settings.custom_branch_policies => {
                let policies = branch_policies(client, name).await?;
                let only_default = policies.len() == 1
                    && policies
                        .iter()
                        .all(|policy| policy.is_branch(&expected.default_branch));
                (!only_default).then(|| {
                    let names: Vec<String> = policies
                        .iter()
                        .map(|p| format!("{} ({})", p.name, p.kind.as_deref().unwrap_or("branch")))
                        .collect();
                    if names.is_empty() {
                        "custom, with no pattern".to_owned()
                    } else {
                        format!("custom: {}", names.join(", "))
                    }
                })
            }
            Some(_) => Some("none selected".to_owned()),
        };
        if let Some(now) = now {
            findings.push(Finding::BranchPolicy {
                environment: name.clone(),
                now,
            });
        }
        if environment.reviewers().is_empty() && !accept_no_reviewers {
            findings.push(Finding::NoReviewers {
                environment: name.clone(),
            });
        }
    }
    Ok(findings)
}

/// Sets the OIDC template and makes each environment deploy from the default branch only,
/// keeping its reviewers, wait timer and self-review setting. Returns what it did, line by line.
pub async fn apply(client: &GitHub, expected: &Expected) -> anyhow::Result<Vec<String>> {
    let mut done = Vec::new();
    set_oidc_subject(client).await?;
    done.push(format!(
        "OIDC subject template: include_claim_keys = {SUBJECT_CLAIM_KEYS:?}"
    ));
    for name in &expected.environments {
        let existing = environment(client, name).await?;
        let mut body = json!({
            "deployment_branch_policy": BranchPolicySettings {
                protected_branches: false,
                custom_branch_policies: true,
            },
        });
        if let Some(environment) = &existing {
            // A PUT replaces the protection rules: send back the ones already there.
            let reviewers: Vec<serde_json::Value> = environment
                .reviewers()
                .iter()
                .filter_map(|r| {
                    r.reviewer
                        .as_ref()
                        .map(|id| json!({"type": r.kind, "id": id.id}))
                })
                .collect();
            if !reviewers.is_empty() {
                body["reviewers"] = json!(reviewers);
            }
            for rule in &environment.protection_rules {
                if let Some(wait) = rule.wait_timer {
                    body["wait_timer"] = json!(wait);
                }
                if let Some(prevent) = rule.prevent_self_review {
                    body["prevent_self_review"] = json!(prevent);
                }
            }
        }
        client
            .send_repo(
                &format!("creating or updating environment `{name}`"),
                Method::Put,
                &environment_path(name),
                Some(&body),
            )
            .await?;
        done.push(format!(
            "environment `{name}`: {}, deployments from custom branch policies",
            if existing.is_some() {
                "updated"
            } else {
                "created"
            }
        ));
        let policies = branch_policies(client, name).await?;
        for policy in &policies {
            if !policy.is_branch(&expected.default_branch) {
                client
                    .send_repo(
                        &format!("deleting branch policy `{}` of `{name}`", policy.name),
                        Method::Delete,
                        &format!(
                            "{}/deployment-branch-policies/{}",
                            environment_path(name),
                            policy.id
                        ),
                        None,
                    )
                    .await?;
                done.push(format!(
                    "environment `{name}`: removed the deployment pattern `{}`",
                    policy.name
                ));
            }
        }
        if !policies
            .iter()
            .any(|policy| policy.is_branch(&expected.default_branch))
        {
            client
                .send_repo(
                    &format!(
                        "allowing `{}` to deploy to `{name}`",
                        expected.default_branch
                    ),
                    Method::Post,
                    &format!("{}/deployment-branch-policies", environment_path(name)),
                    Some(&json!({"name": expected.default_branch, "type": "branch"})),
                )
                .await?;
            done.push(format!(
                "environment `{name}`: only `{}` may deploy",
                expected.default_branch
            ));
        }
    }
    Ok(done)
}
