//! Fits a pull request's diff into a token budget, the way PR-Agent does:
//!
//! - lock files, binaries and generated files (our own `.github` output and
//!   `environments/*/generated`) are left out by name; deleted files are listed by name only;
//! - when everything fits, every file goes in with the patch's context lines;
//! - when it does not, context is cut to one line around each change and files are taken largest
//!   first (the big changes are the ones worth reviewing), smaller ones filling the rest; a file
//!   larger than a whole budget goes in hunk by hunk until the budget is full;
//! - improve may spread the files over several calls (`max_chunks`).
//!
//! Every file ends up in [`FileReport`] with what happened to it, which feeds the "review
//! coverage" footer. Pure: the tokenizer is the only collaborator.

use super::diff::{FileDiff, FileStatus, Hunk, LineKind};
use super::tokens::{MAX_TOKEN_BYTES, Tokenizer};

/// Context lines kept around each change when the full patch does not fit.
const TRIMMED_CONTEXT: usize = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftOut {
    LockFile,
    Binary,
    Generated,
    Deleted,
    /// GitHub sends no patch for very large files.
    NoPatch,
    OverBudget,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inclusion {
    Full,
    Partial { hunks: usize, of: usize },
    Left(LeftOut),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub path: String,
    pub status: FileStatus,
    pub additions: u32,
    pub deletions: u32,
    /// Tokens of the file's section as sent (0 when left out).
    pub tokens: usize,
    pub inclusion: Inclusion,
    /// The call (chunk) it went into.
    pub chunk: Option<usize>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    pub text: String,
    /// The budget accounting: the sum of the counted sections.
    pub tokens: usize,
    /// The sections of `text` in order, so that the last one can be dropped.
    pub pieces: Vec<Piece>,
}

/// One section of a chunk: a file's (or the deleted files') part of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Index into [`Compression::files`]; `None` for the list of deleted files.
    pub file: Option<usize>,
    /// Where the section starts in [`Chunk::text`].
    pub start: usize,
    pub tokens: usize,
}

