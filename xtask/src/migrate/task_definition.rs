//! Pure transformations of ECS documents: a task definition revision for a pushed image, where a
//! task's logs are, and what the execution history says about the task that ran.

use serde_json::{Map, Value};

use crate::failure::{FailureKind, fail};
use crate::migrate::report::TaskFacts;

/// The RegisterTaskDefinition parameters that DescribeTaskDefinition returns; the rest of what it
/// returns (ARN, revision, status, registeredAt, ...) is read-only.
const REGISTERABLE_KEYS: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
];

/// RegisterTaskDefinition input: the described revision with `container`'s image replaced by
/// `image` (a `repo@sha256:...` reference). Tags are carried over.
pub fn registration_input(
    described: &Value,
    container: &str,
    image: &str,
) -> anyhow::Result<Value> {
    let definition = described
        .get("taskDefinition")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            fail(
                FailureKind::Api,
                "DescribeTaskDefinition returned no taskDefinition",
            )
        })?;
    let mut input = Map::new();
    for key in REGISTERABLE_KEYS {
        if let Some(value) = definition.get(*key) {
            input.insert((*key).to_owned(), value.clone());
        }
    }
    let family = definition
        .get("family")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_owned();
    let containers = input
        .get_mut("containerDefinitions")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| {
            fail(
                FailureKind::Api,
                format!("task definition `{family}` has no containerDefinitions"),
            )
        })?;
    let names: Vec<String> = containers
        .iter()
        .filter_map(|c| c.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let target = containers
        .iter_mut()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))
        .ok_or_else(|| {
            fail(
                FailureKind::Config,
                format!(
                    "task definition `{family}` has no container `{container}` (it has: {}); check migration.container_name",
                    names.join(", ")
                ),
            )
        })?;
    target["image"] = Value::String(image.to_owned());
    if let Some(tags) = described
        .get("tags")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
    {
        input.insert("tags".to_owned(), Value::Array(tags.clone()));
    }
    Ok(Value::Object(input))
}

/// `(log group, log stream)` of `container` in the task `task_arn`, from the task definition's
/// `awslogs` configuration: the stream is `<prefix>/<container>/<task id>`.
pub fn log_location(
    task_definition: &Value,
    container: &str,
    task_arn: &str,
    default_group: &str,
) -> Option<(String, String)> {
    let definition = task_definition
        .get("taskDefinition")
        .unwrap_or(task_definition);
    let options = definition
        .get("containerDefinitions")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))?
        .get("logConfiguration")?
        .get("options")?;
    let prefix = options.get("awslogs-stream-prefix")?.as_str()?;
    let group = options
        .get("awslogs-group")
        .and_then(Value::as_str)
        .unwrap_or(default_group);
    let task_id = task_arn.rsplit('/').next()?;
    Some((group.to_owned(), format!("{prefix}/{container}/{task_id}")))
}

/// What the history says about the ECS task: the `ecs:runTask.sync` result (in a task's output,
/// a failure's cause or the execution's cause) is the ECS task description. Later texts win.
pub fn task_facts_from_history<'a>(
    texts: impl IntoIterator<Item = &'a str>,
    container: &str,
) -> TaskFacts {
    let mut facts = TaskFacts::default();
    for text in texts {
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        if let Some(task) = find_task(&value) {
            merge_task(&mut facts, task, container);
        }
    }
    facts
}

/// Adds what a DescribeTasks answer says about the task.
pub fn merge_described_tasks(facts: &mut TaskFacts, described: &Value, container: &str) {
    if let Some(task) = described
        .get("tasks")
        .and_then(Value::as_array)
        .and_then(|t| t.first())
    {
        merge_task(facts, task, container);
    } else if let Some(failure) = described
        .get("failures")
        .and_then(Value::as_array)
        .and_then(|f| f.first())
    {
        let reason = field(failure, "reason")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        facts
            .notes
            .push(format!("DescribeTasks found no such task ({reason})"));
    }
}

/// Keys appear in PascalCase in Step Functions results and camelCase in ECS answers.
fn field<'a>(value: &'a Value, camel: &str) -> Option<&'a Value> {
    value.get(camel).or_else(|| {
        let mut pascal = camel.to_owned();
        if let Some(first) = pascal.get_mut(0..1) {
            first.make_ascii_uppercase();
        }
        value.get(&pascal)
    })
}

fn find_task(value: &Value) -> Option<&Value> {
    match value {
        Value::Object(map) => {
            if field(value, "taskArn").is_some_and(Value::is_string) {
                return Some(value);
            }
            map.values().find_map(find_task)
        }
        Value::Array(items) => items.iter().find_map(find_task),
        _ => None,
    }
}

