//! Renders a plan summary as the PR comment (and the job summary): pure functions of the summary,
//! the human plan text and a [`Masker`].
//!
//! Every value from the plan (addresses and their for_each keys, attribute names, import ids,
//! output values, terraform's text) goes through [`crate::markdown`]: a code span or block that
//! nothing inside can close, or escaped text; none can post a mention, HTML or our marker.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::mask::Masker;
use super::summary::{Entry, Shown, Summary};
use crate::github::Label;
use crate::markdown::{code_span as code, text as prose};

/// GitHub refuses comment bodies over 65,536 characters; stay under with room to spare.
pub const COMMENT_LIMIT: usize = 65_000;
/// GitHub shows at most 1 MiB of job summary per step.
pub const STEP_SUMMARY_LIMIT: usize = 1_000_000;
/// Beyond this many resources the groups list counts per resource type instead of addresses.
pub const LIST_LIMIT: usize = 300;
/// Resources named in the destroy warning.
const WARNING_NAMES: usize = 10;
const DRIFT_LINES: usize = 50;
const VALUE_CHARS: usize = 200;

/// What the comment needs besides the summary.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub env: &'a str,
    /// The link to the CI run, when running in Actions.
    pub run_url: Option<&'a str>,
    /// Upper bound of the body, in characters.
    pub limit: usize,
    /// Up to this many resources are listed one by one; beyond, they are counted per type.
    pub list_limit: usize,
    /// What the job summary holds in full, when this body is the PR comment; `None` when this
    /// body is the job summary. The notes about left-out parts say where to find them from this.
    pub job_summary: Option<Completeness>,
    /// The change set's digest (hidden after the marker, shown in the footer): what
    /// `cargo xtask apply` compares the merged commit's plan with.
    pub stamp: Option<&'a super::digest::Stamp>,
}

impl<'a> Context<'a> {
    /// The context of the PR comment, given what the job summary holds.
    pub fn comment(env: &'a str, run_url: Option<&'a str>, job_summary: Completeness) -> Self {
        Context {
            env,
            run_url,
            limit: COMMENT_LIMIT,
            list_limit: LIST_LIMIT,
            job_summary: Some(job_summary),
            stamp: None,
        }
    }

    /// The context of the job summary: every address when it fits in `limit`.
    pub fn job_summary(env: &'a str, run_url: Option<&'a str>, limit: usize) -> Self {
        Context {
            env,
            run_url,
            limit,
            list_limit: usize::MAX,
            job_summary: None,
            stamp: None,
        }
    }
}

/// What a rendered body holds in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completeness {
    /// Every resource address (not counts per type).
    pub addresses: bool,
    /// The outputs and drift sections.
    pub outputs: bool,
    /// Terraform's plan text, uncut.
    pub details: bool,
}

/// The labels a plan of `env` sets on the pull request, and every label it manages (removed when
/// no longer set). `None` (the plan failed): none set. See [`labels_apply`] for when to sync.
pub fn labels(env: &str, summary: Option<&Summary>) -> (Vec<Label>, Vec<String>) {
    let label = |suffix: &str, color: &str, description: &str| Label {
        name: format!("{env}/{suffix}"),
        color: color.to_owned(),
        description: description.to_owned(),
    };
    let managed = ["add-or-update", "destroy", "no-changes"]
        .iter()
        .map(|suffix| format!("{env}/{suffix}"))
        .collect();
    let wanted = match summary {
        None => Vec::new(),
        Some(summary) if summary.has_destroy() => vec![label(
            "destroy",
            "d73a4a",
            "terraform plan destroys or replaces resources",
        )],
        Some(summary) if summary.has_changes() => vec![label(
            "add-or-update",
            "1d76db",
            "terraform plan adds or updates resources",
        )],
        Some(_) => vec![label(
            "no-changes",
            "0e8a16",
            "terraform plan has no changes",
        )],
    };
    (wanted, managed)
}