impl Chunk {
    fn push(&mut self, file: Option<usize>, text: &str, tokens: usize) {
        if text.is_empty() {
            return;
        }
        self.pieces.push(Piece {
            file,
            start: self.text.len(),
            tokens,
        });
        self.text.push_str(text);
        self.tokens += tokens;
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compression {
    pub chunks: Vec<Chunk>,
    pub files: Vec<FileReport>,
    pub context_trimmed: bool,
}

impl Compression {
    /// Takes the last section out of chunk `chunk` (its file becomes left out for the budget);
    /// false when the chunk has none left.
    pub fn drop_last_piece(&mut self, chunk: usize) -> bool {
        let Some(chunk) = self.chunks.get_mut(chunk) else {
            return false;
        };
        let Some(piece) = chunk.pieces.pop() else {
            return false;
        };
        chunk.text.truncate(piece.start);
        chunk.tokens -= piece.tokens;
        if let Some(report) = piece.file.and_then(|file| self.files.get_mut(file)) {
            report.inclusion = Inclusion::Left(LeftOut::OverBudget);
            report.tokens = 0;
            report.chunk = None;
        }
        true
    }

    pub fn left_out(&self) -> impl Iterator<Item = (&FileReport, LeftOut)> {
        self.files.iter().filter_map(|file| match file.inclusion {
            Inclusion::Left(reason) => Some((file, reason)),
            _ => None,
        })
    }

    /// Changed lines (added + deleted) of the files sent, fully or partly, against all.
    pub fn lines_covered(&self) -> (u64, u64) {
        let mut covered = 0;
        let mut total = 0;
        for file in &self.files {
            let lines = u64::from(file.additions) + u64::from(file.deletions);
            total += lines;
            if !matches!(file.inclusion, Inclusion::Left(_)) {
                covered += lines;
            }
        }
        (covered, total)
    }
}

/// Why a file should not be sent at all, from its name and kind.
pub fn skip_reason(file: &FileDiff) -> Option<LeftOut> {
    let path = file.path.as_str();
    let name = path.rsplit('/').next().unwrap_or(path);
    const LOCK_FILES: [&str; 9] = [
        "Cargo.lock",
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        ".terraform.lock.hcl",
        "poetry.lock",
        "Gemfile.lock",
        "go.sum",
        "composer.lock",
    ];
    const BINARY_EXTENSIONS: [&str; 20] = [
        "png", "jpg", "jpeg", "gif", "ico", "webp", "pdf", "zip", "gz", "tgz", "jar", "woff",
        "woff2", "ttf", "otf", "exe", "so", "dylib", "wasm", "zst",
    ];
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase());
    if file.binary
        || extension
            .as_deref()
            .is_some_and(|ext| BINARY_EXTENSIONS.contains(&ext))
    {
        return Some(LeftOut::Binary);
    }
    if LOCK_FILES.contains(&name) || name.ends_with(".lock") {
        return Some(LeftOut::LockFile);
    }
    let in_generated_env_dir =
        path.starts_with("environments/") && path.split('/').nth(2) == Some("generated");
    if path.starts_with(".github/")
        || in_generated_env_dir
        || name.contains(".generated.")
        || name.ends_with(".min.js")
        || name.ends_with(".min.css")
        || name.ends_with(".map")
    {
        return Some(LeftOut::Generated);
    }
    if file.status == FileStatus::Deleted {
        return Some(LeftOut::Deleted);
    }
    if file.hunks.is_empty() && file.status != FileStatus::Renamed {
        return Some(LeftOut::NoPatch);
    }
    None
}

/// Splits the diff into at most `max_chunks` texts of at most `budget` tokens each.
///
/// Tokenizing is the expensive part, so only what may be sent is counted: the "everything fits"
/// pass stops as soon as the budget is exceeded, and afterwards a file is counted only when an
/// estimate from its size (at the bytes-per-token ratio measured so far) says it could fit. The
/// estimate decides what to try; the accounting of what is sent is always exact.
pub fn compress(
    files: &[FileDiff],
    tokenizer: &Tokenizer,
    budget: usize,
    max_chunks: usize,
) -> Compression {
    let mut reports: Vec<FileReport> = files
        .iter()
        .map(|file| FileReport {
            path: file.path.clone(),
            status: file.status,
            additions: file.additions,
            deletions: file.deletions,
            tokens: 0,
            inclusion: skip_reason(file).map_or(Inclusion::Full, Inclusion::Left),
            chunk: None,
        })
        .collect();
    let candidates: Vec<usize> = (0..files.len())
        .filter(|&index| reports[index].inclusion == Inclusion::Full)
        .collect();

    let deleted: Vec<&str> = reports
        .iter()
        .filter(|report| report.inclusion == Inclusion::Left(LeftOut::Deleted))
        .map(|report| report.path.as_str())
        .collect();
    let deleted_section = render_deleted(&deleted);
    let deleted_tokens = tokenizer.count(&deleted_section);

    // Pass 1: everything with the patch's own context, if it fits. Decided by size first: text of
    // more than `budget * MAX_TOKEN_BYTES` bytes cannot fit, and counting stops at the budget.
    let mut ratio = Ratio::default();
    let mut full = Vec::with_capacity(candidates.len());
    let mut used = deleted_tokens;
    let mut fits = max_chunks == 0
        || candidates
            .iter()
            .map(|&index| files[index].bytes())
            .sum::<usize>()
            / MAX_TOKEN_BYTES
            <= budget;
    if fits {
        for &index in &candidates {
            let mut rendered = RenderedFile::new(&files[index], None);
            let tokens = rendered.count(tokenizer, budget);
            ratio.add_counted(&rendered, tokens);
            used += tokens;
            full.push(rendered);
            if used > budget {
                fits = false;
                break;
            }
        }
    }
    if (fits && used <= budget) || max_chunks == 0 {
        let mut chunk = Chunk::default();
        chunk.push(None, &deleted_section, deleted_tokens);
        for (rendered, &index) in full.iter_mut().zip(&candidates) {
            let tokens = rendered.count(tokenizer, budget);
            chunk.push(
                Some(index),
                &rendered.text(rendered.hunks.len(), None),
                tokens,
            );
            reports[index].tokens = tokens;
            reports[index].chunk = Some(0);
        }
        return Compression {
            chunks: vec![chunk],
            files: reports,
            context_trimmed: false,
        };
    }
    drop(full);

    // Pass 2: trimmed context, largest first, spread over up to `max_chunks` calls.
    let mut trimmed: Vec<RenderedFile> = candidates
        .iter()
        .map(|&index| RenderedFile::new(&files[index], Some(TRIMMED_CONTEXT)))
        .collect();
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|&a, &b| trimmed[b].bytes().cmp(&trimmed[a].bytes()).then(a.cmp(&b)));

