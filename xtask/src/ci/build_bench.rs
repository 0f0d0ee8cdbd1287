//! `cargo xtask bench build`: a cold debug build of the xtask from an empty target directory, timed
//! (wall and CPU), and the shape of its dependency graph checked against the project's targets.
//!
//! CPU time is the user + system time of the waited-for children, read from `/proc/self/stat`
//! (`cutime`, `cstime`) before and after the build: cargo waits for every rustc it starts, so the
//! difference is the whole build's CPU time, with no extra crate or external tool.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use xshell::cmd;

use crate::failure::{Classify, FailureKind, fail};
use crate::process::{Cmd, Program};

/// The targets of the issue: crates in the normal+build graph, TLS stacks, hyper and http majors,
/// and the cold build's wall time on a 2-core machine.
pub const MAX_CRATES: usize = 230;
pub const MAX_COLD_BUILD: Duration = Duration::from_secs(120);

/// A crate of the graph: name and version.
pub type CrateId = (String, String);

/// Unique `name version` pairs of `cargo tree --prefix none` output (the root included).
pub fn unique_crates(tree: &str) -> BTreeSet<CrateId> {
    tree.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let version = words.next()?.strip_prefix('v')?;
            Some((name.to_owned(), version.to_owned()))
        })
        .collect()
}

/// The distinct major versions of `name` in the graph (`0.14` counts as its own major, as Cargo's
/// semver compatibility does).
pub fn major_versions(crates: &BTreeSet<CrateId>, name: &str) -> BTreeSet<String> {
    crates
        .iter()
        .filter(|(crate_name, _)| crate_name == name)
        .map(|(_, version)| {
            let mut parts = version.split('.');
            match (parts.next(), parts.next()) {
                (Some("0"), Some(minor)) => format!("0.{minor}"),
                (Some(major), _) => major.to_owned(),
                (None, _) => version.clone(),
            }
        })
        .collect()
}

/// The figures of one cold build.
#[derive(Debug, Clone)]
pub struct Figures {
    pub wall: Duration,
    /// `None` when `/proc` could not be read.
    pub cpu: Option<Duration>,
    pub crates: usize,
    pub ring: bool,
    pub aws_lc: bool,
    pub hyper_majors: BTreeSet<String>,
    pub http_majors: BTreeSet<String>,
    /// Crates present in more than one version: `http 0.2.12, 1.3.1`.
    pub duplicates: Vec<String>,
    pub load_before: String,
    pub load_after: String,
}

/// One target: its name, the measured value and whether it is met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub target: String,
    pub measured: String,
    pub met: bool,
}

fn list(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "none".to_owned()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// The figures checked against the targets.
pub fn checks(figures: &Figures) -> Vec<Check> {
    let stacks = match (figures.ring, figures.aws_lc) {
        (true, true) => "ring and aws-lc-rs",
        (true, false) => "ring",
        (false, true) => "aws-lc-rs",
        (false, false) => "none",
    };
    vec![
        Check {
            target: format!("crates in the normal+build graph <= {MAX_CRATES}"),
            measured: figures.crates.to_string(),
            met: figures.crates <= MAX_CRATES,
        },
        Check {
            target: "one TLS crypto stack (not both ring and aws-lc-rs)".to_owned(),
            measured: stacks.to_owned(),
            met: !(figures.ring && figures.aws_lc),
        },
        Check {
            target: "one hyper major version".to_owned(),
            measured: list(&figures.hyper_majors),
            met: figures.hyper_majors.len() <= 1,
        },
        Check {
            target: "one http major version".to_owned(),
            measured: list(&figures.http_majors),
            met: figures.http_majors.len() <= 1,
        },
        Check {
            target: format!("cold debug build <= {}s", MAX_COLD_BUILD.as_secs()),
            measured: format!("{:.1}s", figures.wall.as_secs_f64()),
            met: figures.wall <= MAX_COLD_BUILD,
        },
    ]
}

/// The report printed by the command.
pub fn render(figures: &Figures, checks: &[Check]) -> String {
    let mut text = String::from("== cargo xtask bench build ==\n");
    let _ = writeln!(text, "wall time        {:.1}s", figures.wall.as_secs_f64());
    let cpu = figures.cpu.map_or_else(
        || "unavailable (no /proc)".to_owned(),
        |cpu| {
            format!(
                "{:.1}s (user+sys of the build; {:.2} cores busy on average)",
                cpu.as_secs_f64(),
                cpu.as_secs_f64() / figures.wall.as_secs_f64().max(0.001)
            )
        },
    );
    let _ = writeln!(text, "cpu time         {cpu}");
    let _ = writeln!(text, "crates           {}", figures.crates);
    let _ = writeln!(
        text,
        "ring             {}",
        if figures.ring { "present" } else { "absent" }
    );
    let _ = writeln!(
        text,
        "aws-lc-rs        {}",
        if figures.aws_lc { "present" } else { "absent" }
    );
    let _ = writeln!(text, "hyper majors     {}", list(&figures.hyper_majors));
    let _ = writeln!(text, "http majors      {}", list(&figures.http_majors));
    let duplicates = if figures.duplicates.is_empty() {
        "none".to_owned()
    } else {
        figures.duplicates.join("; ")
    };
    let _ = writeln!(text, "duplicates       {duplicates}");
    let _ = writeln!(
        text,
        "load average     before {} / after {}",
        figures.load_before, figures.load_after
    );
    for check in checks {
        let verdict = if check.met { "PASS" } else { "MISS" };
        let _ = writeln!(text, "{verdict}  {}: {}", check.target, check.measured);
    }
    text
}

/// Waited-for children's user+system CPU time of this process, in clock ticks.
fn children_cpu_ticks() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces) start at field 3, `state`.
    let (_, after_name) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let cutime: u64 = fields.get(13)?.parse().ok()?;
    let cstime: u64 = fields.get(14)?.parse().ok()?;
    Some(cutime + cstime)
}

