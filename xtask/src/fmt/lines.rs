//! fmt changes from a file as committed and `terraform fmt`'s output for it, compared line by
//! line. Pure.
//!
//! `terraform fmt` changes what is inside lines (indentation, alignment, spacing, `"${x}"` to
//! `x`) but not the number of lines, so line N of the formatted text is what line N becomes. Each
//! run of differing lines is one suggestion replacing exactly those lines with fmt's, which is
//! valid HCL committed on its own or with any of the others. A line diff of the two texts (what
//! `terraform fmt -diff` prints) does not have that property: it may pair a re-indented `}` with
//! another `}` further down and show "add `}` here, delete `}` there" as two blocks, each of
//! which breaks the file alone.
//!
//! Line endings and the final newline are the file's own and are kept: fmt writes a final newline
//! that a file may lack, which is not suggested (a file whose only difference is that gets an
//! annotation). Should fmt ever change the number of lines, everything between the common first
//! and last lines becomes one suggestion, so it still applies alone.

/// One run of changed lines in a file: replace lines `start..=end` with `replacement`. `removed`
/// empty: nothing to suggest, annotate only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    /// First and last replaced line of the current file (1-based, inclusive).
    pub start: u32,
    pub end: u32,
    pub removed: Vec<String>,
    pub replacement: Vec<String>,
}

