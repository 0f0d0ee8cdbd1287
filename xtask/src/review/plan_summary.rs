//! The Terraform plan as the review sees it: the objects `cargo xtask plan --summary-json` writes,
//! turned into a prompt section that names, per environment, every destroyed and replaced
//! resource with the attributes that force the replacement and Terraform's reason, and the drift,
//! so the model can ground its findings in what the plan will do and not only in the HCL it reads.
//! It also finds the diff's files that define those resources, which the selection ranks first.
//! Pure.

use std::collections::{BTreeSet, HashSet};

use serde::Deserialize;

use super::diff::FileDiff;

/// One environment's plan, as `cargo xtask plan --summary-json` writes it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct EnvPlan {
    pub env: String,
    pub import: u32,
    pub add: u32,
    pub change: u32,
    pub destroy: u32,
    #[serde(rename = "move")]
    pub moved: u32,
    pub has_changes: bool,
    pub has_destroy: bool,
    pub errored: bool,
    pub destroyed: Vec<String>,
    pub replaced: Vec<String>,
    /// Absent from summaries written before it existed: then only the addresses are known.
    pub destructive: Vec<Destructive>,
    pub drift: Vec<Drift>,
}

/// A destroyed or replaced resource, with why.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Destructive {
    pub address: String,
    /// `delete` or `replace`.
    pub action: String,
    /// The attributes that force the replacement (`replace_paths`).
    pub forces: Vec<String>,
    /// Terraform's `action_reason`.
    pub reason: Option<String>,
    pub create_first: bool,
}

/// A resource changed outside Terraform.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct Drift {
    pub address: String,
    pub what: String,
    pub attributes: Vec<String>,
}

impl EnvPlan {
    /// The destroyed and replaced resources, with details when the summary has them.
    fn destructive(&self) -> Vec<Destructive> {
        if !self.destructive.is_empty() {
            return self.destructive.clone();
        }
        let of = |addresses: &[String], action: &str| {
            addresses
                .iter()
                .map(|address| Destructive {
                    address: address.clone(),
                    action: action.to_owned(),
                    ..Destructive::default()
                })
                .collect::<Vec<_>>()
        };
        let mut all = of(&self.destroyed, "delete");
        all.extend(of(&self.replaced, "replace"));
        all
    }
}

/// Reads a summary file's text: a JSON list of objects (or a single object).
pub fn parse(text: &str) -> Result<Vec<EnvPlan>, serde_json::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<EnvPlan>),
        One(EnvPlan),
    }
    Ok(match serde_json::from_str::<OneOrMany>(text)? {
        OneOrMany::Many(plans) => plans,
        OneOrMany::One(plan) => vec![plan],
    })
}

/// Caps the lists so that a plan destroying thousands of resources cannot eat the budget.
const MAX_ADDRESSES: usize = 30;

/// The prompt section; empty when there is no plan.
pub fn render(plans: &[EnvPlan]) -> String {
    if plans.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "## Terraform plan of this pull request\n\
         Per environment: the counts, then every resource destroyed or replaced (the riskiest part \
         of the change) with the attributes that force a replacement and Terraform's reason, then \
         drift (changes made outside Terraform, which this apply would revert or build on). A \
         finding about a destroy or a replacement names the resource address as written here.\n",
    );
    for plan in plans {
        if plan.errored {
            out.push_str(&format!(
                "- {}: the plan FAILED (no counts; the change may not apply)\n",
                plan.env
            ));
            continue;
        }
        out.push_str(&format!(
            "- {}: import {}, add {}, change {}, destroy {}, move {}{}\n",
            plan.env,
            plan.import,
            plan.add,
            plan.change,
            plan.destroy,
            plan.moved,
            if plan.has_changes {
                ""
            } else {
                " (no changes)"
            }
        ));
        let destructive = plan.destructive();
        for entry in destructive.iter().take(MAX_ADDRESSES) {
            out.push_str(&format!("  - {}\n", destructive_line(entry)));
        }
        if destructive.len() > MAX_ADDRESSES {
            out.push_str(&format!(
                "  - and {} more destroyed or replaced\n",
                destructive.len() - MAX_ADDRESSES
            ));
        }
        for drift in plan.drift.iter().take(MAX_ADDRESSES) {
            let mut line = format!(
                "  - drift: {} {} outside Terraform",
                drift.address, drift.what
            );
            if !drift.attributes.is_empty() {
                line.push_str(&format!(" ({})", drift.attributes.join(", ")));
            }
            out.push_str(&line);
            out.push('\n');
        }
        if plan.drift.len() > MAX_ADDRESSES {
            out.push_str(&format!(
                "  - and {} more drifted\n",
                plan.drift.len() - MAX_ADDRESSES
            ));
        }
    }
    out.push('\n');
    out
}

