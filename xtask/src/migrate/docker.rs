//! The docker client: login, build, push. Argv only; the registry password goes on stdin. Build
//! and push logs go to stderr so stdout carries only our own results.

use std::path::{Path, PathBuf};

use anyhow::Context;
use xshell::cmd;

use crate::failure::{Classify, FailureKind, fail};
use crate::migrate::ecr::RegistryLogin;
use crate::process::{self, Cmd, Program};

const INSTALL_HINT: &str = "install the Docker CLI and start an engine (or use --dry-run)";

/// Runs `docker` (from PATH) in the repository root.
#[derive(Debug, Clone)]
pub struct Docker {
    dir: PathBuf,
}

impl Docker {
    pub fn new(root: &Path) -> Docker {
        Docker {
            dir: root.to_path_buf(),
        }
    }

    fn program<I, S>(&self, args: I) -> Program
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        Program::new("docker", &self.dir)
            .args(args)
            .install_hint(INSTALL_HINT)
    }

    /// `docker login --username U --password-stdin REGISTRY`, the password on stdin.
    pub fn login(&self, login: &RegistryLogin) -> anyhow::Result<()> {
        let sh = process::shell(&self.dir)?;
        let (username, registry) = (&login.username, &login.registry);
        let login_cmd = cmd!(
            sh,
            "docker login --username {username} --password-stdin {registry}"
        )
        .stdin(login.password.as_bytes());
        Cmd::new(login_cmd)
            .install_hint(INSTALL_HINT)
            .failure_kind(FailureKind::Environment)
            .read()
            .map(drop)
    }

    /// `docker build --no-cache -t IMAGE CONTEXT`, its log on stderr.
    pub fn build(&self, argv: &[String]) -> anyhow::Result<()> {
        let program = self.program(argv);
        let finished = program.run_streaming_to_stderr()?;
        if !finished.success {
            return Err(program.exit_error(&finished).context("see its log above"));
        }
        Ok(())
    }

    /// `docker push IMAGE`; returns `<repository>@sha256:...` of what was pushed.
    pub fn push(&self, tagged_image: &str) -> anyhow::Result<String> {
        let program = self.program(["push", tagged_image]);
        let finished = program.run_streaming_to_stderr()?;
        if !finished.success {
            return Err(program.exit_error(&finished).context("see its log above"));
        }
        let repository = repository_of(tagged_image);
        if let Some(digest) = parse_push_digest(&finished.output) {
            return Ok(format!("{repository}@{digest}"));
        }
        self.repo_digest(tagged_image, repository)
    }

    /// The pushed digest from `docker inspect`, when `docker push` did not print it.
    fn repo_digest(&self, tagged_image: &str, repository: &str) -> anyhow::Result<String> {
        let step = format!("docker inspect {tagged_image}");
        let sh = process::shell(&self.dir)?;
        let format = "{{json .RepoDigests}}";
        let output = Cmd::new(cmd!(sh, "docker inspect --format {format} {tagged_image}"))
            .install_hint(INSTALL_HINT)
            .read()?;
        let digests: Vec<String> = serde_json::from_str(&output)
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
