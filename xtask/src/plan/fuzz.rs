//! Property tests: no plan JSON, however mangled, panics the reader, the summary or the
//! renderers. The inputs start from a real plan (`testdata/mixed.plan.json`) with random subtrees
//! replaced by random JSON, so they reach deep into the reader instead of failing at the first key.

use super::mask::Masker;
use super::model::Plan;
use super::render::{COMMENT_LIMIT, Completeness, Context, render_plan};
use super::summary::{Summary, sensitive_strings};
use proptest::prelude::*;
use serde_json::Value;

const MIXED_JSON: &str = include_str!("testdata/mixed.plan.json");

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "[a-z_.\\[\\]\"`<>@!-]{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("create"),
            Just("delete"),
            Just("update"),
            Just("no-op"),
            Just("read"),
            Just("forget")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// Every node of `value` in a fixed pre-order, as JSON pointers.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    out.push(at.clone());
    match value {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{index}"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let key = key.replace('~', "~0").replace('/', "~1");
                pointers(item, format!("{at}/{key}"), out);
            }
        }
        _ => {}
    }
}

fn exercise(bytes: &[u8]) {
    let Ok(plan) = Plan::from_slice(bytes) else {
        return;
    };
    let summary = Summary::from_plan(&plan);
    let _ = summary.to_json("dev");
    let _ = summary.plan_line();
    let mut masker = Masker::new(&[], |_| None).unwrap_or_else(|error| panic!("{error}"));
    for value in sensitive_strings(&plan) {
        masker.add_literal(&value);
    }
    let everything = Completeness {
        addresses: true,
        outputs: true,
        details: true,
    };
    let context = Context {
        limit: COMMENT_LIMIT,
        ..Context::comment("dev", None, everything)
    };
    let _ = render_plan(&summary, Some("text"), &masker, &context);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn a_mangled_plan_never_panics(
        replacements in proptest::collection::vec((any::<prop::sample::Index>(), any_json()), 1..6)
    ) {
        let mut plan: Value = serde_json::from_str(MIXED_JSON).unwrap_or_else(|e| panic!("{e}"));
        for (index, replacement) in replacements {
            let mut all = Vec::new();
            pointers(&plan, String::new(), &mut all);
            let pointer = index.get(&all).clone();
            if pointer.is_empty() {
                continue;
            }
            if let Some(slot) = plan.pointer_mut(&pointer) {
                *slot = replacement;
            }
        }
        let bytes = serde_json::to_vec(&plan).unwrap_or_else(|e| panic!("{e}"));
        exercise(&bytes);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }
}
