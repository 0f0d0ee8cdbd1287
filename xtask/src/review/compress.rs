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
use super::tokens::Tokenizer;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub text: String,
    /// The budget accounting: the sum of the counted sections.
    pub tokens: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compression {
    pub chunks: Vec<Chunk>,
    pub files: Vec<FileReport>,
    pub context_trimmed: bool,
}

impl Compression {
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

    // Pass 1: everything with the patch's own context, if it fits.
    let mut ratio = Ratio::default();
    let mut full = Vec::with_capacity(candidates.len());
    let mut used = deleted_tokens;
    let mut fits = true;
    for &index in &candidates {
        let mut rendered = RenderedFile::new(&files[index], None);
        let tokens = rendered.count(tokenizer);
        ratio.add(rendered.bytes(), tokens);
        used += tokens;
        full.push(rendered);
        if used > budget {
            fits = false;
            break;
        }
    }
    if (fits && used <= budget) || max_chunks == 0 {
        let mut text = deleted_section;
        for (rendered, &index) in full.iter_mut().zip(&candidates) {
            text.push_str(&rendered.header);
            for hunk in &rendered.hunks {
                text.push_str(hunk);
            }
            let tokens = rendered.count(tokenizer);
            reports[index].tokens = tokens;
            reports[index].chunk = Some(0);
        }
        return Compression {
            chunks: vec![Chunk { text, tokens: used }],
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
            let tokens = rendered.count(tokenizer);
            ratio.add(rendered.bytes(), tokens);
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
            let (hunks, _cost) = trimmed[position].fitting_hunks(room, tokenizer);
            if hunks > 0 {
                taken.push((position, hunks));
                left.remove(0);
            }
        }
        remaining = left;
        taken.sort_unstable();
        let mut text = if chunk_index == 0 {
            deleted_section.clone()
        } else {
            String::new()
        };
        let mut tokens = if chunk_index == 0 { deleted_tokens } else { 0 };
        for (position, hunks) in taken {
            let rendered = &mut trimmed[position];
            let index = candidates[position];
            let of = rendered.hunks.len();
            let file_tokens = if hunks == of {
                text.push_str(&rendered.header);
                rendered.count(tokenizer)
            } else {
                let header = rendered.partial_header(hunks, of);
                let header_tokens = tokenizer.count(&header);
                text.push_str(&header);
                reports[index].inclusion = Inclusion::Partial { hunks, of };
                header_tokens
                    + rendered.hunk_tokens(tokenizer)[..hunks]
                        .iter()
                        .sum::<usize>()
            };
            for hunk in &rendered.hunks[..hunks] {
                text.push_str(hunk);
            }
            tokens += file_tokens;
            reports[index].tokens = file_tokens;
            reports[index].chunk = Some(chunk_index);
        }
        chunks.push(Chunk { text, tokens });
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
    fn add(&mut self, bytes: usize, tokens: usize) {
        self.bytes += bytes;
        self.tokens += tokens;
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

/// One file's section, hunk by hunk; token counts are computed on first use.
struct RenderedFile {
    path_line: String,
    header: String,
    hunks: Vec<String>,
    counts: Option<(usize, Vec<usize>)>,
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
        }
    }

    fn bytes(&self) -> usize {
        self.header.len() + self.hunks.iter().map(String::len).sum::<usize>()
    }

    fn ensure_counted(&mut self, tokenizer: &Tokenizer) -> &(usize, Vec<usize>) {
        let header = &self.header;
        let hunks = &self.hunks;
        self.counts.get_or_insert_with(|| {
            (
                tokenizer.count(header),
                hunks.iter().map(|hunk| tokenizer.count(hunk)).collect(),
            )
        })
    }

    fn count(&mut self, tokenizer: &Tokenizer) -> usize {
        let (header, hunks) = self.ensure_counted(tokenizer);
        header + hunks.iter().sum::<usize>()
    }

    fn hunk_tokens(&mut self, tokenizer: &Tokenizer) -> Vec<usize> {
        self.ensure_counted(tokenizer).1.clone()
    }

    fn partial_header(&self, hunks: usize, of: usize) -> String {
        format!("{} (only {hunks} of {of} hunks shown)\n", self.path_line)
    }

    /// How many leading hunks fit in `room` tokens with the partial header, and their cost.
    fn fitting_hunks(&mut self, room: usize, tokenizer: &Tokenizer) -> (usize, usize) {
        let hunk_tokens = self.hunk_tokens(tokenizer);
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
