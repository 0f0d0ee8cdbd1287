//! `/ask <question>`: who may ask, the question and its diff hunk as prompt context, the answer
//! read from the model and the reply rendered. Pure.
//!
//! The question is untrusted text from a person: it is redacted with everything else, goes into
//! the user message (never the system prompt), and the reply shows it inert.

use std::fmt::Write as _;

use super::findings;
use super::headings::Headings;
use super::render::{self, Footer};
use crate::markdown;

/// The hidden marker our replies start with (they are never taken for a question).
pub const ASK_MARKER: &str = "<!-- xtask-review:ask -->";

/// The `author_association`s that may ask: people with a role in the repository. Everyone else
/// (a first-time contributor, a drive-by commenter) is ignored, so no one outside spends the
/// team's model budget or steers it.
pub fn may_ask(author_association: &str) -> bool {
    matches!(author_association, "OWNER" | "MEMBER" | "COLLABORATOR")
}

/// The question of a comment that is an `/ask` command: the text after `/ask` (on its first line
/// and any below). `None` for any other comment or an empty question.
pub fn question(body: &str) -> Option<&str> {
    let rest = body.trim_start().strip_prefix("/ask")?;
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        // `/asking`, `/ask-me`: not the command.
        return None;
    }
    Some(rest.trim()).filter(|question| !question.is_empty())
}

/// Where a question on a diff line was asked: the file, the line and GitHub's `diff_hunk` (the
/// hunk up to that line), all redacted before they reach here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnLine {
    pub path: String,
    pub line: Option<u64>,
    pub diff_hunk: String,
}

/// The question for the prompt's context, before the plan section (so the budget counts it
/// among the fixed parts): the question, then the hunk it was asked on.
pub fn prompt_section(question: &str, on_line: Option<&OnLine>) -> String {
    let mut out = String::from("## Question\n");
    out.push_str(question.trim());
    out.push_str("\n\n");
    if let Some(on) = on_line {
        let line = on
            .line
            .map_or_else(String::new, |line| format!(", line {line}"));
        let fence = markdown::fence_for(&on.diff_hunk);
        let _ = writeln!(
            out,
            "## Asked on `{}`{line}, in this hunk\n{fence}diff\n{}\n{fence}\n",
            on.path.replace('`', "'"),
            on.diff_hunk.trim_end()
        );
    }
    out
}

/// The answer in the model's JSON (`{"answer": ...}`).
pub fn answer(text: &str) -> Result<String, String> {
    let (value, _) = findings::parse_json(text)?;
    value
        .get("answer")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .filter(|answer| !answer.trim().is_empty())
        .ok_or_else(|| "the answer has no `answer` text".to_owned())
}

/// The reply: the question quoted, the answer, the coverage and usage footer. Everything the
/// asker or the model wrote is inert.
pub fn reply(question: &str, answer: &str, headings: &Headings, footer: &Footer) -> String {
    let mut out = format!("{ASK_MARKER}\n");
    for line in question.trim().lines() {
        let _ = writeln!(out, "> {}", markdown::text(line));
    }
    out.push('\n');
    out.push_str(&render::prose_text(answer));
    out.push('\n');
    render::footer_text(&mut out, footer, headings);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_members_ask_and_only_with_a_question() {
        assert!(may_ask("OWNER") && may_ask("MEMBER") && may_ask("COLLABORATOR"));
        assert!(!may_ask("CONTRIBUTOR") && !may_ask("NONE") && !may_ask("FIRST_TIME_CONTRIBUTOR"));
        assert_eq!(question("/ask why a new role?"), Some("why a new role?"));
        assert_eq!(
            question("  /ask\nmultiline\nquestion "),
            Some("multiline\nquestion")
        );
        assert_eq!(question("/ask"), None);
        assert_eq!(question("/asking for a friend"), None);
        assert_eq!(question("please /ask this"), None);
    }

    #[test]
    fn the_reply_is_inert_and_the_hunk_reaches_the_prompt() {
        let headings = Headings::for_language("en").unwrap();
        let footer = Footer {
            provider: "OpenAI".to_owned(),
            model: "gpt-test".to_owned(),
            ..Footer::default()
        };
        let text = reply(
            "why <b>this</b> @acme/admins?",
            "- Because `x` <!-- xtask-review:review -->\n- and @someone",
            &headings,
            &footer,
        );
        insta::assert_snapshot!(text);
        let section = prompt_section(
            "why?",
            Some(&OnLine {
                path: "main.tf".to_owned(),
                line: Some(7),
                diff_hunk: "@@ -1,2 +1,3 @@\n a\n+b ```".to_owned(),
            }),
        );
        assert!(
            section
                .contains("## Asked on `main.tf`, line 7, in this hunk\n````diff\n@@ -1,2 +1,3 @@"),
            "{section}"
        );
        assert_eq!(answer(r#"{"answer": "yes"}"#).unwrap(), "yes");
        assert!(answer(r#"{"other": 1}"#).is_err());
    }
}
