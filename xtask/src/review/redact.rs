//! Secret redaction: runs over every text before it can leave the machine (diff lines, PR title and
//! body, plan summaries), so a key pasted into a pull request never reaches a model provider.
//!
//! Each finding is replaced by `[REDACTED:<kind>]` and recorded with where it was, so the prompt
//! can tell the model (and the comment can tell the author) that something was removed. Pure.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

/// One redaction: the kind of secret and where it was (`path:line`, `PR body line 3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    pub kind: &'static str,
    pub location: String,
}

struct Rule {
    kind: &'static str,
    regex: Regex,
    /// The capture group holding the secret; 0 for the whole match.
    group: usize,
    /// Only redact when the value looks random (assignments whose value may be a variable name).
    needs_entropy: bool,
}

fn rule(kind: &'static str, pattern: &str, group: usize, needs_entropy: bool) -> Option<Rule> {
    // The patterns are constants tested below; a pattern that failed to compile would be a bug
    // caught by those tests, so it is skipped instead of aborting a review.
    Regex::new(pattern).ok().map(|regex| Rule {
        kind,
        regex,
        group,
        needs_entropy,
    })
}

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    [
        rule(
            "private-key",
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*",
            0,
            false,
        ),
        rule(
            "aws-access-key-id",
            r"\b(?:AKIA|ASIA|ABIA|ACCA|AIDA|AROA)[0-9A-Z]{16}\b",
            0,
            false,
        ),
        rule(
            "aws-secret-access-key",
            r#"(?i)(?:aws.{0,24}?(?:secret|sk)|secret_?access_?key)[^\n=:]{0,24}?\s*(?:=|:|=>|:=)\s*["']?([A-Za-z0-9/+=]{40})\b"#,
            1,
            false,
        ),
        rule(
            "github-token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
            0,
            false,
        ),
        rule("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}", 0, false),
        rule(
            "openai-key",
            r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
            0,
            false,
        ),
        rule(
            "jwt",
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
            0,
            false,
        ),
        rule(
            "url-password",
            r"(?i)\b[a-z][a-z0-9+.\-]*://[^:/\s@]{1,128}:([^@\s/]{1,256})@",
            1,
            false,
        ),
        rule(
            "password-assignment",
            r#"(?i)[a-z0-9_.\-]*(?:password|passwd|pwd|secret|token|api_?key|apikey|private_?key|access_?key|credential)[a-z0-9_.\-]*["']?\s*(?:=|:|=>|:=)\s*["']?([^\s"'`,;]{8,})"#,
            1,
            true,
        ),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// All patterns at once: most lines hold no secret, and one pass over them is much cheaper than
/// one pass per rule.
static ANY_RULE: LazyLock<Option<RegexSet>> =
    LazyLock::new(|| RegexSet::new(RULES.iter().map(|rule| rule.regex.as_str())).ok());

const PRIVATE_KEY_END: &str = "PRIVATE KEY";

/// Redacts the lines of one text unit (a file's diff lines, a PR body). `location_of(index)` names
/// where line `index` is. Multi-line private key blocks are redacted from BEGIN to END.
pub struct Redactor {
    pub redactions: Vec<Redaction>,
    in_private_key: bool,
}

impl Default for Redactor {
    fn default() -> Self {
        Redactor::new()
    }
}

impl Redactor {
    pub fn new() -> Redactor {
        Redactor {
            redactions: Vec::new(),
            in_private_key: false,
        }
    }

    /// Starts a new text unit: an unterminated key block does not leak into the next file.
    pub fn reset_block(&mut self) {
        self.in_private_key = false;
    }

    /// Redacts one line, recording findings at `location`.
    pub fn line(&mut self, text: &str, location: impl Fn() -> String) -> String {
        if self.in_private_key {
            if text.contains("-----END") && text.contains(PRIVATE_KEY_END) {
                self.in_private_key = false;
            }
            return "[REDACTED:private-key]".to_owned();
        }
        if let Some(set) = ANY_RULE.as_ref()
            && !set.is_match(text)
        {
            return text.to_owned();
        }
        let mut out = text.to_owned();
        for rule in RULES.iter() {
            if !rule.regex.is_match(&out) {
                continue;
            }
            let mut replaced = String::with_capacity(out.len());
            let mut last = 0;
            let mut found = false;
            for captures in rule.regex.captures_iter(&out) {
                let Some(secret) = captures.get(rule.group) else {
                    continue;
                };
                if rule.needs_entropy && !looks_random(secret.as_str()) {
                    continue;
                }
                if secret.as_str().starts_with("[REDACTED") {
                    continue;
                }
                replaced.push_str(&out[last..secret.start()]);
                replaced.push_str("[REDACTED:");
                replaced.push_str(rule.kind);
                replaced.push(']');
                last = secret.end();
                found = true;
                if rule.kind == "private-key" {
                    let ends_here = secret.as_str()[5..].contains("-----END");
                    self.in_private_key = !ends_here;
                }
            }
            if found {
                replaced.push_str(&out[last..]);
                out = replaced;
                self.redactions.push(Redaction {
                    kind: rule.kind,
                    location: location(),
                });
            }
        }
        out
    }

    /// Redacts a multi-line text (a PR body), locations `<what> line N`.
    pub fn text(&mut self, text: &str, what: &str) -> String {
        self.reset_block();
        let redacted: Vec<String> = text
            .split('\n')
            .enumerate()
            .map(|(index, line)| self.line(line, || format!("{what} line {}", index + 1)))
            .collect();
        self.reset_block();
        redacted.join("\n")
    }
}

/// Shannon entropy per character, with guards against identifiers and placeholders so that
/// `password = var.db_password` or `token: ${{ secrets.X }}` stay readable.
pub fn looks_random(value: &str) -> bool {
    let value = value.trim_matches(|c| c == '"' || c == '\'');
    if value.len() < 8 || value.starts_with('$') || value.starts_with('{') || value.starts_with('<')
    {
        return false;
    }
    let dotted_identifier = value.split('.').count() > 1
        && value.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !part.starts_with(|c: char| c.is_ascii_digit())
        });
    if dotted_identifier || value.contains('(') {
        return false;
    }
    let has_digit = value.chars().any(|c| c.is_ascii_digit());
    let has_alpha = value.chars().any(|c| c.is_ascii_alphabetic());
    let entropy = shannon_entropy(value);
    // Words like "changeme_please" have letters only; real secrets mix classes or are long and
    // random.
    (entropy >= 3.0 && has_digit && has_alpha) || entropy >= 3.8
}

