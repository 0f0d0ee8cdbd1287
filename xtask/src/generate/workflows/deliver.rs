//! The workflows that deliver a merged change and watch it afterwards: `terraform-apply.yml` (apply
//! on merge, per environment in the configured order) and `terraform-drift.yml` (the scheduled drift
//! check). Their jobs assume the apply entry role (then backend and deploy) and the pull-request
//! entry role (then the read-only plan role); `generate::iam` trusts exactly their subjects.

use indexmap::IndexMap;

use super::Kit;
use crate::models::workflow::{
    Access, Concurrency, DispatchInput, DispatchInputType, PushTrigger, Schedule, Scope, Step,
    Triggers, Workflow, WorkflowDispatch, permissions,
};

/// Where the generated headers of these workflows point.
pub(super) const SOURCE: &str = "xtask/src/generate/workflows/deliver.rs";

impl Kit<'_> {
    /// The job of the apply and drift workflows that holds a role of one environment runs only on
    /// the default branch: a `workflow_dispatch` from another branch skips it before it names an
    /// environment or asks for a token (the roles' trust pins the default branch too).
    fn on_default_branch(&self) -> String {
        format!("github.ref == 'refs/heads/{}'", self.default_branch())
    }

    /// On a push to the default branch that changes Terraform, and on a maintainer's dispatch for
    /// one environment (with `accept`, the digest of a merged plan that differs from the reviewed
    /// one): `cargo xtask apply` per affected environment, in the configured order, each in its
    /// own apply environment with the deploy role, one at a time per environment.
    pub(super) fn apply_workflow(&self) -> anyhow::Result<Workflow> {
        let order = self.config.apply_order();
        let names: Vec<String> = order.iter().map(|e| e.name.clone()).collect();
        let mut affected = self.affected_job();
        affected.condition = Some(self.on_default_branch());
        // Keyed on the commit: a later push never cancels this one's list.
        affected.concurrency = Some(Concurrency::queue(
            "terraform-apply-affected-${{ github.sha }}",
        ));
        affected.steps = vec![
            self.checkout(true)?,
            self.setup("true"),
            // A dispatch applies the chosen environment only. A push compares with the commit
            // before it (`github.event.before`; its parent when GitHub sends none, as for the
            // branch's first push).
            Step::run(
                "List the environments the pushed commit affects",
                "if [ \"$EVENT_NAME\" = workflow_dispatch ]; then\n  environments=\"$(jq --compact-output --null-input --arg environment \"$DISPATCHED\" '[$environment]')\"\nelse\n  if [ -z \"$BEFORE\" ] || [ \"$BEFORE\" = 0000000000000000000000000000000000000000 ]; then\n    BEFORE=\"$(git rev-parse HEAD~1)\"\n  fi\n  environments=\"$(cargo xtask affected --base \"$BEFORE\")\"\nfi\necho \"environments=$environments\" >> \"$GITHUB_OUTPUT\"\necho \"Affected environments: $environments\"\n",
            )
            .with_id("affected")
            .env("EVENT_NAME", "${{ github.event_name }}")
            .env("DISPATCHED", "${{ inputs.environment }}")
            .env("BEFORE", "${{ github.event.before }}"),
        ];

        let mut jobs = vec![("affected".to_owned(), affected)];
        for (index, environment) in order.iter().enumerate() {
            let name = &environment.name;
            let mut job = self.job(
                &format!("terraform apply ({name})"),
                permissions(&[
                    (Scope::Contents, Access::Read, "read the repository"),
                    (
                        Scope::IdToken,
                        Access::Write,
                        "exchange the OIDC token for the apply entry role (then the backend and deploy roles)",
                    ),
                    (
                        Scope::PullRequests,
                        Access::Write,
                        "write the outcome into the merged pull request's plan comment",
                    ),
                ]),
            );
            job.timeout_minutes = 60;
            // Every earlier environment: a failure anywhere before stops this one, also when the
            // environment right before was skipped (not affected, or stopped itself).
            job.needs = std::iter::once("affected".to_owned())
                .chain(order[..index].iter().map(|e| apply_job_id(&e.name)))
                .collect();
            job.condition = Some(format!(
                "!cancelled() && {} && needs.affected.result == 'success' && !contains(needs.*.result, 'failure') && !contains(needs.*.result, 'cancelled') && contains(fromJSON(needs.affected.outputs.environments), '{name}')",
                self.on_default_branch()
            ));
            job.environment = Some(environment.settings.github.apply_environment().to_string());
            // One apply per environment at a time: a newer run waits, none is cancelled.
            job.concurrency = Some(Concurrency::queue(format!("terraform-apply-{name}")));
            // Only this environment's backend and deploy external ids reach this job.
            let secrets = &environment.settings.github.external_id_secrets;
            let with_ids = |step: Step| {
                [&secrets.backend, &secrets.deploy]
                    .into_iter()
                    .fold(step, |step, secret| {
                        step.env(secret, format!("${{{{ secrets.{secret} }}}}"))
                    })
            };
            let summary = format!("apply-summary-{name}.json");
            job.steps = vec![
                self.checkout(false)?,
                self.setup("true"),
                self.setup_terraform()?,
                with_ids(self.role_chain(name, "deploy")),
                // The external ids again, so that the apply's masks know their values. The
                // commit is GITHUB_SHA; `--accept` only when a dispatch gave a digest, which
                // reaches the script through env and which the command validates.
                with_ids(
                    Step::run(
                        "Apply the reviewed plan of the merged commit",
                        &format!("accept=()\nif [ -n \"$ACCEPT\" ]; then\n  accept=(--accept \"$ACCEPT\")\nfi\ncargo xtask apply --env {name} --summary-json \"$RUNNER_TEMP/{summary}\" \"${{accept[@]}}\"\n"),
                    )
                    .env("ACCEPT", "${{ inputs.accept }}")
                    .env("GITHUB_TOKEN", "${{ github.token }}"),
                ),
                Step::pinned(
                    "Keep the apply summary",
                    self.pins.get("actions/upload-artifact")?,
                )
                .when("always()")
                .input("name", format!("apply-summary-{name}"))
                .input("path", format!("${{{{ runner.temp }}}}/{summary}"))
                .input("if-no-files-found", "ignore")
                .input("retention-days", "30"),
            ];
            jobs.push((apply_job_id(name), job));
        }

        let inputs = IndexMap::from([
            (
                "environment".to_owned(),
                DispatchInput {
                    description: "The environment to apply (only this one).".to_owned(),
                    required: true,
                    kind: DispatchInputType::Choice,
                    default: names.first().cloned(),
                    options: names,
                },
            ),
            (
                "accept".to_owned(),
                DispatchInput {
                    description: "Apply although the merged plan differs from the reviewed one, when its digest is exactly this (sha256:..., as the refusal on the pull request shows it). Empty: apply only the reviewed plan.".to_owned(),
                    required: false,
                    kind: DispatchInputType::String,
                    default: Some(String::new()),
                    options: Vec::new(),
                },
            ),
        ]);
        let mut workflow = Workflow::new(
            "Terraform apply",
            Triggers {
                push: Some(PushTrigger {
                    branches: vec![self.default_branch()],
                    paths: self.terraform_paths(),
                }),
                workflow_dispatch: Some(WorkflowDispatch { inputs }),
                ..Triggers::default()
            },
            None,
            Vec::new(),
        );
        workflow.jobs = jobs.into_iter().collect();
        Ok(workflow)
    }

    /// On the configured schedule and on dispatch (one environment, or all): `cargo xtask drift`
    /// per environment with the read-only plan role, which opens, updates or closes the
    /// environment's drift issue.
    pub(super) fn drift_workflow(&self) -> anyhow::Result<Workflow> {
        let names: Vec<String> = self.config.environments.keys().cloned().collect();
        let mut jobs = Vec::new();
        for environment in self.config.environments.values() {
            let name = &environment.name;
            let mut job = self.job(
                &format!("Drift check ({name})"),
                permissions(&[
                    (Scope::Contents, Access::Read, "read the repository"),
                    (
                        Scope::IdToken,
                        Access::Write,
                        "exchange the OIDC token for the pull-request entry role (then the read-only plan role)",
                    ),
                    (
                        Scope::Issues,
                        Access::Write,
                        "open, update or close the environment's drift issue and its label",
                    ),
                ]),
            );
            job.condition = Some(format!(
                "{} && (github.event_name == 'schedule' || inputs.environment == '{ALL}' || inputs.environment == '{name}')",
                self.on_default_branch()
            ));
            // Two checks of one environment would race on its issue: queue, never cancel.
            job.concurrency = Some(Concurrency::queue(format!("terraform-drift-{name}")));
            let secret = environment
                .settings
                .github
                .external_id_secrets
                .plan
                .to_string();
            let value = format!("${{{{ secrets.{secret} }}}}");
            job.steps = vec![
                self.checkout(false)?,
                self.setup("true"),
                self.setup_terraform()?,
                self.role_chain(name, "plan").env(&secret, value.clone()),
                // The external id again, so that the issue's masks (`env:NAME`) know its value.
                Step::run(
                    "Check for drift and update the drift issue",
                    &format!("cargo xtask drift --env {name}\n"),
                )
                .env(&secret, value)
                .env("GITHUB_TOKEN", "${{ github.token }}"),
            ];
            jobs.push((drift_job_id(name), job));
        }
        let mut options = vec![ALL.to_owned()];
        options.extend(names);
        let inputs = IndexMap::from([(
            "environment".to_owned(),
            DispatchInput {
                description: "The environment to check, or all of them.".to_owned(),
                required: false,
                kind: DispatchInputType::Choice,
                default: Some(ALL.to_owned()),
                options,
            },
        )]);
        let mut workflow = Workflow::new(
            "Terraform drift",
            Triggers {
                schedule: vec![Schedule {
                    cron: self.config.repo.drift.schedule.clone(),
                }],
                workflow_dispatch: Some(WorkflowDispatch { inputs }),
                ..Triggers::default()
            },
            None,
            Vec::new(),
        );
        workflow.jobs = jobs.into_iter().collect();
        Ok(workflow)
    }
}

/// The drift workflow's dispatch choice for every environment (no environment may be named so).
const ALL: &str = crate::config::names::RESERVED_ENVIRONMENT_NAME;

/// The id of an environment's apply job: `apply-<env>`.
fn apply_job_id(environment: &str) -> String {
    format!("apply-{environment}")
}

/// The id of an environment's drift job: `drift-<env>`.
fn drift_job_id(environment: &str) -> String {
    format!("drift-{environment}")
}
