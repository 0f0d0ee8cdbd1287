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

use std::path::PathBuf;

use anyhow::Context;

use crate::config::{Config, ReviewSettings};
use crate::failure::{Classify, FailureKind, fail};
use crate::github::{self, GitHub, Label, NewReviewComment};
use crate::github_actions;
use crate::review::answers::{self, Earlier, Limits, Outputs};
use crate::review::diff::{self, FileDiff};
use crate::review::headings::Headings;
use crate::review::llm::{LlmClient, Request};
use crate::review::prompt::{self, Task};
use crate::review::render::{self, Call, Footer, Links};
use crate::review::tokens::Tokenizer;
use crate::review::{self, PlannedPrompts, PullRequestText, plan_summary, redact_inputs};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Tool {
    Describe,
    Review,
    Improve,
    All,
    /// Answer the `/ask <question>` of `--comment` in a reply.
    Ask,
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
    /// Review the whole pull request even when our review and suggestions comments already cover
    /// an earlier head (by default only the commits since are reviewed; `/review full`).
    #[arg(long)]
    pub full: bool,
    /// `ask`: the id of the comment holding the `/ask` (read from GitHub, never from the event).
    #[arg(long, value_name = "ID")]
    pub comment: Option<u64>,
    /// `ask`: the comment is a review comment on a diff line (the reply goes in its thread).
    #[arg(long)]
    pub on_line: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = super::load_config()?;
    let runtime = crate::runtime::current_thread()?;
    if args.tool == Tool::Ask {
        return runtime.block_on(run_ask(args, config));
    }
    runtime.block_on(run_async(args, config))
}

/// `/ask`: from a member, answered from the diff (the question's hunk first) and the plan
/// summaries, redacted and within the budget like a review, in a reply.
async fn run_ask(args: Args, config: Config) -> anyhow::Result<()> {
    let settings = &config.repo.review;
    let headings =
        Headings::for_language(&settings.language).map_err(|why| fail(FailureKind::Config, why))?;
    let Some(comment_id) = args.comment else {
        return Err(fail(
            FailureKind::Config,
            "review ask needs --comment ID: the comment that holds the /ask",
        ));
    };
    if args.diff.is_some() {
        return Err(fail(
            FailureKind::Config,
            "review ask answers a comment on a pull request; it does not take --diff",
        ));
    }
    let mut input = read_input(&args, &config).await?;
    let Some(pull) = input.pull.take() else {
        return Err(fail(FailureKind::Config, "review ask needs a pull request"));
    };
    let comment = review::pull_request::ask_comment(&pull.github, comment_id, args.on_line).await?;
    let Some(asked) = asked(&pull, &comment) else {
        return Ok(());
    };
    let mut redactor = crate::redact::Redactor::new();
    let question = redactor.text(asked, "/ask question");
    let on_line = comment.path.as_ref().map(|path| review::ask::OnLine {
        path: path.clone(),
        line: comment.line,
        diff_hunk: redactor.text(
            comment.diff_hunk.as_deref().unwrap_or_default(),
            "/ask diff hunk",
        ),
    });
    // The question's file first.
    if let Some(on) = &on_line {
        input.files.sort_by_key(|file| file.path != on.path);
    }
    let plans = read_plan_summaries(&args.plan_summary)?;
    let selection = review::selection(&plans, &input.files, settings)
        .map_err(|why| fail(FailureKind::Config, why))?;
    let mut section = plan_summary::render(&plans);
    let mut redactions = redact_inputs(&mut input.files, &mut input.text, &mut section);
    redactions.extend(redactor.redactions);
    let section = review::ask::prompt_section(&question, on_line.as_ref()) + &section;
    let tokenizer = Tokenizer::load()?;
    let context = review::prompt_context(&input.text, section, &redactions, selection, settings);
    let planned = review::plan_tasks(&[(Task::Ask, &input.files)], &context, &tokenizer, settings)
        .map_err(|why| fail(FailureKind::Config, why))?;
    let coverage = planned
        .first()
        .map(|p| render::coverage(&p.compression, &redactions, &headings))
        .unwrap_or_default();
    if args.dry_run {
        let links = Links::default();
        print!(
            "{}",
            render::dry_run(&planned, &tokenizer, &headings, &coverage, &links, true)
        );
        return Ok(());
    }
    let client = LlmClient::from_settings(settings).await?;
    let mut footer = Footer {
        coverage,
        provider: client.label().to_owned(),
        model: client.first_model().to_owned(),
        ..Footer::default()
    };
    let schema = prompt::schema(Task::Ask).map_err(|why| fail(FailureKind::Config, why))?;
    let mut answer_text = String::new();
    for built in planned.iter().flat_map(|p| &p.prompts) {
        let answer = client
            .complete(&Request {
                system: &built.system,
                user: &built.user,
                schema_name: Task::Ask.name(),
                schema: &schema,
                max_output_tokens: settings.output_reserve,
            })
            .await
            .context("review ask: asking the model")?;
        footer.model = answer.model.clone();
        footer.truncated |= answer.truncated;
        footer.calls.push(Call {
            model: answer.model.clone(),
            usage: answer.usage,
        });
        answer_text = answer.text;
    }
    let answered = review::ask::answer(&answer_text).map_err(|why| {
        fail(
            FailureKind::Api,
            format!(
                "review ask: {} `{}` answered, but {why}; nothing was posted",
                client.label(),
                footer.model
            ),
        )
    })?;
    let body = review::ask::reply(&question, &answered, &headings, &footer);
    review::pull_request::reply(&pull.github, pull.number, &comment, &body).await?;
    eprintln!(
        "review: answered the /ask of comment {comment_id} on #{}",
        pull.number
    );
    Ok(())
}

