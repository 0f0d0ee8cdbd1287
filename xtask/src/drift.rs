//! `cargo xtask drift` as data: what differs between an environment's code on `main`, its state and
//! the real world, the issue that tells it, and what to do with that issue. Pure: the command
//! runs terraform and talks to GitHub.
//!
//! Two kinds of drift, from two read-only plans of the same commit:
//!
//! - **changed outside Terraform**: the refresh-only plan's `resource_drift` (objects that differ
//!   from the state: edited in the console, deleted by hand);
//! - **merged but not applied**: the normal plan's resource and output changes (code on `main` that
//!   no apply has brought to the environment yet).
//!
//! Only resource addresses, actions and top-level attribute *names* are kept, never a value; the
//! addresses and names are masked like the plan comment's (configured masks, sensitive strings,
//! the shared secret rules) and rendered inert through [`crate::markdown`].

use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use crate::github::Label;
use crate::markdown::code_span as code;
use crate::plan::mask::Masker;
use crate::plan::model::{Action, Kind, Plan, ResourceChange};

/// GitHub refuses issue bodies over 65,536 characters; stay under with room to spare.
pub const BODY_LIMIT: usize = 65_000;
/// Resources listed one by one per section; beyond, the section says how many more.
const LIST_LIMIT: usize = 200;
/// The marker that separates what the issue says from the line naming the run that said it:
/// only the part before it decides whether the issue must be updated. Rendered values can never
/// contain `<!--` ([`crate::markdown`]), so it is found only where we put it.
const RUN_MARKER: &str = "<!-- xtask:drift-run -->";

/// The hidden marker at the start of an environment's drift issue.
pub fn marker(env: &str) -> String {
    format!("<!-- xtask:drift env={env} -->")
}

/// The hidden marker at the start of our closing comment on a drift issue.
pub fn resolved_marker(env: &str) -> String {
    format!("<!-- xtask:drift-resolved env={env} -->")
}

/// The label every drift issue of `env` carries (and is found by).
pub fn label(env: &str) -> Label {
    Label {
        name: format!("{env}/drift"),
        color: "fbca04".to_owned(),
        description: format!("cargo xtask drift: {env} differs from its code on main"),
    }
}

/// The issue title (fixed per environment, so that only a change of the drift updates it).
pub fn title(env: &str) -> String {
    format!("Drift in environment {env}")
}

/// One resource that drifted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    pub address: String,
    /// `update`, `delete` (outside Terraform); `create`, `update`, `replace`, `delete`, `move`,
    /// `import`, `forget` (not applied).
    pub action: &'static str,
    /// Top-level attributes that differ, names only.
    pub attributes: Vec<String>,
}

/// An output value whose change is merged but not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Output {
    pub name: String,
    pub action: &'static str,
}

/// The drift of one environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// Changed outside Terraform (refresh-only plan).
    pub outside: Vec<Resource>,
    /// Merged but not applied (normal plan).
    pub unapplied: Vec<Resource>,
    pub outputs: Vec<Output>,
    pub terraform_version: String,
}

impl Drift {
    /// From the refresh-only plan and the normal plan of the same commit.
    pub fn from_plans(refresh_only: &Plan, normal: &Plan) -> Drift {
        let mut outside: Vec<Resource> = refresh_only
            .resource_drift
            .iter()
            .chain(&refresh_only.resource_changes)
            .filter_map(outside_change)
            .collect();
        outside.sort_by(|a, b| a.address.cmp(&b.address));
        outside.dedup_by(|a, b| a.address == b.address);
        let unapplied = normal
            .resource_changes
            .iter()
            .filter_map(unapplied_change)
            .collect();
        let outputs = normal
            .output_changes
            .iter()
            .filter_map(|(name, change)| {
                output_action(&change.actions).map(|action| Output {
                    name: name.clone(),
                    action,
                })
            })
            .collect();
        let terraform_version = if normal.terraform_version.is_empty() {
            refresh_only.terraform_version.clone()
        } else {
            normal.terraform_version.clone()
        };
        Drift {
            outside,
            unapplied,
            outputs,
            terraform_version,
        }
    }

