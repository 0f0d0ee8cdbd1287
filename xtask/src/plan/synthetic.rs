//! Synthetic `terraform show -json` documents shaped like Terraform's (`terraform_data` with
//! `count`), for size tests and `cargo xtask bench plan`.

use std::fmt::Write as _;

/// A plan with `resources` resource changes cycling through create, update, replace (both
/// orders), delete and no-op, with `planned_values`, `prior_state` and `configuration` sections
/// of realistic size. `secret` is put in a sensitive output and a sensitive attribute.
pub fn plan_json(resources: usize, secret: &str) -> String {
    let mut changes = String::with_capacity(resources * 700);
    let mut values = String::with_capacity(resources * 200);
    for i in 0..resources {
        let (actions, before, after) = match i % 6 {
            0 => (r#"["create"]"#, "null".to_owned(), object(i, "new")),
            1 => (r#"["update"]"#, object(i, "old"), object(i, "new")),
            2 => (r#"["delete","create"]"#, object(i, "old"), object(i, "new")),
            3 => (r#"["create","delete"]"#, object(i, "old"), object(i, "new")),
            4 => (r#"["delete"]"#, object(i, "old"), "null".to_owned()),
            _ => (r#"["no-op"]"#, object(i, "same"), object(i, "same")),
        };
        let resource_type = if i % 2 == 0 {
            "terraform_data"
        } else {
            "null_resource"
        };
        if i > 0 {
            changes.push(',');
            values.push(',');
        }
        let _ = write!(
            changes,
            r#"{{"address":"{resource_type}.r[{i}]","mode":"managed","type":"{resource_type}","name":"r","index":{i},"provider_name":"terraform.io/builtin/terraform","change":{{"actions":{actions},"before":{before},"after":{after},"after_unknown":{{"output":true}},"before_sensitive":{{"secret":true}},"after_sensitive":{{"secret":true}}{replace}}}}}"#,
            replace = if i % 6 == 2 || i % 6 == 3 {
                r#","replace_paths":[["triggers_replace"]]"#
            } else {
                ""
            },
        );
        let _ = write!(
            values,
            r#"{{"address":"{resource_type}.r[{i}]","mode":"managed","type":"{resource_type}","name":"r","index":{i},"values":{}}}"#,
            object(i, "new")
        );
    }
    format!(
        r#"{{"format_version":"1.2","terraform_version":"1.11.4","planned_values":{{"root_module":{{"resources":[{values}]}}}},"resource_changes":[{changes}],"output_changes":{{"count":{{"actions":["update"],"before":{before},"after":{resources},"after_unknown":false,"before_sensitive":false,"after_sensitive":false}},"token":{{"actions":["create"],"before":null,"after":"{secret}","after_unknown":false,"before_sensitive":false,"after_sensitive":true}}}},"prior_state":{{"values":{{"root_module":{{"resources":[{values}]}}}}}},"configuration":{{"root_module":{{}}}},"timestamp":"2026-01-01T00:00:00Z","applyable":true,"complete":true,"errored":false}}"#,
        before = resources / 2,
    )
}

fn object(i: usize, version: &str) -> String {
    format!(
        r#"{{"id":"{i:08x}-0000-4000-8000-000000000000","input":{{"name":"item-{i}","version":"{version}","tags":{{"team":"platform","index":{i}}}}},"output":{{"name":"item-{i}"}},"secret":"s-{i}","triggers_replace":["{version}"]}}"#
    )
}
