//! The plan summary: Terraform's own counting, the resources grouped by what happens to them,
//! output changes and drift. Pure: built from a parsed [`Plan`].

use serde::Serialize;

use super::model::{Kind, OutputChange, Plan, ResourceChange, any_sensitive, strings_in};

/// One resource in a group of the comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub address: String,
    pub resource_type: String,
    /// The address before a `moved` block took effect.
    pub previous_address: Option<String>,
    /// Top-level attributes that change.
    pub attributes: Vec<String>,
    /// Attributes that force a replacement.
    pub forces: Vec<String>,
    pub import_id: Option<String>,
    /// Terraform's `action_reason`, such as `delete_because_no_resource_config`.
    pub reason: Option<String>,
    /// A replacement that creates the new object first (`create_before_destroy`).
    pub create_first: bool,
}

/// Resources grouped the way the comment shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Groups {
    pub create: Vec<Entry>,
    pub update: Vec<Entry>,
    pub replace: Vec<Entry>,
    pub delete: Vec<Entry>,
    pub import: Vec<Entry>,
    pub moved: Vec<Entry>,
    pub forget: Vec<Entry>,
    pub read: Vec<Entry>,
}

impl Groups {
    /// `(heading, entries)` in the order of the comment.
    pub fn named(&self) -> [(&'static str, &[Entry]); 8] {
        [
            ("Create", &self.create),
            ("Update", &self.update),
            ("Replace", &self.replace),
            ("Delete", &self.delete),
            ("Import", &self.import),
            ("Move", &self.moved),
            ("Forget", &self.forget),
            ("Read", &self.read),
        ]
    }

    pub fn len(&self) -> usize {
        self.named().iter().map(|(_, entries)| entries.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How a value is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    Absent,
    Sensitive,
    Unknown,
    /// Compact JSON.
    Value(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub name: String,
    /// `+`, `~` or `-`.
    pub symbol: char,
    pub before: Shown,
    pub after: Shown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriftLine {
    pub address: String,
    /// `updated` or `deleted`.
    pub what: &'static str,
    pub attributes: Vec<String>,
}

/// The summary of one environment's plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub terraform_version: String,
    pub import: usize,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub moved: usize,
    pub forget: usize,
    pub read: usize,
    pub errored: bool,
    /// Terraform marks the plan incomplete (`-target`, deferred changes, an error).
    pub incomplete: bool,
    /// Changes terraform deferred to a later plan.
    pub deferred: usize,
    pub groups: Groups,
    pub outputs: Vec<OutputLine>,
    pub drift: Vec<DriftLine>,
}

impl Summary {
    pub fn from_plan(plan: &Plan) -> Summary {
        let mut summary = Summary {
            terraform_version: plan.terraform_version.clone(),
            errored: plan.errored,
            incomplete: plan.complete == Some(false),
            deferred: plan.deferred_changes,
            ..Summary::default()
        };
        for resource in &plan.resource_changes {
            summary.add_resource(resource);
        }
        summary.outputs = plan
            .output_changes
            .iter()
            .filter_map(|(name, change)| output_line(name, change))
            .collect();
        summary.drift = plan
            .resource_drift
            .iter()
            .filter_map(|resource| {
                let what = match resource.change.kind() {
                    Kind::Update => "updated",
                    Kind::Delete => "deleted",
                    _ => return None,
                };
                Some(DriftLine {
                    address: resource.address.clone(),
                    what,
                    attributes: if what == "updated" {
                        resource.change.changed_attributes()
                    } else {
                        Vec::new()
                    },
                })
            })
            .collect();
        summary
    }

    fn add_resource(&mut self, resource: &ResourceChange) {
        let change = &resource.change;
        let kind = change.kind();
        let entry = || Entry {
            address: resource.object().into_owned(),
            resource_type: resource.resource_type.clone(),
            previous_address: resource
                .previous_address
                .clone()
                .filter(|previous| *previous != resource.address),
            attributes: match kind {
                Kind::Update | Kind::DeleteThenCreate | Kind::CreateThenDelete => {
                    change.changed_attributes()
                }
                _ => Vec::new(),
            },
            forces: change.replace_paths.clone(),
            import_id: change.importing.as_ref().and_then(|i| i.id.clone()),
            reason: resource.action_reason.clone(),
            create_first: kind == Kind::CreateThenDelete,
        };
        if resource.mode == "data" {
            if kind == Kind::Read {
                self.read += 1;
                self.groups.read.push(entry());
            }
            return;
        }
        // Terraform's own counting (the `Plan:` line): a replacement counts as one add and one
        // destroy whichever order it runs in; an import counts besides its action.
        if change.importing.is_some() {
            self.import += 1;
            self.groups.import.push(entry());
        }
        if resource
            .previous_address
            .as_ref()
            .is_some_and(|previous| *previous != resource.address)
        {
            self.moved += 1;
            self.groups.moved.push(entry());
        }
        match kind {
            Kind::Create => {
                self.add += 1;
                self.groups.create.push(entry());
            }
            Kind::Update => {
                self.change += 1;
                self.groups.update.push(entry());
            }
            Kind::Delete => {
                self.destroy += 1;
                self.groups.delete.push(entry());
            }
            Kind::DeleteThenCreate | Kind::CreateThenDelete => {
                self.add += 1;
                self.destroy += 1;
                self.groups.replace.push(entry());
            }
            Kind::Forget => {
                self.forget += 1;
                self.groups.forget.push(entry());
            }
            Kind::NoOp | Kind::Read | Kind::Unknown => {}
        }
    }

    /// Whether anything changes, as far as the plan knows: deferred changes count, since they are
    /// changes terraform will plan later.
    pub fn has_changes(&self) -> bool {
        self.import
            + self.add
            + self.change
            + self.destroy
            + self.moved
            + self.forget
            + self.deferred
            > 0
            || !self.outputs.is_empty()
    }

    pub fn has_destroy(&self) -> bool {
        self.destroy > 0
    }

    /// Terraform's `Plan:` line (without the trailing sentence about forgets, which 1.11 omits).
    pub fn plan_line(&self) -> String {
        let import = if self.import > 0 {
            format!("{} to import, ", self.import)
        } else {
            String::new()
        };
        format!(
            "Plan: {import}{} to add, {} to change, {} to destroy.",
            self.add, self.change, self.destroy
        )
    }

    /// The addresses destroyed outright, and those replaced.
    pub fn destroyed(&self) -> Vec<String> {
        self.groups
            .delete
            .iter()
            .map(|e| e.address.clone())
            .collect()
    }

    pub fn replaced(&self) -> Vec<String> {
        self.groups
            .replace
            .iter()
            .map(|e| e.address.clone())
            .collect()
    }

    pub fn to_json(&self, env: &str) -> SummaryJson {
        SummaryJson {
            env: env.to_owned(),
            import: self.import,
            add: self.add,
            change: self.change,
            destroy: self.destroy,
            r#move: self.moved,
            forget: self.forget,
            has_changes: self.has_changes(),
            has_destroy: self.has_destroy(),
            errored: self.errored,
            destroyed: self.destroyed(),
            replaced: self.replaced(),
            destructive: self
                .groups
                .delete
                .iter()
                .map(|entry| DestructiveJson::of(entry, "delete"))
                .chain(
                    self.groups
                        .replace
                        .iter()
                        .map(|entry| DestructiveJson::of(entry, "replace")),
                )
                .collect(),
            drift: self
                .drift
                .iter()
                .map(|line| DriftJson {
                    address: line.address.clone(),
                    what: line.what.to_owned(),
                    attributes: line.attributes.clone(),
                })
                .collect(),
        }
    }
}

/// A destroyed or replaced resource with why: what the review's prompt needs to ground a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DestructiveJson {
    pub address: String,
    /// `delete` or `replace`.
    pub action: &'static str,
    /// Terraform's `replace_paths`: the attributes that force the replacement.
    pub forces: Vec<String>,
    /// Terraform's `action_reason`.
    pub reason: Option<String>,
    /// A replacement that creates the new object first (`create_before_destroy`).
    pub create_first: bool,
}

impl DestructiveJson {
    fn of(entry: &Entry, action: &'static str) -> DestructiveJson {
        DestructiveJson {
            address: entry.address.clone(),
            action,
            forces: entry.forces.clone(),
            reason: entry.reason.clone(),
            create_first: entry.create_first,
        }
    }
}

/// A resource changed outside Terraform since the last apply (`resource_drift`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriftJson {
    pub address: String,
    /// `updated` or `deleted`.
    pub what: String,
    pub attributes: Vec<String>,
}

/// One object of `--summary-json` (and of the `plan-summary` step output).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SummaryJson {
    pub env: String,
    pub import: usize,
    pub add: usize,
    pub change: usize,
    pub destroy: usize,
    pub r#move: usize,
    pub forget: usize,
    pub has_changes: bool,
    pub has_destroy: bool,
    pub errored: bool,
    pub destroyed: Vec<String>,
    pub replaced: Vec<String>,
    /// The destroyed and replaced resources with the attributes that force a replacement and
    /// Terraform's reason (added after `destroyed`/`replaced`, which stay for readers of those).
    pub destructive: Vec<DestructiveJson>,
    pub drift: Vec<DriftJson>,
}

impl SummaryJson {
    /// The object of an environment whose plan failed.
    pub fn failed(env: &str) -> SummaryJson {
        SummaryJson {
            errored: true,
            ..Summary::default().to_json(env)
        }
    }
}

fn output_line(name: &str, change: &OutputChange) -> Option<OutputLine> {
    let plan_change = super::model::Change {
        actions: change.actions.clone(),
        attributes: Vec::new(),
        importing: None,
        replace_paths: Vec::new(),
    };
    let symbol = match plan_change.kind() {
        Kind::Create => '+',
        Kind::Update | Kind::DeleteThenCreate | Kind::CreateThenDelete => '~',
        Kind::Delete => '-',
        _ => return None,
    };
    let show = |value: &serde_json::Value, sensitive: &serde_json::Value, unknown: bool| {
        if any_sensitive(sensitive) {
            Shown::Sensitive
        } else if unknown {
            Shown::Unknown
        } else if value.is_null() {
            Shown::Absent
        } else {
            Shown::Value(value.to_string())
        }
    };
    Some(OutputLine {
        name: name.to_owned(),
        symbol,
        before: show(&change.before, &change.before_sensitive, false),
        after: show(
            &change.after,
            &change.after_sensitive,
            any_sensitive(&change.after_unknown),
        ),
    })
}

/// Every string held in a sensitive output value, to be masked wherever it might surface.
pub fn sensitive_strings(plan: &Plan) -> Vec<String> {
    let mut out = Vec::new();
    for change in plan.output_changes.values() {
        if any_sensitive(&change.before_sensitive) {
            strings_in(&change.before, &mut out);
        }
        if any_sensitive(&change.after_sensitive) {
            strings_in(&change.after, &mut out);
        }
    }
    out
}
