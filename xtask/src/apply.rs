//! Whether `cargo xtask apply` may apply the merged commit's saved plan, and how the outcome is
//! told (the PR's plan comment, the job summary). Pure: the command runs terraform and GitHub.
//!
//! The rule: apply only a saved plan of the merged commit whose change-set digest equals the one
//! our plan comment on the merged pull request carries, or the digest a maintainer accepted
//! explicitly (`--accept`). Anything else applies nothing.

use std::fmt::Write as _;

use crate::markdown::code_span as code;
use crate::plan::digest::{Difference, Stamp};
use crate::plan::mask::Masker;

/// What was reviewed, as found on GitHub.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reviewed {
    /// Our plan comment for the environment on the merged pull request, with its stamp.
    Found { pr: u64, stamp: Stamp },
    /// The commit merged no pull request (a direct push).
    NoPullRequest,
    /// The pull request has no plan comment of ours for the environment (or one without digest).
    NoPlanComment { pr: u64 },
}

/// Why an apply is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    DirectPush,
    NoReviewedPlan {
        pr: u64,
    },
    /// The merged plan is not the reviewed one.
    Differs {
        pr: u64,
        difference: Difference,
    },
    /// `--accept` named a digest that is not the merged plan's.
    AcceptedOther {
        accepted: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Apply the saved plan; `accepted` when a maintainer's `--accept` allowed it.
    Apply {
        accepted: bool,
    },
    /// The merged plan changes nothing: there is nothing to apply.
    NothingToApply,
    Refuse(Refusal),
}

/// Decides from what was reviewed, the merged plan's digest, whether it changes anything, the
/// difference to the reviewed stamp (computed by the caller when there is one) and `--accept`.
pub fn decide(
    reviewed: &Reviewed,
    merged_digest: &str,
    merged_changes: bool,
    difference: impl FnOnce(&Stamp) -> Difference,
    accept: Option<&str>,
) -> Decision {
    if let Some(accepted) = accept {
        return if accepted == merged_digest {
            Decision::Apply { accepted: true }
        } else {
            Decision::Refuse(Refusal::AcceptedOther {
                accepted: accepted.to_owned(),
            })
        };
    }
    if !merged_changes {
        return Decision::NothingToApply;
    }
    match reviewed {
        Reviewed::NoPullRequest => Decision::Refuse(Refusal::DirectPush),
        Reviewed::NoPlanComment { pr } => Decision::Refuse(Refusal::NoReviewedPlan { pr: *pr }),
        Reviewed::Found { stamp, .. } if stamp.digest == merged_digest => {
            Decision::Apply { accepted: false }
        }
        Reviewed::Found { pr, stamp } => Decision::Refuse(Refusal::Differs {
            pr: *pr,
            difference: difference(stamp),
        }),
    }
}

/// How it ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied {
        accepted: bool,
    },
    NothingToApply,
    NotApplied(Refusal),
    /// Terraform refused or failed (stale plan, held lock, apply error): its `Error:` blocks.
    Failed {
        errors: String,
    },
}

impl Outcome {
    /// The process exit code: 0 when applied or nothing to apply, 5 otherwise.
    pub fn exit_code(&self) -> i32 {
        match self {
            Outcome::Applied { .. } | Outcome::NothingToApply => 0,
            Outcome::NotApplied(_) | Outcome::Failed { .. } => 5,
        }
    }

    pub fn word(&self) -> &'static str {
        match self {
            Outcome::Applied { .. } => "applied",
            Outcome::NothingToApply => "nothing-to-apply",
            Outcome::NotApplied(_) => "not-applied",
            Outcome::Failed { .. } => "failed",
        }
    }
}

/// The marker of the outcome section at the end of our plan comment; values rendered into the
/// comment can never contain `<!--`, so the section is found only where we put it.
pub const SECTION_MARKER: &str = "<!-- xtask:apply -->";
/// Lines per list in the difference.
const LIST_LIMIT: usize = 30;

/// What the run was.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    pub env: &'a str,
    /// The merged commit (hex, checked by the caller).
    pub commit: &'a str,
    pub run_url: Option<&'a str>,
    pub merged_digest: &'a str,
}

