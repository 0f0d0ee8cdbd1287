//! The result of one environment's plan, written by the job that runs `terraform plan` (which runs
//! pull-request code and holds no write token) and read by the job that posts the comment (which
//! holds the write token and runs no pull-request code).
//!
//! The record travels as a workflow artifact, which everyone who can read the repository can
//! download, so it holds nothing the comment did not already show: the plan JSON is reduced to the
//! parts the summary reads, every resource attribute value is replaced by a marker that only says
//! whether it changed, and sensitive output values are dropped. The reader treats the record as
//! untrusted data: it parses it with the same typed model as a plan and renders it with our own
//! renderer, never posting text from it as it is.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::failure::{Classify, FailureKind, fail};
use crate::fs::write_atomically;
use crate::plan::model::any_sensitive;

/// `plan.json`: the reduced `terraform show -json`.
pub const PLAN_FILE: &str = "plan.json";
/// `plan.txt`: terraform's human plan text (already masked).
pub const TEXT_FILE: &str = "plan.txt";
/// `change-set.txt`: the change set's stamp (digests only, see [`crate::plan::digest`]), computed
/// by the job that has the full plan; the reduced plan JSON has no values to compute it from.
pub const STAMP_FILE: &str = "change-set.txt";
/// `error.json`: the failed step and terraform's output (already masked).
pub const ERROR_FILE: &str = "error.json";

/// What a record holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Record {
    Planned { plan_json: Vec<u8>, text: String },
    Failed(Failure),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub step: String,
    pub output: String,
}

/// The directory of `env`'s record under `dir`.
pub fn env_dir(dir: &Path, env: &str) -> PathBuf {
    dir.join(env)
}

/// Writes the record of a successful plan: the plan JSON reduced by [`reduce`] and the plan text,
/// each passed through `mask` (the plan's masks: literals, `env:` values, sensitive strings).
pub fn write_planned(
    dir: &Path,
    env: &str,
    plan_json: &[u8],
    text: &str,
    mask: impl Fn(&str) -> String,
) -> anyhow::Result<()> {
    let reduced = mask(&reduce(plan_json)?);
    let dir = env_dir(dir, env);
    write_atomically(&dir.join(PLAN_FILE), &reduced)?;
    write_atomically(&dir.join(TEXT_FILE), mask(text))
}

/// Writes the change set's stamp beside the plan.
pub fn write_stamp(
    dir: &Path,
    env: &str,
    stamp: &crate::plan::digest::Stamp,
) -> anyhow::Result<()> {
    write_atomically(&env_dir(dir, env).join(STAMP_FILE), stamp.hidden_lines())
}

/// The stamp of a record, when it has a well-formed one (the record is untrusted: anything that
/// does not parse as a stamp is no stamp, and the comment then shows no digest).
pub fn read_stamp(dir: &Path, env: &str) -> Option<crate::plan::digest::Stamp> {
    let text = std::fs::read_to_string(env_dir(dir, env).join(STAMP_FILE)).ok()?;
    crate::plan::digest::Stamp::parse(&text)
}

/// Writes the record of a failed step (the output must already be masked).
pub fn write_failed(dir: &Path, env: &str, failure: &Failure) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(failure)
        .context("serializing the plan failure record")
        .classify(FailureKind::OperationFailed)?;
    write_atomically(&env_dir(dir, env).join(ERROR_FILE), &text)
}

/// Reads `env`'s record under `dir`. A missing record is reported as a failure of the plan job
/// (it left nothing behind), not as an error of this command.
pub fn read(dir: &Path, env: &str) -> anyhow::Result<Record> {
    let dir = env_dir(dir, env);
    let error = dir.join(ERROR_FILE);
    let plan = dir.join(PLAN_FILE);
    if plan.is_file() {
        let plan_json = std::fs::read(&plan)
            .with_context(|| format!("reading {}", plan.display()))
            .classify(FailureKind::Config)?;
        let text_path = dir.join(TEXT_FILE);
        let text = match std::fs::read_to_string(&text_path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(error) => {
                return Err(fail(
                    FailureKind::Config,
                    format!("reading {}: {error}", text_path.display()),
                ));
            }
        };
        return Ok(Record::Planned { plan_json, text });
    }
    if error.is_file() {
        let text = std::fs::read_to_string(&error)
            .with_context(|| format!("reading {}", error.display()))
            .classify(FailureKind::Config)?;
        let failure: Failure = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a plan failure record", error.display()))
            .classify(FailureKind::Config)?;
        return Ok(Record::Failed(failure));
    }
    Ok(Record::Failed(Failure {
        step: "plan".to_owned(),
        output: format!(
            "Error: no plan result\n\nThe plan job left no record for {env} (expected {} or {}); see its log in the run.",
            plan.display(),
            error.display()
        ),
    }))
}

