//! `cargo xtask review`: AI review of a pull request (describe, review, improve).
//!
//! Reads the pull request (or `--diff FILE`), redacts secrets, compresses the diff into the token
//! budget, asks the configured model, validates what comes back and writes it to the pull request:
//! the description into a marked section of the PR body, the review and the suggestions as
//! persistent comments, committable suggestions as one review, labels. A token that cannot write
//! (a fork's pull request) gets the same text in the job summary instead.
//!
//! Neither the diff nor the prompt is ever printed, except by `--dry-run`, which prints the redacted
//! prompt and sends nothing.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;

use crate::config::{Config, ReviewSettings};
use crate::failure::{Classify, FailureKind, fail};
use crate::github::{self, GitHub, Label, NewReviewComment, PullRequestFile};
use crate::github_actions;
use crate::review::compress::{Inclusion, Selection};
use crate::review::diff::{self, FileDiff, FileStatus};
use crate::review::findings::{self, Description, Known, Review, Suggestion};
use crate::review::headings::Headings;
use crate::review::llm::{LlmClient, Request};
use crate::review::prompt::{self, PromptContext, Task};
use crate::review::render::{self, Footer, Links, PlacedSuggestion};
use crate::review::tokens::Tokenizer;
use crate::review::{PlannedPrompts, PullRequestText, plan_prompts, plan_summary, redact_inputs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    Describe,
    Review,
    Improve,
    All,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Which output to produce.
    #[arg(value_enum, default_value_t = Tool::All)]
    pub tool: Tool,
    /// The pull request number (default: the one of the workflow event).
    #[arg(long)]
    pub pr: Option<u64>,
    /// Print the redacted prompt, token counts and the comments it would post; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Review a unified diff from a file instead of a pull request.
    #[arg(long, value_name = "FILE")]
    pub diff: Option<PathBuf>,
    /// A plan summary (`cargo xtask plan --summary-json`) to include in the prompt; repeatable.
    #[arg(long, value_name = "FILE")]
    pub plan_summary: Vec<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = super::load_config()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .classify(FailureKind::Environment)?;
    runtime.block_on(run_async(args, config))
}

/// The pull request under review, or a diff file.
struct Input {
    files: Vec<FileDiff>,
    text: PullRequestText,
    pull: Option<PullContext>,
}

struct PullContext {
    github: GitHub,
    number: u64,
    head_sha: String,
}

fn tasks(tool: Tool) -> Vec<Task> {
    match tool {
        Tool::Describe => vec![Task::Describe],
        Tool::Review => vec![Task::Review],
        Tool::Improve => vec![Task::Improve],
        Tool::All => vec![Task::Describe, Task::Review, Task::Improve],
    }
}