fn clock_ticks_per_second(root: &Path) -> u64 {
    let Ok(sh) = crate::process::shell(root) else {
        return 100;
    };
    Cmd::new(cmd!(sh, "getconf CLK_TCK"))
        .read()
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .filter(|ticks| *ticks > 0)
        .unwrap_or(100)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

fn cargo_program() -> std::ffi::OsString {
    std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into())
}

fn cargo(root: &Path) -> Program {
    Program::new(cargo_program(), root).without_cargo_run_env()
}

/// Whether `cargo tree -i NAME` finds the crate anywhere in the workspace's graph.
fn in_graph(sh: &xshell::Shell, name: &str) -> anyhow::Result<bool> {
    let cargo = cargo_program();
    let finished = Cmd::new(cmd!(sh, "{cargo} tree -i {name}"))
        .without_cargo_run_env()
        .run_captured()?;
    if finished.success {
        return Ok(!finished.output.trim().is_empty());
    }
    if finished.stderr.contains("did not match any packages") {
        return Ok(false);
    }
    Err(anyhow::anyhow!(
        "`cargo tree -i {name}` failed: {}",
        finished.stderr.trim()
    ))
}

/// Builds the xtask cold in `target/bench-build` and returns the figures.
pub fn measure(root: &Path) -> anyhow::Result<Figures> {
    let target_dir = root.join("target").join("bench-build");
    if target_dir.exists() {
        std::fs::remove_dir_all(&target_dir)
            .with_context(|| format!("removing {}", target_dir.display()))
            .classify(FailureKind::Environment)?;
    }
    // The graph first: `cargo tree` may need to resolve, and that must not count as build time.
    let sh = crate::process::shell(root)?;
    let cargo_program = cargo_program();
    let tree = Cmd::new(cmd!(
        sh,
        "{cargo_program} tree -p xtask -e normal,build --prefix none"
    ))
    .without_cargo_run_env()
    .read()
    .context("listing the dependency graph")?;
    let crates = unique_crates(&tree);
    let ring = in_graph(&sh, "ring")?;
    let aws_lc = in_graph(&sh, "aws-lc-rs")?;
    let ticks_per_second = clock_ticks_per_second(root);

    let load_before = load_average();
    println!(
        "building the xtask from scratch in {} (load average {load_before})",
        target_dir.display()
    );
    let cpu_before = children_cpu_ticks();
    let started = Instant::now();
    let finished = cargo(root)
        .args(["build", "-p", "xtask"])
        .env("CARGO_TARGET_DIR", &target_dir)
        .run_streaming()?;
    let wall = started.elapsed();
    let cpu_after = children_cpu_ticks();
    let load_after = load_average();
    if !finished.success {
        return Err(fail(
            FailureKind::OperationFailed,
            "`cargo build -p xtask` failed in the clean target directory",
        ));
    }
    let cpu = cpu_before.zip(cpu_after).map(|(before, after)| {
        Duration::from_millis(after.saturating_sub(before) * 1000 / ticks_per_second)
    });
    // The bench directory is a full second target dir; it is only needed for the timing.
    let _ = std::fs::remove_dir_all(&target_dir);
    Ok(Figures {
        wall,
        cpu,
        crates: crates.len(),
        ring,
        aws_lc,
        hyper_majors: major_versions(&crates, "hyper"),
        http_majors: major_versions(&crates, "http"),
        duplicates: versions_by_name(&crates)
            .into_iter()
            .filter(|(_, versions)| versions.len() > 1)
            .map(|(name, versions)| format!("{name} {}", versions.join(", ")))
            .collect(),
        load_before,
        load_after,
    })
}