/// The question of `comment` when it is an `/ask` the review answers: by an OWNER, MEMBER or
/// COLLABORATOR (as GitHub reports the comment's `author_association`), not by our own bot.
/// Anything else is ignored with a note.
fn asked<'c>(pull: &PullContext, comment: &'c review::pull_request::AskComment) -> Option<&'c str> {
    let login = comment.user.as_ref().map_or("", |user| user.login.as_str());
    if login == pull.github.bot_login() {
        eprintln!("review ask: comment {} is our own; ignored", comment.id);
        return None;
    }
    if !review::ask::may_ask(&comment.author_association) {
        eprintln!(
            "review ask: comment {} is by an {} (not OWNER, MEMBER or COLLABORATOR); ignored",
            comment.id, comment.author_association
        );
        return None;
    }
    let question = review::ask::question(&comment.body);
    if question.is_none() {
        eprintln!(
            "review ask: comment {} holds no /ask question; ignored",
            comment.id
        );
    }
    question
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
        Tool::Ask => vec![Task::Ask],
    }
}

async fn run_async(args: Args, config: Config) -> anyhow::Result<()> {
    let settings = &config.repo.review;
    let headings =
        Headings::for_language(&settings.language).map_err(|why| fail(FailureKind::Config, why))?;
    let mut input = read_input(&args, &config).await?;
    let mut earlier = earlier_reviews(&input, &tasks(args.tool), args.full).await?;
    let plans = read_plan_summaries(&args.plan_summary)?;
    let selection = review::selection(&plans, &input.files, settings)
        .map_err(|why| fail(FailureKind::Config, why))?;
    let mut plan_section = plan_summary::render(&plans);
    let mut redactions = redact_inputs(&mut input.files, &mut input.text, &mut plan_section);
    for (_, earlier) in &mut earlier {
        for redaction in review::redact_files(&mut earlier.since.changes) {
            if !redactions.contains(&redaction) {
                redactions.push(redaction);
            }
        }
    }
    let tokenizer = Tokenizer::load()?;
    let context =
        review::prompt_context(&input.text, plan_section, &redactions, selection, settings);
    let diffs: Vec<(Task, &[FileDiff])> = tasks(args.tool)
        .into_iter()
        .map(|task| match earlier_for(&earlier, task) {
            Some(earlier) => (task, earlier.since.changes.as_slice()),
            None => (task, input.files.as_slice()),
        })
        .collect();
    let planned = review::plan_tasks(&diffs, &context, &tokenizer, settings)
        .map_err(|why| fail(FailureKind::Config, why))?;
    eprintln!(
        "{}",
        review::planned_note(input.files.len(), &redactions, &planned)
    );
    let links = links(&input);
    if args.dry_run {
        let coverage = planned
            .first()
            .map(|p| render::coverage(&p.compression, &redactions, &headings))
            .unwrap_or_default();
        let to_pull_request = input.pull.is_some();
        let printed = render::dry_run(
            &planned,
            &tokenizer,
            &headings,
            &coverage,
            &links,
            to_pull_request,
        );
        print!("{printed}");
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
        let asked = Asked {
            client: &client,
            settings,
            input: &input,
            earlier: earlier_for(&earlier, prompts.task),
            headings: &headings,
            links: &links,
        };
        ask(&asked, prompts, footer, &mut outputs).await?;
    }
    match &input.pull {
        Some(pull) => publish(pull, &outputs, &headings, &links).await,
        None => {
            let texts = [
                outputs.describe.as_deref(),
                outputs.review.as_ref().map(|(text, _)| text.as_str()),
                outputs
                    .improve
                    .as_ref()
                    .map(|improved| improved.text.as_str()),
            ];
            for text in texts.into_iter().flatten() {
                println!("{text}\n");
            }
            Ok(())
        }
    }
}

