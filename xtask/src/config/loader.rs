//! Finding, reading and validating the configuration files; every error names the file, the key
//! and, where it can be found, the line.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use super::collisions::check_collisions;
use super::{
    Config, ENV_CONFIG_FILE, ENVIRONMENTS_DIR, EnvSettings, Environment, MaskSpec, RepoSettings,
    validate_environment_name,
};
use crate::failure::{Classify, FailureKind, fail};

impl Config {
    /// Loads the configuration of the repository whose root is `root`.
    pub fn load(root: &Path) -> anyhow::Result<Config> {
        let manifest_path = root.join("Cargo.toml");
        let (repo, manifest_text) = load_repo_settings(&manifest_path)?;
        let environments = load_environments(root)?;
        check_collisions(root, &environments)?;
        check_apply_order(&repo, &environments, &manifest_path, &manifest_text)?;
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
}

/// The manifest's settings and its text (for the line of a value found wrong later).
fn load_repo_settings(manifest_path: &Path) -> anyhow::Result<(RepoSettings, String)> {
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
    Ok((settings, text))
}

/// `apply.order` names known environments, each once.
fn check_apply_order(
    repo: &RepoSettings,
    environments: &BTreeMap<String, Environment>,
    path: &Path,
    text: &str,
) -> anyhow::Result<()> {
    let field = ("workspace.metadata.xtask.apply", "order");
    let mut seen = std::collections::BTreeSet::new();
    for name in &repo.apply.order {
        if !environments.contains_key(name) {
            let known: Vec<&str> = environments.keys().map(String::as_str).collect();
            return Err(value_error(
                path,
                text,
                field,
                format!(
                    "`{name}` is not an environment (known: {}); list only directories under {ENVIRONMENTS_DIR}/ that have an {ENV_CONFIG_FILE}",
                    if known.is_empty() {
                        "none".to_owned()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
        if !seen.insert(name.as_str()) {
            return Err(value_error(
                path,
                text,
                field,
                format!("`{name}` is listed twice; list each environment once"),
            ));
        }
    }
    Ok(())
}

impl RepoSettings {
    /// Checks the values that parse but would break later (a review with no room for a prompt,
    /// a mask that is not a regular expression).
    fn validate(&self, path: &Path, text: &str) -> anyhow::Result<()> {
        let review = &self.review;
        let invalid = |table: &str, key: &str, why: String| {
            let table = format!("workspace.metadata.xtask.{table}");
            Err(value_error(path, text, (&table, key), why))
        };
        if review.output_reserve >= review.token_budget {
            return invalid(
                "review",
                "output_reserve",
                format!(
                    "output_reserve ({}) must be smaller than token_budget ({}): the prompt gets token_budget - output_reserve tokens",
                    review.output_reserve, review.token_budget
                ),
            );
        }
        if review.output_reserve == 0 {
            let why = "output_reserve must leave the model room to answer (more than 0 tokens)";
            return invalid("review", "output_reserve", why.to_owned());
        }
        if review.request_timeout.0.is_zero() {
            let why = "request_timeout must be longer than 0s";
            return invalid("review", "request_timeout", why.to_owned());
        }
        if review.model.trim().is_empty() {
            return invalid("review", "model", "model must name a model".to_owned());
        }
        if let Err(why) = crate::review::compress::IgnoreGlobs::new(&review.ignore) {
            return invalid("review", "ignore", why);
        }
        if let Err(why) = super::validate_cron(&self.drift.schedule) {
            return invalid("drift", "schedule", format!("schedule: {why}"));
        }
        for mask in &self.plan.masks {
            if let Err(why) = MaskSpec::parse(mask) {
                return invalid("plan", "masks", format!("masks: {why}"));
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

/// The 1-based line of `key = ...` in `[table]` of a TOML text (also `key.sub = ...` and a dotted
/// key under the parent table); `None` when it is written some other way.
pub(super) fn line_of(text: &str, table: &str, key: &str) -> Option<usize> {
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

fn config_error(path: &Path, error: toml::de::Error) -> anyhow::Error {
    fail(
        FailureKind::Config,
        format!("invalid configuration in {}: {error}", path.display()),
    )
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::repo;
    use super::super::{ENV_CONFIG_FILE, ENVIRONMENTS_DIR};
    use super::Config;

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
    fn a_review_ignore_that_is_not_a_glob_is_an_error_at_load() {
        let repo = repo();
        let manifest = repo.path().join("Cargo.toml");
        edit(
            &manifest,
            "output_reserve = 4000",
            "output_reserve = 4000\nignore = [\"docs/**\", \"a[b\"]",
        );
        let message = load_error(repo.path());
        assert!(message.contains("Cargo.toml"), "{message}");
        assert!(message.contains("review.ignore"), "{message}");
        assert!(message.contains("a[b"), "{message}");
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

    /// `stg`, a copy of dev with its own names, beside dev.
    fn add_stg(root: &Path) {
        let envs = root.join(ENVIRONMENTS_DIR);
        std::fs::create_dir_all(envs.join("stg")).unwrap();
        let dev = std::fs::read_to_string(envs.join("dev").join(ENV_CONFIG_FILE)).unwrap();
        std::fs::write(
            envs.join("stg").join(ENV_CONFIG_FILE),
            dev.replace("dev", "stg").replace("DEV_", "STG_"),
        )
        .unwrap();
    }

    #[test]
    fn the_apply_order_lists_configured_environments_first_then_the_rest_by_name() {
        let repo = repo();
        add_stg(repo.path());
        let names = |config: &Config| -> Vec<String> {
            config
                .apply_order()
                .iter()
                .map(|e| e.name.clone())
                .collect()
        };
        assert_eq!(names(&Config::load(repo.path()).unwrap()), ["dev", "stg"]);
        // Without either table: name order and the default schedule.
        let manifest = repo.path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        let start = text.find("[workspace.metadata.xtask.apply]").unwrap();
        let end = text.find("[workspace.metadata.xtask.review]").unwrap();
        std::fs::write(&manifest, format!("{}{}", &text[..start], &text[end..])).unwrap();
        let config = Config::load(repo.path()).unwrap();
        assert!(config.repo.apply.order.is_empty());
        assert_eq!(names(&config), ["dev", "stg"]);
        assert_eq!(config.repo.drift.schedule, "23 4 * * *");
        std::fs::write(&manifest, text).unwrap();
        edit(
            &repo.path().join("Cargo.toml"),
            "order = [\"dev\"]",
            "order = [\"stg\"]",
        );
        let config = Config::load(repo.path()).unwrap();
        assert_eq!(names(&config), ["stg", "dev"]);
        assert_eq!(config.repo.drift.schedule, "23 4 * * *");
    }

    #[test]
    fn an_apply_order_with_an_unknown_or_repeated_environment_is_an_error() {
        let repo = repo();
        let manifest = repo.path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            text.replace("order = [\"dev\"]", "order = [\"dev\", \"prod\"]"),
        )
        .unwrap();
        let line = text.lines().position(|l| l.starts_with("order")).unwrap() + 1;
        let message = load_error(repo.path());
        for needle in [
            "Cargo.toml",
            &format!("line {line}"),
            "[workspace.metadata.xtask.apply] order",
            "`prod` is not an environment",
            "known: dev",
        ] {
            assert!(message.contains(needle), "{needle} not in: {message}");
        }
        std::fs::write(
            &manifest,
            text.replace("order = [\"dev\"]", "order = [\"dev\", \"dev\"]"),
        )
        .unwrap();
        let message = load_error(repo.path());
        assert!(message.contains("`dev` is listed twice"), "{message}");
        assert!(message.contains("apply] order"), "{message}");
    }

    #[test]
    fn a_drift_schedule_that_is_not_five_cron_fields_is_an_error_naming_the_field() {
        let repo = repo();
        let manifest = repo.path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest).unwrap();
        for (schedule, why) in [
            ("23 4 * *", "has 4 fields"),
            ("61 4 * * *", "the minute field `61`"),
            ("0 6 * * mon-fri/0", "the day of week field"),
            ("@daily", "has 1 fields"),
        ] {
            std::fs::write(
                &manifest,
                text.replace(
                    "schedule = \"23 4 * * *\"",
                    &format!("schedule = \"{schedule}\""),
                ),
            )
            .unwrap();
            let message = load_error(repo.path());
            assert!(
                message.contains("[workspace.metadata.xtask.drift] schedule"),
                "{message}"
            );
            assert!(message.contains(why), "{why} not in: {message}");
            assert!(message.contains("line "), "{message}");
        }
        std::fs::write(
            &manifest,
            text.replace(
                "schedule = \"23 4 * * *\"",
                "schedule = \"*/15 0-6,22 1 jan-mar MON-FRI\"",
            ),
        )
        .unwrap();
        assert!(Config::load(repo.path()).is_ok());
    }

    #[test]
    fn the_apply_entry_and_its_environment_default_and_must_not_collide() {
        let repo = repo();
        let path = repo
            .path()
            .join(ENVIRONMENTS_DIR)
            .join("dev")
            .join(ENV_CONFIG_FILE);
        // Written out in dev; left out, they default to the same names.
        edit(&path, "apply_environment = \"dev-apply\"\n", "");
        edit(&path, "apply_entry = \"gha-dev-apply\"\n", "");
        let config = Config::load(repo.path()).unwrap();
        let dev = config.environment("dev").unwrap();
        assert!(dev.settings.github.apply_environment.is_none());
        assert!(dev.settings.roles.apply_entry.is_none());
        assert_eq!(
            dev.settings.github.apply_environment().to_string(),
            "dev-apply"
        );
        assert_eq!(
            dev.settings.roles.apply_entry("dev").to_string(),
            "gha-dev-apply"
        );
        // An apply environment named like the migration's is refused: the migration job could
        // then reach the deploy role.
        edit(
            &path,
            "environment = \"dev\"",
            "environment = \"dev\"\napply_environment = \"dev\"",
        );
        let message = load_error(repo.path());
        assert!(message.contains("github.apply_environment"), "{message}");
        assert!(message.contains("github.environment"), "{message}");
        edit(
            &path,
            "apply_environment = \"dev\"",
            "apply_environment = \"dev-deploy\"",
        );
        edit(
            &path,
            "protected_entry = \"gha-dev-protected\"",
            "protected_entry = \"gha-dev-protected\"\napply_entry = \"gha-dev-protected\"",
        );
        let message = load_error(repo.path());
        assert!(message.contains("roles.apply_entry"), "{message}");
    }
}