/// Whether a plan's labels replace the pull request's: a failed or incomplete plan (without
/// changes) keeps the labels of the last good one.
pub fn labels_apply(summary: Option<&Summary>) -> bool {
    summary.is_some_and(|s| !s.errored && (!s.incomplete || s.has_changes()))
}

/// The hidden marker that identifies an environment's plan comment on a pull request.
pub fn marker(env: &str) -> String {
    format!("<!-- xtask:plan env={env} -->")
}

/// `dev: 1 to add, 0 to change, 0 to destroy` and friends, for logs and the comment title.
pub fn summary_line(summary: &Summary) -> String {
    if !summary.has_changes() {
        return if summary.errored || summary.incomplete {
            "Nothing was planned, and the plan is incomplete.".to_owned()
        } else {
            "No changes.".to_owned()
        };
    }
    let mut line = if summary.import + summary.add + summary.change + summary.destroy > 0
        || summary.moved > 0
    {
        summary.plan_line()
    } else {
        "Only output values change.".to_owned()
    };
    for (count, what) in [
        (summary.moved, "to move"),
        (summary.forget, "to forget"),
        (summary.deferred, "deferred"),
    ] {
        if count > 0 {
            let _ = write!(line, " {count} {what}.");
        }
    }
    let outputs = summary.outputs.len();
    if outputs > 0 {
        let _ = write!(line, " {outputs} output change{}.", plural(outputs));
    }
    line
}

/// The comment of a plan that ran.
pub fn render_plan(
    summary: &Summary,
    plan_text: Option<&str>,
    masker: &Masker,
    context: &Context,
) -> String {
    render_plan_complete(summary, plan_text, masker, context).0
}

/// [`render_plan`], and what the body holds in full (so that the comment can say truthfully
/// what the job summary has).
pub fn render_plan_complete(
    summary: &Summary,
    plan_text: Option<&str>,
    masker: &Masker,
    context: &Context,
) -> (String, Completeness) {
    // Values are masked before they are rendered; our own structure (marker, title, headings)
    // never passes the masker.
    let summary = &masker.summary(summary);
    let env = context.env;
    let (icon, result) = if summary.errored {
        ("❌", "errored".to_owned())
    } else if !summary.has_changes() {
        if summary.incomplete {
            ("⚠️", "incomplete, nothing planned".to_owned())
        } else {
            ("✅", "no changes".to_owned())
        }
    } else if summary.has_destroy() {
        ("⚠️", format!("{} to destroy", summary.destroy))
    } else {
        ("📝", "changes".to_owned())
    };
    let hidden = context
        .stamp
        .map(super::digest::Stamp::hidden_lines)
        .unwrap_or_default();
    let mut head = format!(
        "{}\n{hidden}## {icon} Plan `{env}`: {result}\n\n",
        marker(env)
    );
    let _ = writeln!(head, "**{}**\n", summary_line(summary));
    if summary.errored {
        head.push_str(
            "> [!CAUTION]\n> Terraform stopped with errors: this plan is incomplete and cannot be applied; what is listed is only what was planned before the error.\n\n",
        );
    } else if summary.incomplete {
        head.push_str(
            "> [!NOTE]\n> Terraform marks this plan incomplete (`-target`, or changes deferred to a later plan): after applying it, plan again.\n\n",
        );
    }
    if summary.has_destroy() {
        head.push_str(&destroy_warning(summary));
    }

    let footer = footer(summary, context.run_url, context.stamp);
    let extras = format!("{}{}", outputs_section(summary), drift_section(summary));
    let fits = |middle: &str| count(&head) + count(middle) + count(&footer) <= context.limit;
    let mut complete = Completeness {
        addresses: true,
        outputs: true,
        details: true,
    };
    let listed = (summary.groups.len() <= context.list_limit)
        .then(|| format!("{}{extras}", groups_listed(summary)))
        .filter(|middle| fits(middle));
    let middle = match listed {
        Some(middle) => middle,
        None => {
            complete.addresses = summary.groups.is_empty();
            let by_type = groups_by_type(summary, context);
            let middle = format!("{by_type}{extras}");
            if fits(&middle) {
                middle
            } else {
                // Even without details it does not fit (huge outputs or drift): keep the summary
                // and the per-type counts, which are bounded by the number of resource types.
                complete.outputs = extras.is_empty();
                let see = match context.job_summary {
                    Some(full) if full.outputs => "; see the job summary",
                    _ => "",
                };
                format!(
                    "{}\n_Outputs and drift are left out to stay within GitHub's size limit{see}._\n\n",
                    by_type
                )
            }
        }
    };
    let details = plan_text
        .map(|text| {
            let budget = context
                .limit
                .saturating_sub(count(&head) + count(&middle) + count(&footer));
            let where_ = match context.job_summary {
                Some(full) if full.details => "the full plan is in the job summary and the CI log",
                _ => "the full plan is in the CI log",
            };
            let (block, whole) = details_block(&masker.mask(text), budget, where_);
            complete.details = whole;
            block
        })
        .unwrap_or_default();
    let body = format!("{head}{middle}{details}{footer}");
    let capped = hard_cap(body, context.limit);
    (capped, complete)
}

