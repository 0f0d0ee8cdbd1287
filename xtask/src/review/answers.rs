//! The model's answers to one task's calls, merged into what is posted: the description section,
//! the review comment with its labels, the suggestions comment with the committable suggestions.
//! Pure: the command asks the model and writes the result.

use std::collections::BTreeSet;

use super::PlannedPrompts;
use super::diff::FileDiff;
use super::findings::{self, Description, Known, Review, Suggestion};
use super::headings::Headings;
use super::increment::{Since, State};
use super::prompt::Task;
use super::render::{self, Footer, Links, PlacedSuggestion, Progress};
use super::suggestion::{self, Committable};

/// What the model produced, rendered.
#[derive(Debug, Clone, Default)]
pub struct Outputs {
    /// Our section of the PR body (merged into the body as it is when it is written).
    pub describe: Option<String>,
    /// The review comment and the labels it sets.
    pub review: Option<(String, Vec<String>)>,
    pub improve: Option<Improved>,
}

/// The suggestions comment and the suggestions behind it.
#[derive(Debug, Clone, Default)]
pub struct Improved {
    pub text: String,
    /// This run's suggestions: ranked, at most `max_suggestions`, each with whether its lines
    /// lie in one hunk.
    pub placed: Vec<PlacedSuggestion>,
    /// An earlier run's suggestions the new commits left alone (an incremental review): shown,
    /// never posted inline again.
    pub carried: Vec<PlacedSuggestion>,
    pub progress: Progress,
    pub footer: Footer,
}

impl Improved {
    /// The committable suggestions, for the inline review.
    pub fn committables(&self) -> Vec<Committable> {
        self.placed
            .iter()
            .filter(|placed| placed.committable)
            .map(|placed| render::committable(&placed.suggestion))
            .collect()
    }

    /// Those of `committables` not posted yet, given our suggestion comments (id, body) already on
    /// the pull request. Outdated ones are left where they are (a reviewer may have answered them).
    pub fn not_posted(&self, existing: &[(u64, String)]) -> Vec<Committable> {
        let wanted = self.committables();
        suggestion::reconcile(render::SUGGESTION_MARKER_PREFIX, &wanted, existing)
            .new
            .into_iter()
            .map(|index| wanted[index].clone())
            .collect()
    }

    /// The comment with every suggestion shown as a diff in the table, for when GitHub refused
    /// the inline review (the pull request moved on since it was read).
    pub fn without_inline(&self, links: &Links, headings: &Headings) -> String {
        let placed: Vec<PlacedSuggestion> = self
            .placed
            .iter()
            .chain(&self.carried)
            .map(|placed| PlacedSuggestion {
                suggestion: placed.suggestion.clone(),
                committable: false,
            })
            .collect();
        render::improve(&placed, &self.progress, links, headings, &self.footer)
    }
}

/// The limits of what is kept from the answers.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_findings: usize,
    pub max_suggestions: usize,
}

/// The files an answer may name: those whose diff was sent.
pub fn known_files(prompts: &PlannedPrompts) -> BTreeSet<String> {
    prompts
        .compression
        .files
        .iter()
        .filter(|file| file.chunk.is_some())
        .map(|file| file.path.clone())
        .collect()
}

/// An earlier review of the same pull request, for a review of the commits since.
#[derive(Debug, Clone)]
pub struct Earlier {
    pub state: State,
    pub since: Since,
}

