//! Token counting with the `o200k_base` encoding (GPT-4o/4.1 and later). Other providers' models
//! tokenize differently; o200k is close enough for budgeting and is the one we can count exactly.
//!
//! Building the BPE tables takes a noticeable fraction of a second, so it happens once per
//! process, on first use.
//!
//! The tokenizer is never handed more than [`MAX_PIECE`] bytes at a time: its regex (fancy-regex,
//! backtracking) overflows its stack on a long whitespace run and its byte-pair merge grows faster
//! than linearly with the length of one word, so a minified line or a million spaces would panic or
//! take minutes. Text is cut where the o200k pre-tokenizer splits anyway (after a line break that
//! is followed by ordinary text, before a space between two non-spaces), which keeps the count
//! exact; only a run of more than [`MAX_PIECE`] bytes without such a place (one giant word or
//! whitespace run) is cut hard, and there the count is the sum of the parts (an estimate within a
//! token or so per cut, which the tests measure).

use std::sync::OnceLock;

use tiktoken_rs::CoreBPE;

use crate::failure::{FailureKind, fail};

static BPE: OnceLock<Result<CoreBPE, String>> = OnceLock::new();

fn bpe() -> anyhow::Result<&'static CoreBPE> {
    BPE.get_or_init(|| tiktoken_rs::o200k_base().map_err(|error| error.to_string()))
        .as_ref()
        .map_err(|error| {
            fail(
                FailureKind::Environment,
                format!("loading the o200k_base tokenizer: {error}"),
            )
        })
}

/// A token counter; obtaining one loads the tokenizer (once per process).
#[derive(Clone, Copy)]
pub struct Tokenizer {
    bpe: &'static CoreBPE,
}

impl Tokenizer {
    pub fn load() -> anyhow::Result<Tokenizer> {
        Ok(Tokenizer { bpe: bpe()? })
    }

    /// The tokens of `text`.
    pub fn count(&self, text: &str) -> usize {
        pieces(text, MAX_PIECE)
            .map(|(piece, hard)| self.count_piece(piece, hard))
            .sum()
    }

    /// A hard-cut piece is usually one of many equal ones (a run of spaces, `=` or `A`), and the
    /// tokenizer is slowest on exactly those: the last one's count is remembered.
    fn count_piece(&self, piece: &str, hard: bool) -> usize {
        thread_local! {
            static LAST_HARD: std::cell::RefCell<(String, usize)> =
                const { std::cell::RefCell::new((String::new(), 0)) };
        }
        if hard
            && let Some(tokens) =
                LAST_HARD.with_borrow(|(last, tokens)| (last == piece).then_some(*tokens))
        {
            return tokens;
        }
        #[cfg(test)]
        TOKENIZED.with(|bytes| bytes.set(bytes.get() + piece.len()));
        let tokens = self.bpe.count_ordinary(piece);
        if hard {
            LAST_HARD.with_borrow_mut(|last| {
                last.0.clear();
                last.0.push_str(piece);
                last.1 = tokens;
            });
        }
        tokens
    }

    /// The tokens of `text` when there are at most `cap`; otherwise some number above `cap`,
    /// found without tokenizing much past it. For "does it fit" questions about text that may be
    /// huge: the work is bounded by the cap, not by the text.
    pub fn count_capped(&self, text: &str, cap: usize) -> usize {
        // A token holds at most MAX_TOKEN_BYTES bytes: more bytes than that cannot fit.
        if text.len() / MAX_TOKEN_BYTES > cap {
            return text.len() / MAX_TOKEN_BYTES;
        }
        let mut total = 0;
        for (piece, hard) in pieces(text, MAX_PIECE) {
            total += self.count_piece(piece, hard);
            if total > cap {
                break;
            }
        }
        total
    }
}

/// The longest token of o200k_base, in bytes (checked against the vocabulary in the tests): text
/// of `n` bytes has at least `n / MAX_TOKEN_BYTES` tokens.
pub const MAX_TOKEN_BYTES: usize = 128;

/// The most bytes handed to the tokenizer at once.
pub const MAX_PIECE: usize = 1024;

