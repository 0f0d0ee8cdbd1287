//! A new environment from the scaffold embedded in the binary, so `cargo xtask new-env` works the
//! same from any checkout.
//!
//! The scaffold has two parts. The reference environment, `environments/dev`, gives every file
//! that is the same in all environments: its Terraform reads every name from the generated locals,
//! so it is identical everywhere, and keeping one copy means a fix to it reaches new environments
//! without being made twice. `templates/scaffold/` gives the `*.tmpl` files (the environment's
//! `xtask.toml`), whose `{{placeholders}}` are filled in and whose suffix is dropped. What is
//! generated or local in the reference environment is never copied.

use std::path::{Path, PathBuf};

use anyhow::Context;
use include_dir::{Dir, DirEntry, include_dir};

use crate::config::{
    AccountId, Config, ENV_CONFIG_FILE, ENVIRONMENTS_DIR, Region, validate_environment_name,
};
use crate::environment::{GENERATED_DIR, LOCALS_FILE};
use crate::failure::{Classify, FailureKind, fail};

/// The environment-agnostic files, taken from the reference environment at build time.
pub static REFERENCE_ENVIRONMENT: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../environments/dev");

/// The templates of what differs per environment, embedded at build time.
pub static SCAFFOLD: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/../templates/scaffold");

/// Files of an environment directory that belong to that environment alone: its configuration,
/// what is generated from it, and local working files (state, provider caches, packages).
pub fn is_environment_specific(relative: &Path) -> bool {
    let text = relative.to_string_lossy();
    relative == Path::new(ENV_CONFIG_FILE)
        || relative == Path::new(LOCALS_FILE)
        || relative.starts_with(GENERATED_DIR)
        || text.contains(".terraform/")
        || text.contains("node_modules/")
        || text.contains("terraform.tfstate")
}

const TEMPLATE_SUFFIX: &str = ".tmpl";

/// What `cargo xtask new-env` was asked for.
#[derive(Debug, Clone)]
pub struct NewEnvironment {
    pub name: String,
    /// Defaults to the first existing environment's account.
    pub account_id: Option<String>,
    /// Defaults to the first existing environment's region.
    pub region: Option<String>,
}

/// The values the environment template is rendered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScaffoldValues {
    pub name: String,
    pub account_id: String,
    pub region: String,
    pub github_owner: String,
    /// Subnets of the migration task, as a TOML array (`[]` when unknown).
    pub subnets: Vec<String>,
}

impl ScaffoldValues {
    /// `<owner>-tfstate-<name>`: bucket names are global, so the owner makes them unique; they must
    /// be lower case.
    pub fn state_bucket(&self) -> String {
        format!(
            "{}-tfstate-{}",
            self.github_owner.to_ascii_lowercase().replace('_', "-"),
            self.name
        )
    }

    /// `STG_2` for `stg-2`: the prefix of the environment's secret names.
    pub fn secret_prefix(&self) -> String {
        self.name.to_ascii_uppercase().replace('-', "_")
    }
}

