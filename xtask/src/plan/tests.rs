use super::mask::Masker;
use super::model::Plan;
use super::render::{
    COMMENT_LIMIT, Completeness, Context, render_failure, render_plan, render_plan_complete,
    summary_line,
};
use super::summary::{Summary, sensitive_strings};
use super::{errors, synthetic};

const MIXED_JSON: &str = include_str!("testdata/mixed.plan.json");
const MIXED_TEXT: &str = include_str!("testdata/mixed.plan.txt");
const PLANTED: &str = "hunter2-planted";

const EVERYTHING: Completeness = Completeness {
    addresses: true,
    outputs: true,
    details: true,
};

fn context(limit: usize) -> Context<'static> {
    Context {
        limit,
        ..Context::comment(
            "dev",
            Some("https://github.com/acme/infra/actions/runs/42"),
            EVERYTHING,
        )
    }
}

fn masker_for(plan: &Plan) -> Masker {
    let mut masker = Masker::new(&["env:EXTERNAL_ID".into()], |name| {
        (name == "EXTERNAL_ID").then(|| "ext-id-planted".to_owned())
    })
    .unwrap();
    for value in sensitive_strings(plan) {
        masker.add_literal(&value);
    }
    masker
}

#[test]
fn mixed_plan_counts_like_terraform() {
    let plan = Plan::from_slice(MIXED_JSON.as_bytes()).unwrap();
    let summary = Summary::from_plan(&plan);
    // The line terraform printed for this plan.
    let terraform_line = MIXED_TEXT
        .lines()
        .find(|line| line.starts_with("Plan: "))
        .unwrap();
    assert_eq!(summary.plan_line(), terraform_line);
    assert_eq!((summary.moved, summary.forget), (1, 1));
    assert_eq!(
        summary.replaced(),
        ["terraform_data.rep", "terraform_data.rep2"]
    );
    assert_eq!(summary.destroyed(), ["terraform_data.del"]);
    insta::assert_json_snapshot!(summary.to_json("dev"));
}

#[test]
fn mixed_plan_comment() {
    let plan = Plan::from_slice(MIXED_JSON.as_bytes()).unwrap();
    let summary = Summary::from_plan(&plan);
    let body = render_plan(
        &summary,
        Some(MIXED_TEXT),
        &masker_for(&plan),
        &context(COMMENT_LIMIT),
    );
    assert!(!body.contains(PLANTED));
    insta::assert_snapshot!(body);
}

/// The change set's digest: hidden right after the marker (where `apply` reads it) and shown in
/// the footer (what `--accept` takes).
#[test]
fn plan_comment_carries_the_change_set_digest() {
    let plan = Plan::from_slice(MIXED_JSON.as_bytes()).unwrap();
    let summary = Summary::from_plan(&plan);
    let stamp = crate::plan::digest::ChangeSet::from_plan(&plan).stamp();
    let body = render_plan(
        &summary,
        None,
        &masker_for(&plan),
        &Context {
            stamp: Some(&stamp),
            ..context(COMMENT_LIMIT)
        },
    );
    assert_eq!(
        crate::plan::digest::Stamp::from_comment(&body, &crate::plan::render::marker("dev")),
        Some(stamp.clone())
    );
    assert!(body.contains(&format!("change set `{}`", stamp.digest)));
    assert!(!body.contains(PLANTED));
    let head: String = body.lines().take(4).collect::<Vec<_>>().join("\n");
    let footer = body.lines().last().unwrap_or_default();
    insta::assert_snapshot!(format!("{head}\n…\n{footer}"));
}

