//! The one source of the GitHub OIDC subject (`sub`) format that the IAM trust policies pin and
//! that `cargo xtask` sets on, and checks against, the repository.
//!
//! GitHub's default subject (`repo:OWNER/REPO:environment:NAME`) names the environment but not the
//! workflow or the branch: any job in any workflow, on any branch, that names the environment gets a
//! token with that subject. The repository's OIDC customization template (`PUT
//! /repos/{owner}/{repo}/actions/oidc/customization/sub`) adds `job_workflow_ref`, so the subject
//! also carries `OWNER/REPO/.github/workflows/FILE@REF` and a trust policy can pin the workflow file
//! and the ref it runs from.

/// The claim keys of the repository's subject template, in order. GitHub joins them as
/// `key:value` pairs with `:`, except that `repo` and `context` contribute their own prefixes
/// (`repo:OWNER/REPO`, then `pull_request` or `environment:NAME` ...).
pub const SUBJECT_CLAIM_KEYS: [&str; 3] = ["repo", "context", "job_workflow_ref"];

/// The subject of a job in `workflow_file` (a file name under `.github/workflows/`) triggered by a
/// pull request. The ref is the PR's merge ref, so it is matched with a wildcard (`StringLike`).
pub fn pull_request_subject(repository: &str, workflow_file: &str) -> String {
    format!(
        "repo:{repository}:pull_request:job_workflow_ref:{repository}/.github/workflows/{workflow_file}@refs/pull/*/merge"
    )
}

/// The subject of a job that names the GitHub environment `environment`, in `workflow_file`, run
/// from `branch` (exact; `StringEquals`).
pub fn environment_subject(
    repository: &str,
    environment: &str,
    workflow_file: &str,
    branch: &str,
) -> String {
    format!(
        "repo:{repository}:environment:{environment}:job_workflow_ref:{repository}/.github/workflows/{workflow_file}@refs/heads/{branch}"
    )
}

/// The subject of a job in `workflow_file` run from `branch` outside a pull request and without an
/// environment: a push, `workflow_dispatch`, or an `issue_comment` command (which runs on the
/// default branch). Exact (`StringEquals`, or `StringLike` beside wildcard subjects).
pub fn branch_subject(repository: &str, workflow_file: &str, branch: &str) -> String {
    format!(
        "repo:{repository}:ref:refs/heads/{branch}:job_workflow_ref:{repository}/.github/workflows/{workflow_file}@refs/heads/{branch}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_follow_githubs_template_format() {
        // The format GitHub documents for include_claim_keys = [repo, context, job_workflow_ref].
        assert_eq!(
            environment_subject("octo-org/octo-repo", "prod", "deploy.yml", "main"),
            "repo:octo-org/octo-repo:environment:prod:job_workflow_ref:octo-org/octo-repo/.github/workflows/deploy.yml@refs/heads/main"
        );
        assert_eq!(
            pull_request_subject("o/r", "terraform-plan.yml"),
            "repo:o/r:pull_request:job_workflow_ref:o/r/.github/workflows/terraform-plan.yml@refs/pull/*/merge"
        );
        assert_eq!(
            branch_subject("o/r", "review.yml", "main"),
            "repo:o/r:ref:refs/heads/main:job_workflow_ref:o/r/.github/workflows/review.yml@refs/heads/main"
        );
    }
}
