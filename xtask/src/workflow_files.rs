//! The file names of the generated workflows under `.github/workflows/`, written once: the
//! workflows generator writes these files and the IAM generator pins the entry roles' trust to
//! them (the OIDC subject carries `job_workflow_ref`, see [`crate::oidc`]).

/// This repository's own CI (`cargo xtask ci`).
pub const CI: &str = "ci.yml";
/// `terraform fmt` suggestions on pull requests.
pub const FMT: &str = "terraform-fmt.yml";
/// `terraform plan` of the affected environments on pull requests: the only workflow that assumes
/// the pull-request entry role (and through it the plan role).
pub const PLAN: &str = "terraform-plan.yml";
/// `terraform apply` of a merged commit, per environment in the apply order: the only workflow that
/// assumes the apply entry role (and through it the backend and deploy roles).
pub const APPLY: &str = "terraform-apply.yml";
/// The scheduled drift check: assumes the pull-request entry role from the default branch (and
/// through it only the read-only plan role).
pub const DRIFT: &str = "terraform-drift.yml";
/// The AI review on pull requests and comment commands.
pub const REVIEW: &str = "review.yml";

/// The migration workflow of `environment`: the only workflow that assumes its protected entry
/// role (and through it the migrate role).
pub fn migrate(environment: &str) -> String {
    format!("db-migrate-{environment}.yml")
}

/// The path of a workflow file relative to the repository root.
pub fn path(file: &str) -> String {
    format!(".github/workflows/{file}")
}
