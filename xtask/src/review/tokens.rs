//! Token counting with the `o200k_base` encoding (GPT-4o/4.1 and later). Other providers' models
//! tokenize differently; o200k is close enough for budgeting and is the one we can count exactly.
//!
//! Building the BPE tables takes a noticeable fraction of a second, so it happens once per
//! process, on first use.

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

    pub fn count(&self, text: &str) -> usize {
        self.bpe.count_ordinary(text)
    }
}

/// Tokens a chat request spends on framing (role markers, message separators) besides the text.
pub const MESSAGE_OVERHEAD: usize = 4;
