//! `cargo xtask fmt`: terraform fmt over the environments and modules, with PR suggestions.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::config::{Config, ENVIRONMENTS_DIR};
use crate::failure::{Classify, FailureKind, fail};
use crate::fmt::lines::{self, Change};
use crate::fmt::suggest;
use crate::github::{self, GitHub, NewReviewComment};
use crate::github_actions::{self, Level};
use crate::review::diff::FileDiff;
use crate::terraform::Terraform;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// List unformatted files and exit 1 instead of rewriting them.
    #[arg(long)]
    pub check: bool,
    /// Post one pull-request review with a suggestion per unformatted hunk inside the PR's diff.
    #[arg(long)]
    pub suggest: bool,
    /// The pull request (default: from the GitHub event).
    #[arg(long)]
    pub pr: Option<u64>,
    /// Format the Terraform files of this directory (another checkout, such as the pull request's
    /// head checked out as data) with the configuration of the repository the command runs in.
    /// Default: that repository.
    #[arg(long, value_name = "DIR")]
    pub source: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = super::load_config()?;
    let source = match &args.source {
        Some(dir) if !dir.is_dir() => {
            return Err(fail(
                FailureKind::Config,
                format!("--source {}: not a directory", dir.display()),
            ));
        }
        Some(dir) => dir.clone(),
        None => config.root.clone(),
    };
    let targets = targets(&config, &source);
    if targets.is_empty() {
        println!(
            "nothing to format: no {ENVIRONMENTS_DIR}/ or modules directory in {}",
            source.display()
        );
        return Ok(());
    }
    let terraform = Terraform::new(&source);
    if args.suggest {
        return suggest(&config, &terraform, &targets, args.pr);
    }
    if args.check {
        let output = terraform.fmt(&["-check", "-list=true"], &targets)?;
        let files: Vec<&str> = output.output.lines().filter(|l| !l.is_empty()).collect();
        fail_on_terraform_error(&output)?;
        if files.is_empty() {
            println!("all Terraform files are formatted");
            return Ok(());
        }
        for file in &files {
            println!("{file}");
        }
        return Err(fail(
            FailureKind::CheckFailed,
            format!(
                "{} file{} not formatted; run `cargo xtask fmt`",
                files.len(),
                if files.len() == 1 { " is" } else { "s are" }
            ),
        ));
    }
    let output = terraform.fmt(&["-list=true"], &targets)?;
    fail_on_terraform_error(&output)?;
    for file in output.output.lines().filter(|l| !l.is_empty()) {
        println!("formatted {file}");
    }
    Ok(())
}

/// The environments and the local modules directory, relative to `source`.
fn targets(config: &Config, source: &Path) -> Vec<PathBuf> {
    [
        PathBuf::from(ENVIRONMENTS_DIR),
        config.repo.terraform.modules_dir.clone(),
    ]
    .into_iter()
    .filter(|dir| source.join(dir).is_dir())
    .collect()
}

/// terraform fmt exits 3 for "unformatted"; anything else non-zero (2: a syntax error) is a
/// real failure whose message is on stderr.
fn fail_on_terraform_error(output: &crate::process::Finished) -> anyhow::Result<()> {
    match output.code {
        Some(0) | Some(3) => Ok(()),
        _ => Err(fail(
            FailureKind::OperationFailed,
            format!("terraform fmt failed: {}", output.stderr.trim()),
        )),
    }
}

fn suggest(
    config: &Config,
    terraform: &Terraform,
    targets: &[PathBuf],
    pr: Option<u64>,
) -> anyhow::Result<()> {
    let changes = fmt_changes(config, terraform, targets)?;
    let pr = github::resolve_pull_request(pr)?;
    let settings = github::Settings::for_config(config)?;
    let runtime = crate::runtime::current_thread()?;
    let decided = runtime.block_on(async {
        let client = GitHub::new(settings)?;
        let files: Vec<FileDiff> = client
            .list_pull_request_files(pr)
            .await?
            .into_iter()
            .map(FileDiff::from_pull_request_file)
            .collect();
        // Only our own suggestion comments (our bot, marker first): a planted fingerprint is
        // neither trusted nor deleted; duplicates of ours are removed.
        let existing: Vec<(u64, String)> = client
            .own_review_comments(pr, suggest::MARKER)
            .await?
            .into_iter()
            .map(|comment| (comment.id.into_inner(), comment.body))
            .collect();
        let decided = suggest::place(&changes, &files, &existing);
        for id in &decided.delete {
            client.delete_review_comment(*id).await?;
        }
        if !decided.post.is_empty() {
            let head = client.get_pull_request(pr).await?.head.sha;
            let comments: Vec<NewReviewComment> =
                decided.post.iter().map(|s| s.comment()).collect();
            let body = format!(
                "`terraform fmt` would change {} place{} in this pull request; each suggestion can be committed from here, or run `cargo xtask fmt`.",
                comments.len(),
                if comments.len() == 1 { "" } else { "s" }
            );
            client.create_review(pr, &head, &body, &comments).await?;
        }
        Ok::<_, anyhow::Error>(decided)
    })?;
    for change in &decided.annotate {
        println!("{}", annotation(change));
    }
    println!(
        "fmt on #{pr}: {} suggestion(s) posted, {} already there, {} outdated removed, {} outside the diff",
        decided.post.len(),
        decided.kept,
        decided.delete.len(),
        decided.annotate.len()
    );
    if changes.is_empty() {
        Ok(())
    } else {
        Err(fail(
            FailureKind::CheckFailed,
            format!(
                "{} place{} not formatted; commit the suggestions or run `cargo xtask fmt`",
                changes.len(),
                if changes.len() == 1 { " is" } else { "s are" }
            ),
        ))
    }
}

/// The changes fmt would make, from each unformatted file and fmt's output for it compared line by
/// line (see `fmt::lines`).
fn fmt_changes(
    config: &Config,
    terraform: &Terraform,
    targets: &[PathBuf],
) -> anyhow::Result<Vec<Change>> {
    let listed = terraform.fmt(&["-check", "-list=true"], targets)?;
    fail_on_terraform_error(&listed)?;
    let mut changes = Vec::new();
    for file in listed.output.lines().filter(|line| !line.is_empty()) {
        let path = config.root.join(file);
        let head = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {} for its fmt suggestions", path.display()))
            .classify(FailureKind::OperationFailed)?;
        let output = terraform.fmt_text(&head)?;
        if output.code != Some(0) {
            return Err(fail(
                FailureKind::OperationFailed,
                format!("terraform fmt failed on {file}: {}", output.stderr.trim()),
            ));
        }
        changes.extend(lines::changes(file, &head, &output.output));
    }
    Ok(changes)
}

fn annotation(change: &Change) -> String {
    let message = if change.removed.is_empty() && change.replacement.is_empty() {
        "not formatted; terraform fmt would change only the final newline or the line endings"
            .to_owned()
    } else {
        format!(
            "not formatted; terraform fmt would write:\n{}",
            change.replacement.join("\n")
        )
    };
    github_actions::annotation(
        Level::Warning,
        &change.path,
        Some(u64::from(change.start)),
        Some(u64::from(change.end)),
        "terraform fmt",
        &message,
    )
}
