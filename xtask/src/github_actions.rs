//! The files and log commands a GitHub Actions step talks to the runner through: the job summary
//! (`GITHUB_STEP_SUMMARY`), step outputs (`GITHUB_OUTPUT`) and `::warning` annotations.
//!
//! Outside Actions the variables are unset and the writers do nothing, so a command runs the same
//! way on a laptop.

use std::collections::hash_map::RandomState;
use std::fmt::Write as _;
use std::hash::{BuildHasher, Hasher};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::failure::{Classify, FailureKind, fail};

fn env_path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|value| !value.is_empty())
        .map(PathBuf::from)
}

/// Appends markdown to the job summary; returns whether there was one to append to.
pub fn append_step_summary(markdown: &str) -> anyhow::Result<bool> {
    match env_path("GITHUB_STEP_SUMMARY") {
        Some(path) => {
            let markdown = crate::redact::mask_job_secrets(markdown);
            append(&path, &format!("{markdown}\n"), "the job summary").map(|()| true)
        }
        None => Ok(false),
    }
}

/// Sets a step output (multi-line safe); returns whether `GITHUB_OUTPUT` was there.
pub fn set_output(name: &str, value: &str) -> anyhow::Result<bool> {
    match env_path("GITHUB_OUTPUT") {
        Some(path) => {
            let value = crate::redact::mask_job_secrets(value);
            let record = output_record(name, &value, &random_token())?;
            append(&path, &record, "the step outputs").map(|()| true)
        }
        None => Ok(false),
    }
}

/// Sets single-line step outputs as `name=value` lines, in one write; returns whether
/// `GITHUB_OUTPUT` was there. A value with a line break is refused (use [`set_output`]).
pub fn set_line_outputs(pairs: &[(&str, &str)]) -> anyhow::Result<bool> {
    let Some(path) = env_path("GITHUB_OUTPUT") else {
        return Ok(false);
    };
    let mut text = String::new();
    for (name, value) in pairs {
        if name.is_empty() || name.contains(['\n', '\r', '<', '=']) || value.contains(['\n', '\r'])
        {
            return Err(fail(
                FailureKind::OperationFailed,
                format!("step output `{name}` must be one line with a plain name"),
            ));
        }
        let _ = writeln!(text, "{name}={}", crate::redact::mask_job_secrets(value));
    }
    append(&path, &text, "the step outputs").map(|()| true)
}

/// The `name<<DELIMITER` record of one output. The delimiter is random so that a value cannot end
/// the record early and inject other outputs; `salt` makes it unique per call.
pub fn output_record(name: &str, value: &str, salt: &str) -> anyhow::Result<String> {
    if name.is_empty() || name.contains(['\n', '\r', '<', '=']) {
        return Err(fail(
            FailureKind::Config,
            format!("`{name}` is not a valid step output name"),
        ));
    }
    let mut delimiter = format!("ghadelimiter_{salt}");
    // Bounded: each round adds a random part; a value holding all of them is not realistic.
    for _ in 0..8 {
        if !value.contains(&delimiter) {
            return Ok(format!("{name}<<{delimiter}\n{value}\n{delimiter}\n"));
        }
        delimiter.push('_');
        delimiter.push_str(&random_token());
    }
    Err(fail(
        FailureKind::OperationFailed,
        format!("could not find a delimiter for step output `{name}`"),
    ))
}

/// 16 hex digits from the process's random hasher keys (no extra crate needed).
pub fn random_token() -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    format!("{:016x}", hasher.finish())
}

fn append(path: &Path, text: &str, what: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("opening {what} file {}", path.display()))
        .classify(FailureKind::Environment)?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("writing {what} file {}", path.display()))
        .classify(FailureKind::Environment)
}

/// Annotation levels of workflow commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Notice,
    Warning,
    Error,
}

/// A `::warning file=...,line=...,title=...::message` workflow command (escaped as the runner
/// expects, so a message cannot smuggle in another command).
pub fn annotation(
    level: Level,
    file: &str,
    line: Option<u64>,
    end_line: Option<u64>,
    title: &str,
    message: &str,
) -> String {
    let level = match level {
        Level::Notice => "notice",
        Level::Warning => "warning",
        Level::Error => "error",
    };
    let mut properties = format!("file={}", escape_property(file));
    if let Some(line) = line {
        let _ = write!(properties, ",line={line}");
    }
    if let Some(end_line) = end_line {
        let _ = write!(properties, ",endLine={end_line}");
    }
    if !title.is_empty() {
        let _ = write!(properties, ",title={}", escape_property(title));
    }
    format!("::{level} {properties}::{}", escape_data(message))
}

fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// The link to the current workflow run, when running in Actions.
pub fn run_url() -> Option<String> {
    let server = std::env::var("GITHUB_SERVER_URL").ok()?;
    let repository = std::env::var("GITHUB_REPOSITORY").ok()?;
    let run_id = std::env::var("GITHUB_RUN_ID").ok()?;
    if [&server, &repository, &run_id].iter().any(|v| v.is_empty()) {
        return None;
    }
    Some(format!(
        "{}/{repository}/actions/runs/{run_id}",
        server.trim_end_matches('/')
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_records_cannot_be_ended_by_the_value() {
        let record = output_record("summary", "a\nb", "x").unwrap();
        assert_eq!(record, "summary<<ghadelimiter_x\na\nb\nghadelimiter_x\n");
        let hostile = "ghadelimiter_x\ninjected=1";
        let record = output_record("summary", hostile, "x").unwrap();
        let delimiter = record
            .lines()
            .next()
            .unwrap()
            .trim_start_matches("summary<<");
        assert_ne!(delimiter, "ghadelimiter_x");
        assert!(record.ends_with(&format!("\n{delimiter}\n")));
        assert!(output_record("a\nb", "v", "x").is_err());
        assert_ne!(random_token(), random_token());
    }

    #[test]
    fn annotations_are_escaped() {
        assert_eq!(
            annotation(
                Level::Warning,
                "environments/dev/main.tf",
                Some(3),
                Some(5),
                "terraform fmt",
                "100% off\n::error::x"
            ),
            "::warning file=environments/dev/main.tf,line=3,endLine=5,title=terraform fmt::100%25 off%0A::error::x"
        );
    }
}
