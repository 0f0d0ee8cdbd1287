//! The async runtime of the commands that talk to GitHub, AWS or an LLM: one thread, since a
//! command does one thing at a time and the machine it runs on may be shared.

use anyhow::Context;

use crate::failure::{Classify, FailureKind};

/// A current-thread tokio runtime with IO and timers.
pub fn current_thread() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .classify(FailureKind::Environment)
}