fn merge_task(facts: &mut TaskFacts, task: &Value, container: &str) {
    if let Some(arn) = field(task, "taskArn").and_then(Value::as_str) {
        facts.task_arn = Some(arn.to_owned());
    }
    if let Some(cluster) = field(task, "clusterArn").and_then(Value::as_str) {
        facts.cluster_arn = Some(cluster.to_owned());
    }
    if let Some(reason) = field(task, "stoppedReason")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
    {
        facts.stopped_reason = Some(reason.to_owned());
    }
    let containers = field(task, "containers").and_then(Value::as_array);
    let chosen = containers.and_then(|list| {
        list.iter()
            .find(|c| field(c, "name").and_then(Value::as_str) == Some(container))
            .or_else(|| list.first())
    });
    if let Some(chosen) = chosen {
        if let Some(code) = field(chosen, "exitCode").and_then(Value::as_i64) {
            facts.exit_code = Some(code);
        }
        if facts.stopped_reason.is_none()
            && let Some(reason) = field(chosen, "reason").and_then(Value::as_str)
        {
            facts.stopped_reason = Some(reason.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn described() -> Value {
        json!({
            "taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/dev-db-migrate:3",
                "family": "dev-db-migrate",
                "revision": 3,
                "status": "ACTIVE",
                "executionRoleArn": "arn:aws:iam::123456789012:role/dev-db-migrate-execution",
                "networkMode": "awsvpc",
                "requiresCompatibilities": ["FARGATE"],
                "cpu": "256",
                "memory": "512",
                "registeredAt": 1.7e9,
                "compatibilities": ["EC2", "FARGATE"],
                "containerDefinitions": [
                    {"name": "sidecar", "image": "busybox"},
                    {"name": "db-migrate", "image": "repo:latest",
                     "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "/ecs/dev/db-migrate", "awslogs-stream-prefix": "ecs"}}}
                ]
            },
            "tags": [{"key": "env", "value": "dev"}]
        })
    }

    #[test]
    fn registration_replaces_only_the_named_image_and_drops_read_only_keys() {
        let input = registration_input(&described(), "db-migrate", "repo@sha256:abc").unwrap();
        insta::assert_json_snapshot!(input);
    }

    #[test]
    fn a_missing_container_is_a_config_error() {
        let error = registration_input(&described(), "nope", "x").unwrap_err();
        assert!(
            format!("{error:#}").contains("has no container `nope` (it has: sidecar, db-migrate)")
        );
    }

    #[test]
    fn logs_are_located_from_the_awslogs_options() {
        assert_eq!(
            log_location(
                &described(),
                "db-migrate",
                "arn:aws:ecs:r:1:task/cluster/abc123",
                "/fallback"
            ),
            Some(("/ecs/dev/db-migrate".into(), "ecs/db-migrate/abc123".into()))
        );
        assert_eq!(
            log_location(&described(), "sidecar", "arn:x/abc", "/g"),
            None
        );
    }

    #[test]
    fn task_facts_from_a_run_task_sync_failure_cause() {
        let cause = json!({
            "TaskArn": "arn:aws:ecs:r:1:task/c/abc",
            "ClusterArn": "arn:aws:ecs:r:1:cluster/c",
            "StoppedReason": "Essential container in task exited",
            "Containers": [{"Name": "db-migrate", "ExitCode": 3}]
        })
        .to_string();
        let facts = task_facts_from_history(["not json", cause.as_str(), "{}"], "db-migrate");
        assert_eq!(
            facts.task_arn.as_deref(),
            Some("arn:aws:ecs:r:1:task/c/abc")
        );
        assert_eq!(facts.exit_code, Some(3));
        assert_eq!(
            facts.stopped_reason.as_deref(),
            Some("Essential container in task exited")
        );
    }

    #[test]
    fn task_facts_when_the_choice_state_fails_a_stopped_task() {
        // The generated state machine: runTask.sync succeeds with the stopped task as its
        // result, then CheckExitCode fails with a text cause.
        let output = json!({"TaskArn": "arn:aws:ecs:r:1:task/c/def", "StoppedReason": "Essential container in task exited",
            "Containers": [{"Name": "db-migrate", "ExitCode": 1, "LastStatus": "STOPPED"}]})
        .to_string();
        let cause = "The migration container exited with code 1 (task arn:aws:ecs:r:1:task/c/def): Essential container in task exited";
        let facts = task_facts_from_history([output.as_str(), cause], "db-migrate");
        assert_eq!(
            facts.task_arn.as_deref(),
            Some("arn:aws:ecs:r:1:task/c/def")
        );
        assert_eq!(facts.exit_code, Some(1));
    }

    #[test]
    fn described_tasks_fill_in_the_exit_code() {
        let mut facts = TaskFacts {
            task_arn: Some("arn:x/abc".into()),
            ..TaskFacts::default()
        };
        let described = json!({"tasks": [{"taskArn": "arn:x/abc", "stoppedReason": "",
            "containers": [{"name": "db-migrate", "exitCode": 0}]}], "failures": []});
        merge_described_tasks(&mut facts, &described, "db-migrate");
        assert_eq!(facts.exit_code, Some(0));
        let mut missing = TaskFacts::default();
        merge_described_tasks(
            &mut missing,
            &json!({"tasks": [], "failures": [{"arn": "a", "reason": "MISSING"}]}),
            "db-migrate",
        );
        assert_eq!(
            missing.notes,
            vec!["DescribeTasks found no such task (MISSING)".to_owned()]
        );
    }
}