    /// Whether anything drifted.
    pub fn exists(&self) -> bool {
        !(self.outside.is_empty() && self.unapplied.is_empty() && self.outputs.is_empty())
    }

    /// The same with every value masked (addresses, attribute and output names, the version);
    /// render it without masking again.
    pub fn masked(&self, masker: &Masker) -> Drift {
        let resources = |items: &[Resource]| {
            items
                .iter()
                .map(|r| Resource {
                    address: masker.mask(&r.address),
                    action: r.action,
                    attributes: r.attributes.iter().map(|a| masker.mask(a)).collect(),
                })
                .collect()
        };
        Drift {
            outside: resources(&self.outside),
            unapplied: resources(&self.unapplied),
            outputs: self
                .outputs
                .iter()
                .map(|o| Output {
                    name: masker.mask(&o.name),
                    action: o.action,
                })
                .collect(),
            terraform_version: masker.mask(&self.terraform_version),
        }
    }

    /// `2 changed outside Terraform, 1 merged but not applied, 1 output` for logs and the body.
    pub fn line(&self) -> String {
        if !self.exists() {
            return "no drift".to_owned();
        }
        let mut parts = Vec::new();
        if !self.outside.is_empty() {
            parts.push(format!(
                "{} resource{} changed outside Terraform",
                self.outside.len(),
                plural(self.outside.len())
            ));
        }
        if !self.unapplied.is_empty() {
            parts.push(format!(
                "{} resource change{} merged but not applied",
                self.unapplied.len(),
                plural(self.unapplied.len())
            ));
        }
        if !self.outputs.is_empty() {
            parts.push(format!(
                "{} output change{} not applied",
                self.outputs.len(),
                plural(self.outputs.len())
            ));
        }
        parts.join(", ")
    }
}

fn outside_change(resource: &ResourceChange) -> Option<Resource> {
    if resource.mode == "data" {
        return None;
    }
    let action = match resource.change.kind() {
        Kind::Update => "update",
        Kind::Delete => "delete",
        _ => return None,
    };
    Some(Resource {
        address: resource.object().into_owned(),
        action,
        attributes: if action == "update" {
            resource.change.changed_attributes()
        } else {
            Vec::new()
        },
    })
}

fn unapplied_change(resource: &ResourceChange) -> Option<Resource> {
    // A data source read is not a change of the environment.
    if resource.mode == "data" {
        return None;
    }
    let change = &resource.change;
    let moved = resource
        .previous_address
        .as_ref()
        .is_some_and(|previous| *previous != resource.address);
    let (action, with_attributes) = match change.kind() {
        Kind::Create => ("create", false),
        Kind::Update => ("update", true),
        Kind::DeleteThenCreate | Kind::CreateThenDelete => ("replace", true),
        Kind::Delete => ("delete", false),
        Kind::Forget => ("forget", false),
        Kind::NoOp if change.importing.is_some() => ("import", false),
        Kind::NoOp if moved => ("move", false),
        Kind::Unknown => ("change", true),
        Kind::NoOp | Kind::Read => return None,
    };
    Some(Resource {
        address: resource.object().into_owned(),
        action,
        attributes: if with_attributes {
            change.changed_attributes()
        } else {
            Vec::new()
        },
    })
}

fn output_action(actions: &[Action]) -> Option<&'static str> {
    match actions {
        [] | [Action::NoOp] | [Action::Read] => None,
        [Action::Create] => Some("create"),
        [Action::Update] => Some("update"),
        [Action::Delete] => Some("delete"),
        _ => Some("change"),
    }
}

/// What one environment's check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// Both plans ran; the drift is masked.
    Planned(Drift),
    /// A step failed (`init`, `plan -refresh-only`, `plan`, reading the plan): the errors, masked.
    Failed { step: String, errors: String },
}

/// What the run was, for the links in the issue.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The checked commit, when known (`GITHUB_SHA`).
    pub commit: Option<&'a str>,
    pub run_url: Option<&'a str>,
}

impl Run<'_> {
    /// `` `abc123def456` ([run](url)) `` or what of it is known.
    fn reference(&self) -> String {
        let mut parts = Vec::new();
        if let Some(commit) = self.commit {
            let short: String = commit.chars().take(12).collect();
            parts.push(code(&short));
        }
        if let Some(url) = self.run_url {
            parts.push(format!("([run]({url}))"));
        }
        if parts.is_empty() {
            "this run".to_owned()
        } else {
            parts.join(" ")
        }
    }
}

