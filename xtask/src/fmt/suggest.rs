//! Turns fmt change blocks into review suggestions limited to a pull request's diff.

use sha2::{Digest, Sha256};

use super::diff::{Change, DiffLines};

/// GitHub reviews get unwieldy beyond this; the rest become annotations.
pub const MAX_SUGGESTIONS: usize = 30;
/// The hidden marker of our suggestion comments; the fingerprint follows it.
pub const MARKER: &str = "<!-- xtask:fmt fp=";

/// A suggestion ready to post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    pub change: Change,
    pub fingerprint: String,
    pub body: String,
}

/// What to do with the fmt changes of a pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// New suggestions to post in one review.
    pub post: Vec<Suggestion>,
    /// Changes outside the diff (or beyond the limit): annotations instead.
    pub annotate: Vec<Change>,
    /// Existing suggestion comments that no longer match a change.
    pub delete: Vec<u64>,
    /// Existing suggestion comments that still apply (not posted again).
    pub kept: usize,
}

/// A stable id of a suggestion: file, lines and replacement.
pub fn fingerprint(change: &Change) -> String {
    let mut hasher = Sha256::new();
    hasher.update(change.path.as_bytes());
    hasher.update(format!(":{}:{}\n", change.start, change.end).as_bytes());
    for line in &change.replacement {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    let digest = hasher.finalize();
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// The comment body: a committable suggestion plus the hidden fingerprint.
pub fn body(change: &Change, fingerprint: &str) -> String {
    let replacement = change.replacement.join("\n");
    let longest = replacement
        .split(|c| c != '`')
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    // An empty suggestion deletes the lines; "\n\n" would replace them with one empty line.
    let replacement = if change.replacement.is_empty() {
        String::new()
    } else {
        format!("{replacement}\n")
    };
    format!(
        "{MARKER}{fingerprint} -->\n`terraform fmt` would format {}:\n\n{fence}suggestion\n{replacement}{fence}\n",
        if change.start == change.end {
            format!("line {}", change.start)
        } else {
            format!("lines {}-{}", change.start, change.end)
        }
    )
}

/// The fingerprint in one of our comment bodies.
pub fn fingerprint_of(body: &str) -> Option<&str> {
    let start = body.find(MARKER)? + MARKER.len();
    let rest = &body[start..];
    rest.split_whitespace().next()
}

/// Decides what to post, annotate and delete. `existing` holds (comment id, body) of the review
/// comments already on the pull request.
pub fn plan(changes: &[Change], diff: &DiffLines, existing: &[(u64, String)]) -> Plan {
    let mut result = Plan::default();
    let mut wanted = Vec::new();
    for change in changes {
        let inside = !change.removed.is_empty()
            && diff
                .get(&change.path)
                .is_some_and(|lines| (change.start..=change.end).all(|line| lines.contains(&line)));
        if inside {
            wanted.push(change);
        } else {
            result.annotate.push(change.clone());
        }
    }
    let wanted_fingerprints: Vec<String> = wanted.iter().map(|c| fingerprint(c)).collect();
    let mut already = Vec::new();
    for (id, text) in existing {
        if let Some(fp) = fingerprint_of(text) {
            if wanted_fingerprints.iter().any(|w| w == fp) {
                already.push(fp.to_owned());
            } else {
                result.delete.push(*id);
            }
        }
    }
    for (change, fp) in wanted.into_iter().zip(wanted_fingerprints) {
        if already.contains(&fp) {
            result.kept += 1;
        } else if result.post.len() + result.kept < MAX_SUGGESTIONS {
            result.post.push(Suggestion {
                body: body(change, &fp),
                fingerprint: fp,
                change: change.clone(),
            });
        } else {
            result.annotate.push(change.clone());
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn change(path: &str, start: u64, end: u64, text: &str) -> Change {
        Change {
            path: path.into(),
            start,
            end,
            removed: vec!["x".into(); (end - start + 1) as usize],
            replacement: vec![text.into()],
        }
    }

    #[test]
    fn inside_outside_kept_and_outdated() {
        let diff = DiffLines::from([("a.tf".to_owned(), BTreeSet::from([1, 2, 3, 10]))]);
        let inside = change("a.tf", 2, 3, "  x = 1");
        let outside = change("a.tf", 9, 10, "  y = 2");
        let other_file = change("b.tf", 1, 1, "z");
        let kept = change("a.tf", 1, 1, "k");
        let existing = vec![
            (100, body(&kept, &fingerprint(&kept))),
            (101, format!("{MARKER}deadbeef -->\nold")),
            (102, "a human comment".to_owned()),
        ];
        let result = plan(
            &[inside.clone(), outside.clone(), other_file.clone(), kept],
            &diff,
            &existing,
        );
        assert_eq!(result.post.len(), 1);
        assert_eq!(result.post[0].change, inside);
        assert!(result.post[0].body.contains("```suggestion\n  x = 1\n```"));
        assert_eq!(result.annotate, [outside, other_file]);
        assert_eq!(result.delete, [101]);
        assert_eq!(result.kept, 1);
    }

    #[test]
    fn an_empty_replacement_deletes_and_an_empty_line_is_kept() {
        let mut deletion = change("a.tf", 3, 3, "");
        assert!(body(&deletion, "f").contains("```suggestion\n\n```"));
        deletion.replacement.clear();
        assert!(body(&deletion, "f").ends_with("```suggestion\n```\n"));
    }

    #[test]
    fn at_most_thirty() {
        let lines: BTreeSet<u64> = (1..=100).collect();
        let diff = DiffLines::from([("a.tf".to_owned(), lines)]);
        let changes: Vec<Change> = (1..=40).map(|i| change("a.tf", i, i, "x")).collect();
        let result = plan(&changes, &diff, &[]);
        assert_eq!(result.post.len(), MAX_SUGGESTIONS);
        assert_eq!(result.annotate.len(), 10);
    }
}
