//! Unified diffs: `terraform fmt -diff` output and GitHub's per-file `patch`.

use std::collections::{BTreeMap, BTreeSet};

/// One run of changed lines in a file: replace old lines `start..=end` with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    /// First and last replaced line of the current file (1-based, inclusive).
    pub start: u64,
    pub end: u64,
    pub removed: Vec<String>,
    pub replacement: Vec<String>,
}

/// Parses `terraform fmt -check -diff` output (`--- old/PATH` / `+++ new/PATH` / hunks) into
/// change blocks: each run of `-`/`+` lines between context lines is one block.
pub fn fmt_changes(diff: &str) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut path: Option<String> = None;
    let mut old_line = 0u64;
    let mut previous_context: Option<(u64, String)> = None;
    let mut block: Option<Change> = None;

    let flush = |block: &mut Option<Change>, changes: &mut Vec<Change>| {
        if let Some(change) = block.take() {
            changes.push(change);
        }
    };

    for line in diff.lines() {
        if let Some(rest) = line.strip_prefix("--- old/") {
            flush(&mut block, &mut changes);
            path = Some(rest.to_owned());
            continue;
        }
        if line.starts_with("+++ new/") {
            continue;
        }
        if let Some(header) = line.strip_prefix("@@ ") {
            flush(&mut block, &mut changes);
            old_line = hunk_start(header).map_or(0, |(old, _)| old);
            previous_context = None;
            continue;
        }
        let Some(path) = path.as_ref() else { continue };
        if old_line == 0 {
            continue;
        }
        if let Some(removed) = line.strip_prefix('-') {
            let change = block.get_or_insert_with(|| Change {
                path: path.clone(),
                start: old_line,
                end: old_line,
                removed: Vec::new(),
                replacement: Vec::new(),
            });
            change.end = old_line;
            change.removed.push(removed.to_owned());
            old_line += 1;
        } else if let Some(added) = line.strip_prefix('+') {
            let change = block.get_or_insert_with(|| match &previous_context {
                // A pure insertion: anchor the suggestion on the line above it.
                Some((number, text)) => Change {
                    path: path.clone(),
                    start: *number,
                    end: *number,
                    removed: vec![text.clone()],
                    replacement: vec![text.clone()],
                },
                None => Change {
                    path: path.clone(),
                    start: old_line,
                    end: old_line,
                    removed: Vec::new(),
                    replacement: Vec::new(),
                },
            });
            change.replacement.push(added.to_owned());
        } else if line.starts_with(' ') || line.is_empty() {
            flush(&mut block, &mut changes);
            let text = line.strip_prefix(' ').unwrap_or("");
            previous_context = Some((old_line, text.to_owned()));
            old_line += 1;
        } else {
            // A file name line between files, or "\ No newline at end of file".
            flush(&mut block, &mut changes);
        }
    }
    flush(&mut block, &mut changes);
    // A block that only adds at the very top of a file has nothing to anchor on; it stays as an
    // annotation-only change with `removed` empty.
    changes
}

/// `-a,b +c,d @@ ...` -> (a, c).
fn hunk_start(header: &str) -> Option<(u64, u64)> {
    let mut parts = header.split_whitespace();
    let old = parts.next()?.strip_prefix('-')?;
    let new = parts.next()?.strip_prefix('+')?;
    let first = |range: &str| range.split(',').next()?.parse::<u64>().ok();
    Some((first(old)?, first(new)?))
}

/// The new-side (RIGHT) line numbers a review comment may point at, from GitHub's `patch` of
/// one file: added and context lines of every hunk.
pub fn commentable_lines(patch: &str) -> BTreeSet<u64> {
    let mut lines = BTreeSet::new();
    let mut new_line = 0u64;
    for line in patch.lines() {
        if let Some(header) = line.strip_prefix("@@ ") {
            new_line = hunk_start(header).map_or(0, |(_, new)| new);
            continue;
        }
        if new_line == 0 {
            continue;
        }
        if line.starts_with('+') || line.starts_with(' ') || line.is_empty() {
            lines.insert(new_line);
            new_line += 1;
        }
        // '-' lines exist only on the old side; '\' lines are notes.
    }
    lines
}

/// Per file path, the commentable lines of a pull request.
pub type DiffLines = BTreeMap<String, BTreeSet<u64>>;

#[cfg(test)]
mod tests {
    use super::*;

    const FMT_DIFF: &str = "environments/dev/main.tf\n--- old/environments/dev/main.tf\n+++ new/environments/dev/main.tf\n@@ -1,10 +1,10 @@\n resource \"terraform_data\" \"a\" {\n-  input = \"a\"\n-      triggers_replace = [\"x\"]\n+  input            = \"a\"\n+  triggers_replace = [\"x\"]\n }\n \n \n \n resource \"terraform_data\" \"b\" {\n-input=\"b\"\n+  input = \"b\"\n }\n";

    #[test]
    fn splits_hunks_into_blocks() {
        let changes = fmt_changes(FMT_DIFF);
        assert_eq!(changes.len(), 2);
        assert_eq!((changes[0].start, changes[0].end), (2, 3));
        assert_eq!(
            changes[0].replacement,
            ["  input            = \"a\"", "  triggers_replace = [\"x\"]"]
        );
        assert_eq!((changes[1].start, changes[1].end), (9, 9));
        assert_eq!(changes[1].path, "environments/dev/main.tf");
    }

    #[test]
    fn commentable_lines_of_a_patch() {
        let patch = "@@ -1,2 +1,3 @@\n a\n-b\n+c\n+d\n@@ -10,1 +11,2 @@\n x\n+y";
        assert_eq!(
            commentable_lines(patch).into_iter().collect::<Vec<_>>(),
            [1, 2, 3, 11, 12]
        );
    }
}