/// A 0-based line index or count as a 1-based line number (a file has far fewer than u32::MAX lines).
fn number(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// A line's text and its ending: `"\r\n"`, `"\n"` or `""` (a last line without a newline).
fn lines(text: &str) -> Vec<(&str, &str)> {
    text.split_inclusive('\n')
        .map(|line| {
            if let Some(content) = line.strip_suffix("\r\n") {
                (content, "\r\n")
            } else if let Some(content) = line.strip_suffix('\n') {
                (content, "\n")
            } else {
                (line, "")
            }
        })
        .collect()
}

fn change(
    path: &str,
    first: usize,
    removed: &[(&str, &str)],
    replacement: &[(&str, &str)],
) -> Change {
    Change {
        path: path.to_owned(),
        start: number(first).saturating_add(1),
        end: number(first + removed.len()),
        removed: removed.iter().map(|(text, _)| (*text).to_owned()).collect(),
        replacement: replacement
            .iter()
            .map(|(text, _)| (*text).to_owned())
            .collect(),
    }
}

/// The suggestions that turn `head` (the file at `path` as committed) into `formatted`.
pub fn changes(path: &str, head: &str, formatted: &str) -> Vec<Change> {
    let old = lines(head);
    let new = lines(formatted);
    let mut out = Vec::new();
    if old.len() == new.len() {
        let mut index = 0;
        while index < old.len() {
            if old[index].0 == new[index].0 {
                index += 1;
                continue;
            }
            let start = index;
            while index < old.len() && old[index].0 != new[index].0 {
                index += 1;
            }
            out.push(change(path, start, &old[start..index], &new[start..index]));
        }
    } else if !old.is_empty() {
        let shorter = old.len().min(new.len());
        let prefix = (0..shorter)
            .take_while(|&index| old[index].0 == new[index].0)
            .count();
        let mut suffix = (0..shorter - prefix)
            .take_while(|&back| old[old.len() - 1 - back].0 == new[new.len() - 1 - back].0)
            .count();
        let mut start = prefix;
        // Neither side may be empty: an empty suggestion body does not delete, and an insertion
        // needs a line to stand on. Take in the (equal) line above, or below at the top.
        if start > 0 {
            start -= 1;
        } else {
            suffix = suffix.saturating_sub(1);
        }
        out.push(change(
            path,
            start,
            &old[start..old.len() - suffix],
            &new[start..new.len() - suffix],
        ));
    }
    if out.is_empty() && head != formatted {
        // Only the final newline or line endings differ: nothing to suggest, but still unformatted.
        let last = number(old.len().max(1));
        out.push(Change {
            path: path.to_owned(),
            start: last,
            end: last,
            removed: Vec::new(),
            replacement: Vec::new(),
        });
    }
    out
}

/// `head` with `changes` committed as GitHub commits suggestions: lines `start..=end` replaced by
/// the suggestion's lines. Each replaced line keeps its ending; added lines take the ending of
/// the last replaced line (the file's ending), the last one the ending that line had.
pub fn apply(head: &str, changes: &[Change]) -> String {
    let lines = lines(head);
    let mut sorted: Vec<&Change> = changes
        .iter()
        .filter(|change| !change.removed.is_empty())
        .collect();
    sorted.sort_by_key(|change| change.start);
    let mut out = String::with_capacity(head.len());
    let mut index = 0;
    for change in sorted {
        let start = usize::try_from(change.start.saturating_sub(1)).unwrap_or(usize::MAX);
        let end = usize::try_from(change.end).unwrap_or(usize::MAX);
        if start < index || end > lines.len() || start >= end {
            continue;
        }
        for (text, ending) in &lines[index..start] {
            out.push_str(text);
            out.push_str(ending);
        }
        let covered = &lines[start..end];
        let last_ending = covered.last().map_or("\n", |(_, ending)| *ending);
        let inner_ending = if last_ending.is_empty() {
            covered
                .iter()
                .rev()
                .map(|(_, ending)| *ending)
                .find(|ending| !ending.is_empty())
                .unwrap_or("\n")
        } else {
            last_ending
        };
        for (position, text) in change.replacement.iter().enumerate() {
            out.push_str(text);
            let ending = if position + 1 == change.replacement.len() {
                last_ending
            } else {
                match covered.get(position) {
                    Some((_, ending)) if !ending.is_empty() => ending,
                    _ => inner_ending,
                }
            };
            out.push_str(ending);
        }
        index = end;
    }
    for (text, ending) in &lines[index..] {
        out.push_str(text);
        out.push_str(ending);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_run_of_changed_lines_is_one_change_of_the_same_lines() {
        let head = "a {\n  x=1\n    y = 2\n}\n\nb {\n z = 3\n}\n";
        let formatted = "a {\n  x = 1\n  y = 2\n}\n\nb {\n  z = 3\n}\n";
        let changes = changes("f.tf", head, formatted);
        assert_eq!(changes.len(), 2);
        assert_eq!((changes[0].start, changes[0].end), (2, 3));
        assert_eq!(changes[0].replacement, ["  x = 1", "  y = 2"]);
        assert_eq!((changes[1].start, changes[1].end), (7, 7));
        assert_eq!(apply(head, &changes), formatted);
        for change in &changes {
            assert_eq!(change.removed.len(), change.replacement.len());
        }
    }

    #[test]
    fn crlf_and_a_missing_final_newline_are_kept() {
        let head = "a {\r\n  x=1\r\n}";
        let formatted = "a {\r\n  x = 1\r\n}\n";
        let changes = changes("f.tf", head, formatted);
        assert_eq!(changes.len(), 1);
        assert_eq!(apply(head, &changes), "a {\r\n  x = 1\r\n}");
        let last = changes_of_last_line();
        assert_eq!(apply(last.0, &last.1), "x {\n  a = 1 }");
    }

    fn changes_of_last_line() -> (&'static str, Vec<Change>) {
        let head = "x {\n  a=1 }";
        (head, changes("f.tf", head, "x {\n  a = 1 }\n"))
    }

    #[test]
    fn only_a_final_newline_missing_is_annotated_not_suggested() {
        let found = changes("f.tf", "a {}", "a {}\n");
        assert_eq!(found.len(), 1);
        assert!(found[0].removed.is_empty());
        assert!(changes("f.tf", "a {}\n", "a {}\n").is_empty());
        // fmt writes a newline into an empty file: no line to suggest on.
        let empty = changes("f.tf", "", "\n");
        assert_eq!(empty.len(), 1);
        assert!(empty[0].removed.is_empty());
        assert_eq!((empty[0].start, empty[0].end), (1, 1));
    }

    #[test]
    fn a_different_number_of_lines_is_one_change_with_both_sides_non_empty() {
        // Deleting blank lines (not something fmt does today).
        let head = "a {\n  x = 1\n\n\n  y = 2\n}\n";
        let formatted = "a {\n  x = 1\n\n  y = 2\n}\n";
        let changes = changes("f.tf", head, formatted);
        assert_eq!(changes.len(), 1);
        assert!(!changes[0].removed.is_empty() && !changes[0].replacement.is_empty());
        assert_eq!(apply(head, &changes), formatted);
        // Inserting at the very top.
        let changes = super::changes("f.tf", "b\n", "a\nb\n");
        assert_eq!((changes[0].start, changes[0].end), (1, 1));
        assert_eq!(changes[0].replacement, ["a", "b"]);
        assert_eq!(apply("b\n", &changes), "a\nb\n");
    }
}