async fn run_async(args: Args, config: Config) -> anyhow::Result<()> {
    let settings = &config.repo.review;
    let headings =
        Headings::for_language(&settings.language).map_err(|why| fail(FailureKind::Config, why))?;
    let mut input = read_input(&args, &config).await?;

    let mut plans = Vec::new();
    for path in &args.plan_summary {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the plan summary {}", path.display()))
            .classify(FailureKind::Config)?;
        let parsed = plan_summary::parse(&text)
            .with_context(|| {
                format!(
                    "{}: not a `cargo xtask plan --summary-json` file",
                    path.display()
                )
            })
            .classify(FailureKind::Config)?;
        plans.extend(parsed);
    }
    let mut plan_section = plan_summary::render(&plans);
    let redactions = redact_inputs(&mut input.files, &mut input.text, &mut plan_section);

    let tokenizer = Tokenizer::load()?;
    let context = PromptContext {
        title: input.text.title.clone(),
        branch: input.text.branch.clone(),
        body: input.text.body.clone(),
        plan: plan_section,
        redactions: redactions
            .iter()
            .map(|redaction| format!("{} at {}", redaction.kind, redaction.location))
            .collect(),
        left_out: Vec::new(),
        selection: Selection {
            plan_files: plan_summary::pointed_files(&plans, &input.files),
            ..Selection::default()
        },
        language: settings.language.clone(),
        max_findings: settings.max_findings,
        max_suggestions: settings.max_suggestions,
    };
    let mut planned = Vec::new();
    for task in tasks(args.tool) {
        let prompts = plan_prompts(
            task,
            &input.files,
            &context,
            &tokenizer,
            settings.token_budget as usize,
            settings.output_reserve as usize,
        )
        .map_err(|why| fail(FailureKind::Config, why))?;
        planned.push(prompts);
    }
    eprintln!(
        "review: {} files, {} redaction(s); {}",
        input.files.len(),
        redactions.len(),
        planned
            .iter()
            .map(|p| format!("{}: {} call(s)", p.task.name(), p.prompts.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let coverage = planned
        .first()
        .map(|p| render::coverage(&p.compression, &redactions, &headings))
        .unwrap_or_default();
    let links = Links {
        repo_url: input.pull.as_ref().map(|pull| {
            let server = std::env::var("GITHUB_SERVER_URL")
                .ok()
                .filter(|url| !url.is_empty())
                .unwrap_or_else(|| "https://github.com".to_owned());
            format!(
                "{}/{}",
                server.trim_end_matches('/'),
                pull.github.repository()
            )
        }),
        head_sha: input
            .pull
            .as_ref()
            .map(|pull| pull.head_sha.clone())
            .unwrap_or_default(),
    };

    if args.dry_run {
        print_dry_run(&planned, &tokenizer, &headings, &coverage, &links, &input);
        return Ok(());
    }

    let client = LlmClient::from_settings(settings).await?;
    let mut outputs = Outputs::default();
    for prompts in &planned {
        let footer = Footer {
            coverage: render::coverage(&prompts.compression, &redactions, &headings),
            provider: client.label().to_owned(),
            model: client.first_model().to_owned(),
            ..Footer::default()
        };
        ask(
            &client,
            prompts,
            settings,
            &input,
            &headings,
            &links,
            footer,
            &mut outputs,
        )
        .await?;
    }

    match &input.pull {
        Some(pull) => publish(pull, &outputs, &headings, &links).await,
        None => {
            for text in outputs.texts() {
                println!("{text}\n");
            }
            Ok(())
        }
    }
}

async fn read_input(args: &Args, config: &Config) -> anyhow::Result<Input> {
    if let Some(path) = &args.diff {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the diff {}", path.display()))
            .classify(FailureKind::Config)?;
        let files = diff::parse(&bytes);
        if files.is_empty() {
            return Err(fail(
                FailureKind::Config,
                format!(
                    "{}: no file changes found; expected a unified diff (git diff output)",
                    path.display()
                ),
            ));
        }
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        return Ok(Input {
            files,
            text: PullRequestText {
                title: format!("Changes in {name}"),
                body: String::new(),
                branch: String::new(),
            },
            pull: None,
        });
    }
    let number = github::resolve_pull_request(args.pr)?;
    let github = GitHub::new(github::Settings::for_config(config)?)?;
    let pull = github.get_pull_request(number).await?;
    let listed = github.list_pull_request_files(number).await?;
    let files = listed.into_iter().map(file_from_github).collect();
    let body = pull.body.clone().unwrap_or_default();
    Ok(Input {
        files,
        text: PullRequestText {
            title: pull.title.clone(),
            body: render::author_text(&body),
            branch: format!("{} -> {}", pull.head.ref_name, pull.base.ref_name),
        },
        pull: Some(PullContext {
            github,
            number,
            head_sha: pull.head.sha,
        }),
    })
}

fn file_from_github(file: PullRequestFile) -> FileDiff {
    let status = match file.status.as_str() {
        "added" => FileStatus::Added,
        "removed" => FileStatus::Deleted,
        "renamed" => FileStatus::Renamed,
        _ => FileStatus::Modified,
    };
    let mut diff = FileDiff::new(file.filename, status);
    diff.old_path = file
        .previous_filename
        .filter(|_| status == FileStatus::Renamed);
    diff.additions = u32::try_from(file.additions).unwrap_or(u32::MAX);
    diff.deletions = u32::try_from(file.deletions).unwrap_or(u32::MAX);
    match file.patch {
        Some(patch) => diff::parse_patch(diff, &patch),
        None => diff,
    }
}

/// What the model produced, rendered.
#[derive(Default)]
struct Outputs {
    /// Our section of the PR body (merged into the body as it is when it is written).
    describe: Option<String>,
    review: Option<(String, Vec<String>)>,
    improve: Option<String>,
    /// Committable suggestions, for the inline review.
    inline: Vec<Suggestion>,
    improve_placed: Vec<PlacedSuggestion>,
    improve_footer: Option<Footer>,
}

impl Outputs {
    fn texts(&self) -> Vec<&str> {
        let mut texts = Vec::new();
        if let Some(text) = &self.describe {
            texts.push(text.as_str());
        }
        if let Some((text, _)) = &self.review {
            texts.push(text.as_str());
        }
        if let Some(text) = &self.improve {
            texts.push(text.as_str());
        }
        texts
    }
}

#[allow(clippy::too_many_arguments)]
async fn ask(
    client: &LlmClient,
    prompts: &PlannedPrompts,
    settings: &ReviewSettings,
    input: &Input,
    headings: &Headings,
    links: &Links,
    mut footer: Footer,
    outputs: &mut Outputs,
) -> anyhow::Result<()> {
    let schema = prompt::schema(prompts.task).map_err(|why| fail(FailureKind::Config, why))?;
    let known_files: BTreeSet<String> = prompts
        .compression
        .files
        .iter()
        .filter(|file| file.chunk.is_some())
        .map(|file| file.path.clone())
        .collect();
    let known = Known {
        files: &known_files,
    };
    let mut answers = Vec::new();
    for (index, built) in prompts.prompts.iter().enumerate() {
        eprintln!(
            "review: {} call {}/{}: asking {} `{}`",
            prompts.task.name(),
            index + 1,
            prompts.prompts.len(),
            client.label(),
            client.first_model()
        );
        let answer = client
            .complete(&Request {
                system: &built.system,
                user: &built.user,
                schema_name: prompts.task.name(),
                schema: &schema,
                max_output_tokens: settings.output_reserve,
            })
            .await
            .with_context(|| format!("review {}: asking the model", prompts.task.name()))?;
        footer.model = answer.model.clone();
        footer.truncated |= answer.truncated;
        answers.push(answer);
    }
    let unparseable = |why: String| {
        fail(
            FailureKind::Api,
            format!(
                "review {}: {} `{}` answered, but {why}; nothing was posted. Check that the model supports JSON output",
                prompts.task.name(),
                client.label(),
                footer.model
            ),
        )
    };
    match prompts.task {
        Task::Describe => {
            let mut described = Description::default();
            for answer in &answers {
                let parsed = findings::description(&answer.text, &known).map_err(unparseable)?;
                footer.dropped.extend(parsed.dropped);
                described = parsed.value;
            }
            let section =
                render::description(&described, &prompts.compression.files, headings, &footer);
            outputs.describe = Some(section);
        }
        Task::Review => {
            let mut reviewed = Review::default();
            for answer in &answers {
                let parsed = findings::review(&answer.text, &known, settings.max_findings as usize)
                    .map_err(unparseable)?;
                footer.dropped.extend(parsed.dropped);
                reviewed = parsed.value;
            }
            let labels = render::labels(&reviewed);
            outputs.review = Some((render::review(&reviewed, links, headings, &footer), labels));
        }
        Task::Improve => {
            let mut all = Vec::new();
            let mut failures = Vec::new();
            for answer in &answers {
                // One unreadable call of several loses its part, not the whole run.
                match findings::suggestions(&answer.text, &known) {
                    Ok(parsed) => {
                        footer.dropped.extend(parsed.dropped);
                        all.extend(parsed.value);
                    }
                    Err(why) => failures.push(why),
                }
            }
            if all.is_empty() && !failures.is_empty() && failures.len() == answers.len() {
                return Err(unparseable(failures.join("; ")));
            }
            footer.dropped.extend(
                failures
                    .into_iter()
                    .map(|why| format!("one call's answer: {why}")),
            );
            all.sort_by(|a, b| b.score.cmp(&a.score).then(a.label.cmp(&b.label)));
            all.truncate(settings.max_suggestions as usize);
            let placed: Vec<PlacedSuggestion> = all
                .into_iter()
                .map(|suggestion| {
                    let committable = input
                        .files
                        .iter()
                        .find(|file| file.path == suggestion.file)
                        .is_some_and(|file| {
                            file.lines_in_one_hunk(&(suggestion.start_line..=suggestion.end_line))
                        });
                    PlacedSuggestion {
                        suggestion,
                        committable,
                    }
                })
                .collect();
            outputs.inline = placed
                .iter()
                .filter(|p| p.committable)
                .map(|p| p.suggestion.clone())
                .collect();
            outputs.improve = Some(render::improve(&placed, links, headings, &footer));
            outputs.improve_placed = placed;
            outputs.improve_footer = Some(footer);
        }
    }
    Ok(())
}

fn effort_labels() -> Vec<String> {
    (1..=5).map(|n| format!("Review effort {n}/5")).collect()
}

fn label_for(name: &str) -> Label {
    let (color, description) = if name == render::LABEL_SECURITY {
        (
            "d93f0b",
            "cargo xtask review found a possible security concern",
        )
    } else {
        (
            "c5def5",
            "cargo xtask review's estimate of the review effort",
        )
    };
    Label {
        name: name.to_owned(),
        color: color.to_owned(),
        description: description.to_owned(),
    }
}

/// Writes the outputs to the pull request; a token without write access (HTTP 403, as on a
/// fork's pull request) degrades to the job summary. Any other failure keeps the result too: it is
/// printed to the log and put in the job summary (as `plan` does) before the error is returned.
async fn publish(
    pull: &PullContext,
    outputs: &Outputs,
    headings: &Headings,
    links: &Links,
) -> anyhow::Result<()> {
    match write_to_pull_request(pull, outputs, headings, links).await {
        Ok(()) => Ok(()),
        Err(error) if github::api_status(&error) == Some(403) => {
            eprintln!("warning: {error:#}");
            eprintln!("review: writing the result to the job summary instead");
            let summary = summary_text(outputs, headings.get("fork_note"));
            if !github_actions::append_step_summary(&summary)? {
                // Outside Actions there is no summary file: print so the result is not lost.
                println!("{summary}");
            }
            Ok(())
        }
        Err(error) => {
            let error = crate::failure::report(error);
            eprintln!("review: the result follows, and is in the job summary");
            let summary = summary_text(
                outputs,
                "Writing this result to the pull request failed (the job log says why); it is kept here.",
            );
            println!("{summary}");
            if let Err(summary_error) = github_actions::append_step_summary(&summary) {
                eprintln!("warning: {summary_error:#}");
            }
            Err(error)
        }
    }
}

/// The outputs as one job summary, under `note`.
fn summary_text(outputs: &Outputs, note: &str) -> String {
    let mut summary = format!("> {note}\n\n");
    if let Some(section) = &outputs.describe {
        // Only our section: the author's text is already on the pull request.
        summary.push_str(section);
        summary.push_str("\n\n");
    }
    if let Some((text, labels)) = &outputs.review {
        summary.push_str(text);
        if !labels.is_empty() {
            let _ = writeln!(summary, "\nLabels: {}\n", labels.join(", "));
        }
    }
    if let Some(text) = &outputs.improve {
        summary.push_str(text);
        for suggestion in &outputs.inline {
            let _ = writeln!(
                summary,
                "\n{} {}-{}:\n\n{}",
                crate::markdown::code_span(&suggestion.file),
                suggestion.start_line,
                suggestion.end_line,
                render::inline_suggestion(suggestion)
            );
        }
    }
    summary
}

async fn write_to_pull_request(
    pull: &PullContext,
    outputs: &Outputs,
    headings: &Headings,
    links: &Links,
) -> anyhow::Result<()> {
    let github = &pull.github;
    if let Some(section) = &outputs.describe {
        // The body as it is now, not as it was before the model ran: an edit the author made in
        // the meantime is kept, and only our section changes.
        let wrote = github
            .edit_pull_request_body(pull.number, |current| render::update_body(current, section))
            .await?;
        if wrote {
            eprintln!("review: updated the description of #{}", pull.number);
        } else {
            eprintln!("review: the description of #{} is up to date", pull.number);
        }
    }
    if let Some((text, labels)) = &outputs.review {
        let outcome = github
            .upsert_comment(pull.number, render::REVIEW_MARKER, text)
            .await?;
        eprintln!("review: review comment: {outcome}");
        let wanted: Vec<Label> = labels.iter().map(|name| label_for(name)).collect();
        let mut managed = effort_labels();
        managed.push(render::LABEL_SECURITY.to_owned());
        github.sync_labels(pull.number, &wanted, &managed).await?;
    }
    if let Some(text) = &outputs.improve {
        let mut text = text.clone();
        if !outputs.inline.is_empty() {
            let existing: HashSet<String> = github
                .own_review_comments(pull.number, render::SUGGESTION_MARKER_PREFIX)
                .await?
                .into_iter()
                .filter_map(|comment| suggestion_id_in(&comment.body))
                .collect();
            let new: Vec<NewReviewComment> = outputs
                .inline
                .iter()
                .filter(|suggestion| !existing.contains(&render::suggestion_id(suggestion)))
                .map(|suggestion| {
                    NewReviewComment::on_new_lines(
                        &suggestion.file,
                        u64::from(suggestion.start_line),
                        u64::from(suggestion.end_line),
                        render::inline_suggestion(suggestion),
                    )
                })
                .collect();
            if !new.is_empty() {
                match github
                    .create_review(pull.number, &pull.head_sha, "", &new)
                    .await
                {
                    Ok(_) => eprintln!("review: posted {} committable suggestion(s)", new.len()),
                    Err(error) if github::api_status(&error) == Some(422) => {
                        // GitHub refused a line (the PR moved on since we read it): show every
                        // suggestion as a diff in the table instead of failing the run.
                        eprintln!(
                            "warning: {error:#}; showing the suggestions in the summary comment only"
                        );
                        let placed: Vec<PlacedSuggestion> = outputs
                            .improve_placed
                            .iter()
                            .map(|p| PlacedSuggestion {
                                suggestion: p.suggestion.clone(),
                                committable: false,
                            })
                            .collect();
                        let footer = outputs.improve_footer.clone().unwrap_or_default();
                        text = render::improve(&placed, links, headings, &footer);
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        let outcome = github
            .upsert_comment(pull.number, render::IMPROVE_MARKER, &text)
            .await?;
        eprintln!("review: suggestions comment: {outcome}");
    }
    Ok(())
}

/// The id in the marker that starts one of our suggestion comments.
fn suggestion_id_in(body: &str) -> Option<String> {
    let rest = body.strip_prefix(render::SUGGESTION_MARKER_PREFIX)?;
    let end = rest.find(" -->")?;
    Some(rest[..end].to_owned())
}

fn print_dry_run(
    planned: &[PlannedPrompts],
    tokenizer: &Tokenizer,
    headings: &Headings,
    coverage: &str,
    links: &Links,
    input: &Input,
) {
    let mut out = String::new();
    for prompts in planned {
        for (index, built) in prompts.prompts.iter().enumerate() {
            let _ = writeln!(
                out,
                "===== {} prompt {}/{}: {} tokens (budget {}, accounted {}) =====",
                prompts.task.name(),
                index + 1,
                prompts.prompts.len(),
                built.count(tokenizer),
                prompts.budget,
                prompts.accounted.get(index).copied().unwrap_or_default()
            );
            let _ = writeln!(
                out,
                "----- system -----\n{}\n----- user -----\n{}",
                built.system, built.user
            );
        }
    }
    if let Some(first) = planned.first() {
        let _ = writeln!(out, "===== token counts per file =====");
        let _ = writeln!(
            out,
            "{:>8}  {:>7} {:>7}  {:<28} path",
            "tokens", "+", "-", "included"
        );
        for file in &first.compression.files {
            let included = match file.inclusion {
                Inclusion::Full => "yes".to_owned(),
                Inclusion::Partial { lines, of } => format!("cut ({lines}/{of} lines)"),
                Inclusion::Left(reason) => {
                    format!("no: {}", headings.get(render::reason_key(reason)))
                }
            };
            let _ = writeln!(
                out,
                "{:>8}  {:>7} {:>7}  {:<28} {}",
                file.tokens,
                file.additions,
                file.deletions,
                included,
                file.display_path()
            );
        }
    }
    let _ = writeln!(
        out,
        "===== would post (model text not requested in a dry run) ====="
    );
    let footer = Footer {
        coverage: coverage.to_owned(),
        provider: "(dry run)".to_owned(),
        model: "-".to_owned(),
        ..Footer::default()
    };
    for prompts in planned {
        let text = match prompts.task {
            Task::Describe => {
                let section = render::description(
                    &Description::default(),
                    &prompts.compression.files,
                    headings,
                    &footer,
                );
                format!("PR body, author's text kept, section:\n{section}")
            }
            Task::Review => format!(
                "comment {}:\n{}",
                render::REVIEW_MARKER,
                render::review(&Review::default(), links, headings, &footer)
            ),
            Task::Improve => format!(
                "comment {} (+ one review with the committable suggestions):\n{}",
                render::IMPROVE_MARKER,
                render::improve(&[], links, headings, &footer)
            ),
        };
        let _ = writeln!(out, "--- {} ---\n{text}", prompts.task.name());
    }
    if input.pull.is_none() {
        let _ = writeln!(
            out,
            "(from a diff file: nothing would be posted; the result would be printed)"
        );
    }
    print!("{out}");
}