/// The issue body of an environment's (masked) drift.
pub fn render_issue(env: &str, drift: &Drift, run: &Run) -> String {
    let mut out = format!("{}\n## 🔀 Drift in `{env}`\n\n", marker(env));
    let _ = writeln!(out, "**{}.**\n", capitalized(&drift.line()));
    section(
        &mut out,
        "Changed outside Terraform",
        "A refresh-only plan found these objects different from the state: someone changed or deleted them outside Terraform. Bring the change into the code (then it is no longer drift), or let the next apply put them back.",
        &drift.outside,
        |r| match r.action {
            "delete" => format!("{} was deleted", code(&r.address)),
            _ => with_attributes(format!("{} was updated", code(&r.address)), &r.attributes),
        },
    );
    section(
        &mut out,
        "Merged but not applied",
        "The plan of the code on `main` still has these changes: they were merged and not applied, or an apply failed. Run the apply workflow of this environment, or revert the change.",
        &drift.unapplied,
        |r| {
            with_attributes(
                format!("{} ({})", code(&r.address), r.action),
                &r.attributes,
            )
        },
    );
    if !drift.outputs.is_empty() {
        let _ = writeln!(out, "### Outputs not applied ({})\n", drift.outputs.len());
        for output in drift.outputs.iter().take(LIST_LIMIT) {
            let _ = writeln!(out, "- {} ({})", code(&output.name), output.action);
        }
        more(&mut out, drift.outputs.len());
        out.push('\n');
    }
    out.push_str(
        "This issue is kept up to date by `cargo xtask drift`: it is edited when the drift changes and closed with a comment when it is gone.\n\n",
    );
    let mut footer = format!("{RUN_MARKER}\n_Last changed by {}", run.reference());
    if !drift.terraform_version.is_empty() {
        // From the plan file: bounded, so that the footer always fits.
        let version: String = drift.terraform_version.chars().take(40).collect();
        let _ = write!(footer, " · Terraform {}", code(&version));
    }
    footer.push_str("._\n");
    hard_cap(out, BODY_LIMIT.saturating_sub(footer.chars().count())) + &footer
}

/// The closing comment.
pub fn render_resolved(env: &str, run: &Run) -> String {
    format!(
        "{}\nNo drift since {}: the refresh-only plan and the plan of `main` found nothing to change in `{env}`. Closing; a new drift opens a new issue.\n",
        resolved_marker(env),
        run.reference()
    )
}

/// One environment's part of the job summary, within `limit` characters; `result` (what happened
/// to the issue) is Markdown written by the caller, with anything untrusted in it already escaped.
pub fn render_summary(env: &str, checked: &Checked, result: &str, limit: usize) -> String {
    let full = match checked {
        Checked::Planned(drift) if drift.exists() => format!(
            "### 🔀 Drift in `{env}`: {}\n\n{}\n\n{}\n",
            crate::markdown::text(&drift.line()),
            result,
            addresses(drift)
        ),
        Checked::Planned(_) => format!("### ✅ No drift in `{env}`\n\n{result}\n"),
        Checked::Failed { step, errors } => {
            let head = format!(
                "### ❌ Drift check of `{env}` failed\n\n{} failed; the drift issue is left as it was.\n\n",
                code(&format!("terraform {step}"))
            );
            // Room for the fences and the note of the cut.
            let budget = limit.saturating_sub(head.chars().count() + 20);
            let errors = crate::plan::render::cut_middle(
                errors.trim(),
                budget,
                "terraform's full output is in the log of the run",
            );
            return format!("{head}{}", crate::markdown::code_block("text", &errors));
        }
    };
    cut_lines(full, limit)
}

