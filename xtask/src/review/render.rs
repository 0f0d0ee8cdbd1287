//! Markdown for the pull request: the description section of the PR body, the review comment,
//! the suggestions comment and its inline suggestions, the coverage footer, the labels. Pure.
//!
//! Everything the model wrote (and every file name of the pull request) is untrusted: prose goes
//! through [`markdown::text`] (no HTML, mention, link or marker survives), file names through
//! [`markdown::code_span`]. Only the code of a committable suggestion is kept byte for byte,
//! inside a fence it cannot close. Our own markers start the body, so a marker-like text inside
//! can never be taken for one.

use std::fmt::Write as _;

use super::PlannedPrompts;
use super::answers::Outputs;
use super::compress::{Compression, FileReport, Inclusion, LeftOut};
use super::findings::{Description, Review, Suggestion};
use super::headings::Headings;
use super::llm::Usage;
use super::prompt::Task;
use super::redact::Redaction;
use super::suggestion::{self, Committable};
use super::tokens::Tokenizer;
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
    /// Links into `repository` (`owner/name`) on `server` (default `https://github.com`) at the
    /// pull request's head.
    pub fn for_pull_request(
        server: Option<&str>,
        repository: impl std::fmt::Display,
        head_sha: &str,
    ) -> Links {
        let server = server
            .filter(|url| !url.is_empty())
            .unwrap_or("https://github.com");
        Links {
            repo_url: Some(format!("{}/{repository}", server.trim_end_matches('/'))),
            head_sha: head_sha.to_owned(),
        }
    }

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

/// Model prose as inert Markdown, for the other comments of the review (`/ask` replies).
pub fn prose_text(raw: &str) -> String {
    prose(raw)
}

/// The footer every comment ends with, for the other comments of the review.
pub fn footer_text(out: &mut String, footer_info: &Footer, headings: &Headings) {
    footer(out, footer_info, headings);
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

/// What a review or suggestions comment says about earlier runs: the hidden state line (see
/// `review::increment`) and, for a review of the commits since an earlier head, that head and
/// what those commits resolved. `Progress::default()`: a first review, nothing remembered.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub state_line: String,
    /// The head reviewed before (an incremental review).
    pub since: Option<String>,
    /// Findings of the earlier review whose lines the new commits changed: (file, title).
    pub resolved: Vec<(String, String)>,
    /// In an incremental review, how many of the findings shown (the first ones) are new; the
    /// rest are the earlier review's.
    pub fresh: usize,
}

impl Progress {
    /// The mark of the `index`-th finding shown: "new" in an incremental review.
    fn mark(&self, index: usize, headings: &Headings) -> String {
        if self.since.is_some() && index < self.fresh {
            format!(" **{}**", headings.get("new_mark"))
        } else {
            String::new()
        }
    }
}

fn progress_head(out: &mut String, progress: &Progress, headings: &Headings) {
    if let Some(since) = &progress.since {
        let short: String = since.chars().take(7).collect();
        let _ = writeln!(
            out,
            "{}\n",
            headings.fill("incremental", &[("since", code_span_content(&short))])
        );
    }
}

fn progress_resolved(out: &mut String, progress: &Progress, headings: &Headings) {
    if progress.resolved.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n### {}\n", headings.get("resolved"));
    for (file, title) in &progress.resolved {
        let _ = writeln!(
            out,
            "- ~~{}~~ ({})",
            inline(title),
            markdown::code_span(file)
        );
    }
}

/// The first lines of a comment: the marker, then the state line when there is one.
fn start(marker: &str, progress: &Progress) -> String {
    if progress.state_line.is_empty() {
        format!("{marker}\n")
    } else {
        format!("{marker}\n{}\n", progress.state_line)
    }
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
    /// Each call to the model: the model that answered (after any fallback) and its tokens.
    pub calls: Vec<Call>,
}

/// One call to the model, as the footer reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub model: String,
    pub usage: Option<Usage>,
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
    if !footer.calls.is_empty() {
        let _ = writeln!(out, "\n<sub>{}</sub>", usage(&footer.calls, headings));
    }
}

