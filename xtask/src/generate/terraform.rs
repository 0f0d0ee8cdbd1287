//! The files that hand the configuration to Terraform, so no name or id is typed twice:
//! `xtask.generated.tf.json` (a `local.xtask` object), `generated/backend.tfbackend` (the
//! partial backend configuration for `terraform init`) and a README that marks the folder as
//! generated (JSON has no comments).

use serde_json::json;

use super::{GeneratedFile, HEADER};
use crate::config::{Config, Environment};
use crate::environment::{
    BACKEND_FILE, LOCALS_FILE, MANAGED_TAG_KEY, README_FILE, Role, boundary_policy_name,
    managed_tag_value, profile_backend, profile_deploy,
};

pub fn generate(config: &Config, environment: &Environment) -> anyhow::Result<Vec<GeneratedFile>> {
    Ok(vec![
        GeneratedFile::new(
            environment.dir.join(LOCALS_FILE),
            locals(config, environment)?,
        ),
        GeneratedFile::new(environment.dir.join(BACKEND_FILE), backend(environment)),
        GeneratedFile::new(environment.dir.join(README_FILE), readme(environment)),
    ])
}

fn locals(config: &Config, environment: &Environment) -> anyhow::Result<String> {
    let settings = &environment.settings;
    let migration = &settings.migration;
    let roles: serde_json::Map<String, serde_json::Value> = Role::ALL
        .iter()
        .map(|role| {
            (
                role.key().replace('-', "_"),
                json!(role.name(environment).to_string()),
            )
        })
        .collect();
    let document = json!({
        "//": format!("{HEADER}. Source: environments/{}/xtask.toml and [workspace.metadata.xtask] in Cargo.toml.", environment.name),
        "locals": {
            "xtask": {
                "environment": environment.name,
                "account_id": environment.account_id(),
                "region": environment.region(),
                "github_owner": config.repo.github.owner.to_string(),
                "github_repo": config.repo.github.repo.to_string(),
                "github_environment": settings.github.environment.to_string(),
                "state_bucket": settings.terraform.state_bucket.to_string(),
                "state_key": settings.terraform.state_key,
                "roles": roles,
                "boundary_policy": boundary_policy_name(environment),
                "managed_tag": {
                    "key": MANAGED_TAG_KEY,
                    "value": managed_tag_value(config, environment),
                },
                "ecr_repository": migration.ecr_repository.to_string(),
                "ecs_cluster": migration.ecs_cluster.to_string(),
                "task_family": migration.task_family.to_string(),
                "container_name": migration.container_name.to_string(),
                "state_machine": migration.state_machine.to_string(),
                "log_group": migration.log_group,
                "notifier_function": migration.notifier_function.to_string(),
                "database_secret": migration.database_secret.to_string(),
                "subnets": migration.subnets,
                "security_groups": migration.security_groups,
                "assign_public_ip": migration.assign_public_ip,
                "profiles": {
                    "backend": profile_backend(environment),
                    "deploy": profile_deploy(environment),
                },
            }
        }
    });
    super::to_json(&document)
}

fn backend(environment: &Environment) -> String {
    let terraform = &environment.settings.terraform;
    format!(
        "# {HEADER}.\n# Use: terraform init -backend-config={BACKEND_FILE}\nbucket       = \"{}\"\nkey          = \"{}\"\nregion       = \"{}\"\nprofile      = \"{}\"\nuse_lockfile = true\nencrypt      = true\n",
        terraform.state_bucket,
        terraform.state_key,
        environment.region(),
        profile_backend(environment),
    )
}

fn readme(environment: &Environment) -> String {
    format!(
        "# Generated files of the `{name}` environment\n\n\
         Everything in this folder, and `../{LOCALS_FILE}`, is {HEADER}.\n\
         Change `environments/{name}/xtask.toml` (or the generator in `xtask/src/generate/`) and run\n\
         `cargo xtask gen-workflows`; CI fails when these files differ from the generator's output.\n\n\
         - `iam/<role>.trust.json`, `iam/<role>.policy.json`: the IAM policies of every role. Terraform reads\n  \
         them with `file()`, or `templatefile()` for the chained roles' trust, whose `${{external_id}}` it fills.\n\
         - `iam/workload-boundary.policy.json`: the permissions boundary of the workload roles; `bootstrap/`\n  \
         creates it with `templatefile()`, filling `${{notification_secret_name}}`.\n\
         - `sfn/migrate.asl.json`: the migration state machine (JSONata); Terraform fills\n  \
         `${{migration_security_group_id}}` with the task's security group.\n\
         - `backend.tfbackend`: `terraform init -backend-config={BACKEND_FILE}`.\n",
        name = environment.name
    )
}