fn destructive_line(entry: &Destructive) -> String {
    let mut line = match entry.action.as_str() {
        "replace" if entry.create_first => {
            format!("replace (create before destroy): {}", entry.address)
        }
        "replace" => format!("replace (destroy then create): {}", entry.address),
        _ => format!("destroy: {}", entry.address),
    };
    let mut why = Vec::new();
    if !entry.forces.is_empty() {
        why.push(format!("forced by {}", entry.forces.join(", ")));
    }
    if let Some(reason) = &entry.reason {
        why.push(format!("reason {reason}"));
    }
    if !why.is_empty() {
        line.push_str(&format!(" ({})", why.join("; ")));
    }
    line
}

/// A resource address's module calls and its `resource "TYPE" "NAME"`, without instance keys:
/// `module.db.aws_db_instance.main[0]` is (["db"], Some(("aws_db_instance", "main"))).
fn address_parts(address: &str) -> (Vec<String>, Option<(String, String)>) {
    // Drop `[...]` instance keys (which may hold dots inside quotes).
    let mut plain = String::with_capacity(address.len());
    let mut depth = 0;
    let mut quoted = false;
    for c in address.chars() {
        match c {
            '"' if depth > 0 => quoted = !quoted,
            '[' if !quoted => depth += 1,
            ']' if !quoted && depth > 0 => depth -= 1,
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let parts: Vec<&str> = plain.split('.').collect();
    let mut modules = Vec::new();
    let mut at = 0;
    while at + 1 < parts.len() && parts[at] == "module" {
        modules.push(parts[at + 1].to_owned());
        at += 2;
    }
    if parts.get(at) == Some(&"data") {
        at += 1;
    }
    let resource = match (parts.get(at), parts.get(at + 1)) {
        (Some(kind), Some(name)) => Some(((*kind).to_owned(), (*name).to_owned())),
        _ => None,
    };
    (modules, resource)
}

/// The quoted labels of a `resource "T" "N"` or `module "M"` block opening, if `line` is one.
fn block_labels(line: &str) -> Option<(&str, Vec<&str>)> {
    let line = line.trim_start();
    let keyword = ["resource", "module"]
        .into_iter()
        .find(|keyword| line.starts_with(keyword))?;
    let labels: Vec<&str> = line[keyword.len()..]
        .split('"')
        .skip(1)
        .step_by(2)
        .take(2)
        .collect();
    Some((keyword, labels))
}

/// The diff's files that define (or call the module of) a resource the plans destroy or
/// replace: a line of the file's hunks (added, removed or context) opens its `resource` block or
/// the `module` block it lives in. Such files are reviewed first.
pub fn pointed_files(plans: &[EnvPlan], files: &[FileDiff]) -> BTreeSet<String> {
    let mut resources: HashSet<(String, String)> = HashSet::new();
    let mut modules: HashSet<String> = HashSet::new();
    for plan in plans {
        for entry in plan.destructive() {
            let (calls, resource) = address_parts(&entry.address);
            if let Some(first) = calls.into_iter().next() {
                modules.insert(first);
            }
            if let Some(resource) = resource {
                resources.insert(resource);
            }
        }
    }
    let mut pointed = BTreeSet::new();
    if resources.is_empty() && modules.is_empty() {
        return pointed;
    }
    for file in files {
        let defines = file
            .hunks
            .iter()
            .flat_map(|hunk| &hunk.lines)
            .filter_map(|line| block_labels(&line.text))
            .any(|(keyword, labels)| match (keyword, labels.as_slice()) {
                ("resource", [kind, name]) => {
                    resources.contains(&((*kind).to_owned(), (*name).to_owned()))
                }
                ("module", [name, ..]) => modules.contains(*name),
                _ => false,
            });
        if defines {
            pointed.insert(file.path.clone());
        }
    }
    pointed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_and_risky_resources() {
        let plans = parse(
            r#"[{"env":"dev","import":0,"add":1,"change":2,"destroy":1,"move":0,"has_changes":true,"has_destroy":true,"errored":false,
                 "destroyed":["aws_db_instance.main"],"replaced":["aws_ecs_task_definition.migrate"]},
                {"env":"prd","errored":true}]"#,
        )
        .unwrap();
        insta::assert_snapshot!(render(&plans));
    }

    /// Item 6 of issue 13: the replacement's forcing attributes, Terraform's reason and the
    /// drift reach the prompt, and the files defining what is destroyed are found.
    #[test]
    fn renders_why_a_resource_is_replaced_and_the_drift() {
        let plans = parse(
            r#"[{"env":"dev","add":1,"destroy":2,"has_changes":true,"has_destroy":true,
                 "destroyed":["aws_s3_bucket.old"],"replaced":["module.db.aws_db_instance.main[0]"],
                 "destructive":[
                   {"address":"aws_s3_bucket.old","action":"delete","forces":[],"reason":"delete_because_no_resource_config","create_first":false},
                   {"address":"module.db.aws_db_instance.main[0]","action":"replace","forces":["engine","identifier"],"reason":"replace_because_cannot_update","create_first":false},
                   {"address":"aws_lambda_function.api[\"a.b\"]","action":"replace","forces":["runtime"],"reason":null,"create_first":true}],
                 "drift":[{"address":"aws_security_group.web","what":"updated","attributes":["ingress","tags"]}]}]"#,
        )
        .unwrap();
        insta::assert_snapshot!(render(&plans));

        let diff = "diff --git a/environments/dev/main.tf b/environments/dev/main.tf