/// The plan JSON with only what the summary reads, and no value: each top-level attribute of a
/// resource's `before`/`after` becomes `0`, or `1` in `after` when it differs from `before`;
/// `after_unknown` (booleans) is kept; sensitive output values become `null`.
pub fn reduce(plan_json: &[u8]) -> anyhow::Result<String> {
    #[derive(Deserialize)]
    struct Document {
        #[serde(default)]
        format_version: Option<String>,
        #[serde(default)]
        planned_values: Option<serde::de::IgnoredAny>,
        #[serde(default)]
        complete: Option<bool>,
        #[serde(default)]
        deferred_changes: Option<Vec<serde::de::IgnoredAny>>,
        #[serde(default)]
        terraform_version: String,
        #[serde(default)]
        errored: bool,
        #[serde(default)]
        resource_changes: Vec<Value>,
        #[serde(default)]
        resource_drift: Vec<Value>,
        #[serde(default)]
        output_changes: Map<String, Value>,
    }
    let document: Document = serde_json::from_slice(plan_json)
        .context("the plan is not `terraform show -json` output")
        .classify(FailureKind::OperationFailed)?;
    // What tells the reader that this is a plan (its format and that it has planned values) is
    // kept; the planned values themselves, and the deferred changes, are not.
    let mut reduced = json!({
        "format_version": document.format_version,
        "terraform_version": document.terraform_version,
        "errored": document.errored,
        "resource_changes": document.resource_changes.into_iter().map(reduce_resource).collect::<Vec<_>>(),
        "resource_drift": document.resource_drift.into_iter().map(reduce_resource).collect::<Vec<_>>(),
        "output_changes": document.output_changes.into_iter().map(|(name, change)| (name, reduce_output(change))).collect::<Map<_, _>>(),
    });
    if let Value::Object(map) = &mut reduced {
        if document.planned_values.is_some() {
            map.insert("planned_values".to_owned(), json!({}));
        }
        if let Some(complete) = document.complete {
            map.insert("complete".to_owned(), Value::Bool(complete));
        }
        if let Some(deferred) = document.deferred_changes {
            map.insert(
                "deferred_changes".to_owned(),
                Value::Array(vec![json!({}); deferred.len()]),
            );
        }
    }
    serde_json::to_string(&reduced)
        .context("serializing the reduced plan")
        .classify(FailureKind::OperationFailed)
}

const RESOURCE_KEYS: [&str; 7] = [
    "address",
    "deposed",
    "previous_address",
    "mode",
    "type",
    "action_reason",
    "change",
];
const CHANGE_KEYS: [&str; 4] = ["actions", "after_unknown", "importing", "replace_paths"];

fn reduce_resource(resource: Value) -> Value {
    let Value::Object(mut resource) = resource else {
        return Value::Null;
    };
    resource.retain(|key, _| RESOURCE_KEYS.contains(&key.as_str()));
    if let Some(Value::Object(change)) = resource.get_mut("change") {
        let before = change.remove("before");
        let after = change.remove("after");
        change.retain(|key, _| CHANGE_KEYS.contains(&key.as_str()));
        let (before, after) = markers(before.as_ref(), after.as_ref());
        change.insert("before".to_owned(), before);
        change.insert("after".to_owned(), after);
    }
    Value::Object(resource)
}

/// `0` for every top-level attribute, and `1` in `after` where it differs from `before`.
fn markers(before: Option<&Value>, after: Option<&Value>) -> (Value, Value) {
    let as_map = |value: Option<&Value>| match value {
        Some(Value::Object(map)) => Some(map.clone()),
        _ => None,
    };
    let (before, after) = (as_map(before), as_map(after));
    let names: BTreeSet<&String> = before
        .iter()
        .flat_map(|m| m.keys())
        .chain(after.iter().flat_map(|m| m.keys()))
        .collect();
    let mut reduced_before = Map::new();
    let mut reduced_after = Map::new();
    for name in names {
        let old = before.as_ref().and_then(|m| m.get(name));
        let new = after.as_ref().and_then(|m| m.get(name));
        if old.is_some() {
            reduced_before.insert(name.clone(), json!(0));
        }
        if new.is_some() {
            reduced_after.insert(name.clone(), json!(if old == new { 0 } else { 1 }));
        }
    }
    let wrap = |present: bool, map: Map<String, Value>| {
        if present {
            Value::Object(map)
        } else {
            Value::Null
        }
    };
    (
        wrap(before.is_some(), reduced_before),
        wrap(after.is_some(), reduced_after),
    )
}

