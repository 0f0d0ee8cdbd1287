//! The docker client: login, build, push. Argv only; the registry password goes on stdin. Build
//! and push logs go to stderr so stdout carries only our own results.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::failure::{Classify, Failure, FailureKind, fail};
use crate::migrate::ecr::RegistryLogin;

/// Runs `docker` (from PATH) in the repository root.
#[derive(Debug, Clone)]
pub struct Docker {
    dir: PathBuf,
}

fn spawn_error(error: std::io::Error, step: &str) -> anyhow::Error {
    if error.kind() == ErrorKind::NotFound {
        fail(
            FailureKind::Environment,
            format!(
                "{step}: `docker` is not on PATH; install the Docker CLI and start an engine (or use --dry-run)"
            ),
        )
    } else {
        anyhow::Error::new(Failure {
            kind: FailureKind::Environment,
            error: anyhow::Error::new(error).context(format!("{step}: running docker")),
        })
    }
}

impl Docker {
    pub fn new(root: &Path) -> Docker {
        Docker {
            dir: root.to_path_buf(),
        }
    }

    /// `docker login --username U --password-stdin REGISTRY`, the password on stdin.
    pub fn login(&self, login: &RegistryLogin) -> anyhow::Result<()> {
        let step = format!("docker login {}", login.registry);
        let output = duct::cmd(
            "docker",
            [
                "login",
                "--username",
                login.username.as_str(),
                "--password-stdin",
                login.registry.as_str(),
            ],
        )
        .dir(&self.dir)
        .stdin_bytes(login.password.as_bytes())
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| spawn_error(e, &step))?;
        if !output.status.success() {
            return Err(fail(
                FailureKind::Environment,
                format!(
                    "{step} failed ({}): {}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ),
            ));
        }
        Ok(())
    }

    /// `docker build --no-cache -t IMAGE CONTEXT`, its log on stderr.
    pub fn build(&self, argv: &[String]) -> anyhow::Result<()> {
        let step = format!("docker {}", argv.join(" "));
        let output = duct::cmd("docker", argv)
            .dir(&self.dir)
            .stdout_to_stderr()
            .unchecked()
            .run()
            .map_err(|e| spawn_error(e, &step))?;
        if !output.status.success() {
            return Err(fail(
                FailureKind::OperationFailed,
                format!("{step} failed ({}); see its log above", output.status),
            ));
        }
        Ok(())
    }

    /// `docker push IMAGE`; returns `<repository>@sha256:...` of what was pushed.
    pub fn push(&self, tagged_image: &str) -> anyhow::Result<String> {
        let step = format!("docker push {tagged_image}");
        let output = duct::cmd("docker", ["push", tagged_image])
            .dir(&self.dir)
            .stdout_capture()
            .unchecked()
            .run()
            .map_err(|e| spawn_error(e, &step))?;
        let text = String::from_utf8_lossy(&output.stdout);
        eprint!("{text}");
        if !output.status.success() {
            return Err(fail(
                FailureKind::OperationFailed,
                format!("{step} failed ({}); see its log above", output.status),
            ));
        }
        let repository = repository_of(tagged_image);
        if let Some(digest) = parse_push_digest(&text) {
            return Ok(format!("{repository}@{digest}"));
        }
        self.repo_digest(tagged_image, repository)
    }

    /// The pushed digest from `docker inspect`, when `docker push` did not print it.
    fn repo_digest(&self, tagged_image: &str, repository: &str) -> anyhow::Result<String> {
        let step = format!("docker inspect {tagged_image}");
        let output = duct::cmd(
            "docker",
            ["inspect", "--format", "{{json .RepoDigests}}", tagged_image],
        )
        .dir(&self.dir)
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| spawn_error(e, &step))?;
        let digests: Vec<String> = serde_json::from_slice(&output.stdout)
            .with_context(|| format!("{step}: RepoDigests is not a JSON list"))
            .classify(FailureKind::OperationFailed)?;
        digests
            .into_iter()
            .find(|d| {
                d.split_once('@')
                    .is_some_and(|(repo, _)| repo == repository)
            })
            .ok_or_else(|| {
                fail(
                    FailureKind::OperationFailed,
                    format!(
                        "{step}: no digest for {repository}; the push did not report what it pushed"
                    ),
                )
            })
    }
}

/// `repo:tag` -> `repo` (a registry port's colon is kept).
pub fn repository_of(tagged_image: &str) -> &str {
    match tagged_image.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => tagged_image,
    }
}

/// The digest in `docker push` output: `<tag>: digest: sha256:<64 hex> size: N`.
pub fn parse_push_digest(output: &str) -> Option<String> {
    output.lines().rev().find_map(|line| {
        let rest = line.split("digest: ").nth(1)?;
        let digest = rest.split_whitespace().next()?;
        let hex = digest.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| digest.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_from_push_output() {
        let digest = format!("sha256:{}", "ab".repeat(32));
        let output = format!(
            "The push refers to repository [r/x]\n5f70bf18a086: Pushed\nabc: digest: {digest} size: 528\n"
        );
        assert_eq!(parse_push_digest(&output), Some(digest));
        assert_eq!(parse_push_digest("digest: sha256:short size: 1"), None);
        assert_eq!(parse_push_digest(""), None);
    }

    #[test]
    fn repositories_keep_registry_ports() {
        assert_eq!(
            repository_of("1.dkr.ecr.r.amazonaws.com/dev/db:abc"),
            "1.dkr.ecr.r.amazonaws.com/dev/db"
        );
        assert_eq!(repository_of("localhost:5000/db"), "localhost:5000/db");
        assert_eq!(repository_of("localhost:5000/db:t"), "localhost:5000/db");
    }
}
