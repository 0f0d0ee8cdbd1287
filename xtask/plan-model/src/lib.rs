//! The parts of `terraform show -json` that `cargo xtask`'s plan summary, change-set digest
//! ([`digest`]) and drift report need.
//!
//! Plans of tens of thousands of resources are common in big monorepos, so nothing here holds the
//! whole document as a `serde_json::Value`: `planned_values` and `prior_state` are skipped while
//! parsing, and the configuration, the variables and resource attribute values are reduced to
//! digests, one per top-level attribute (enough to name the attributes that change and to tell
//! the reviewed change set from another; a digest is never printed, since a short value is kept
//! in its encoded form). Only output values are kept, because the comment shows them (masked
//! when sensitive).

pub mod digest;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use sha2::{Digest as _, Sha256};

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
    /// The configuration (resources' expressions, provisioners, provider settings, module calls)
    /// and the input variables, each reduced to a digest: an apply runs them besides the
    /// resource changes, so the change-set digest covers them.
    #[serde(default)]
    pub configuration: Option<Digest>,
    #[serde(default)]
    pub variables: Option<Digest>,
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
    /// Set when the change is to a deposed object (one left behind by a failed
    /// `create_before_destroy` replacement), which shares the address of the current object.
    #[serde(default)]
    pub deposed: Option<String>,
}

impl ResourceChange {
    /// The object the change is to: the address, or the address and the deposed key, since a
    /// plan may change both the current and a deposed object of one address.
    pub fn object(&self) -> Cow<'_, str> {
        match &self.deposed {
            None => Cow::Borrowed(&self.address),
            Some(key) => Cow::Owned(format!("{} (deposed object {key})", self.address)),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(from = "RawChange")]
pub struct Change {
    pub actions: Vec<Action>,
    /// The top-level attributes whose value changes or becomes unknown, in name order: computed
    /// once while parsing, when the attribute maps are at hand, instead of for each reader (the
    /// summary, the change-set digest, drift); the maps themselves are not kept.
    pub attributes: Vec<AttributeChange>,
    pub importing: Option<Importing>,
    /// Attribute paths that force the replacement; only the first step of each path is kept.
    pub replace_paths: Vec<String>,
}

/// `change` as it is in the plan JSON.
#[derive(Deserialize)]
struct RawChange {
    actions: Vec<Action>,
    #[serde(default)]
    before: Option<Attributes>,
    #[serde(default)]
    after: Option<Attributes>,
    /// Which top-level attributes are (wholly or partly) unknown until apply.
    #[serde(default)]
    after_unknown: Option<Unknowns>,
    #[serde(default)]
    importing: Option<Importing>,
    #[serde(default, deserialize_with = "first_path_steps")]
    replace_paths: Vec<String>,
}

impl From<RawChange> for Change {
    fn from(raw: RawChange) -> Change {
        Change {
            actions: raw.actions,
            attributes: attribute_changes(raw.before, raw.after, raw.after_unknown),
            importing: raw.importing,
            replace_paths: raw.replace_paths,
        }
    }
}

/// Each top-level attribute that changes, in name order, with its digests before and after and
/// whether it is unknown until apply. Like terraform's renderer, a value is unknown only where
/// `after_unknown` holds `true`; a known nested value appears there as `false`, `[false]` or `{}`.
/// One merge of the three name-ordered maps, moving the names out of them.
fn attribute_changes(
    before: Option<Attributes>,
    after: Option<Attributes>,
    unknown: Option<Unknowns>,
) -> Vec<AttributeChange> {
    let mut before = before.into_iter().flat_map(|a| a.0).peekable();
    let mut after = after.into_iter().flat_map(|a| a.0).peekable();
    let mut unknown = unknown.into_iter().flat_map(|u| u.0).peekable();
    let mut changes = Vec::new();
    loop {
        let next = [before.peek(), after.peek()]
            .into_iter()
            .flatten()
            .map(|(name, _)| name)
            .chain(unknown.peek().map(|(name, _)| name))
            .min()
            .cloned();
        let Some(name) = next else {
            break;
        };
        let before = before.next_if(|(n, _)| *n == name).map(|(_, d)| d);
        let after = after.next_if(|(n, _)| *n == name).map(|(_, d)| d);
        let unknown = unknown
            .next_if(|(n, _)| *n == name)
            .is_some_and(|(_, unknown)| unknown);
        if unknown || before != after {
            changes.push(AttributeChange {
                name,
                before,
                after,
                unknown,
            });
        }
    }
    changes
}

/// One changed top-level attribute of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeChange {
    pub name: String,
    pub before: Option<Digest>,
    pub after: Option<Digest>,
    /// Known only after apply (wholly or partly).
    pub unknown: bool,
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