fn reduce_output(change: Value) -> Value {
    let Value::Object(mut change) = change else {
        return Value::Null;
    };
    let sensitive = change.get("before_sensitive").is_some_and(any_sensitive)
        || change.get("after_sensitive").is_some_and(any_sensitive);
    if sensitive {
        change.insert("before".to_owned(), Value::Null);
        change.insert("after".to_owned(), Value::Null);
    }
    Value::Object(change)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::model::Plan;
    use crate::plan::summary::Summary;

    const PLAN: &str = r#"{
      "format_version": "1.2",
      "terraform_version": "1.11.4",
      "planned_values": {"root_module": {"resources": [{"values": {"password": "hunter2-planned"}}]}},
      "prior_state": {"values": {"password": "hunter2-prior"}},
      "configuration": {"provider_config": {}},
      "variables": {"db_password": {"value": "hunter2-variable"}},
      "resource_changes": [
        {"address": "aws_db_instance.main", "mode": "managed", "type": "aws_db_instance", "name": "main",
         "change": {"actions": ["update"],
                    "before": {"password": "hunter2-old", "size": 10, "tags": {"a": "b"}},
                    "after": {"password": "hunter2-new", "size": 10, "tags": {"a": "b"}},
                    "after_unknown": {"arn": true}, "before_sensitive": {"password": true},
                    "after_sensitive": {"password": true}}},
        {"address": "terraform_data.gone", "mode": "managed", "type": "terraform_data", "name": "gone",
         "change": {"actions": ["delete"], "before": {"input": "hunter2-gone"}, "after": null}}
      ],
      "output_changes": {
        "secret": {"actions": ["update"], "before": "hunter2-out-old", "after": "hunter2-out-new",
                   "before_sensitive": true, "after_sensitive": true},
        "url": {"actions": ["create"], "before": null, "after": "https://example.test",
                "before_sensitive": false, "after_sensitive": false}
      }
    }"#;

    #[test]
    fn the_reduced_plan_holds_no_value_and_summarizes_the_same() {
        let reduced = reduce(PLAN.as_bytes()).unwrap();
        assert!(!reduced.contains("hunter2"), "{reduced}");
        assert!(reduced.contains("https://example.test"));
        let original = Summary::from_plan(&Plan::from_slice(PLAN.as_bytes()).unwrap());
        let again = Summary::from_plan(&Plan::from_slice(reduced.as_bytes()).unwrap());
        assert_eq!(original.plan_line(), again.plan_line());
        assert_eq!(original.destroyed(), again.destroyed());
        let changed = |plan: &str| {
            Plan::from_slice(plan.as_bytes()).unwrap().resource_changes[0]
                .change
                .changed_attributes()
        };
        assert_eq!(changed(PLAN), changed(&reduced));
        assert_eq!(changed(&reduced), vec!["arn", "password"]);
    }

    #[test]
    fn records_round_trip_and_a_missing_one_is_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        write_planned(
            dir.path(),
            "dev",
            PLAN.as_bytes(),
            "Plan: 0 to add https://example.test",
            |t| t.replace("example.test", "***"),
        )
        .unwrap();
        match read(dir.path(), "dev").unwrap() {
            Record::Planned { plan_json, text } => {
                let plan_json = String::from_utf8(plan_json).unwrap();
                assert!(!plan_json.contains("hunter2"));
                assert!(!plan_json.contains("example.test"), "masked: {plan_json}");
                assert_eq!(text, "Plan: 0 to add https://***");
            }
            other => panic!("{other:?}"),
        }
        let failure = Failure {
            step: "init".to_owned(),
            output: "Error: nope".to_owned(),
        };
        write_failed(dir.path(), "prod", &failure).unwrap();
        assert_eq!(read(dir.path(), "prod").unwrap(), Record::Failed(failure));
        match read(dir.path(), "stage").unwrap() {
            Record::Failed(failure) => assert!(failure.output.contains("no plan result")),
            other => panic!("{other:?}"),
        }
    }
}
