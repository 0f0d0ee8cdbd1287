//! Incremental review: what a comment of ours remembers (the head it reviewed, its findings), and
//! how those findings fare under the commits pushed since. Pure.
//!
//! The state is a hidden line right after our marker, so it is read only from a comment that is
//! ours (our bot, marker first; see `GitHub::is_ours`). Its JSON has `<`, `>`, `&`, `@` escaped, so
//! no text in it can end the HTML comment early, and model text never reaches it unescaped.

use serde::{Deserialize, Serialize};

use super::diff::{FileDiff, FileStatus, LineKind};
use super::findings::{KeyIssue, Suggestion};

const STATE_START: &str = "<!-- xtask-review:state ";
const STATE_END: &str = " -->";

/// What a review or suggestions comment remembers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// The head commit the comment reviewed.
    pub head: String,
    #[serde(default)]
    pub issues: Vec<KeyIssue>,
    #[serde(default)]
    pub suggestions: Vec<Suggestion>,
}

impl State {
    /// The hidden line that carries the state.
    pub fn line(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        // Inside JSON these characters occur only in strings, where the escapes mean the same.
        let json = json
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
            // Hidden, but not even a mention's text is kept as such.
            .replace('@', "\\u0040");
        format!("{STATE_START}{json}{STATE_END}")
    }

    /// The state in one of our comment bodies: the line right after `marker`.
    pub fn read(marker: &str, body: &str) -> Option<State> {
        let rest = body.strip_prefix(marker)?.strip_prefix('\n')?;
        let line = rest.lines().next()?;
        let json = line.strip_prefix(STATE_START)?.strip_suffix(STATE_END)?;
        serde_json::from_str(json).ok()
    }
}

/// What changed since the reviewed head, for the comments: `since` is that head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Since {
    pub head: String,
    /// The diff from the reviewed head to the new head.
    pub changes: Vec<FileDiff>,
}

impl Since {
    /// Where lines `start..=end` of `path` at the reviewed head are now: `None` when the new
    /// commits changed them (or removed the file), which counts as resolved.
    pub fn follow(&self, path: &str, start: u32, end: u32) -> Option<(String, u32, u32)> {
        let Some(file) = self
            .changes
            .iter()
            .find(|file| file.old_path.as_deref().unwrap_or(&file.path) == path)
        else {
            return Some((path.to_owned(), start, end));
        };
        if file.status == FileStatus::Deleted {
            return None;
        }
        let (start_at, end_at) = (i64::from(start), i64::from(end));
        let mut delta: i64 = 0;
        for hunk in &file.hunks {
            // A hunk that removes nothing inserts after its `old_start`.
            let mut old = i64::from(hunk.old_start) + i64::from(hunk.old_len == 0);
            for line in &hunk.lines {
                match line.kind {
                    LineKind::Context => old += 1,
                    LineKind::Removed => {
                        if (start_at..=end_at).contains(&old) {
                            return None;
                        }
                        if old < start_at {
                            delta -= 1;
                        }
                        old += 1;
                    }
                    // Inserted before old line `old`.
                    LineKind::Added => {
                        if old <= start_at {
                            delta += 1;
                        } else if old <= end_at {
                            return None;
                        }
                    }
                }
            }
        }
        let moved = |line: i64| u32::try_from(line + delta).unwrap_or(0);
        Some((file.path.clone(), moved(start_at), moved(end_at)))
    }

    /// The previous key issues: those still there (at their lines now), and those resolved.
    pub fn issues(&self, previous: &[KeyIssue]) -> (Vec<KeyIssue>, Vec<KeyIssue>) {
        let mut kept = Vec::new();
        let mut resolved = Vec::new();
        for issue in previous {
            match self.follow(&issue.file, issue.start_line, issue.end_line) {
                Some((file, start_line, end_line)) => kept.push(KeyIssue {
                    file,
                    start_line,
                    end_line,
                    ..issue.clone()
                }),
                None => resolved.push(issue.clone()),
            }
        }
        (kept, resolved)
    }

    /// The previous suggestions, the same way.
    pub fn suggestions(&self, previous: &[Suggestion]) -> (Vec<Suggestion>, Vec<Suggestion>) {
        let mut kept = Vec::new();
        let mut resolved = Vec::new();
        for suggestion in previous {
            match self.follow(&suggestion.file, suggestion.start_line, suggestion.end_line) {
                Some((file, start_line, end_line)) => kept.push(Suggestion {
                    file,
                    start_line,
                    end_line,
                    ..suggestion.clone()
                }),
                None => resolved.push(suggestion.clone()),
            }
        }
        (kept, resolved)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::diff::parse_patch;

    fn since(path: &str, patch: &str) -> Since {
        Since {
            head: "old".to_owned(),
            changes: vec![parse_patch(
                FileDiff::new(path, FileStatus::Modified),
                patch,
            )],
        }
    }

    #[test]
    fn lines_move_with_insertions_above_and_are_resolved_when_changed() {
        // Two lines added at the top, line 10 changed.
        let since = since("a.tf", "@@ -0,0 +1,2 @@\n+x\n+y\n@@ -10 +12 @@\n-old\n+new");
        assert_eq!(since.follow("a.tf", 4, 5), Some(("a.tf".to_owned(), 6, 7)));
        assert_eq!(since.follow("a.tf", 9, 10), None);
        assert_eq!(
            since.follow("a.tf", 11, 12),
            Some(("a.tf".to_owned(), 13, 14))
        );
        assert_eq!(since.follow("b.tf", 3, 3), Some(("b.tf".to_owned(), 3, 3)));
        // An insertion inside the range changes it.
        let inside = self::since("a.tf", "@@ -3,0 +4 @@\n+z");
        assert_eq!(inside.follow("a.tf", 3, 5), None);
        assert_eq!(inside.follow("a.tf", 4, 5), Some(("a.tf".to_owned(), 5, 6)));
    }

    #[test]
    fn the_state_line_round_trips_and_cannot_end_the_comment() {
        let state = State {
            head: "abc".to_owned(),
            issues: vec![KeyIssue {
                file: "main.tf".to_owned(),
                start_line: 1,
                end_line: 2,
                title: "--> <b>x</b> & more".to_owned(),
                issue: "i".to_owned(),
            }],
            suggestions: Vec::new(),
        };
        let line = state.line();
        assert_eq!(line.matches("-->").count(), 1, "{line}");
        assert!(!line.contains("<b>"));
        let body = format!("<!-- m -->\n{line}\n## text");
        assert_eq!(State::read("<!-- m -->", &body), Some(state));
        assert_eq!(State::read("<!-- other -->", &body), None);
        assert_eq!(
            State::read("<!-- m -->", &format!("<!-- m -->\ntext\n{line}")),
            None
        );
    }
}