/// How far past a line break the pieces look for the text that follows (indentation).
const MAX_INDENT_LOOKAHEAD: usize = 256;

/// Cuts `text` into pieces of at most `max` bytes (`max` >= 4), each with whether it ends in a
/// hard cut (a place the pre-tokenizer would not have split). O(length).
fn pieces(text: &str, max: usize) -> impl Iterator<Item = (&str, bool)> {
    let bytes = text.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        if bytes.len() - start <= max {
            let piece = &text[start..];
            start = bytes.len();
            return Some((piece, false));
        }
        let mut limit = start + max;
        while !text.is_char_boundary(limit) {
            limit -= 1;
        }
        let cut = (start + 1..=limit)
            .rev()
            .find(|&at| splits_before(text, at));
        let (end, hard) = match cut {
            Some(at) => (at, false),
            // `max` >= 4 leaves room for a whole character.
            None => (limit.max(start + 1), true),
        };
        let mut end = end;
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let piece = &text[start..end];
        start = end;
        Some((piece, hard))
    })
}

/// Whether o200k's pre-tokenizer always ends a piece right before byte `at` of `text`, whatever
/// comes before: so that the tokens of `text[..at]` and `text[at..]` add up to those of `text`.
///
/// The pattern is `[^\r\n\p{L}\p{N}]?\p{L}+…|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+`
/// (simplified). A space between two non-whitespace characters can only start a piece (the
/// optional prefix of a word or punctuation piece), and nothing before it reaches over it. After a
/// line break followed by spaces/tabs and then a non-whitespace character, `\s*[\r\n]+` ends at
/// that line break (the last one of the run) and punctuation's `[\r\n/]*` stops at the space or
/// at anything but `/`.
fn splits_before(text: &str, at: usize) -> bool {
    let bytes = text.as_bytes();
    if at == 0 || at >= bytes.len() || !text.is_char_boundary(at) {
        return false;
    }
    let next_is_text = |from: usize| {
        text[from..]
            .chars()
            .next()
            .is_some_and(|ch| !ch.is_whitespace())
    };
    match bytes[at - 1] {
        b'\n' => {
            let indent = bytes[at..]
                .iter()
                .take(MAX_INDENT_LOOKAHEAD)
                .take_while(|byte| matches!(byte, b' ' | b'\t'))
                .count();
            if indent == MAX_INDENT_LOOKAHEAD {
                return false;
            }
            next_is_text(at + indent) && (indent > 0 || bytes[at + indent] != b'/')
        }
        _ if bytes[at] == b' ' => {
            // Cheap rejections first: a run of spaces has a candidate at every byte.
            let ascii_space = |byte: &u8| byte.is_ascii_whitespace() || *byte == 0x0b;
            if ascii_space(&bytes[at - 1]) || bytes.get(at + 1).is_none_or(ascii_space) {
                return false;
            }
            let before = text[..at].chars().next_back();
            before.is_some_and(|ch| !ch.is_whitespace()) && next_is_text(at + 1)
        }
        _ => false,
    }
}