    /// The names of the top-level attributes whose value changes or becomes unknown, sorted.
    pub fn changed_attributes(&self) -> Vec<String> {
        self.attributes.iter().map(|a| a.name.clone()).collect()
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

/// The digest of a JSON value, computed while parsing (the value is never stored): SHA-256 over a
/// canonical encoding, so that equal values have equal digests on every machine and toolchain
/// (object keys in any order, as JSON objects are unordered) and different values share one only
/// if SHA-256 collides. `apply` relies on this: the change-set digest built from these decides
/// whether the merged plan is the reviewed one, so a 64-bit or toolchain-dependent hash (as
/// `std`'s `DefaultHasher` is) would let a crafted value pass for another, or refuse a good apply
/// after a Rust upgrade.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Digest(Form);

/// A scalar whose encoding fits is kept as that encoding, since hashing each of a big plan's
/// millions of short strings and numbers would cost more than parsing them; anything longer is
/// hashed. A value has exactly one form, so comparing forms compares values.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Form {
    Inline { len: u8, bytes: [u8; INLINE] },
    Hashed([u8; 32]),
}

const INLINE: usize = 31;

impl Digest {
    /// Feeds the digest to a hasher in a prefix-free form: the change-set digest (`plan::digest`)
    /// and the digests of arrays and objects are built from these.
    pub fn feed(&self, hasher: &mut Sha256) {
        match &self.0 {
            Form::Inline { len, bytes } => {
                hasher.update([0, *len]);
                hasher.update(&bytes[..usize::from(*len)]);
            }
            Form::Hashed(hash) => {
                hasher.update([1]);
                hasher.update(hash);
            }
        }
    }

    /// The digest of a scalar: its tag, then its canonical bytes.
    fn scalar(tag: u8, content: &[u8]) -> Digest {
        if content.len() < INLINE {
            let mut bytes = [0; INLINE];
            bytes[0] = tag;
            bytes[1..=content.len()].copy_from_slice(content);
            // Fits in a u8: content.len() + 1 <= INLINE.
            let len = (content.len() + 1) as u8;
            return Digest(Form::Inline { len, bytes });
        }
        let mut hasher = Sha256::new();
        hasher.update([tag]);
        hasher.update(content);
        Digest(Form::Hashed(hasher.finalize().into()))
    }
}

/// A digest may hold a short value itself (a sensitive one too): it is never shown.
impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("Digest(..)")
    }
}

