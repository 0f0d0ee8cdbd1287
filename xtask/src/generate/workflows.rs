//! The GitHub workflows and composite actions.
//!
//! Every job calls `cargo xtask ...` after the shared `setup-xtask` action, so CI runs what
//! developers run. Hardening is structural: top-level `permissions: {}` and a commented grant per
//! job, `persist-credentials: false`, pinned actions, concurrency groups, and no `${{ }}` inside a
//! `run:` script (values reach scripts through `env:`).

use indexmap::IndexMap;
use serde_saphyr::Commented;

use super::pins::Pins;
use super::{GeneratedFile, to_yaml};
use crate::config::{Config, Environment, LlmProvider};
use crate::models::workflow::{
    Access, ActionInput, Composite, CompositeAction, CompositeRuns, Concurrency, Empty,
    IssueCommentActivity, IssueCommentTrigger, Job, MatrixValues, PullRequestActivity,
    PullRequestTrigger, PushTrigger, Scope, Step, Strategy, Triggers, Workflow, permissions,
};
use crate::workflow_files;

const SOURCE: &str = "xtask/src/generate/workflows.rs";
const SETUP_ACTION: &str = "./.github/actions/setup-xtask";
const ROLE_CHAIN_ACTION: &str = "./.github/actions/aws-role-chain";

/// The expression for the pull request number on `pull_request` and `issue_comment` events.
const PR_NUMBER: &str = "${{ github.event.pull_request.number || github.event.issue.number }}";
/// True when the pull request comes from this repository (forks get no secrets).
const SAME_REPO_PR: &str = "github.event.pull_request.head.repo.full_name == github.repository";
const FORK_PR: &str = "github.event.pull_request.head.repo.full_name != github.repository";

pub fn generate(config: &Config, pins: &Pins) -> anyhow::Result<Vec<GeneratedFile>> {
    let kit = Kit { config, pins };
    let mut files = vec![
        yaml(
            ".github/actions/setup-xtask/action.yml",
            &kit.setup_action()?,
        )?,
        yaml(
            ".github/actions/aws-role-chain/action.yml",
            &kit.role_chain_action()?,
        )?,
        yaml(
            &workflow_files::path(workflow_files::CI),
            &kit.ci_workflow()?,
        )?,
        yaml(
            &workflow_files::path(workflow_files::FMT),
            &kit.fmt_workflow()?,
        )?,
        yaml(
            &workflow_files::path(workflow_files::PLAN),
            &kit.plan_workflow()?,
        )?,
        yaml(
            &workflow_files::path(workflow_files::REVIEW),
            &kit.review_workflow()?,
        )?,
        yaml(".github/zizmor.yml", &zizmor_config())?,
    ];
    for environment in config.environments.values() {
        files.push(yaml(
            &workflow_files::path(&workflow_files::migrate(&environment.name)),
            &kit.migrate_workflow(environment)?,
        )?);
    }
    Ok(files)
}

/// zizmor's configuration: the two places where we knowingly differ from its advice, each with
/// the reason next to it.
fn zizmor_config() -> ZizmorConfig {
    ZizmorConfig {
        rules: IndexMap::from([
            (
                "dangerous-triggers".to_owned(),
                ZizmorRule {
                    disable: None,
                    ignore: vec![Commented(
                        "review.yml".to_owned(),
                        "issue_comment runs only for OWNER/MEMBER/COLLABORATOR comments on pull requests, checks out the default branch (never the PR head) and reads the diff through the API".to_owned(),
                    )],
                },
            ),
            (
                "self-repository".to_owned(),
                ZizmorRule {
                    disable: Some(Commented(
                        true,
                        "GitHub's workflow parser that CI validates with does not accept the `$/` form; `./` resolves to the same commit".to_owned(),
                    )),
                    ignore: Vec::new(),
                },
            ),
        ]),
    }
}

#[derive(serde::Serialize)]
struct ZizmorConfig {
    rules: IndexMap<String, ZizmorRule>,
}

