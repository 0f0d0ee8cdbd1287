//! Fits a pull request's diff into a token budget, spending it on what a reviewer of this
//! monorepo reads first:
//!
//! - lock files, binaries, minified and `*.generated.*` files and the repository's
//!   `review.ignore` globs are left out by name; deleted files are listed by name only;
//! - when everything fits, every file goes in with the patch's context lines; when it fits with
//!   one context line around each change, it goes in that way;
//! - when it does not, only the changed lines are shown (no context) and files are taken by risk
//!   ([`Risk`]: what the plan destroys or replaces, then infrastructure and security-relevant
//!   files, then code, then prose), modified before added, small before large. No file takes more
//!   than a share of the budget ([`FILE_SHARE`]): a huge file is cut to its head with a note saying
//!   how many changed lines were cut, so that many files show their changes rather than a few whole.
//!   The rendering then spends as few tokens as it can on anything but changed lines: `## path`
//!   headers, no `@@` line where a line number places the hunk, lists of names that share
//!   a stem folded (`dir/part_{1,2}.rs`);
//! - improve may spread the files over several calls (`max_chunks`).
//!
//! Every file ends up in [`FileReport`] with what happened to it, which feeds the "review
//! coverage" footer and the list of files left out in the prompt. Pure: the tokenizer is the only
//! collaborator.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::diff::{FileDiff, FileStatus, Hunk, LineKind};
use super::tokens::{MAX_TOKEN_BYTES, Tokenizer};

/// Context lines kept around each change in the second attempt.
const TRIMMED_CONTEXT: usize = 1;

/// When the diff does not fit, no file takes more than `1 / FILE_SHARE` of a call's budget
/// (unless room is left once every file has its share).
pub const FILE_SHARE: usize = 24;

/// A file is cut to its head only when at least this many tokens are free for it; less than
/// that would show a line or two.
const MIN_CUT_TOKENS: usize = 120;

/// Tokens of a cut hunk's "cut here" line, at most.
const CUT_NOTE_TOKENS: usize = 8;

/// The note before the diff when only changed lines are shown.
const CHANGED_ONLY_NOTE: &str = "(Only changed lines are shown: context lines were cut to fit the token budget. Files are in order of review priority.)\n\n";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftOut {
    LockFile,
    Binary,
    Generated,
    /// Matched by the repository's `review.ignore`.
    Ignored,
    Deleted,
    /// GitHub sends no patch for very large files.
    NoPatch,
    OverBudget,
}

impl LeftOut {
    /// The reason as the prompt's list of files left out says it.
    pub fn text(self) -> &'static str {
        match self {
            LeftOut::LockFile => "lock file",
            LeftOut::Binary => "binary",
            LeftOut::Generated => "generated",
            LeftOut::Ignored => "ignored by review.ignore",
            LeftOut::Deleted => "deleted",
            LeftOut::NoPatch => "no patch available",
            LeftOut::OverBudget => "over the token budget",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inclusion {
    Full,
    /// Cut to its head: `lines` of the file's `of` changed lines are shown.
    Partial {
        lines: u32,
        of: u32,
    },
    Left(LeftOut),
}

/// How much a file matters to a reviewer of this monorepo, most first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Risk {
    /// Defines a resource the plan destroys or replaces.
    Plan,
    /// Terraform, IAM/policy JSON, workflows and their generators, Dockerfiles, migration SQL.
    Infrastructure,
    Code,
    /// Markdown and other prose.
    Prose,
}

impl Risk {
    /// The risk of a path by its name alone (the plan's files are marked by [`Selection`]).
    pub fn of_path(path: &str) -> Risk {
        let lower = path.to_ascii_lowercase();
        let name = lower.rsplit('/').next().unwrap_or(&lower);
        let extension = name.rsplit_once('.').map_or("", |(_, ext)| ext);
        let in_dir = |dir: &str| lower.split('/').rev().skip(1).any(|part| part == dir);
        let infrastructure = matches!(extension, "tf" | "tfvars" | "hcl")
            || (extension == "json" && (name.contains("policy") || in_dir("iam")))
            || lower.starts_with(".github/")
            || lower.starts_with("xtask/src/generate/")
            || name == "dockerfile"
            || name.starts_with("dockerfile.")
            || name.ends_with(".dockerfile")
            || (extension == "sql" && in_dir("migrations"));
        if infrastructure {
            Risk::Infrastructure
        } else if matches!(extension, "md" | "markdown" | "txt" | "rst" | "adoc") {
            Risk::Prose
        } else {
            Risk::Code
        }
    }

    pub fn text(self) -> &'static str {
        match self {
            Risk::Plan => "plan",
            Risk::Infrastructure => "infrastructure",
            Risk::Code => "code",
            Risk::Prose => "prose",
        }
    }
}

