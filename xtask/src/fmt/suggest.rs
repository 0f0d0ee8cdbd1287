//! Turns fmt change blocks into committable suggestions limited to a pull request's diff.

use super::lines::Change;
use crate::review::diff::FileDiff;
use crate::review::suggestion::{self, Committable};

/// GitHub reviews get unwieldy beyond this; the rest become annotations.
pub const MAX_SUGGESTIONS: usize = 30;
/// The hidden marker of our suggestion comments; the fingerprint follows it.
pub const MARKER: &str = "<!-- xtask:fmt fp=";

/// Where the fmt changes of a pull request go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// New suggestions to post in one review.
    pub post: Vec<Committable>,
    /// Changes outside the diff (or beyond the limit): annotations instead.
    pub annotate: Vec<Change>,
    /// Existing suggestion comments that no longer match a change.
    pub delete: Vec<u64>,
    /// Existing suggestion comments that still apply (not posted again).
    pub kept: usize,
}

/// A stable id of a suggestion: file, lines and replacement.
pub fn fingerprint(change: &Change) -> String {
    let lines = format!(":{}:{}\n", change.start, change.end);
    let mut parts: Vec<&[u8]> = vec![change.path.as_bytes(), lines.as_bytes()];
    for line in &change.replacement {
        parts.push(line.as_bytes());
        parts.push(b"\n");
    }
    suggestion::fingerprint(&parts)
}

/// The suggestion comment of `change`.
pub fn committable(change: &Change) -> Committable {
    let lines = if change.start == change.end {
        format!("line {}", change.start)
    } else {
        format!("lines {}-{}", change.start, change.end)
    };
    let replacement = change.replacement.join("\n");
    Committable::new(
        MARKER,
        &change.path,
        (change.start, change.end),
        fingerprint(change),
        &format!("`terraform fmt` would format {lines}:"),
        // An empty suggestion deletes the lines; an empty line would replace them with one.
        (!change.replacement.is_empty()).then_some(replacement.as_str()),
    )
}

/// Decides what to post, annotate and delete. `files` is the pull request's diff; `existing`
/// holds (comment id, body) of our suggestion comments already on it.
pub fn place(changes: &[Change], files: &[FileDiff], existing: &[(u64, String)]) -> Placement {
    let mut result = Placement::default();
    let mut wanted = Vec::new();
    for change in changes {
        let inside = !change.removed.is_empty()
            && files
                .iter()
                .find(|file| file.path == change.path)
                .is_some_and(|file| file.lines_in_one_hunk(&(change.start..=change.end)));
        if inside {
            wanted.push((change, committable(change)));
        } else {
            result.annotate.push(change.clone());
        }
    }
    let committables: Vec<Committable> = wanted.iter().map(|(_, c)| c.clone()).collect();
    let reconciled = suggestion::reconcile(MARKER, &committables, existing);
    result.delete = reconciled.outdated;
    result.kept = reconciled.kept.len();
    for (index, (change, committable)) in wanted.into_iter().enumerate() {
        if reconciled.kept.contains(&index) {
            continue;
        }
        if result.post.len() + result.kept < MAX_SUGGESTIONS {
            result.post.push(committable);
        } else {
            result.annotate.push(change.clone());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::review::diff::{FileStatus, parse_patch};

    fn change(path: &str, start: u32, end: u32, text: &str) -> Change {
        Change {
            path: path.into(),
            start,
            end,
            removed: vec!["x".into(); (end - start + 1) as usize],
            replacement: vec![text.into()],
        }
    }

    fn file(path: &str, patch: &str) -> FileDiff {
        parse_patch(FileDiff::new(path, FileStatus::Modified), patch)
    }

    #[test]
    fn inside_outside_kept_and_outdated() {
        let files = [file(
            "a.tf",
            "@@ -1,3 +1,3 @@\n a\n-b\n+b\n c\n@@ -10 +10 @@\n-d\n+d\n",
        )];
        let inside = change("a.tf", 2, 3, "  x = 1");
        let outside = change("a.tf", 9, 10, "  y = 2");
        let other_file = change("b.tf", 1, 1, "z");
        let kept = change("a.tf", 1, 1, "k");
        let existing = vec![
            (100, committable(&kept).body),
            (101, format!("{MARKER}deadbeef -->\nold")),
            (102, "a human comment".to_owned()),
        ];
        let result = place(
            &[inside.clone(), outside.clone(), other_file.clone(), kept],
            &files,
            &existing,
        );
        assert_eq!(result.post.len(), 1);
        assert_eq!((result.post[0].start, result.post[0].end), (2, 3));
        assert_eq!(result.post[0].fingerprint, fingerprint(&inside));
        assert!(result.post[0].body.contains("```suggestion\n  x = 1\n```"));
        assert_eq!(result.annotate, [outside, other_file]);
        assert_eq!(result.delete, [101]);
        assert_eq!(result.kept, 1);
    }

    #[test]
    fn the_body_and_fingerprint_are_those_fmt_always_posted() {
        // Comments already on pull requests must still be recognised.
        let body = committable(&change("a.tf", 2, 3, "  x = 1")).body;
        insta::assert_snapshot!(body, @r"
        <!-- xtask:fmt fp=cd78fec0b02de2a1 -->
        `terraform fmt` would format lines 2-3:

        ```suggestion
          x = 1
        ```
        ");
    }

    #[test]
    fn an_empty_replacement_deletes_and_an_empty_line_is_kept() {
        let mut deletion = change("a.tf", 3, 3, "");
        assert!(committable(&deletion).body.contains("```suggestion\n\n```"));
        deletion.replacement.clear();
        assert!(
            committable(&deletion)
                .body
                .ends_with("```suggestion\n```\n")
        );
    }

    #[test]
    fn at_most_thirty() {
        let patch = format!(
            "@@ -1,100 +1,100 @@\n{}",
            (1..=100).map(|i| format!(" {i}\n")).collect::<String>()
        );
        let files = [file("a.tf", &patch)];
        let changes: Vec<Change> = (1..=40).map(|i| change("a.tf", i, i, "x")).collect();
        let result = place(&changes, &files, &[]);
        assert_eq!(result.post.len(), MAX_SUGGESTIONS);
        assert_eq!(result.annotate.len(), 10);
    }
}