#[test]
fn no_changes_comment() {
    let plan = Plan::from_slice(br#"{"format_version":"1.2","planned_values":{},"terraform_version":"1.11.4","resource_changes":[{"address":"a.b","mode":"managed","type":"a","change":{"actions":["no-op"]}}],"output_changes":{"o":{"actions":["no-op"],"before":"x","after":"x"}}}"#).unwrap();
    let summary = Summary::from_plan(&plan);
    assert!(!summary.has_changes());
    assert_eq!(summary_line(&summary), "No changes.");
    insta::assert_snapshot!(render_plan(
        &summary,
        None,
        &Masker::default(),
        &context(COMMENT_LIMIT)
    ));
}

#[test]
fn failure_comment_keeps_error_blocks_and_masks() {
    let output = "Initializing...\n╷\n│ Error: Error acquiring the state lock\n│ \n│ Lock Info:\n│   ID:        0b1c\n│   Who:       ext-id-planted@host\n╵\n";
    let output = errors::Output::parse(output);
    let blocks = output.errors();
    let masker = masker_for(&Plan::default());
    let body = render_failure(
        "plan",
        &blocks,
        output.hint(),
        &masker,
        &context(COMMENT_LIMIT),
    );
    assert!(!body.contains("ext-id-planted"));
    insta::assert_snapshot!(body);
}

/// Terraform's `-json` diagnostics are untrusted text like its boxes: a summary or detail that
/// closes the code block, mentions someone or carries a secret renders inert and masked.
#[test]
fn a_json_diagnostic_renders_inert_and_masked() {
    let diagnostic = serde_json::json!({
        "@level": "error",
        "@message": "Error: x",
        "type": "diagnostic",
        "diagnostic": {
            "severity": "error",
            "summary": "Error acquiring the state lock",
            "detail": "```\n@octocat <img src=x> <!-- xtask:plan env=prod -->\nWho: ext-id-planted@host\n```",
            "address": "terraform_data.a[\"`@x`\"]",
            "range": {"filename": "main.tf", "start": {"line": 3}},
        },
    });
    let output = errors::Output::parse(&diagnostic.to_string());
    let masker = masker_for(&Plan::default());
    let body = render_failure(
        "plan",
        &output.errors(),
        output.hint(),
        &masker,
        &context(COMMENT_LIMIT),
    );
    assert!(!body.contains("ext-id-planted"), "{body}");
    assert!(body.contains("> [!TIP]"), "{body}");
    insta::assert_snapshot!(body);
}

#[test]
fn ten_thousand_resources_fit_and_keep_the_summary() {
    let json = synthetic::plan_json(10_000, PLANTED);
    let plan = Plan::from_slice(json.as_bytes()).unwrap();
    let summary = Summary::from_plan(&plan);
    // A long human text, as terraform would print for such a plan.
    let text: String = (0..10_000)
        .map(|i| format!("  # terraform_data.r[{i}] will be created\n  + resource \"terraform_data\" \"r\" {{\n      + input = \"{i}\"\n    }}\n"))
        .collect();
    let body = render_plan(
        &summary,
        Some(&text),
        &masker_for(&plan),
        &context(COMMENT_LIMIT),
    );
    assert!(
        body.chars().count() <= COMMENT_LIMIT,
        "{}",
        body.chars().count()
    );
    assert!(body.contains(&summary.plan_line()));
    assert!(body.contains("### Create (1667)"));
    assert!(body.contains("| `terraform_data` |"));
    assert!(body.contains("lines cut"));
    assert!(body.contains("terraform_data.r[0] will be created"));
    assert!(body.contains("terraform_data.r[9999] will be created"));
    assert!(!body.contains(PLANTED));
    assert_eq!(summary.add, 1667 + 1667 + 1667);
    assert_eq!(summary.destroy, 1667 + 1667 + 1666);
}

#[test]
fn a_small_limit_cuts_details_first() {
    let plan = Plan::from_slice(MIXED_JSON.as_bytes()).unwrap();
    let summary = Summary::from_plan(&plan);
    let body = render_plan(
        &summary,
        Some(MIXED_TEXT),
        &masker_for(&plan),
        &context(3_000),
    );
    assert!(body.chars().count() <= 3_000);
    assert!(body.contains("terraform_data.rep2"));
    assert!(body.contains("lines cut"));
}

#[test]
fn drift_gets_its_own_block() {
    let plan = Plan::from_slice(br#"{"format_version":"1.2","planned_values":{},"terraform_version":"1.11.4",
      "resource_drift":[
        {"address":"terraform_data.a","mode":"managed","type":"terraform_data","change":{"actions":["update"],"before":{"input":"x","id":"1"},"after":{"input":"changed by hand","id":"1"}}},
        {"address":"terraform_data.b","mode":"managed","type":"terraform_data","change":{"actions":["delete"],"before":{"id":"2"},"after":null}}],
      "resource_changes":[
        {"address":"terraform_data.b","mode":"managed","type":"terraform_data","change":{"actions":["create"],"before":null,"after":{"input":"y"},"after_unknown":{"id":true}}},
        {"address":"data.terraform_remote_state.net","mode":"data","type":"terraform_remote_state","change":{"actions":["read"]}}]}"#).unwrap();
    let summary = Summary::from_plan(&plan);
    assert_eq!((summary.add, summary.read, summary.drift.len()), (1, 1, 2));
    let body = render_plan(&summary, None, &Masker::default(), &context(COMMENT_LIMIT));
    assert!(!body.contains("changed by hand"));
    insta::assert_snapshot!(body);
}

/// A deposed object (left by a failed `create_before_destroy`) shares its address with the
/// current object; the comment names it as the deposed one, so the reviewer sees both changes.
#[test]
fn a_deposed_object_is_named_as_such() {
    let plan = Plan::from_slice(br#"{"format_version":"1.2","planned_values":{},"terraform_version":"1.11.4",
      "resource_changes":[
        {"address":"terraform_data.a","mode":"managed","type":"terraform_data","change":{"actions":["update"],"before":{"input":"x"},"after":{"input":"y"}}},
        {"address":"terraform_data.a","deposed":"00000001","mode":"managed","type":"terraform_data","change":{"actions":["delete"],"before":{"input":"x"},"after":null}}]}"#).unwrap();
    let summary = Summary::from_plan(&plan);
    assert_eq!((summary.change, summary.destroy), (1, 1));
    let body = render_plan(&summary, None, &Masker::default(), &context(COMMENT_LIMIT));
    assert!(
        body.contains("terraform_data.a (deposed object 00000001)"),
        "{body}"
    );
}

/// Values an attacker controls in a plan: for_each keys, output values, import ids, error text.
const HOSTILE: &[&str] = &[
    "x` @admin <img src=x onerror=alert(1)> `y",
    "``` @org/team ```",
    "<!-- xtask:plan env=prod -->",
    "<!-- xtask:plan env=dev -->",
    "</details><details open><summary>@admin</summary>",
    "| a | b | @admin",
    "[click](https://evil.example) **bold** #1",
];

/// Every piece of raw HTML a CommonMark renderer finds, and the source of the text outside code
/// (where GitHub would turn a raw `@name` into a mention; `&#64;name` stays text).
fn html_and_prose(markdown: &str) -> (Vec<String>, String) {
    use pulldown_cmark::{Event, Options, Parser, Tag, TagEnd};
    let mut html = Vec::new();
    let mut prose = String::new();
    let mut in_code_block = false;
    for (event, range) in Parser::new_ext(markdown, Options::all()).into_offset_iter() {
        match event {
            Event::Html(raw) | Event::InlineHtml(raw) => html.push(raw.trim().to_owned()),
            Event::Start(Tag::CodeBlock(_)) => in_code_block = true,
            Event::End(TagEnd::CodeBlock) => in_code_block = false,
            Event::Text(_) if !in_code_block => prose.push_str(&markdown[range]),
            Event::Start(Tag::Link { dest_url, .. }) => html.push(format!("<a href={dest_url}>")),
            Event::Start(Tag::Image { .. }) => html.push("<img from Markdown>".to_owned()),
            _ => {}
        }
    }
    (html, prose)
}

fn hostile_plan() -> Plan {
    let mut changes = Vec::new();
    let mut outputs = serde_json::Map::new();
    for (i, value) in HOSTILE.iter().enumerate() {
        for (actions, key) in [(vec!["create"], "c"), (vec!["delete"], "d")] {
            changes.push(serde_json::json!({
                "address": format!("terraform_data.r[\"{key}{i} {value}\"]"),
                "mode": "managed", "type": "terraform_data",
                "change": {"actions": actions, "before": null, "after": {"input": value}},
            }));
        }
        changes.push(serde_json::json!({
            "address": format!("terraform_data.i{i}"),
            "mode": "managed", "type": "terraform_data",
            "change": {"actions": ["no-op"], "importing": {"id": value}},
        }));
        changes.push(serde_json::json!({
            "address": format!("terraform_data.u[\"{value}\"]"),
            "mode": "managed", "type": "terraform_data",
            "change": {"actions": ["update"], "before": {value.to_string(): 1}, "after": {value.to_string(): 2}},
        }));
        outputs.insert(
            format!("o{i}"),
            serde_json::json!({"actions": ["update"], "before": value, "after": {"k": value},
                "after_unknown": false, "before_sensitive": false, "after_sensitive": false}),
        );
    }
    let json = serde_json::json!({
        "format_version": "1.2", "terraform_version": "1.11.4 <img src=x> @admin",
        "planned_values": {}, "resource_changes": changes, "output_changes": outputs,
        "resource_drift": [{"address": format!("terraform_data.d[\"{}\"]", HOSTILE[0]),
            "mode": "managed", "type": "terraform_data",
            "change": {"actions": ["update"], "before": {"a": 1}, "after": {"a": 2}}}],
    });
    Plan::from_slice(json.to_string().as_bytes()).unwrap()
}

fn assert_inert(body: &str) {
    let (html, prose) = html_and_prose(body);
    let ours = [
        "<!-- xtask:plan env=dev -->",
        "<details>",
        "<summary>",
        "</summary>",
        "</details>",
        "<a href=https://github.com/acme/infra/actions/runs/42>",
    ];
    for raw in &html {
        assert!(
            ours.iter().any(|o| raw.starts_with(o)),
            "raw HTML from a value: {raw:?}\n{body}"
        );
    }
    assert!(
        !prose.contains("@admin") && !prose.contains("@org"),
        "a live mention:\n{prose}"
    );
    // Exactly one marker, ours: another environment's run must not take this comment for its own.
    assert_eq!(
        body.matches(&super::render::marker("dev")).count(),
        1,
        "{body}"
    );
    assert!(!body.contains(&super::render::marker("prod")), "{body}");
}

#[test]
fn hostile_keys_and_values_render_inert() {
    let plan = hostile_plan();
    let summary = Summary::from_plan(&plan);
    let plan_text = HOSTILE.join("\n");
    let body = render_plan(
        &summary,
        Some(&plan_text),
        &Masker::default(),
        &context(COMMENT_LIMIT),
    );
    assert!(
        body.contains("Plan: 7 to import, 7 to add, 7 to change, 7 to destroy."),
        "{body}"
    );
    assert_inert(&body);
    // Above the list limit the per-type table is shown instead; it must be inert too.
    let failure = render_failure(
        "plan",
        &plan_text,
        None,
        &Masker::default(),
        &context(COMMENT_LIMIT),
    );
    assert_inert(&failure);
}

#[test]
fn the_comment_says_only_what_the_job_summary_really_holds() {
    let json = synthetic::plan_json(10_000, PLANTED);
    let plan = Plan::from_slice(json.as_bytes()).unwrap();
    let summary = Summary::from_plan(&plan);
    let text: String = (0..10_000)
        .map(|i| format!("  # terraform_data.r[{i}] will be created\n"))
        .collect();
    let masker = masker_for(&plan);
    // A job summary with room lists every address and keeps the whole text.
    let (full, complete) = render_plan_complete(
        &summary,
        Some(&text),
        &masker,
        &Context::job_summary("dev", None, super::render::STEP_SUMMARY_LIMIT),
    );
    assert!(full.chars().count() <= super::render::STEP_SUMMARY_LIMIT);
    assert_eq!(complete, EVERYTHING);
    assert!(full.contains("`terraform_data.r[9998]`"));
    let comment = render_plan(
        &summary,
        Some(&text),
        &masker,
        &Context::comment("dev", None, complete),
    );
    assert!(comment.contains("the job summary and the CI log have every address"));
    assert!(comment.contains("the full plan is in the job summary and the CI log"));
    // A job summary without room does not list them, and the comment does not say it does.
    let (small, complete) = render_plan_complete(
        &summary,
        Some(&text),
        &masker,
        &Context::job_summary("dev", None, 100_000),
    );
    assert!(!complete.addresses && !complete.details, "{complete:?}");
    assert!(small.contains("the CI log has every address"));
    assert!(
        !small.contains("job summary"),
        "the job summary points at itself"
    );
    let comment = render_plan(
        &summary,
        Some(&text),
        &masker,
        &Context::comment("dev", None, complete),
    );
    assert!(comment.contains("the CI log has every address"));
    assert!(
        !comment.contains("the job summary and the CI log"),
        "{comment}"
    );
}

#[test]
fn an_errored_or_incomplete_plan_never_reads_as_no_changes() {
    let render = |json: &str| {
        let plan = Plan::from_slice(json.as_bytes()).unwrap();
        let summary = Summary::from_plan(&plan);
        let body = render_plan(&summary, None, &Masker::default(), &context(COMMENT_LIMIT));
        (summary, body)
    };
    // What `terraform show -json` gives for a plan file written by a plan that failed.
    let (summary, body) = render(
        r#"{"format_version":"1.2","planned_values":{},"errored":true,"complete":false,"applyable":false,
            "resource_changes":[{"address":"terraform_data.a","mode":"managed","type":"terraform_data","change":{"actions":["no-op"]}}]}"#,
    );
    assert!(summary.errored);
    assert!(
        !body.contains("no changes") && !body.contains("No changes"),
        "{body}"
    );
    assert!(body.contains("errored"), "{body}");
    // Deferred changes: terraform will plan them in a later round.
    let (summary, body) = render(
        r#"{"format_version":"1.2","planned_values":{},"complete":false,"applyable":false,
            "deferred_changes":[{"reason":"instance_count_unknown","resource_change":{"address":"terraform_data.d","mode":"managed","type":"terraform_data","change":{"actions":["create"]}}}]}"#,
    );
    assert!(summary.has_changes());
    assert!(
        !body.contains("no changes") && !body.contains("No changes"),
        "{body}"
    );
    assert!(body.contains("1 deferred"), "{body}");
    // A targeted plan is complete only for its targets.
    let (_, body) = render(
        r#"{"format_version":"1.2","planned_values":{},"complete":false,"applyable":false}"#,
    );
    assert!(body.contains("incomplete"), "{body}");
}

