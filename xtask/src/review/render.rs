//! Markdown for the pull request: the description section of the PR body, the review comment,
//! the suggestions comment and its inline suggestions, the coverage footer, the labels. Pure.
//!
//! Everything the model wrote (and every file name of the pull request) is untrusted: prose goes
//! through [`markdown::text`] (no HTML, mention, link or marker survives), file names through
//! [`markdown::code_span`]. Only the code of a committable suggestion is kept byte for byte,
//! inside a fence it cannot close. Our own markers start the body, so a marker-like text inside
//! can never be taken for one.

use std::fmt::Write as _;

use super::compress::{Compression, FileReport, Inclusion, LeftOut};
use super::findings::{Description, Review, Suggestion};
use super::headings::Headings;
use super::redact::Redaction;
use crate::markdown;

/// Hidden markers: a re-run finds its own comment by these and edits it in place.
pub const DESCRIBE_START: &str = "<!-- xtask-review:describe:start -->";
pub const DESCRIBE_END: &str = "<!-- xtask-review:describe:end -->";
pub const REVIEW_MARKER: &str = "<!-- xtask-review:review -->";
pub const IMPROVE_MARKER: &str = "<!-- xtask-review:improve -->";
/// Inline suggestions carry `<!-- xtask-review:suggestion:<id> -->` so a re-run does not post the
/// same suggestion twice.
pub const SUGGESTION_MARKER_PREFIX: &str = "<!-- xtask-review:suggestion:";

pub const LABEL_SECURITY: &str = "possible security concern";

/// Where links point and who wrote the text.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// `https://github.com/owner/repo` when reviewing a pull request.
    pub repo_url: Option<String>,
    pub head_sha: String,
}

impl Links {
    fn lines(&self, file: &str, start: u32, end: u32) -> String {
        let range = if start == end {
            format!("{start}")
        } else {
            format!("{start}-{end}")
        };
        match &self.repo_url {
            Some(url) => {
                let anchor = if start == end {
                    format!("L{start}")
                } else {
                    format!("L{start}-L{end}")
                };
                format!(
                    "[{} [{range}]]({url}/blob/{}/{}#{anchor})",
                    markdown::text(file),
                    crate::percent::encode_path(&self.head_sha),
                    crate::percent::encode_path(file)
                )
            }
            None => format!("{} [{range}]", markdown::code_span(file)),
        }
    }
}

