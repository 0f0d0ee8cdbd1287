//! Golden diffs through redaction and compression: insta snapshots of the prompt the model would
//! get and of the coverage footer.

use xtask::review::diff;
use xtask::review::headings::Headings;
use xtask::review::prompt::{PromptContext, Task};
use xtask::review::render;
use xtask::review::tokens::Tokenizer;
use xtask::review::{PlannedPrompts, PullRequestText, plan_prompts, redact_inputs};

fn run(task: Task, diff_bytes: &[u8], token_budget: usize) -> (PlannedPrompts, String) {
    let tokenizer = Tokenizer::load().unwrap();
    let mut files = diff::parse(diff_bytes);
    let mut text = PullRequestText {
        title: "Golden".to_owned(),
        body: "Body".to_owned(),
        branch: "feature -> main".to_owned(),
    };
    let mut plan = String::new();
    let redactions = redact_inputs(&mut files, &mut text, &mut plan);
    let context = PromptContext {
        title: text.title,
        branch: text.branch,
        body: text.body,
        plan,
        redactions: redactions
            .iter()
            .map(|r| format!("{} at {}", r.kind, r.location))
            .collect(),
        language: "en-US".to_owned(),
        max_findings: 5,
        max_suggestions: 8,
        ..PromptContext::default()
    };
    let planned = plan_prompts(task, &files, &context, &tokenizer, token_budget, 1_000).unwrap();
    for (prompt, accounted) in planned.prompts.iter().zip(&planned.accounted) {
        let actual = prompt.count(&tokenizer);
        assert!(
            actual <= planned.budget,
            "prompt of {actual} tokens over budget {}",
            planned.budget
        );
        assert!(
            actual.abs_diff(*accounted) * 100 <= actual.max(100),
            "accounting {accounted} vs {actual}"
        );
    }
    let headings = Headings::for_language("en-US").unwrap();
    let footer = render::coverage(&planned.compression, &redactions, &headings);
    (planned, footer)
}

fn prompt_and_footer(planned: &PlannedPrompts, footer: &str) -> String {
    let mut out = String::new();
    for (index, prompt) in planned.prompts.iter().enumerate() {
        out.push_str(&format!(
            "===== call {} =====\n{}\n",
            index + 1,
            prompt.user
        ));
    }
    out.push_str("===== coverage footer =====\n");
    out.push_str(footer);
    out
}

const SMALL: &str = "diff --git a/environments/dev/main.tf b/environments/dev/main.tf
index 1111111..2222222 100644
--- a/environments/dev/main.tf
+++ b/environments/dev/main.tf
@@ -1,7 +1,8 @@ terraform {
 resource \"aws_s3_bucket\" \"logs\" {
   bucket = \"acme-logs\"
 }
 
-resource \"aws_s3_bucket_public_access_block\" \"logs\" {
+resource \"aws_s3_bucket_public_access_block\" \"logs_v2\" {
   bucket = aws_s3_bucket.logs.id
+  block_public_acls = true
 }
diff --git a/Cargo.lock b/Cargo.lock
--- a/Cargo.lock
+++ b/Cargo.lock
@@ -1 +1 @@
-version = 1
+version = 2
diff --git a/.github/workflows/ci.yml b/.github/workflows/ci.yml
--- a/.github/workflows/ci.yml
+++ b/.github/workflows/ci.yml
@@ -1 +1 @@
-on: push
+on: [push, pull_request]
diff --git a/environments/dev/generated/iam/plan.policy.json b/environments/dev/generated/iam/plan.policy.json
--- a/environments/dev/generated/iam/plan.policy.json
+++ b/environments/dev/generated/iam/plan.policy.json
@@ -1 +1 @@
-{}
+{\"Version\": \"2012-10-17\"}
";

#[test]
fn small_pull_request() {
    let (planned, footer) = run(Task::Review, SMALL.as_bytes(), 8_000);
    insta::assert_snapshot!(prompt_and_footer(&planned, &footer));
}

#[test]
fn renames() {
    let diff = "diff --git a/modules/old_name/main.tf b/modules/new_name/main.tf
similarity index 88%
rename from modules/old_name/main.tf
rename to modules/new_name/main.tf
index 1..2 100644
--- a/modules/old_name/main.tf
+++ b/modules/new_name/main.tf
@@ -1,3 +1,3 @@
 variable \"name\" {
-  type = string
+  type = string # renamed module
 }
diff --git a/docs/a.md b/docs/b.md
similarity index 100%
rename from docs/a.md
rename to docs/b.md
";
    let (planned, footer) = run(Task::Describe, diff.as_bytes(), 8_000);
    insta::assert_snapshot!(prompt_and_footer(&planned, &footer));
}

