//! Prompts and JSON schemas from `templates/review` (embedded in the binary), filled in with a
//! pull request's redacted text. Pure.
//!
//! Placeholders are `{{name}}`. Substitution is one pass over the template: the values (a diff may
//! contain `${{ secrets.X }}`) are never scanned for placeholders themselves.

use include_dir::{Dir, include_dir};

use super::compress::Selection;
use super::tokens::{MESSAGE_OVERHEAD, Tokenizer};
use crate::config::ExtraInstructions;

static TEMPLATES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../templates/review");

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Task {
    Describe,
    Review,
    Improve,
    /// `/ask`: answer a question about the pull request (see `review::ask`).
    Ask,
}

impl Task {
    pub fn name(self) -> &'static str {
        match self {
            Task::Describe => "describe",
            Task::Review => "review",
            Task::Improve => "improve",
            Task::Ask => "ask",
        }
    }
}

/// A template file's text.
pub fn template(name: &str) -> Result<&'static str, String> {
    TEMPLATES
        .get_file(name)
        .and_then(|file| file.contents_utf8())
        .ok_or_else(|| format!("templates/review/{name} is missing from the binary"))
}

/// The response schema of a task, from `templates/review/<task>.schema.json`.
pub fn schema(task: Task) -> Result<serde_json::Value, String> {
    let name = format!("{}.schema.json", task.name());
    serde_json::from_str(template(&name)?)
        .map_err(|error| format!("templates/review/{name}: {error}"))
}

/// Fills `{{name}}` placeholders; an unknown placeholder is an error (a template typo must not
/// reach a model as literal braces).
pub fn fill(template_text: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::with_capacity(
        template_text.len() + values.iter().map(|(_, v)| v.len()).sum::<usize>(),
    );
    let mut rest = template_text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err("unterminated `{{` in a template".to_owned());
        };
        let name = after[..end].trim();
        let value = values
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| *value)
            .ok_or_else(|| format!("unknown placeholder `{{{{{name}}}}}` in a template"))?;
        out.push_str(value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The English name of a BCP 47 tag's language, for the instruction to the model.
pub fn language_name(tag: &str) -> &str {
    match tag
        .split(['-', '_'])
        .next()
        .unwrap_or(tag)
        .to_ascii_lowercase()
        .as_str()
    {
        "en" => "English",
        "ja" => "Japanese",
        "ko" => "Korean",
        "zh" => "Chinese",
        "de" => "German",
        "fr" => "French",
        "es" => "Spanish",
        "pt" => "Portuguese",
        _ => tag,
    }
}

/// What the prompt says about the pull request besides the diff; all of it already redacted.
#[derive(Debug, Clone, Default)]
pub struct PromptContext {
    pub title: String,
    pub branch: String,
    pub body: String,
    /// The rendered plan section (see `plan_summary::render`).
    pub plan: String,
    /// Where secrets were redacted, one per line.
    pub redactions: Vec<String>,
    /// Files left out of this call, with why, one per line.
    pub left_out: Vec<String>,
    /// What steers which files enter the budget (`review.ignore`, the plan's files).
    pub selection: Selection,
    /// The repository's `review.extra_instructions`.
    pub extra_instructions: ExtraInstructions,
    pub language: String,
    pub max_findings: u32,
    pub max_suggestions: u32,
}

/// A prompt ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub system: String,
    pub user: String,
}

impl Prompt {
    /// What the tokenizer counts for the whole request.
    pub fn count(&self, tokenizer: &Tokenizer) -> usize {
        tokenizer.count(&self.system) + tokenizer.count(&self.user) + 2 * MESSAGE_OVERHEAD
    }
}

/// Builds the prompt of `task` around `diff`.
pub fn build(task: Task, context: &PromptContext, diff: &str) -> Result<Prompt, String> {
    let max_findings = context.max_findings.to_string();
    let max_suggestions = context.max_suggestions.to_string();
    let task_text = fill(
        template(&format!("{}.md", task.name()))?,
        &[
            ("max_findings", &max_findings),
            ("max_suggestions", &max_suggestions),
        ],
    )?;
    let extra = context.extra_instructions.for_tool(task.name()).trim();
    let task_text = if extra.is_empty() {
        task_text
    } else {
        format!("{task_text}\n\n## Instructions of this repository\n{extra}\n")
    };
    let system = fill(
        template("system.md")?,
        &[
            ("language", &context.language),
            ("language_name", language_name(&context.language)),
            ("task", &task_text),
        ],
    )?;
    let redactions = if context.redactions.is_empty() {
        String::new()
    } else {
        let mut text = String::from(
            "## Redactions\nSecrets were replaced by [REDACTED:kind] before sending:\n",
        );
        for line in &context.redactions {
            text.push_str("- ");
            text.push_str(line);
            text.push('\n');
        }
        text.push('\n');
        text
    };
    let coverage = if context.left_out.is_empty() {
        String::new()
    } else {
        let mut text = String::from("## Files not shown in this diff\n");
        for line in &context.left_out {
            text.push_str("- ");
            text.push_str(line);
            text.push('\n');
        }
        text.push('\n');
        text
    };
    let body = if context.body.trim().is_empty() {
        "(empty)"
    } else {
        context.body.trim()
    };
    let user = fill(
        template("user.md")?,
        &[
            ("title", &context.title),
            ("branch", &context.branch),
            ("body", body),
            ("plan", &context.plan),
            ("redactions", &redactions),
            ("coverage", &coverage),
            ("diff", diff),
        ],
    )?;
    Ok(Prompt { system, user })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_not_rescanned() {
        let out = fill("a {{x}} b", &[("x", "${{ secrets.T }}")]).unwrap();
        assert_eq!(out, "a ${{ secrets.T }} b");
        assert!(fill("{{nope}}", &[]).is_err());
    }

    #[test]
    fn the_language_reaches_the_system_prompt() {
        let context = PromptContext {
            language: "ja-JP".to_owned(),
            ..PromptContext::default()
        };
        let prompt = build(Task::Review, &context, "").unwrap();
        assert!(
            prompt
                .system
                .contains("Write every human-readable text value in Japanese (ja-JP)")
        );
    }

    #[test]
    fn extra_instructions_reach_only_their_tool() {
        let context = PromptContext {
            extra_instructions: ExtraInstructions {
                review: "Flag any IAM wildcard.".to_owned(),
                ..ExtraInstructions::default()
            },
            ..PromptContext::default()
        };
        let review = build(Task::Review, &context, "").unwrap();
        assert!(
            review.system.contains("Flag any IAM wildcard."),
            "{}",
            review.system
        );
        let describe = build(Task::Describe, &context, "").unwrap();
        assert!(
            !describe.system.contains("IAM wildcard"),
            "{}",
            describe.system
        );
        assert!(!describe.user.contains("IAM wildcard"));
    }

    #[test]
    fn every_task_has_a_template_and_a_schema() {
        for task in [Task::Describe, Task::Review, Task::Improve, Task::Ask] {
            build(task, &PromptContext::default(), "").unwrap();
            assert!(schema(task).unwrap().is_object());
        }
    }
}
