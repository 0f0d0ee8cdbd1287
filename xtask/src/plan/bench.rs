//! `cargo xtask bench plan`: how fast and how lean the plan summary and comment are on big plans.
//!
//! For 1k, 10k and 50k resource changes it writes a synthetic `terraform show -json` document
//! (shaped like Terraform's, see [`crate::plan::synthetic`]) and runs a child process of this
//! binary (`bench plan-once`) that reads, parses, summarizes and renders it and reports its own
//! peak RSS (`VmHWM` from /proc/self/status), so the figure belongs to that work alone. `jq`
//! counting the actions of the same file is timed beside it as the reference.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use xshell::cmd;

use crate::failure::{Classify, FailureKind};
use crate::plan::mask::Masker;
use crate::plan::model::Plan;
use crate::plan::render::{Completeness, Context as RenderContext, render_plan};
use crate::plan::summary::Summary;
use crate::process::{self, Cmd};

const SIZES: [usize; 3] = [1_000, 10_000, 50_000];

/// Generates the files, runs the child per size and prints a table.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let dir = root.join("target/xtask/bench");
    let exe = std::env::current_exe()
        .context("locating the xtask binary")
        .classify(FailureKind::Environment)?;
    let jq = crate::process::which("jq");
    let sh = process::shell(root)?;
    println!(
        "{:>8} {:>10} {:>12} {:>12} {:>10} {:>12} {:>14} {:>12} {:>10}",
        "changes",
        "JSON MB",
        "parse ms",
        "render ms",
        "digest ms",
        "peak RSS MB",
        "target RSS MB",
        "comment ch",
        "jq ms"
    );
    for size in SIZES {
        let file = dir.join(format!("plan-{size}.json"));
        crate::fs::write_atomically(
            &file,
            crate::plan::synthetic::plan_json(size, "bench-secret"),
        )?;
        let json_mb = file_mb(&file)?;
        let figures = Cmd::new(cmd!(sh, "{exe} bench plan-once --file {file}"))
            .read()
            .with_context(|| format!("running the child for {size} changes"))?;
        let field = |name: &str| -> String {
            figures
                .split_whitespace()
                .find_map(|pair| pair.strip_prefix(&format!("{name}=")))
                .unwrap_or("?")
                .to_owned()
        };
        let jq_ms = match &jq {
            Some(jq) => time_jq(jq, &file)?,
            None => "no jq".to_owned(),
        };
        println!(
            "{:>8} {:>10.1} {:>12} {:>12} {:>10} {:>12} {:>14.1} {:>12} {:>10}",
            size,
            json_mb,
            field("parse_ms"),
            field("render_ms"),
            field("digest_ms"),
            field("peak_rss_mb"),
            3.0 * json_mb + 30.0,
            field("comment_chars"),
            jq_ms
        );
    }
    if jq.is_none() {
        println!("jq is not installed: no reference time");
    }
    println!(
        "(parse = read + parse the JSON; render = summary + comment; digest = the change set's digest and stamp, from the parsed plan; target RSS = 3 x JSON + 30 MB)"
    );
    Ok(())
}

/// The child: read, parse, summarize and render one file; print figures as `key=value`.
pub fn run_once(file: &Path) -> anyhow::Result<()> {
    let started = Instant::now();
    let bytes = std::fs::read(file)
        .with_context(|| format!("reading {}", file.display()))
        .classify(FailureKind::Environment)?;
    let plan = Plan::from_slice(&bytes)
        .with_context(|| format!("parsing {}", file.display()))
        .classify(FailureKind::Config)?;
    drop(bytes);
    let parsed = started.elapsed();
    let summary = Summary::from_plan(&plan);
    let comment = render_plan(
        &summary,
        None,
        &Masker::default(),
        &RenderContext::comment(
            "bench",
            None,
            Completeness {
                addresses: true,
                outputs: true,
                details: true,
            },
        ),
    );
    let rendered = started.elapsed() - parsed;
    let digest_started = Instant::now();
    let stamp = crate::plan::digest::ChangeSet::from_plan(&plan).stamp();
    let digested = digest_started.elapsed();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let peak_kb: f64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(f64::NAN);
    println!(
        "parse_ms={} render_ms={} digest_ms={} digest={} peak_rss_mb={:.1} comment_chars={} add={} destroy={}",
        parsed.as_millis(),
        rendered.as_millis(),
        digested.as_millis(),
        stamp.digest,
        peak_kb / 1024.0,
        comment.chars().count(),
        summary.add,
        summary.destroy
    );
    Ok(())
}

fn time_jq(jq: &Path, file: &Path) -> anyhow::Result<String> {
    let started = Instant::now();
    let sh = process::shell(Path::new("."))?;
    let filter = "[.resource_changes[].change.actions | join(\",\")] | group_by(.) | map({(.[0]): length}) | add";
    Cmd::new(cmd!(sh, "{jq} -c {filter} {file}"))
        .read()
        .context("jq failed on the bench file")?;
    Ok(started.elapsed().as_millis().to_string())
}

fn file_mb(file: &Path) -> anyhow::Result<f64> {
    let len = std::fs::metadata(file)
        .with_context(|| format!("reading the size of {}", file.display()))
        .classify(FailureKind::Environment)?
        .len();
    Ok(len as f64 / (1024.0 * 1024.0))
}
