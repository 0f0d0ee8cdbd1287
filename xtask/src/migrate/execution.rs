//! AWS calls of a migration: the task definition revision, the state machine execution, and what
//! ECS and CloudWatch Logs say about the task afterwards.

use anyhow::Context;
use aws_sdk_sfn::types::{ExecutionStatus, HistoryEvent};
use serde_json::Value;

use crate::aws::JsonClient;
use crate::aws::ecs::{
    DescribeTaskDefinition, DescribeTasks, TaskDefinitionDocument, TaskDefinitionField,
};
use crate::aws::logs::GetLogEvents;
use crate::failure::{Classify, FailureKind, fail};
use crate::migrate::poll::{ExecutionState, StateSource, Terminal};
use crate::migrate::report::TaskFacts;
use crate::migrate::task_definition::{
    log_location, merge_described_tasks, registration_input, task_facts_from_history,
};

/// Bounds the history we read: 20 pages of 1000 events is far more than a migration produces.
const MAX_HISTORY_PAGES: usize = 20;
/// How many log lines the report shows.
pub const LOG_LINES: u32 = 20;

fn sdk_error<E>(what: &str, error: E) -> anyhow::Error
where
    E: std::error::Error + Send + Sync + 'static,
{
    crate::failure::fail_with(FailureKind::Api, what, &error)
}

/// The registered revision: its ARN (with revision) and the document, for locating logs later.
#[derive(Debug, Clone)]
pub struct RegisteredTaskDefinition {
    pub arn: String,
    pub document: TaskDefinitionDocument,
}

/// DescribeTaskDefinition of `family` (its latest ACTIVE revision), then RegisterTaskDefinition of
/// the same with `container`'s image set to `image` (`repo@sha256:...`).
pub async fn register_task_definition(
    client: &JsonClient,
    family: &str,
    container: &str,
    image: &str,
) -> anyhow::Result<RegisteredTaskDefinition> {
    let described = client
        .call(&DescribeTaskDefinition {
            task_definition: family.to_owned(),
            include: vec![TaskDefinitionField::Tags],
        })
        .await
        .with_context(|| format!("reading task definition family `{family}` (does Terraform manage it in this account and region?)"))?;
    let input = registration_input(described, container, image)?;
    let registered = client
        .call(&input)
        .await
        .with_context(|| format!("registering a revision of `{family}` for {image}"))?;
    let document = registered.task_definition;
    let arn = document
        .view()
        .and_then(|view| view.task_definition_arn)
        .ok_or_else(|| {
            fail(
                FailureKind::Api,
                "RegisterTaskDefinition returned no taskDefinitionArn",
            )
        })?;
    Ok(RegisteredTaskDefinition { arn, document })
}

/// The ARNs of the executions of `state_machine_arn` that are RUNNING now.
pub async fn running_executions(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
) -> anyhow::Result<Vec<String>> {
    let answer = sfn
        .list_executions()
        .state_machine_arn(state_machine_arn)
        .status_filter(ExecutionStatus::Running)
        .max_results(10)
        .send()
        .await
        .map_err(|e| {
            sdk_error(
                &format!("listing running executions of {state_machine_arn}"),
                e,
            )
        })?;
    Ok(answer
        .executions()
        .iter()
        .map(|e| e.execution_arn().to_owned())
        .collect())
}

pub async fn start_execution(
    sfn: &aws_sdk_sfn::Client,
    state_machine_arn: &str,
    name: &str,
    input: &Value,
) -> anyhow::Result<String> {
    let answer = sfn
        .start_execution()
        .state_machine_arn(state_machine_arn)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .map_err(|e| sdk_error(&format!("starting {state_machine_arn}"), e))?;
    Ok(answer.execution_arn().to_owned())
}

pub async fn stop_execution(sfn: &aws_sdk_sfn::Client, execution_arn: &str) -> anyhow::Result<()> {
    sfn.stop_execution()
        .execution_arn(execution_arn)
        .error("Interrupted")
        .cause("stopped by `cargo xtask migrate --stop-on-interrupt` after Ctrl-C")
        .send()
        .await
        .map_err(|e| sdk_error(&format!("stopping {execution_arn}"), e))?;
    Ok(())
}

/// DescribeExecution as a [`StateSource`].
pub struct DescribeExecution<'a> {
    pub sfn: &'a aws_sdk_sfn::Client,
    pub execution_arn: &'a str,
}

impl StateSource for DescribeExecution<'_> {
    async fn state(&mut self) -> anyhow::Result<ExecutionState> {
        let answer = self
            .sfn
            .describe_execution()
            .execution_arn(self.execution_arn)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("describing {}", self.execution_arn), e))?;
        Ok(Terminal::from_status(answer.status().as_str()))
    }
}

/// The end of an execution as its history tells it.
#[derive(Debug, Default)]
pub struct Outcome {
    pub error: Option<String>,
    pub cause: Option<String>,
    pub task: TaskFacts,
}

