//! The migration state machine: run the task, check how it really ended, notify, and end in the
//! state that tells the truth.
//!
//! `ecs:runTask.sync` succeeds whenever the task stops, whatever its exit code, so the exit code
//! is checked explicitly; every failure path ends in a `Fail` state carrying the error and cause
//! that `cargo xtask migrate` reports.

use indexmap::IndexMap;
use serde_json::{Value, json};

use super::GeneratedFile;
use std::time::Duration;

use crate::config::Environment;
use crate::environment::{Arns, DEFINITION_FILE, execution_timeout};
use crate::models::state_machine::{
    Catcher, ChoiceRule, ChoiceState, FailState, JitterStrategy, QueryLanguage, Retrier, State,
    StateMachine, SucceedState, TaskState, Transition,
};

/// Filled by Terraform (`templatefile`) with the security group it creates for the task.
pub const SECURITY_GROUP_PLACEHOLDER: &str = "${migration_security_group_id}";

pub fn generate(environment: &Environment) -> anyhow::Result<GeneratedFile> {
    Ok(GeneratedFile::new(
        environment.dir.join(DEFINITION_FILE),
        super::to_json(&definition(environment))?,
    ))
}

fn assign(pairs: &[(&str, &str)]) -> IndexMap<String, Value> {
    pairs
        .iter()
        .map(|(name, expression)| ((*name).to_owned(), Value::String((*expression).to_owned())))
        .collect()
}

fn retry(errors: &[&str]) -> Vec<Retrier> {
    vec![Retrier {
        error_equals: errors.iter().map(|e| (*e).to_owned()).collect(),
        interval_seconds: 2,
        max_attempts: 4,
        backoff_rate: 2.0,
        max_delay_seconds: 30,
        jitter_strategy: JitterStrategy::Full,
    }]
}

const LAMBDA_TRANSIENT_ERRORS: &[&str] = &[
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
];

/// A `lambda:invoke` of the notifier that goes on to `next` whether or not the notification
/// worked: the outcome of the migration, not of its notification, decides how the run ends.
fn notify(comment: &str, arguments: Value, next: &str) -> State {
    State::Task(Box::new(TaskState {
        comment: comment.to_owned(),
        resource: "arn:aws:states:::lambda:invoke".to_owned(),
        arguments,
        output: None,
        assign: IndexMap::new(),
        timeout_seconds: Some(60),
        retry: retry(LAMBDA_TRANSIENT_ERRORS),
        catch: vec![Catcher {
            error_equals: vec!["States.ALL".to_owned()],
            assign: IndexMap::new(),
            next: next.to_owned(),
        }],
        transition: Transition::Next {
            next: next.to_owned(),
        },
    }))
}

fn seconds(duration: Duration) -> u32 {
    u32::try_from(duration.as_secs()).unwrap_or(u32::MAX)
}

