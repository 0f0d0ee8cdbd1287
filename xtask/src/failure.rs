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

/// An error tagged with the exit code it should produce. It reads as the error it classifies: its
/// message is that error's own and its [`source`](std::error::Error::source) is that error's
/// source, so `{:#}` and anyhow's `chain()` go on through it.
#[derive(Debug)]
pub struct Failure {
    pub kind: FailureKind,
    pub error: anyhow::Error,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.error)
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// How a command that ran to its end turned out. A check that found drift or a migration that ended
/// FAILED is the answer the command was asked for, not an error of the tool: the library returns it
/// as a value, and `main` turns it into the exit code in the same place as errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The answer is "no": `summary` says what was found and what to do next.
    Unsuccessful {
        kind: FailureKind,
        summary: String,
    },
}

/// A command that has no outcome but success returns `()`.
impl From<()> for Outcome {
    fn from((): ()) -> Outcome {
        Outcome::Success
    }
}

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

impl std::error::Error for Reported {}

/// Prints `error: ...` now, unless that already happened, and returns the error marked as
/// reported; its exit code is kept.
pub fn report(error: anyhow::Error) -> anyhow::Error {
    if is_reported(&error) {
        return error;
    }
    // An error may quote what a server or a tool said, which may echo a secret.
    eprintln!("error: {}", crate::redact::redact(&format!("{error:#}")));
    error.context(Reported)
}

/// Whether [`report`] already printed this error.
pub fn is_reported(error: &anyhow::Error) -> bool {
    find_cause::<Reported>(error).is_some()
}

/// The first `T` in an error: in anyhow's chain (context values included), and at the top of every
/// classified error, which its [`Failure`] stands for in the chain. The one walk of the chain that
/// every "is there a ... in this error" question uses.
pub fn find_cause<T>(error: &anyhow::Error) -> Option<&T>
where
    T: std::error::Error + Send + Sync + 'static,
{
    error.downcast_ref::<T>().or_else(|| {
        error.chain().find_map(|cause| {
            cause.downcast_ref::<T>().or_else(|| {
                cause
                    .downcast_ref::<Failure>()
                    .and_then(|failure| find_cause(&failure.error))
            })
        })
    })
}

/// The classification of an error: the outermost one, since a caller that classifies an error
/// again (an API error that means the operation failed) knows what it means to the user.
pub fn kind_of(error: &anyhow::Error) -> Option<FailureKind> {
    find_cause::<Failure>(error).map(|failure| failure.kind)
}

/// The exit code for an error: its [`kind_of`], or 1 for an unclassified failure.
pub fn exit_code_for(error: &anyhow::Error) -> ExitCode {
    ExitCode::from(kind_of(error).map_or(1, FailureKind::code))
}

/// An error and its sources as one sentence: each level's message once, joined with `: `.
///
/// Use it for errors whose `Display` is only the top of the story (the AWS SDK's `SdkError` says
/// "dispatch failure" or "service error"), instead of `DisplayErrorContext`, which appends the
/// whole `Debug` form (kilobytes of nested structs) to the sentence.
pub fn error_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut next = Some(error);
    while let Some(level) = next {
        let message = level.to_string();
        let message = message.trim();
        // Many levels repeat their source in their own message; say each thing once.
        if !message.is_empty() && !text.contains(message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(message);
        }
        next = level.source();
    }
    text
}

/// An error of `kind` that says `what` failed and why, from an error with sources (an AWS SDK
/// error): a sentence, never a `Debug` dump.
pub fn fail_with(
    kind: FailureKind,
    what: impl fmt::Display,
    error: &(dyn std::error::Error + 'static),
) -> anyhow::Error {
    fail(kind, format!("{what}: {}", error_text(error)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use anyhow::Context;
    use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};

    fn refused() -> SdkError<std::io::Error, ()> {
        SdkError::dispatch_failure(ConnectorError::io(Box::new(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "tcp connect error: Connection refused (os error 111)",
        ))))
    }

    #[test]
    fn sdk_errors_read_as_a_sentence_without_a_debug_dump() {
        // What the SDK's own helper gives: the sentence, then the Debug form of every level.
        let dumped = aws_sdk_sfn::error::DisplayErrorContext(refused()).to_string();
        assert!(dumped.contains("DispatchFailure("), "{dumped}");
        let error = fail_with(FailureKind::Api, "starting the execution", &refused());
        let text = format!("{error:#}");
        assert_eq!(
            text,
            "starting the execution: dispatch failure: io error: tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(exit_code_for(&error), ExitCode::from(4));
    }

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
    fn the_chain_goes_on_through_a_classification() {
        let error = Err::<(), _>(std::io::Error::other("disk full"))
            .context("writing x")
            .classify(FailureKind::Environment)
            .context("generating")
            .unwrap_err();
        assert_eq!(format!("{error:#}"), "generating: writing x: disk full");
        assert!(error.chain().any(|cause| cause.is::<std::io::Error>()));
        assert!(find_cause::<std::io::Error>(&error).is_some());
        assert_eq!(exit_code_for(&error), ExitCode::from(3));
    }

    #[test]
    fn the_outermost_classification_picks_the_exit_code() {
        let error = Err::<(), _>(fail(FailureKind::Api, "403 Forbidden"))
            .context("starting the migration")
            .classify(FailureKind::OperationFailed)
            .unwrap_err();
        assert_eq!(exit_code_for(&error), ExitCode::from(5));
        assert_eq!(
            format!("{error:#}"),
            "starting the migration: 403 Forbidden"
        );
    }

    #[test]
    fn unclassified_errors_exit_1() {
        assert_eq!(exit_code_for(&anyhow::anyhow!("boom")), ExitCode::from(1));
    }
}