#[test]
fn deletions_only() {
    let diff = "diff --git a/environments/old/main.tf b/environments/old/main.tf
deleted file mode 100644
index 1..0
--- a/environments/old/main.tf
+++ /dev/null
@@ -1,3 +0,0 @@
-resource \"aws_db_instance\" \"main\" {
-  identifier = \"old\"
-}
diff --git a/environments/old/variables.tf b/environments/old/variables.tf
deleted file mode 100644
--- a/environments/old/variables.tf
+++ /dev/null
@@ -1 +0,0 @@
-variable \"x\" {}
";
    let (planned, footer) = run(Task::Review, diff.as_bytes(), 8_000);
    insta::assert_snapshot!(prompt_and_footer(&planned, &footer));
}

#[test]
fn binary_files() {
    let diff = "diff --git a/docs/diagram.png b/docs/diagram.png
new file mode 100644
index 0000000..1111111
Binary files /dev/null and b/docs/diagram.png differ
diff --git a/lambda/bundle.zip b/lambda/bundle.zip
index 1..2 100644
GIT binary patch
literal 12
Tcmb=cMfd
diff --git a/README.md b/README.md
--- a/README.md
+++ b/README.md
@@ -1 +1,2 @@
 # Infra
+See docs/diagram.png.
";
    let (planned, footer) = run(Task::Review, diff.as_bytes(), 8_000);
    insta::assert_snapshot!(prompt_and_footer(&planned, &footer));
}

#[test]
fn non_utf8() {
    let mut diff = b"diff --git a/legacy/sjis.txt b/legacy/sjis.txt\n--- a/legacy/sjis.txt\n+++ b/legacy/sjis.txt\n@@ -1,2 +1,2 @@\n ok\n-".to_vec();
    diff.extend_from_slice(&[0x82, 0xa0, 0x82, 0xa2, b'\n', b'+']);
    diff.extend_from_slice(&[0x83, 0x65, 0x83, 0x58, 0x83, 0x67, b'\n']);
    let (planned, footer) = run(Task::Review, &diff, 8_000);
    insta::assert_snapshot!(prompt_and_footer(&planned, &footer));
}

/// 20,000 changed lines over 40 files: more than the budget, so context is trimmed, the largest
/// files go first, the rest are named in the footer, improve spreads over several calls.
fn large_diff() -> String {
    let mut out = String::new();
    for file in 0..40 {
        let path = format!("environments/dev/stack_{file:02}.tf");
        out.push_str(&format!(
            "diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
        ));
        // Files grow with their index so that "largest first" is visible.
        let hunks = 8 + file * 3;
        let mut changed = 0;
        for hunk in 0..hunks {
            let start = 1 + hunk * 40;
            out.push_str(&format!("@@ -{start},7 +{start},7 @@ block_{hunk}\n"));
            out.push_str(" locals {\n  a = 1\n  b = 2\n");
            out.push_str(&format!(
                "-  name = \"old_{file}_{hunk}\"\n+  name = \"new_{file}_{hunk}\"\n"
            ));
            out.push_str("  c = 3\n }\n  d = 4\n");
            changed += 2;
        }
        assert!(changed > 0);
    }
    out
}

#[test]
fn twenty_thousand_line_pull_request() {
    let text = large_diff();
    assert!(text.lines().count() >= 20_000, "{}", text.lines().count());
    let (planned, footer) = run(Task::Review, text.as_bytes(), 9_000);
    assert!(planned.compression.context_trimmed);
    // The first call's text is long; the snapshot keeps its file headers, the accounting and the
    // footer, which is what the compression decides.
    let headers: Vec<&str> = planned.prompts[0]
        .user
        .lines()
        .filter(|line| line.starts_with("## "))
        .collect();
    insta::assert_snapshot!(format!(
        "{}\n===== coverage footer =====\n{footer}",
        headers.join("\n")
    ));

    let (improve, _) = run(Task::Improve, text.as_bytes(), 9_000);
    assert!(improve.prompts.len() > 1 && improve.prompts.len() <= xtask::review::IMPROVE_MAX_CALLS);
    let sent: usize = improve
        .compression
        .files
        .iter()
        .filter(|f| f.chunk.is_some())
        .count();
    let sent_once: usize = planned
        .compression
        .files
        .iter()
        .filter(|f| f.chunk.is_some())
        .count();
    assert!(
        sent > sent_once,
        "improve covers more files over several calls: {sent} vs {sent_once}"
    );
}

