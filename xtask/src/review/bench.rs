//! `cargo xtask bench review`: compress a 400-file, 51,000-line synthetic pull request into a
//! 32,000-token budget and report the wall time, what the selection shows (files with changed
//! lines in the prompt, distinct changed lines, files left out named) and how far the budget
//! accounting is from the tokenizer's count of the final prompt; then pathological inputs (a 10 MB single-line file, a line of a million spaces, a
//! minified-looking file) against the target of at most 1 s per MB of diff.

use std::fmt::Write as _;
use std::time::Instant;

use super::diff;
use super::prompt::{PromptContext, Task};
use super::tokens::Tokenizer;
use super::{PullRequestText, plan_prompts, redact_inputs};

/// A small deterministic generator (xorshift64), so that the synthetic pull request is the same
/// on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A number in `from..=to`.
    fn between(&mut self, from: usize, to: usize) -> usize {
        from + (self.next() as usize) % (to - from + 1)
    }
}

/// What a synthetic file holds, for lines that read like it.
#[derive(Clone, Copy)]
enum Lang {
    Terraform,
    Rust,
    Markdown,
    Json,
    Sql,
    Yaml,
    Docker,
    Lock,
}

fn synthetic_line(lang: Lang, rng: &mut Rng) -> String {
    let n = rng.next() % 10_000;
    let pick = rng.next() % 6;
    // About a third of the lines of real code close a block or are blank.
    match (lang, pick) {
        (Lang::Terraform | Lang::Rust | Lang::Json, 4) => {
            ["}", "  }", "    }", "  ]"][n as usize % 4].to_owned()
        }
        (_, 5) => String::new(),
        (Lang::Terraform, 0) => format!("resource \"aws_s3_bucket\" \"logs_{n}\" {{"),
        (Lang::Terraform, 1) => format!("  bucket        = \"acme-logs-{n}\""),
        (Lang::Terraform, 2) => {
            format!("  tags          = merge(local.tags, {{ Name = \"svc-{n}\" }})")
        }
        (Lang::Terraform, _) => format!("  retention_in_days = {}", n % 400),
        (Lang::Rust, 0) => format!("    let value_{n} = compute(&input, {n})?;"),
        (Lang::Rust, 1) => format!("fn handle_{n}(ctx: &Context) -> anyhow::Result<Output> {{"),
        (Lang::Rust, 2) => format!("        .with_context(|| format!(\"reading step {n}\"))?;"),
        (Lang::Rust, _) => {
            format!("    if options.limit > {n} {{ return Ok(Output::default()); }}")
        }
        (Lang::Markdown, 0) => {
            format!("Step {n}: check the alarm dashboard before restarting the service.")
        }
        (Lang::Markdown, 1) => {
            format!("- `cargo xtask plan --env dev` shows change {n} before the apply.")
        }
        (Lang::Markdown, _) => {
            format!("If the task fails with code {n}, read the logs of the migration task.")
        }
        (Lang::Json, 0) => format!("        \"arn:aws:s3:::acme-state-{n}/*\","),
        (Lang::Json, 1) => "      \"Action\": [\"s3:GetObject\", \"s3:PutObject\"],".to_owned(),
        (Lang::Json, _) => format!("      \"Sid\": \"AllowState{n}\","),
        (Lang::Sql, 0) => format!("ALTER TABLE \"User\" ADD COLUMN \"field_{n}\" TEXT;"),
        (Lang::Sql, _) => format!("CREATE INDEX \"idx_{n}\" ON \"Order\" (\"createdAt\");"),
        (Lang::Yaml, 0) => format!("      - run: cargo xtask step-{n}"),
        (Lang::Yaml, _) => format!("        timeout-minutes: {}", n % 60),
        (Lang::Docker, 0) => format!("RUN npm ci --omit=dev && echo build-{n}"),
        (Lang::Docker, _) => format!("ENV APP_PORT={}", n % 9000),
        (Lang::Lock, _) => format!("checksum = \"{:016x}{n:04}\"", rng.next()),
    }
}