/// Model prose as inert Markdown: every character shows as written ([`markdown::text`]); a line
/// that starts with a `- ` or `* ` bullet stays a list item.
fn prose(raw: &str) -> String {
    raw.trim()
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let indent = &line[..line.len() - trimmed.len()];
            match trimmed
                .strip_prefix("- ")
                .or_else(|| trimmed.strip_prefix("* "))
            {
                Some(item) => format!("{indent}- {}", markdown::text(item.trim())),
                None => format!("{indent}{}", markdown::text(trimmed)),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Untrusted text for inside a code span the heading template opens and closes: no backtick to
/// close it early, no line break, no marker.
fn code_span_content(raw: &str) -> String {
    markdown::neutralize_markers(&raw.replace('`', "'").replace(['\r', '\n'], " "))
}

/// Model text for one line (a title, a heading, bold text): inert, line breaks as spaces.
fn inline(raw: &str) -> String {
    markdown::text(&raw.trim().replace(['\r', '\n'], " "))
}

/// What every comment ends with.
#[derive(Debug, Clone, Default)]
pub struct Footer {
    pub coverage: String,
    /// Items the validation dropped.
    pub dropped: Vec<String>,
    pub truncated: bool,
    pub provider: String,
    pub model: String,
}

/// Untrusted text for a table cell: inert ([`markdown::text`] escapes `|` too), line breaks as
/// `<br>`.
fn cell(text: &str) -> String {
    markdown::text(text.trim()).replace('\n', "<br>")
}

fn footer(out: &mut String, footer: &Footer, headings: &Headings) {
    if footer.truncated {
        let _ = writeln!(out, "\n> {}", headings.get("truncated"));
    }
    if !footer.dropped.is_empty() {
        let _ = writeln!(
            out,
            "\n<details><summary>{} ({})</summary>\n",
            headings.get("dropped"),
            footer.dropped.len()
        );
        for why in &footer.dropped {
            let _ = writeln!(out, "- {}", cell(why));
        }
        out.push_str("\n</details>\n");
    }
    out.push('\n');
    out.push_str(&footer.coverage);
    let _ = writeln!(
        out,
        "\n<sub>{}</sub>",
        headings.fill(
            "generated_by",
            &[
                ("provider", markdown::text(&footer.provider)),
                // The model name is what the provider's answer says: untrusted too. The heading
                // puts it in a code span, where only a backtick (or a line break) could do harm.
                ("model", code_span_content(&footer.model))
            ]
        )
    );
}

/// The "review coverage" footer: what was sent, what was left out and why, what was redacted.
pub fn coverage(
    compression: &Compression,
    redactions: &[Redaction],
    headings: &Headings,
) -> String {
    let files_total = compression.files.len();
    let files_in = compression
        .files
        .iter()
        .filter(|file| !matches!(file.inclusion, Inclusion::Left(_)))
        .count();
    let (lines_in, lines_total) = compression.lines_covered();
    let calls = compression
        .chunks
        .iter()
        .filter(|chunk| chunk.tokens > 0)
        .count()
        .max(1);
    let mut out = format!(
        "<details><summary>{}</summary>\n\n",
        headings.get("coverage")
    );
    let _ = writeln!(
        out,
        "{}",
        headings.fill(
            "coverage_summary",
            &[
                ("files_in", files_in.to_string()),
                ("files_total", files_total.to_string()),
                ("lines_in", lines_in.to_string()),
                ("lines_total", lines_total.to_string()),
                ("calls", calls.to_string()),
            ]
        )
    );
    if compression.context_trimmed {
        let _ = writeln!(out, "\n{}", headings.get("coverage_context"));
    }
    let partial: Vec<&FileReport> = compression
        .files
        .iter()
        .filter(|file| matches!(file.inclusion, Inclusion::Partial { .. }))
        .collect();
    let left: Vec<(&FileReport, LeftOut)> = compression.left_out().collect();
    if !left.is_empty() || !partial.is_empty() {
        let _ = writeln!(out, "\n{}:", headings.get("left_out"));
        for file in partial {
            if let Inclusion::Partial { lines, of } = file.inclusion {
                let _ = writeln!(
                    out,
                    "- {}: {}",
                    markdown::code_span(&file.display_path()),
                    headings.fill(
                        "partial",
                        &[("lines", lines.to_string()), ("of", of.to_string())]
                    )
                );
            }
        }
        for (file, reason) in left {
            let _ = writeln!(
                out,
                "- {}: {}",
                markdown::code_span(&file.display_path()),
                headings.get(reason_key(reason))
            );
        }
    }
    if !redactions.is_empty() {
        let _ = writeln!(out, "\n{}:", headings.get("redactions"));
        for redaction in redactions {
            let _ = writeln!(
                out,
                "- {} ({})",
                markdown::text(&redaction.location),
                redaction.kind
            );
        }
    }
    out.push_str("\n</details>\n");
    out
}

pub fn reason_key(reason: LeftOut) -> &'static str {
    match reason {
        LeftOut::LockFile => "reason_lock",
        LeftOut::Binary => "reason_binary",
        LeftOut::Generated => "reason_generated",
        LeftOut::Ignored => "reason_ignored",
        LeftOut::Deleted => "reason_deleted",
        LeftOut::NoPatch => "reason_no_patch",
        LeftOut::OverBudget => "reason_over_budget",
    }
}

/// The section written into the PR body between [`DESCRIBE_START`] and [`DESCRIBE_END`].
pub fn description(
    described: &Description,
    files: &[FileReport],
    headings: &Headings,
    footer_info: &Footer,
) -> String {
    let mut out = format!(
        "{DESCRIBE_START}\n## {}\n\n",
        headings.get("describe_title")
    );
    if !described.types.is_empty() {
        let types: Vec<String> = described.types.iter().map(|t| inline(t)).collect();
        let _ = writeln!(out, "**{}**: {}\n", headings.get("type"), types.join(", "));
    }
    let _ = writeln!(
        out,
        "**{}**\n\n{}\n",
        headings.get("description"),
        prose(&described.description)
    );
    let _ = writeln!(
        out,
        "<details><summary>{}</summary>\n\n| {} | {} | {} |\n| --- | --- | --- |",
        headings.get("walkthrough"),
        headings.get("file"),
        headings.get("change"),
        headings.get("lines")
    );
    for file in files {
        let title = described
            .walkthrough
            .iter()
            .find(|entry| entry.file == file.path)
            .map_or(String::new(), |entry| cell(&entry.change_title));
        let _ = writeln!(
            out,
            "| {} | {} | +{}/-{} |",
            markdown::code_span(&file.path),
            title,
            file.additions,
            file.deletions
        );
    }
    out.push_str("\n</details>\n");
    footer(&mut out, footer_info, headings);
    out.push_str(DESCRIBE_END);
    out
}

/// Where our section sits in a PR body: from the first [`DESCRIBE_START`] to the last
/// [`DESCRIBE_END`] after it (so copies that an older version let model text leave behind are
/// swallowed, not kept), or to the end of the body when the end marker was deleted (our section is
/// always written last). `None` when the body has no section of ours.
fn section_range(body: &str) -> Option<std::ops::Range<usize>> {
    let start = body.find(DESCRIBE_START)?;
    let end = body[start..]
        .rfind(DESCRIBE_END)
        .map_or(body.len(), |end| start + end + DESCRIBE_END.len());
    Some(start..end)
}

/// The PR body without our section: the author's text only.
pub fn author_text(body: &str) -> String {
    match section_range(body) {
        Some(range) => format!("{}{}", &body[..range.start], &body[range.end..]),
        None => body.to_owned(),
    }
}

/// The PR body with our section replaced or appended; the author's text is kept as written.
pub fn update_body(body: &str, section: &str) -> String {
    if let Some(range) = section_range(body) {
        let mut out = String::with_capacity(body.len() + section.len());
        out.push_str(&body[..range.start]);
        out.push_str(section);
        out.push_str(&body[range.end..]);
        return out;
    }
    let author = body.trim_end();
    if author.is_empty() {
        section.to_owned()
    } else {
        format!("{author}\n\n{section}")
    }
}

pub fn review(
    reviewed: &Review,
    links: &Links,
    headings: &Headings,
    footer_info: &Footer,
) -> String {
    let mut out = format!("{REVIEW_MARKER}\n## {}\n\n", headings.get("review_title"));
    let effort = usize::from(reviewed.effort.min(5));
    let _ = writeln!(
        out,
        "**{}**: {} {}/5\n",
        headings.get("effort"),
        "\u{1f535}".repeat(effort) + &"\u{26aa}".repeat(5 - effort),
        reviewed.effort
    );
    let tests = if reviewed.tests_present {
        headings.get("tests_yes")
    } else {
        headings.get("tests_no")
    };
    let _ = writeln!(out, "**{}**: {tests}\n", headings.get("tests"));
    let security = if reviewed.security_concerns.trim().is_empty() {
        headings.get("security_none").to_owned()
    } else {
        prose(&reviewed.security_concerns)
    };
    let _ = writeln!(out, "**{}**: {security}\n", headings.get("security"));
    let _ = writeln!(out, "### {}\n", headings.get("key_issues"));
    if reviewed.key_issues.is_empty() {
        let _ = writeln!(out, "{}", headings.get("key_issues_none"));
    }
    for issue in &reviewed.key_issues {
        let _ = writeln!(
            out,
            "- **{}** ({})\n  {}",
            inline(&issue.title),
            links.lines(&issue.file, issue.start_line, issue.end_line),
            prose(&issue.issue).replace('\n', "\n  ")
        );
    }
    footer(&mut out, footer_info, headings);
    out
}

/// A suggestion with whether its lines lie inside one diff hunk.
#[derive(Debug, Clone)]
pub struct PlacedSuggestion {
    pub suggestion: Suggestion,
    pub committable: bool,
}

/// The stable id of a suggestion, for its hidden marker.
pub fn suggestion_id(suggestion: &Suggestion) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(suggestion.file.as_bytes());
    hasher.update(suggestion.start_line.to_le_bytes());
    hasher.update(suggestion.end_line.to_le_bytes());
    hasher.update(suggestion.improved_code.as_bytes());
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The body of an inline review comment: a committable ```suggestion block. Only for suggestions
/// whose lines lie in a hunk (see `FileDiff::lines_in_one_hunk`).
pub fn inline_suggestion(suggestion: &Suggestion) -> String {
    let fence = crate::markdown::fence_for(&suggestion.improved_code);
    format!(
        "{SUGGESTION_MARKER_PREFIX}{} -->\n**{}** ({}/10): {}\n\n{fence}suggestion\n{}\n{fence}\n",
        suggestion_id(suggestion),
        suggestion.label.as_str(),
        suggestion.score,
        inline(&suggestion.summary),
        suggestion.improved_code.trim_end_matches('\n'),
    )
}

pub fn improve(
    placed: &[PlacedSuggestion],
    links: &Links,
    headings: &Headings,
    footer_info: &Footer,
) -> String {
    let mut out = format!("{IMPROVE_MARKER}\n## {}\n\n", headings.get("improve_title"));
    if placed.is_empty() {
        let _ = writeln!(out, "{}", headings.get("no_suggestions"));
    } else {
        let _ = writeln!(
            out,
            "| {} | {} | {} |\n| --- | --- | --- |",
            headings.get("label"),
            headings.get("suggestion"),
            headings.get("score")
        );
        for item in placed {
            let suggestion = &item.suggestion;
            let location =
                links.lines(&suggestion.file, suggestion.start_line, suggestion.end_line);
            let detail = if item.committable {
                format!("<br><sub>{}</sub>", headings.get("committable"))
            } else {
                let mut diff = String::new();
                for line in suggestion.existing_code.lines() {
                    let _ = writeln!(diff, "-{line}");
                }
                for line in suggestion.improved_code.lines() {
                    let _ = writeln!(diff, "+{line}");
                }
                format!(
                    "<br><sub>{}</sub><details><summary>diff</summary><pre>{}</pre></details>",
                    headings.get("not_committable"),
                    html_escape(&diff).replace('\n', "<br>")
                )
            };
            let _ = writeln!(
                out,
                "| {} | **{}**<br>{location}{detail} | {} |",
                suggestion.label.as_str(),
                cell(&suggestion.summary),
                suggestion.score
            );
        }
    }
    footer(&mut out, footer_info, headings);
    out
}

/// Text for inside `<pre>`: no tag, no marker, no table-cell end, no mention.
fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('|', "&#124;")
        .replace('@', "&#64;")
}

/// Labels the review sets: `Review effort N/5`, and the security label when there is a concern.
pub fn labels(reviewed: &Review) -> Vec<String> {
    let mut labels = Vec::new();
    if (1..=5).contains(&reviewed.effort) {
        labels.push(format!("Review effort {}/5", reviewed.effort));
    }
    if !reviewed.security_concerns.is_empty() {
        labels.push(LABEL_SECURITY.to_owned());
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_section_is_replaced_and_author_text_kept() {
        let section = format!("{DESCRIBE_START}\nnew\n{DESCRIBE_END}");
        let first = update_body("Author text\n", &section);
        assert_eq!(first, format!("Author text\n\n{section}"));
        let edited = first.replace("Author text", "Author text, edited");
        let second = update_body(&edited, &format!("{DESCRIBE_START}\nnewer\n{DESCRIBE_END}"));
        assert!(second.starts_with("Author text, edited\n\n"));
        assert_eq!(second.matches(DESCRIBE_START).count(), 1);
        assert!(second.contains("newer") && !second.contains("\nnew\n"));
    }

    #[test]
    fn a_body_grown_by_stray_end_markers_is_repaired_and_a_lost_end_marker_tolerated() {
        let section = format!("{DESCRIBE_START}\nnew\n{DESCRIBE_END}");
        // What older runs left when model text carried our end marker: one copy per run.
        let grown = format!(
            "Author\n\n{DESCRIBE_START}\nold {DESCRIBE_END} tail\n{DESCRIBE_END} tail\n{DESCRIBE_END}\nAfter"
        );
        let repaired = update_body(&grown, &section);
        assert_eq!(repaired, format!("Author\n\n{section}\nAfter"));
        assert_eq!(update_body(&repaired, &section), repaired);
        assert_eq!(author_text(&grown), "Author\n\n\nAfter");
        let cut = format!("Author\n\n{DESCRIBE_START}\nold, end marker deleted");
        assert_eq!(update_body(&cut, &section), format!("Author\n\n{section}"));
    }

    #[test]
    fn model_text_renders_inert_and_keeps_bullets() {
        let hostile = "- <!-- xtask-review:describe:end --> @org/team <b>x</b> [a](https://e.example)\n  * nested `code`";
        let rendered = prose(hostile);
        assert!(!rendered.contains("<!--") && !rendered.contains('@') && !rendered.contains("<b>"));
        assert!(
            rendered.starts_with("- ") && rendered.contains("\n  - "),
            "{rendered}"
        );
        let cells = cell("a | b\nc");
        assert_eq!(cells, "a \\| b<br>c");
        assert_eq!(
            crate::percent::encode_path("dir/a b(1).tf"),
            "dir/a%20b%281%29.tf"
        );
        assert_eq!(
            code_span_content("gpt`x\n<!-- m -->"),
            "gpt'x <!\u{200B}-- m -->"
        );
    }

    use crate::review::findings::{KeyIssue, Label};

    fn suggestion(start: u32, end: u32) -> Suggestion {
        Suggestion {
            file: "main.tf".to_owned(),
            start_line: start,
            end_line: end,
            label: Label::Security,
            score: 8,
            summary: "Block public ACLs".to_owned(),
            existing_code: "  acl = \"public-read\"".to_owned(),
            improved_code: "  acl = \"private\"".to_owned(),
        }
    }

    #[test]
    fn review_and_suggestions_in_japanese() {
        let headings = Headings::for_language("ja-JP").unwrap();
        let links = Links {
            repo_url: Some("https://github.com/acme/infra".to_owned()),
            head_sha: "abc".to_owned(),
        };
        let footer = Footer {
            coverage: "<details><summary>レビュー範囲</summary>\n</details>\n".to_owned(),
            dropped: vec!["key issue 2: file `x.tf` is not part of the diff sent".to_owned()],
            truncated: false,
            provider: "OpenAI".to_owned(),
            model: "gpt-4.1-mini".to_owned(),
        };
        let reviewed = Review {
            effort: 2,
            tests_present: false,
            security_concerns: "バケットが公開されています。".to_owned(),
            key_issues: vec![KeyIssue {
                file: "main.tf".to_owned(),
                start_line: 3,
                end_line: 4,
                title: "公開 ACL".to_owned(),
                issue: "public-read は不要です。".to_owned(),
            }],
        };
        assert_eq!(labels(&reviewed), ["Review effort 2/5", LABEL_SECURITY]);
        let placed = [
            PlacedSuggestion {
                suggestion: suggestion(3, 3),
                committable: true,
            },
            PlacedSuggestion {
                suggestion: suggestion(40, 41),
                committable: false,
            },
        ];
        insta::assert_snapshot!(format!(
            "{}\n---\n{}\n---\n{}",
            review(&reviewed, &links, &headings, &footer),
            improve(&placed, &links, &headings, &footer),
            inline_suggestion(&placed[0].suggestion)
        ));
    }
}