fn shannon_entropy(value: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut total = 0_u32;
    for ch in value.chars() {
        *counts.entry(ch).or_insert(0_u32) += 1;
        total += 1;
    }
    let total = f64::from(total);
    counts
        .values()
        .map(|&count| {
            let p = f64::from(count) / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> (String, Vec<&'static str>) {
        let mut redactor = Redactor::new();
        let out = redactor.text(text, "t");
        (out, redactor.redactions.iter().map(|r| r.kind).collect())
    }

    #[test]
    fn all_rules_compile() {
        assert_eq!(RULES.len(), 9);
    }

    #[test]
    fn each_kind_is_redacted() {
        let cases = [
            ("key = AKIAIOSFODNN7EXAMPLE", "aws-access-key-id"),
            (
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws-secret-access-key",
            ),
            (
                "t ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
                "github-token",
            ),
            (
                "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123",
                "anthropic-key",
            ),
            (
                "OPENAI=sk-proj-abcdefghijklmnopqrstuvwxyz012345",
                "openai-key",
            ),
            (
                "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
                "jwt",
            ),
            ("postgres://app:S3cr3tPassw0rd@db:5432/app", "url-password"),
            ("db_password = \"Zx81kP0qLm2v\"", "password-assignment"),
        ];
        for (text, kind) in cases {
            let (out, kinds) = redact(text);
            assert!(kinds.contains(&kind), "{text}: {kinds:?}");
            assert!(out.contains(&format!("[REDACTED:{kind}]")), "{out}");
        }
    }

    #[test]
    fn private_key_blocks_span_lines() {
        let (out, kinds) = redact(
            "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----\nafter",
        );
        assert_eq!(kinds, ["private-key"]);
        assert!(!out.contains("MIIE"));
        assert!(
            out.starts_with("before\n") && out.ends_with("\nafter"),
            "{out}"
        );
    }

    #[test]
    fn ordinary_assignments_stay() {
        for text in [
            "password = var.db_password",
            "token: ${{ secrets.GITHUB_TOKEN }}",
            "secret_name = \"dev/db-migrate/database-url\"",
            "api_key_env = \"OPENAI_API_KEY\"",
            "password = changeme",
            "let token = get_token(ctx);",
        ] {
            let (out, kinds) = redact(text);
            assert!(kinds.is_empty(), "{text} -> {out}");
        }
    }
}
