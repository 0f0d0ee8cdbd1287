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
    /// `{"severity": "Medium", ...}`.
    #[serde(default)]
    determinations: serde_json::Value,
    /// Each with `symbolic` (`key.Local.verbatim_path`, `annotation`, `kind`) and `concrete`
    /// (`location.start_point.row`, from 0).
    #[serde(default)]
    locations: Vec<serde_json::Value>,
}

impl Finding {
    /// `.github/workflows/a.yml:6: artipacked (Medium): credential persistence ... - does not set ...`
    pub fn render(&self) -> String {
        let primary = self
            .locations
            .iter()
            .find(|location| location["symbolic"]["kind"] == "Primary")
            .or_else(|| self.locations.first());
        let mut line = String::new();
        if let Some(location) = primary {
            let path = location["symbolic"]["key"]["Local"]["verbatim_path"].as_str();
            let row = location["concrete"]["location"]["start_point"]["row"].as_u64();
            line = format!("{}:{}: ", path.unwrap_or("?"), row.map_or(0, |row| row + 1));
        }
        line.push_str(&self.ident);
        if let Some(severity) = self.determinations["severity"].as_str() {
            line.push_str(&format!(" ({severity})"));
        }
        line.push_str(&format!(": {}", self.desc));
        if let Some(note) = primary
            .and_then(|l| l["symbolic"]["annotation"].as_str())
            .filter(|note| !note.is_empty())
        {
            line.push_str(&format!(" - {note}"));
        }
        line
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
