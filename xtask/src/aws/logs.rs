//! Amazon CloudWatch Logs (model `logs` 2014-03-28): the last lines of a task's log stream.

use serde::{Deserialize, Serialize};

use super::{AwsService, Operation};

pub const SERVICE: AwsService = AwsService {
    signing_name: "logs",
    endpoint_prefix: "logs",
    endpoint_env_id: "CLOUDWATCH_LOGS",
    target_prefix: "Logs_20140328",
    label: "CloudWatch Logs",
};

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetLogEvents {
    pub log_group_name: String,
    pub log_stream_name: String,
    pub limit: u32,
    /// `false`: the newest `limit` events.
    pub start_from_head: bool,
}

impl Operation for GetLogEvents {
    const SERVICE: AwsService = SERVICE;
    const NAME: &'static str = "GetLogEvents";
    type Output = GetLogEventsOutput;
}

#[derive(Debug, Deserialize, Serialize)]
pub struct GetLogEventsOutput {
    #[serde(default)]
    pub events: Vec<OutputLogEvent>,
}

#[derive(Debug, Deserialize, Serialize)]
pub struct OutputLogEvent {
    pub message: Option<String>,
}
