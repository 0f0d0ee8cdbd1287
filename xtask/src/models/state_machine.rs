//! An Amazon States Language state machine in JSONata mode.

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateMachine {
    pub comment: String,
    pub query_language: QueryLanguage,
    pub start_at: String,
    pub timeout_seconds: u32,
    pub states: IndexMap<String, State>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub enum QueryLanguage {
    #[serde(rename = "JSONata")]
    Jsonata,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "Type")]
pub enum State {
    Task(Box<TaskState>),
    Choice(ChoiceState),
    Succeed(SucceedState),
    Fail(FailState),
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TaskState {
    pub comment: String,
    pub resource: String,
    pub arguments: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<Value>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub assign: IndexMap<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retry: Vec<Retrier>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub catch: Vec<Catcher>,
    #[serde(flatten)]
    pub transition: Transition,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Transition {
    Next {
        #[serde(rename = "Next")]
        next: String,
    },
    End {
        #[serde(rename = "End")]
        end: bool,
    },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: u32,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: u32,
    pub jitter_strategy: JitterStrategy,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum JitterStrategy {
    Full,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Catcher {
    pub error_equals: Vec<String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub assign: IndexMap<String, Value>,
    pub next: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChoiceState {
    pub comment: String,
    pub choices: Vec<ChoiceRule>,
    pub default: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChoiceRule {
    pub condition: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub assign: IndexMap<String, Value>,
    pub next: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SucceedState {
    pub comment: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FailState {
    pub comment: String,
    pub error: String,
    pub cause: String,
}
