//! AI review of a pull request, the pure part: redaction, compression to a token budget, prompts,
//! parsing and rendering. The command (`commands::review`) feeds it from GitHub or a diff file and
//! sends the prompts through [`llm`].
//!
//! Order matters: everything is redacted before it is counted, compressed or shown, so nothing
//! after [`redact_inputs`] ever sees a secret.

pub mod bedrock;
pub mod bench;
pub mod compress;
pub mod diff;
pub mod findings;
pub mod headings;
pub mod llm;
pub mod plan_summary;
pub mod prompt;
pub use crate::redact;
pub mod render;
pub mod tokens;

use compress::{Compression, Inclusion, LeftOut};
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
    redactor.redactions
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

fn reason_text(reason: LeftOut) -> &'static str {
    match reason {
        LeftOut::LockFile => "lock file",
        LeftOut::Binary => "binary",
        LeftOut::Generated => "generated",
        LeftOut::Deleted => "deleted",
        LeftOut::NoPatch => "no patch available",
        LeftOut::OverBudget => "over the token budget",
    }
}

/// Compresses the (redacted) diff into the prompts of `task`, each within
/// `token_budget - output_reserve` tokens.
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
    let known_left: Vec<String> = files
        .iter()
        .filter_map(|file| {
            compress::skip_reason(file)
                .filter(|r| *r != LeftOut::Deleted)
                .map(|r| (file, r))
        })
        .map(|(file, reason)| format!("{} ({})", file.path, reason_text(reason)))
        .collect();
    let mut context = base.clone();
    context.left_out = known_left;
    let overhead = prompt::build(task, &context, "")?.count(tokenizer);
    let mut diff_budget = budget.saturating_sub(overhead);
    // The names of files left out for the budget go into the prompt too; when they push it over,
    // shrink the diff budget by the excess and compress again (bounded).
    for _ in 0..4 {
        let compression = compress::compress(files, tokenizer, diff_budget, max_chunks);
        let mut context = base.clone();
        context.left_out = compression
            .files
            .iter()
            .filter_map(|file| match file.inclusion {
                Inclusion::Left(LeftOut::Deleted) => None,
                Inclusion::Left(reason) => Some(format!("{} ({})", file.path, reason_text(reason))),
                _ => None,
            })
            .collect();
        let fixed = prompt::build(task, &context, "")?.count(tokenizer);
        let mut prompts = Vec::new();
        let mut accounted = Vec::new();
        let mut worst = 0;
        for chunk in &compression.chunks {
            let built = prompt::build(task, &context, &chunk.text)?;
            worst = worst.max(built.count(tokenizer));
            accounted.push(fixed + chunk.tokens);
            prompts.push(built);
        }
        if worst <= budget || diff_budget == 0 {
            return Ok(PlannedPrompts {
                task,
                prompts,
                compression,
                accounted,
                budget,
            });
        }
        diff_budget = diff_budget.saturating_sub(worst - budget);
    }
    Err(format!(
        "the prompt does not fit a budget of {budget} tokens even without the diff; raise token_budget or lower output_reserve"
    ))
}