/// A modified (or renamed) file's hunks: `hunks` hunks of 3 context lines, 1 to `changed`
/// removed and added lines, 3 context lines.
fn modified_hunks(lang: Lang, hunks: usize, changed: usize, rng: &mut Rng) -> String {
    let mut out = String::new();
    let mut line_no = 1 + rng.between(0, 40);
    for _ in 0..hunks {
        let removed = rng.between(0, changed);
        let added = rng.between(usize::from(removed == 0), changed);
        let _ = writeln!(
            out,
            "@@ -{line_no},{} +{line_no},{} @@",
            removed + 6,
            added + 6
        );
        for _ in 0..3 {
            let _ = writeln!(out, " {}", synthetic_line(lang, rng));
        }
        for _ in 0..removed {
            let _ = writeln!(out, "-{}", synthetic_line(lang, rng));
        }
        for _ in 0..added {
            let _ = writeln!(out, "+{}", synthetic_line(lang, rng));
        }
        for _ in 0..3 {
            let _ = writeln!(out, " {}", synthetic_line(lang, rng));
        }
        line_no += added + 6 + rng.between(10, 80);
    }
    out
}

fn one_sided(sign: char, lang: Lang, lines: usize, rng: &mut Rng) -> String {
    let mut out = if sign == '+' {
        format!("@@ -0,0 +1,{lines} @@\n")
    } else {
        format!("@@ -1,{lines} +0,0 @@\n")
    };
    for _ in 0..lines {
        out.push(sign);
        out.push_str(&synthetic_line(lang, rng));
        out.push('\n');
    }
    out
}

