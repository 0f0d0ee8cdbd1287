//! Reads what terraform printed with `-json` (init, validate, plan, apply): its diagnostics, for
//! the failure comment, issue and job summary, and its messages, for the log. Lines that are not
//! JSON (a crash, a provider's panic, the CLI's own warnings on stderr) are kept as raw text and
//! read with the `╷ … ╵` box reader, so no error is lost.

use std::fmt::Write as _;

use serde::Deserialize;

/// How many lines of output a failure without any `Error:` keeps (the end, where the cause is).
const TAIL_LINES: usize = 40;

/// One terraform diagnostic (`"type":"diagnostic"`, or one of `validate -json`'s).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Diagnostic {
    pub severity: String,
    pub summary: String,
    #[serde(default)]
    pub detail: String,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub range: Option<Range>,
    #[serde(default)]
    pub snippet: Option<Snippet>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Range {
    pub filename: String,
    pub start: Position,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Position {
    pub line: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Snippet {
    /// The block the range is in (`resource "terraform_data" "x"`).
    #[serde(default)]
    pub context: Option<String>,
    pub code: String,
    pub start_line: u64,
    /// What the expression's references were (`var.ready` `is false`).
    #[serde(default)]
    pub values: Vec<SnippetValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SnippetValue {
    pub traversal: String,
    pub statement: String,
}

impl Diagnostic {
    pub fn is_error(&self) -> bool {
        self.severity == "error"
    }

    /// As terraform prints it without colour: `Error: summary`, where (`with` the address, `on`
    /// file and line, the code), then the detail.
    pub fn render(&self) -> String {
        let severity = match self.severity.as_str() {
            "error" => "Error",
            "warning" => "Warning",
            other => other,
        };
        let mut text = format!("{severity}: {}\n", self.summary.trim());
        let mut place = String::new();
        if let Some(address) = &self.address {
            let _ = writeln!(place, "  with {address},");
        }
        if let Some(range) = &self.range {
            let _ = write!(place, "  on {} line {}", range.filename, range.start.line);
            match self.snippet.as_ref().and_then(|s| s.context.as_deref()) {
                Some(context) => {
                    let _ = writeln!(place, ", in {context}:");
                }
                None => place.push_str(":\n"),
            }
            if let Some(snippet) = &self.snippet {
                for (n, code) in (snippet.start_line..).zip(snippet.code.lines()) {
                    let _ = writeln!(place, "{n:>4}: {code}");
                }
                if !snippet.values.is_empty() {
                    place.push_str("    ├────────────────\n");
                    for value in &snippet.values {
                        let _ = writeln!(place, "    │ {} {}", value.traversal, value.statement);
                    }
                }
            }
        }
        if !place.is_empty() {
            text.push('\n');
            text.push_str(&place);
        }
        let detail = self.detail.trim();
        if !detail.is_empty() {
            text.push('\n');
            text.push_str(detail);
            text.push('\n');
        }
        text.trim_end().to_owned()
    }
}

/// One line of a terraform run's output.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    Diagnostic(Diagnostic),
    /// Any other JSON message: its `@message`.
    Message(String),
    /// Not terraform's JSON.
    Raw(String),
}

/// A streamed JSON line (`{"@level","@message","type",...}`).
#[derive(Deserialize)]
struct Streamed {
    #[serde(rename = "@message", default)]
    message: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    diagnostic: Option<Diagnostic>,
}

/// `terraform validate -json`: one document, not a stream.
#[derive(Deserialize)]
struct Validation {
    diagnostics: Vec<Diagnostic>,
}

/// What one terraform run printed (stdout and stderr), read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    lines: Vec<Line>,
}

impl Output {
    /// Reads terraform's `-json` output: each JSON line, `validate -json`'s document, and the
    /// lines that are neither, as they are.
    pub fn parse(text: &str) -> Output {
        let mut lines = Vec::new();
        let mut rest = text;
        // `validate -json` followed by stderr text: the document first, then the rest line by line.
        let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Validation>();
        if let Some(Ok(validation)) = stream.next() {
            lines.extend(validation.diagnostics.into_iter().map(Line::Diagnostic));
            rest = &text[stream.byte_offset()..];
        }
        for line in rest.lines() {
            let trimmed = line.trim();
            let streamed = trimmed
                .starts_with('{')
                .then(|| serde_json::from_str::<Streamed>(trimmed).ok())
                .flatten();
            lines.push(match streamed {
                Some(Streamed {
                    diagnostic: Some(diagnostic),
                    ..
                }) => Line::Diagnostic(diagnostic),
                Some(Streamed { message, kind, .. }) if !kind.is_empty() => Line::Message(message),
                _ => Line::Raw(line.trim_end().to_owned()),
            });
        }
        Output { lines }
    }

    /// The diagnostics, in the order terraform printed them.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.lines.iter().filter_map(|line| match line {
            Line::Diagnostic(diagnostic) => Some(diagnostic),
            _ => None,
        })
    }

    fn raw(&self) -> String {
        let raw: Vec<&str> = self
            .lines
            .iter()
            .filter_map(|line| match line {
                Line::Raw(text) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        raw.join("\n")
    }

    /// The human log: each message, each diagnostic as terraform prints it, the raw lines.
    pub fn log(&self) -> String {
        let mut log = Vec::new();
        for line in &self.lines {
            match line {
                Line::Diagnostic(diagnostic) => log.push(format!("\n{}\n", diagnostic.render())),
                Line::Message(message) => log.push(message.clone()),
                Line::Raw(text) => log.push(text.clone()),
            }
        }
        log.join("\n").trim().to_owned()
    }

    /// The errors for the failure comment: each error diagnostic, then the `Error:` blocks of the
    /// raw text; with neither, the last lines of the log, so a failure always says something.
    pub fn errors(&self) -> String {
        let mut blocks: Vec<String> = self
            .diagnostics()
            .filter(|d| d.is_error())
            .map(Diagnostic::render)
            .collect();
        let raw = self.raw();
        let raw_errors = error_blocks(&raw);
        if raw_errors.is_empty() {
            // A crash or a panic prints no `Error:`: keep what it printed.
            let stray = stray_text(&raw);
            if !stray.is_empty() && !blocks.is_empty() {
                blocks.push(tail(&stray));
            }
        }
        blocks.extend(raw_errors);
        if blocks.is_empty() {
            return tail(&self.log());
        }
        blocks.join("\n\n")
    }

    /// A hint for failures with a known fix, from the error diagnostics' summaries (and the raw
    /// text's `Error:` blocks, where terraform printed no JSON).
    pub fn hint(&self) -> Option<&'static str> {
        let summaries = self
            .diagnostics()
            .filter(|d| d.is_error())
            .map(|d| d.summary.clone());
        summaries
            .chain(error_blocks(&self.raw()))
            .find_map(|text| hint_for(&text))
    }
}

fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(TAIL_LINES);
    lines[start..].join("\n")
}

/// The lines outside terraform's `╷ … ╵` boxes, without the blank ones and a box's
/// introduction (`There are some problems with the CLI configuration:`).
fn stray_text(raw: &str) -> String {
    let lines: Vec<&str> = raw.lines().map(str::trim_end).collect();
    let mut stray = Vec::new();
    let mut boxed = false;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with('╷') {
            boxed = true;
        } else if line.starts_with('╵') {
            boxed = false;
        } else if !boxed && !line.trim().is_empty() {
            let introduces_a_box =
                line.ends_with(':') && lines.get(i + 1).is_some_and(|next| next.starts_with('╷'));
            if !introduces_a_box {
                stray.push(*line);
            }
        }
    }
    stray.join("\n")
}

/// Terraform's human diagnostics (text that is not JSON): the `╷ … ╵` boxes that hold an
/// `Error:`, with the box drawing removed, or, with no box, each unboxed `Error:` up to the next
/// warning.
fn error_blocks(output: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in output.lines() {
        let trimmed = line.trim_end();
        if trimmed.starts_with('╷') {
            current = Some(Vec::new());
        } else if trimmed.starts_with('╵') {
            if let Some(block) = current.take()
                && block.iter().any(|l| l.starts_with("Error:"))
            {
                blocks.push(block.join("\n").trim().to_owned());
            }
        } else if let Some(block) = current.as_mut() {
            let text = trimmed
                .strip_prefix("│ ")
                .or_else(|| trimmed.strip_prefix('│'))
                .unwrap_or(trimmed);
            block.push(text.to_owned());
        }
    }
    if blocks.is_empty() {
        let mut unboxed: Option<Vec<&str>> = None;
        for line in output.lines() {
            if line.starts_with("Error: ") {
                if let Some(block) = unboxed.take() {
                    blocks.push(block.join("\n").trim().to_owned());
                }
                unboxed = Some(vec![line]);
            } else if line.starts_with("Warning: ") {
                if let Some(block) = unboxed.take() {
                    blocks.push(block.join("\n").trim().to_owned());
                }
            } else if let Some(block) = unboxed.as_mut() {
                block.push(line.trim_end());
            }
        }
        if let Some(block) = unboxed {
            blocks.push(block.join("\n").trim().to_owned());
        }
    }
    blocks
}

