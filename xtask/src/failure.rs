//! Exit codes that tell a caller (a shell, a workflow step) what kind of failure happened.
//!
//! Errors travel as `anyhow::Error` with context; a [`Failure`] somewhere in the chain picks the
//! exit code. An error without one is a plain failure (exit 1).

use std::fmt;
use std::process::ExitCode;

/// What went wrong, as far as the caller of `cargo xtask` needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// A check found something to fix: stale generated files, unformatted code.
    CheckFailed,
    /// The configuration or the command line is wrong.
    Config,
    /// A tool, a credential or a service the command needs is missing.
    Environment,
    /// A remote API (GitHub, AWS, an LLM provider) answered with an error.
    Api,
    /// The operation itself failed: a terraform error, a migration that ended FAILED or ABORTED.
    OperationFailed,
    /// The operation did not finish in the time allowed; it may still be running.
    TimedOut,
    /// The user interrupted the command.
    Interrupted,
}

impl FailureKind {
    /// The documented process exit code (see the README's "Exit codes").
    pub fn code(self) -> u8 {
        match self {
            FailureKind::CheckFailed => 1,
            FailureKind::Config => 2,
            FailureKind::Environment => 3,
            FailureKind::Api => 4,
            FailureKind::OperationFailed => 5,
            FailureKind::TimedOut => 6,
            FailureKind::Interrupted => 130,
        }
    }
}

/// An error tagged with the exit code it should produce.
#[derive(Debug)]
pub struct Failure {
    pub kind: FailureKind,
    pub error: anyhow::Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#}", self.error)
    }
}

impl std::error::Error for Failure {}

/// Creates an error of the given kind from a message.
pub fn fail(kind: FailureKind, message: impl fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Failure {
        kind,
        error: anyhow::anyhow!("{message}"),
    })
}

/// Tags the error of a `Result` with an exit code.
pub trait Classify<T> {
    fn classify(self, kind: FailureKind) -> anyhow::Result<T>;
}

impl<T, E> Classify<T> for Result<T, E>
where
    E: Into<anyhow::Error>,
{
    fn classify(self, kind: FailureKind) -> anyhow::Result<T> {
        self.map_err(|error| {
            anyhow::Error::new(Failure {
                kind,
                error: error.into(),
            })
        })
    }
}

/// The mark of an error whose message was already printed where it happened (next to what it is
/// about, such as one environment of several), so that `main` does not print it a second time.
#[derive(Debug)]
struct Reported;

impl fmt::Display for Reported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(reported above)")
    }
}

/// Prints `error: ...` now, unless that already happened, and returns the error marked as
/// reported; its exit code is kept.
pub fn report(error: anyhow::Error) -> anyhow::Error {
    if is_reported(&error) {
        return error;
    }
    eprintln!("error: {error:#}");
    error.context(Reported)
}

/// Whether [`report`] already printed this error.
pub fn is_reported(error: &anyhow::Error) -> bool {
    error.downcast_ref::<Reported>().is_some()
        || error.chain().any(|cause| {
            cause
                .downcast_ref::<Failure>()
                .is_some_and(|failure| is_reported(&failure.error))
        })
}

/// The exit code for an error: the innermost classification wins, so a low-level "API error" is not
/// hidden by a generic wrapper.
pub fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    let kind = error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<Failure>())
        .last()
        .map(|failure| failure.kind);
    ExitCode::from(kind.map_or(1, FailureKind::code))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;

    #[test]
    fn context_keeps_the_classification() {
        let error = Err::<(), _>(anyhow::anyhow!("403 Forbidden"))
            .classify(FailureKind::Api)
            .context("posting the plan comment")
            .unwrap_err();
        assert_eq!(exit_code_for(&error), ExitCode::from(4));
        assert_eq!(
            format!("{error:#}"),
            "posting the plan comment: 403 Forbidden"
        );
    }

    #[test]
    fn a_reported_error_is_printed_once_and_keeps_its_exit_code() {
        let error = Err::<(), _>(anyhow::anyhow!("403 Forbidden"))
            .classify(FailureKind::Api)
            .unwrap_err();
        assert!(!is_reported(&error));
        let reported = report(error);
        assert!(is_reported(&reported));
        let wrapped = Err::<(), _>(reported)
            .context("posting the plans")
            .unwrap_err();
        assert!(is_reported(&wrapped));
        assert_eq!(exit_code_for(&wrapped), ExitCode::from(4));
        let classified = Err::<(), _>(wrapped)
            .classify(FailureKind::OperationFailed)
            .unwrap_err();
        assert!(is_reported(&classified));
    }

    #[test]
    fn unclassified_errors_exit_1() {
        assert_eq!(exit_code_for(&anyhow::anyhow!("boom")), ExitCode::from(1));
    }
}