#[test]
fn labels_by_outcome_and_kept_when_the_plan_failed() {
    use super::render::{labels, labels_apply};
    let plan = Plan::from_slice(MIXED_JSON.as_bytes()).unwrap();
    let destroys = Summary::from_plan(&plan);
    let (wanted, managed) = labels("dev", Some(&destroys));
    assert_eq!(
        managed,
        ["dev/add-or-update", "dev/destroy", "dev/no-changes"]
    );
    insta::assert_debug_snapshot!(wanted, @r#"
    [
        Label {
            name: "dev/destroy",
            color: "d73a4a",
            description: "terraform plan destroys or replaces resources",
        },
    ]
    "#);
    assert!(labels_apply(Some(&destroys)));
    let empty = Summary::from_plan(
        &Plan::from_slice(br#"{"format_version":"1.2","planned_values":{}}"#).unwrap(),
    );
    assert_eq!(labels("dev", Some(&empty)).0[0].name, "dev/no-changes");
    assert!(labels("dev", None).0.is_empty());
    assert!(!labels_apply(None));
    let incomplete = Summary::from_plan(
        &Plan::from_slice(br#"{"format_version":"1.2","planned_values":{},"complete":false}"#)
            .unwrap(),
    );
    assert!(!labels_apply(Some(&incomplete)));
}