/// Whole lines of `text` (which has no fenced block) within `limit` characters, with a note when
/// some were left out.
fn cut_lines(text: String, limit: usize) -> String {
    if text.chars().count() <= limit {
        return text;
    }
    let note = "\n_… cut to stay within GitHub's size limit; the log of the run has every line._\n";
    let room = limit.saturating_sub(note.chars().count());
    let mut out = String::new();
    let mut used = 0;
    for line in text.lines() {
        let size = line.chars().count() + 1;
        if used + size > room {
            break;
        }
        used += size;
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(note);
    out
}

/// Every address, one a line with its kind, for the log and the job summary (inert Markdown).
fn addresses(drift: &Drift) -> String {
    let mut lines = Vec::new();
    for r in &drift.outside {
        lines.push(with_attributes(
            format!("- outside Terraform: {} ({})", code(&r.address), r.action),
            &r.attributes,
        ));
    }
    for r in &drift.unapplied {
        lines.push(with_attributes(
            format!("- not applied: {} ({})", code(&r.address), r.action),
            &r.attributes,
        ));
    }
    for o in &drift.outputs {
        lines.push(format!(
            "- output not applied: {} ({})",
            code(&o.name),
            o.action
        ));
    }
    lines.join("\n")
}

/// The log lines of a (masked) drift: plain text, one resource a line.
pub fn log_lines(env: &str, drift: &Drift) -> String {
    let mut out = String::new();
    let line = |out: &mut String, kind: &str, r: &Resource| {
        let _ = write!(out, "  {env}: {kind}: {} ({})", r.address, r.action);
        if !r.attributes.is_empty() {
            let _ = write!(out, ": {}", r.attributes.join(", "));
        }
        out.push('\n');
    };
    for r in &drift.outside {
        line(&mut out, "outside Terraform", r);
    }
    for r in &drift.unapplied {
        line(&mut out, "not applied", r);
    }
    for o in &drift.outputs {
        let _ = writeln!(
            out,
            "  {env}: output not applied: {} ({})",
            o.name, o.action
        );
    }
    out.trim_end().to_owned()
}

fn section(
    out: &mut String,
    heading: &str,
    explanation: &str,
    resources: &[Resource],
    line: impl Fn(&Resource) -> String,
) {
    if resources.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "### {heading} ({})\n\n_{explanation}_\n",
        resources.len()
    );
    for resource in resources.iter().take(LIST_LIMIT) {
        let _ = writeln!(out, "- {}", line(resource));
    }
    more(out, resources.len());
    out.push('\n');
}

fn more(out: &mut String, total: usize) {
    if total > LIST_LIMIT {
        let _ = writeln!(
            out,
            "- … and {} more (the job summary and the log of the run have every one)",
            total - LIST_LIMIT
        );
    }
}

fn with_attributes(mut line: String, attributes: &[String]) -> String {
    if !attributes.is_empty() {
        let names: Vec<String> = attributes.iter().map(|a| code(a)).collect();
        let _ = write!(line, ": {}", names.join(", "));
    }
    line
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn hard_cap(body: String, limit: usize) -> String {
    if body.chars().count() <= limit {
        return body;
    }
    let note =
        "\n\n_… cut to stay within GitHub's size limit; the job summary has every resource._\n\n";
    let keep = limit.saturating_sub(note.chars().count());
    let mut out: String = body.chars().take(keep).collect();
    out.push_str(note);
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Our open drift issue of the environment, as found on GitHub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Existing<'a> {
    pub number: u64,
    pub title: &'a str,
    pub body: &'a str,
}

/// What to do with the environment's drift issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IssueAction {
    Open {
        title: String,
        body: String,
    },
    Update {
        number: u64,
        title: String,
        body: String,
    },
    /// The issue already says exactly this.
    Unchanged {
        number: u64,
    },
    /// The drift is gone: comment, then close.
    Close {
        number: u64,
        comment: String,
    },
    /// No drift and no issue: nothing to do.
    Nothing,
    /// The check failed: an unknown state is neither drift nor its absence, so the issue (if
    /// any) is left as it is.
    Leave {
        number: Option<u64>,
    },
}