/// The outcome section (for the plan comment and the job summary).
pub fn render(outcome: &Outcome, run: &Run, masker: &Masker) -> String {
    let short = &run.commit[..run.commit.len().min(12)];
    let link = run
        .run_url
        .map(|url| format!(" · [run]({url})"))
        .unwrap_or_default();
    let env = run.env;
    let mut out = format!("{SECTION_MARKER}\n---\n");
    match outcome {
        Outcome::Applied { accepted } => {
            let _ = writeln!(out, "### ✅ Applied `{env}` at `{short}`{link}\n");
            if *accepted {
                let _ = writeln!(
                    out,
                    "A maintainer accepted change set `{}`, which differs from the reviewed one.\n",
                    run.merged_digest
                );
            }
        }
        Outcome::NothingToApply => {
            let _ = writeln!(
                out,
                "### ✅ Nothing to apply in `{env}` at `{short}`{link}\n"
            );
        }
        Outcome::Failed { errors } => {
            let _ = writeln!(out, "### ❌ Apply failed in `{env}` at `{short}`{link}\n");
            out.push_str(&crate::markdown::code_block(
                "text",
                &masker.mask(errors.trim()),
            ));
            out.push('\n');
        }
        Outcome::NotApplied(refusal) => {
            let _ = writeln!(out, "### ⛔ Not applied in `{env}` at `{short}`{link}\n");
            out.push_str(&why(refusal, masker));
            let _ = writeln!(
                out,
                "\nThe merged commit's plan is change set `{}`. To apply it anyway, a maintainer runs the apply workflow for `{env}` with `accept` set to that digest, after reading the plan (re-run the plan on a pull request, or see this run's log); otherwise open a pull request that brings the plan back to what was reviewed.\n",
                run.merged_digest
            );
        }
    }
    out
}

fn why(refusal: &Refusal, masker: &Masker) -> String {
    match refusal {
        Refusal::DirectPush => {
            "The commit merged no pull request, so no plan of it was reviewed.\n".to_owned()
        }
        Refusal::NoReviewedPlan { pr } => format!(
            "Pull request #{pr} has no plan comment of ours with a change-set digest for this environment.\n"
        ),
        Refusal::AcceptedOther { accepted } => format!(
            "The accepted digest {} is not the merged commit's plan.\n",
            code(accepted)
        ),
        Refusal::Differs { pr, difference } => {
            let mut out = format!(
                "The plan of the merged commit is not the one reviewed on #{pr} (`main` moved, or the state changed, since the review).\n\n"
            );
            let addr = |address: &str| code(&masker.mask(address));
            let mut list = |title: &str, lines: Vec<String>| {
                if lines.is_empty() {
                    return;
                }
                let _ = writeln!(out, "**{title}** ({}):", lines.len());
                for line in lines.iter().take(LIST_LIMIT) {
                    let _ = writeln!(out, "- {line}");
                }
                if lines.len() > LIST_LIMIT {
                    let _ = writeln!(out, "- … and {} more", lines.len() - LIST_LIMIT);
                }
                out.push('\n');
            };
            list(
                "Added since review",
                difference
                    .added
                    .iter()
                    .map(|(a, actions)| format!("{} ({actions})", addr(a)))
                    .collect(),
            );
            list(
                "Changed since review",
                difference
                    .changed
                    .iter()
                    .map(|(a, actions, attributes)| {
                        let names: Vec<String> =
                            attributes.iter().map(|n| code(&masker.mask(n))).collect();
                        format!("{} ({actions}): {}", addr(a), names.join(", "))
                    })
                    .collect(),
            );
            let mut removed: Vec<String> = difference.removed.iter().map(|a| addr(a)).collect();
            if difference.removed_unnamed > 0 {
                removed.push(format!(
                    "{} resource(s) no longer in the plan",
                    difference.removed_unnamed
                ));
            }
            list("No longer planned", removed);
            list(
                "Outputs",
                difference
                    .outputs
                    .iter()
                    .map(|o| code(&masker.mask(o)))
                    .collect(),
            );
            if !difference.configuration.is_empty() {
                let _ = writeln!(
                    out,
                    "The {} changed in ways the resource changes do not show (provisioners, provider settings, input values).\n",
                    difference.configuration.join(" and ")
                );
            }
            if let Some((before, now)) = &difference.terraform_version {
                let _ = writeln!(
                    out,
                    "Terraform changed from {} to {}.\n",
                    code(before),
                    code(now)
                );
            }
            if difference.entries_unknown {
                out.push_str("The reviewed plan was too big to list its resources; only the digests were compared.\n");
            }
            out
        }
    }
}