#[derive(serde::Serialize)]
struct ZizmorRule {
    #[serde(skip_serializing_if = "Option::is_none")]
    disable: Option<Commented<bool>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ignore: Vec<Commented<String>>,
}

fn yaml<T: serde::Serialize>(path: &str, document: &T) -> anyhow::Result<GeneratedFile> {
    Ok(GeneratedFile::new(path, to_yaml(document, SOURCE)?))
}

struct Kit<'a> {
    config: &'a Config,
    pins: &'a Pins,
}

impl Kit<'_> {
    fn runner(&self) -> String {
        self.config.repo.github.runner.clone()
    }

    fn checkout(&self, full_history: bool) -> anyhow::Result<Step> {
        let step = Step::pinned("Check out", self.pins.get("actions/checkout")?)
            .input("persist-credentials", "false");
        Ok(if full_history {
            step.input("fetch-depth", "0")
        } else {
            step
        })
    }

    fn setup(&self) -> Step {
        Step::local("Set up the xtask", SETUP_ACTION)
    }

    fn setup_terraform(&self) -> anyhow::Result<Step> {
        Ok(Step::pinned(
            "Set up Terraform",
            self.pins.get("hashicorp/setup-terraform")?,
        )
        .input(
            "terraform_version",
            self.config.repo.terraform.version.to_string(),
        )
        // The wrapper rewrites terraform's output and exit code; the xtask reads both.
        .input("terraform_wrapper", "false"))
    }

    /// Exposes each environment's external-id secret of `role` under its configured name; the
    /// `aws-profiles` command picks the one of the environment it writes.
    fn external_id_env(
        &self,
        step: Step,
        secret: impl Fn(&Environment) -> &crate::config::SecretName,
    ) -> Step {
        self.config
            .environments
            .values()
            .fold(step, |step, environment| {
                let name = secret(environment).to_string();
                let value = format!("${{{{ secrets.{name} }}}}");
                step.env(&name, value)
            })
    }

    fn role_chain(&self, environment: &str, purpose: &str) -> Step {
        Step::local("Assume the AWS role chain", ROLE_CHAIN_ACTION)
            .input("environment", environment)
            .input("purpose", purpose)
    }

    fn job(&self, name: &str, permissions: crate::models::workflow::Permissions) -> Job {
        Job {
            name: name.to_owned(),
            needs: Vec::new(),
            condition: None,
            runs_on: self.runner(),
            timeout_minutes: 30,
            permissions,
            environment: None,
            concurrency: None,
            strategy: None,
            outputs: IndexMap::new(),
            env: IndexMap::new(),
            steps: Vec::new(),
        }
    }

    fn setup_action(&self) -> anyhow::Result<CompositeAction> {
        Ok(CompositeAction {
            name: "Set up the xtask".to_owned(),
            description: "Installs the Rust toolchain pinned in rust-toolchain.toml, restores the cargo cache and builds `cargo xtask`.".to_owned(),
            inputs: IndexMap::new(),
            runs: CompositeRuns {
                using: Composite::Composite,
                steps: vec![
                    // rustup reads rust-toolchain.toml itself: the pin stays in one place and no
                    // third-party action runs with the job's token.
                    Step::run("Install the pinned Rust toolchain", "rustup toolchain install
"),
                    Step::pinned("Restore the cargo cache", self.pins.get("Swatinem/rust-cache")?)
                        // Only main writes the cache, so a pull request cannot poison what
                        // later runs on main restore.
                        .input("save-if", "${{ github.ref == 'refs/heads/main' }}"),
                    Step::run("Build the xtask", "cargo build --locked --package xtask\n"),
                ],
            },
        })
    }

    fn role_chain_action(&self) -> anyhow::Result<CompositeAction> {
        let mut inputs = IndexMap::new();
        inputs.insert(
            "environment".to_owned(),
            ActionInput {
                description:
                    "The environment whose roles to assume (a directory under environments/)."
                        .to_owned(),
                required: true,
                default: None,
            },
        );
        inputs.insert(
            "purpose".to_owned(),
            ActionInput {
                description: "plan (read-only plan role), deploy (backend and deploy roles) or migrate (migration role).".to_owned(),
                required: true,
                default: None,
            },
        );
        Ok(CompositeAction {
            name: "Assume the AWS role chain".to_owned(),
            description: "Writes the AWS profiles of the environment's chained roles (role_arn, external_id, credential_source = Environment) and exchanges the job's OIDC token for the entry role's credentials. External ids come from the caller's env, never from inputs.".to_owned(),
            inputs,
            runs: CompositeRuns {
                using: Composite::Composite,
                steps: vec![
                    Step::run(
                        "Write the AWS profiles",
                        "cargo xtask aws-profiles --env \"$ENVIRONMENT\" --purpose \"$PURPOSE\" --github-output\n",
                    )
                    .with_id("profiles")
                    .env("ENVIRONMENT", "${{ inputs.environment }}")
                    .env("PURPOSE", "${{ inputs.purpose }}"),
                    Step::pinned(
                        "Assume the entry role with the OIDC token",
                        self.pins.get("aws-actions/configure-aws-credentials")?,
                    )
                    .input("role-to-assume", "${{ steps.profiles.outputs.entry-role-arn }}")
                    .input("aws-region", "${{ steps.profiles.outputs.region }}")
                    .input("role-session-name", "${{ steps.profiles.outputs.session-name }}")
                    .input("mask-aws-account-id", "true"),
                ],
            },
        })
    }

    fn ci_workflow(&self) -> anyhow::Result<Workflow> {
        let mut job = self.job(
            "Checks and tests",
            permissions(&[(Scope::Contents, Access::Read, "read the repository")]),
        );
        job.timeout_minutes = 60;
        job.steps = vec![
            self.checkout(false)?,
            self.setup(),
            self.setup_terraform()?,
            Step::run("Run every check (cargo xtask ci)", "cargo xtask ci\n"),
        ];
        Ok(Workflow::new(
            "CI",
            Triggers {
                push: Some(PushTrigger {
                    branches: vec![self.config.repo.github.default_branch.clone()],
                    paths: Vec::new(),
                }),
                pull_request: Some(PullRequestTrigger::default()),
                ..Triggers::default()
            },
            Concurrency::cancel_older("ci-${{ github.ref }}"),
            vec![("ci", job)],
        ))
    }

    fn terraform_paths(&self) -> Vec<String> {
        let mut paths = vec![
            "environments/**".to_owned(),
            format!("{}/**", self.config.repo.terraform.modules_dir.display()),
        ];
        paths.dedup();
        paths
    }

    fn fmt_workflow(&self) -> anyhow::Result<Workflow> {
        let mut job = self.job(
            "terraform fmt",
            permissions(&[
                (Scope::Contents, Access::Read, "read the repository"),
                (
                    Scope::PullRequests,
                    Access::Write,
                    "post the formatting suggestions as a review",
                ),
            ]),
        );
        job.timeout_minutes = 15;
        job.steps = vec![
            // Suggestions carry line numbers of the PR's head, not of GitHub's merge commit.
            self.checkout(false)?
                .input("ref", "${{ github.event.pull_request.head.sha }}"),
            self.setup(),
            self.setup_terraform()?,
            Step::run(
                "Suggest formatting fixes on the pull request",
                "cargo xtask fmt --suggest --pr \"$PR_NUMBER\"\n",
            )
            .when(SAME_REPO_PR)
            .env("PR_NUMBER", "${{ github.event.pull_request.number }}")
            .env("GITHUB_TOKEN", "${{ github.token }}"),
            Step::run(
                "Check formatting (fork: no write token for suggestions)",
                "echo \"::notice::Pull request from a fork: the token cannot post review suggestions, so unformatted files are only listed.\"\ncargo xtask fmt --check\n",
            )
            .when(FORK_PR),
        ];
        Ok(Workflow::new(
            "Terraform fmt",
            Triggers::pull_request(
                &[
                    PullRequestActivity::Opened,
                    PullRequestActivity::Reopened,
                    PullRequestActivity::Synchronize,
                ],
                self.terraform_paths(),
            ),
            Concurrency::cancel_older("terraform-fmt-${{ github.event.pull_request.number }}"),
            vec![("fmt", job)],
        ))
    }

    fn plan_workflow(&self) -> anyhow::Result<Workflow> {
        let mut affected = self.job(
            "Affected environments",
            permissions(&[(
                Scope::Contents,
                Access::Read,
                "read the repository and its history",
            )]),
        );
        affected.timeout_minutes = 15;
        affected.outputs.insert(
            "environments".to_owned(),
            "${{ steps.affected.outputs.environments }}".to_owned(),
        );
        affected.steps = vec![
            self.checkout(true)?,
            self.setup(),
            Step::run(
                "List the environments the pull request affects",
                "environments=\"$(cargo xtask affected --base \"$BASE_SHA\")\"\necho \"environments=$environments\" >> \"$GITHUB_OUTPUT\"\necho \"Affected environments: $environments\"\n",
            )
            .with_id("affected")
            .env("BASE_SHA", "${{ github.event.pull_request.base.sha }}"),
        ];

        let mut plan = self.job(
            "terraform plan (${{ matrix.environment }})",
            permissions(&[
                (Scope::Contents, Access::Read, "read the repository"),
                (
                    Scope::IdToken,
                    Access::Write,
                    "exchange the OIDC token for the pull-request entry role",
                ),
                (Scope::PullRequests, Access::Write, "post the plan comment"),
                (Scope::Issues, Access::Write, "set the plan labels"),
            ]),
        );
        plan.needs = vec!["affected".to_owned()];
        plan.condition = Some(format!(
            "needs.affected.outputs.environments != '[]' && {SAME_REPO_PR}"
        ));
        plan.strategy = Some(Strategy {
            fail_fast: false,
            matrix: IndexMap::from([(
                "environment".to_owned(),
                MatrixValues::Expression(
                    "${{ fromJSON(needs.affected.outputs.environments) }}".to_owned(),
                ),
            )]),
        });
        plan.concurrency = Some(Concurrency {
            group:
                "terraform-plan-${{ github.event.pull_request.number }}-${{ matrix.environment }}"
                    .to_owned(),
            cancel_in_progress: true,
        });
        plan.steps = vec![
            self.checkout(false)?,
            self.setup(),
            self.setup_terraform()?,
            self.external_id_env(
                self.role_chain("${{ matrix.environment }}", "plan"),
                |e| &e.settings.github.external_id_secrets.plan,
            ),
            Step::run(
                "terraform plan and comment",
                "cargo xtask plan --env \"$ENVIRONMENT\" --comment --pr \"$PR_NUMBER\" --summary-json \"plan-summary-$ENVIRONMENT.json\"\n",
            )
            .env("ENVIRONMENT", "${{ matrix.environment }}")
            .env("PR_NUMBER", "${{ github.event.pull_request.number }}")
            .env("GITHUB_TOKEN", "${{ github.token }}"),
            Step::pinned("Keep the plan summary for the review", self.pins.get("actions/upload-artifact")?)
                .when("always()")
                .input("name", "plan-summary-${{ matrix.environment }}")
                .input("path", "plan-summary-${{ matrix.environment }}.json")
                .input("if-no-files-found", "ignore")
                .input("retention-days", "7"),
        ];

        let mut review = self.job(
            "AI review of the plan",
            permissions(&[
                (Scope::Contents, Access::Read, "read the repository"),
                (
                    Scope::PullRequests,
                    Access::Write,
                    "update the review comment",
                ),
                (Scope::Issues, Access::Write, "set the review labels"),
            ]),
        );
        review.needs = vec!["plan".to_owned()];
        review.condition = Some("always() && needs.plan.result != 'skipped'".to_owned());
        review.timeout_minutes = 20;
        review.steps = vec![
            self.checkout(false)?,
            self.setup(),
            Step::pinned(
                "Fetch the plan summaries",
                self.pins.get("actions/download-artifact")?,
            )
            .input("pattern", "plan-summary-*")
            .input("path", "plan-summaries")
            .input("merge-multiple", "true"),
        ];
        review.steps.extend(self.bedrock_credentials());
        review.steps.push(self.llm_env(
            Step::run(
                "Review the pull request with its plan",
                "summaries=()\nfor file in plan-summaries/*.json; do\n  [ -e \"$file\" ] && summaries+=(--plan-summary \"$file\")\ndone\ncargo xtask review review --pr \"$PR_NUMBER\" \"${summaries[@]}\"\n",
            )
            .env("PR_NUMBER", "${{ github.event.pull_request.number }}")
            .env("GITHUB_TOKEN", "${{ github.token }}"),
        ));

        Ok(Workflow::new(
            "Terraform plan",
            Triggers::pull_request(
                &[
                    PullRequestActivity::Opened,
                    PullRequestActivity::Reopened,
                    PullRequestActivity::Synchronize,
                    PullRequestActivity::ReadyForReview,
                ],
                self.terraform_paths(),
            ),
            Concurrency::cancel_older("terraform-plan-${{ github.event.pull_request.number }}"),
            vec![("affected", affected), ("plan", plan), ("review", review)],
        ))
    }

    /// The LLM key reaches the review step through env, under the name the configuration gives.
    fn llm_env(&self, step: Step) -> Step {
        match self.config.repo.review.provider.api_key_env() {
            Some(name) => {
                let name = name.to_string();
                let value = format!("${{{{ secrets.{name} }}}}");
                step.env(&name, value)
            }
            None => step,
        }
    }

    /// Bedrock is called with AWS credentials: the pull-request entry role of the first environment
    /// (its policy allows `bedrock:InvokeModel` on the configured model only).
    fn bedrock_credentials(&self) -> Vec<Step> {
        match (
            &self.config.repo.review.provider,
            self.config.environments.values().next(),
        ) {
            (LlmProvider::Bedrock { .. }, Some(environment)) => vec![
                self.external_id_env(self.role_chain(&environment.name, "review"), |e| {
                    &e.settings.github.external_id_secrets.plan
                }),
            ],
            _ => Vec::new(),
        }
    }

    fn review_workflow(&self) -> anyhow::Result<Workflow> {
        let mut permissions_list = vec![
            (Scope::Contents, Access::Read, "read the repository"),
            (
                Scope::PullRequests,
                Access::Write,
                "write the description, review comments and suggestions",
            ),
            (
                Scope::Issues,
                Access::Write,
                "set the review labels and answer comment commands",
            ),
        ];
        if matches!(
            self.config.repo.review.provider,
            LlmProvider::Bedrock { .. }
        ) {
            permissions_list.push((
                Scope::IdToken,
                Access::Write,
                "assume the role that may call Bedrock",
            ));
        }
        let mut job = self.job("AI review", permissions(&permissions_list));
        job.timeout_minutes = 20;
        job.condition = Some(
            "(github.event_name == 'pull_request' && !github.event.pull_request.draft) || (github.event_name == 'issue_comment' && github.event.issue.pull_request && contains(fromJSON('[\"OWNER\", \"MEMBER\", \"COLLABORATOR\"]'), github.event.comment.author_association) && (startsWith(github.event.comment.body, '/describe') || startsWith(github.event.comment.body, '/review') || startsWith(github.event.comment.body, '/improve')))".to_owned(),
        );
        job.steps = vec![
            Step::run(
                "Explain why a fork gets no AI review",
                "echo \"::notice::Pull request from a fork: secrets are not available, so the AI review is skipped. A maintainer can comment /review to run it.\"\n",
            )
            .when(&format!("github.event_name == 'pull_request' && {FORK_PR}")),
            Step::run(
                "Pick the review tool",
                "case \"$COMMENT_BODY\" in\n  /describe*) tool=describe ;;\n  /review*) tool=review ;;\n  /improve*) tool=improve ;;\n  *) tool=all ;;\nesac\necho \"tool=$tool\" >> \"$GITHUB_OUTPUT\"\n",
            )
            .with_id("tool")
            .env("COMMENT_BODY", "${{ github.event.comment.body }}"),
            self.checkout(false)?
                .when(&format!("github.event_name == 'issue_comment' || {SAME_REPO_PR}")),
            self.setup()
                .when(&format!("github.event_name == 'issue_comment' || {SAME_REPO_PR}")),
        ];
        job.steps
            .extend(self.bedrock_credentials().into_iter().map(|step| {
                step.when(&format!(
                    "github.event_name == 'issue_comment' || {SAME_REPO_PR}"
                ))
            }));
        job.steps.push(
            self.llm_env(
                Step::run(
                    "Review the pull request",
                    "cargo xtask review \"$TOOL\" --pr \"$PR_NUMBER\"\n",
                )
                .when(&format!(
                    "github.event_name == 'issue_comment' || {SAME_REPO_PR}"
                ))
                .env("TOOL", "${{ steps.tool.outputs.tool }}")
                .env("PR_NUMBER", PR_NUMBER)
                .env("GITHUB_TOKEN", "${{ github.token }}"),
            ),
        );
        let on = Triggers {
            issue_comment: Some(IssueCommentTrigger {
                types: vec![IssueCommentActivity::Created],
            }),
            ..Triggers::pull_request(
                &[
                    PullRequestActivity::Opened,
                    PullRequestActivity::Reopened,
                    PullRequestActivity::ReadyForReview,
                    PullRequestActivity::Synchronize,
                ],
                Vec::new(),
            )
        };
        Ok(Workflow::new(
            "AI review",
            on,
            Concurrency::cancel_older(format!("review-{PR_NUMBER}")),
            vec![("review", job)],
        ))
    }

    fn migrate_workflow(&self, environment: &Environment) -> anyhow::Result<Workflow> {
        let name = &environment.name;
        let mut job = self.job(
            &format!("Migrate the {name} database"),
            permissions(&[
                (Scope::Contents, Access::Read, "read the repository"),
                (
                    Scope::IdToken,
                    Access::Write,
                    "exchange the OIDC token for the protected entry role",
                ),
            ]),
        );
        job.environment = Some(environment.settings.github.environment.to_string());
        let timeout_minutes =
            u32::try_from(environment.settings.migration.timeout.0.as_secs() / 60)
                .unwrap_or(u32::MAX);
        // Build, push and the run itself, plus room for the image build.
        job.timeout_minutes = timeout_minutes.saturating_add(30);
        job.steps = vec![
            self.checkout(false)?,
            self.setup(),
            self.external_id_env(self.role_chain(name, "migrate"), |e| {
                &e.settings.github.external_id_secrets.migrate
            }),
            Step::run(
                "Build, push and run the migration",
                &format!("cargo xtask migrate --env {name}\n"),
            ),
        ];
        Ok(Workflow::new(
            &format!("DB migration ({name})"),
            Triggers {
                push: Some(PushTrigger {
                    branches: vec![self.config.repo.github.default_branch.clone()],
                    paths: vec![format!("{}/**", environment.docker_dir().display())],
                }),
                workflow_dispatch: Some(Empty {}),
                ..Triggers::default()
            },
            // Two migrations of one database must never run at once: queue, never cancel.
            Concurrency::queue(format!("db-migrate-{name}")),
            vec![("migrate", job)],
        ))
    }
}
