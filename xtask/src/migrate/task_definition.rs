//! Pure transformations of ECS documents: a task definition revision for a pushed image, where a
//! task's logs are, and what the execution history says about the task that ran.

use serde::Deserialize as _;
use serde_json::Value;

use crate::aws::ecs::{
    DescribeTaskDefinitionOutput, DescribeTasksOutput, READ_ONLY_MEMBERS, RegisterTaskDefinition,
    Task, TaskDefinitionDocument,
};
use crate::failure::{FailureKind, fail};
use crate::migrate::report::TaskFacts;

/// RegisterTaskDefinition input: the described revision without its read-only members, with
/// `container`'s image replaced by `image` (a `repo@sha256:...` reference). Every other member,
/// including ones added to ECS after this was written, is carried over as described; so are the
/// tags.
pub fn registration_input(
    described: DescribeTaskDefinitionOutput,
    container: &str,
    image: &str,
) -> anyhow::Result<RegisterTaskDefinition> {
    let mut definition = described.task_definition;
    let view = definition.view().ok_or_else(|| {
        fail(
            FailureKind::Api,
            "DescribeTaskDefinition returned a taskDefinition without the members ECS documents",
        )
    })?;
    let family = view.family.as_deref().unwrap_or("?");
    let names: Vec<&str> = view
        .container_definitions
        .iter()
        .filter_map(|c| c.name.as_deref())
        .collect();
    if names.is_empty() {
        return Err(fail(
            FailureKind::Api,
            format!("task definition `{family}` has no containerDefinitions"),
        ));
    }
    let index = view
        .container_definitions
        .iter()
        .position(|c| c.name.as_deref() == Some(container))
        .ok_or_else(|| {
            fail(
                FailureKind::Config,
                format!(
                    "task definition `{family}` has no container `{container}` (it has: {}); check migration.container_name",
                    names.join(", ")
                ),
            )
        })?;
    if let Some(target) = definition
        .0
        .get_mut("containerDefinitions")
        .and_then(|containers| containers.get_mut(index))
        .and_then(Value::as_object_mut)
    {
        target.insert("image".to_owned(), Value::String(image.to_owned()));
    }
    definition
        .0
        .retain(|member, _| !READ_ONLY_MEMBERS.contains(&member.as_str()));
    Ok(RegisterTaskDefinition {
        definition,
        tags: described.tags,
    })
}

/// `(log group, log stream)` of `container` in the task `task_arn`, from the task definition's
/// `awslogs` configuration: the stream is `<prefix>/<container>/<task id>`.
pub fn log_location(
    task_definition: &TaskDefinitionDocument,
    container: &str,
    task_arn: &str,
    default_group: &str,
) -> Option<(String, String)> {
    let view = task_definition.view()?;
    let options = &view
        .container_definitions
        .iter()
        .find(|c| c.name.as_deref() == Some(container))?
        .log_configuration
        .as_ref()?
        .options;
    let prefix = options.get("awslogs-stream-prefix")?;
    let group = options
        .get("awslogs-group")
        .map_or(default_group, String::as_str);
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
            merge_task(&mut facts, &task, container);
        }
    }
    facts
}

/// Adds what a DescribeTasks answer says about the task.
pub fn merge_described_tasks(
    facts: &mut TaskFacts,
    described: &DescribeTasksOutput,
    container: &str,
) {
    if let Some(task) = described.tasks.first() {
        merge_task(facts, task, container);
    } else if let Some(failure) = described.failures.first() {
        let reason = failure.reason.as_deref().unwrap_or("unknown");
        facts
            .notes
            .push(format!("DescribeTasks found no such task ({reason})"));
    }
}

/// The first object (depth first) that describes a task: it has a `taskArn` (or `TaskArn`)
/// string. The history is free-form JSON, so it is searched rather than typed.
fn find_task(value: &Value) -> Option<Task> {
    match value {
        Value::Object(map) => {
            let has_arn = ["taskArn", "TaskArn"]
                .iter()
                .any(|key| map.get(*key).is_some_and(Value::is_string));
            if has_arn && let Ok(task) = Task::deserialize(value) {
                return Some(task);
            }
            map.values().find_map(find_task)
        }
        Value::Array(items) => items.iter().find_map(find_task),
        _ => None,
    }
}