/// The tokens of every call (what the review cost), and their total when more than one reported.
fn usage(calls: &[Call], headings: &Headings) -> String {
    let mut parts = Vec::with_capacity(calls.len() + 1);
    for (index, call) in calls.iter().enumerate() {
        let mut values = vec![
            ("call", (index + 1).to_string()),
            ("model", code_span_content(&call.model)),
        ];
        match call.usage {
            Some(usage) => {
                values.push(("prompt", usage.prompt_tokens.to_string()));
                values.push(("completion", usage.completion_tokens.to_string()));
                parts.push(headings.fill("usage_call", &values));
            }
            None => parts.push(headings.fill("usage_unreported", &values)),
        }
    }
    let reported: Vec<Usage> = calls.iter().filter_map(|call| call.usage).collect();
    if reported.len() > 1 {
        let sum = |tokens: fn(&Usage) -> u64| reported.iter().map(tokens).sum::<u64>().to_string();
        parts.push(headings.fill(
            "usage_total",
            &[
                ("prompt", sum(|usage| usage.prompt_tokens)),
                ("completion", sum(|usage| usage.completion_tokens)),
            ],
        ));
    }
    format!("{}: {}", headings.get("usage"), parts.join("; "))
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
    progress: &Progress,
    links: &Links,
    headings: &Headings,
    footer_info: &Footer,
) -> String {
    let mut out = format!(
        "{}## {}\n\n",
        start(REVIEW_MARKER, progress),
        headings.get("review_title")
    );
    progress_head(&mut out, progress, headings);
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
    for (index, issue) in reviewed.key_issues.iter().enumerate() {
        let _ = writeln!(
            out,
            "- **{}**{} ({})\n  {}",
            inline(&issue.title),
            progress.mark(index, headings),
            links.lines(&issue.file, issue.start_line, issue.end_line),
            prose(&issue.issue).replace('\n', "\n  ")
        );
    }
    progress_resolved(&mut out, progress, headings);
    footer(&mut out, footer_info, headings);
    out
}

/// A suggestion with whether its lines lie inside one diff hunk.
#[derive(Debug, Clone)]
pub struct PlacedSuggestion {
    pub suggestion: Suggestion,
    pub committable: bool,
}

/// The committable suggestion comment of a suggestion whose lines lie in one hunk (see
/// `FileDiff::lines_in_one_hunk`); its fingerprint covers the file, the lines and the code.
pub fn committable(suggestion: &Suggestion) -> Committable {
    let fingerprint = suggestion::fingerprint(&[
        suggestion.file.as_bytes(),
        &suggestion.start_line.to_le_bytes(),
        &suggestion.end_line.to_le_bytes(),
        suggestion.improved_code.as_bytes(),
    ]);
    Committable::new(
        SUGGESTION_MARKER_PREFIX,
        &suggestion.file,
        (suggestion.start_line, suggestion.end_line),
        fingerprint,
        &format!(
            "**{}** ({}/10): {}",
            suggestion.label.as_str(),
            suggestion.score,
            inline(&suggestion.summary)
        ),
        Some(suggestion.improved_code.trim_end_matches('\n')),
    )
}

pub fn improve(
    placed: &[PlacedSuggestion],
    progress: &Progress,
    links: &Links,
    headings: &Headings,
    footer_info: &Footer,
) -> String {
    let mut out = format!(
        "{}## {}\n\n",
        start(IMPROVE_MARKER, progress),
        headings.get("improve_title")
    );
    progress_head(&mut out, progress, headings);
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
        for (index, item) in placed.iter().enumerate() {
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
                "| {} | **{}**{}<br>{location}{detail} | {} |",
                suggestion.label.as_str(),
                cell(&suggestion.summary),
                progress.mark(index, headings),
                suggestion.score
            );
        }
    }
    progress_resolved(&mut out, progress, headings);
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

/// A label the review sets, with its colour and description.
pub fn label(name: &str) -> crate::github::Label {
    let (color, description) = if name == LABEL_SECURITY {
        (
            "d93f0b",
            "cargo xtask review found a possible security concern",
        )
    } else {
        (
            "c5def5",
            "cargo xtask review's estimate of the review effort",
        )
    };
    crate::github::Label {
        name: name.to_owned(),
        color: color.to_owned(),
        description: description.to_owned(),
    }
}

/// Every label the review manages: those it removes when it no longer sets them.
pub fn managed_labels() -> Vec<String> {
    let mut managed: Vec<String> = (1..=5).map(|n| format!("Review effort {n}/5")).collect();
    managed.push(LABEL_SECURITY.to_owned());
    managed
}

