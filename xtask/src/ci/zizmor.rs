//! Reads zizmor's findings from its JSON output (`--format json`), the one form meant for
//! programs: counted per audit and rendered one line each for the log.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Deserialize;

/// One finding, with what the log line needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Finding {
    pub ident: String,
    #[serde(default)]
    pub desc: String,
    /// Findings that `.github/zizmor.yml` ignores are listed too; they do not count.
    #[serde(default)]
    pub ignored: bool,
    #[serde(default)]
    determinations: Option<Determinations>,
    #[serde(default)]
    locations: Vec<Location>,
}

#[derive(Debug, Clone, Deserialize)]
struct Determinations {
    #[serde(default)]
    severity: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Location {
    symbolic: Symbolic,
    concrete: Concrete,
}

#[derive(Debug, Clone, Deserialize)]
struct Symbolic {
    /// `{"Local": {"verbatim_path": ...}}` for a file of this repository.
    key: serde_json::Value,
    #[serde(default)]
    annotation: String,
    #[serde(default)]
    kind: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Concrete {
    location: Span,
}

#[derive(Debug, Clone, Deserialize)]
struct Span {
    start_point: Point,
}

#[derive(Debug, Clone, Deserialize)]
struct Point {
    row: u64,
}

impl Finding {
    /// `.github/workflows/a.yml:6: artipacked (Medium): credential persistence ... - does not set ...`
    pub fn render(&self) -> String {
        let primary = self
            .locations
            .iter()
            .find(|location| location.symbolic.kind == "Primary")
            .or_else(|| self.locations.first());
        let place = primary.map_or_else(String::new, |location| {
            let path = location.symbolic.key["Local"]["verbatim_path"]
                .as_str()
                .unwrap_or("?");
            format!(
                "{path}:{}: ",
                location.concrete.location.start_point.row + 1
            )
        });
        let severity = self
            .determinations
            .as_ref()
            .map_or_else(String::new, |d| format!(" ({})", d.severity));
        let note = primary
            .map(|location| location.symbolic.annotation.as_str())
            .filter(|annotation| !annotation.is_empty())
            .map_or_else(String::new, |annotation| format!(" - {annotation}"));
        format!("{place}{}{severity}: {}{note}", self.ident, self.desc)
    }
}

/// The findings of `zizmor --format json` that are not ignored.
pub fn parse(json: &str) -> anyhow::Result<Vec<Finding>> {
    let findings: Vec<Finding> =
        serde_json::from_str(json).context("reading zizmor's JSON findings")?;
    Ok(findings.into_iter().filter(|f| !f.ignored).collect())
}

/// Findings per audit (`ident`).
pub fn count_by_audit(findings: &[Finding]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for finding in findings {
        *counts.entry(finding.ident.clone()).or_insert(0) += 1;
    }
    counts
}

/// `5 findings (anonymous-definition 3, concurrency-limits 2)`.
pub fn describe_counts(counts: &BTreeMap<String, u64>) -> String {
    let total: u64 = counts.values().sum();
    if total == 0 {
        return "0 findings".to_owned();
    }
    let per_audit: Vec<String> = counts
        .iter()
        .map(|(audit, count)| format!("{audit} {count}"))
        .collect();
    let noun = if total == 1 { "finding" } else { "findings" };
    format!("{total} {noun} ({})", per_audit.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_findings_are_counted_per_audit_without_the_ignored_ones() {
        let json = r#"[{"ident":"concurrency-limits","desc":"x"},{"ident":"anonymous-definition"},{"ident":"anonymous-definition"},{"ident":"excessive-permissions","ignored":true}]"#;
        let findings = parse(json).unwrap();
        assert_eq!(
            describe_counts(&count_by_audit(&findings)),
            "3 findings (anonymous-definition 2, concurrency-limits 1)"
        );
        assert_eq!(
            describe_counts(&count_by_audit(&parse("[]").unwrap())),
            "0 findings"
        );
        assert!(parse("not json").is_err());
    }

    #[test]
    fn a_finding_is_one_line_with_its_place() {
        // As zizmor 1.32 prints it (trimmed).
        let json = r#"[{"ident":"artipacked","desc":"credential persistence through GitHub Actions artifacts",
            "determinations":{"confidence":"Low","severity":"Medium","persona":"Regular"},"ignored":false,
            "locations":[{"symbolic":{"key":{"Local":{"verbatim_path":".github/workflows/a.yml"}},
            "annotation":"does not set persist-credentials: false","kind":"Primary"},
            "concrete":{"location":{"start_point":{"row":5,"column":8}}}}]}]"#;
        assert_eq!(
            parse(json).unwrap()[0].render(),
            ".github/workflows/a.yml:6: artipacked (Medium): credential persistence through GitHub \
             Actions artifacts - does not set persist-credentials: false"
        );
    }
}