/// A deterministic synthetic pull request of 400 files and about 51,000 diff lines, shaped like a
/// large change to this monorepo: a 1,806-line added Terraform file and an added Markdown runbook
/// (the files a size-first selection spends the budget on), modified Terraform, IAM policies,
/// workflows and their generators, Dockerfiles, added migration SQL, many modified and added Rust
/// files, docs, renames (with and without changes), deleted files, lock files and binaries.
pub fn synthetic_pull_request(seed: u64) -> String {
    let mut rng = Rng(seed | 1);
    let mut files: Vec<(String, String)> = Vec::new();
    let modified = |files: &mut Vec<(String, String)>,
                    rng: &mut Rng,
                    path: String,
                    lang: Lang,
                    hunks: usize,
                    changed: usize| {
        let body = modified_hunks(lang, hunks, changed, rng);
        files.push((
            path.clone(),
            format!("diff --git a/{path} b/{path}\nindex 1111111..2222222 100644\n--- a/{path}\n+++ b/{path}\n{body}"),
        ));
    };
    let added = |files: &mut Vec<(String, String)>,
                 rng: &mut Rng,
                 path: String,
                 lang: Lang,
                 lines: usize| {
        let body = one_sided('+', lang, lines, rng);
        files.push((
            path.clone(),
            format!("diff --git a/{path} b/{path}\nnew file mode 100644\nindex 0000000..3333333\n--- /dev/null\n+++ b/{path}\n{body}"),
        ));
    };

    added(
        &mut files,
        &mut rng,
        "environments/dev/observability.tf".to_owned(),
        Lang::Terraform,
        1_806,
    );
    added(
        &mut files,
        &mut rng,
        "docs/runbooks/incident-response.md".to_owned(),
        Lang::Markdown,
        700,
    );
    for i in 0..70 {
        let path = match i % 4 {
            0 => format!("environments/dev/stack_{i:02}.tf"),
            1 => format!("environments/stg/stack_{i:02}.tf"),
            2 => format!("modules/service_{i:02}/main.tf"),
            _ => format!("modules/service_{i:02}/variables.tf"),
        };
        let hunks = rng.between(1, 8);
        modified(&mut files, &mut rng, path, Lang::Terraform, hunks, 5);
    }
    for i in 0..8 {
        let hunks = rng.between(1, 3);
        modified(
            &mut files,
            &mut rng,
            format!("environments/dev/generated/iam/role_{i}.policy.json"),
            Lang::Json,
            hunks,
            4,
        );
    }
    for i in 0..5 {
        let hunks = rng.between(1, 4);
        modified(
            &mut files,
            &mut rng,
            format!(".github/workflows/workflow_{i}.yml"),
            Lang::Yaml,
            hunks,
            4,
        );
        let hunks = rng.between(1, 6);
        modified(
            &mut files,
            &mut rng,
            format!("xtask/src/generate/part_{i}.rs"),
            Lang::Rust,
            hunks,
            6,
        );
    }
    modified(
        &mut files,
        &mut rng,
        "environments/dev/docker/Dockerfile".to_owned(),
        Lang::Docker,
        2,
        3,
    );
    modified(
        &mut files,
        &mut rng,
        "lambda/Dockerfile".to_owned(),
        Lang::Docker,
        1,
        3,
    );
    for i in 0..4 {
        let lines = rng.between(20, 60);
        added(
            &mut files,
            &mut rng,
            format!(
                "environments/dev/docker/app/prisma/migrations/2026120{i}_change/migration.sql"
            ),
            Lang::Sql,
            lines,
        );
    }
    for i in 0..200 {
        // Mostly small changes, some large ones.
        let hunks = if i % 10 == 0 {
            rng.between(10, 50)
        } else {
            rng.between(1, 7)
        };
        modified(
            &mut files,
            &mut rng,
            format!("xtask/src/area_{}/part_{i:03}.rs", i % 12),
            Lang::Rust,
            hunks,
            8,
        );
    }
    for i in 0..40 {
        let lines = rng.between(295, 647);
        added(
            &mut files,
            &mut rng,
            format!("xtask/src/feature/new_{i:02}.rs"),
            Lang::Rust,
            lines,
        );
    }
    for i in 0..20 {
        let hunks = rng.between(1, 5);
        modified(
            &mut files,
            &mut rng,
            format!("docs/guide_{i:02}.md"),
            Lang::Markdown,
            hunks,
            6,
        );
    }
    for i in 0..6 {
        let hunks = rng.between(1, 4);
        modified(
            &mut files,
            &mut rng,
            format!("config/app_{i}.yaml"),
            Lang::Yaml,
            hunks,
            4,
        );
    }
    for i in 0..14 {
        let (old, new, lang) = if i % 2 == 0 {
            (
                format!("modules/legacy_{i:02}/main.tf"),
                format!("modules/platform_{i:02}/main.tf"),
                Lang::Terraform,
            )
        } else {
            (
                format!("xtask/src/old/mod_{i:02}.rs"),
                format!("xtask/src/core/mod_{i:02}.rs"),
                Lang::Rust,
            )
        };
        let mut text = format!("diff --git a/{old} b/{new}\n");
        if i < 4 {
            let _ = write!(
                text,
                "similarity index 100%\nrename from {old}\nrename to {new}\n"
            );
        } else {
            let hunks = rng.between(1, 3);
            let _ = write!(
                text,
                "similarity index 91%\nrename from {old}\nrename to {new}\nindex 4444444..5555555 100644\n--- a/{old}\n+++ b/{new}\n{}",
                modified_hunks(lang, hunks, 3, &mut rng)
            );
        }
        files.push((new, text));
    }
    for i in 0..20 {
        let (path, lang) = if i % 2 == 0 {
            (format!("environments/old/stack_{i:02}.tf"), Lang::Terraform)
        } else {
            (format!("xtask/src/retired/part_{i:02}.rs"), Lang::Rust)
        };
        let lines = rng.between(40, 160);
        let body = one_sided('-', lang, lines, &mut rng);
        files.push((
            path.clone(),
            format!("diff --git a/{path} b/{path}\ndeleted file mode 100644\nindex 6666666..0000000\n--- a/{path}\n+++ /dev/null\n{body}"),
        ));
    }
    modified(
        &mut files,
        &mut rng,
        "Cargo.lock".to_owned(),
        Lang::Lock,
        40,
        6,
    );
    modified(
        &mut files,
        &mut rng,
        "environments/dev/.terraform.lock.hcl".to_owned(),
        Lang::Lock,
        3,
        6,
    );
    for name in ["docs/architecture.png", "docs/flow.png"] {
        files.push((
            name.to_owned(),
            format!("diff --git a/{name} b/{name}\nnew file mode 100644\nindex 0000000..7777777\nBinary files /dev/null and b/{name} differ\n"),
        ));
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files.into_iter().map(|(_, text)| text).collect()
}

/// The figures of one selection: what reached the prompt.
pub struct Shown {
    /// Files whose changed lines (some or all) are in the prompt.
    pub files: usize,
    /// Distinct changed (added or removed) lines in the prompt, by the selection's accounting.
    pub lines: u64,
    /// The same, counted in the prompts' text: the diff lines marked `-` or `N +`.
    pub lines_in_prompt: u64,
    /// Files left out (deleted files included: they are named in the diff).
    pub left_out: usize,
    /// Of those, how many the prompt names (read back from its lists, folded names expanded).
    pub named: usize,
}

/// What `planned` shows of the pull request, and whether the prompt names every file it leaves
/// out.
pub fn shown(planned: &super::PlannedPrompts) -> Shown {
    let compression = &planned.compression;
    let mut listed = std::collections::BTreeSet::new();
    let mut lines_in_prompt = 0;
    for prompt in &planned.prompts {
        listed.extend(listed_files(&prompt.user));
        lines_in_prompt += changed_lines_in(&prompt.user);
    }
    let left: Vec<&super::compress::FileReport> =
        compression.left_out().map(|(file, _)| file).collect();
    let named = left
        .iter()
        .filter(|file| listed.contains(&file.display_path()))
        .count();
    Shown {
        files: compression
            .files
            .iter()
            .filter(|file| file.lines_shown > 0)
            .count(),
        lines: compression.lines_covered().0,
        lines_in_prompt,
        left_out: left.len(),
        named,
    }
}

/// The files a prompt's lists name: "Files not shown in this diff" (`- reason: dir/a, b` lines)
/// and "Deleted files" (`- dir/a, b` lines), with `stem_{a,b}.ext` expanded.
pub fn listed_files(user: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut section = "";
    for line in user.lines() {
        if line.starts_with('#') {
            section = line;
            continue;
        }
        let Some(item) = line.strip_prefix("- ") else {
            if line.is_empty() {
                section = "";
            }
            continue;
        };
        let list = if section == "## Files not shown in this diff" {
            match item.split_once(": ") {
                Some((_, list)) => list,
                None => continue,
            }
        } else if section == "## Deleted files (content not shown)" {
            item
        } else {
            continue;
        };
        names.extend(expand_list(list));
    }
    names
}

/// `dir/a, b, c` or `dir/stem_{a,b,c}.ext` (or a rename, `old → new`) as full names.
fn expand_list(list: &str) -> Vec<String> {
    if let (Some(open), Some(close)) = (list.find('{'), list.rfind('}')) {
        let (head, tail) = (&list[..open], &list[close + 1..]);
        return list[open + 1..close]
            .split(',')
            .map(|part| format!("{head}{part}{tail}"))
            .collect();
    }
    let mut items = list.split(", ");
    let Some(first) = items.next() else {
        return Vec::new();
    };
    let dir = match first.rsplit_once('/') {
        Some((dir, _)) if !first.contains(" → ") => format!("{dir}/"),
        _ => String::new(),
    };
    std::iter::once(first.to_owned())
        .chain(items.map(|item| {
            if item.contains(" → ") {
                item.to_owned()
            } else {
                format!("{dir}{item}")
            }
        }))
        .collect()
}

/// Changed lines in a prompt's diff (after `# Diff`): removed lines (`-text`, padded or not) and
/// added ones (`N +text`), not the list of deleted files.
pub fn changed_lines_in(user: &str) -> u64 {
    let Some(at) = user.find("\n# Diff\n") else {
        return 0;
    };
    let mut in_deleted = false;
    let mut count = 0;
    for line in user[at..].lines() {
        if line.starts_with("## ") {
            in_deleted = line == "## Deleted files (content not shown)";
            continue;
        }
        if in_deleted {
            in_deleted = !line.is_empty();
            continue;
        }
        let line = line.trim_start();
        let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        if line.starts_with('-') || (digits > 0 && line[digits..].starts_with(" +")) {
            count += 1;
        }
    }
    count
}

/// The seed of the benchmark's (and the selection snapshot's) synthetic pull request.
pub const SEED: u64 = 0x9e37_79b9_7f4a_7c15;

/// What PR-Agent shows of the same kind of pull request at the same budget (issue 13's
/// measurement): distinct changed lines, most of them from 5 files.
const PR_AGENT_LINES: u64 = 2_108;

pub fn run() -> anyhow::Result<()> {
    let text = synthetic_pull_request(SEED);
    let line_count = text.lines().count();

    let started = Instant::now();
    let tokenizer = Tokenizer::load()?;
    let load = started.elapsed();

    let started = Instant::now();
    let mut files = diff::parse(text.as_bytes());
    let mut pr = PullRequestText {
        title: "Synthetic pull request".to_owned(),
        body: "Benchmark input.".to_owned(),
        branch: "bench".to_owned(),
    };
    let mut plan = String::new();
    let redactions = redact_inputs(&mut files, &mut pr, &mut plan);
    let parsed = started.elapsed();

    let context = PromptContext {
        title: pr.title,
        branch: pr.branch,
        body: pr.body,
        language: "en-US".to_owned(),
        max_findings: 5,
        max_suggestions: 8,
        ..PromptContext::default()
    };
    let started = Instant::now();
    let planned = plan_prompts(Task::Review, &files, &context, &tokenizer, 32_000, 4_000)
        .map_err(|why| crate::failure::fail(crate::failure::FailureKind::OperationFailed, why))?;
    let compressed = started.elapsed();

    let started = Instant::now();
    let actual = planned
        .prompts
        .iter()
        .map(|prompt| prompt.count(&tokenizer))
        .sum::<usize>();
    let recount = started.elapsed();
    let accounted = planned.accounted.iter().sum::<usize>();
    let difference = actual.abs_diff(accounted) as f64 * 100.0 / actual.max(1) as f64;
    let included = planned
        .compression
        .files
        .iter()
        .filter(|file| file.chunk.is_some())
        .count();

    println!("review compression benchmark");
    println!(
        "  input: {line_count} diff lines, {} files, {} redactions",
        files.len(),
        redactions.len()
    );
    println!(
        "  tokenizer load (o200k_base, once per process): {:.0} ms",
        load.as_secs_f64() * 1e3
    );
    println!("  parse + redact: {:.0} ms", parsed.as_secs_f64() * 1e3);
    println!(
        "  compress into {} tokens ({} budget - {} output reserve): {:.0} ms (target < 500 ms)",
        planned.budget,
        32_000,
        4_000,
        compressed.as_secs_f64() * 1e3
    );
    println!(
        "  total wall (load + parse + redact + compress): {:.0} ms",
        (load + parsed + compressed).as_secs_f64() * 1e3
    );
    println!(
        "  files sent: {included} of {}; context trimmed: {}",
        files.len(),
        planned.compression.context_trimmed
    );
    let figures = shown(&planned);
    let (_, lines_total) = planned.compression.lines_covered();
    println!(
        "  selection: changed lines from {} files (target >= 40), {} distinct changed lines of {lines_total} (counted in the prompt: {}; PR-Agent at this budget: {PR_AGENT_LINES}), {} of {} files left out named in the prompt, in {:.0} ms (target < 500 ms)",
        figures.files,
        figures.lines,
        figures.lines_in_prompt,
        figures.named,
        figures.left_out,
        compressed.as_secs_f64() * 1e3
    );
    println!(
        "  budget accounting {accounted} tokens vs tokenizer count of the final prompt {actual} tokens: {difference:.3}% (target within 1%); recount {:.0} ms",
        recount.as_secs_f64() * 1e3
    );
    if actual > planned.budget {
        println!("  WARNING: the final prompt exceeds the budget");
    }

    let started = Instant::now();
    let improve = plan_prompts(Task::Improve, &files, &context, &tokenizer, 32_000, 4_000)
        .map_err(|why| crate::failure::fail(crate::failure::FailureKind::OperationFailed, why))?;
    let improve_time = started.elapsed();
    let worst = improve
        .prompts
        .iter()
        .zip(&improve.accounted)
        .map(|(prompt, accounted)| {
            let actual = prompt.count(&tokenizer);
            (
                actual.abs_diff(*accounted) as f64 * 100.0 / actual.max(1) as f64,
                actual,
            )
        })
        .fold((0.0_f64, 0_usize), |a, b| if b.0 >= a.0 { b } else { a });
    println!(
        "  improve (split over up to {} calls): {} calls, {} files sent, {:.0} ms; worst accounting difference {:.3}% (prompt of {} tokens)",
        super::IMPROVE_MAX_CALLS,
        improve.prompts.len(),
        improve
            .compression
            .files
            .iter()
            .filter(|file| file.chunk.is_some())
            .count(),
        improve_time.as_secs_f64() * 1e3,
        worst.0,
        worst.1
    );
    pathological(&tokenizer, &context)
}

/// A new file of one line.
fn one_line_file(path: &str, line: &str) -> String {
    format!(
        "diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+{line}\n"
    )
}

/// Inputs that used to take minutes or panic, each through parse, redact and all three tasks.
fn pathological(tokenizer: &Tokenizer, context: &PromptContext) -> anyhow::Result<()> {
    let letters: String = (0..10_000_000)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    let spaces = format!("x{}y", " ".repeat(1_000_000));
    let minified: String = (0..200_000)
        .map(|i| format!("var a{i}=function(b){{return b+{i}}};"))
        .collect();
    let cases = [
        (
            "10 MB single-line file",
            one_line_file("dist/blob.txt", &letters),
        ),
        ("x, a million spaces, y", one_line_file("a.txt", &spaces)),
        (
            "6 MB minified JavaScript line",
            one_line_file("dist/app.js", &minified),
        ),
    ];
    println!(
        "  pathological inputs (parse + redact + describe/review/improve; target <= 1 s per MB):"
    );
    for (name, text) in cases {
        let megabytes = text.len() as f64 / 1e6;
        let started = Instant::now();
        let mut files = diff::parse(text.as_bytes());
        let mut pr = PullRequestText::default();
        let mut plan = String::new();
        redact_inputs(&mut files, &mut pr, &mut plan);
        let mut sent = 0;
        for task in [Task::Describe, Task::Review, Task::Improve] {
            let planned =
                plan_prompts(task, &files, context, tokenizer, 32_000, 4_000).map_err(|why| {
                    crate::failure::fail(crate::failure::FailureKind::OperationFailed, why)
                })?;
            sent += planned
                .compression
                .files
                .iter()
                .filter(|file| file.chunk.is_some())
                .count();
        }
        let elapsed = started.elapsed().as_secs_f64();
        println!(
            "    {name}: {megabytes:.1} MB in {:.0} ms ({:.2} s per MB){}; sent in {sent} of 3 tasks",
            elapsed * 1e3,
            elapsed / megabytes,
            if elapsed <= megabytes {
                ""
            } else {
                " OVER TARGET"
            }
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::compress::{LeftOut, left_out_list};
    use super::*;

    /// The bench reads the prompt's lists back: every name the selection leaves out comes back
    /// from the folded and the plain lines alike (and from the list of deleted files).
    #[test]
    fn the_lists_of_files_read_back_whole() {
        let entries = [
            ("src/x/part_1.rs", None, LeftOut::OverBudget),
            ("src/x/part_2.rs", None, LeftOut::OverBudget),
            ("src/x/part_3.rs", None, LeftOut::OverBudget),
            ("src/y/a.rs", None, LeftOut::OverBudget),
            ("src/y/b.rs", None, LeftOut::OverBudget),
            ("src/new/m.rs", Some("src/old/m.rs"), LeftOut::OverBudget),
            ("Cargo.lock", None, LeftOut::LockFile),
        ];
        let mut user = String::from("# Pull request\n## Files not shown in this diff\n");
        for line in left_out_list(entries) {
            user.push_str(&format!("- {line}\n"));
        }
        user.push_str("\n# Diff\n## Deleted files (content not shown)\n- old/t_{1,2,3}.tf\n\n");
        user.push_str("## a.tf [+2 -1]\n-x\n3 +y\n@@ +9 @@\n9 +z\n");
        let mut expected: Vec<String> = entries
            .iter()
            .map(|(path, old, _)| super::super::compress::display_path(path, *old))
            .collect();
        expected.extend(["old/t_1.tf", "old/t_2.tf", "old/t_3.tf"].map(str::to_owned));
        let mut listed = listed_files(&user);
        listed.sort();
        expected.sort();
        assert_eq!(listed, expected);
        assert_eq!(changed_lines_in(&user), 3);
    }
}