/// The comment of a plan that failed: the `Error:` blocks terraform printed.
pub fn render_failure(
    step: &str,
    errors: &str,
    hint: Option<&str>,
    masker: &Masker,
    context: &Context,
) -> String {
    let env = context.env;
    let mut head = format!(
        "{}\n## ❌ Plan `{env}`: failed\n\n`terraform {step}` failed; nothing was planned.\n\n",
        marker(env)
    );
    if let Some(hint) = hint {
        let _ = writeln!(head, "> [!TIP]\n> {hint}\n");
    }
    let footer = footer(&Summary::default(), context.run_url, None);
    let budget = context
        .limit
        .saturating_sub(count(&head) + count(&footer) + 16);
    let errors = cut_middle(
        &masker.mask(errors.trim()),
        budget,
        "terraform's full output is in the CI log",
    );
    hard_cap(
        format!(
            "{head}{}\n{footer}",
            crate::markdown::code_block("text", &errors)
        ),
        context.limit,
    )
}

fn destroy_warning(summary: &Summary) -> String {
    let mut names: Vec<&str> = summary
        .groups
        .delete
        .iter()
        .chain(&summary.groups.replace)
        .map(|entry| entry.address.as_str())
        .collect();
    let total = names.len();
    names.truncate(WARNING_NAMES);
    let mut text = format!(
        "> [!WARNING]\n> This plan **destroys {}** resource{} and **replaces {}**: ",
        summary.groups.delete.len(),
        plural(summary.groups.delete.len()),
        summary.groups.replace.len()
    );
    let listed: Vec<String> = names.iter().map(|name| code(name)).collect();
    text.push_str(&listed.join(", "));
    if total > WARNING_NAMES {
        let _ = write!(text, " and {} more", total - WARNING_NAMES);
    }
    text.push_str(".\n\n");
    text
}

/// Every address by what happens to it, one a line, for the CI log (plain text, not Markdown).
pub fn address_list(summary: &Summary) -> String {
    let mut out = String::new();
    for (heading, entries) in summary.groups.named() {
        for entry in entries {
            let _ = writeln!(out, "  {}: {}", heading.to_lowercase(), entry.address);
        }
    }
    out.trim_end().to_owned()
}

fn groups_listed(summary: &Summary) -> String {
    let mut out = String::new();
    for (heading, entries) in summary.groups.named() {
        if entries.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {heading} ({})\n", entries.len());
        for entry in entries {
            let _ = writeln!(out, "- {}", entry_line(heading, entry));
        }
        out.push('\n');
    }
    out
}

