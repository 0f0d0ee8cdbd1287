//! The one typed configuration of the repository.
//!
//! Repo-wide settings live in the workspace manifest under `[workspace.metadata.xtask]`; each
//! environment has its own `environments/<name>/xtask.toml`. Every value is written once: role ARNs,
//! resource ARNs and the names Terraform uses are derived from these files, never typed again.
//!
//! Deserialization is strict (`deny_unknown_fields`, validated newtypes), so a misspelt key, a wrong
//! type or a missing value is reported with the file, the key and the line.
//!
//! - [`schema`]: the shape of both files (what each key means and its default).
//! - [`names`]: the validated strings (account ids, regions, resource and secret names).
//! - [`duration`]: durations such as `15m`, read by `humantime`.
//! - `loader`: finding, reading and validating the files; `collisions`: values two
//!   environments must not share.

mod collisions;
pub mod duration;
mod loader;
pub mod names;
pub mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::failure::{FailureKind, fail};

pub use duration::{HumanDuration, format_duration, parse_duration};
pub use names::{AccountId, Name, Region, SecretName, Version, validate_environment_name};
pub use schema::*;

/// The file, relative to an environment directory, that configures that environment.
pub const ENV_CONFIG_FILE: &str = "xtask.toml";
/// The directory, relative to the repository root, that holds one directory per environment.
pub const ENVIRONMENTS_DIR: &str = "environments";

/// The resolved configuration: the repo-wide settings and every environment.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// The repository root (the directory of the workspace `Cargo.toml`).
    #[serde(skip)]
    pub root: PathBuf,
    pub repo: RepoSettings,
    pub environments: BTreeMap<String, Environment>,
}

/// One environment: `environments/<name>/xtask.toml`.
#[derive(Debug, Clone, Serialize)]
pub struct Environment {
    pub name: String,
    /// The environment directory, relative to the repository root.
    pub dir: PathBuf,
    #[serde(flatten)]
    pub settings: EnvSettings,
}

impl Config {
    pub fn environment(&self, name: &str) -> anyhow::Result<&Environment> {
        self.environments.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.environments.keys().map(String::as_str).collect();
            fail(
                FailureKind::Config,
                format!(
                    "unknown environment `{name}`: there is no {ENVIRONMENTS_DIR}/{name}/{ENV_CONFIG_FILE} (known: {})",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            )
        })
    }

    /// The environments named on the command line (`--env`), each checked to exist, in the order
    /// given and each once; every environment when none is named. An unknown name, or no
    /// environment at all, is a config error.
    pub fn named_environments(&self, names: &[String]) -> anyhow::Result<Vec<String>> {
        if names.is_empty() {
            if self.environments.is_empty() {
                return Err(fail(
                    FailureKind::Config,
                    "no environments: add environments/<name>/xtask.toml (cargo xtask new-env)",
                ));
            }
            return Ok(self.environments.keys().cloned().collect());
        }
        let mut selected: Vec<String> = Vec::with_capacity(names.len());
        for name in names {
            self.environment(name)?;
            if !selected.contains(name) {
                selected.push(name.clone());
            }
        }
        Ok(selected)
    }

    /// Every environment in apply order: those of `apply.order` as listed (validated at load),
    /// then the others in name order.
    pub fn apply_order(&self) -> Vec<&Environment> {
        let listed = self
            .repo
            .apply
            .order
            .iter()
            .filter_map(|name| self.environments.get(name));
        let rest = self
            .environments
            .values()
            .filter(|environment| !self.repo.apply.order.contains(&environment.name));
        listed.chain(rest).collect()
    }

    /// `owner/repo`.
    pub fn repository(&self) -> String {
        format!("{}/{}", self.repo.github.owner, self.repo.github.repo)
    }
}

impl Environment {
    /// The Terraform root module, relative to the repository root.
    pub fn terraform_dir(&self) -> PathBuf {
        normalize(&self.dir.join(&self.settings.terraform.dir))
    }

    pub fn account_id(&self) -> &str {
        &self.settings.aws.account_id.0
    }

    pub fn region(&self) -> &str {
        &self.settings.aws.region.0
    }

    /// The migration image's build context, relative to the repository root.
    pub fn docker_dir(&self) -> PathBuf {
        self.dir.join("docker")
    }
}

fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::Path;

    use super::ENV_CONFIG_FILE;

    #[test]
    fn named_environments_are_checked_kept_in_order_and_each_once() {
        let temp = repo();
        for name in ["prod", "stage"] {
            let dir = temp.path().join("environments").join(name);
            std::fs::create_dir_all(&dir).unwrap();
            // Its own state, roles and names (environments may not share them).
            let dev =
                std::fs::read_to_string(temp.path().join("environments/dev").join(ENV_CONFIG_FILE))
                    .unwrap();
            let own = dev
                .replace("dev", name)
                .replace("DEV", &name.to_uppercase());
            std::fs::write(dir.join(ENV_CONFIG_FILE), own).unwrap();
        }
        let config = super::Config::load(temp.path()).unwrap();
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            config
                .named_environments(&names(&["stage", "dev", "stage"]))
                .unwrap(),
            ["stage", "dev"]
        );
        assert_eq!(
            config.named_environments(&[]).unwrap(),
            ["dev", "prod", "stage"]
        );
        let error = config
            .named_environments(&names(&["dev", "qa"]))
            .unwrap_err();
        assert!(
            format!("{error:#}").contains("unknown environment `qa`"),
            "{error:#}"
        );
    }

    /// A repository with the configuration of this one: the manifest's xtask tables and dev.
    /// Shared by the library's unit tests (the integration tests have their own in `tests/support`).
    pub(crate) fn repo() -> tempfile::TempDir {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let temp = tempfile::tempdir().unwrap();
        let manifest = std::fs::read_to_string(source.join("Cargo.toml")).unwrap();
        let metadata = &manifest[manifest.find("[workspace.metadata.xtask").unwrap()..];
        std::fs::write(
            temp.path().join("Cargo.toml"),
            format!("[workspace]\nmembers = []\n\n{metadata}"),
        )
        .unwrap();
        let dev = temp.path().join("environments/dev");
        std::fs::create_dir_all(&dev).unwrap();
        std::fs::copy(
            source.join("environments/dev/xtask.toml"),
            dev.join(ENV_CONFIG_FILE),
        )
        .unwrap();
        temp
    }
}
