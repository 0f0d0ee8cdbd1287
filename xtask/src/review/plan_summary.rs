//! The Terraform plan as the review sees it: the objects `cargo xtask plan --summary-json` writes,
//! turned into a prompt section that names every destroyed and replaced resource, so the model
//! can comment on risky infrastructure changes and not only on the HCL it reads. Pure.

use serde::Deserialize;

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
         Counts per environment; destroyed and replaced resources are the risky ones.\n",
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
        for (label, addresses) in [
            ("destroyed", &plan.destroyed),
            ("replaced (destroy then create)", &plan.replaced),
        ] {
            if addresses.is_empty() {
                continue;
            }
            out.push_str(&format!("  - {label}: "));
            let shown: Vec<&str> = addresses
                .iter()
                .take(MAX_ADDRESSES)
                .map(String::as_str)
                .collect();
            out.push_str(&shown.join(", "));
            if addresses.len() > MAX_ADDRESSES {
                out.push_str(&format!(" and {} more", addresses.len() - MAX_ADDRESSES));
            }
            out.push('\n');
        }
    }
    out.push('\n');
    out
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
        insta::assert_snapshot!(render(&plans), @r"
        ## Terraform plan of this pull request
        Counts per environment; destroyed and replaced resources are the risky ones.
        - dev: import 0, add 1, change 2, destroy 1, move 0
          - destroyed: aws_db_instance.main
          - replaced (destroy then create): aws_ecs_task_definition.migrate
        - prd: the plan FAILED (no counts; the change may not apply)
        ");
    }
}