/// Tokens a chat request spends on framing (role markers, message separators) besides the text.
pub const MESSAGE_OVERHEAD: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_spaces_do_not_panic() {
        let tokenizer = Tokenizer::load().unwrap();
        let text = format!("x{}y", " ".repeat(1_000_000));
        let tokens = tokenizer.count(&text);
        assert!(tokens > 2 && tokens <= text.len(), "{tokens}");
        assert!(pieces(&text, MAX_PIECE).all(|(piece, _)| piece.len() <= MAX_PIECE));
    }

    #[test]
    fn no_token_is_longer_than_max_token_bytes() {
        let tokenizer = Tokenizer::load().unwrap();
        let longest = (0..200_100)
            .filter_map(|id| tokenizer.bpe.decode_bytes(&[id]).ok())
            .map(|bytes| bytes.len())
            .max();
        assert_eq!(longest, Some(MAX_TOKEN_BYTES));
    }

    #[test]
    fn count_capped_stops_early_and_is_exact_below_the_cap() {
        let tokenizer = Tokenizer::load().unwrap();
        let text = "resource \"aws_s3_bucket\" \"b\" {\n  bucket = \"x\"\n}\n".repeat(2_000);
        let exact = tokenizer.count(&text);
        assert_eq!(tokenizer.count_capped(&text, exact), exact);
        let capped = tokenizer.count_capped(&text, 100);
        assert!(capped > 100 && capped < exact, "{capped} of {exact}");
        let word = "a".repeat(10 * MAX_TOKEN_BYTES);
        assert!(tokenizer.count_capped(&word, 5) > 5);
    }

    #[test]
    fn hard_cuts_are_within_a_token_or_two_per_cut() {
        let tokenizer = Tokenizer::load().unwrap();
        let word: String = (0..50_000)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let spaces = format!("x{}y", " ".repeat(50_000));
        let base64ish: String = (0..50_000)
            .map(|i| char::from(b"AZaz09+/"[i * 13 % 8]))
            .collect();
        for text in [word, spaces, base64ish] {
            let cuts = pieces(&text, MAX_PIECE).filter(|(_, hard)| *hard).count();
            let exact = tokenizer.bpe.count_ordinary(&text);
            let counted = tokenizer.count(&text);
            assert!(cuts > 0);
            assert!(
                counted.abs_diff(exact) <= 2 * cuts,
                "{counted} vs {exact}, {cuts} cuts"
            );
        }
    }

    /// Text made of the characters the pre-tokenizer treats differently.
    fn tricky_text() -> impl Strategy<Value = String> {
        let fragment = prop_oneof![
            Just(" ".to_owned()),
            Just("  ".to_owned()),
            Just("\t".to_owned()),
            Just("\n".to_owned()),
            Just("\r\n".to_owned()),
            Just("/".to_owned()),
            Just("//".to_owned()),
            Just("}".to_owned()),
            Just("'s".to_owned()),
            Just("\u{a0}".to_owned()),
            Just("\u{3000}".to_owned()),
            Just("é".to_owned()),
            Just("日本".to_owned()),
            Just("123456".to_owned()),
            Just("\u{301}".to_owned()),
            "[a-zA-Z]{1,6}",
            "[ -~]{1,4}",
        ];
        proptest::collection::vec(fragment, 0..60).prop_map(|parts| parts.concat())
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Cutting where `splits_before` says the pre-tokenizer splits never changes the count.
        #[test]
        fn soft_cuts_keep_the_count_exact(text in tricky_text(), max in 4usize..40) {
            let tokenizer = Tokenizer::load().unwrap();
            let parts: Vec<(&str, bool)> = pieces(&text, max).collect();
            prop_assert_eq!(parts.iter().map(|(piece, _)| *piece).collect::<String>(), text.clone());
            prop_assert!(parts.iter().all(|(piece, _)| piece.len() <= max));
            if parts.iter().all(|(_, hard)| !hard) {
                let sum: usize = parts.iter().map(|(piece, _)| tokenizer.bpe.count_ordinary(piece)).sum();
                prop_assert_eq!(sum, tokenizer.bpe.count_ordinary(&text));
            }
        }

        /// Every single soft cut point is exact on its own.
        #[test]
        fn every_split_point_is_a_piece_boundary(text in tricky_text()) {
            let tokenizer = Tokenizer::load().unwrap();
            let whole = tokenizer.bpe.count_ordinary(&text);
            for at in (1..text.len()).filter(|&at| splits_before(&text, at)) {
                let sum = tokenizer.bpe.count_ordinary(&text[..at]) + tokenizer.bpe.count_ordinary(&text[at..]);
                prop_assert_eq!(sum, whole, "cut at {} of {:?}", at, text);
            }
        }
    }
}

#[cfg(test)]
thread_local! {
    static TOKENIZED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Bytes handed to the tokenizer on this thread so far (tests measure the work with it).
#[cfg(test)]
pub fn tokenized_bytes() -> usize {
    TOKENIZED.with(std::cell::Cell::get)
}