fn entry_line(heading: &str, entry: &Entry) -> String {
    let mut line = match heading {
        "Move" => format!(
            "{} => {}",
            code(entry.previous_address.as_deref().unwrap_or("?")),
            code(&entry.address)
        ),
        _ => code(&entry.address),
    };
    match heading {
        "Update" if !entry.attributes.is_empty() => {
            let _ = write!(line, ": {}", codes(&entry.attributes));
        }
        "Replace" => {
            line.push_str(if entry.create_first {
                " (create the new one first, then destroy)"
            } else {
                " (destroy, then create)"
            });
            if !entry.forces.is_empty() {
                let _ = write!(line, ", forced by {}", codes(&entry.forces));
            }
        }
        "Delete" => {
            if let Some(reason) = entry.reason.as_deref().and_then(reason_text) {
                let _ = write!(line, " ({reason})");
            }
        }
        "Import" => {
            if let Some(id) = &entry.import_id {
                let _ = write!(line, " (id {})", code(id));
            }
        }
        _ => {}
    }
    line
}

fn reason_text(reason: &str) -> Option<&'static str> {
    Some(match reason {
        "delete_because_no_resource_config" => "not in the configuration",
        "delete_because_no_module" => "its module is gone",
        "delete_because_wrong_repetition" => "count/for_each changed",
        "delete_because_count_index" => "count index out of range",
        "delete_because_each_key" => "for_each key gone",
        "delete_because_no_move_target" => "moved to an address that does not exist",
        _ => return None,
    })
}

/// Per group, how many resources of each type: bounded by the number of types, not resources.
fn groups_by_type(summary: &Summary, context: &Context) -> String {
    let where_ = match context.job_summary {
        Some(full) if full.addresses => "the job summary and the CI log have every address",
        _ => "the CI log has every address",
    };
    let mut out = format!(
        "_{} resources: listed per type to stay within GitHub's size limit; {where_}._\n\n",
        summary.groups.len()
    );
    for (heading, entries) in summary.groups.named() {
        if entries.is_empty() {
            continue;
        }
        let mut per_type: BTreeMap<&str, usize> = BTreeMap::new();
        for entry in entries {
            *per_type.entry(entry.resource_type.as_str()).or_default() += 1;
        }
        let _ = writeln!(out, "### {heading} ({})\n", entries.len());
        out.push_str("| resource type | count |\n| --- | ---: |\n");
        for (resource_type, n) in per_type {
            let _ = writeln!(out, "| {} | {n} |", code(resource_type));
        }
        out.push('\n');
    }
    out
}

fn outputs_section(summary: &Summary) -> String {
    if summary.outputs.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "### Outputs ({})\n\n| | output | before | after |\n| --- | --- | --- | --- |\n",
        summary.outputs.len()
    );
    for line in &summary.outputs {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            line.symbol,
            code(&line.name),
            shown(&line.before),
            shown(&line.after)
        );
    }
    out.push('\n');
    out
}

fn shown(value: &Shown) -> String {
    match value {
        Shown::Absent => String::new(),
        Shown::Sensitive => "_(sensitive value)_".to_owned(),
        Shown::Unknown => "_(known after apply)_".to_owned(),
        Shown::Value(json) => {
            let mut text: String = json.chars().take(VALUE_CHARS).collect();
            if json.chars().count() > VALUE_CHARS {
                text.push('…');
            }
            code(&text)
        }
    }
}

fn drift_section(summary: &Summary) -> String {
    if summary.drift.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<details><summary>🔀 Drift: {} resource{} changed outside of Terraform</summary>\n\n",
        summary.drift.len(),
        plural(summary.drift.len())
    );
    for line in summary.drift.iter().take(DRIFT_LINES) {
        let _ = write!(out, "- {} was {}", code(&line.address), line.what);
        if !line.attributes.is_empty() {
            let _ = write!(out, ": {}", codes(&line.attributes));
        }
        out.push('\n');
    }
    if summary.drift.len() > DRIFT_LINES {
        let _ = writeln!(out, "- … and {} more", summary.drift.len() - DRIFT_LINES);
    }
    out.push_str("\n</details>\n\n");
    out
}