/// Reads the history: the error and cause of the failure, and the ECS task (from the
/// `ecs:runTask.sync` results) with its exit code and stopped reason.
pub async fn read_history(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
    container: &str,
) -> anyhow::Result<Outcome> {
    let mut events: Vec<HistoryEvent> = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..MAX_HISTORY_PAGES {
        let page = sfn
            .get_execution_history()
            .execution_arn(execution_arn)
            .include_execution_data(true)
            .max_results(1000)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| sdk_error(&format!("reading the history of {execution_arn}"), e))?;
        events.extend(page.events().iter().cloned());
        match page.next_token() {
            Some(next) if !next.is_empty() => token = Some(next.to_owned()),
            _ => break,
        }
    }
    let mut outcome = Outcome::default();
    for event in &events {
        let (error, cause) = if let Some(d) = event.execution_failed_event_details() {
            (d.error(), d.cause())
        } else if let Some(d) = event.execution_timed_out_event_details() {
            (d.error(), d.cause())
        } else if let Some(d) = event.execution_aborted_event_details() {
            (d.error(), d.cause())
        } else {
            continue;
        };
        outcome.error = non_empty(error).or(outcome.error);
        outcome.cause = non_empty(cause).or(outcome.cause);
    }
    let texts = events.iter().flat_map(event_texts);
    outcome.task = task_facts_from_history(texts, container);
    Ok(outcome)
}

/// DescribeExecution's error and cause, for when the history has none.
pub async fn describe_failure(
    sfn: &aws_sdk_sfn::Client,
    execution_arn: &str,
) -> anyhow::Result<(Option<String>, Option<String>)> {
    let answer = sfn
        .describe_execution()
        .execution_arn(execution_arn)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("describing {execution_arn}"), e))?;
    Ok((non_empty(answer.error()), non_empty(answer.cause())))
}

/// Step Functions (and moto) answer "" for an absent error or cause.
fn non_empty(text: Option<&str>) -> Option<String> {
    text.filter(|t| !t.trim().is_empty()).map(str::to_owned)
}

/// The texts of an event that may hold an ECS task description.
fn event_texts(event: &HistoryEvent) -> Vec<&str> {
    let mut texts = Vec::new();
    if let Some(d) = event.task_succeeded_event_details() {
        texts.extend(d.output());
    }
    if let Some(d) = event.task_failed_event_details() {
        texts.extend(d.cause());
    }
    if let Some(d) = event.task_timed_out_event_details() {
        texts.extend(d.cause());
    }
    if let Some(d) = event.state_exited_event_details() {
        texts.extend(d.output());
    }
    if let Some(d) = event.execution_failed_event_details() {
        texts.extend(d.cause());
    }
    texts
}

/// Completes `facts` with DescribeTasks (when the history lacks the exit code) and the last log
/// lines. Failures here become notes: the execution's ending is already known and must be told.
pub async fn complete_task_facts(
    client: &JsonClient,
    facts: &mut TaskFacts,
    cluster: &str,
    container: &str,
    task_definition: &TaskDefinitionDocument,
    log_group: &str,
) {
    let Some(task_arn) = facts.task_arn.clone() else {
        return;
    };
    if facts.exit_code.is_none() {
        let cluster = facts
            .cluster_arn
            .clone()
            .unwrap_or_else(|| cluster.to_owned());
        let request = DescribeTasks {
            cluster,
            tasks: vec![task_arn.clone()],
        };
        match client.call(&request).await {
            Ok(described) => merge_described_tasks(facts, &described, container),
            Err(error) => facts.notes.push(format!("{error:#}")),
        }
    }
    let Some((group, stream)) = log_location(task_definition, container, &task_arn, log_group)
    else {
        facts.notes.push(format!(
            "container `{container}` has no awslogs stream prefix; no logs to show"
        ));
        return;
    };
    let request = GetLogEvents {
        log_group_name: group.clone(),
        log_stream_name: stream.clone(),
        limit: LOG_LINES,
        start_from_head: false,
    };
    match client.call(&request).await {
        Ok(answer) => {
            facts.log_lines = answer
                .events
                .into_iter()
                .filter_map(|e| e.message)
                .map(|m| m.trim_end().to_owned())
                .collect();
            facts.log_location = Some(format!("{group} {stream}"));
        }
        Err(error) => facts.notes.push(format!("{error:#}")),
    }
}

/// STS GetCallerIdentity: the ARN we act as, printed so a wrong role is obvious.
pub async fn caller_identity(config: &aws_types::SdkConfig) -> anyhow::Result<String> {
    let sts = aws_sdk_sts::Client::new(config);
    let answer = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            fail(
                FailureKind::Environment,
                format!(
                    "checking the AWS credentials (sts:GetCallerIdentity): {}; write the profiles with `cargo xtask aws-profiles`, or set AWS credentials",
                    crate::failure::error_text(&e)
                ),
            )
        })?;
    answer
        .arn()
        .map(str::to_owned)
        .context("sts:GetCallerIdentity returned no ARN")
        .classify(FailureKind::Api)
}
