//! The GitHub workflows and composite actions.
//!
//! Every job calls `cargo xtask ...` after the shared `setup-xtask` action, so CI runs what
//! developers run. Hardening is structural: top-level `permissions: {}` and a commented grant per
//! job, `persist-credentials: false`, pinned actions, concurrency groups, and no `${{ }}` inside a
//! `run:` script (values reach scripts through `env:`).

mod deliver;

use indexmap::IndexMap;
use serde_saphyr::Commented;

use super::pins::Pins;
use super::{GeneratedFile, to_yaml};
use crate::config::{Config, Environment, LlmProvider};
use crate::models::workflow::{
    Access, ActionInput, Composite, CompositeAction, CompositeRuns, Concurrency,
    IssueCommentActivity, IssueCommentTrigger, Job, MatrixValues, PullRequestActivity,
    PullRequestTrigger, PushTrigger, Scope, Step, Strategy, Triggers, Workflow, WorkflowDispatch,
    permissions,
};
use crate::workflow_files;

const SOURCE: &str = "xtask/src/generate/workflows.rs";
const SETUP_ACTION: &str = "./.github/actions/setup-xtask";
const ROLE_CHAIN_ACTION: &str = "./.github/actions/aws-role-chain";

/// Where a job that holds a secret, an id-token or a write token checks out the pull request's
/// head: data beside the base checkout at the workspace root, never built, and never the
/// directory local actions are resolved from.
const PR_DIR: &str = "pr-head";
/// The base commit of the pull request: the xtask and the local actions of every job on a
/// `pull_request` event come from it, never from the PR's head or GitHub's merge commit.
const BASE_REF: &str = "${{ github.event.pull_request.base.sha }}";
/// The same for a workflow that also runs on `issue_comment`, whose commit is the default
/// branch's.
const BASE_OR_DEFAULT_REF: &str = "${{ github.event.pull_request.base.sha || github.sha }}";
/// The xtask built from the base checkout, for steps whose working directory is the pull
/// request's files (`cargo xtask` there would build the PR's own xtask).
const BASE_XTASK: &str = "\"$GITHUB_WORKSPACE/target/debug/xtask\"";
/// The plan job's record of each environment (see `plan::record`), handed to the comment job.
const RECORD_DIR: &str = "plan-record";

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
    ];
    files.push(yaml_from(
        &workflow_files::path(workflow_files::APPLY),
        &kit.apply_workflow()?,
        deliver::SOURCE,
    )?);
    files.push(yaml_from(
        &workflow_files::path(workflow_files::DRIFT),
        &kit.drift_workflow()?,
        deliver::SOURCE,
    )?);
    for environment in config.environments.values() {
        files.push(yaml(
            &workflow_files::path(&workflow_files::migrate(&environment.name)),
            &kit.migrate_workflow(environment)?,
        )?);
    }
    let zizmor = zizmor_config(config, &files);
    files.push(yaml(".github/zizmor.yml", &zizmor)?);
    Ok(files)
}

/// The secrets that jobs hold outside a GitHub environment (pull-request jobs and the scheduled
/// drift check), by workflow file, with the reason. zizmor's auditor persona (`secrets-outside-env`) flags each; the ignores name the
/// exact lines, so a secret added anywhere else is still reported.
fn pull_request_secrets(config: &Config) -> Vec<(&'static str, String, &'static str)> {
    const LLM: &str = "the LLM key of the pull-request review: an environment would have to admit every pull-request ref, which protects nothing and adds a deployment per run; the job runs only base-commit code (no PR checkout) on same-repository pull requests";
    const PLAN: &str = "the plan role's external id: it only lets the pull-request entry role (reachable by any same-repository PR's OIDC token anyway) assume the read-only plan role; an environment would have to admit every pull-request ref";
    let mut list = Vec::new();
    if let Some(name) = config.repo.review.provider.api_key_env() {
        for file in [workflow_files::REVIEW, workflow_files::PLAN] {
            list.push((file, name.to_string(), LLM));
        }
    }
    // The plan job assumes the plan role; with Bedrock the review job assumes it too (the
    // role chain that may call the model). Only lines that use the secret are listed.
    const DRIFT: &str = "the plan role's external id in the scheduled drift check: a repository secret already (pull-request plan jobs read it), so an environment would protect no value; it only lets the pull-request entry role, which trusts this workflow on the default branch alone, assume the read-only plan role, and required reviewers would stop every nightly run for an approval of a read-only check";
    for environment in config.environments.values() {
        let secret = &environment.settings.github.external_id_secrets.plan;
        for file in [workflow_files::PLAN, workflow_files::REVIEW] {
            list.push((file, secret.to_string(), PLAN));
        }
        list.push((workflow_files::DRIFT, secret.to_string(), DRIFT));
    }
    list
}

