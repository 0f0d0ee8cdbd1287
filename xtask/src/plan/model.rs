//! The parts of `terraform show -json` that the summary and the comment need.
//!
//! Plans of tens of thousands of resources are common in big monorepos, so nothing here holds the
//! whole document as a `serde_json::Value`: `planned_values`, `prior_state` and `configuration`
//! are skipped while parsing, and resource attribute values are reduced to a digest per top-level
//! attribute (enough to name the attributes that change, never enough to leak a value). Only
//! output values are kept, because the comment shows them (masked when sensitive).

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{DefaultHasher, Hash, Hasher};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// A `terraform show -json <planfile>` document.
#[derive(Debug, Default, Deserialize)]
pub struct Plan {
    /// The version of the JSON format: `1.x` since Terraform 1.1, `0.2` from Terraform 1.0.
    #[serde(default)]
    pub format_version: Option<String>,
    #[serde(default)]
    pub terraform_version: String,
    #[serde(default)]
    pub resource_changes: Vec<ResourceChange>,
    #[serde(default)]
    pub resource_drift: Vec<ResourceChange>,
    #[serde(default)]
    pub output_changes: BTreeMap<String, OutputChange>,
    #[serde(default)]
    pub errored: bool,
    /// `false` for a targeted plan and one with deferred changes (absent before Terraform 1.8).
    #[serde(default)]
    pub complete: Option<bool>,
    /// Changes terraform could not plan yet (unknown `count`/`for_each`, providers that defer);
    /// only how many there are is kept.
    #[serde(default, deserialize_with = "count_items")]
    pub deferred_changes: usize,
    /// Present in every plan (even one without changes); only its presence is read.
    #[serde(default)]
    planned_values: Option<de::IgnoredAny>,
    /// Present in a state (`terraform show -json` without a plan file), never in a plan.
    #[serde(default)]
    values: Option<de::IgnoredAny>,
}

/// Why a document is not a plan this tool can read.
#[derive(Debug)]
pub enum PlanError {
    /// Not JSON, or JSON of the wrong shape somewhere inside.
    Json(serde_json::Error),
    /// JSON, but not an object (`[]`, `"x"`, `null`).
    NotAnObject,
    /// An object without `format_version` (`{}`, or some other tool's JSON).
    NoFormatVersion,
    /// A `format_version` whose major version this tool does not know.
    UnknownFormat(String),
    /// A state: `terraform show -json` run without a plan file.
    State,
    /// An object with a `format_version` but no `planned_values`: not a plan.
    NotAPlan,
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Json(error) => write!(f, "it is not valid plan JSON: {error}"),
            PlanError::NotAnObject => f.write_str(
                "it is JSON but not an object, so not the output of `terraform show -json <planfile>`",
            ),
            PlanError::NoFormatVersion => f.write_str(
                "it has no `format_version`, so it is not the output of `terraform show -json <planfile>`",
            ),
            PlanError::UnknownFormat(version) => write!(
                f,
                "its `format_version` is {version:?}; this tool reads the plan formats of Terraform 1.x (0.2 and 1.x)"
            ),
            PlanError::State => f.write_str(
                "it is a state (`terraform show -json` without a plan file), not a plan; run `terraform show -json <planfile>`",
            ),
            PlanError::NotAPlan => f.write_str(
                "it has no `planned_values`, so it is not the output of `terraform show -json <planfile>`",
            ),
        }
    }
}

impl std::error::Error for PlanError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PlanError::Json(error) => Some(error),
            _ => None,
        }
    }
}

impl Plan {
    /// Parses a `terraform show -json <planfile>` document, refusing anything else: a document
    /// that is not a plan must never read as "no changes".
    pub fn from_slice(bytes: &[u8]) -> Result<Plan, PlanError> {
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{') {
            // Valid JSON of another kind says so; anything else gets serde's own message.
            return Err(match serde_json::from_slice::<de::IgnoredAny>(bytes) {
                Ok(_) => PlanError::NotAnObject,
                Err(error) => PlanError::Json(error),
            });
        }
        let plan: Plan = serde_json::from_slice(bytes).map_err(PlanError::Json)?;
        let Some(version) = plan.format_version.as_deref() else {
            return Err(PlanError::NoFormatVersion);
        };
        if plan.planned_values.is_none() && plan.values.is_some() {
            return Err(PlanError::State);
        }
        if !known_format(version) {
            return Err(PlanError::UnknownFormat(version.to_owned()));
        }
        if plan.planned_values.is_none() {
            return Err(PlanError::NotAPlan);
        }
        Ok(plan)
    }
}

