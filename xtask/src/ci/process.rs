//! Runs the programs of the CI stages: argv only (never a shell string), output shown live and kept
//! for the summary parsers.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::failure::{Classify, FailureKind};

/// A program with its arguments, working directory and extra environment.
#[derive(Debug, Clone)]
pub struct Program {
    /// A name looked up on PATH, or a path. Kept as a string: duct treats a `Path` program as
    /// relative to the working directory, which would turn `node` into `./node`.
    pub program: OsString,
    pub args: Vec<OsString>,
    pub dir: PathBuf,
    pub env: Vec<(OsString, OsString)>,
    /// Variables removed from the inherited environment.
    pub env_remove: Vec<OsString>,
}

/// How a program ended and what it printed (stdout and stderr interleaved as they came).
#[derive(Debug)]
pub struct Finished {
    pub success: bool,
    /// The exit code; `None` when a signal ended the program.
    pub code: Option<i32>,
    /// stdout, with stderr interleaved when streamed.
    pub output: String,
    /// stderr when captured apart ([`Program::run_captured`]); empty when streamed.
    pub stderr: String,
}

impl Program {
    pub fn new(program: impl Into<OsString>, dir: &Path) -> Program {
        Program {
            program: program.into(),
            args: Vec::new(),
            dir: dir.to_path_buf(),
            env: Vec::new(),
            env_remove: Vec::new(),
        }
    }

    /// Drops the package variables that `cargo run` gave this process (`CARGO_PKG_NAME`,
    /// `CARGO_MANIFEST_DIR`, ...). A nested cargo compares them with the values recorded for
    /// build scripts that declare `rerun-if-env-changed` on them (ring's does), so inheriting
    /// the xtask's values would rebuild those crates on every run, and again on the next one
    /// from a plain shell.
    pub fn without_cargo_run_env(mut self) -> Program {
        self.env_remove.extend(
            std::env::vars_os()
                .map(|(name, _)| name)
                .filter(|name| is_cargo_run_variable(&name.to_string_lossy())),
        );
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Program {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Program
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<OsString>, value: impl Into<OsString>) -> Program {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn envs(mut self, vars: &[(OsString, OsString)]) -> Program {
        self.env.extend(vars.iter().cloned());
        self
    }

    /// The command line as a reader would type it (for logs; arguments never carry secrets here).
    pub fn display(&self) -> String {
        let mut words = vec![self.program.to_string_lossy().into_owned()];
        words.extend(
            self.args
                .iter()
                .map(|arg| arg.to_string_lossy().into_owned()),
        );
        words.join(" ")
    }

    fn expression(&self) -> duct::Expression {
        let mut expression = duct::cmd(&self.program, &self.args)
            .dir(&self.dir)
            .stdin_null();
        for name in &self.env_remove {
            expression = expression.env_remove(name);
        }
        for (name, value) in &self.env {
            expression = expression.env(name, value);
        }
        expression
    }

    /// Runs the program, echoing each line of its output as it comes and keeping it all.
    pub fn run_streaming(&self) -> anyhow::Result<Finished> {
        let command = self.display();
        let reader = self
            .expression()
            .stderr_to_stdout()
            .unchecked()
            .reader()
            .with_context(|| format!("starting `{command}`"))
            .classify(FailureKind::Environment)?;
        let mut output = String::new();
        let mut lines = BufReader::new(&reader);
        let mut line = Vec::new();
        let stdout = std::io::stdout();
        loop {
            line.clear();
            let read = lines
                .read_until(b'\n', &mut line)
                .with_context(|| format!("reading the output of `{command}`"))?;
            if read == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&line);
            output.push_str(&text);
            let mut out = stdout.lock();
            // A closed stdout (a pager that quit) must not stop the run, only its echo.
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
        let status = reader
            .try_wait()
            .with_context(|| format!("waiting for `{command}`"))?
            .map(|finished| finished.status)
            .with_context(|| format!("`{command}` closed its output but did not exit"))?;
        Ok(Finished {
            success: status.success(),
            code: status.code(),
            output,
            stderr: String::new(),
        })
    }

    /// Runs the program quietly and returns how it ended, with stdout and stderr apart.
    pub fn run_captured(&self) -> anyhow::Result<Finished> {
        let command = self.display();
        let output = self
            .expression()
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .run()
            .with_context(|| format!("starting `{command}`"))
            .classify(FailureKind::Environment)?;
        Ok(Finished {
            success: output.status.success(),
            code: output.status.code(),
            output: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Runs the program quietly and returns its stdout; a failure carries its stderr.
    pub fn read(&self) -> anyhow::Result<String> {
        let finished = self.run_captured()?;
        if !finished.success {
            let status = finished.code.map_or_else(
                || "killed by a signal".to_owned(),
                |code| format!("exit status: {code}"),
            );
            anyhow::bail!(
                "`{}` failed ({status}): {}",
                self.display(),
                finished.stderr.trim()
            );
        }
        Ok(finished.output)
    }
}

/// Whether `cargo run` sets this variable for the program it runs (as opposed to the user's own
/// cargo settings such as `CARGO_HOME` or `CARGO_TARGET_DIR`, which must be kept).
pub fn is_cargo_run_variable(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_MANIFEST_")
        || matches!(
            name,
            "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "OUT_DIR"
        )
}

/// A PATH with `dirs` in front of the current one, so the stages find the tools installed for them.
pub fn path_with(dirs: &[PathBuf]) -> anyhow::Result<OsString> {
    let current = std::env::var_os("PATH").unwrap_or_default();
    let all = dirs.iter().cloned().chain(std::env::split_paths(&current));
    std::env::join_paths(all).context("building PATH for the CI stages")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_keeps_stdout_and_stderr_and_the_exit_code() {
        let dir = std::env::temp_dir();
        let finished = Program::new("sh", &dir)
            .args(["-c", "echo out; echo err >&2; exit 3"])
            .run_streaming()
            .unwrap();
        assert!(!finished.success);
        assert_eq!(finished.code, Some(3));
        assert!(finished.output.contains("out\n"), "{}", finished.output);
        assert!(finished.output.contains("err\n"), "{}", finished.output);
    }

    #[test]
    fn read_reports_the_stderr_of_a_failure() {
        let dir = std::env::temp_dir();
        let error = Program::new("sh", &dir)
            .args(["-c", "echo broken >&2; exit 1"])
            .read()
            .unwrap_err();
        assert!(
            format!("{error:#}").contains("failed (exit status: 1): broken"),
            "{error:#}"
        );
    }

    #[test]
    fn only_the_variables_of_cargo_run_are_dropped() {
        for name in [
            "CARGO_PKG_NAME",
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_CRATE_NAME",
            "OUT_DIR",
        ] {
            assert!(is_cargo_run_variable(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_TERM_COLOR",
            "PATH",
        ] {
            assert!(!is_cargo_run_variable(name), "{name}");
        }
    }

    #[test]
    fn a_missing_program_is_an_environment_failure() {
        let error = Program::new("/nonexistent/xtask-no-such-tool", &std::env::temp_dir())
            .run_streaming()
            .unwrap_err();
        assert_eq!(
            crate::failure::exit_code_for(&error),
            std::process::ExitCode::from(3)
        );
    }
}