/// zizmor's configuration: the places where we knowingly differ from its advice, each with the
/// reason next to it.
fn zizmor_config(config: &Config, files: &[GeneratedFile]) -> ZizmorConfig {
    let mut outside_env = Vec::new();
    for (file, secret, why) in pull_request_secrets(config) {
        let path = workflow_files::path(file);
        let Some(generated) = files
            .iter()
            .find(|f| f.path.as_path() == std::path::Path::new(&path))
        else {
            continue;
        };
        let reference = format!("secrets.{secret} ");
        for (index, line) in generated.contents.lines().enumerate() {
            if line.contains(&reference) {
                outside_env.push(Commented(format!("{file}:{}", index + 1), why.to_owned()));
            }
        }
    }
    ZizmorConfig {
        rules: IndexMap::from([
            (
                "secrets-outside-env".to_owned(),
                ZizmorRule {
                    disable: None,
                    ignore: outside_env,
                },
            ),
            (
                "dangerous-triggers".to_owned(),
                ZizmorRule {
                    disable: None,
                    ignore: vec![Commented(
                        "review.yml".to_owned(),
                        "issue_comment runs only for OWNER/MEMBER/COLLABORATOR comments on pull requests, checks out the default branch (never the PR head), builds the xtask from it and reads the diff through the API".to_owned(),
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
    yaml_from(path, document, SOURCE)
}

/// A YAML file whose header names `source`, the generator module it comes from.
fn yaml_from<T: serde::Serialize>(
    path: &str,
    document: &T,
    source: &str,
) -> anyhow::Result<GeneratedFile> {
    Ok(GeneratedFile::new(path, to_yaml(document, source)?))
}

struct Kit<'a> {
    config: &'a Config,
    pins: &'a Pins,
}

impl Kit<'_> {
    /// The job that lists the affected environments as its `environments` output (a JSON list,
    /// from its step `affected`), which the plan and apply workflows start with.
    fn affected_job(&self) -> Job {
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
        affected
    }

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

    /// The base commit at the workspace root: what the xtask is built from.
    fn checkout_base(&self, reference: &str) -> anyhow::Result<Step> {
        Ok(self
            .checkout(false)?
            .named("Check out the base commit (the xtask is built from it)")
            .input("ref", reference))
    }

    /// The pull request's head in [`PR_DIR`], as data: never built, never run (except by
    /// `terraform plan` in the plan job).
    fn checkout_pr_data(&self, full_history: bool) -> anyhow::Result<Step> {
        Ok(self
            .checkout(full_history)?
            .named("Check out the pull request's head as data (never built)")
            .input("ref", "${{ github.event.pull_request.head.sha }}")
            .input("path", PR_DIR))
    }

    /// The shared set-up; `cache` is `"true"`, `"false"` or an expression. A job that holds a
    /// secret or a write token on a pull request never restores the cargo cache: GitHub looks in
    /// the pull request's own cache scope first, which pull-request code can write.
    fn setup(&self, cache: &str) -> Step {
        Step::local("Set up the xtask", SETUP_ACTION).input("cache", cache)
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
        let inputs = IndexMap::from([(
            "cache".to_owned(),
            ActionInput {
                description: "Restore the cargo cache (\"true\" or \"false\"). Jobs that hold a secret or a write token on a pull request pass \"false\": the pull request's own cache scope, searched first, is writable by pull-request code.".to_owned(),
                required: true,
                default: None,
            },
        )]);
        Ok(CompositeAction {
            name: "Set up the xtask".to_owned(),
            description: "Installs the Rust toolchain pinned in rust-toolchain.toml, restores the cargo cache when asked and builds `cargo xtask` from the checkout at the workspace root (the base commit in pull-request jobs).".to_owned(),
            inputs,
            runs: CompositeRuns {
                using: Composite::Composite,
                steps: vec![
                    // rustup reads rust-toolchain.toml itself: the pin stays in one place and no
                    // third-party action runs with the job's token.
                    Step::run("Install the pinned Rust toolchain", "rustup toolchain install
"),
                    Step::pinned("Restore the cargo cache", self.pins.get("Swatinem/rust-cache")?)
                        .when("inputs.cache == 'true'")
                        // Only main writes the cache, so a pull request cannot poison what
                        // later runs on main restore.
                        .input("save-if", format!("${{{{ github.ref == 'refs/heads/{}' }}}}", self.config.repo.github.default_branch)),
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
        // The one job that builds the pull request's code on purpose (it tests it): it holds a
        // read-only token and no secret.
        job.steps = vec![
            self.checkout(false)?,
            self.setup("true"),
            self.setup_terraform()?,
            Step::run("Run every check (cargo xtask ci)", "cargo xtask ci\n"),
        ];
        Ok(Workflow::new(
            "CI",
            Triggers {
                push: Some(PushTrigger {
                    branches: vec![self.default_branch()],
                    paths: Vec::new(),
                }),
                pull_request: Some(PullRequestTrigger::default()),
                ..Triggers::default()
            },
            Some(Concurrency::cancel_older("ci-${{ github.ref }}")),
            vec![("ci", job)],
        ))
    }

    fn default_branch(&self) -> String {
        self.config.repo.github.default_branch.clone()
    }

    fn terraform_paths(&self) -> Vec<String> {
        let mut paths = vec![
            "environments/**".to_owned(),
            format!("{}/**", self.config.repo.terraform.modules_dir.display()),
        ];
        paths.dedup();
        paths
    }

    /// `terraform fmt` needs no PR code: the base xtask runs terraform's formatter (which parses
    /// HCL and runs no provider) over the PR's files checked out as data.
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
            self.checkout_base(BASE_REF)?,
            // Suggestions carry line numbers of the PR's head, not of GitHub's merge commit.
            self.checkout_pr_data(false)?,
            self.setup("false"),
            self.setup_terraform()?,
            Step::run(
                "Suggest formatting fixes on the pull request",
                &format!("cargo xtask fmt --suggest --pr \"$PR_NUMBER\" --source {PR_DIR}\n"),
            )
            .when(SAME_REPO_PR)
            .env("PR_NUMBER", "${{ github.event.pull_request.number }}")
            .env("GITHUB_TOKEN", "${{ github.token }}"),
            Step::run(
                "Check formatting (fork: no write token for suggestions)",
                &format!("echo \"::notice::Pull request from a fork: the token cannot post review suggestions, so unformatted files are only listed.\"\ncargo xtask fmt --check --source {PR_DIR}\n"),
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
            Some(Concurrency::cancel_older(
                "terraform-fmt-${{ github.event.pull_request.number }}",
            )),
            vec![("fmt", job)],
        ))
    }

    /// The environments matrix of the plan and comment jobs.
    fn environments_matrix() -> Strategy {
        Strategy {
            fail_fast: false,
            matrix: IndexMap::from([(
                "environment".to_owned(),
                MatrixValues::Expression(
                    "${{ fromJSON(needs.affected.outputs.environments) }}".to_owned(),
                ),
            )]),
        }
    }

    /// Every pull request: affected environments, `terraform plan` of each (the one job where PR
    /// code runs beside an identity: the read-only plan role, no write token, no other secret),
    /// the comment of each (base code, write token, the plan job's record as data), and the one
    /// AI review of the push with the plan summaries (also for PRs that change no Terraform).
    fn plan_workflow(&self) -> anyhow::Result<Workflow> {
        let mut affected = self.affected_job();
        affected.steps = vec![
            self.checkout_base(BASE_REF)?,
            self.checkout_pr_data(true)?,
            self.setup("true"),
            // The PR's configuration decides which environments it affects; the base xtask reads it.
            Step::run(
                "List the environments the pull request affects",
                &format!("environments=\"$({BASE_XTASK} affected --base \"$BASE_SHA\")\"\necho \"environments=$environments\" >> \"$GITHUB_OUTPUT\"\necho \"Affected environments: $environments\"\n"),
            )
            .with_id("affected")
            .in_dir(PR_DIR)
            .env("BASE_SHA", "${{ github.event.pull_request.base.sha }}"),
        ];

        let mut plan = self.job(
            "terraform plan (${{ matrix.environment }})",
            permissions(&[
                (Scope::Contents, Access::Read, "read the repository"),
                (
                    Scope::IdToken,
                    Access::Write,
                    "exchange the OIDC token for the pull-request entry role (then the read-only plan role)",
                ),
            ]),
        );
        plan.needs = vec!["affected".to_owned()];
        plan.condition = Some(format!(
            "needs.affected.outputs.environments != '[]' && {SAME_REPO_PR}"
        ));
        plan.strategy = Some(Self::environments_matrix());
        plan.concurrency = Some(Concurrency::cancel_older(
            "terraform-plan-${{ github.event.pull_request.number }}-${{ matrix.environment }}",
        ));
        plan.steps = vec![
            self.checkout_base(BASE_REF)?,
            self.checkout_pr_data(false)?,
            self.setup("true"),
            self.setup_terraform()?,
            // The profiles come from the base configuration: the PR cannot name other roles.
            self.external_id_env(
                self.role_chain("${{ matrix.environment }}", "plan"),
                |e| &e.settings.github.external_id_secrets.plan,
            ),
            // terraform plan runs the PR's code (providers, `external` data sources): this job
            // holds no write token and no secret but the plan role's, and posts nothing. The
            // external ids are in this step's env too (the job holds them anyway, in the AWS
            // config), so that the plan's masks (`env:NAME`) can take them out of the record.
            self.external_id_env(
                Step::run(
                    "terraform plan of the pull request (runs its code; read-only role)",
                    &format!("{BASE_XTASK} plan --env \"$ENVIRONMENT\" --record \"$RUNNER_TEMP/{RECORD_DIR}\"\n"),
                )
                .in_dir(PR_DIR)
                .env("ENVIRONMENT", "${{ matrix.environment }}"),
                |e| &e.settings.github.external_id_secrets.plan,
            ),
            Step::pinned(
                "Hand the plan record to the comment job",
                self.pins.get("actions/upload-artifact")?,
            )
            .when("always()")
            .input("name", "plan-record-${{ matrix.environment }}")
            .input("path", format!("${{{{ runner.temp }}}}/{RECORD_DIR}/"))
            .input("if-no-files-found", "ignore")
            .input("retention-days", "7"),
        ];

        let mut comment = self.job(
            "Plan comment (${{ matrix.environment }})",
            permissions(&[
                (Scope::Contents, Access::Read, "read the repository"),
                (Scope::PullRequests, Access::Write, "post the plan comment"),
                (Scope::Issues, Access::Write, "set the plan labels"),
            ]),
        );
        comment.timeout_minutes = 15;
        comment.needs = vec!["affected".to_owned(), "plan".to_owned()];
        // Also after a failed plan: its record says why, and the comment shows it.
        comment.condition = Some(format!(
            "!cancelled() && needs.affected.result == 'success' && needs.affected.outputs.environments != '[]' && {SAME_REPO_PR}"
        ));
        comment.strategy = Some(Self::environments_matrix());
        comment.steps = vec![
            self.checkout_base(BASE_REF)?,
            self.setup("false"),
            // Untrusted data from the job that ran PR code: outside the workspace, read only by
            // the plan model and rendered by our renderer.
            Step::pinned(
                "Fetch the plan record (data written by the plan job)",
                self.pins.get("actions/download-artifact")?,
            )
            .input("pattern", "plan-record-${{ matrix.environment }}")
            .input("path", format!("${{{{ runner.temp }}}}/{RECORD_DIR}"))
            .input("merge-multiple", "true"),
            Step::run(
                "Post the plan comment",
                &format!("cargo xtask plan --env \"$ENVIRONMENT\" --from-record \"$RUNNER_TEMP/{RECORD_DIR}\" --comment --pr \"$PR_NUMBER\" --summary-json \"plan-summary-$ENVIRONMENT.json\"\n"),
            )
            .env("ENVIRONMENT", "${{ matrix.environment }}")
            .env("PR_NUMBER", "${{ github.event.pull_request.number }}")
            .env("GITHUB_TOKEN", "${{ github.token }}"),
            Step::pinned(
                "Keep the plan summary for the review",
                self.pins.get("actions/upload-artifact")?,
            )
            .when("always()")
            .input("name", "plan-summary-${{ matrix.environment }}")
            .input("path", "plan-summary-${{ matrix.environment }}.json")
            .input("if-no-files-found", "ignore")
            .input("retention-days", "7"),
        ];

        let mut review = self.job(
            "AI review of the push",
            permissions(&self.review_permissions(&[
                (
                    Scope::PullRequests,
                    Access::Write,
                    "update the review comment",
                ),
                (Scope::Issues, Access::Write, "set the review labels"),
            ])),
        );
        review.needs = vec!["affected".to_owned(), "comment".to_owned()];
        // With or without Terraform changes: this is the push's one `review`.
        review.condition = Some(format!(
            "!cancelled() && needs.affected.result == 'success' && !github.event.pull_request.draft && {SAME_REPO_PR}"
        ));
        review.timeout_minutes = 20;
        review.steps = vec![
            self.checkout_base(BASE_REF)?,
            self.setup("false"),
            Step::pinned(
                "Fetch the plan summaries",
                self.pins.get("actions/download-artifact")?,
            )
            .input("pattern", "plan-summary-*")
            .input("path", "${{ runner.temp }}/plan-summaries")
            .input("merge-multiple", "true"),
        ];
        review.steps.extend(self.bedrock_credentials());
        review.steps.push(self.llm_env(
            Step::run(
                "Review the pull request with its plan",
                "summaries=()\nfor file in \"$RUNNER_TEMP\"/plan-summaries/*.json; do\n  [ -e \"$file\" ] && summaries+=(--plan-summary \"$file\")\ndone\ncargo xtask review review --pr \"$PR_NUMBER\" \"${summaries[@]}\"\n",
            )
            .env("PR_NUMBER", "${{ github.event.pull_request.number }}")
            .env("GITHUB_TOKEN", "${{ github.token }}"),
        ));

        Ok(Workflow::new(
            "Terraform plan and AI review",
            Triggers::pull_request(
                &[
                    PullRequestActivity::Opened,
                    PullRequestActivity::Reopened,
                    PullRequestActivity::Synchronize,
                    PullRequestActivity::ReadyForReview,
                ],
                Vec::new(),
            ),
            Some(Concurrency::cancel_older(
                "terraform-plan-${{ github.event.pull_request.number }}",
            )),
            vec![
                ("affected", affected),
                ("plan", plan),
                ("comment", comment),
                ("review", review),
            ],
        ))
    }

    /// `contents: read`, the given grants, and `id-token: write` when the model is Bedrock.
    fn review_permissions<'a>(
        &self,
        grants: &[(Scope, Access, &'a str)],
    ) -> Vec<(Scope, Access, &'a str)> {
        let mut list = vec![(Scope::Contents, Access::Read, "read the repository")];
        list.extend_from_slice(grants);
        if matches!(
            self.config.repo.review.provider,
            LlmProvider::Bedrock { .. }
        ) {
            list.push((
                Scope::IdToken,
                Access::Write,
                "assume the role that may call Bedrock",
            ));
        }
        list
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

    /// describe and improve on every push, and the `/describe`, `/review` (`/review full`),
    /// `/improve` and `/ask` comment commands (`/ask` also as a reply on a diff line). The push's `review` is the plan workflow's (it has the plan summaries).
    fn review_workflow(&self) -> anyhow::Result<Workflow> {
        let mut job = self.job(
            "AI review",
            permissions(&self.review_permissions(&[
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
            ])),
        );
        job.timeout_minutes = 20;
        job.condition = Some(
            "(github.event_name == 'pull_request' && !github.event.pull_request.draft) || (github.event_name == 'issue_comment' && github.event.issue.pull_request && contains(fromJSON('[\"OWNER\", \"MEMBER\", \"COLLABORATOR\"]'), github.event.comment.author_association) && (startsWith(github.event.comment.body, '/describe') || startsWith(github.event.comment.body, '/review') || startsWith(github.event.comment.body, '/improve') || startsWith(github.event.comment.body, '/ask'))) || (github.event_name == 'pull_request_review_comment' && contains(fromJSON('[\"OWNER\", \"MEMBER\", \"COLLABORATOR\"]'), github.event.comment.author_association) && startsWith(github.event.comment.body, '/ask'))".to_owned(),
        );
        // At job level, so that it applies only after the `if`: an unrelated comment starts a run
        // whose job is skipped and cancels nothing. A newer push cancels the older push's run; a
        // comment command gets a group of its own and is never cancelled.
        job.concurrency = Some(Concurrency::cancel_older(format!(
            "review-{PR_NUMBER}-${{{{ github.event.comment.id || 'push' }}}}"
        )));
        // A diff-line comment's run is a pull request's: a fork's gets no secrets, like a push.
        let run_it = format!("github.event_name == 'issue_comment' || {SAME_REPO_PR}");
        job.steps = vec![
            Step::run(
                "Explain why a fork gets no AI review",
                "echo \"::notice::Pull request from a fork: secrets are not available, so the AI review is skipped. A maintainer can comment /review to run it.\"\n",
            )
            .when(&format!("github.event_name == 'pull_request' && {FORK_PR}")),
            Step::run(
                "Pick the review tool",
                "case \"$COMMENT_BODY\" in\n  /describe*) tool=describe ;;\n  \"/review full\"*) tool=review-full ;;\n  /review*) tool=review ;;\n  /improve*) tool=improve ;;\n  /ask*) tool=ask ;;\n  *) tool=push ;;\nesac\necho \"tool=$tool\" >> \"$GITHUB_OUTPUT\"\n",
            )
            .with_id("tool")
            .env("COMMENT_BODY", "${{ github.event.comment.body }}"),
            // The review reads the pull request through the API: no PR checkout at all.
            self.checkout_base(BASE_OR_DEFAULT_REF)?.when(&run_it),
            // A comment runs on the default branch, whose cache scope PR code cannot write.
            self.setup("${{ github.event_name != 'pull_request' }}")
                .when(&run_it),
        ];
        job.steps.extend(
            self.bedrock_credentials()
                .into_iter()
                .map(|step| step.when(&run_it)),
        );
        job.steps.push(
            self.llm_env(
                Step::run(
                    "Review the pull request",
                    "case \"$TOOL\" in\n  push)\n    # The push's review runs in the plan workflow, with the plan summaries.\n    cargo xtask review describe --pr \"$PR_NUMBER\"\n    cargo xtask review improve --pr \"$PR_NUMBER\"\n    ;;\n  review-full) cargo xtask review review --full --pr \"$PR_NUMBER\" ;;\n  ask)\n    # The comment is read from the API by its id: who wrote it and what it asks.\n    if [ \"$EVENT_NAME\" = pull_request_review_comment ]; then\n      cargo xtask review ask --pr \"$PR_NUMBER\" --comment \"$COMMENT_ID\" --on-line\n    else\n      cargo xtask review ask --pr \"$PR_NUMBER\" --comment \"$COMMENT_ID\"\n    fi\n    ;;\n  *) cargo xtask review \"$TOOL\" --pr \"$PR_NUMBER\" ;;\nesac\n",
                )
                .when(&run_it)
                .env("TOOL", "${{ steps.tool.outputs.tool }}")
                .env("EVENT_NAME", "${{ github.event_name }}")
                .env("COMMENT_ID", "${{ github.event.comment.id }}")
                .env("PR_NUMBER", PR_NUMBER)
                .env("GITHUB_TOKEN", "${{ github.token }}"),
            ),
        );
        let on = Triggers {
            issue_comment: Some(IssueCommentTrigger {
                types: vec![IssueCommentActivity::Created],
            }),
            // `/ask` as a reply on a diff line.
            pull_request_review_comment: Some(IssueCommentTrigger {
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
        Ok(Workflow::new("AI review", on, None, vec![("review", job)]))
    }

    fn migrate_workflow(&self, environment: &Environment) -> anyhow::Result<Workflow> {
        let name = &environment.name;
        let branch = self.default_branch();
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
        // The protected role is assumed only from the default branch: a `workflow_dispatch` from
        // another branch skips the job before it names the environment (the environment's branch
        // policy and the role's trust on `job_workflow_ref` refuse it too).
        job.condition = Some(format!(
            "github.ref == 'refs/heads/{branch}' && (github.event_name == 'push' || github.event_name == 'workflow_dispatch')"
        ));
        job.environment = Some(environment.settings.github.environment.to_string());
        let limit = crate::environment::job_timeout(&environment.settings.migration);
        job.timeout_minutes = u32::try_from(limit.as_secs() / 60).unwrap_or(u32::MAX);
        // Only this environment's migrate external id reaches this job.
        let secret = environment
            .settings
            .github
            .external_id_secrets
            .migrate
            .to_string();
        job.steps = vec![
            self.checkout(false)?,
            self.setup("true"),
            self.role_chain(name, "migrate")
                .env(&secret, format!("${{{{ secrets.{secret} }}}}")),
            // The external id again, so that the migration's log redaction knows its value.
            Step::run(
                "Build, push and run the migration",
                &format!("cargo xtask migrate --env {name}\n"),
            )
            .env(&secret, format!("${{{{ secrets.{secret} }}}}")),
        ];
        Ok(Workflow::new(
            &format!("DB migration ({name})"),
            Triggers {
                push: Some(PushTrigger {
                    branches: vec![branch],
                    paths: vec![format!("{}/**", environment.docker_dir().display())],
                }),
                workflow_dispatch: Some(WorkflowDispatch::default()),
                ..Triggers::default()
            },
            // Two migrations of one database must never run at once: queue, never cancel.
            Some(Concurrency::queue(format!("db-migrate-{name}"))),
            vec![("migrate", job)],
        ))
    }
}