/// Merges the answers (`texts`, one per call) of `prompts.task` into `outputs`. `footer` carries
/// the model and the truncation of the calls; what validation drops is added to it. `files` is
/// the whole pull request's diff (suggestions are committable inside its hunks); `earlier`, for
/// an incremental review, the findings to carry over or mark resolved. An error says why nothing
/// usable came back.
#[allow(clippy::too_many_arguments)]
pub fn merge(
    prompts: &PlannedPrompts,
    texts: &[&str],
    files: &[FileDiff],
    earlier: Option<&Earlier>,
    limits: Limits,
    links: &Links,
    headings: &Headings,
    mut footer: Footer,
    outputs: &mut Outputs,
) -> Result<(), String> {
    let mut progress = Progress {
        since: earlier.map(|earlier| earlier.since.head.clone()),
        ..Progress::default()
    };
    let mut state = State {
        head: links.head_sha.clone(),
        ..State::default()
    };
    let state_line = |state: &State| {
        if state.head.is_empty() {
            String::new()
        } else {
            state.line()
        }
    };
    let known_files = known_files(prompts);
    let known = Known {
        files: &known_files,
    };
    match prompts.task {
        // One answer, to one question: read by `review::ask::answer`, posted as a reply.
        Task::Ask => return Err("an /ask answer is not a review output".to_owned()),
        Task::Describe => {
            let mut described = Description::default();
            for text in texts {
                let parsed = findings::description(text, &known)?;
                footer.dropped.extend(parsed.dropped);
                described = parsed.value;
            }
            outputs.describe = Some(render::description(
                &described,
                &prompts.compression.files,
                headings,
                &footer,
            ));
        }
        Task::Review => {
            let mut reviewed = Review::default();
            for text in texts {
                let parsed = findings::review(text, &known, limits.max_findings)?;
                footer.dropped.extend(parsed.dropped);
                reviewed = parsed.value;
            }
            let labels = render::labels(&reviewed);
            progress.fresh = reviewed.key_issues.len();
            if let Some(earlier) = earlier {
                let (kept, resolved) = earlier.since.issues(&earlier.state.issues);
                reviewed.key_issues.extend(kept);
                progress.resolved = resolved
                    .into_iter()
                    .map(|issue| (issue.file, issue.title))
                    .collect();
            }
            state.issues = reviewed.key_issues.clone();
            progress.state_line = state_line(&state);
            let text = render::review(&reviewed, &progress, links, headings, &footer);
            outputs.review = Some((text, labels));
        }
        Task::Improve => {
            let mut all = Vec::new();
            let mut failures = Vec::new();
            for text in texts {
                // One unreadable call of several loses its part, not the whole run.
                match findings::suggestions(text, &known) {
                    Ok(parsed) => {
                        footer.dropped.extend(parsed.dropped);
                        all.extend(parsed.value);
                    }
                    Err(why) => failures.push(why),
                }
            }
            if all.is_empty() && !failures.is_empty() && failures.len() == texts.len() {
                return Err(failures.join("; "));
            }
            footer.dropped.extend(
                failures
                    .into_iter()
                    .map(|why| format!("one call's answer: {why}")),
            );
            let placed = place(rank(all, limits.max_suggestions), files);
            let mut carried = Vec::new();
            progress.fresh = placed.len();
            if let Some(earlier) = earlier {
                let (kept, resolved) = earlier.since.suggestions(&earlier.state.suggestions);
                let kept: Vec<Suggestion> = kept
                    .into_iter()
                    .filter(|old| !placed.iter().any(|new| new.suggestion == *old))
                    .collect();
                carried = place(kept, files);
                progress.resolved = resolved
                    .into_iter()
                    .map(|suggestion| (suggestion.file, suggestion.summary))
                    .collect();
            }
            state.suggestions = placed
                .iter()
                .chain(&carried)
                .map(|placed| placed.suggestion.clone())
                .collect();
            progress.state_line = state_line(&state);
            let shown: Vec<PlacedSuggestion> = placed.iter().chain(&carried).cloned().collect();
            outputs.improve = Some(Improved {
                text: render::improve(&shown, &progress, links, headings, &footer),
                placed,
                carried,
                progress,
                footer,
            });
        }
    }
    Ok(())
}

/// The best `max` suggestions: highest score first, then by label.
pub fn rank(mut suggestions: Vec<Suggestion>, max: usize) -> Vec<Suggestion> {
    suggestions.sort_by(|a, b| b.score.cmp(&a.score).then(a.label.cmp(&b.label)));
    suggestions.truncate(max);
    suggestions
}

/// Each suggestion with whether its lines lie in one hunk of its file (then it is committable).
pub fn place(suggestions: Vec<Suggestion>, files: &[FileDiff]) -> Vec<PlacedSuggestion> {
    suggestions
        .into_iter()
        .map(|suggestion| {
            let committable = files
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
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::diff::{FileStatus, parse_patch};
    use crate::review::findings::Label;

    fn suggestion(file: &str, lines: (u32, u32), label: Label, score: u8) -> Suggestion {
        Suggestion {
            file: file.to_owned(),
            start_line: lines.0,
            end_line: lines.1,
            label,
            score,
            summary: "s".to_owned(),
            existing_code: "a".to_owned(),
            improved_code: "b".to_owned(),
        }
    }

    #[test]
    fn ranked_by_score_then_label_and_placed_by_hunk() {
        let ranked = rank(
            vec![
                suggestion("a.tf", (1, 1), Label::General, 5),
                suggestion("a.tf", (2, 3), Label::Security, 5),
                suggestion("a.tf", (9, 9), Label::PossibleBug, 9),
                suggestion("b.tf", (1, 1), Label::Security, 1),
            ],
            3,
        );
        let order: Vec<(u8, Label)> = ranked.iter().map(|s| (s.score, s.label)).collect();
        assert_eq!(
            order,
            [
                (9, Label::PossibleBug),
                (5, Label::Security),
                (5, Label::General)
            ]
        );
        let files = [parse_patch(
            FileDiff::new("a.tf", FileStatus::Modified),
            "@@ -1,3 +1,3 @@\n a\n-b\n+c\n d",
        )];
        let committable: Vec<bool> = place(ranked, &files)
            .iter()
            .map(|p| p.committable)
            .collect();
        assert_eq!(committable, [false, true, true]);
    }

    #[test]
    fn only_suggestions_not_posted_yet_are_posted() {
        let placed = place(
            vec![
                suggestion("a.tf", (1, 1), Label::General, 5),
                suggestion("a.tf", (2, 2), Label::General, 5),
            ],
            &[parse_patch(
                FileDiff::new("a.tf", FileStatus::Modified),
                "@@ -1,2 +1,2 @@\n-a\n-b\n+c\n+d",
            )],
        );
        let improved = Improved {
            placed,
            ..Improved::default()
        };
        let first = improved.committables();
        let existing = [
            (7, first[0].body.clone()),
            (
                8,
                format!("{}ffff -->\nold", render::SUGGESTION_MARKER_PREFIX),
            ),
        ];
        let new = improved.not_posted(&existing);
        assert_eq!(new, [first[1].clone()]);
    }
}
