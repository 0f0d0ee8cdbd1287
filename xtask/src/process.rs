//! The one way this crate runs a program: argv only (never a shell string). Short commands whose
//! output is parsed are written with xshell's `cmd!` on a [`shell`] and run through [`Cmd`] (as
//! rust-analyzer's xtask does); long ones whose log the user watches, or whose output goes to a
//! file, stream through duct as a [`Program`]. Either way a program that cannot start or ends
//! badly is a [`ProgramFailed`] with its command line (secrets masked), exit status and the tail
//! of its stderr; a program that is not installed names what to install.

use std::ffi::OsString;
use std::fmt;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::failure::{Classify, Failure, FailureKind};

/// How many trailing lines of stderr a [`ProgramFailed`] keeps.
const STDERR_TAIL_LINES: usize = 20;

/// A program with its arguments, working directory and environment.
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
    stdin: Option<Vec<u8>>,
    install_hint: Option<String>,
    kind: FailureKind,
}

/// How a program ended and what it printed.
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

impl Finished {
    /// `exit 3`, or `killed by a signal`.
    pub fn status(&self) -> String {
        status_text(self.code)
    }

    /// stdout then stderr, for error extraction.
    pub fn combined(&self) -> String {
        format!("{}\n{}", self.output, self.stderr)
    }
}

fn status_text(code: Option<i32>) -> String {
    code.map_or_else(
        || "killed by a signal".to_owned(),
        |code| format!("exit {code}"),
    )
}

/// A program could not start, or ended without success.
#[derive(Debug)]
pub struct ProgramFailed {
    /// The command line, with the job's secrets masked.
    pub command: String,
    /// Why it did not run or how it ended.
    pub reason: Reason,
}

#[derive(Debug)]
pub enum Reason {
    /// Not on PATH; the text says what to install.
    NotInstalled(String),
    /// Starting it or reading its output failed.
    Io(std::io::Error),
    /// It ran and failed: its exit code (`None` for a signal) and the last lines of its stderr.
    Exited {
        code: Option<i32>,
        stderr_tail: String,
    },
}

impl fmt::Display for ProgramFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let program = self.command.split(' ').next().unwrap_or_default();
        match &self.reason {
            Reason::NotInstalled(hint) => write!(
                f,
                "starting `{}`: `{program}` is not installed or not on PATH: {hint}",
                self.command
            ),
            // The error itself is the source, which `{:#}` prints after this.
            Reason::Io(_) => write!(f, "starting `{}`", self.command),
            Reason::Exited { code, stderr_tail } if stderr_tail.is_empty() => {
                write!(f, "`{}` failed ({})", self.command, status_text(*code))
            }
            Reason::Exited { code, stderr_tail } => write!(
                f,
                "`{}` failed ({}): {stderr_tail}",
                self.command,
                status_text(*code)
            ),
        }
    }
}

impl std::error::Error for ProgramFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.reason {
            Reason::Io(error) => Some(error),
            _ => None,
        }
    }
}

fn classified(kind: FailureKind, failed: ProgramFailed) -> anyhow::Error {
    anyhow::Error::new(Failure {
        kind,
        error: anyhow::Error::new(failed),
    })
}

/// What to tell the user when a program without its own hint is not installed.
const DEFAULT_INSTALL_HINT: &str =
    "install it, or put its directory on PATH (`cargo xtask doctor` lists the tools)";

/// The error for a program that is not installed: always an environment failure (3).
fn not_installed(command: String, hint: Option<&str>) -> anyhow::Error {
    let hint = hint.unwrap_or(DEFAULT_INSTALL_HINT).to_owned();
    let failed = ProgramFailed {
        command,
        reason: Reason::NotInstalled(hint),
    };
    classified(FailureKind::Environment, failed)
}

/// The error for a program that could not be started or read: an environment failure (3).
fn not_started(command: String, error: std::io::Error) -> anyhow::Error {
    let failed = ProgramFailed {
        command,
        reason: Reason::Io(error),
    };
    classified(FailureKind::Environment, failed)
}

/// The error for a program that ran and failed, with the exit code of `kind`.
fn exited(command: String, kind: FailureKind, finished: &Finished) -> anyhow::Error {
    let failed = ProgramFailed {
        command,
        reason: Reason::Exited {
            code: finished.code,
            stderr_tail: tail(&finished.stderr),
        },
    };
    classified(kind, failed)
}

/// A [`xshell::Shell`] whose commands run in `dir`: write short commands as
/// `Cmd::new(cmd!(sh, "git rev-parse {rev}"))`.
pub fn shell(dir: &Path) -> anyhow::Result<xshell::Shell> {
    let sh = xshell::Shell::new()
        .context("reading the current directory to run a program")
        .classify(FailureKind::Environment)?;
    sh.change_dir(dir);
    Ok(sh)
}

