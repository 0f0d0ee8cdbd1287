//! The model's answers, parsed tolerantly and validated item by item. Pure.
//!
//! Models wrap JSON in code fences, add trailing commas, or stop mid-answer when they hit the
//! output limit. [`parse_json`] repairs what it can; each finding is then checked on its own
//! (known file, sane lines, known label), so one malformed finding is dropped and reported while
//! the rest of the review still posts.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::Value;

/// The result of parsing one answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    pub value: T,
    /// Why items were dropped, one sentence each.
    pub dropped: Vec<String>,
    /// The JSON had to be repaired (usually: the answer was cut off).
    pub repaired: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Description {
    pub types: Vec<String>,
    pub description: String,
    pub walkthrough: Vec<WalkthroughEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct WalkthroughEntry {
    pub file: String,
    pub change_title: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Review {
    pub effort: u8,
    pub tests_present: bool,
    /// Empty when there are none.
    pub security_concerns: String,
    pub key_issues: Vec<KeyIssue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct KeyIssue {
    pub file: String,
    pub start_line: u32,
    pub end_line: u32,
    pub title: String,
    pub issue: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
pub enum Label {
    Security,
    PossibleBug,
    General,
}

impl Label {
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Security => "security",
            Label::PossibleBug => "possible bug",
            Label::General => "general",
        }
    }

    fn parse(text: &str) -> Option<Label> {
        match text
            .trim()
            .to_ascii_lowercase()
            .replace(['_', '-'], " ")
            .as_str()
        {
            "security" => Some(Label::Security),
            "possible bug" | "bug" => Some(Label::PossibleBug),
            "general" | "enhancement" | "best practice" | "maintainability" => Some(Label::General),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct Suggestion {
    pub file: String,
    pub start_line: u32,
    pub end_line: u32,
    pub label: Label,
    pub score: u8,
    pub summary: String,
    pub existing_code: String,
    pub improved_code: String,
}

/// Extracts and, if needed, repairs the JSON object in a model's answer.
pub fn parse_json(answer: &str) -> Result<(Value, bool), String> {
    let text = strip_fences(answer);
    let Some(start) = text.find('{') else {
        return Err("the answer contains no JSON object".to_owned());
    };
    let text = &text[start..];
    let trimmed = text.rfind('}').map_or(text, |end| &text[..=end]);
    if let Ok(value) = serde_json::from_str::<Value>(trimmed) {
        return Ok((value, false));
    }
    repair(text)
        .map(|value| (value, true))
        .ok_or_else(|| "the answer is not valid JSON, even after repair".to_owned())
}

/// The inside of the first code fence when the answer has one (models often add prose around it).
fn strip_fences(answer: &str) -> &str {
    let trimmed = answer.trim();
    if trimmed.starts_with('{') {
        // Bare JSON; backticks inside its strings (code in a suggestion) are not fences.
        return trimmed;
    }
    let Some(open) = trimmed.find("```") else {
        return trimmed;
    };
    let after = &trimmed[open + 3..];
    let body = after.split_once('\n').map_or(after, |(_, body)| body);
    body.find("```").map_or(body, |close| &body[..close])
}

/// Closes what a cut-off answer left open; if that is not enough, cuts back to the last complete
/// element (at a comma outside strings) and tries again. Bounded by the number of such commas.
fn repair(text: &str) -> Option<Value> {
    let text = remove_trailing_commas(text);
    let mut cut_points = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for (index, ch) in text.char_indices() {
        if in_string {
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if ch == '"' {
            in_string = true;
        } else if ch == ',' {
            cut_points.push(index);
        }
    }
    let mut end = text.len();
    for _ in 0..=cut_points.len().min(2000) {
        if let Some(value) =
            close(&text[..end]).and_then(|closed| serde_json::from_str(&closed).ok())
        {
            return Some(value);
        }
        end = cut_points.pop()?;
        while cut_points.last().is_some_and(|&point| point >= end) {
            cut_points.pop();
        }
    }
    None
}

/// Appends the quotes and brackets a prefix of JSON leaves open.
fn close(prefix: &str) -> Option<String> {
    let mut stack = Vec::new();
    let mut in_string = false;
    let mut escaped = false;
    for ch in prefix.chars() {
        if in_string {
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match ch {
            '"' => in_string = true,
            '{' => stack.push('}'),
            '[' => stack.push(']'),
            '}' | ']' if stack.pop() != Some(ch) => return None,
            _ => {}
        }
    }
    let mut out = prefix.to_owned();
    if in_string {
        if escaped {
            out.pop();
        }
        out.push('"');
    }
    let kept = out.trim_end().trim_end_matches(',').len();
    out.truncate(kept);
    if out.ends_with(':') {
        out.push_str("null");
    }
    while let Some(closer) = stack.pop() {
        out.push(closer);
    }
    Some(out)
}

fn remove_trailing_commas(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    let chars: Vec<char> = text.chars().collect();
    for (index, &ch) in chars.iter().enumerate() {
        if in_string {
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if ch == '"' {
            in_string = true;
        } else if ch == ',' {
            let next = chars[index + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}' | ']')) {
                continue;
            }
        }
        out.push(ch);
    }
    out
}

/// Which files and lines an answer may refer to.
pub struct Known<'a> {
    pub files: &'a BTreeSet<String>,
}

fn items<'v>(root: &'v Value, key: &str, dropped: &mut Vec<String>) -> &'v [Value] {
    match root.get(key) {
        Some(Value::Array(items)) => items,
        Some(_) => {
            dropped.push(format!("`{key}` is not a list"));
            &[]
        }
        None => &[],
    }
}

fn check_file(file: &str, known: &Known<'_>) -> Result<(), String> {
    if known.files.contains(file) {
        Ok(())
    } else {
        Err(format!("file `{file}` is not part of the diff sent"))
    }
}

fn check_lines(start: u32, end: u32) -> Result<(), String> {
    if start == 0 || end < start {
        Err(format!("lines {start}-{end} are not a valid range"))
    } else {
        Ok(())
    }
}

pub fn description(answer: &str, known: &Known<'_>) -> Result<Parsed<Description>, String> {
    let (root, repaired) = parse_json(answer)?;
    let mut dropped = Vec::new();
    let types = match root.get("type") {
        Some(Value::Array(values)) => values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(value)) => vec![value.clone()],
        _ => Vec::new(),
    };
    let description = root
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut walkthrough = Vec::new();
    for (index, item) in items(&root, "walkthrough", &mut dropped).iter().enumerate() {
        match serde_json::from_value::<WalkthroughEntry>(item.clone())
            .map_err(|error| error.to_string())
            .and_then(|entry| check_file(&entry.file, known).map(|()| entry))
        {
            Ok(entry) => walkthrough.push(entry),
            Err(why) => dropped.push(format!("walkthrough entry {}: {why}", index + 1)),
        }
    }
    Ok(Parsed {
        value: Description {
            types,
            description,
            walkthrough,
        },
        dropped,
        repaired,
    })
}

pub fn review(
    answer: &str,
    known: &Known<'_>,
    max_findings: usize,
) -> Result<Parsed<Review>, String> {
    let (root, repaired) = parse_json(answer)?;
    let mut dropped = Vec::new();
    let effort = match root.get("effort").and_then(Value::as_u64) {
        Some(effort @ 1..=5) => effort as u8,
        Some(other) => {
            dropped.push(format!("effort {other} is outside 1-5; clamped"));
            other.clamp(1, 5) as u8
        }
        None => {
            dropped.push("effort is missing".to_owned());
            0
        }
    };
    let tests_present = root
        .get("tests_present")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let security_concerns = match root.get("security_concerns") {
        Some(Value::String(text)) => {
            let text = text.trim();
            let none = text.is_empty()
                || matches!(text.to_ascii_lowercase().as_str(), "no" | "none" | "n/a");
            if none { String::new() } else { text.to_owned() }
        }
        _ => String::new(),
    };
    let mut key_issues = Vec::new();
    for (index, item) in items(&root, "key_issues", &mut dropped).iter().enumerate() {
        let checked = serde_json::from_value::<KeyIssue>(item.clone())
            .map_err(|error| error.to_string())
            .and_then(|issue| {
                check_file(&issue.file, known)?;
                check_lines(issue.start_line, issue.end_line)?;
                Ok(issue)
            });
        match checked {
            Ok(issue) if key_issues.len() < max_findings => key_issues.push(issue),
            Ok(_) => dropped.push(format!(
                "key issue {}: more than {max_findings} issues",
                index + 1
            )),
            Err(why) => dropped.push(format!("key issue {}: {why}", index + 1)),
        }
    }
    Ok(Parsed {
        value: Review {
            effort,
            tests_present,
            security_concerns,
            key_issues,
        },
        dropped,
        repaired,
    })
}

pub fn suggestions(answer: &str, known: &Known<'_>) -> Result<Parsed<Vec<Suggestion>>, String> {
    #[derive(Deserialize)]
    struct Raw {
        file: String,
        start_line: u32,
        end_line: u32,
        label: String,
        score: i64,
        summary: String,
        #[serde(default)]
        existing_code: String,
        improved_code: String,
    }
    let (root, repaired) = parse_json(answer)?;
    let mut dropped = Vec::new();
    let mut out = Vec::new();
    for (index, item) in items(&root, "suggestions", &mut dropped).iter().enumerate() {
        let checked = serde_json::from_value::<Raw>(item.clone())
            .map_err(|error| error.to_string())
            .and_then(|raw| {
                check_file(&raw.file, known)?;
                check_lines(raw.start_line, raw.end_line)?;
                let label = Label::parse(&raw.label).ok_or_else(|| {
                    format!(
                        "label `{}` is not one of security, possible bug, general",
                        raw.label
                    )
                })?;
                Ok(Suggestion {
                    file: raw.file,
                    start_line: raw.start_line,
                    end_line: raw.end_line,
                    label,
                    score: raw.score.clamp(1, 10) as u8,
                    summary: raw.summary,
                    existing_code: raw.existing_code,
                    improved_code: raw.improved_code,
                })
            });
        match checked {
            Ok(suggestion) => out.push(suggestion),
            Err(why) => dropped.push(format!("suggestion {}: {why}", index + 1)),
        }
    }
    Ok(Parsed {
        value: out,
        dropped,
        repaired,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known() -> BTreeSet<String> {
        ["main.tf".to_owned()].into()
    }

    #[test]
    fn fenced_json_with_trailing_commas() {
        let (value, repaired) = parse_json("Here:\n```json\n{\"a\": [1, 2,],}\n```").unwrap();
        assert_eq!(value, serde_json::json!({"a": [1, 2]}));
        assert!(repaired);
    }

    #[test]
    fn truncated_answer_keeps_complete_items() {
        let files = known();
        let answer = r#"{"suggestions": [
            {"file": "main.tf", "start_line": 3, "end_line": 3, "label": "security", "score": 9,
             "summary": "s", "existing_code": "a", "improved_code": "b"},
            {"file": "main.tf", "start_line": 5, "end_line": 6, "label": "gen"#;
        let parsed = suggestions(answer, &Known { files: &files }).unwrap();
        assert!(parsed.repaired);
        assert_eq!(parsed.value.len(), 1);
        assert_eq!(parsed.dropped.len(), 1, "{:?}", parsed.dropped);
    }

    #[test]
    fn one_malformed_item_is_dropped() {
        let files = known();
        let answer = r#"{"effort": 3, "tests_present": false, "security_concerns": "No", "key_issues": [
            {"file": "main.tf", "start_line": 1, "end_line": 2, "title": "t", "issue": "i"},
            {"file": "other.tf", "start_line": 1, "end_line": 2, "title": "t", "issue": "i"},
            {"file": "main.tf", "start_line": "x"}]}"#;
        let parsed = review(answer, &Known { files: &files }, 5).unwrap();
        assert_eq!(parsed.value.key_issues.len(), 1);
        assert_eq!(parsed.value.security_concerns, "");
        assert_eq!(parsed.dropped.len(), 2, "{:?}", parsed.dropped);
        assert!(parsed.dropped[0].contains("other.tf"));
    }

    #[test]
    fn prose_without_json_is_an_error() {
        assert!(parse_json("I cannot help with that.").is_err());
    }
}
