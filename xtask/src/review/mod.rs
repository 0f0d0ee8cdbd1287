//! AI review of a pull request, the pure part: redaction, compression to a token budget, prompts,
//! parsing and rendering. The command (`commands::review`) feeds it from GitHub or a diff file and
//! sends the prompts through [`llm`].
//!
//! Order matters: everything is redacted before it is counted, compressed or shown, so nothing
//! after [`redact_inputs`] ever sees a secret.

pub mod answers;
pub mod ask;
pub mod bedrock;
pub mod bench;
pub mod compress;
pub mod diff;
pub mod findings;
pub mod headings;
pub mod increment;
pub mod llm;
pub mod plan_summary;
pub mod prompt;
pub mod pull_request;
pub use crate::redact;
pub mod render;
pub mod suggestion;
pub mod tokens;

use crate::config::ReviewSettings;
use compress::Compression;
use diff::{FileDiff, LineKind};
use prompt::{Prompt, PromptContext, Task};
use redact::{Redaction, Redactor};
use tokens::Tokenizer;

/// The pull request's own words.
#[derive(Debug, Clone, Default)]
pub struct PullRequestText {
    pub title: String,
    pub body: String,
    pub branch: String,
}

/// Redacts diff lines (added, removed and context), the title, the body and the plan section in
/// place; returns where secrets were found.
pub fn redact_inputs(
    files: &mut [FileDiff],
    text: &mut PullRequestText,
    plan_section: &mut String,
) -> Vec<Redaction> {
    let mut redactor = Redactor::new();
    text.title = redactor.text(&text.title, "PR title");
    text.body = redactor.text(&text.body, "PR body");
    text.branch = redactor.text(&text.branch, "PR branch");
    *plan_section = redactor.text(plan_section, "plan summary");
    redact_diff(&mut redactor, files);
    redactor.redactions
}

/// Redacts more diff lines (the commits since an earlier review) as [`redact_inputs`] does.
pub fn redact_files(files: &mut [FileDiff]) -> Vec<Redaction> {
    let mut redactor = Redactor::new();
    redact_diff(&mut redactor, files);
    redactor.redactions
}

fn redact_diff(redactor: &mut Redactor, files: &mut [FileDiff]) {
    for file in files.iter_mut() {
        redactor.reset_block();
        let path = file.path.clone();
        for hunk in &mut file.hunks {
            let mut last_new = hunk.new_start;
            for line in &mut hunk.lines {
                let location = match (line.kind, line.new_line) {
                    (LineKind::Removed, _) | (_, None) => {
                        format!("{path} (removed line after new line {last_new})")
                    }
                    (_, Some(number)) => {
                        last_new = number;
                        format!("{path}:{number}")
                    }
                };
                line.text = redactor.line(&line.text, || location.clone());
            }
        }
    }
}

/// What steers the selection besides the file kinds: the repository's `review.ignore` and the
/// files the plans' destroyed or replaced resources point to.
pub fn selection(
    plans: &[plan_summary::EnvPlan],
    files: &[FileDiff],
    settings: &ReviewSettings,
) -> Result<compress::Selection, String> {
    Ok(compress::Selection {
        ignore: compress::IgnoreGlobs::new(&settings.ignore)?,
        plan_files: plan_summary::pointed_files(plans, files),
    })
}

/// The prompt's context: the pull request's (redacted) words, the plan section, where secrets were
/// redacted, and the repository's review settings.
pub fn prompt_context(
    text: &PullRequestText,
    plan_section: String,
    redactions: &[Redaction],
    selection: compress::Selection,
    settings: &ReviewSettings,
) -> PromptContext {
    PromptContext {
        title: text.title.clone(),
        branch: text.branch.clone(),
        body: text.body.clone(),
        plan: plan_section,
        redactions: redactions
            .iter()
            .map(|redaction| format!("{} at {}", redaction.kind, redaction.location))
            .collect(),
        left_out: Vec::new(),
        selection,
        extra_instructions: settings.extra_instructions.clone(),
        language: settings.language.clone(),
        max_findings: settings.max_findings,
        max_suggestions: settings.max_suggestions,
    }
}

/// The prompts of each task, from its diff, within the settings' budget (see [`plan_prompts`]).
pub fn plan_tasks(
    tasks: &[(Task, &[FileDiff])],
    context: &PromptContext,
    tokenizer: &Tokenizer,
    settings: &ReviewSettings,
) -> Result<Vec<PlannedPrompts>, String> {
    tasks
        .iter()
        .map(|(task, files)| {
            plan_prompts(
                *task,
                files,
                context,
                tokenizer,
                settings.token_budget as usize,
                settings.output_reserve as usize,
            )
        })
        .collect()
}