fn footer(
    summary: &Summary,
    run_url: Option<&str>,
    stamp: Option<&super::digest::Stamp>,
) -> String {
    let mut parts = Vec::new();
    if let Some(url) = run_url {
        parts.push(format!("[CI run]({url})"));
    }
    if let Some(stamp) = stamp {
        // Checked to be `sha256:` and hex when it was read; the form `--accept` takes.
        parts.push(format!("change set `{}`", stamp.digest));
    }
    if !summary.terraform_version.is_empty() {
        let version = &summary.terraform_version;
        let plain = version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        // It comes from the plan file: anything but a plain version number is escaped.
        let version = if plain {
            version.clone()
        } else {
            prose(version)
        };
        parts.push(format!("Terraform {version}"));
    }
    parts.push("posted by `cargo xtask plan`".to_owned());
    format!("\n{}\n", parts.join(" · "))
}

/// The human plan text in a collapsible diff block, cut in the middle to fit `budget` (the note
/// says `where_` the full text is); and whether it is whole.
fn details_block(text: &str, budget: usize, where_: &str) -> (String, bool) {
    const WRAPPER: &str = "<details><summary>Plan details</summary>\n\n\n\n</details>\n";
    let fence_overhead = count(WRAPPER) + 16;
    if budget <= fence_overhead + 200 {
        return (
            format!("_Plan details are left out to stay within GitHub's size limit; {where_}._\n"),
            false,
        );
    }
    let diff = as_diff(text);
    let inner = cut_middle(&diff, budget - fence_overhead, where_);
    let whole = inner == diff;
    let block = format!(
        "<details><summary>Plan details</summary>\n\n{}\n</details>\n",
        crate::markdown::code_block("diff", &inner)
    );
    (block, whole)
}

/// Moves terraform's change symbols to the first column so that GitHub colours them.
fn as_diff(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let rest = &line[indent..];
        if rest.starts_with("-/+") || rest.starts_with("+/-") {
            // A replacement: mark the line, keep terraform's own symbol.
            out.push('!');
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let symbol = if rest.starts_with("+ ") {
            Some('+')
        } else if rest.starts_with("- ") {
            Some('-')
        } else if rest.starts_with("~ ") {
            Some('!')
        } else {
            None
        };
        match symbol {
            Some(symbol) => {
                out.push(symbol);
                out.push_str(&line[..indent]);
                out.push_str(&rest[1..]);
            }
            None => {
                out.push(' ');
                out.push_str(line);
            }
        }
        out.push('\n');
    }
    out
}

/// Keeps the head and the tail of `text` (whole lines) within `budget` characters, with a note
/// saying how many lines were cut and `where_` the whole text is.
pub fn cut_middle(text: &str, budget: usize, where_: &str) -> String {
    if count(text) <= budget {
        return text.to_owned();
    }
    let lines: Vec<&str> = text.lines().collect();
    let note_room = 120;
    let half = budget.saturating_sub(note_room) / 2;
    let mut head = Vec::new();
    let mut used = 0;
    for line in &lines {
        let size = count(line) + 1;
        if used + size > half {
            break;
        }
        used += size;
        head.push(*line);
    }
    let mut tail = Vec::new();
    used = 0;
    for line in lines.iter().skip(head.len()).rev() {
        let size = count(line) + 1;
        if used + size > half {
            break;
        }
        used += size;
        tail.push(*line);
    }
    tail.reverse();
    let cut = lines.len() - head.len() - tail.len();
    format!(
        "{}\n… {cut} lines cut to stay within GitHub's size limit; {where_} …\n{}",
        head.join("\n"),
        tail.join("\n")
    )
}

/// Last resort: never hand GitHub a body it refuses.
fn hard_cap(body: String, limit: usize) -> String {
    if count(&body) <= limit {
        return body;
    }
    let note = "\n\n_… cut to stay within GitHub's size limit._\n";
    let keep = limit.saturating_sub(count(note));
    let mut out: String = body.chars().take(keep).collect();
    out.push_str(note);
    out
}

fn codes(items: &[String]) -> String {
    items
        .iter()
        .map(|item| code(item))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn count(text: &str) -> usize {
    text.chars().count()
}