/// Terraform 1.0 writes `0.2`; 1.1 and later write `1.x`, where a minor version only adds.
fn known_format(version: &str) -> bool {
    let mut parts = version.split('.');
    let (Some(major), Some(minor), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor) && (major == "1" || (major == "0" && minor == "2"))
}

#[derive(Debug, Deserialize)]
pub struct ResourceChange {
    pub address: String,
    #[serde(default)]
    pub previous_address: Option<String>,
    /// `managed` or `data`.
    #[serde(default)]
    pub mode: String,
    #[serde(rename = "type", default)]
    pub resource_type: String,
    pub change: Change,
    #[serde(default)]
    pub action_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    pub actions: Vec<Action>,
    #[serde(default)]
    pub before: Option<Attributes>,
    #[serde(default)]
    pub after: Option<Attributes>,
    /// Which top-level attributes are (wholly or partly) unknown until apply.
    #[serde(default)]
    pub after_unknown: Option<Unknowns>,
    #[serde(default)]
    pub importing: Option<Importing>,
    /// Attribute paths that force the replacement; only the first step of each path is kept.
    #[serde(default, deserialize_with = "first_path_steps")]
    pub replace_paths: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Importing {
    #[serde(default)]
    pub id: Option<String>,
}

/// Terraform's change actions (`actions` is a list of these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    NoOp,
    Create,
    Read,
    Update,
    Delete,
    Forget,
    #[serde(other)]
    Unknown,
}

/// What a resource change does, from its `actions` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    NoOp,
    Create,
    Read,
    Update,
    /// `["delete", "create"]`: destroy, then create.
    DeleteThenCreate,
    /// `["create", "delete"]` (`create_before_destroy`).
    CreateThenDelete,
    Delete,
    Forget,
    Unknown,
}

impl Change {
    pub fn kind(&self) -> Kind {
        match self.actions.as_slice() {
            [] | [Action::NoOp] => Kind::NoOp,
            [Action::Create] => Kind::Create,
            [Action::Read] => Kind::Read,
            [Action::Update] => Kind::Update,
            [Action::Delete] => Kind::Delete,
            [Action::Forget] => Kind::Forget,
            [Action::Delete, Action::Create] => Kind::DeleteThenCreate,
            [Action::Create, Action::Delete] => Kind::CreateThenDelete,
            _ => Kind::Unknown,
        }
    }