    let mut remaining: Vec<usize> = order;
    let mut chunks = Vec::new();
    for chunk_index in 0..max_chunks {
        if remaining.is_empty() {
            break;
        }
        let mut used = if chunk_index == 0 { deleted_tokens } else { 0 };
        // (position in candidates, hunks taken)
        let mut taken: Vec<(usize, usize)> = Vec::new();
        let mut left = Vec::new();
        for &position in &remaining {
            let rendered = &mut trimmed[position];
            let room = budget.saturating_sub(used);
            if !taken.is_empty() && ratio.lower_estimate(rendered.bytes()) > room {
                left.push(position);
                continue;
            }
            let tokens = rendered.count(tokenizer, budget);
            ratio.add_counted(rendered, tokens);
            if tokens <= room {
                used += tokens;
                taken.push((position, rendered.hunks.len()));
            } else {
                left.push(position);
            }
        }
        // Whole files are preferred; when not even one fits, the largest goes in hunk by hunk.
        if taken.is_empty()
            && let Some(&position) = left.first()
        {
            let room = budget.saturating_sub(used);
            let (hunks, _cost) = trimmed[position].fitting_hunks(room, tokenizer, budget);
            if hunks > 0 {
                taken.push((position, hunks));
                left.remove(0);
            }
        }
        remaining = left;
        taken.sort_unstable();
        let mut chunk = Chunk::default();
        if chunk_index == 0 {
            chunk.push(None, &deleted_section, deleted_tokens);
        }
        for (position, hunks) in taken {
            let rendered = &mut trimmed[position];
            let index = candidates[position];
            let of = rendered.hunks.len();
            let (text, file_tokens) = if hunks == of {
                (rendered.text(of, None), rendered.count(tokenizer, budget))
            } else {
                let header = rendered.partial_header(hunks, of);
                let header_tokens = tokenizer.count(&header);
                reports[index].inclusion = Inclusion::Partial { hunks, of };
                let body: usize = rendered.hunk_tokens(tokenizer, budget)[..hunks]
                    .iter()
                    .sum();
                (rendered.text(hunks, Some(&header)), header_tokens + body)
            };
            chunk.push(Some(index), &text, file_tokens);
            reports[index].tokens = file_tokens;
            reports[index].chunk = Some(chunk_index);
        }
        chunks.push(chunk);
    }
    for position in remaining {
        reports[candidates[position]].inclusion = Inclusion::Left(LeftOut::OverBudget);
    }
    Compression {
        chunks,
        files: reports,
        context_trimmed: true,
    }
}

/// Bytes per token seen so far, for estimates of files not counted yet.
#[derive(Default)]
struct Ratio {
    bytes: usize,
    tokens: usize,
}

impl Ratio {
    /// Learns from a file's count, unless the count stopped early at the cap.
    fn add_counted(&mut self, rendered: &RenderedFile, tokens: usize) {
        if !rendered.capped() {
            self.bytes += rendered.bytes();
            self.tokens += tokens;
        }
    }

    /// A deliberately low estimate (a third under the observed ratio), so that a file is skipped
    /// uncounted only when it clearly cannot fit.
    fn lower_estimate(&self, bytes: usize) -> usize {
        if self.tokens == 0 {
            return 0;
        }
        let per_token = self.bytes as f64 / self.tokens as f64;
        (bytes as f64 / per_token * 0.66) as usize
    }
}

