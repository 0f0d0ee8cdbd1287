//! Reads zizmor's results: the closing line of its plain output, and its JSON findings per audit.

use std::collections::BTreeMap;

use anyhow::Context;

/// The number of findings from the last line of `zizmor --format plain`: `No findings to report.`
/// is zero; `3 findings: 1 informational, 2 low, ...` is three.
pub fn parse_plain_summary(output: &str) -> Option<u64> {
    let output = strip_ansi(output);
    output.lines().rev().map(str::trim).find_map(|line| {
        if line.starts_with("No findings to report") {
            return Some(0);
        }
        let (number, rest) = line.split_once(' ')?;
        let is_summary = rest.starts_with("finding:")
            || rest.starts_with("findings:")
            || rest.starts_with("finding ")
            || rest.starts_with("findings ");
        if is_summary {
            number.parse().ok()
        } else {
            None
        }
    })
}

/// Removes ANSI escape sequences (`ESC [ ... letter`), in case a tool colours its output anyway.
fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // Skip the sequence up to and including its final letter.
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Findings per audit (`ident`) from `zizmor --format json`.
pub fn count_by_audit(json: &str) -> anyhow::Result<BTreeMap<String, u64>> {
    #[derive(serde::Deserialize)]
    struct Finding {
        ident: String,
    }
    let findings: Vec<Finding> =
        serde_json::from_str(json).context("reading zizmor's JSON findings")?;
    let mut counts = BTreeMap::new();
    for finding in findings {
        *counts.entry(finding.ident).or_insert(0) += 1;
    }
    Ok(counts)
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
    fn plain_summary_with_and_without_findings() {
        assert_eq!(
            parse_plain_summary(
                " INFO zizmor: v1.32.0\nNo findings to report. Good job! (3 suppressed)\n"
            ),
            Some(0)
        );
        assert_eq!(
            parse_plain_summary(
                "help[x]: y\n  = note: z\n\n3 findings: 1 informational, 2 low, 0 medium, 0 high\n"
            ),
            Some(3)
        );
        assert_eq!(
            parse_plain_summary("1 finding: 0 informational, 0 low, 1 medium, 0 high\n"),
            Some(1)
        );
        assert_eq!(parse_plain_summary("error: no inputs collected\n"), None);
        // As zizmor prints it with CI set: coloured, even into a pipe.
        assert_eq!(
            parse_plain_summary(
                "\u{1b}[32mNo findings to report. Good job!\u{1b}[39m (\u{1b}[1m\u{1b}[93m1\u{1b}[39m ignored)\u{1b}[0m\n"
            ),
            Some(0)
        );
        assert_eq!(
            parse_plain_summary("\u{1b}[1m2\u{1b}[0m findings: 0 informational, 2 low\n"),
            Some(2)
        );
    }

    #[test]
    fn json_findings_are_counted_per_audit() {
        let json = r#"[{"ident":"concurrency-limits","desc":"x"},{"ident":"anonymous-definition"},{"ident":"anonymous-definition"}]"#;
        let counts = count_by_audit(json).unwrap();
        assert_eq!(
            describe_counts(&counts),
            "3 findings (anonymous-definition 2, concurrency-limits 1)"
        );
        assert_eq!(
            describe_counts(&count_by_audit("[]").unwrap()),
            "0 findings"
        );
        assert!(count_by_audit("not json").is_err());
    }
}