/// Measures, prints the report, and fails when a target is missed.
pub fn run(root: &Path) -> anyhow::Result<()> {
    let figures = measure(root)?;
    let checks = checks(&figures);
    print!("{}", render(&figures, &checks));
    let missed: Vec<&str> = checks
        .iter()
        .filter(|check| !check.met)
        .map(|check| check.target.as_str())
        .collect();
    if missed.is_empty() {
        Ok(())
    } else {
        Err(fail(
            FailureKind::CheckFailed,
            format!("missed: {}", missed.join("; ")),
        ))
    }
}

/// The crate graph as `name: [versions]`, for a reader who wants to see where duplicates come from.
pub fn versions_by_name(crates: &BTreeSet<CrateId>) -> BTreeMap<&str, Vec<&str>> {
    let mut by_name: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, version) in crates {
        by_name.entry(name).or_default().push(version);
    }
    by_name
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "xtask v0.1.0 (/work/xtask)\n\
        anyhow v1.0.98\n\
        hyper v1.6.0\n\
        http v1.3.1\n\
        http v0.2.12\n\
        hyper v0.14.32 (*)\n\
        serde_derive v1.0.219 (proc-macro)\n\
        anyhow v1.0.98 (*)\n\
        \n";

    #[test]
    fn crates_are_unique_by_name_and_version() {
        let crates = unique_crates(TREE);
        assert_eq!(crates.len(), 7);
        assert!(crates.contains(&("serde_derive".to_owned(), "1.0.219".to_owned())));
        assert_eq!(versions_by_name(&crates)["http"], vec!["0.2.12", "1.3.1"]);
    }

    #[test]
    fn zero_major_versions_count_by_minor() {
        let crates = unique_crates(TREE);
        assert_eq!(
            major_versions(&crates, "hyper")
                .into_iter()
                .collect::<Vec<_>>(),
            ["0.14", "1"]
        );
        assert!(major_versions(&crates, "reqwest").is_empty());
    }

    fn figures() -> Figures {
        Figures {
            wall: Duration::from_millis(98_400),
            cpu: Some(Duration::from_millis(180_200)),
            crates: 224,
            ring: true,
            aws_lc: false,
            hyper_majors: ["1".to_owned()].into(),
            http_majors: ["1".to_owned()].into(),
            duplicates: vec!["getrandom 0.2.16, 0.3.3".to_owned()],
            load_before: "0.10 0.20 0.30".to_owned(),
            load_after: "1.90 1.20 0.60".to_owned(),
        }
    }

    #[test]
    fn report_of_a_build_that_meets_every_target() {
        let figures = figures();
        let checks = checks(&figures);
        assert!(checks.iter().all(|check| check.met));
        insta::assert_snapshot!(render(&figures, &checks), @r"
        == cargo xtask bench build ==
        wall time        98.4s
        cpu time         180.2s (user+sys of the build; 1.83 cores busy on average)
        crates           224
        ring             present
        aws-lc-rs        absent
        hyper majors     1
        http majors      1
        duplicates       getrandom 0.2.16, 0.3.3
        load average     before 0.10 0.20 0.30 / after 1.90 1.20 0.60
        PASS  crates in the normal+build graph <= 230: 224
        PASS  one TLS crypto stack (not both ring and aws-lc-rs): ring
        PASS  one hyper major version: 1
        PASS  one http major version: 1
        PASS  cold debug build <= 120s: 98.4s
        ");
    }

    #[test]
    fn each_target_can_be_missed() {
        let mut figures = figures();
        figures.crates = 231;
        figures.aws_lc = true;
        figures.hyper_majors.insert("0.14".to_owned());
        figures.http_majors.insert("0.2".to_owned());
        figures.wall = Duration::from_secs(121);
        assert!(checks(&figures).iter().all(|check| !check.met));
    }

    #[test]
    fn children_cpu_time_is_readable_here() {
        assert!(children_cpu_ticks().is_some());
    }
}