fn render_deleted(deleted: &[&str]) -> String {
    if deleted.is_empty() {
        return String::new();
    }
    let mut out = String::from("## Deleted files (content not shown)\n");
    for path in deleted {
        out.push_str("- ");
        out.push_str(path);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// One file's section, hunk by hunk; token counts are computed on first use, each hunk's only up
/// to the budget (a hunk over the budget never fits, however much over it is).
struct RenderedFile {
    path_line: String,
    header: String,
    hunks: Vec<String>,
    counts: Option<(usize, Vec<usize>)>,
    /// A hunk's count stopped at the cap.
    capped: bool,
}

impl RenderedFile {
    fn new(file: &FileDiff, context: Option<usize>) -> RenderedFile {
        let mut path_line = format!("## File: {}", file.path);
        if let Some(old) = &file.old_path {
            path_line.push_str(&format!(" (renamed from {old})"));
        }
        let status = match file.status {
            FileStatus::Added => "added",
            FileStatus::Deleted => "deleted",
            FileStatus::Modified => "modified",
            FileStatus::Renamed => "renamed",
        };
        path_line.push_str(&format!(
            " [{status} +{} -{}]",
            file.additions, file.deletions
        ));
        if file.lossy {
            path_line.push_str(" (not valid UTF-8; shown lossily)");
        }
        let header = format!("{path_line}\n");
        let hunks = file
            .hunks
            .iter()
            .map(|hunk| render_hunk(hunk, context))
            .collect();
        RenderedFile {
            path_line,
            header,
            hunks,
            counts: None,
            capped: false,
        }
    }

    fn bytes(&self) -> usize {
        self.header.len() + self.hunks.iter().map(String::len).sum::<usize>()
    }

    fn capped(&self) -> bool {
        self.capped
    }

    /// The section with its first `hunks` hunks, under `header` (default: the full one).
    fn text(&self, hunks: usize, header: Option<&str>) -> String {
        let mut out = header.unwrap_or(&self.header).to_owned();
        for hunk in &self.hunks[..hunks] {
            out.push_str(hunk);
        }
        out
    }

    fn ensure_counted(&mut self, tokenizer: &Tokenizer, cap: usize) -> &(usize, Vec<usize>) {
        let header = &self.header;
        let hunks = &self.hunks;
        let capped = &mut self.capped;
        self.counts.get_or_insert_with(|| {
            let counts: Vec<usize> = hunks
                .iter()
                .map(|hunk| tokenizer.count_capped(hunk, cap))
                .collect();
            *capped = counts.iter().any(|&tokens| tokens > cap);
            (tokenizer.count(header), counts)
        })
    }

    /// The file's tokens; above `cap` when it is more than `cap`.
    fn count(&mut self, tokenizer: &Tokenizer, cap: usize) -> usize {
        let (header, hunks) = self.ensure_counted(tokenizer, cap);
        header + hunks.iter().sum::<usize>()
    }

    fn hunk_tokens(&mut self, tokenizer: &Tokenizer, cap: usize) -> Vec<usize> {
        self.ensure_counted(tokenizer, cap).1.clone()
    }

    fn partial_header(&self, hunks: usize, of: usize) -> String {
        format!("{} (only {hunks} of {of} hunks shown)\n", self.path_line)
    }

    /// How many leading hunks fit in `room` tokens with the partial header, and their cost.
    fn fitting_hunks(&mut self, room: usize, tokenizer: &Tokenizer, cap: usize) -> (usize, usize) {
        let hunk_tokens = self.hunk_tokens(tokenizer, cap);
        let of = hunk_tokens.len();
        let mut taken = 0;
        let mut cost = 0;
        let mut body = 0;
        for (count, tokens) in hunk_tokens.iter().enumerate() {
            body += tokens;
            let next = tokenizer.count(&self.partial_header(count + 1, of)) + body;
            if next > room {
                break;
            }
            cost = next;
            taken = count + 1;
        }
        (taken, cost)
    }
}

/// `@@ -a,b +c,d @@ section`, then one line per diff line: the new-side line number for context
/// and added lines (so the model can cite lines), `+`/`-`/space, the text.
fn render_hunk(hunk: &Hunk, context: Option<usize>) -> String {
    let keep: Vec<bool> = match context {
        None => vec![true; hunk.lines.len()],
        Some(context) => {
            let changed: Vec<usize> = hunk
                .lines
                .iter()
                .enumerate()
                .filter(|(_, line)| line.kind != LineKind::Context)
                .map(|(index, _)| index)
                .collect();
            let mut keep = vec![false; hunk.lines.len()];
            for index in changed {
                let from = index.saturating_sub(context);
                let to = (index + context).min(hunk.lines.len().saturating_sub(1));
                for flag in &mut keep[from..=to] {
                    *flag = true;
                }
            }
            keep
        }
    };
    let mut out = format!(
        "@@ -{},{} +{},{} @@",
        hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len
    );
    if !hunk.section.is_empty() {
        out.push(' ');
        out.push_str(&hunk.section);
    }
    out.push('\n');
    let mut skipped = false;
    for (line, keep) in hunk.lines.iter().zip(keep) {
        if !keep {
            skipped = true;
            continue;
        }
        if skipped {
            out.push_str("  ...\n");
            skipped = false;
        }
        match (line.kind, line.new_line) {
            (LineKind::Removed, _) | (_, None) => out.push_str("      -"),
            (LineKind::Added, Some(number)) => out.push_str(&format!("{number:>5} +")),
            (LineKind::Context, Some(number)) => out.push_str(&format!("{number:>5}  ")),
        }
        out.push_str(&line.text);
        out.push('\n');
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::prompt::{PromptContext, Task};
    use super::super::{diff, plan_prompts};
    use super::*;

    fn context(title: &str) -> PromptContext {
        PromptContext {
            title: title.to_owned(),
            branch: "feature".to_owned(),
            language: "en-US".to_owned(),
            max_findings: 5,
            max_suggestions: 8,
            ..PromptContext::default()
        }
    }

    fn one_line_file(path: &str, line: &str) -> String {
        format!(
            "diff --git a/{path} b/{path}\nnew file mode 100644\n--- /dev/null\n+++ b/{path}\n@@ -0,0 +1 @@\n+{line}\n"
        )
    }

    /// Bug 10: a 10 MB single-line file is left out by its size; the tokenizer never sees it whole.
    #[test]
    fn a_huge_single_line_file_is_left_out_without_tokenizing_it() {
        let tokenizer = Tokenizer::load().unwrap();
        let huge: String = (0..10_000_000)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let mut text = one_line_file("dist/app.js", &huge);
        text.push_str(&one_line_file("main.tf", "resource \"x\" \"y\" {}"));
        // Also a 1 MB one: small enough that only counting can tell.
        text.push_str(&one_line_file("blob.txt", &huge[..1_000_000]));
        let files = diff::parse(text.as_bytes());
        let before = crate::review::tokens::tokenized_bytes();
        for task in [Task::Describe, Task::Review, Task::Improve] {
            let planned =
                plan_prompts(task, &files, &context("t"), &tokenizer, 32_000, 4_000).unwrap();
            let inclusion = |path: &str| {
                planned
                    .compression
                    .files
                    .iter()
                    .find(|f| f.path == path)
                    .unwrap()
                    .inclusion
            };
            assert_eq!(
                inclusion("dist/app.js"),
                Inclusion::Left(LeftOut::OverBudget)
            );
            assert_eq!(inclusion("blob.txt"), Inclusion::Left(LeftOut::OverBudget));
            assert_eq!(inclusion("main.tf"), Inclusion::Full);
        }
        let tokenized = crate::review::tokens::tokenized_bytes() - before;
        assert!(tokenized < 2_000_000, "{tokenized} bytes tokenized");
    }

    /// A random pull request: files of random hunks of random lines.
    fn random_diff() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            "[ +-][a-z_ =\"{}\\[\\]0-9.]{0,60}",
            Just(" ".to_owned()),
            Just("+  }".to_owned()),
            Just("-    \"${var.x}\"".to_owned()),
        ];
        let hunk = proptest::collection::vec(line, 1..30);
        let file = (
            "[a-z]{1,8}(/[a-z]{1,8}){0,2}\\.(tf|rs|md|yml)",
            proptest::collection::vec(hunk, 1..6),
        );
        proptest::collection::vec(file, 1..30).prop_map(|files| {
            let mut out = String::new();
            for (index, (path, hunks)) in files.into_iter().enumerate() {
                let path = format!("{index}/{path}");
                out.push_str(&format!(
                    "diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n"
                ));
                let mut start = 1;
                for lines in hunks {
                    let old = lines.iter().filter(|l| !l.starts_with('+')).count();
                    let new = lines.iter().filter(|l| !l.starts_with('-')).count();
                    out.push_str(&format!("@@ -{start},{old} +{start},{new} @@\n"));
                    for line in lines {
                        out.push_str(&line);
                        out.push('\n');
                    }
                    start += old.max(new) + 10;
                }
            }
            out
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Bug 12: whatever the diff, title and budget, every prompt fits, and a budget that holds
        /// the prompt without any diff is never refused.
        #[test]
        fn the_budget_holds_by_construction(
            text in random_diff(),
            title in "[ -~]{0,80}",
            budget in 1_500usize..12_000,
        ) {
            let tokenizer = Tokenizer::load().unwrap();
            let files = diff::parse(text.as_bytes());
            for task in [Task::Describe, Task::Review, Task::Improve] {
                let planned = plan_prompts(task, &files, &context(&title), &tokenizer, budget + 1_000, 1_000);
                let planned = match planned {
                    Ok(planned) => planned,
                    Err(why) => return Err(TestCaseError::fail(format!("{task:?} refused: {why}"))),
                };
                for prompt in &planned.prompts {
                    let actual = prompt.count(&tokenizer);
                    prop_assert!(actual <= budget, "{:?}: {} > {}", task, actual, budget);
                }
                // Every file is accounted for: sent in some call or left out with a reason.
                for file in &planned.compression.files {
                    prop_assert!(file.chunk.is_some() != matches!(file.inclusion, Inclusion::Left(_)));
                }
            }
        }
    }

    #[test]
    fn a_budget_too_small_for_the_prompt_itself_says_what_does_not_fit() {
        let tokenizer = Tokenizer::load().unwrap();
        let files = diff::parse(one_line_file("main.tf", "x = 1").as_bytes());
        let mut context = context("t");
        context.body = "word ".repeat(3_000);
        let error =
            plan_prompts(Task::Review, &files, &context, &tokenizer, 3_000, 1_000).unwrap_err();
        assert!(error.contains("PR description"), "{error}");
        assert!(!error.contains("even without the diff"), "{error}");
    }
}