/// The log line saying what will be asked.
pub fn planned_note(files: usize, redactions: &[Redaction], planned: &[PlannedPrompts]) -> String {
    format!(
        "review: {files} files, {} redaction(s); {}",
        redactions.len(),
        planned
            .iter()
            .map(|p| format!("{}: {} call(s)", p.task.name(), p.prompts.len()))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The prompts of one task, with the budget accounting behind them.
#[derive(Debug, Clone)]
pub struct PlannedPrompts {
    pub task: Task,
    pub prompts: Vec<Prompt>,
    pub compression: Compression,
    /// Per prompt: the tokens the budget accounted for (fixed parts counted once + the sum of the
    /// file sections counted one by one).
    pub accounted: Vec<usize>,
    /// The budget of the prompt (token budget minus output reserve).
    pub budget: usize,
}

/// How many calls improve may spread a large pull request over.
pub const IMPROVE_MAX_CALLS: usize = 3;

/// Tokens kept free when packing the diff: counts of parts do not quite add up to the count of
/// the whole (the text around the diff in the template). The final prompts are counted again in
/// any case; the margin only keeps that from having to drop a file.
const PACKING_MARGIN: usize = 16;

/// Compresses the (redacted) diff into the prompts of `task`, each within
/// `token_budget - output_reserve` tokens.
///
/// The budget holds by construction: the diff is packed into what the prompt without it leaves
/// (less a margin), then every final prompt is counted as a whole and, while one is over, its last
/// file section is dropped (that file is then reported as left out for the budget). It fails only
/// when the prompt does not fit even without any diff, and then says which part is large.
pub fn plan_prompts(
    task: Task,
    files: &[FileDiff],
    base: &PromptContext,
    tokenizer: &Tokenizer,
    token_budget: usize,
    output_reserve: usize,
) -> Result<PlannedPrompts, String> {
    let budget = token_budget.saturating_sub(output_reserve);
    let max_chunks = if task == Task::Improve {
        IMPROVE_MAX_CALLS
    } else {
        1
    };
    let known_left = compress::left_out_list(files.iter().filter_map(|file| {
        compress::skip_reason(file, &base.selection)
            .map(|reason| (file.path.as_str(), file.old_path.as_deref(), reason))
    }));
    let mut context = base.clone();
    context.left_out = known_left;
    let bare = prompt::build(task, &context, "")?.count(tokenizer);
    if bare > budget {
        return Err(too_small(
            task,
            &context,
            tokenizer,
            bare,
            token_budget,
            output_reserve,
        ));
    }
    // The names of the files left out take room too, and which files are left out depends on
    // the room: pack again while the list outgrows what the packing assumed (a few rounds at most).
    let mut assumed = bare;
    let mut compression = compress::compress(
        files,
        &base.selection,
        tokenizer,
        budget.saturating_sub(assumed + PACKING_MARGIN),
        max_chunks,
    );
    for _ in 0..3 {
        context.left_out = compression.left_out_lines();
        let listed = prompt::build(task, &context, "")?.count(tokenizer);
        if listed <= assumed {
            break;
        }
        assumed = listed;
        compression = compress::compress(
            files,
            &base.selection,
            tokenizer,
            budget.saturating_sub(assumed + PACKING_MARGIN),
            max_chunks,
        );
    }
    loop {
        context.left_out = compression.left_out_lines();
        let fixed = prompt::build(task, &context, "")?.count(tokenizer);
        if fixed > budget {
            return Err(too_small(
                task,
                &context,
                tokenizer,
                fixed,
                token_budget,
                output_reserve,
            ));
        }
        // By the accounting first (cheap), then by counting the prompts as sent.
        let mut dropped = false;
        for index in 0..compression.chunks.len() {
            while fixed + compression.chunks[index].tokens > budget
                && compression.drop_last_piece(index)
            {
                dropped = true;
            }
        }
        if dropped {
            continue;
        }
        let mut prompts = Vec::new();
        let mut over = Vec::new();
        for (index, chunk) in compression.chunks.iter().enumerate() {
            let built = prompt::build(task, &context, &chunk.text)?;
            if built.count(tokenizer) > budget {
                over.push(index);
            }
            prompts.push(built);
        }
        if !over.is_empty() {
            for index in over {
                if !compression.drop_last_piece(index) {
                    // No diff left and still over: only the left-out list can have grown it.
                    return Err(too_small(
                        task,
                        &context,
                        tokenizer,
                        fixed,
                        token_budget,
                        output_reserve,
                    ));
                }
            }
            continue;
        }
        let accounted = compression
            .chunks
            .iter()
            .map(|chunk| fixed + chunk.tokens)
            .collect();
        return Ok(PlannedPrompts {
            task,
            prompts,
            compression,
            accounted,
            budget,
        });
    }
}

/// What takes the room when the prompt does not fit without any diff.
fn too_small(
    task: Task,
    context: &PromptContext,
    tokenizer: &Tokenizer,
    tokens: usize,
    token_budget: usize,
    output_reserve: usize,
) -> String {
    let count_lines = |lines: &[String]| tokenizer.count(&lines.join("\n"));
    let instructions = prompt::build(task, &PromptContext::default(), "")
        .map(|prompt| prompt.count(tokenizer))
        .unwrap_or_default();
    let mut parts = [
        ("instructions (templates/review)", instructions),
        ("PR title", tokenizer.count(&context.title)),
        ("PR branch", tokenizer.count(&context.branch)),
        ("PR description", tokenizer.count(&context.body)),
        ("plan summary", tokenizer.count(&context.plan)),
        ("list of redactions", count_lines(&context.redactions)),
        ("list of files left out", count_lines(&context.left_out)),
    ];
    parts.sort_by_key(|part| std::cmp::Reverse(part.1));
    let parts: Vec<String> = parts
        .iter()
        .filter(|(_, tokens)| *tokens > 0)
        .map(|(name, tokens)| format!("{name} {tokens}"))
        .collect();
    format!(
        "the {} prompt needs {tokens} tokens before any diff ({}), more than the budget of {} tokens (token_budget {token_budget} - output_reserve {output_reserve}); raise token_budget, lower output_reserve or shorten the largest part",
        task.name(),
        parts.join(", "),
        token_budget.saturating_sub(output_reserve),
    )
}
