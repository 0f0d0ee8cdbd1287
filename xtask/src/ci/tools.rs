//! Installs what the CI stages need, under `target/ci`, and only when it changed:
//!
//! - `target/ci/venv`: a Python venv with moto (the AWS stand-in), zizmor and checkov, pinned in
//!   `xtask/ci/requirements.txt` with every transitive package pinned in `xtask/ci/constraints.txt`;
//! - `target/ci/workflow-parser`: GitHub's workflow parser from `xtask/ci/workflow-parser`'s
//!   lockfile and the validator script bundled by esbuild (`workflow-validator.cjs`);
//! - `target/ci/node/node_modules`: the migration app's npm packages (`environments/*/docker/app`
//!   lockfile), whose `prisma` CLI the schema tests run; installed here rather than in the app
//!   so the Docker build context stays clean;
//! - `node_modules` of each `environments/*/lambda_function` that has a lockfile.
//!
//! Each install writes a stamp holding a fingerprint of its inputs (the pinned files and the
//! interpreter's version); a matching stamp skips the install, so a warm run costs nothing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sha2::{Digest, Sha256};
use xshell::cmd;

use crate::failure::{Classify, FailureKind, fail};
use crate::fs::write_atomically;
use crate::process::{Cmd, Program, which};

/// Where the committed inputs of the CI tools live, relative to the repository root.
pub const SOURCE_DIR: &str = "xtask/ci";
const STAMP_FILE: &str = ".xtask-stamp";
const VALIDATOR_SOURCES: [&str; 3] = ["package.json", "package-lock.json", "validate.mjs"];
const VALIDATOR_BUNDLE: &str = "workflow-validator.cjs";

/// The directories of the installed tools.
#[derive(Debug, Clone)]
pub struct ToolDirs {
    pub repo_root: PathBuf,
    /// `target/ci`: what the test harness reads as `XTASK_CI_TOOLS`.
    pub dir: PathBuf,
}

impl ToolDirs {
    pub fn new(repo_root: &Path) -> ToolDirs {
        ToolDirs {
            repo_root: repo_root.to_path_buf(),
            dir: repo_root.join("target").join("ci"),
        }
    }

    pub fn venv(&self) -> PathBuf {
        self.dir.join("venv")
    }

    pub fn venv_bin(&self) -> PathBuf {
        self.venv().join("bin")
    }

    pub fn validator_dir(&self) -> PathBuf {
        self.dir.join("workflow-parser")
    }

    pub fn validator_bundle(&self) -> PathBuf {
        self.validator_dir().join(VALIDATOR_BUNDLE)
    }

    fn source(&self, name: &str) -> PathBuf {
        self.repo_root.join(SOURCE_DIR).join(name)
    }
}

/// What an ensure step did, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioned {
    UpToDate(String),
    Installed(String),
}

impl std::fmt::Display for Provisioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Provisioned::UpToDate(what) => write!(f, "{what}: up to date"),
            Provisioned::Installed(what) => write!(f, "{what}: installed"),
        }
    }
}

/// A hex SHA-256 over the parts, each prefixed with its length so that moving bytes from one part
/// to the next changes the fingerprint.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn stamp_matches(stamp: &Path, expected: &str) -> bool {
    fs::read_to_string(stamp).is_ok_and(|text| text.trim() == expected)
}

fn read_source(path: &Path) -> anyhow::Result<Vec<u8>> {
    fs::read(path)
        .with_context(|| format!("reading {} (committed with the xtask)", path.display()))
        .classify(FailureKind::Config)
}

fn require_on_path(program: &str, what_to_do: &str) -> anyhow::Result<PathBuf> {
    which(program).ok_or_else(|| {
        fail(
            FailureKind::Environment,
            format!("`{program}` is not on PATH: {what_to_do}"),
        )
    })
}

/// The Python used to create the venv: `$XTASK_PYTHON`, else `python3` from PATH.
fn base_python() -> anyhow::Result<PathBuf> {
    if let Some(python) = std::env::var_os("XTASK_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    require_on_path(
        "python3",
        "install Python 3.10+ with its venv module (Debian: apt-get install python3 python3-venv), or set XTASK_PYTHON",
    )
}