/// Issue 13: a 400-file pull request (the benchmark's, generated here from its fixed seed) at the
/// default 32k budget. The snapshot shows the ranking (plan's files, then infrastructure, modified
/// before added, small before large), the huge added Terraform file cut to its head with a note,
/// the renames as `old → new`, and the list of every file left out with why; the accounting is
/// exact.
#[test]
fn four_hundred_file_pull_request_is_selected_by_risk() {
    use xtask::review::bench;
    use xtask::review::compress::{IgnoreGlobs, Selection};
    use xtask::review::plan_summary;

    let text = bench::synthetic_pull_request(bench::SEED);
    let tokenizer = Tokenizer::load().unwrap();
    let files = diff::parse(text.as_bytes());
    assert_eq!(files.len(), 400);
    // The plan replaces a bucket whose block the largest modified Terraform file touches (it
    // would otherwise come last among the Terraform files): that file goes first.
    let pointed = files
        .iter()
        .filter(|file| file.path.ends_with(".tf") && file.status == diff::FileStatus::Modified)
        .max_by_key(|file| (file.additions + file.deletions, file.path.clone()))
        .unwrap();
    let label = pointed
        .hunks
        .iter()
        .flat_map(|hunk| &hunk.lines)
        .find_map(|line| line.text.strip_prefix("resource \"aws_s3_bucket\" \""))
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    let address = format!("aws_s3_bucket.{label}");
    let plans = plan_summary::parse(&format!(
        r#"[{{"env":"dev","add":1,"destroy":1,"has_changes":true,"has_destroy":true,
             "replaced":["{address}"],
             "destructive":[{{"address":"{address}","action":"replace","forces":["bucket"],"reason":"replace_because_cannot_update"}}]}}]"#
    ))
    .unwrap();
    let context = PromptContext {
        title: "Large change".to_owned(),
        branch: "feature -> main".to_owned(),
        plan: plan_summary::render(&plans),
        language: "en-US".to_owned(),
        max_findings: 5,
        max_suggestions: 8,
        selection: Selection {
            ignore: IgnoreGlobs::new(&["config/*.yaml".to_owned()]).unwrap(),
            plan_files: plan_summary::pointed_files(&plans, &files),
        },
        ..PromptContext::default()
    };
    assert!(context.selection.plan_files.contains(&pointed.path));
    let planned = plan_prompts(Task::Review, &files, &context, &tokenizer, 32_000, 4_000).unwrap();
    let prompt = &planned.prompts[0];
    let actual = prompt.count(&tokenizer);
    assert!(actual <= planned.budget);
    assert_eq!(actual, planned.accounted[0], "the accounting is exact");

    let figures = bench::shown(&planned);
    assert!(figures.files >= 40, "{} files shown", figures.files);
    assert_eq!(
        figures.named, figures.left_out,
        "every file left out is named"
    );
    assert_eq!(
        figures.lines, figures.lines_in_prompt,
        "the changed lines counted are the ones in the prompt"
    );

    // The list of files left out (up to the diff), then the diff's sections in order: each
    // file's header as sent, with its risk and size from the selection (the compact headers carry
    // no counts), and the cut notes.
    let user = &prompt.user;
    let diff_at = user.find("\n# Diff\n").unwrap();
    let listed = &user[user.find("## Files not shown").unwrap()..diff_at];
    let mut headers: Vec<String> = listed.lines().map(str::to_owned).collect();
    let chunk = &planned.compression.chunks[0];
    for (position, piece) in chunk.pieces.iter().enumerate() {
        let end = chunk
            .pieces
            .get(position + 1)
            .map_or(chunk.text.len(), |next| next.start);
        let text = &chunk.text[piece.start..end];
        let Some(index) = piece.file else {
            headers.extend(
                text.lines()
                    .filter(|line| line.starts_with("## "))
                    .map(str::to_owned),
            );
            continue;
        };
        let report = &planned.compression.files[index];
        headers.push(format!(
            "{}    <- {}, {:?} +{} -{}",
            text.lines().next().unwrap(),
            report.risk.text(),
            report.status,
            report.additions,
            report.deletions
        ));
        headers.extend(
            text.lines()
                .filter(|line| line.contains("(cut here)"))
                .map(str::to_owned),
        );
    }
    let headings = Headings::for_language("en-US").unwrap();
    let footer = render::coverage(&planned.compression, &[], &headings);
    let summary_line = footer.lines().nth(2).unwrap_or_default();
    insta::assert_snapshot!(format!(
        "{}\n===== coverage =====\n{summary_line}\nfiles with changed lines shown: {}, changed lines shown: {}",
        headers.join("\n"),
        figures.files,
        figures.lines
    ));
}