/// Our plan comment with the outcome section replaced (or added): the plan as reviewed stays.
pub fn with_outcome(comment: &str, section: &str) -> String {
    let plan = comment
        .find(&format!("\n{SECTION_MARKER}"))
        .map_or(comment, |at| &comment[..at]);
    format!("{}\n{section}", plan.trim_end())
}

/// The machine-readable result (`--summary-json`).
pub fn summary_json(
    outcome: &Outcome,
    run: &Run,
    pr: Option<u64>,
    reviewed: Option<&str>,
) -> serde_json::Value {
    let reason = match outcome {
        Outcome::NotApplied(Refusal::DirectPush) => Some("direct-push"),
        Outcome::NotApplied(Refusal::NoReviewedPlan { .. }) => Some("no-reviewed-plan"),
        Outcome::NotApplied(Refusal::Differs { .. }) => Some("differs-from-review"),
        Outcome::NotApplied(Refusal::AcceptedOther { .. }) => Some("accepted-digest-differs"),
        _ => None,
    };
    serde_json::json!({
        "env": run.env,
        "commit": run.commit,
        "pull_request": pr,
        "outcome": outcome.word(),
        "reason": reason,
        "accepted": matches!(outcome, Outcome::Applied { accepted: true }),
        "reviewed_digest": reviewed,
        "merged_digest": run.merged_digest,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(digest: &str) -> Stamp {
        Stamp {
            digest: digest.to_owned(),
            terraform_version: None,
            entries: None,
        }
    }

    const A: &str = "sha256:aaaa";
    const B: &str = "sha256:bbbb";

    #[test]
    fn only_the_reviewed_or_the_accepted_digest_is_applied() {
        let found = Reviewed::Found {
            pr: 7,
            stamp: stamp(A),
        };
        let none = |_: &Stamp| Difference::default();
        assert_eq!(
            decide(&found, A, true, none, None),
            Decision::Apply { accepted: false }
        );
        assert!(matches!(
            decide(&found, B, true, none, None),
            Decision::Refuse(Refusal::Differs { pr: 7, .. })
        ));
        assert_eq!(
            decide(&found, B, true, none, Some(B)),
            Decision::Apply { accepted: true }
        );
        assert!(matches!(
            decide(&found, B, true, none, Some(A)),
            Decision::Refuse(Refusal::AcceptedOther { .. })
        ));
        assert_eq!(
            decide(&Reviewed::NoPullRequest, A, true, none, None),
            Decision::Refuse(Refusal::DirectPush)
        );
        assert_eq!(
            decide(&Reviewed::NoPlanComment { pr: 3 }, A, true, none, None),
            Decision::Refuse(Refusal::NoReviewedPlan { pr: 3 })
        );
        assert_eq!(
            decide(&Reviewed::NoPullRequest, A, false, none, None),
            Decision::NothingToApply
        );
    }

    #[test]
    fn outcome_sections() {
        let run = Run {
            env: "dev",
            commit: "0123456789abcdef0123",
            run_url: Some("https://github.com/acme/infra/actions/runs/42"),
            merged_digest: B,
        };
        let masker = Masker::default();
        let difference = Difference {
            added: vec![("terraform_data.c".into(), "create".into())],
            changed: vec![(
                "terraform_data.a".into(),
                "update".into(),
                vec!["input".into()],
            )],
            removed: vec!["terraform_data.b".into()],
            removed_unnamed: 1,
            ..Difference::default()
        };
        let mut all = String::new();
        for outcome in [
            Outcome::Applied { accepted: false },
            Outcome::Applied { accepted: true },
            Outcome::NothingToApply,
            Outcome::NotApplied(Refusal::DirectPush),
            Outcome::NotApplied(Refusal::Differs { pr: 7, difference }),
            Outcome::Failed {
                errors:
                    "Error: Saved plan is stale\n\nThe given plan file can no longer be applied."
                        .into(),
            },
        ] {
            all.push_str(&render(&outcome, &run, &masker));
            all.push_str("\n=====\n");
        }
        insta::assert_snapshot!(all);
    }

    #[test]
    fn the_outcome_replaces_the_previous_one_and_keeps_the_plan() {
        let plan = "<!-- xtask:plan env=dev -->\n## Plan\n";
        let once = with_outcome(plan, "<!-- xtask:apply -->\nfirst\n");
        let twice = with_outcome(&once, "<!-- xtask:apply -->\nsecond\n");
        assert_eq!(
            twice,
            "<!-- xtask:plan env=dev -->\n## Plan\n<!-- xtask:apply -->\nsecond\n"
        );
    }
}