/// Creates or updates `target/ci/venv` with the pinned Python tools.
pub fn ensure_python_tools(dirs: &ToolDirs) -> anyhow::Result<Provisioned> {
    let what = format!("Python tools in {}", dirs.venv().display());
    let requirements_path = dirs.source("requirements.txt");
    let constraints_path = dirs.source("constraints.txt");
    let requirements = read_source(&requirements_path)?;
    let constraints = read_source(&constraints_path)?;
    let python = base_python()?;
    let sh = crate::process::shell(&dirs.repo_root)?;
    let script = "import sys, venv, ensurepip; print(sys.version)";
    let version = Cmd::new(cmd!(sh, "{python} -c {script}"))
        .failure_kind(FailureKind::Environment)
        .read()
        .with_context(|| {
            format!(
                "{} cannot create a venv (Debian: apt-get install python3-venv; or set XTASK_PYTHON to a Python that has the venv and ensurepip modules)",
                python.display()
            )
        })
        .classify(FailureKind::Environment)?;
    let expected = fingerprint(&[&requirements, &constraints, version.as_bytes()]);
    let stamp = dirs.venv().join(STAMP_FILE);
    if stamp_matches(&stamp, &expected) {
        return Ok(Provisioned::UpToDate(what));
    }

    let venv_python = dirs.venv_bin().join("python");
    let script = "import sys; print(sys.version)";
    let venv_works = Cmd::new(cmd!(sh, "{venv_python} -c {script}"))
        .read()
        .is_ok_and(|venv_version| venv_version == version);
    if !venv_works {
        println!(
            "creating {} with {}",
            dirs.venv().display(),
            python.display()
        );
        let created = Program::new(&python, &dirs.repo_root)
            .args(["-m", "venv", "--clear"])
            .arg(dirs.venv())
            .run_streaming()?;
        if !created.success {
            return Err(fail(
                FailureKind::Environment,
                format!("`{} -m venv` failed", python.display()),
            ));
        }
    }
    println!(
        "installing {} (constrained by {})",
        requirements_path.display(),
        constraints_path.display()
    );
    let installed = Program::new(&venv_python, &dirs.repo_root)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-input",
            "-r",
        ])
        .arg(&requirements_path)
        .arg("-c")
        .arg(&constraints_path)
        .run_streaming()?;
    if !installed.success {
        return Err(fail(
            FailureKind::Environment,
            format!(
                "pip could not install {} into {} (is PyPI reachable?)",
                requirements_path.display(),
                dirs.venv().display()
            ),
        ));
    }
    write_atomically(&stamp, expected.as_bytes())?;
    Ok(Provisioned::Installed(what))
}

fn node_version(repo_root: &Path) -> anyhow::Result<String> {
    let node = require_on_path("node", "install Node.js 20 or newer with npm")?;
    let sh = crate::process::shell(repo_root)?;
    Cmd::new(cmd!(sh, "{node} --version"))
        .failure_kind(FailureKind::Environment)
        .read()
}

/// `npm ci` in `dir` (install scripts off: npm 11 blocks them anyway, and the ones of our
/// dependencies would only download binaries these machines cannot reach).
fn npm_ci(dir: &Path) -> anyhow::Result<()> {
    let npm = require_on_path("npm", "install Node.js 20 or newer with npm")?;
    let finished = Program::new(npm, dir)
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .run_streaming()?;
    if finished.success {
        Ok(())
    } else {
        Err(fail(
            FailureKind::Environment,
            format!(
                "`npm ci` failed in {} (is the npm registry reachable? is package-lock.json in sync with package.json?)",
                dir.display()
            ),
        ))
    }
}