/// The repository's `review.ignore` globs, compiled.
#[derive(Debug, Clone, Default)]
pub struct IgnoreGlobs {
    set: globset::GlobSet,
    patterns: Vec<String>,
}

impl IgnoreGlobs {
    /// Compiles the globs (`*` stays within a path segment, `**` crosses them); the error names
    /// the glob.
    pub fn new(patterns: &[String]) -> Result<IgnoreGlobs, String> {
        let mut builder = globset::GlobSetBuilder::new();
        for pattern in patterns {
            let glob = globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|error| format!("review.ignore: `{pattern}` is not a glob: {error}"))?;
            builder.add(glob);
        }
        let set = builder
            .build()
            .map_err(|error| format!("review.ignore: {error}"))?;
        Ok(IgnoreGlobs {
            set,
            patterns: patterns.to_vec(),
        })
    }

    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    pub fn matches(&self, path: &str) -> bool {
        !self.patterns.is_empty() && self.set.is_match(path)
    }
}

/// What steers the selection besides the diff itself.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Files left out and listed as ignored (from the default branch's config, never the PR's).
    pub ignore: IgnoreGlobs,
    /// Files that define what the plan destroys or replaces (`plan_summary::pointed_files`).
    pub plan_files: BTreeSet<String>,
}

impl Selection {
    pub fn risk(&self, path: &str) -> Risk {
        if self.plan_files.contains(path) {
            Risk::Plan
        } else {
            Risk::of_path(path)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    pub path: String,
    /// The path before a rename.
    pub old_path: Option<String>,
    pub status: FileStatus,
    pub additions: u32,
    pub deletions: u32,
    pub risk: Risk,
    /// Tokens of the file's section as sent (0 when left out).
    pub tokens: usize,
    /// Changed (added and removed) lines shown in the prompt.
    pub lines_shown: u32,
    pub inclusion: Inclusion,
    /// The call (chunk) it went into.
    pub chunk: Option<usize>,
}

impl FileReport {
    /// `old → new` for a rename, else the path.
    pub fn display_path(&self) -> String {
        display_path(&self.path, self.old_path.as_deref())
    }
}

/// `old → new` for a rename, else the path.
pub fn display_path(path: &str, old_path: Option<&str>) -> String {
    match old_path {
        Some(old) if old != path => format!("{old} → {path}"),
        _ => path.to_owned(),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chunk {
    pub text: String,
    /// The budget accounting: the sum of the counted sections.
    pub tokens: usize,
    /// The sections of `text` in order, so that the last one can be dropped.
    pub pieces: Vec<Piece>,
}

/// One section of a chunk: a file's (or the deleted files' or a note's) part of the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Piece {
    /// Index into [`Compression::files`]; `None` for the list of deleted files and the note.
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
    /// Takes the last file section out of chunk `chunk` (its file becomes left out for the
    /// budget); false when the chunk has none left.
    pub fn drop_last_piece(&mut self, chunk: usize) -> bool {
        let Some(chunk) = self.chunks.get_mut(chunk) else {
            return false;
        };
        let Some(position) = chunk.pieces.iter().rposition(|piece| piece.file.is_some()) else {
            return false;
        };
        let piece = chunk.pieces.remove(position);
        let end = chunk
            .pieces
            .get(position)
            .map_or(chunk.text.len(), |next| next.start);
        chunk.text.replace_range(piece.start..end, "");
        for later in &mut chunk.pieces[position..] {
            later.start -= end - piece.start;
        }
        chunk.tokens -= piece.tokens;
        if let Some(report) = piece.file.and_then(|file| self.files.get_mut(file)) {
            report.inclusion = Inclusion::Left(LeftOut::OverBudget);
            report.tokens = 0;
            report.lines_shown = 0;
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

    /// Changed lines (added + deleted) shown to the model against all.
    pub fn lines_covered(&self) -> (u64, u64) {
        let mut covered = 0;
        let mut total = 0;
        for file in &self.files {
            total += u64::from(file.additions) + u64::from(file.deletions);
            covered += u64::from(file.lines_shown);
        }
        (covered, total)
    }

    /// The prompt's list of the files not shown (deleted files are named in the diff itself):
    /// every one, grouped by reason and directory so that hundreds of names stay short.
    pub fn left_out_lines(&self) -> Vec<String> {
        left_out_list(
            self.left_out()
                .map(|(file, reason)| (file.path.as_str(), file.old_path.as_deref(), reason)),
        )
    }
}

/// At most this many files left out are named in the prompt (the coverage footer names all).
pub const MAX_LISTED_LEFT_OUT: usize = 500;

/// Lines of `reason: dir/a, b, c`, one per reason and directory, in order of first appearance;
/// names that share a stem are written once as `dir/stem_{a,b,c}.ext` (see [`join_names`]);
/// renames are listed whole as `old → new`. Deleted files are skipped (the diff names them).
pub fn left_out_list<'a>(
    entries: impl IntoIterator<Item = (&'a str, Option<&'a str>, LeftOut)>,
) -> Vec<String> {
    let mut groups: Vec<(LeftOut, String, Vec<String>)> = Vec::new();
    let mut more = 0;
    let mut listed = 0;
    for (path, old_path, reason) in entries {
        if reason == LeftOut::Deleted {
            continue;
        }
        if listed == MAX_LISTED_LEFT_OUT {
            more += 1;
            continue;
        }
        listed += 1;
        let (dir, name) = split_dir(path, old_path);
        match groups
            .iter_mut()
            .find(|(r, d, _)| *r == reason && *d == dir)
        {
            Some((_, _, names)) => names.push(name),
            None => groups.push((reason, dir, vec![name])),
        }
    }
    let mut lines: Vec<String> = groups
        .into_iter()
        .map(|(reason, dir, names)| format!("{}: {}", reason.text(), join_names(&dir, &names)))
        .collect();
    if more > 0 {
        lines.push(format!(
            "... and {more} more files (see the review coverage)"
        ));
    }
    lines
}

/// `(dir/, name)` of a path; a rename is `("", old → new)`.
fn split_dir(path: &str, old_path: Option<&str>) -> (String, String) {
    match old_path {
        Some(old) if old != path => (String::new(), display_path(path, Some(old))),
        _ => match path.rsplit_once('/') {
            Some((dir, name)) => (format!("{dir}/"), name.to_owned()),
            None => (String::new(), path.to_owned()),
        },
    }
}

/// The names of one directory, as few tokens as they can be said in: `dir/a, b, c`, or, when at
/// least three names share a stem and an extension, `dir/stem_{a,b,c}.ext` (shell brace
/// expansion: every name is still there, its common parts written once). Names holding a brace, a
/// comma or an arrow (or a directory holding a brace or a comma) are never folded, so the folded
/// form reads back unambiguously.
fn join_names(dir: &str, names: &[String]) -> String {
    let plain = || format!("{dir}{}", names.join(", "));
    let foldable = names.len() >= 3
        && !dir.contains(['{', '}', ','])
        && names
            .iter()
            .all(|name| !name.contains(['{', '}', ',']) && !name.contains(" → "));
    if !foldable {
        return plain();
    }
    const SEPARATORS: [char; 3] = ['_', '-', '.'];
    let first = names[0].as_str();
    // The common prefix, ending just after a separator; then the common suffix of what is left,
    // starting at a separator.
    let mut prefix = first.len();
    for name in &names[1..] {
        prefix = first
            .char_indices()
            .zip(name.chars())
            .take_while(|((_, a), b)| a == b)
            .last()
            .map_or(0, |((at, c), _)| at + c.len_utf8())
            .min(prefix);
    }
    let prefix = first[..prefix].rfind(SEPARATORS).map_or(0, |at| at + 1);
    let rests: Vec<&str> = names.iter().map(|name| &name[prefix..]).collect();
    let mut suffix = rests[0].len();
    for rest in &rests[1..] {
        let common = rests[0]
            .chars()
            .rev()
            .zip(rest.chars().rev())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a.len_utf8())
            .sum::<usize>();
        suffix = suffix.min(common);
    }
    let tail = &rests[0][rests[0].len() - suffix..];
    let suffix = tail.find(SEPARATORS).map_or(0, |at| tail.len() - at);
    let parts: Vec<&str> = rests
        .iter()
        .map(|rest| &rest[..rest.len() - suffix])
        .collect();
    if (prefix == 0 && suffix == 0) || parts.iter().any(|part| part.is_empty()) {
        return plain();
    }
    format!(
        "{dir}{}{{{}}}{}",
        &first[..prefix],
        parts.join(","),
        &first[first.len() - suffix..]
    )
}

/// Why a file should not be sent at all, from its name and kind.
pub fn skip_reason(file: &FileDiff, selection: &Selection) -> Option<LeftOut> {
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
    // Our generated workflows and IAM policies are reviewed: they are what runs and what is
    // allowed, and a reviewer reads them first. Minified bundles and source maps are not.
    if name.contains(".generated.")
        || name.ends_with(".min.js")
        || name.ends_with(".min.css")
        || name.ends_with(".map")
    {
        return Some(LeftOut::Generated);
    }
    if selection.ignore.matches(path)
        || file
            .old_path
            .as_deref()
            .is_some_and(|old| selection.ignore.matches(old))
    {
        return Some(LeftOut::Ignored);
    }
    if file.status == FileStatus::Deleted {
        return Some(LeftOut::Deleted);
    }
    if file.hunks.is_empty() && file.status != FileStatus::Renamed {
        return Some(LeftOut::NoPatch);
    }
    None
}

/// The order files are offered to the budget: by risk, modified (and renamed) before added,
/// fewer changed lines before more, then the diff's order.
fn rank(files: &[FileDiff], reports: &[FileReport], candidates: &mut [usize]) {
    candidates.sort_by_key(|&index| {
        let file = &files[index];
        (
            reports[index].risk,
            file.status == FileStatus::Added,
            file.additions + file.deletions,
            index,
        )
    });
}

/// Splits the diff into at most `max_chunks` texts of at most `budget` tokens each.
///
/// Tokenizing is the expensive part, so only what may be sent is counted: the "everything fits"
/// passes stop as soon as the budget is exceeded, and afterwards a file is counted only when an
/// estimate from its size (at the bytes-per-token ratio measured so far) says it could fit, and a
/// file cut to its head only up to the cut. The estimate decides what to try; the accounting of
/// what is sent is always exact (the sum of the sections' counts).
pub fn compress(
    files: &[FileDiff],
    selection: &Selection,
    tokenizer: &Tokenizer,
    budget: usize,
    max_chunks: usize,
) -> Compression {
    let mut reports: Vec<FileReport> = files
        .iter()
        .map(|file| FileReport {
            path: file.path.clone(),
            old_path: file.old_path.clone(),
            status: file.status,
            additions: file.additions,
            deletions: file.deletions,
            risk: selection.risk(&file.path),
            tokens: 0,
            lines_shown: 0,
            inclusion: skip_reason(file, selection).map_or(Inclusion::Full, Inclusion::Left),
            chunk: None,
        })
        .collect();
    let mut candidates: Vec<usize> = (0..files.len())
        .filter(|&index| reports[index].inclusion == Inclusion::Full)
        .collect();
    rank(files, &reports, &mut candidates);

    let deleted: Vec<(&str, Option<&str>)> = reports
        .iter()
        .filter(|report| report.inclusion == Inclusion::Left(LeftOut::Deleted))
        .map(|report| (report.path.as_str(), report.old_path.as_deref()))
        .collect();
    let deleted_section = render_deleted(&deleted);
    let deleted_tokens = tokenizer.count(&deleted_section);

    // Passes 1 and 2: everything with the patch's own context, then with one line of context, if
    // it fits. Decided by size first: text of more than `budget * MAX_TOKEN_BYTES` bytes cannot
    // fit, and counting stops at the budget.
    let mut ratio = Ratio::default();
    let cap = if max_chunks == 0 { usize::MAX } else { budget };
    let total_bytes = candidates
        .iter()
        .map(|&index| files[index].bytes())
        .sum::<usize>();
    for context in [None, Some(TRIMMED_CONTEXT)] {
        let may_fit = max_chunks == 0 || total_bytes / MAX_TOKEN_BYTES <= budget;
        if !may_fit {
            break;
        }
        let mut rendered: Vec<RenderedFile> = Vec::with_capacity(candidates.len());
        let mut used = deleted_tokens;
        for &index in &candidates {
            let mut file = RenderedFile::new(&files[index], context);
            let tokens = file.count_all(tokenizer, cap);
            ratio.add_counted(&file, tokens);
            used += tokens;
            rendered.push(file);
            if used > budget && max_chunks > 0 {
                break;
            }
        }
        if used > budget && max_chunks > 0 {
            continue;
        }
        let mut chunk = Chunk::default();
        chunk.push(None, &deleted_section, deleted_tokens);
        for (file, &index) in rendered.iter_mut().zip(&candidates) {
            let tokens = file.count_all(tokenizer, cap);
            chunk.push(Some(index), &file.text_all(), tokens);
            let report = &mut reports[index];
            report.tokens = tokens;
            report.lines_shown = file.changed_lines();
            report.chunk = Some(0);
        }
        return Compression {
            chunks: vec![chunk],
            files: reports,
            context_trimmed: context.is_some(),
        };
    }

    // Pass 3: changed lines only, by rank, each file within its share of the budget, spread over
    // up to `max_chunks` calls.
    let mut rendered: Vec<RenderedFile> = candidates
        .iter()
        .map(|&index| RenderedFile::new(&files[index], Some(0)))
        .collect();
    let note_tokens = tokenizer.count(CHANGED_ONLY_NOTE);
    let share = (budget / FILE_SHARE).max(MIN_CUT_TOKENS);
    // Positions in `candidates`, in rank order.
    let mut remaining: Vec<usize> = (0..candidates.len()).collect();
    let mut chunks = Vec::new();
    for chunk_index in 0..max_chunks {
        if remaining.is_empty() {
            break;
        }
        let mut used = note_tokens + if chunk_index == 0 { deleted_tokens } else { 0 };
        let mut taken: Vec<(usize, Section)> = Vec::new();
        let mut left = Vec::new();
        for &position in &remaining {
            let file = &mut rendered[position];
            let room = budget.saturating_sub(used);
            let limit = room.min(share);
            let estimate = ratio.lower_estimate(file.bytes());
            // Whole when it fits; cut to its head when it is larger than its share (a file that
            // would fit its share but not the room left waits: smaller ones may still fit).
            let cut = |file: &mut RenderedFile| {
                if limit >= MIN_CUT_TOKENS {
                    file.head(tokenizer, limit)
                } else {
                    None
                }
            };
            let section = if estimate > room {
                if estimate > share { cut(file) } else { None }
            } else {
                // Exact up to the share; above it only "more than the share".
                let tokens = file.count_all(tokenizer, share);
                ratio.add_counted(file, tokens);
                if tokens <= limit {
                    Some(Section::whole(file, tokens))
                } else if tokens > share {
                    cut(file)
                } else {
                    None
                }
            };
            match section {
                Some(section) => {
                    used += section.tokens;
                    taken.push((position, section));
                }
                None => left.push(position),
            }
        }
        // Room left once every file has its share: grow the cut files, in rank order.
        if left.is_empty() {
            for (position, section) in &mut taken {
                if section.cut.is_none() {
                    continue;
                }
                let room = budget.saturating_sub(used);
                if room == 0 {
                    break;
                }
                if let Some(grown) = rendered[*position].head(tokenizer, section.tokens + room)
                    && grown.tokens >= section.tokens
                {
                    used = used - section.tokens + grown.tokens;
                    *section = grown;
                }
            }
        }
        // Room too small for any whole file left: the first of them (by rank) shows its head.
        let mut index = 0;
        while index < left.len() && budget.saturating_sub(used) >= MIN_CUT_TOKENS {
            let room = budget.saturating_sub(used);
            match rendered[left[index]].head(tokenizer, room) {
                Some(section) => {
                    used += section.tokens;
                    taken.push((left.remove(index), section));
                }
                None => index += 1,
            }
        }
        remaining = left;
        let mut chunk = Chunk::default();
        if chunk_index == 0 {
            chunk.push(None, &deleted_section, deleted_tokens);
        }
        chunk.push(None, CHANGED_ONLY_NOTE, note_tokens);
        for (position, section) in taken {
            let index = candidates[position];
            chunk.push(Some(index), &section.text, section.tokens);
            let report = &mut reports[index];
            report.tokens = section.tokens;
            report.lines_shown = section.lines;
            report.chunk = Some(chunk_index);
            if section.cut.is_some() {
                report.inclusion = Inclusion::Partial {
                    lines: section.lines,
                    of: rendered[position].changed_lines(),
                };
            }
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
        if !rendered.capped {
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

/// The list of deleted files, one line per directory (names folded as in [`join_names`]).
fn render_deleted(deleted: &[(&str, Option<&str>)]) -> String {
    if deleted.is_empty() {
        return String::new();
    }
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for (path, old_path) in deleted {
        let (dir, name) = split_dir(path, *old_path);
        match groups.iter_mut().find(|(d, _)| *d == dir) {
            Some((_, names)) => names.push(name),
            None => groups.push((dir, vec![name])),
        }
    }
    let mut out = String::from("## Deleted files (content not shown)\n");
    for (dir, names) in groups {
        out.push_str("- ");
        out.push_str(&join_names(&dir, &names));
        out.push('\n');
    }
    out.push('\n');
    out
}

/// What goes into a chunk for one file.
struct Section {
    text: String,
    tokens: usize,
    /// Changed lines shown.
    lines: u32,
    /// `Some(cut lines)` when the file was cut to its head.
    cut: Option<u32>,
}

impl Section {
    fn whole(file: &RenderedFile, tokens: usize) -> Section {
        Section {
            text: file.text_all(),
            tokens,
            lines: file.changed_lines(),
            cut: None,
        }
    }
}

/// One hunk, rendered: its `@@` line, then one line per diff line kept.
struct RenderedHunk {
    text: String,
    /// Where the `@@` line ends.
    head_end: usize,
    /// Where each rendered line ends in `text` (the `@@` line is not one of them).
    line_ends: Vec<usize>,
    /// Changed lines among the first `n + 1` rendered lines.
    changed_through: Vec<u32>,
}

impl RenderedHunk {
    fn changed(&self) -> u32 {
        self.changed_through.last().copied().unwrap_or(0)
    }

    /// The hunk's first `lines` rendered lines, with a note that the rest is cut.
    fn head(&self, lines: usize) -> String {
        let end = self.line_ends[lines - 1];
        let mut out = self.text[..end].to_owned();
        out.push_str("  ... (cut here)\n\n");
        out
    }
}

/// One file's section, hunk by hunk; token counts are computed on first use, each hunk's only up
/// to a cap (a hunk over the cap never fits whole, however much over it is).
struct RenderedFile {
    path_line: String,
    header: String,
    hunks: Vec<RenderedHunk>,
    header_tokens: Option<usize>,
    /// Per hunk: its count, and whether it is exact (a count that stopped at its cap is only a
    /// lower bound above that cap).
    counts: Vec<Option<(usize, bool)>>,
    /// Some hunk's count stopped at its cap.
    capped: bool,
}

impl RenderedFile {
    fn new(file: &FileDiff, context: Option<usize>) -> RenderedFile {
        let status = match file.status {
            FileStatus::Added => "added",
            FileStatus::Deleted => "deleted",
            FileStatus::Modified => "modified",
            FileStatus::Renamed => "renamed",
        };
        let path = display_path(&file.path, file.old_path.as_deref());
        let (additions, deletions) = (file.additions, file.deletions);
        // With changed lines only, every token of a header is one a changed line cannot have: the
        // header is `## path`, with the status only when the file is not simply modified, and no
        // counts (the lines are all there, or the cut note says how many of how many).
        let compact = context == Some(0);
        let mut path_line = match (compact, file.status) {
            (true, FileStatus::Modified) => format!("## {path}"),
            (true, _) => format!("## {path} [{status}]"),
            (false, _) => format!("## File: {path} [{status} +{additions} -{deletions}]"),
        };
        if file.lossy {
            path_line.push_str(" (not valid UTF-8; shown lossily)");
        }
        let header = format!("{path_line}\n");
        let mut after_added = true;
        let hunks: Vec<RenderedHunk> = file
            .hunks
            .iter()
            .map(|hunk| {
                let rendered = render_hunk(hunk, context, after_added);
                after_added = ends_with_added(hunk);
                rendered
            })
            .collect();
        RenderedFile {
            path_line,
            header,
            counts: vec![None; hunks.len()],
            hunks,
            header_tokens: None,
            capped: false,
        }
    }

    fn bytes(&self) -> usize {
        self.header.len() + self.hunks.iter().map(|hunk| hunk.text.len()).sum::<usize>()
    }

    fn changed_lines(&self) -> u32 {
        self.hunks.iter().map(RenderedHunk::changed).sum()
    }

    fn text_all(&self) -> String {
        let mut out = self.header.clone();
        for hunk in &self.hunks {
            out.push_str(&hunk.text);
        }
        out
    }

    fn header_tokens(&mut self, tokenizer: &Tokenizer) -> usize {
        *self
            .header_tokens
            .get_or_insert_with(|| tokenizer.count(&self.header))
    }

    /// Hunk `index`'s tokens; above `cap` when it is more than `cap`. A count made with a lower
    /// cap that stopped early is made again.
    fn hunk_tokens(&mut self, index: usize, tokenizer: &Tokenizer, cap: usize) -> usize {
        match self.counts[index] {
            Some((tokens, exact)) if exact || tokens > cap => tokens,
            _ => {
                let tokens = tokenizer.count_capped(&self.hunks[index].text, cap);
                let exact = tokens <= cap;
                self.capped |= !exact;
                self.counts[index] = Some((tokens, exact));
                tokens
            }
        }
    }

    /// The whole section's tokens; above `cap` when it is more than `cap` (counting stops there).
    fn count_all(&mut self, tokenizer: &Tokenizer, cap: usize) -> usize {
        let mut total = self.header_tokens(tokenizer);
        for index in 0..self.hunks.len() {
            if total > cap {
                break;
            }
            total += self.hunk_tokens(index, tokenizer, cap.saturating_sub(total));
        }
        total
    }

    fn cut_header(&self, shown: u32, of: u32) -> String {
        format!(
            "{} (cut to its head: {shown} of {of} changed lines shown, {} cut)\n",
            self.path_line,
            of - shown
        )
    }

    /// The file's head within `limit` tokens: whole hunks, then the first lines of the next one;
    /// `None` when not even one line fits. The count is exact.
    fn head(&mut self, tokenizer: &Tokenizer, limit: usize) -> Option<Section> {
        let of = self.changed_lines();
        // The header with the most digits it can have, so the final one is no longer.
        let header_reserve = tokenizer.count(&self.cut_header(of, of)) + 1;
        let room = limit.checked_sub(header_reserve)?;
        let mut body = String::new();
        let mut body_tokens = 0;
        let mut shown = 0;
        let mut whole = 0;
        while whole < self.hunks.len() {
            let tokens = self.hunk_tokens(whole, tokenizer, room - body_tokens);
            if body_tokens + tokens > room {
                break;
            }
            body_tokens += tokens;
            body.push_str(&self.hunks[whole].text);
            shown += self.hunks[whole].changed();
            whole += 1;
        }
        if whole == self.hunks.len() {
            let tokens = self.header_tokens(tokenizer) + body_tokens;
            return Some(Section {
                text: format!("{}{body}", self.header),
                tokens,
                lines: shown,
                cut: None,
            });
        }
        // The next hunk's first lines: as many as the per-line counts allow, then exact.
        let hunk = &self.hunks[whole];
        let free = room - body_tokens;
        let mut lines = 0;
        let mut estimate = tokenizer.count(&hunk.text[..hunk.head_end]) + CUT_NOTE_TOKENS;
        let mut start = hunk.head_end;
        for &end in &hunk.line_ends {
            estimate +=
                tokenizer.count_capped(&hunk.text[start..end], free.saturating_sub(estimate));
            if estimate > free {
                break;
            }
            start = end;
            lines += 1;
        }
        let mut partial = None;
        while lines > 0 {
            let text = hunk.head(lines);
            let tokens = tokenizer.count(&text);
            if tokens <= free {
                partial = Some((text, tokens));
                break;
            }
            lines -= 1;
        }
        if let Some((text, tokens)) = partial {
            body.push_str(&text);
            body_tokens += tokens;
            shown += hunk.changed_through[lines - 1];
        }
        if shown == 0 {
            return None;
        }
        let header = self.cut_header(shown, of);
        let tokens = tokenizer.count(&header) + body_tokens;
        Some(Section {
            text: format!("{header}{body}"),
            tokens,
            lines: shown,
            cut: Some(of - shown),
        })
    }
}

/// `@@ -a,b +c,d @@ section`, then one line per diff line: the new-side line number for context
/// and added lines (so the model can cite lines), `+`/`-`/space, the text. With `context`, only
/// that many lines around each change are kept (a `...` marks a gap). With no context at all the
/// rendering is compact: `@@ +c @@`, no padding, and the line numbers show the gaps; the `@@` line
/// is left out when the hunk is placed by a line number anyway (see [`placed_by_number`]) and
/// `after_added` says the previous hunk of the file ended with an added line (so that its last
/// removed lines cannot be read as this hunk's).
fn render_hunk(hunk: &Hunk, context: Option<usize>, after_added: bool) -> RenderedHunk {
    let keep: Vec<bool> = match context {
        None => vec![true; hunk.lines.len()],
        Some(context) => {
            let mut keep = vec![false; hunk.lines.len()];
            for (index, line) in hunk.lines.iter().enumerate() {
                if line.kind == LineKind::Context {
                    continue;
                }
                let from = index.saturating_sub(context);
                let to = (index + context).min(hunk.lines.len().saturating_sub(1));
                for flag in &mut keep[from..=to] {
                    *flag = true;
                }
            }
            keep
        }
    };
    // With changed lines only, the old side and the lengths say nothing the model can use: where
    // the hunk starts on the new side is enough, and every line is a token shorter unpadded.
    let compact = context == Some(0);
    let mut text = if compact && after_added && placed_by_number(hunk) {
        String::new()
    } else if compact {
        format!("@@ +{} @@", hunk.new_start)
    } else {
        format!(
            "@@ -{},{} +{},{} @@",
            hunk.old_start, hunk.old_len, hunk.new_start, hunk.new_len
        )
    };
    if !hunk.section.is_empty() {
        text.push(' ');
        text.push_str(&hunk.section);
    }
    if !text.is_empty() {
        text.push('\n');
    }
    let head_end = text.len();
    let mut line_ends = Vec::new();
    let mut changed_through = Vec::new();
    let mut changed = 0;
    let mut skipped = false;
    let marks_gaps = context != Some(0);
    for (line, keep) in hunk.lines.iter().zip(keep) {
        if !keep {
            skipped = true;
            continue;
        }
        if skipped && marks_gaps {
            text.push_str("  ...\n");
            line_ends.push(text.len());
            changed_through.push(changed);
        }
        skipped = false;
        match (line.kind, line.new_line) {
            (LineKind::Removed, _) | (_, None) if compact => text.push('-'),
            (LineKind::Removed, _) | (_, None) => text.push_str("      -"),
            (LineKind::Added, Some(number)) if compact => {
                let _ = write!(text, "{number} +");
            }
            (LineKind::Added, Some(number)) => {
                let _ = write!(text, "{number:>5} +");
            }
            (LineKind::Context, Some(number)) => {
                let _ = write!(text, "{number:>5}  ");
            }
        }
        if line.kind != LineKind::Context {
            changed += 1;
        }
        text.push_str(&line.text);
        text.push('\n');
        line_ends.push(text.len());
        changed_through.push(changed);
    }
    if !compact {
        text.push('\n');
    }
    RenderedHunk {
        text,
        head_end,
        line_ends,
        changed_through,
    }
}

/// Whether a hunk shown as changed lines only is placed without its `@@` line: it has no section
/// text and its first changed line is an added line (whose number places it) or the first of
/// removed lines directly followed by an added line (removed where that line now is).
fn placed_by_number(hunk: &Hunk) -> bool {
    if !hunk.section.is_empty() {
        return false;
    }
    let mut changed = hunk
        .lines
        .iter()
        .skip_while(|line| line.kind == LineKind::Context);
    let first_not_removed = changed.find(|line| line.kind != LineKind::Removed);
    first_not_removed.is_some_and(|line| line.kind == LineKind::Added && line.new_line.is_some())
}

/// Whether the hunk's last changed line is an added one.
fn ends_with_added(hunk: &Hunk) -> bool {
    hunk.lines
        .iter()
        .rev()
        .find(|line| line.kind != LineKind::Context)
        .is_some_and(|line| line.kind == LineKind::Added)
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

    /// Changed lines only: the header is `## path`, and a hunk loses its `@@` line only
    /// when a line number places it: its first change is an added line or removed lines directly
    /// followed by one, and the previous hunk did not end with removed lines (which would then read
    /// as this hunk's).
    #[test]
    fn changed_lines_only_are_placed_by_line_numbers_where_they_can_be() {
        let text = "diff --git a/main.tf b/main.tf\n--- a/main.tf\n+++ b/main.tf\n\
            @@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n\
            @@ -20,3 +20,2 @@\n x\n-y\n z\n\
            @@ -40,3 +39,3 @@\n p\n-q\n+Q\n r\n\
            @@ -60,3 +59,3 @@\n s\n-t\n u\n+U\n\
            @@ -80,2 +79,3 @@\n v\n+w\n x\n";
        let files = diff::parse(text.as_bytes());
        let rendered = RenderedFile::new(&files[0], Some(0));
        assert_eq!(
            rendered.text_all(),
            "## main.tf\n\
             -b\n2 +B\n\
             @@ +20 @@\n-y\n\
             @@ +39 @@\n-q\n40 +Q\n\
             @@ +59 @@\n-t\n61 +U\n\
             80 +w\n"
        );
        // With context, the header and every `@@` line stay as they were.
        let rendered = RenderedFile::new(&files[0], Some(1));
        assert!(
            rendered
                .text_all()
                .starts_with("## File: main.tf [modified +4 -4]\n@@ -1,3 +1,3 @@\n")
        );
    }

    /// Names of one directory sharing a stem and an extension are written once, brace-expanded;
    /// two names, renames, names without a common part and names holding a brace or a comma stay
    /// plain.
    #[test]
    fn names_sharing_a_stem_are_folded() {
        let names = |list: &[&str]| list.iter().map(|name| name.to_string()).collect::<Vec<_>>();
        assert_eq!(
            join_names(
                "src/a/",
                &names(&["part_000.rs", "part_012.rs", "part_024.rs"])
            ),
            "src/a/part_{000,012,024}.rs"
        );
        assert_eq!(
            join_names("", &names(&["main.tf", "variables.tf", "outputs.tf"])),
            "{main,variables,outputs}.tf"
        );
        assert_eq!(
            join_names(
                "d/",
                &names(&["new_10_test.rs", "new_20_test.rs", "new_30_test.rs"])
            ),
            "d/new_{10,20,30}_test.rs"
        );
        for plain in [
            names(&["a_1.rs", "a_2.rs"]),
            names(&["README", "LICENSE", "NOTICE"]),
            names(&["x_{1}.rs", "x_2.rs", "x_3.rs"]),
            names(&["x_1,2.rs", "x_2.rs", "x_3.rs"]),
            names(&["a.rs", "a.rs.bak", "b.rs"]),
        ] {
            assert_eq!(join_names("d/", &plain), format!("d/{}", plain.join(", ")));
        }
        let stems = names(&["a_1.rs", "a_2.rs", "a_3.rs"]);
        assert_eq!(join_names("{x}/", &stems), "{x}/a_1.rs, a_2.rs, a_3.rs");
        let lines = left_out_list([
            ("src/x/part_1.rs", None, LeftOut::OverBudget),
            ("src/x/part_2.rs", None, LeftOut::OverBudget),
            ("src/x/part_3.rs", None, LeftOut::OverBudget),
            ("src/new/m.rs", Some("src/old/m.rs"), LeftOut::OverBudget),
            ("Cargo.lock", None, LeftOut::LockFile),
        ]);
        assert_eq!(
            lines,
            [
                "over the token budget: src/x/part_{1,2,3}.rs",
                "over the token budget: src/old/m.rs → src/new/m.rs",
                "lock file: Cargo.lock",
            ]
        );
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
