//! Which environments a change touches: files under the environment, or under a local module it
//! calls, directly or through other local modules.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Component, Path, PathBuf};

use anyhow::Context;
use regex::Regex;

use crate::config::Config;
use crate::failure::{Classify, FailureKind, fail};
use crate::process::Program;

/// Local module directories (relative to the repository root) that a Terraform directory calls,
/// read from its `.tf` files. Registry and git sources are not local and are skipped.
pub fn local_module_calls(root: &Path, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let source = Regex::new(r#"(?m)^\s*source\s*=\s*"(\.{1,2}/[^"]*)""#)
        .context("compiling the module source pattern")?;
    let mut calls = Vec::new();
    let entries = match std::fs::read_dir(root.join(dir)) {
        Ok(entries) => entries,
        // A module path that does not exist calls nothing (terraform init will say so).
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(calls),
        Err(error) => {
            return Err(error)
                .with_context(|| format!("reading {}", root.join(dir).display()))
                .classify(FailureKind::Environment);
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "tf"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))
            .classify(FailureKind::Environment)?;
        for capture in source.captures_iter(&text) {
            calls.push(normalize(&dir.join(&capture[1])));
        }
    }
    Ok(calls)
}

/// `dir` and every local module it reaches (bounded: each directory is visited once).
pub fn module_closure(root: &Path, dir: &Path) -> anyhow::Result<BTreeSet<PathBuf>> {
    let mut seen = BTreeSet::new();
    let mut queue = VecDeque::from([normalize(dir)]);
    while let Some(next) = queue.pop_front() {
        if !seen.insert(next.clone()) {
            continue;
        }
        for called in local_module_calls(root, &next)? {
            if !seen.contains(&called) {
                queue.push_back(called);
            }
        }
    }
    Ok(seen)
}

/// The environments whose directory, or a directory in their module closure, holds a changed
/// file. `closures` pairs each environment with its environment directory and closure.
pub fn select(
    changed: &[String],
    closures: &[(String, PathBuf, BTreeSet<PathBuf>)],
) -> Vec<String> {
    let mut selected = BTreeSet::new();
    for (env, env_dir, closure) in closures {
        let touched = changed.iter().any(|file| {
            let file = Path::new(file);
            file.starts_with(env_dir) || closure.iter().any(|dir| file.starts_with(dir))
        });
        if touched {
            selected.insert(env.clone());
        }
    }
    selected.into_iter().collect()
}

/// The environments affected by the changes between the merge base of `base` and HEAD.
pub fn affected_since(config: &Config, base: &str) -> anyhow::Result<Vec<String>> {
    let changed = changed_files(&config.root, base)?;
    let mut closures = Vec::new();
    for (name, env) in &config.environments {
        let closure = module_closure(&config.root, &env.terraform_dir())?;
        closures.push((name.clone(), env.dir.clone(), closure));
    }
    Ok(select(&changed, &closures))
}

/// `git diff --name-only <base>...HEAD`: the files changed on this branch since it left `base`.
pub fn changed_files(root: &Path, base: &str) -> anyhow::Result<Vec<String>> {
    if base.starts_with('-') {
        return Err(fail(
            FailureKind::Config,
            format!("`{base}` is not a git ref"),
        ));
    }
    let range = format!("{base}...HEAD");
    let output = Program::new("git", root)
        .args(["diff", "--name-only", "--no-renames", &range])
        .install_hint("install git")
        .failure_kind(FailureKind::Config)
        .read()
        .with_context(|| {
            format!("is `{base}` fetched? In a workflow use actions/checkout with fetch-depth: 0")
        })?;
    Ok(output
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect())
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_by_env_dir_and_module_closure() {
        let closures = vec![
            (
                "dev".to_owned(),
                PathBuf::from("environments/dev"),
                BTreeSet::from([
                    PathBuf::from("environments/dev"),
                    PathBuf::from("modules/network"),
                    PathBuf::from("modules/base"),
                ]),
            ),
            (
                "prod".to_owned(),
                PathBuf::from("environments/prod"),
                BTreeSet::from([PathBuf::from("environments/prod")]),
            ),
        ];
        assert_eq!(select(&["modules/base/main.tf".into()], &closures), ["dev"]);
        assert_eq!(
            select(
                &["environments/prod/x.tf".into(), "README.md".into()],
                &closures
            ),
            ["prod"]
        );
        assert!(select(&["modules/other/main.tf".into()], &closures).is_empty());
        assert!(select(&["environments/development/x.tf".into()], &closures).is_empty());
        assert_eq!(
            normalize(Path::new("environments/dev/../../modules/./a")),
            PathBuf::from("modules/a")
        );
    }
}