--- a/environments/dev/main.tf
+++ b/environments/dev/main.tf
@@ -1,3 +1,1 @@
-resource \"aws_s3_bucket\" \"old\" {
-}
 module \"db\" {
diff --git a/environments/dev/lambda.tf b/environments/dev/lambda.tf
--- a/environments/dev/lambda.tf
+++ b/environments/dev/lambda.tf
@@ -1,2 +1,2 @@
 resource \"aws_lambda_function\" \"api\" {
-  runtime = \"nodejs20.x\"
+  runtime = \"nodejs22.x\"
diff --git a/environments/dev/other.tf b/environments/dev/other.tf
--- a/environments/dev/other.tf
+++ b/environments/dev/other.tf
@@ -1 +1 @@
-resource \"aws_s3_bucket\" \"kept\" {
+resource \"aws_s3_bucket\" \"kept\" { # comment
";
        let files = super::super::diff::parse(diff.as_bytes());
        let pointed: Vec<String> = pointed_files(&plans, &files).into_iter().collect();
        assert_eq!(
            pointed,
            ["environments/dev/lambda.tf", "environments/dev/main.tf"]
        );
    }

    #[test]
    fn addresses_split_into_module_calls_and_the_resource() {
        assert_eq!(
            address_parts("module.a.module.b.data.aws_iam_policy_document.x[\"k.v\"]"),
            (
                vec!["a".to_owned(), "b".to_owned()],
                Some(("aws_iam_policy_document".to_owned(), "x".to_owned()))
            )
        );
        assert_eq!(address_parts("weird"), (vec![], None));
    }
}
