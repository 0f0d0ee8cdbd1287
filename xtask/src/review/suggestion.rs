//! Committable suggestions: review comments holding a ```suggestion block GitHub can commit, each
//! starting with a hidden marker and fingerprint so a re-run recognises its own comments. One
//! model for `fmt --suggest` (fmt's changes) and `review improve` (the model's suggestions); each
//! names its marker and what its fingerprint covers. Pure.

use sha2::{Digest, Sha256};

use crate::github::NewReviewComment;

/// A suggestion comment ready to post: replace new-side lines `start..=end` of `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committable {
    pub path: String,
    pub start: u32,
    pub end: u32,
    pub fingerprint: String,
    /// The marker with the fingerprint, the heading, the suggestion block.
    pub body: String,
}

impl Committable {
    /// `heading` is Markdown the caller made inert. `code` replaces the lines: `None` deletes them
    /// (an empty block; `Some("")` would leave one empty line). It is kept byte for byte, in a
    /// fence it cannot close.
    pub fn new(
        marker: &str,
        path: &str,
        lines: (u32, u32),
        fingerprint: String,
        heading: &str,
        code: Option<&str>,
    ) -> Committable {
        let fence = crate::markdown::fence_for(code.unwrap_or_default());
        let block = code.map_or_else(String::new, |code| format!("{code}\n"));
        let body =
            format!("{marker}{fingerprint} -->\n{heading}\n\n{fence}suggestion\n{block}{fence}\n");
        Committable {
            path: path.to_owned(),
            start: lines.0,
            end: lines.1,
            fingerprint,
            body,
        }
    }

    /// The review comment on the new side of the pull request.
    pub fn comment(&self) -> NewReviewComment {
        NewReviewComment::on_new_lines(
            &self.path,
            u64::from(self.start),
            u64::from(self.end),
            self.body.clone(),
        )
    }
}

/// A stable id from the parts a suggestion is identified by: the first 8 bytes of their SHA-256.
pub fn fingerprint(parts: &[&[u8]]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The fingerprint of a comment body that starts with `marker`.
pub fn fingerprint_in<'b>(marker: &str, body: &'b str) -> Option<&'b str> {
    let rest = body.strip_prefix(marker)?;
    let end = rest.find(" -->")?;
    Some(&rest[..end])
}

/// The wanted suggestions against the comments already there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reconciled {
    /// Indices (into the wanted list) of the suggestions not posted yet.
    pub new: Vec<usize>,
    /// Indices of the suggestions already posted.
    pub kept: Vec<usize>,
    /// Ids of existing suggestion comments no wanted suggestion matches.
    pub outdated: Vec<u64>,
}

/// Compares `wanted` with `existing` (id, body) comments of ours that start with `marker`.
pub fn reconcile(marker: &str, wanted: &[Committable], existing: &[(u64, String)]) -> Reconciled {
    let posted: Vec<&str> = existing
        .iter()
        .filter_map(|(_, body)| fingerprint_in(marker, body))
        .collect();
    let (kept, new) =
        (0..wanted.len()).partition(|&index| posted.contains(&wanted[index].fingerprint.as_str()));
    let outdated = existing
        .iter()
        .filter(|(_, body)| {
            fingerprint_in(marker, body)
                .is_some_and(|fp| !wanted.iter().any(|w| w.fingerprint == fp))
        })
        .map(|(id, _)| *id)
        .collect();
    Reconciled {
        new,
        kept,
        outdated,
    }
}
