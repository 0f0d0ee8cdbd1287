//! The actions our workflows use, pinned to the commit of a release tag.
//!
//! `action-pins.json` is a subset of the audited table in the reference design: each SHA was read
//! from the action's own repository at its tag, with the action's input names at that commit. A
//! test checks every generated `uses:` and `with:` against it; to add an action, read its
//! repository the same way and add it here.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Deserialize;

const PINS_JSON: &str = include_str!("action-pins.json");

/// One pinned action.
#[derive(Debug, Clone, Deserialize)]
pub struct Pin {
    #[serde(skip)]
    pub action: String,
    pub tag: String,
    pub sha: String,
    pub inputs: Vec<String>,
}

/// The pin table.
#[derive(Debug, Clone)]
pub struct Pins(BTreeMap<String, Pin>);

impl Pins {
    pub fn embedded() -> anyhow::Result<Pins> {
        Pins::parse(PINS_JSON).context("reading the embedded action-pins.json")
    }

    pub fn parse(json: &str) -> anyhow::Result<Pins> {
        let mut table: BTreeMap<String, Pin> = serde_json::from_str(json)?;
        for (action, pin) in &mut table {
            pin.action = action.clone();
            anyhow::ensure!(
                pin.sha.len() == 40 && pin.sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{action}: `{}` is not a full commit SHA",
                pin.sha
            );
        }
        Ok(Pins(table))
    }

    pub fn get(&self, action: &str) -> anyhow::Result<&Pin> {
        self.0
            .get(action)
            .with_context(|| format!("no pin for {action} in action-pins.json"))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Pin> {
        self.0.values()
    }
}