/// Fills in a template's `{{placeholders}}`; an unknown placeholder is an error, so a template and
/// this function cannot drift apart silently.
pub fn render_template(template: &str, values: &ScaffoldValues) -> Result<String, String> {
    let subnets = format!(
        "[{}]",
        values
            .subnets
            .iter()
            .map(|s| format!("\"{s}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let replacements = [
        ("{{name}}", values.name.clone()),
        ("{{NAME}}", values.secret_prefix()),
        ("{{account_id}}", values.account_id.clone()),
        ("{{region}}", values.region.clone()),
        ("{{state_bucket}}", values.state_bucket()),
        ("{{subnets}}", subnets),
    ];
    let mut out = template.to_owned();
    for (placeholder, value) in &replacements {
        out = out.replace(placeholder, value);
    }
    match out.find("{{") {
        Some(at) => {
            let rest = &out[at..];
            let end = rest.find("}}").map_or(rest.len(), |e| e + 2);
            Err(format!("unknown placeholder {}", &rest[..end]))
        }
        None => Ok(out),
    }
}

/// One file of the rendered environment: its path relative to the environment directory.
#[derive(Debug, Clone)]
pub struct RenderedFile {
    pub path: PathBuf,
    pub contents: Vec<u8>,
    pub executable: bool,
}

/// Renders the embedded scaffold: the templates, then the reference environment's shared files
/// (pure: no file system).
pub fn render(values: &ScaffoldValues) -> anyhow::Result<Vec<RenderedFile>> {
    let mut files = render_dir(&SCAFFOLD, values)?;
    let mut shared = Vec::new();
    collect(&REFERENCE_ENVIRONMENT, values, &mut shared)?;
    files.extend(
        shared
            .into_iter()
            .filter(|file| !is_environment_specific(&file.path)),
    );
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Renders a scaffold directory (the embedded one, or another in tests).
pub fn render_dir(dir: &Dir<'_>, values: &ScaffoldValues) -> anyhow::Result<Vec<RenderedFile>> {
    let mut files = Vec::new();
    collect(dir, values, &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn collect(
    dir: &Dir<'_>,
    values: &ScaffoldValues,
    out: &mut Vec<RenderedFile>,
) -> anyhow::Result<()> {
    for entry in dir.entries() {
        match entry {
            DirEntry::Dir(sub) => collect(sub, values, out)?,
            DirEntry::File(file) => {
                let path = file.path();
                let name = path.to_string_lossy();
                let (path, contents) = match name.strip_suffix(TEMPLATE_SUFFIX) {
                    Some(target) => {
                        let text = file.contents_utf8().ok_or_else(|| {
                            fail(
                                FailureKind::Config,
                                format!("scaffold template {name} is not UTF-8"),
                            )
                        })?;
                        let rendered = render_template(text, values).map_err(|why| {
                            fail(
                                FailureKind::Config,
                                format!("scaffold template {name}: {why}"),
                            )
                        })?;
                        (PathBuf::from(target), rendered.into_bytes())
                    }
                    None => (path.to_path_buf(), file.contents().to_vec()),
                };
                let executable = path.extension().is_some_and(|ext| ext == "sh");
                out.push(RenderedFile {
                    path,
                    contents,
                    executable,
                });
            }
        }
    }
    Ok(())
}

/// Resolves the request against the existing configuration: validates the name, the account and
/// the region, and takes defaults from the first environment.
pub fn values_for(config: &Config, request: &NewEnvironment) -> anyhow::Result<ScaffoldValues> {
    validate_environment_name(&request.name).map_err(|why| {
        fail(
            FailureKind::Config,
            format!("invalid environment name: {why}"),
        )
    })?;
    let template = config.environments.values().next();
    let account_id = match (&request.account_id, template) {
        (Some(account), _) => account.clone(),
        (None, Some(env)) => env.account_id().to_owned(),
        (None, None) => {
            return Err(fail(
                FailureKind::Config,
                "no environment to take the AWS account from: pass --account",
            ));
        }
    };
    let region = match (&request.region, template) {
        (Some(region), _) => region.clone(),
        (None, Some(env)) => env.region().to_owned(),
        (None, None) => {
            return Err(fail(
                FailureKind::Config,
                "no environment to take the AWS region from: pass --region",
            ));
        }
    };
    AccountId::try_from(account_id.clone())
        .map_err(|why| fail(FailureKind::Config, format!("--account: {why}")))?;
    Region::try_from(region.clone())
        .map_err(|why| fail(FailureKind::Config, format!("--region: {why}")))?;
    // Subnets belong to a VPC of one account and region: reuse them only in the same place.
    let subnets = template
        .filter(|env| env.account_id() == account_id && env.region() == region)
        .map(|env| env.settings.migration.subnets.clone())
        .unwrap_or_default();
    Ok(ScaffoldValues {
        name: request.name.clone(),
        account_id,
        region,
        github_owner: config.repo.github.owner.to_string(),
        subnets,
    })
}

/// Creates `environments/<name>/` under `root`. The directory appears whole or not at all: the
/// files are written to a temporary sibling that is renamed into place last.
pub fn create_environment(root: &Path, request: &NewEnvironment) -> anyhow::Result<PathBuf> {
    let config = Config::load(root)?;
    let values = values_for(&config, request)?;
    let environments = root.join(ENVIRONMENTS_DIR);
    let target = environments.join(&values.name);
    if target.exists() {
        return Err(fail(
            FailureKind::Config,
            format!(
                "{} already exists; new-env never overwrites an environment (remove it or pick another name)",
                target.display()
            ),
        ));
    }
    let files = render(&values)?;
    std::fs::create_dir_all(&environments)
        .with_context(|| format!("creating {}", environments.display()))
        .classify(FailureKind::Environment)?;
    let staging = tempfile_dir_in(&environments, &values.name)?;
    let result = write_files(&staging, &files).and_then(|()| {
        std::fs::rename(&staging, &target)
            .with_context(|| format!("moving {} to {}", staging.display(), target.display()))
            .classify(FailureKind::Environment)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result?;
    // The new file must load with the rest of the configuration.
    Config::load(root)
        .and_then(|config| config.environment(&values.name).map(|_| ()))
        .with_context(|| format!("loading the new {}", target.join(ENV_CONFIG_FILE).display()))?;
    Ok(target)
}

fn tempfile_dir_in(parent: &Path, name: &str) -> anyhow::Result<PathBuf> {
    // A dot directory is not an environment (config loading needs <dir>/xtask.toml and a valid
    // name), so a crash mid-way leaves nothing that looks like one.
    let staging = parent.join(format!(".{name}.new-env-{}", std::process::id()));
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("removing the stale {}", staging.display()))
            .classify(FailureKind::Environment)?;
    }
    std::fs::create_dir(&staging)
        .with_context(|| format!("creating {}", staging.display()))
        .classify(FailureKind::Environment)?;
    Ok(staging)
}

fn write_files(dir: &Path, files: &[RenderedFile]) -> anyhow::Result<()> {
    for file in files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))
                .classify(FailureKind::Environment)?;
        }
        std::fs::write(&path, &file.contents)
            .with_context(|| format!("writing {}", path.display()))
            .classify(FailureKind::Environment)?;
        if file.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
                .with_context(|| format!("making {} executable", path.display()))
                .classify(FailureKind::Environment)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stg() -> ScaffoldValues {
        ScaffoldValues {
            name: "stg-2".to_owned(),
            account_id: "210987654321".to_owned(),
            region: "us-west-2".to_owned(),
            github_owner: "Example_Org".to_owned(),
            subnets: vec!["subnet-0aaa".to_owned(), "subnet-0bbb".to_owned()],
        }
    }

    #[test]
    fn the_environment_config_is_rendered_from_the_name() {
        let template = SCAFFOLD
            .get_file("xtask.toml.tmpl")
            .and_then(|f| f.contents_utf8())
            .unwrap();
        insta::assert_snapshot!(render_template(template, &stg()).unwrap());
    }

    #[test]
    fn unknown_placeholders_are_errors() {
        let error = render_template("a = \"{{nmae}}\"", &stg()).unwrap_err();
        assert_eq!(error, "unknown placeholder {{nmae}}");
    }

    #[test]
    fn every_scaffold_file_renders_and_the_template_suffix_is_dropped() {
        let files = render(&stg()).unwrap();
        let paths: Vec<String> = files
            .iter()
            .map(|f| f.path.to_string_lossy().into_owned())
            .collect();
        assert!(paths.contains(&"xtask.toml".to_owned()), "{paths:?}");
        assert!(paths.iter().all(|p| !p.ends_with(TEMPLATE_SUFFIX)));
        // The reference environment's own configuration and generated files are never copied.
        assert_eq!(paths.iter().filter(|p| *p == "xtask.toml").count(), 1);
        assert!(
            !paths
                .iter()
                .any(|p| p.starts_with("generated/") || p == "xtask.generated.tf.json"),
            "{paths:?}"
        );
        for required in [
            "terraform.tf",
            "iam.tf",
            "bootstrap/main.tf",
            "docker/Dockerfile",
            "docker/migrate.sh",
            "lambda_function/index.js",
        ] {
            assert!(
                paths.contains(&required.to_owned()),
                "{required} missing: {paths:?}"
            );
        }
        let migrate = files
            .iter()
            .find(|f| f.path == Path::new("docker/migrate.sh"))
            .unwrap();
        assert!(migrate.executable);
    }
}
