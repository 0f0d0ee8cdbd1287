//! `cargo xtask bench review`: compress a 50,000-line diff into a 32,000-token budget and report
//! the wall time and how far the budget accounting is from the tokenizer's count of the final
//! prompt; then pathological inputs (a 10 MB single-line file, a line of a million spaces, a
//! minified-looking file) against the target of at most 1 s per MB of diff.

use std::fmt::Write as _;
use std::time::Instant;

use super::diff;
use super::prompt::{PromptContext, Task};
use super::tokens::Tokenizer;
use super::{PullRequestText, plan_prompts, redact_inputs};

/// A deterministic synthetic pull request: `files` Terraform/Rust-like files, `lines` diff lines in
/// all, hunks of mixed added/removed/context lines.
pub fn synthetic_diff(files: usize, lines: usize) -> String {
    let per_file = lines / files.max(1);
    let mut out = String::with_capacity(lines * 48);
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for file in 0..files {
        // Sizes vary so that "largest first" has something to sort.
        let size = per_file / 2 + (next() as usize % per_file.max(1));
        let path = if file % 3 == 0 {
            format!("environments/dev/module_{file}.tf")
        } else {
            format!("xtask/src/part_{file}.rs")
        };
        let _ = writeln!(
            out,
            "diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}"
        );
        let mut written = 0;
        let mut line_no = 1;
        while written < size {
            let hunk_len = 12.min(size - written).max(4);
            let (mut old_len, mut new_len) = (0, 0);
            let mut body = String::new();
            for index in 0..hunk_len {
                let word = next() % 1000;
                match index % 4 {
                    0 | 3 => {
                        let _ = writeln!(
                            body,
                            " resource \"aws_s3_bucket\" \"b{word}\" {{ # context {index}"
                        );
                        old_len += 1;
                        new_len += 1;
                    }
                    1 => {
                        let _ = writeln!(body, "-  bucket = \"old-{word}-name\"");
                        old_len += 1;
                    }
                    _ => {
                        let _ = writeln!(
                            body,
                            "+  bucket = \"new-{word}-name\" # changed value {file}"
                        );
                        new_len += 1;
                    }
                }
            }
            let _ = writeln!(
                out,
                "@@ -{line_no},{old_len} +{line_no},{new_len} @@ block {written}"
            );
            out.push_str(&body);
            written += hunk_len;
            line_no += hunk_len + 20;
        }
    }
    out
}

pub fn run() -> anyhow::Result<()> {
    let text = synthetic_diff(120, 50_000);
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
