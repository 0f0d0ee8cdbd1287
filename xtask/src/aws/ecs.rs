//! Amazon ECS (model `ecs` 2014-11-13): task definitions and the task a migration ran.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AwsService, Operation};

pub const SERVICE: AwsService = AwsService {
    signing_name: "ecs",
    endpoint_prefix: "ecs",
    endpoint_env_id: "ECS",
    target_prefix: "AmazonEC2ContainerServiceV20141113",
    label: "ECS",
};

/// The latest ACTIVE revision of a family (or a given revision), with its tags.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTaskDefinition {
    pub task_definition: String,
    pub include: Vec<TaskDefinitionField>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub enum TaskDefinitionField {
    #[serde(rename = "TAGS")]
    Tags,
}

impl Operation for DescribeTaskDefinition {
    const SERVICE: AwsService = SERVICE;
    const NAME: &'static str = "DescribeTaskDefinition";
    type Output = DescribeTaskDefinitionOutput;
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTaskDefinitionOutput {
    pub task_definition: TaskDefinitionDocument,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A task definition as AWS sent it: every member, in its order, so that registering a copy
/// keeps what AWS adds after this was written. [`TaskDefinitionDocument::view`] reads the members
/// we use.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct TaskDefinitionDocument(pub Map<String, Value>);

impl TaskDefinitionDocument {
    /// The members we read, typed; `None` when they do not have the model's shape.
    pub fn view(&self) -> Option<TaskDefinition> {
        TaskDefinition::deserialize(&Value::Object(self.0.clone())).ok()
    }
}

/// The members of a task definition we read.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    pub task_definition_arn: Option<String>,
    pub family: Option<String>,
    #[serde(default)]
    pub container_definitions: Vec<ContainerDefinition>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    pub name: Option<String>,
    pub log_configuration: Option<LogConfiguration>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    /// The log driver's options: for `awslogs`, `awslogs-group` and `awslogs-stream-prefix`.
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
}

/// The members of a described task definition that RegisterTaskDefinition does not take: the
/// members of the model's `TaskDefinition` that `RegisterTaskDefinitionRequest` lacks (the
/// model test checks this list against both).
pub const READ_ONLY_MEMBERS: &[&str] = &[
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "deregisteredAt",
    "registeredBy",
];

/// A new revision: a described task definition without its read-only members, and its tags.
#[derive(Debug, Serialize)]
pub struct RegisterTaskDefinition {
    #[serde(flatten)]
    pub definition: TaskDefinitionDocument,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<Tag>,
}

impl Operation for RegisterTaskDefinition {
    const SERVICE: AwsService = SERVICE;
    const NAME: &'static str = "RegisterTaskDefinition";
    type Output = RegisterTaskDefinitionOutput;
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterTaskDefinitionOutput {
    pub task_definition: TaskDefinitionDocument,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Tag {
    pub key: Option<String>,
    pub value: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DescribeTasks {
    pub cluster: String,
    pub tasks: Vec<String>,
}

impl Operation for DescribeTasks {
    const SERVICE: AwsService = SERVICE;
    const NAME: &'static str = "DescribeTasks";
    type Output = DescribeTasksOutput;
}

#[derive(Debug, Deserialize, Serialize)]
pub struct DescribeTasksOutput {
    #[serde(default)]
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub failures: Vec<Failure>,
}

/// A task, as ECS describes it (camelCase) and as Step Functions' `ecs:runTask.sync` passes it
/// on (PascalCase).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    #[serde(alias = "TaskArn")]
    pub task_arn: Option<String>,
    #[serde(alias = "ClusterArn")]
    pub cluster_arn: Option<String>,
    #[serde(alias = "StoppedReason")]
    pub stopped_reason: Option<String>,
    #[serde(default, alias = "Containers")]
    pub containers: Vec<Container>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    #[serde(alias = "Name")]
    pub name: Option<String>,
    #[serde(alias = "ExitCode")]
    pub exit_code: Option<i64>,
    #[serde(alias = "Reason")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Failure {
    pub arn: Option<String>,
    pub reason: Option<String>,
}