/// The one decision of the command.
pub fn decide(env: &str, checked: &Checked, existing: Option<Existing>, run: &Run) -> IssueAction {
    let drift = match checked {
        Checked::Failed { .. } => {
            return IssueAction::Leave {
                number: existing.map(|e| e.number),
            };
        }
        Checked::Planned(drift) => drift,
    };
    match (drift.exists(), existing) {
        (false, None) => IssueAction::Nothing,
        (false, Some(issue)) => IssueAction::Close {
            number: issue.number,
            comment: render_resolved(env, run),
        },
        (true, None) => IssueAction::Open {
            title: title(env),
            body: render_issue(env, drift, run),
        },
        (true, Some(issue)) => {
            let body = render_issue(env, drift, run);
            let title = title(env);
            if issue.title == title && same_content(issue.body, &body) {
                IssueAction::Unchanged {
                    number: issue.number,
                }
            } else {
                IssueAction::Update {
                    number: issue.number,
                    title,
                    body,
                }
            }
        }
    }
}

/// Whether two bodies say the same, ignoring the line that names the run.
fn same_content(a: &str, b: &str) -> bool {
    let content = |body: &str| {
        let body = body.replace("\r\n", "\n");
        let before = body.split(RUN_MARKER).next().unwrap_or_default();
        before.trim_end().to_owned()
    };
    content(a) == content(b)
}

impl IssueAction {
    /// The word of the summary JSON and the log.
    pub fn word(&self) -> &'static str {
        match self {
            IssueAction::Open { .. } => "opened",
            IssueAction::Update { .. } => "updated",
            IssueAction::Unchanged { .. } => "unchanged",
            IssueAction::Close { .. } => "closed",
            IssueAction::Nothing | IssueAction::Leave { .. } => "none",
        }
    }
}

