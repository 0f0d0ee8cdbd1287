//! Which environments a change touches: files under the environment, or under a local module it
//! calls, directly or through other local modules.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Component, Path, PathBuf};

use anyhow::Context;
use xshell::cmd;

use crate::config::Config;
use crate::failure::{Classify, FailureKind, fail};
use crate::process::{self, Cmd};

/// Local module directories (relative to the repository root) that a Terraform directory calls:
/// the `source` of each `module` block of its `.tf` files. Registry and git sources are not local
/// and are skipped.
pub fn local_module_calls(root: &Path, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
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
        let body = hcl::parse(&text)
            .with_context(|| format!("{} is not valid HCL", file.display()))
            .classify(FailureKind::Config)?;
        calls.extend(
            module_sources(&body)
                .filter(|source| source.starts_with("./") || source.starts_with("../"))
                .map(|source| normalize(&dir.join(source))),
        );
    }
    Ok(calls)
}

/// The literal `source` of every `module` block.
fn module_sources(body: &hcl::Body) -> impl Iterator<Item = &str> {
    body.blocks()
        .filter(|block| block.identifier() == "module")
        .filter_map(|block| block.body().attributes().find(|a| a.key() == "source"))
        .filter_map(|attribute| match attribute.expr() {
            hcl::Expression::String(source) => Some(source.as_str()),
            _ => None,
        })
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
    let sh = process::shell(root)?;
    let output = Cmd::new(cmd!(sh, "git diff --name-only --no-renames {range}"))
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
    fn module_calls_are_read_from_module_blocks_only() {
        let root = tempfile::tempdir().unwrap();
        let env = root.path().join("environments/dev");
        std::fs::create_dir_all(&env).unwrap();
        std::fs::write(
            env.join("main.tf"),
            "module \"net\" {\n  source = \"../../modules/net\"\n}\n\
             # module \"old\" { source = \"../../modules/old\" }\n\
             terraform {\n  required_providers {\n    x = { source = \"./not-a-module\" }\n  }\n}\n\
             module \"vpc\" { source = \"terraform-aws-modules/vpc/aws\" }\n",
        )
        .unwrap();
        assert_eq!(
            local_module_calls(root.path(), Path::new("environments/dev")).unwrap(),
            [PathBuf::from("modules/net")]
        );
        std::fs::write(env.join("broken.tf"), "module \"x\" {\n").unwrap();
        let error = local_module_calls(root.path(), Path::new("environments/dev")).unwrap_err();
        assert!(
            format!("{error:#}").contains("broken.tf is not valid HCL"),
            "{error:#}"
        );
    }

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