/// A short command from xshell's `cmd!`, run quietly with its output captured. xshell runs it;
/// this maps how it ended into a [`Finished`] or a [`ProgramFailed`], as [`Program`] does.
#[derive(Debug)]
#[must_use]
pub struct Cmd<'a> {
    cmd: xshell::Cmd<'a>,
    install_hint: Option<String>,
    kind: FailureKind,
}

impl<'a> Cmd<'a> {
    pub fn new(cmd: xshell::Cmd<'a>) -> Cmd<'a> {
        Cmd {
            cmd,
            install_hint: None,
            kind: FailureKind::OperationFailed,
        }
    }

    /// What to tell the user when the program is not installed.
    pub fn install_hint(mut self, hint: impl Into<String>) -> Cmd<'a> {
        self.install_hint = Some(hint.into());
        self
    }

    /// The exit code of a failure of this program (default: the operation failed, 5); a program
    /// that is not installed is always an environment failure (3).
    pub fn failure_kind(mut self, kind: FailureKind) -> Cmd<'a> {
        self.kind = kind;
        self
    }

    /// Drops the variables `cargo run` gave this process, as [`Program::without_cargo_run_env`].
    pub fn without_cargo_run_env(mut self) -> Cmd<'a> {
        for name in cargo_run_variables() {
            self.cmd = self.cmd.env_remove(name);
        }
        self
    }

    /// The command line as xshell writes it (an argument with spaces quoted), with the job's
    /// secrets masked.
    pub fn display(&self) -> String {
        crate::redact::mask_job_secrets(&self.cmd.to_string()).into_owned()
    }

    /// Runs the command quietly and returns how it ended, with stdout and stderr apart.
    pub fn run_captured(self) -> anyhow::Result<Finished> {
        let command = self.display();
        let hint = self.install_hint;
        // The exit status is ours to judge, so xshell's errors are only those of starting the
        // program or of feeding and reading it.
        let output = self.cmd.ignore_status().output().map_err(|error| {
            // xshell keeps its error's kind private; this is how it says the program was not
            // found (a missing working directory is another message).
            if error.to_string().starts_with("command not found: ") {
                not_installed(command.clone(), hint.as_deref())
            } else {
                let text = crate::redact::mask_job_secrets(&error.to_string()).into_owned();
                not_started(command.clone(), std::io::Error::other(text))
            }
        })?;
        Ok(Finished {
            success: output.status.success(),
            code: output.status.code(),
            output: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Runs the command quietly and returns its stdout; a failure is a [`ProgramFailed`] with
    /// its stderr.
    pub fn read(self) -> anyhow::Result<String> {
        let command = self.display();
        let kind = self.kind;
        let finished = self.run_captured()?;
        if !finished.success {
            return Err(exited(command, kind, &finished));
        }
        Ok(finished.output)
    }
}

/// The last lines of a program's stderr, trimmed.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim().lines().collect();
    lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n")
}

impl Program {
    pub fn new(program: impl Into<OsString>, dir: &Path) -> Program {
        Program {
            program: program.into(),
            args: Vec::new(),
            dir: dir.to_path_buf(),
            env: Vec::new(),
            env_remove: Vec::new(),
            stdin: None,
            install_hint: None,
            kind: FailureKind::OperationFailed,
        }
    }

    /// Drops the package variables that `cargo run` gave this process (`CARGO_PKG_NAME`,
    /// `CARGO_MANIFEST_DIR`, ...). A nested cargo compares them with the values recorded for
    /// build scripts that declare `rerun-if-env-changed` on them (ring's does), so inheriting
    /// the xtask's values would rebuild those crates on every run, and again on the next one
    /// from a plain shell.
    pub fn without_cargo_run_env(mut self) -> Program {
        self.env_remove.extend(cargo_run_variables());
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

    /// Bytes for the program's stdin (a password, a text to format); otherwise stdin is empty.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Program {
        self.stdin = Some(bytes.into());
        self
    }

    /// What to tell the user when the program is not installed.
    pub fn install_hint(mut self, hint: impl Into<String>) -> Program {
        self.install_hint = Some(hint.into());
        self
    }

    /// The exit code of a failure of this program (default: the operation failed, 5); a program
    /// that is not installed is always an environment failure (3).
    pub fn failure_kind(mut self, kind: FailureKind) -> Program {
        self.kind = kind;
        self
    }

    /// The command line as a reader would type it, with the job's secrets masked.
    pub fn display(&self) -> String {
        let mut words = vec![self.program.to_string_lossy().into_owned()];
        words.extend(
            self.args
                .iter()
                .map(|arg| arg.to_string_lossy().into_owned()),
        );
        crate::redact::mask_job_secrets(&words.join(" ")).into_owned()
    }

    fn expression(&self) -> duct::Expression {
        let mut expression = duct::cmd(&self.program, &self.args)
            .dir(&self.dir)
            .unchecked();
        expression = match &self.stdin {
            Some(bytes) => expression.stdin_bytes(bytes.clone()),
            None => expression.stdin_null(),
        };
        for name in &self.env_remove {
            expression = expression.env_remove(name);
        }
        for (name, value) in &self.env {
            expression = expression.env(name, value);
        }
        expression
    }

    /// The error for a program that could not start or be read.
    fn io_error(&self, error: std::io::Error) -> anyhow::Error {
        if error.kind() == std::io::ErrorKind::NotFound {
            not_installed(self.display(), self.install_hint.as_deref())
        } else {
            not_started(self.display(), error)
        }
    }

    /// The error for a program that ran and failed.
    pub fn exit_error(&self, finished: &Finished) -> anyhow::Error {
        exited(self.display(), self.kind, finished)
    }

    /// Runs the program, echoing each line of its output (stdout and stderr) to stdout as it
    /// comes and keeping it all.
    pub fn run_streaming(&self) -> anyhow::Result<Finished> {
        self.stream(&mut std::io::stdout())
    }

    /// Like [`Program::run_streaming`], echoing to stderr so that stdout keeps only our results.
    pub fn run_streaming_to_stderr(&self) -> anyhow::Result<Finished> {
        self.stream(&mut std::io::stderr())
    }

    fn stream(&self, echo: &mut dyn Write) -> anyhow::Result<Finished> {
        let reader = self
            .expression()
            .stderr_to_stdout()
            .reader()
            .map_err(|error| self.io_error(error))?;
        let mut output = String::new();
        let mut lines = BufReader::new(&reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            let read = lines
                .read_until(b'\n', &mut line)
                .map_err(|error| self.io_error(error))?;
            if read == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&line);
            output.push_str(&text);
            // A closed stdout (a pager that quit) must not stop the run, only its echo.
            let _ = echo.write_all(text.as_bytes());
            let _ = echo.flush();
        }
        let status = reader
            .try_wait()
            .map_err(|error| self.io_error(error))?
            .map(|finished| finished.status)
            .with_context(|| format!("`{}` closed its output but did not exit", self.display()))?;
        Ok(Finished {
            success: status.success(),
            code: status.code(),
            output,
            stderr: String::new(),
        })
    }

    /// Runs the program quietly and returns how it ended, with stdout and stderr apart.
    pub fn run_captured(&self) -> anyhow::Result<Finished> {
        let output = self
            .expression()
            .stdout_capture()
            .stderr_capture()
            .run()
            .map_err(|error| self.io_error(error))?;
        Ok(Finished {
            success: output.status.success(),
            code: output.status.code(),
            output: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    /// Runs the program quietly with stdout written to `path` (an output too big to hold).
    pub fn run_to_file(&self, path: &Path) -> anyhow::Result<()> {
        let output = self
            .expression()
            .stdout_path(path)
            .stderr_capture()
            .run()
            .map_err(|error| self.io_error(error))?;
        let finished = Finished {
            success: output.status.success(),
            code: output.status.code(),
            output: String::new(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        if finished.success {
            Ok(())
        } else {
            Err(self.exit_error(&finished))
        }
    }

    /// Runs the program quietly and returns its stdout; a failure is a [`ProgramFailed`] with
    /// its stderr.
    pub fn read(&self) -> anyhow::Result<String> {
        let finished = self.run_captured()?;
        if !finished.success {
            return Err(self.exit_error(&finished));
        }
        Ok(finished.output)
    }
}

/// The variables of this process that `cargo run` set (see [`is_cargo_run_variable`]).
fn cargo_run_variables() -> impl Iterator<Item = OsString> {
    std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| is_cargo_run_variable(&name.to_string_lossy()))
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

/// The first `program` on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
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
            format!("{error:#}").contains("failed (exit 1): broken"),
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
    fn a_missing_program_is_an_environment_failure_that_says_what_to_install() {
        let error = Program::new("xtask-no-such-tool", &std::env::temp_dir())
            .install_hint("install the no-such-tool package")
            .run_captured()
            .unwrap_err();
        assert_eq!(
            crate::failure::exit_code_for(&error),
            std::process::ExitCode::from(3)
        );
        assert_eq!(
            format!("{error:#}"),
            "starting `xtask-no-such-tool`: `xtask-no-such-tool` is not installed or not on PATH: \
             install the no-such-tool package"
        );
        let failure = error.downcast_ref::<Failure>().unwrap();
        assert!(failure.error.is::<ProgramFailed>());
        let streamed = Program::new("/nonexistent/xtask-no-such-tool", &std::env::temp_dir())
            .run_streaming()
            .unwrap_err();
        assert_eq!(
            crate::failure::exit_code_for(&streamed),
            std::process::ExitCode::from(3)
        );
    }

    #[test]
    fn a_short_command_reads_stdout_in_its_shell_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("marker"), "").unwrap();
        let sh = shell(dir.path()).unwrap();
        let name = "marker";
        let output = Cmd::new(xshell::cmd!(sh, "ls {name}")).read().unwrap();
        assert_eq!(output, "marker\n");
        let script = "printf out; echo err >&2; exit 4";
        let finished = Cmd::new(xshell::cmd!(sh, "sh -c {script}"))
            .run_captured()
            .unwrap();
        assert!(!finished.success);
        assert_eq!(finished.code, Some(4));
        assert_eq!(finished.output, "out");
        assert_eq!(finished.stderr, "err\n");
    }

    #[test]
    fn a_short_command_gets_its_stdin() {
        let sh = shell(&std::env::temp_dir()).unwrap();
        let output = Cmd::new(xshell::cmd!(sh, "cat").stdin("password\n"))
            .read()
            .unwrap();
        assert_eq!(output, "password\n");
    }

    #[test]
    fn a_short_command_fails_as_a_program_does() {
        let sh = shell(&std::env::temp_dir()).unwrap();
        let script = "for i in $(seq 1 30); do echo line$i >&2; done; exit 2";
        let error = Cmd::new(xshell::cmd!(sh, "sh -c {script}"))
            .failure_kind(FailureKind::Config)
            .read()
            .unwrap_err();
        let text = format!("{error:#}");
        assert!(
            text.starts_with(&format!(
                "`sh -c \"{script}\"` failed (exit 2): line11\nline12"
            )),
            "{text}"
        );
        assert!(!text.contains("line10\n"), "{text}");
        assert_eq!(
            crate::failure::exit_code_for(&error),
            std::process::ExitCode::from(2)
        );
        let failure = error.downcast_ref::<Failure>().unwrap();
        assert!(failure.error.is::<ProgramFailed>());

        let missing = Cmd::new(xshell::cmd!(sh, "xtask-no-such-tool --version"))
            .install_hint("install the no-such-tool package")
            .read()
            .unwrap_err();
        assert_eq!(
            crate::failure::exit_code_for(&missing),
            std::process::ExitCode::from(3)
        );
        assert_eq!(
            format!("{missing:#}"),
            "starting `xtask-no-such-tool --version`: `xtask-no-such-tool` is not installed or \
             not on PATH: install the no-such-tool package"
        );
        let failure = missing.downcast_ref::<Failure>().unwrap();
        assert!(failure.error.is::<ProgramFailed>());
    }

    #[test]
    fn a_short_command_that_cannot_start_is_an_environment_failure() {
        let dir = tempfile::tempdir().unwrap();
        let sh = shell(dir.path()).unwrap();
        let missing = dir.path().join("no-such-tool");
        let error = Cmd::new(xshell::cmd!(sh, "{missing}")).read().unwrap_err();
        assert!(
            format!("{error:#}").contains("is not installed or not on PATH: install it"),
            "{error:#}"
        );
        // A file that is not executable starts with an I/O error, not "not installed".
        let not_executable = dir.path().join("script");
        std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
        let error = Cmd::new(xshell::cmd!(sh, "{not_executable}"))
            .run_captured()
            .unwrap_err();
        let text = format!("{error:#}");
        assert!(
            text.starts_with(&format!("starting `{}`: ", not_executable.display())),
            "{text}"
        );
        assert!(text.contains("Permission denied"), "{text}");
        assert_eq!(
            crate::failure::exit_code_for(&error),
            std::process::ExitCode::from(3)
        );
    }

    #[test]
    fn a_failure_keeps_the_tail_of_stderr_and_its_exit_code() {
        let error = Program::new("sh", &std::env::temp_dir())
            .args([
                "-c",
                "for i in $(seq 1 30); do echo line$i >&2; done; exit 2",
            ])
            .failure_kind(FailureKind::Config)
            .read()
            .unwrap_err();
        let text = format!("{error:#}");
        assert!(text.contains("failed (exit 2): line11\nline12"), "{text}");
        assert!(!text.contains("line10\n"), "{text}");
        assert_eq!(
            crate::failure::exit_code_for(&error),
            std::process::ExitCode::from(2)
        );
    }
}