/// A hint for an error with a known fix, from its summary (or its text, where terraform printed
/// no JSON).
fn hint_for(error: &str) -> Option<&'static str> {
    if error.contains("Error acquiring the state lock") {
        Some(
            "Another run holds the state lock. Wait for it to finish; if it crashed, check the lock \
             info above and run `terraform force-unlock <ID>` from a shell with the backend role.",
        )
    } else if error.contains("No valid credential sources")
        || error.contains("failed to refresh cached credentials")
        || error.contains("Cannot assume IAM Role")
        || error.contains("AssumeRole")
    {
        Some(
            "Terraform could not get AWS credentials for the backend. In CI check the OIDC step and \
             the external id secrets; locally run `cargo xtask aws-profiles --env <env> --purpose plan`.",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `terraform plan -json` of a broken module (terraform 1.11.4), and the CLI's warning on stderr.
    const PLAN: &str = r#"{"@level":"info","@message":"Terraform 1.11.4","@module":"terraform.ui","@timestamp":"2026-12-04T20:11:08.697341Z","terraform":"1.11.4","type":"version","ui":"1.2"}
{"@level":"error","@message":"Error: Unsupported argument","@module":"terraform.ui","@timestamp":"2026-12-04T20:11:08.702189Z","diagnostic":{"severity":"error","summary":"Unsupported argument","detail":"An argument named \"foo\" is not expected here.","range":{"filename":"main.tf","start":{"line":3,"column":3,"byte":48},"end":{"line":3,"column":6,"byte":51}},"snippet":{"context":"resource \"terraform_data\" \"x\"","code":"  foo = 1","start_line":3,"highlight_start_offset":2,"highlight_end_offset":5,"values":[]}},"type":"diagnostic"}

There are some problems with the CLI configuration:
╷
│ Warning: Unable to open CLI configuration file
│
│ The CLI configuration file at "/root/.terraformrc" does not exist.
╵
"#;

    const UNSUPPORTED: &str = "Error: Unsupported argument\n\n  on main.tf line 3, in resource \"terraform_data\" \"x\":\n   3:   foo = 1\n\nAn argument named \"foo\" is not expected here.";

    #[test]
    fn a_json_diagnostic_reads_as_terraforms_error_block() {
        let output = Output::parse(PLAN);
        assert_eq!(output.errors(), UNSUPPORTED);
        assert_eq!(output.hint(), None);
    }

    #[test]
    fn the_log_shows_messages_and_diagnostics_not_json() {
        let log = Output::parse(PLAN).log();
        assert!(
            log.starts_with("Terraform 1.11.4\n\nError: Unsupported argument\n"),
            "{log}"
        );
        assert!(log.contains(UNSUPPORTED), "{log}");
        assert!(
            log.contains("Warning: Unable to open CLI configuration file"),
            "{log}"
        );
        assert!(!log.contains("@message"), "{log}");
    }

    #[test]
    fn the_values_of_a_condition_are_shown_as_terraform_shows_them() {
        let precondition = r#"{"@level":"error","@message":"Error: Resource precondition failed","diagnostic":{"severity":"error","summary":"Resource precondition failed","detail":"The input is not ready.","range":{"filename":"main.tf","start":{"line":8,"column":23,"byte":140},"end":{"line":8,"column":32,"byte":149}},"snippet":{"context":"resource \"terraform_data\" \"a\"","code":"      condition     = var.ready","start_line":8,"highlight_start_offset":22,"highlight_end_offset":31,"values":[{"traversal":"var.ready","statement":"is false"}]}},"type":"diagnostic"}"#;
        assert_eq!(
            Output::parse(precondition).errors(),
            "Error: Resource precondition failed\n\n  on main.tf line 8, in resource \"terraform_data\" \"a\":\n   8:       condition     = var.ready\n    ├────────────────\n    │ var.ready is false\n\nThe input is not ready."
        );
    }

    #[test]
    fn validate_json_is_one_document() {
        let validate = r#"{
  "format_version": "1.0",
  "valid": false,
  "error_count": 1,
  "warning_count": 1,
  "diagnostics": [
    {"severity": "warning", "summary": "Deprecated", "detail": "old"},
    {"severity": "error", "summary": "Reference to undeclared resource", "detail": "A managed resource \"terraform_data\" \"y\" has not been declared in the root module.", "address": "terraform_data.x", "range": {"filename": "main.tf", "start": {"line": 2, "column": 11, "byte": 42}, "end": {"line": 2, "column": 27, "byte": 58}}}
  ]
}
╷
│ Warning: Unable to open CLI configuration file
╵
"#;
        assert_eq!(
            Output::parse(validate).errors(),
            "Error: Reference to undeclared resource\n\n  with terraform_data.x,\n  on main.tf line 2:\n\nA managed resource \"terraform_data\" \"y\" has not been declared in the root module."
        );
    }

    #[test]
    fn the_hint_comes_from_the_summary() {
        let lock = r#"{"@level":"error","@message":"Error: Error acquiring the state lock","diagnostic":{"severity":"error","summary":"Error acquiring the state lock","detail":"Lock Info:\n  ID: 1"},"type":"diagnostic"}"#;
        let output = Output::parse(lock);
        assert!(
            output
                .hint()
                .is_some_and(|hint| hint.contains("force-unlock"))
        );
        assert_eq!(
            output.errors(),
            "Error: Error acquiring the state lock\n\nLock Info:\n  ID: 1"
        );
        // Named only in a detail, a lock is not the cause.
        let other = r#"{"@level":"error","@message":"Error: x","diagnostic":{"severity":"error","summary":"x","detail":"not Error acquiring the state lock"},"type":"diagnostic"}"#;
        assert_eq!(Output::parse(other).hint(), None);
        let credentials = r#"{"@level":"error","@message":"Error: No valid credential sources found","diagnostic":{"severity":"error","summary":"No valid credential sources found","detail":"see docs"},"type":"diagnostic"}"#;
        assert!(
            Output::parse(credentials)
                .hint()
                .is_some_and(|hint| hint.contains("aws-profiles"))
        );
    }

    #[test]
    fn text_that_is_not_json_is_never_lost() {
        // A provider's panic beside terraform's diagnostic: both are reported.
        let panic = format!(
            "{}\nStack trace from the terraform-provider-aws plugin:\n\npanic: runtime error: invalid memory address\n",
            r#"{"@level":"error","@message":"Error: Plugin did not respond","diagnostic":{"severity":"error","summary":"Plugin did not respond","detail":"The plugin encountered an error."},"type":"diagnostic"}"#
        );
        let errors = Output::parse(&panic).errors();
        assert!(
            errors.starts_with(
                "Error: Plugin did not respond\n\nThe plugin encountered an error.\n\n"
            ),
            "{errors}"
        );
        assert!(
            errors.contains("panic: runtime error: invalid memory address"),
            "{errors}"
        );
        // No JSON at all (a crash before terraform could print any): its last lines.
        let crash = "!!!!!!!!!!!!!!!!!!!!!!!!!!! TERRAFORM CRASH !!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\npanic: boom\n";
        assert_eq!(
            Output::parse(crash).errors(),
            "!!!!!!!!!!!!!!!!!!!!!!!!!!! TERRAFORM CRASH !!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\npanic: boom"
        );
    }

    #[test]
    fn human_text_is_read_with_the_box_reader() {
        let output = "╷\n│ Warning: Deprecated\n│ \n│ old\n╵\n╷\n│ Error: Unsupported argument\n│ \n│   on main.tf line 3:\n│    3:   foo = 1\n╵\n";
        assert_eq!(
            Output::parse(output).errors(),
            "Error: Unsupported argument\n\n  on main.tf line 3:\n   3:   foo = 1"
        );
        let unboxed =
            "Warning: old\n\nx\nError: Error acquiring the state lock\n\nLock Info:\n  ID: 1\n";
        let output = Output::parse(unboxed);
        assert_eq!(
            output.errors(),
            "Error: Error acquiring the state lock\n\nLock Info:\n  ID: 1"
        );
        assert!(output.hint().is_some());
    }
}