fn merge_task(facts: &mut TaskFacts, task: &Task, container: &str) {
    if let Some(arn) = &task.task_arn {
        facts.task_arn = Some(arn.clone());
    }
    if let Some(cluster) = &task.cluster_arn {
        facts.cluster_arn = Some(cluster.clone());
    }
    if let Some(reason) = task.stopped_reason.as_ref().filter(|r| !r.is_empty()) {
        facts.stopped_reason = Some(reason.clone());
    }
    let chosen = task
        .containers
        .iter()
        .find(|c| c.name.as_deref() == Some(container))
        .or_else(|| task.containers.first());
    if let Some(chosen) = chosen {
        if let Some(code) = chosen.exit_code {
            facts.exit_code = Some(code);
        }
        if facts.stopped_reason.is_none()
            && let Some(reason) = &chosen.reason
        {
            facts.stopped_reason = Some(reason.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn described() -> DescribeTaskDefinitionOutput {
        serde_json::from_value(described_json()).unwrap()
    }

    fn described_json() -> Value {
        json!({
            "taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/dev-db-migrate:3",
                "family": "dev-db-migrate",
                "revision": 3,
                "status": "ACTIVE",
                "executionRoleArn": "arn:aws:iam::123456789012:role/dev-db-migrate-execution",
                "networkMode": "awsvpc",
                "containerDefinitions": [
                    {"name": "sidecar", "image": "busybox"},
                    {"name": "db-migrate", "image": "repo:latest",
                     "logConfiguration": {"logDriver": "awslogs", "options": {
                        "awslogs-group": "/ecs/dev/db-migrate", "awslogs-stream-prefix": "ecs"}}}
                ],
                "requiresCompatibilities": ["FARGATE"],
                "cpu": "256",
                "memory": "512",
                "registeredAt": 1.7e9,
                "compatibilities": ["EC2", "FARGATE"]
            },
            "tags": [{"key": "env", "value": "dev"}]
        })
    }

    #[test]
    fn registration_replaces_only_the_named_image_and_drops_read_only_keys() {
        let input = registration_input(described(), "db-migrate", "repo@sha256:abc").unwrap();
        insta::assert_json_snapshot!(input);
    }

    #[test]
    fn a_missing_container_is_a_config_error() {
        let error = registration_input(described(), "nope", "x").unwrap_err();
        assert!(
            format!("{error:#}").contains("has no container `nope` (it has: sidecar, db-migrate)")
        );
    }

    #[test]
    fn logs_are_located_from_the_awslogs_options() {
        assert_eq!(
            log_location(
                &described().task_definition,
                "db-migrate",
                "arn:aws:ecs:r:1:task/cluster/abc123",
                "/fallback"
            ),
            Some(("/ecs/dev/db-migrate".into(), "ecs/db-migrate/abc123".into()))
        );
        assert_eq!(
            log_location(&described().task_definition, "sidecar", "arn:x/abc", "/g"),
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
        let described = serde_json::from_value(
            json!({"tasks": [{"taskArn": "arn:x/abc", "stoppedReason": "",
            "containers": [{"name": "db-migrate", "exitCode": 0}]}], "failures": []}),
        )
        .unwrap();
        merge_described_tasks(&mut facts, &described, "db-migrate");
        assert_eq!(facts.exit_code, Some(0));
        let mut missing = TaskFacts::default();
        merge_described_tasks(
            &mut missing,
            &serde_json::from_value(
                json!({"tasks": [], "failures": [{"arn": "a", "reason": "MISSING"}]}),
            )
            .unwrap(),
            "db-migrate",
        );
        assert_eq!(
            missing.notes,
            vec!["DescribeTasks found no such task (MISSING)".to_owned()]
        );
    }
}