/// The plan summaries (`cargo xtask plan --summary-json` files).
fn read_plan_summaries(paths: &[PathBuf]) -> anyhow::Result<Vec<plan_summary::EnvPlan>> {
    let mut plans = Vec::new();
    for path in paths {
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
    Ok(plans)
}

/// Links into the pull request's repository at its head (none for a diff file).
fn links(input: &Input) -> Links {
    match &input.pull {
        Some(pull) => Links::for_pull_request(
            std::env::var("GITHUB_SERVER_URL").ok().as_deref(),
            pull.github.repository(),
            &pull.head_sha,
        ),
        None => Links::default(),
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
    let files = listed
        .into_iter()
        .map(FileDiff::from_pull_request_file)
        .collect();
    let body = pull.body.clone().unwrap_or_default();
    Ok(Input {
        files,
        text: PullRequestText {
            title: pull.title.clone().unwrap_or_default(),
            body: render::author_text(&body),
            branch: format!("{} -> {}", pull.head.ref_field, pull.base.ref_field),
        },
        pull: Some(PullContext {
            github,
            number,
            head_sha: pull.head.sha,
        }),
    })
}

/// Per task (review, improve), the earlier review whose head is an ancestor of the pull
/// request's: only the commits since are reviewed. None for `--full`, a diff file or describe.
async fn earlier_reviews(
    input: &Input,
    tasks: &[Task],
    full: bool,
) -> anyhow::Result<Vec<(Task, Earlier)>> {
    let Some(pull) = input.pull.as_ref().filter(|_| !full) else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    for task in tasks {
        let marker = match task {
            Task::Review => render::REVIEW_MARKER,
            Task::Improve => render::IMPROVE_MARKER,
            Task::Describe | Task::Ask => continue,
        };
        let earlier =
            review::pull_request::earlier(&pull.github, pull.number, marker, &pull.head_sha)
                .await?;
        if let Some(earlier) = earlier {
            found.push((*task, earlier));
        }
    }
    Ok(found)
}

fn earlier_for(earlier: &[(Task, Earlier)], task: Task) -> Option<&Earlier> {
    earlier
        .iter()
        .find(|(of, _)| *of == task)
        .map(|(_, earlier)| earlier)
}

/// What every call of a run shares.
struct Asked<'a> {
    client: &'a LlmClient,
    settings: &'a ReviewSettings,
    input: &'a Input,
    earlier: Option<&'a Earlier>,
    headings: &'a Headings,
    links: &'a Links,
}

/// Asks the model each prompt of one task and merges the answers into `outputs`.
async fn ask(
    asked: &Asked<'_>,
    prompts: &PlannedPrompts,
    mut footer: Footer,
    outputs: &mut Outputs,
) -> anyhow::Result<()> {
    let Asked {
        client,
        settings,
        input,
        earlier,
        headings,
        links,
    } = *asked;
    let schema = prompt::schema(prompts.task).map_err(|why| fail(FailureKind::Config, why))?;
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
        footer.calls.push(Call {
            model: answer.model.clone(),
            usage: answer.usage,
        });
        answers.push(answer);
    }
    let texts: Vec<&str> = answers.iter().map(|answer| answer.text.as_str()).collect();
    let limits = Limits {
        max_findings: settings.max_findings as usize,
        max_suggestions: settings.max_suggestions as usize,
    };
    let model = footer.model.clone();
    answers::merge(
        prompts,
        &texts,
        &input.files,
        earlier,
        limits,
        links,
        headings,
        footer,
        outputs,
    ).map_err(
        |why| {
            fail(
                FailureKind::Api,
                format!(
                    "review {}: {} `{model}` answered, but {why}; nothing was posted. Check that the model supports JSON output",
                    prompts.task.name(),
                    client.label(),
                ),
            )
        },
    )
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
            let summary = render::job_summary(outputs, headings.get("fork_note"));
            if !github_actions::append_step_summary(&summary)? {
                // Outside Actions there is no summary file: print so the result is not lost.
                println!("{summary}");
            }
            Ok(())
        }
        Err(error) => {
            let error = crate::failure::report(error);
            eprintln!("review: the result follows, and is in the job summary");
            let summary = render::job_summary(
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
        let wanted: Vec<Label> = labels.iter().map(|name| render::label(name)).collect();
        github
            .sync_labels(pull.number, &wanted, &render::managed_labels())
            .await?;
    }
    if let Some(improved) = &outputs.improve {
        let mut text = improved.text.clone();
        let existing: Vec<(u64, String)> = if improved.committables().is_empty() {
            Vec::new()
        } else {
            github
                .own_review_comments(pull.number, render::SUGGESTION_MARKER_PREFIX)
                .await?
                .into_iter()
                .map(|comment| (comment.id.into_inner(), comment.body))
                .collect()
        };
        let new: Vec<NewReviewComment> = improved
            .not_posted(&existing)
            .iter()
            .map(|committable| committable.comment())
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
                    text = improved.without_inline(links, headings);
                }
                Err(error) => return Err(error),
            }
        }
        let outcome = github
            .upsert_comment(pull.number, render::IMPROVE_MARKER, &text)
            .await?;
        eprintln!("review: suggestions comment: {outcome}");
    }
    Ok(())
}