    /// Top-level attributes whose value changes or becomes unknown, sorted.
    pub fn changed_attributes(&self) -> Vec<String> {
        let empty = Attributes::default();
        let no_unknowns = Unknowns::default();
        let before = self.before.as_ref().unwrap_or(&empty);
        let after = self.after.as_ref().unwrap_or(&empty);
        let unknown = self.after_unknown.as_ref().unwrap_or(&no_unknowns);
        let mut names: Vec<String> = before
            .0
            .keys()
            .chain(after.0.keys())
            .chain(unknown.0.keys())
            .filter(|name| {
                // Like terraform's renderer: a value is unknown only where `after_unknown` holds
                // `true`; a known nested value appears there as `false`, `[false]` or `{}`.
                let unknown_now = unknown.0.get(*name).copied().unwrap_or(false);
                unknown_now || before.0.get(*name) != after.0.get(*name)
            })
            .cloned()
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

#[derive(Debug, Deserialize)]
pub struct OutputChange {
    pub actions: Vec<Action>,
    #[serde(default)]
    pub before: serde_json::Value,
    #[serde(default)]
    pub after: serde_json::Value,
    #[serde(default)]
    pub after_unknown: serde_json::Value,
    #[serde(default)]
    pub before_sensitive: serde_json::Value,
    #[serde(default)]
    pub after_sensitive: serde_json::Value,
}

/// Whether a `*_sensitive` mask marks anything at all as sensitive.
pub fn any_sensitive(mask: &serde_json::Value) -> bool {
    match mask {
        serde_json::Value::Bool(flag) => *flag,
        serde_json::Value::Array(items) => items.iter().any(any_sensitive),
        serde_json::Value::Object(map) => map.values().any(any_sensitive),
        _ => false,
    }
}

/// Every string inside a value, so that sensitive values can be added to the masks.
pub fn strings_in(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(text) => out.push(text.clone()),
        serde_json::Value::Number(number) => out.push(number.to_string()),
        serde_json::Value::Array(items) => items.iter().for_each(|item| strings_in(item, out)),
        serde_json::Value::Object(map) => map.values().for_each(|item| strings_in(item, out)),
        _ => {}
    }
}

/// A resource object reduced to one digest per top-level attribute. Anything that is not an
/// object (null, or a shape we do not expect) becomes empty.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Attributes(pub BTreeMap<String, Digest>);

impl<'de> Deserialize<'de> for Attributes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AttributesVisitor;
        impl<'de> Visitor<'de> for AttributesVisitor {
            type Value = Attributes;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a resource object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Attributes, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((key, digest)) = map.next_entry::<String, Digest>()? {
                    out.insert(key, digest);
                }
                Ok(Attributes(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Attributes, E> {
                Ok(Attributes::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Attributes, E> {
                Ok(Attributes::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Attributes, E> {
                Ok(Attributes::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Attributes, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Attributes::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Attributes, E> {
                Ok(Attributes::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Attributes, E> {
                Ok(Attributes::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Attributes, E> {
                Ok(Attributes::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Attributes, E> {
                Ok(Attributes::default())
            }
        }
        deserializer.deserialize_any(AttributesVisitor)
    }
}

/// `after_unknown` reduced to one flag per top-level attribute: whether `true` appears anywhere
/// in it (the attribute, or a part of it, is known only after apply).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Unknowns(pub BTreeMap<String, bool>);

impl<'de> Deserialize<'de> for Unknowns {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UnknownsVisitor;
        impl<'de> Visitor<'de> for UnknownsVisitor {
            type Value = Unknowns;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an after_unknown object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unknowns, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((key, AnyTrue(unknown))) = map.next_entry::<String, AnyTrue>()? {
                    out.insert(key, unknown);
                }
                Ok(Unknowns(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Unknowns, E> {
                Ok(Unknowns::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Unknowns, E> {
                Ok(Unknowns::default())
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Unknowns, E> {
                Ok(Unknowns::default())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unknowns, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Unknowns::default())
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Unknowns, E> {
                Ok(Unknowns::default())
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Unknowns, E> {
                Ok(Unknowns::default())
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Unknowns, E> {
                Ok(Unknowns::default())
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Unknowns, E> {
                Ok(Unknowns::default())
            }
        }
        deserializer.deserialize_any(UnknownsVisitor)
    }
}

/// Whether a JSON value holds `true` anywhere (an `after_unknown` or `*_sensitive` mask),
/// computed while parsing.
struct AnyTrue(bool);

impl<'de> Deserialize<'de> for AnyTrue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AnyTrueVisitor;
        impl<'de> Visitor<'de> for AnyTrueVisitor {
            type Value = AnyTrue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<AnyTrue, E> {
                Ok(AnyTrue(value))
            }
            fn visit_unit<E: de::Error>(self) -> Result<AnyTrue, E> {
                Ok(AnyTrue(false))
            }
            fn visit_none<E: de::Error>(self) -> Result<AnyTrue, E> {
                Ok(AnyTrue(false))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<AnyTrue, E> {
                Ok(AnyTrue(false))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<AnyTrue, E> {
                Ok(AnyTrue(false))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<AnyTrue, E> {
                Ok(AnyTrue(false))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<AnyTrue, E> {
                Ok(AnyTrue(false))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AnyTrue, A::Error> {
                let mut any = false;
                while let Some(AnyTrue(item)) = seq.next_element::<AnyTrue>()? {
                    any |= item;
                }
                Ok(AnyTrue(any))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AnyTrue, A::Error> {
                let mut any = false;
                while let Some((de::IgnoredAny, AnyTrue(item))) =
                    map.next_entry::<de::IgnoredAny, AnyTrue>()?
                {
                    any |= item;
                }
                Ok(AnyTrue(any))
            }
        }
        deserializer.deserialize_any(AnyTrueVisitor)
    }
}

/// A 64-bit digest of a JSON value, computed while parsing (the value is never stored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest(u64);

impl Digest {
    /// The 64-bit value, for the change-set digest (`plan::digest`).
    pub fn value(self) -> u64 {
        self.0
    }

    fn of<T: Hash>(tag: u8, value: T) -> Digest {
        let mut hasher = DefaultHasher::new();
        tag.hash(&mut hasher);
        value.hash(&mut hasher);
        Digest(hasher.finish())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DigestVisitor;
        impl<'de> Visitor<'de> for DigestVisitor {
            type Value = Digest;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Digest, E> {
                Ok(Digest::of(0, ()))
            }
            fn visit_none<E: de::Error>(self) -> Result<Digest, E> {
                Ok(Digest::of(0, ()))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Digest, E> {
                Ok(Digest::of(1, value))
            }
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Digest, E> {
                Ok(Digest::of(2, value.to_string()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Digest, E> {
                Ok(Digest::of(2, value.to_string()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Digest, E> {
                Ok(Digest::of(2, value.to_string()))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Digest, E> {
                Ok(Digest::of(3, value))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Digest, A::Error> {
                let mut hasher = DefaultHasher::new();
                4u8.hash(&mut hasher);
                while let Some(Digest(item)) = seq.next_element::<Digest>()? {
                    item.hash(&mut hasher);
                }
                Ok(Digest(hasher.finish()))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Digest, A::Error> {
                // Order-independent, since JSON objects are unordered.
                let mut combined: u64 = 0;
                while let Some((KeyDigest(key), Digest(value))) =
                    map.next_entry::<KeyDigest, Digest>()?
                {
                    combined = combined.wrapping_add(Digest::of(5, (key, value)).0);
                }
                Ok(Digest::of(6, combined))
            }
        }
        deserializer.deserialize_any(DigestVisitor)
    }
}

/// The digest of an object key, computed from the borrowed text: nested keys are never
/// allocated.
struct KeyDigest(u64);

impl<'de> Deserialize<'de> for KeyDigest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = KeyDigest;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<KeyDigest, E> {
                let mut hasher = DefaultHasher::new();
                value.hash(&mut hasher);
                Ok(KeyDigest(hasher.finish()))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

fn count_items<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    let items: Option<Vec<de::IgnoredAny>> = Option::deserialize(deserializer)?;
    Ok(items.map_or(0, |items| items.len()))
}

fn first_path_steps<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let paths: Option<Vec<Vec<serde_json::Value>>> = Option::deserialize(deserializer)?;
    let mut steps: Vec<String> = paths
        .unwrap_or_default()
        .into_iter()
        .filter_map(|path| match path.into_iter().next() {
            Some(serde_json::Value::String(step)) => Some(step),
            _ => None,
        })
        .collect();
    steps.sort();
    steps.dedup();
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_attributes_come_from_digests() {
        let plan = Plan::from_slice(
            br#"{"format_version":"1.2","resource_changes":[{"address":"a.b","mode":"managed","type":"a","change":{
                "actions":["update"],
                "before":{"id":"1","input":{"x":[1,2]},"same":{"k":"v","l":"w"}},
                "after":{"id":"1","input":{"x":[2,1]},"same":{"l":"w","k":"v"}},
                "after_unknown":{"output":true,"same":false},
                "replace_paths":[["input","x"],["input"]]}}],
              "planned_values":{"huge":[1,2,3]}}"#,
        )
        .unwrap();
        let change = &plan.resource_changes[0].change;
        assert_eq!(change.kind(), Kind::Update);
        assert_eq!(change.changed_attributes(), ["input", "output"]);
        assert_eq!(change.replace_paths, ["input"]);
    }

    #[test]
    fn known_nested_values_in_after_unknown_are_not_unknown() {
        let plan = Plan::from_slice(
            br#"{"format_version":"1.2","planned_values":{},"resource_changes":[{"address":"a.b","mode":"managed","type":"a","change":{
                "actions":["update"],
                "before":{"list":[1],"map":{"k":"v"},"obj":{"a":[1]},"part":{"a":1},"name":"x"},
                "after":{"list":[1],"map":{"k":"v"},"obj":{"a":[1]},"part":{},"name":"y"},
                "after_unknown":{"list":[false],"map":{},"obj":{"a":[false]},"part":{"a":true}}}}]}"#,
        )
        .unwrap();
        assert_eq!(
            plan.resource_changes[0].change.changed_attributes(),
            ["name", "part"]
        );
    }

    #[test]
    fn documents_that_are_not_plans_are_refused() {
        let refused = |json: &str| Plan::from_slice(json.as_bytes()).unwrap_err().to_string();
        assert!(refused("[]").contains("not an object"));
        assert!(refused("null").contains("not an object"));
        assert!(refused("{}").contains("no `format_version`"));
        assert!(refused("not json").contains("not valid plan JSON"));
        // `terraform show -json` of a state, empty or not.
        assert!(
            refused(r#"{"format_version":"1.0","values":{"root_module":{}}}"#)
                .contains("is a state")
        );
        assert!(refused(r#"{"format_version":"1.0"}"#).contains("no `planned_values`"));
        for version in ["2.0", "0.1", "1", "one", ""] {
            let json = format!(r#"{{"format_version":"{version}","planned_values":{{}}}}"#);
            assert!(refused(&json).contains("`format_version`"), "{version}");
        }
        for version in ["0.2", "1.0", "1.1", "1.2", "1.7"] {
            let json = format!(r#"{{"format_version":"{version}","planned_values":{{}}}}"#);
            assert!(Plan::from_slice(json.as_bytes()).is_ok(), "{version}");
        }
    }
}