/// The outputs as one job summary, under `note`: for a token that cannot write to the pull
/// request (a fork's), or when writing failed.
pub fn job_summary(outputs: &Outputs, note: &str) -> String {
    let mut summary = format!("> {note}\n\n");
    if let Some(section) = &outputs.describe {
        // Only our section: the author's text is already on the pull request.
        summary.push_str(section);
        summary.push_str("\n\n");
    }
    if let Some((text, labels)) = &outputs.review {
        summary.push_str(text);
        if !labels.is_empty() {
            let _ = writeln!(summary, "\nLabels: {}\n", labels.join(", "));
        }
    }
    if let Some(improved) = &outputs.improve {
        summary.push_str(&improved.text);
        for committable in improved.committables() {
            let _ = writeln!(
                summary,
                "\n{} {}-{}:\n\n{}",
                markdown::code_span(&committable.path),
                committable.start,
                committable.end,
                committable.body
            );
        }
    }
    summary
}

/// What `review --dry-run` prints: each redacted prompt with its token count and accounting, the
/// token count of every file and whether it was included, and the comments it would post (with
/// no model text). `to_pull_request`: whether the input is a pull request (not a diff file).
pub fn dry_run(
    planned: &[PlannedPrompts],
    tokenizer: &Tokenizer,
    headings: &Headings,
    coverage: &str,
    links: &Links,
    to_pull_request: bool,
) -> String {
    let mut out = String::new();
    for prompts in planned {
        for (index, built) in prompts.prompts.iter().enumerate() {
            let _ = writeln!(
                out,
                "===== {} prompt {}/{}: {} tokens (budget {}, accounted {}) =====",
                prompts.task.name(),
                index + 1,
                prompts.prompts.len(),
                built.count(tokenizer),
                prompts.budget,
                prompts.accounted.get(index).copied().unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "----- system -----\n{}\n----- user -----\n{}",
                built.system, built.user
            );
        }
    }
    if let Some(first) = planned.first() {
        let _ = writeln!(out, "===== token counts per file =====");
        let _ = writeln!(
            out,
            "{:>8}  {:>7} {:>7}  {:<28} path",
            "tokens", "+", "-", "included"
        );
        for file in &first.compression.files {
            let included = match file.inclusion {
                Inclusion::Full => "yes".to_owned(),
                Inclusion::Partial { lines, of } => format!("cut ({lines}/{of} lines)"),
                Inclusion::Left(reason) => format!("no: {}", headings.get(reason_key(reason))),
            };
            let _ = writeln!(
                out,
                "{:>8}  {:>7} {:>7}  {:<28} {}",
                file.tokens,
                file.additions,
                file.deletions,
                included,
                file.display_path()
            );
        }
    }
    let _ = writeln!(
        out,
        "===== would post (model text not requested in a dry run) ====="
    );
    let footer = Footer {
        coverage: coverage.to_owned(),
        provider: "(dry run)".to_owned(),
        model: "-".to_owned(),
        ..Footer::default()
    };
    for prompts in planned {
        let text = match prompts.task {
            Task::Ask => {
                "a reply to the question: in its review thread, or on the pull request".to_owned()
            }
            Task::Describe => format!(
                "PR body, author's text kept, section:\n{}",
                description(
                    &Description::default(),
                    &prompts.compression.files,
                    headings,
                    &footer,
                )
            ),
            Task::Review => format!(
                "comment {REVIEW_MARKER}:\n{}",
                review(
                    &Review::default(),
                    &Progress::default(),
                    links,
                    headings,
                    &footer
                )
            ),
            Task::Improve => format!(
                "comment {IMPROVE_MARKER} (+ one review with the committable suggestions):\n{}",
                improve(&[], &Progress::default(), links, headings, &footer)
            ),
        };
        let _ = writeln!(out, "--- {} ---\n{text}", prompts.task.name());
    }
    if !to_pull_request {
        let _ = writeln!(
            out,
            "(from a diff file: nothing would be posted; the result would be printed)"
        );
    }
    out
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
            calls: Vec::new(),
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
            review(&reviewed, &Progress::default(), &links, &headings, &footer),
            improve(&placed, &Progress::default(), &links, &headings, &footer),
            committable(&placed[0].suggestion).body
        ));
    }

    #[test]
    fn dry_run_and_job_summary() {
        use crate::review::answers::{self, Improved};
        use crate::review::diff::parse;
        use crate::review::prompt::PromptContext;
        let files = parse(
            b"--- a/main.tf\n+++ b/main.tf\n@@ -1,3 +1,3 @@\n a\n-  acl = \"public-read\"\n+  acl = \"private\"\n c\n--- a/Cargo.lock\n+++ b/Cargo.lock\n@@ -1 +1 @@\n-x\n+y\n",
        );
        let tokenizer = Tokenizer::load().unwrap();
        let headings = Headings::for_language("en-US").unwrap();
        let planned: Vec<PlannedPrompts> = [Task::Review, Task::Improve]
            .into_iter()
            .map(|task| {
                crate::review::plan_prompts(
                    task,
                    &files,
                    &PromptContext::default(),
                    &tokenizer,
                    8000,
                    1000,
                )
                .unwrap()
            })
            .collect();
        let coverage = coverage(&planned[0].compression, &[], &headings);
        let links = Links::for_pull_request(None, "acme/infra", "abc");
        let printed = dry_run(&planned, &tokenizer, &headings, &coverage, &links, false);
        let (prompts, rest) = printed
            .split_once("===== token counts per file =====")
            .unwrap();
        // The prompts are the templates' (snapshotted with them); here their framing.
        assert!(
            prompts.starts_with("===== review prompt 1/1: "),
            "{prompts}"
        );
        assert!(prompts.contains("----- system -----") && prompts.contains("----- user -----"));
        insta::assert_snapshot!("dry_run", rest);

        let placed = answers::place(vec![suggestion(2, 2), suggestion(40, 41)], &files);
        let outputs = Outputs {
            describe: None,
            review: Some(("review text\n".to_owned(), labels(&Review::default()))),
            improve: Some(Improved {
                text: "suggestions text\n".to_owned(),
                placed,
                ..Improved::default()
            }),
        };
        insta::assert_snapshot!("job_summary", job_summary(&outputs, "a note"));
        assert_eq!(
            label(LABEL_SECURITY).color,
            "d93f0b",
            "the colour GitHub shows"
        );
        assert_eq!(managed_labels().len(), 6);
    }

    #[test]
    fn the_footer_reports_the_tokens_of_each_call_and_the_model_after_fallback() {
        let call = |model: &str, usage: Option<(u64, u64)>| Call {
            model: model.to_owned(),
            usage: usage.map(|(prompt_tokens, completion_tokens)| Usage {
                prompt_tokens,
                completion_tokens,
            }),
        };
        let footer = Footer {
            coverage: String::new(),
            provider: "OpenAI".to_owned(),
            model: "gpt-4.1".to_owned(),
            calls: vec![
                call("gpt-4.1-mini", Some((12_034, 812))),
                // The first model failed; the fallback answered. A model name is untrusted.
                call("gpt-4.1`<!--", Some((9_100, 640))),
                call("local-model", None),
            ],
            ..Footer::default()
        };
        let links = Links::default();
        let en = Headings::for_language("en").unwrap();
        let ja = Headings::for_language("ja").unwrap();
        let text = format!(
            "{}\n---\n{}",
            review(
                &Review::default(),
                &Progress::default(),
                &links,
                &en,
                &footer
            ),
            improve(&[], &Progress::default(), &links, &ja, &footer)
        );
        assert!(!text.contains("`<!--"), "{text}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn an_incremental_review_marks_new_findings_and_lists_the_resolved() {
        let headings = Headings::for_language("en").unwrap();
        let issue = |title: &str, line: u32| KeyIssue {
            file: "main.tf".to_owned(),
            start_line: line,
            end_line: line,
            title: title.to_owned(),
            issue: "why".to_owned(),
        };
        let reviewed = Review {
            effort: 2,
            key_issues: vec![issue("New one", 3), issue("Carried one", 9)],
            ..Review::default()
        };
        let progress = Progress {
            state_line: "<!-- xtask-review:state {} -->".to_owned(),
            since: Some("0123456789abcdef".to_owned()),
            resolved: vec![("app.rs".to_owned(), "Fixed <b>one</b>".to_owned())],
            fresh: 1,
        };
        let links = Links::default();
        insta::assert_snapshot!(review(
            &reviewed,
            &progress,
            &links,
            &headings,
            &Footer::default()
        ));
    }
}
