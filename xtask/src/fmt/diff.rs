//! fmt changes and the lines of GitHub's per-file `patch` a suggestion may cover.
//!
//! The hunks are read by `review::diff` (which follows the hunk header's line counts); this module
//! used to count lines on its own and took lines past a hunk's end for context. The fmt `Change`
//! and review's `FileDiff` still describe diffs twice; they are to be merged.

use std::collections::{BTreeMap, BTreeSet};

use crate::review::diff::{FileDiff, FileStatus, parse_patch};

/// One run of changed lines in a file: replace lines `start..=end` with `replacement` (see
/// `fmt::lines`). `removed` empty: nothing to suggest, annotate only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    /// First and last replaced line of the current file (1-based, inclusive).
    pub start: u64,
    pub end: u64,
    pub removed: Vec<String>,
    pub replacement: Vec<String>,
}

/// The new-side (RIGHT) line numbers a review comment may point at, from GitHub's `patch` of
/// one file: added and context lines of every hunk, as far as the hunk header's counts reach
/// (read by `review::diff`, the parser that follows them).
pub fn commentable_lines(patch: &str) -> BTreeSet<u64> {
    let file = parse_patch(FileDiff::new(String::new(), FileStatus::Modified), patch);
    file.hunks
        .iter()
        .flat_map(|hunk| &hunk.lines)
        .filter_map(|line| line.new_line.map(u64::from))
        .collect()
}

/// Per file path, the commentable lines of a pull request.
pub type DiffLines = BTreeMap<String, BTreeSet<u64>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_a_hunks_end_are_not_commentable() {
        // A trailing blank line after the hunk's counted lines is not a context line.
        let patch = "@@ -1 +1 @@\n-a\n+b\n\n";
        assert_eq!(
            commentable_lines(patch).into_iter().collect::<Vec<_>>(),
            [1]
        );
        let patch = "@@ -1,2 +1,2 @@\n a\n-b\n+c\n d\n";
        assert_eq!(
            commentable_lines(patch).into_iter().collect::<Vec<_>>(),
            [1, 2]
        );
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
