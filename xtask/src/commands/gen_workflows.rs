//! `cargo xtask gen-workflows`: writes (or with `--check`, verifies) every generated file.

use crate::failure::{FailureKind, Outcome};
use crate::generate::{self, Drift};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write nothing; list every stale, missing or extra generated file with a diff and exit 1.
    #[arg(long)]
    pub check: bool,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let config = super::load_config()?;
    let files = generate::generate_all(&config)?;
    let locations = generate::generated_locations(&config);
    if args.check {
        let drifts = generate::compare(&config.root, &files, &locations)?;
        if drifts.is_empty() {
            println!(
                "gen-workflows: {} generated files are up to date",
                files.len()
            );
            return Ok(Outcome::Success);
        }
        for drift in &drifts {
            eprintln!("{}", describe(drift));
        }
        // Drift is what the check is for finding, not an error of the command.
        return Ok(Outcome::Unsuccessful {
            kind: FailureKind::CheckFailed,
            summary: format!(
                "{} generated file(s) differ from the configuration; run `cargo xtask gen-workflows` and commit the result",
                drifts.len()
            ),
        });
    }
    let changed = generate::write(&config.root, &files, &locations)?;
    for drift in &changed {
        let verb = match drift {
            Drift::Missing(_) => "created",
            Drift::Stale { .. } => "updated",
            Drift::Extra(_) => "removed",
            Drift::NotOurs(_) => "kept (not generated)",
        };
        println!("{verb} {}", drift.path().display());
    }
    println!(
        "gen-workflows: {} files, {} changed",
        files.len(),
        changed.len()
    );
    Ok(Outcome::Success)
}

fn describe(drift: &Drift) -> String {
    match drift {
        Drift::Missing(path) => format!("missing: {}", path.display()),
        Drift::Extra(path) => format!(
            "extra: {} (in a generated location, but not generated; remove it or change the generator)",
            path.display()
        ),
        Drift::NotOurs(path) => format!(
            "not ours: {} (the generator writes this path, but the file has no generated header; rename it)",
            path.display()
        ),
        Drift::Stale { path, diff } => format!("stale: {}\n{diff}", path.display()),
    }
}