/// The machine-readable result of one environment (`--summary-json`): masked values only.
pub fn summary_json(
    env: &str,
    checked: &Checked,
    issue: Option<u64>,
    action: &str,
    error: Option<&str>,
) -> Value {
    let (status, drift) = match checked {
        Checked::Planned(drift) if drift.exists() => ("drift", Some(drift)),
        Checked::Planned(drift) => ("no-drift", Some(drift)),
        Checked::Failed { .. } => ("failed", None),
    };
    let step = match checked {
        Checked::Failed { step, .. } => Some(step.as_str()),
        Checked::Planned(_) => None,
    };
    json!({
        "env": env,
        "status": status,
        "failed_step": step,
        "outside_terraform": drift.map(|d| &d.outside),
        "not_applied": drift.map(|d| &d.unapplied),
        "outputs_not_applied": drift.map(|d| &d.outputs),
        "issue": issue,
        "issue_action": action,
        "github_error": error,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const RUN: Run = Run {
        commit: Some("abc123def4567890"),
        run_url: Some("https://github.com/acme/infra/actions/runs/42"),
    };

    fn plan(json: &str) -> Plan {
        Plan::from_slice(json.as_bytes()).unwrap()
    }

    /// A refresh-only plan: objects changed and deleted outside Terraform, a data source, and a
    /// no-op in `resource_changes` (what terraform writes there in refresh-only mode).
    const REFRESH_ONLY: &str = r#"{"format_version":"1.2","planned_values":{},"terraform_version":"1.11.4",
      "resource_drift":[
        {"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","change":{"actions":["update"],"before":{"tags":{"a":"1"},"versioning":"on","bucket":"logs"},"after":{"tags":{"a":"changed-by-hand-secret"},"versioning":"off","bucket":"logs"}}},
        {"address":"aws_iam_role.ci","mode":"managed","type":"aws_iam_role","change":{"actions":["delete"],"before":{"name":"ci"},"after":null}},
        {"address":"data.aws_caller_identity.me","mode":"data","type":"aws_caller_identity","change":{"actions":["update"],"before":{"id":"1"},"after":{"id":"2"}}}],
      "resource_changes":[
        {"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","change":{"actions":["no-op"],"before":{},"after":{}}}]}"#;

    const NORMAL: &str = r#"{"format_version":"1.2","planned_values":{},"terraform_version":"1.11.4",
      "resource_changes":[
        {"address":"aws_s3_bucket.logs","mode":"managed","type":"aws_s3_bucket","change":{"actions":["update"],"before":{"versioning":"off"},"after":{"versioning":"on"}}},
        {"address":"terraform_data.new","mode":"managed","type":"terraform_data","change":{"actions":["create"],"before":null,"after":{"input":"x"}}},
        {"address":"terraform_data.old","mode":"managed","type":"terraform_data","change":{"actions":["delete","create"],"before":{"input":"a"},"after":{"input":"b"},"replace_paths":[["input"]]}},
        {"address":"terraform_data.same","mode":"managed","type":"terraform_data","change":{"actions":["no-op"],"before":{"input":"a"},"after":{"input":"a"}}},
        {"address":"terraform_data.renamed","previous_address":"terraform_data.before","mode":"managed","type":"terraform_data","change":{"actions":["no-op"]}},
        {"address":"data.aws_region.here","mode":"data","type":"aws_region","change":{"actions":["read"]}}],
      "output_changes":{
        "bucket":{"actions":["update"],"before":"a","after":"b"},
        "same":{"actions":["no-op"],"before":"a","after":"a"}}}"#;

    const EMPTY: &str = r#"{"format_version":"1.2","planned_values":{},"terraform_version":"1.11.4",
      "resource_changes":[{"address":"terraform_data.same","mode":"managed","type":"terraform_data","change":{"actions":["no-op"]}}]}"#;

    fn drift() -> Drift {
        Drift::from_plans(&plan(REFRESH_ONLY), &plan(NORMAL))
    }

    #[test]
    fn both_kinds_are_read_and_names_only_kept() {
        let drift = drift();
        insta::assert_debug_snapshot!(drift);
        assert!(drift.exists());
        assert!(!format!("{drift:?}").contains("changed-by-hand-secret"));
        let none = Drift::from_plans(&plan(EMPTY), &plan(EMPTY));
        assert!(!none.exists());
        assert_eq!(none.line(), "no drift");
    }

    #[test]
    fn the_issue_body() {
        let body = render_issue("dev", &drift(), &RUN);
        assert!(body.starts_with(&marker("dev")));
        assert!(!body.contains("changed-by-hand-secret"));
        insta::assert_snapshot!(body);
    }

    #[test]
    fn the_closing_comment_and_the_job_summary() {
        insta::assert_snapshot!(render_resolved("dev", &RUN));
        let checked = Checked::Planned(drift());
        insta::assert_snapshot!(render_summary(
            "dev",
            &checked,
            "Issue #12 updated.",
            usize::MAX
        ));
        let cut = render_summary("dev", &checked, "Issue #12 updated.", 300);
        assert!(cut.chars().count() <= 300, "{cut}");
        assert!(
            cut.ends_with("the log of the run has every line._\n"),
            "{cut}"
        );
        assert_eq!(
            log_lines("dev", &drift()).lines().nth(1),
            Some("  dev: outside Terraform: aws_s3_bucket.logs (update): tags, versioning")
        );
        let failed = Checked::Failed {
            step: "plan -refresh-only".into(),
            errors: "Error: No valid credential sources found".into(),
        };
        insta::assert_snapshot!(render_summary("dev", &failed, "", usize::MAX));
        let long = Checked::Failed {
            step: "init".into(),
            errors: "Error: x\n".repeat(100),
        };
        let cut = render_summary("dev", &long, "", 400);
        assert!(cut.chars().count() <= 400, "{cut}");
        assert!(cut.contains("lines cut"), "{cut}");
        assert_eq!(cut.matches("```").count(), 2, "{cut}");
    }

    #[test]
    fn a_hostile_address_renders_inert_and_masked() {
        let hostile = r#"{"format_version":"1.2","planned_values":{},"resource_drift":[
          {"address":"terraform_data.x[\"<!-- xtask:drift env=prod --> @admin <img src=x onerror=alert(1)> ` [a](https://evil.example) ext-id-planted\"]","mode":"managed","type":"terraform_data",
           "change":{"actions":["update"],"before":{"@org/team <b>":1},"after":{"@org/team <b>":2}}}]}"#;
        let masker = Masker::new(&["env:EXTERNAL_ID".into()], |name| {
            (name == "EXTERNAL_ID").then(|| "ext-id-planted".to_owned())
        })
        .unwrap();
        let drift = Drift::from_plans(&plan(hostile), &plan(EMPTY)).masked(&masker);
        let body = render_issue("dev", &drift, &RUN);
        assert!(!body.contains("ext-id-planted"), "{body}");
        assert_eq!(body.matches("<!--").count(), 2, "{body}");
        // Every bit of HTML or link a renderer finds is ours, and no mention is outside code.
        use pulldown_cmark::{Event, Options, Parser, Tag};
        let mut in_code = false;
        for (event, range) in Parser::new_ext(&body, Options::all()).into_offset_iter() {
            match event {
                Event::Html(raw) | Event::InlineHtml(raw) => {
                    let raw = raw.trim();
                    assert!(
                        raw == marker("dev") || raw == RUN_MARKER,
                        "HTML {raw:?} in {body}"
                    );
                }
                Event::Start(Tag::Link { dest_url, .. }) => {
                    assert_eq!(&*dest_url, "https://github.com/acme/infra/actions/runs/42");
                }
                Event::Start(Tag::CodeBlock(_)) => in_code = true,
                Event::End(pulldown_cmark::TagEnd::CodeBlock) => in_code = false,
                Event::Text(_) if !in_code => {
                    assert!(!body[range].contains('@'), "{body}");
                }
                Event::Start(Tag::Image { .. }) => panic!("an image in {body}"),
                _ => {}
            }
        }
        insta::assert_snapshot!(body);
    }

    #[test]
    fn decisions() {
        let found = Checked::Planned(drift());
        let none = Checked::Planned(Drift::default());
        let failed = Checked::Failed {
            step: "init".into(),
            errors: "Error: x".into(),
        };
        let body = render_issue("dev", &drift(), &RUN);
        let title = title("dev");
        let ours = Existing {
            number: 12,
            title: &title,
            body: &body,
        };
        assert!(matches!(
            decide("dev", &found, None, &RUN),
            IssueAction::Open { .. }
        ));
        assert_eq!(decide("dev", &none, None, &RUN), IssueAction::Nothing);
        assert_eq!(
            decide("dev", &failed, Some(ours), &RUN),
            IssueAction::Leave { number: Some(12) }
        );
        assert_eq!(
            decide("dev", &failed, None, &RUN),
            IssueAction::Leave { number: None }
        );
        // The same drift found by a later run of another commit: no edit.
        let later = Run {
            commit: Some("fff999"),
            run_url: Some("https://github.com/acme/infra/actions/runs/43"),
        };
        assert_eq!(
            decide("dev", &found, Some(ours), &later),
            IssueAction::Unchanged { number: 12 }
        );
        // GitHub may hand the body back with CRLF line ends.
        let crlf = body.replace('\n', "\r\n");
        let crlf_issue = Existing {
            body: &crlf,
            ..ours
        };
        assert_eq!(
            decide("dev", &found, Some(crlf_issue), &RUN),
            IssueAction::Unchanged { number: 12 }
        );
        // Another drift: the same issue, updated.
        let mut other = drift();
        other.unapplied.pop();
        match decide("dev", &Checked::Planned(other), Some(ours), &later) {
            IssueAction::Update { number, body, .. } => {
                assert_eq!(number, 12);
                assert!(body.contains("runs/43"), "{body}");
            }
            action => panic!("{action:?}"),
        }
        match decide("dev", &none, Some(ours), &later) {
            IssueAction::Close { number, comment } => {
                assert_eq!(number, 12);
                assert!(comment.starts_with(&resolved_marker("dev")));
                assert!(comment.contains("No drift since `fff999`"), "{comment}");
            }
            action => panic!("{action:?}"),
        }
    }

    #[test]
    fn a_huge_drift_stays_under_the_limit() {
        let mut drift = Drift::default();
        for i in 0..5_000 {
            drift.unapplied.push(Resource {
                address: format!("terraform_data.r[\"{i:0>200}\"]"),
                action: "create",
                attributes: Vec::new(),
            });
        }
        let body = render_issue("dev", &drift, &RUN);
        assert!(body.chars().count() <= BODY_LIMIT);
        assert!(body.contains("and 4800 more"));
        assert!(body.contains(RUN_MARKER));
    }

    #[test]
    fn the_summary_json() {
        let json = summary_json("dev", &Checked::Planned(drift()), Some(12), "opened", None);
        insta::assert_json_snapshot!(json);
    }
}