// One tag per JSON kind, so that `"1"`, `1` and `[1]` differ.
const TAG_NULL: u8 = 0;
const TAG_BOOL: u8 = 1;
const TAG_NUMBER: u8 = 2;
const TAG_STRING: u8 = 3;
const TAG_ARRAY: u8 = 4;
const TAG_OBJECT: u8 = 5;

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DigestVisitor;
        impl<'de> Visitor<'de> for DigestVisitor {
            type Value = Digest;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Digest, E> {
                Ok(Digest::scalar(TAG_NULL, &[]))
            }
            fn visit_none<E: de::Error>(self) -> Result<Digest, E> {
                Ok(Digest::scalar(TAG_NULL, &[]))
            }
            fn visit_bool<E: de::Error>(self, value: bool) -> Result<Digest, E> {
                Ok(Digest::scalar(TAG_BOOL, &[u8::from(value)]))
            }
            // Numbers by their shortest text, so that `1`, `1.0` and `1e0` are one number.
            fn visit_i64<E: de::Error>(self, value: i64) -> Result<Digest, E> {
                Ok(Digest::scalar(TAG_NUMBER, value.to_string().as_bytes()))
            }
            fn visit_u64<E: de::Error>(self, value: u64) -> Result<Digest, E> {
                Ok(Digest::scalar(TAG_NUMBER, value.to_string().as_bytes()))
            }
            fn visit_f64<E: de::Error>(self, value: f64) -> Result<Digest, E> {
                Ok(Digest::scalar(TAG_NUMBER, value.to_string().as_bytes()))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Digest, E> {
                Ok(Digest::scalar(TAG_STRING, value.as_bytes()))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Digest, A::Error> {
                let mut hasher = Sha256::new();
                hasher.update([TAG_ARRAY]);
                while let Some(item) = seq.next_element::<Digest>()? {
                    item.feed(&mut hasher);
                }
                Ok(Digest(Form::Hashed(hasher.finalize().into())))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Digest, A::Error> {
                let mut entries: Vec<(Key<'de>, Digest)> = Vec::new();
                while let Some(entry) = map.next_entry::<Key<'de>, Digest>()? {
                    entries.push(entry);
                }
                // Terraform writes keys sorted; sort anyway, since JSON objects are unordered.
                if !entries.is_sorted_by(|a, b| a.0.0 <= b.0.0) {
                    entries.sort_unstable_by(|a, b| a.0.0.cmp(&b.0.0));
                }
                let mut hasher = Sha256::new();
                hasher.update([TAG_OBJECT]);
                for (Key(key), value) in &entries {
                    hasher.update((key.len() as u64).to_le_bytes());
                    hasher.update(key.as_bytes());
                    value.feed(&mut hasher);
                }
                Ok(Digest(Form::Hashed(hasher.finalize().into())))
            }
        }
        deserializer.deserialize_any(DigestVisitor)
    }
}

/// An object key, borrowed from the document when it has no escapes: nested keys are rarely
/// allocated.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(value)))
            }
            fn visit_str<E: de::Error>(self, value: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(value.to_owned())))
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

    fn digest_of(json: &str) -> Digest {
        serde_json::from_str(json).unwrap()
    }

    fn fed(digest: &Digest) -> Vec<u8> {
        // The fed bytes, observed through SHA-256 of them alone.
        let mut hasher = Sha256::new();
        digest.feed(&mut hasher);
        hasher.finalize().to_vec()
    }

    /// The digest is SHA-256 over the documented encoding (tag, length-prefixed keys in sorted
    /// order, children's fed form), so the reviewed plan and the merged plan digest alike on any
    /// machine and Rust version; `std`'s 64-bit `DefaultHasher` promised neither.
    #[test]
    fn attribute_digests_are_sha256_of_a_canonical_encoding() {
        let long = "x".repeat(40);
        let mut expected = Sha256::new();
        expected.update([1]);
        expected.update(Sha256::digest(
            [&[TAG_STRING][..], long.as_bytes()].concat(),
        ));
        assert_eq!(
            fed(&digest_of(&format!("\"{long}\""))),
            expected.finalize().to_vec()
        );

        let mut object = Sha256::new();
        object.update([TAG_OBJECT]);
        object.update(1u64.to_le_bytes());
        object.update(b"a");
        object.update([0, 2, TAG_STRING, b'x']);
        object.update(1u64.to_le_bytes());
        object.update(b"b");
        object.update([0, 2, TAG_NUMBER, b'1']);
        let mut expected = Sha256::new();
        expected.update([1]);
        expected.update(object.finalize());
        assert_eq!(
            fed(&digest_of(r#"{"b":1,"a":"x"}"#)),
            expected.finalize().to_vec()
        );
    }

    #[test]
    fn digests_tell_values_apart_and_only_values() {
        let values = [
            "null",
            "true",
            "false",
            "1",
            "\"1\"",
            "[1]",
            "[[1]]",
            "{\"1\":null}",
            "{}",
            "[]",
            "\"\"",
            "\"ab\"",
            "[\"a\",\"b\"]",
            "[\"ab\"]",
            "{\"a\":\"b\"}",
            "{\"ab\":\"\"}",
        ];
        // Around the inline limit: strings of 28 to 33 bytes.
        let strings: Vec<String> = (28..34).map(|n| format!("\"{}\"", "s".repeat(n))).collect();
        let all: Vec<&str> = values
            .iter()
            .copied()
            .chain(strings.iter().map(String::as_str))
            .collect();
        for (i, a) in all.iter().enumerate() {
            for (j, b) in all.iter().enumerate() {
                assert_eq!(digest_of(a) == digest_of(b), i == j, "{a} vs {b}");
                assert_eq!(
                    fed(&digest_of(a)) == fed(&digest_of(b)),
                    i == j,
                    "{a} vs {b}"
                );
            }
        }
        // The same value written differently is the same value.
        assert_eq!(digest_of("1"), digest_of("1.0"));
        assert_eq!(
            digest_of(r#"{"a":1,"b":[2]}"#),
            digest_of(r#"{ "b": [2], "a": 1 }"#)
        );
        assert_eq!(digest_of(r#""\u0061""#), digest_of(r#""a""#));
        assert_eq!(format!("{:?}", digest_of(r#""hunter2""#)), "Digest(..)");
    }

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