pub fn definition(environment: &Environment) -> StateMachine {
    let arns = Arns::new(environment);
    let migration = &environment.settings.migration;
    let timeout = seconds(migration.timeout.0);
    let mut security_groups = vec![SECURITY_GROUP_PLACEHOLDER.to_owned()];
    security_groups.extend(migration.security_groups.iter().cloned());

    let notification = |status: &str, extra: Value| {
        let mut payload = json!({
            "status": status,
            "environment": environment.name,
            "execution": "{% $states.context.Execution.Id %}",
            "state_machine": "{% $states.context.StateMachine.Name %}",
            "image": "{% $image %}",
            "git_sha": "{% $gitSha %}",
        });
        if let (Some(payload), Some(extra)) = (payload.as_object_mut(), extra.as_object()) {
            payload.extend(extra.clone());
        }
        json!({ "FunctionName": arns.notifier(), "Payload": payload })
    };

    let mut states = IndexMap::new();
    states.insert(
        "RunMigration".to_owned(),
        State::Task(Box::new(TaskState {
            comment: "Runs the migration image as a Fargate task and waits for it to stop. The task definition is the revision registered for the pushed image (execution input `task_definition`), or the family's latest ACTIVE revision.".to_owned(),
            resource: "arn:aws:states:::ecs:runTask.sync".to_owned(),
            arguments: json!({
                "LaunchType": "FARGATE",
                "Cluster": arns.cluster(),
                "TaskDefinition": format!(
                    "{{% $exists($states.input.task_definition) ? $states.input.task_definition : '{}' %}}",
                    migration.task_family
                ),
                "NetworkConfiguration": {
                    "AwsvpcConfiguration": {
                        "AssignPublicIp": if migration.assign_public_ip { "ENABLED" } else { "DISABLED" },
                        "Subnets": migration.subnets,
                        "SecurityGroups": security_groups,
                    }
                },
                "PropagateTags": "TASK_DEFINITION",
            }),
            output: None,
            assign: assign(&[
                ("image", "{% $states.input.image %}"),
                ("gitSha", "{% $states.input.git_sha %}"),
                ("taskArn", "{% $states.result.TaskArn %}"),
                ("exitCode", "{% $states.result.Containers[0].ExitCode %}"),
                ("stoppedReason", "{% $states.result.StoppedReason %}"),
            ]),
            timeout_seconds: Some(timeout),
            retry: retry(&["ECS.AmazonECSException", "ECS.ThrottlingException", "States.Throttling"]),
            catch: vec![Catcher {
                error_equals: vec!["States.ALL".to_owned()],
                assign: assign(&[
                    ("image", "{% $states.input.image %}"),
                    ("gitSha", "{% $states.input.git_sha %}"),
                    ("error", "{% $states.errorOutput.Error %}"),
                    ("cause", "{% $states.errorOutput.Cause %}"),
                ]),
                next: "NotifyFailure".to_owned(),
            }],
            transition: Transition::Next {
                next: "CheckExitCode".to_owned(),
            },
        })),
    );
    states.insert(
        "CheckExitCode".to_owned(),
        State::Choice(ChoiceState {
            comment: "runTask.sync succeeds whenever the task stops; only exit code 0 is a successful migration.".to_owned(),
            choices: vec![
                ChoiceRule {
                    condition: "{% $exitCode = 0 %}".to_owned(),
                    assign: IndexMap::new(),
                    next: "NotifySuccess".to_owned(),
                },
                ChoiceRule {
                    condition: "{% true %}".to_owned(),
                    assign: assign(&[
                        ("error", "Migration.NonZeroExit"),
                        (
                            "cause",
                            "{% 'The migration container exited with code ' & $string($exitCode) & ' (task ' & $taskArn & '): ' & $stoppedReason %}",
                        ),
                    ]),
                    next: "NotifyFailure".to_owned(),
                },
            ],
            default: "NotifyFailure".to_owned(),
        }),
    );
    states.insert(
        "NotifySuccess".to_owned(),
        // A notification failure does not turn a successful migration into a failed one.
        notify(
            "Tells the notifier the migration succeeded; a notification failure still ends Succeeded.",
            notification("SUCCEEDED", json!({ "task": "{% $taskArn %}" })),
            "Succeeded",
        ),
    );
    states.insert(
        "NotifyFailure".to_owned(),
        notify(
            "Tells the notifier the migration failed, with the error and its cause.",
            notification(
                "FAILED",
                json!({ "error": "{% $error %}", "cause": "{% $cause %}" }),
            ),
            "MigrationFailed",
        ),
    );
    states.insert(
        "MigrationFailed".to_owned(),
        State::Fail(FailState {
            comment: "Ends the execution FAILED with the error and cause of the failure."
                .to_owned(),
            error: "{% $error %}".to_owned(),
            cause: "{% $cause %}".to_owned(),
        }),
    );
    states.insert(
        "Succeeded".to_owned(),
        State::Succeed(SucceedState {
            comment: "The migration task exited 0.".to_owned(),
        }),
    );

    StateMachine {
        comment: format!(
            "Database migration of the {} environment (generated by `cargo xtask gen-workflows`; do not edit).",
            environment.name
        ),
        query_language: QueryLanguage::Jsonata,
        start_at: "RunMigration".to_owned(),
        timeout_seconds: seconds(execution_timeout(migration)),
        states,
    }
}
