//! Values that two environments must not share, because each names one thing in AWS or GitHub.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::loader::line_of;
use super::{ENV_CONFIG_FILE, ENVIRONMENTS_DIR, Environment};
use crate::failure::{FailureKind, fail};

/// Values that name one thing outside the repository (a state object, an IAM role, a state
/// machine, a GitHub environment) and so must differ between environments: a copied
/// environment directory would otherwise plan and migrate against the original's resources.
pub(super) fn check_collisions(
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
        let apply_entry = roles.apply_entry(env);
        for (field, name) in [
            ("pull_request_entry", &roles.pull_request_entry),
            ("protected_entry", &roles.protected_entry),
            ("apply_entry", &*apply_entry),
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
            settings.github.apply_environment().to_string(),
            "GitHub environments".to_owned(),
            "github.apply_environment".to_owned(),
            "github",
            "apply_environment",
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