/// Installs GitHub's workflow parser and bundles the validator into
/// `target/ci/workflow-parser/workflow-validator.cjs`.
pub fn ensure_workflow_validator(dirs: &ToolDirs) -> anyhow::Result<Provisioned> {
    let what = format!("workflow validator {}", dirs.validator_bundle().display());
    let source_dir = dirs.source("workflow-parser");
    let sources = VALIDATOR_SOURCES
        .iter()
        .map(|name| read_source(&source_dir.join(name)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let version = node_version(&dirs.repo_root)?;
    let mut parts: Vec<&[u8]> = sources.iter().map(Vec::as_slice).collect();
    parts.push(version.as_bytes());
    let expected = fingerprint(&parts);
    let work_dir = dirs.validator_dir();
    let stamp = work_dir.join(STAMP_FILE);
    if stamp_matches(&stamp, &expected) && dirs.validator_bundle().is_file() {
        return Ok(Provisioned::UpToDate(what));
    }

    for (name, contents) in VALIDATOR_SOURCES.iter().zip(&sources) {
        write_atomically(&work_dir.join(name), contents)?;
    }
    npm_ci(&work_dir)?;
    let temporary = work_dir.join(format!(".{VALIDATOR_BUNDLE}.tmp"));
    let bundled = Program::new(work_dir.join("node_modules/.bin/esbuild"), &work_dir)
        .args([
            "validate.mjs",
            "--bundle",
            "--platform=node",
            "--format=cjs",
            "--log-level=warning",
        ])
        .arg(format!("--outfile={}", temporary.display()))
        .run_streaming()?;
    if !bundled.success {
        return Err(fail(
            FailureKind::Environment,
            format!(
                "esbuild could not bundle {}",
                source_dir.join("validate.mjs").display()
            ),
        ));
    }
    fs::rename(&temporary, dirs.validator_bundle())
        .with_context(|| format!("moving the bundle to {}", dirs.validator_bundle().display()))?;
    write_atomically(&stamp, expected.as_bytes())?;
    Ok(Provisioned::Installed(what))
}

/// The Lambdas with a lockfile (`environments/*/lambda_function`), installed in place.
pub fn project_npm_packages(repo_root: &Path) -> Vec<PathBuf> {
    environment_dirs(repo_root)
        .into_iter()
        .map(|env| env.join("lambda_function"))
        .filter(|dir| dir.join("package-lock.json").is_file())
        .collect()
}

/// The migration app whose lockfile pins the Prisma CLI: `environments/dev/docker/app` when it
/// has one, else the first environment's (new environments copy dev's from the scaffold).
pub fn migration_app(repo_root: &Path) -> Option<PathBuf> {
    let apps: Vec<PathBuf> = environment_dirs(repo_root)
        .into_iter()
        .map(|env| env.join("docker").join("app"))
        .filter(|dir| dir.join("package-lock.json").is_file())
        .collect();
    let dev = repo_root.join("environments/dev/docker/app");
    apps.iter()
        .find(|app| **app == dev)
        .or_else(|| apps.first())
        .cloned()
}

/// `npm ci` of the migration app's lockfile into `target/ci/node` (what the tests read as
/// `$XTASK_CI_TOOLS/node/node_modules`).
pub fn ensure_migration_app_packages(dirs: &ToolDirs, app: &Path) -> anyhow::Result<Provisioned> {
    let work_dir = dirs.dir.join("node");
    let what = format!(
        "npm packages of {} (prisma CLI) in {}",
        app.strip_prefix(&dirs.repo_root).unwrap_or(app).display(),
        work_dir.display()
    );
    let manifest = read_source(&app.join("package.json"))?;
    let lockfile = read_source(&app.join("package-lock.json"))?;
    let version = node_version(&dirs.repo_root)?;
    let expected = fingerprint(&[&manifest, &lockfile, version.as_bytes()]);
    let stamp = work_dir.join(STAMP_FILE);
    if stamp_matches(&stamp, &expected) {
        return Ok(Provisioned::UpToDate(what));
    }
    write_atomically(&work_dir.join("package.json"), &manifest)?;
    write_atomically(&work_dir.join("package-lock.json"), &lockfile)?;
    npm_ci(&work_dir)?;
    write_atomically(&stamp, expected.as_bytes())?;
    Ok(Provisioned::Installed(what))
}

/// `environments/*` directories, sorted.
pub fn environment_dirs(repo_root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(repo_root.join("environments")) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// `npm ci` in a project package whose lockfile changed since the last install.
pub fn ensure_npm_package(dir: &Path) -> anyhow::Result<Provisioned> {
    let what = format!("npm packages of {}", dir.display());
    let manifest = read_source(&dir.join("package.json"))?;
    let lockfile = read_source(&dir.join("package-lock.json"))?;
    let version = node_version(dir)?;
    let expected = fingerprint(&[&manifest, &lockfile, version.as_bytes()]);
    let stamp = dir.join("node_modules").join(STAMP_FILE);
    if stamp_matches(&stamp, &expected) {
        return Ok(Provisioned::UpToDate(what));
    }
    npm_ci(dir)?;
    write_atomically(&stamp, expected.as_bytes())?;
    Ok(Provisioned::Installed(what))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_every_part_and_its_boundaries() {
        let base = fingerprint(&[b"moto==5.2.5", b"3.11.7"]);
        assert_eq!(base.len(), 64);
        assert_eq!(base, fingerprint(&[b"moto==5.2.5", b"3.11.7"]));
        assert_ne!(base, fingerprint(&[b"moto==5.2.4", b"3.11.7"]));
        assert_ne!(base, fingerprint(&[b"moto==5.2.5", b"3.12.1"]));
        assert_ne!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"a", b"bc"]));
    }

    #[test]
    fn a_stamp_matches_only_its_own_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let stamp = dir.path().join("venv").join(STAMP_FILE);
        assert!(!stamp_matches(&stamp, "abc"));
        write_atomically(&stamp, b"abc\n").unwrap();
        assert!(stamp_matches(&stamp, "abc"));
        assert!(!stamp_matches(&stamp, "abd"));
        let leftovers: Vec<_> = fs::read_dir(stamp.parent().unwrap())
            .unwrap()
            .filter_map(Result::ok)
            .map(|entry| entry.file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from(STAMP_FILE)]);
    }

    #[test]
    fn project_packages_are_the_lambdas_and_the_migration_app_with_a_lockfile() {
        let root = tempfile::tempdir().unwrap();
        let lambda = root.path().join("environments/dev/lambda_function");
        let app = root.path().join("environments/dev/docker/app");
        let other_app = root.path().join("environments/a-first/docker/app");
        let without_lock = root.path().join("environments/stg/lambda_function");
        for dir in [&lambda, &app, &other_app, &without_lock] {
            fs::create_dir_all(dir).unwrap();
            fs::write(dir.join("package.json"), "{}").unwrap();
        }
        assert_eq!(migration_app(root.path()), None);
        fs::write(other_app.join("package-lock.json"), "{}").unwrap();
        assert_eq!(migration_app(root.path()), Some(other_app.clone()));
        fs::write(lambda.join("package-lock.json"), "{}").unwrap();
        fs::write(app.join("package-lock.json"), "{}").unwrap();
        assert_eq!(project_npm_packages(root.path()), vec![lambda]);
        assert_eq!(migration_app(root.path()), Some(app));
    }
}
