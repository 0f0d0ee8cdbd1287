//! Masks secret values in everything the plan command writes: configured literals, the values of
//! named environment variables, regular expressions, and Terraform's own sensitive values, then
//! the shared redaction ([`crate::redact`]: the secret rules and the job's own secret values).
//!
//! Masking applies to values (addresses, attribute names, output values, terraform's text), never
//! to our own structure: [`Masker::summary`] masks a summary's values before it is rendered, so a
//! sensitive value that happens to be `dev` cannot mask the environment in the marker or title.

use regex::Regex;

use super::summary::{DriftLine, Entry, OutputLine, Shown, Summary};
use crate::config::MaskSpec;
use crate::failure::{FailureKind, fail};

/// What a masked value is replaced with.
pub const MASK: &str = "***";
/// Literals shorter than this are not masked: masking `a` would mangle the whole comment, and
/// such a value is no secret.
const MIN_LITERAL: usize = 3;

#[derive(Debug, Clone, Default)]
pub struct Masker {
    /// Longest first, so that a secret containing another is replaced whole.
    literals: Vec<String>,
    patterns: Vec<Regex>,
}

impl Masker {
    /// Builds the masker from configured masks (`literal`, `env:NAME`, `regex:PATTERN`);
    /// `env` looks variables up (the process environment in the command, a map in tests).
    pub fn new(masks: &[String], env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Masker> {
        let mut masker = Masker::default();
        for mask in masks {
            match MaskSpec::parse(mask).map_err(|why| {
                fail(
                    FailureKind::Config,
                    format!("[workspace.metadata.xtask.plan].masks: {why}"),
                )
            })? {
                MaskSpec::Env(name) => {
                    if let Some(value) = env(&name) {
                        masker.add_literal(&value);
                    }
                }
                MaskSpec::Regex(regex) => masker.patterns.push(regex),
                MaskSpec::Literal(literal) => masker.add_literal(&literal),
            }
        }
        Ok(masker)
    }

    /// Masks `value` from now on, as written and as JSON or terraform's text escapes it.
    pub fn add_literal(&mut self, value: &str) {
        let value = value.trim();
        if value.chars().count() < MIN_LITERAL {
            return;
        }
        for form in crate::redact::escaped_forms(value) {
            if !self.literals.contains(&form) {
                self.literals.push(form);
            }
        }
        self.literals.sort_by_key(|l| std::cmp::Reverse(l.len()));
    }

    /// Masks one value (or terraform's text): configured and sensitive values become `***`,
    /// secrets found by the shared rules and the job's own secrets `[REDACTED:<kind>]`.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for literal in &self.literals {
            if out.contains(literal.as_str()) {
                out = out.replace(literal.as_str(), MASK);
            }
        }
        for pattern in &self.patterns {
            if pattern.is_match(&out) {
                out = pattern.replace_all(&out, MASK).into_owned();
            }
        }
        crate::redact::redact(&out)
    }

    /// The summary with every value masked (addresses, attribute names, ids, output names and
    /// values, drift), and nothing else touched: render it without masking again.
    pub fn summary(&self, summary: &Summary) -> Summary {
        let strings =
            |items: &[String]| -> Vec<String> { items.iter().map(|s| self.mask(s)).collect() };
        let entry = |entry: &Entry| Entry {
            address: self.mask(&entry.address),
            resource_type: self.mask(&entry.resource_type),
            previous_address: entry.previous_address.as_deref().map(|a| self.mask(a)),
            attributes: strings(&entry.attributes),
            forces: strings(&entry.forces),
            import_id: entry.import_id.as_deref().map(|id| self.mask(id)),
            reason: entry.reason.clone(),
            create_first: entry.create_first,
        };
        let entries = |entries: &[Entry]| -> Vec<Entry> { entries.iter().map(entry).collect() };
        let shown = |shown: &Shown| match shown {
            Shown::Value(json) => Shown::Value(self.mask(json)),
            other => other.clone(),
        };
        let groups = &summary.groups;
        Summary {
            groups: super::summary::Groups {
                create: entries(&groups.create),
                update: entries(&groups.update),
                replace: entries(&groups.replace),
                delete: entries(&groups.delete),
                import: entries(&groups.import),
                moved: entries(&groups.moved),
                forget: entries(&groups.forget),
                read: entries(&groups.read),
            },
            outputs: summary
                .outputs
                .iter()
                .map(|line| OutputLine {
                    name: self.mask(&line.name),
                    symbol: line.symbol,
                    before: shown(&line.before),
                    after: shown(&line.after),
                })
                .collect(),
            drift: summary
                .drift
                .iter()
                .map(|line| DriftLine {
                    address: self.mask(&line.address),
                    what: line.what,
                    attributes: strings(&line.attributes),
                })
                .collect(),
            ..summary.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_env_values_and_patterns() {
        let masker = Masker::new(
            &[
                "plain-secret".into(),
                "env:EXTERNAL_ID".into(),
                "env:UNSET".into(),
                "regex:AKIA[0-9A-Z]{16}".into(),
                "ab".into(),
            ],
            |name| (name == "EXTERNAL_ID").then(|| "ext-123456".to_owned()),
        )
        .unwrap();
        assert_eq!(
            masker.mask("a plain-secret, ext-123456 and AKIAABCDEFGHIJKLMNOP; ab stays"),
            "a ***, *** and ***; ab stays"
        );
        assert!(Masker::new(&["regex:(".into()], |_| None).is_err());
    }

    #[test]
    fn a_value_is_masked_in_its_escaped_forms_too() {
        // Output values are shown as JSON and terraform's text escapes quotes and backslashes, so
        // the raw value alone would not match where it surfaces.
        let mut masker = Masker::default();
        masker.add_literal("pa\"ss\\wörd\n2");
        let shown =
            serde_json::to_string(&serde_json::json!({"v": "pa\"ss\\wörd\n2"})).unwrap_or_default();
        assert_eq!(masker.mask(&shown), "{\"v\":\"***\"}");
        assert_eq!(masker.mask("raw pa\"ss\\wörd\n2"), "raw ***");
    }
}
