//! SigV4 for Amazon Bedrock's Converse API: the ambient AWS credentials (environment, profile,
//! web identity in CI) from aws-config, and the signature of one request.
//!
//! The SDK configuration (HTTPS client, default credential chain) and the signer come from
//! [`crate::aws`]; the LLM client sends the request itself because it owns its timeout, retries,
//! `Retry-After` and error wording.

use std::time::SystemTime;

use anyhow::Context;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use serde_json::{Value, json};

use super::llm::Request;
use crate::aws::Signer;

use crate::failure::{Classify, FailureKind, fail};

/// The signing name of Bedrock's runtime endpoints.
pub const SIGNING_NAME: &str = "bedrock";

/// Resolves credentials the way the AWS CLI does (env, profile, SSO, web identity, IMDS).
pub async fn load_credentials(region: &str) -> anyhow::Result<Credentials> {
    let (config, _source) = crate::aws::load_sdk_config(region, None).await;
    let provider = config.credentials_provider().ok_or_else(|| {
        fail(
            FailureKind::Environment,
            "no AWS credentials provider is configured for Amazon Bedrock; set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run in a job that assumed a role",
        )
    })?;
    provider
        .provide_credentials()
        .await
        .context("loading AWS credentials for Amazon Bedrock (check AWS_PROFILE, the role the job assumed, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
        .classify(FailureKind::Environment)
}

/// The headers (`authorization`, `x-amz-date`, `x-amz-security-token`) that sign a request.
pub fn sign_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    credentials: &Credentials,
    region: &str,
    time: SystemTime,
) -> anyhow::Result<Vec<(String, String)>> {
    Signer {
        credentials,
        region,
        signing_name: SIGNING_NAME,
        time,
    }
    .headers(method, url, headers, body)
    .context("signing the Bedrock request")
}

/// The Converse request (`POST /model/{modelId}/converse`, botocore's `ConverseRequest` without
/// its URI member): the system prompt, the user turn, the output limit, and the answer asked for
/// as the input of one tool whose schema is the answer's, so that models without a JSON mode
/// still answer in JSON.
pub fn converse_body(request: &Request) -> Value {
    json!({
        "system": [{"text": request.system}],
        "messages": [{"role": "user", "content": [{"text": request.user}]}],
        "inferenceConfig": {"maxTokens": request.max_output_tokens},
        "toolConfig": {
            "tools": [{"toolSpec": {
                "name": request.schema_name,
                "description": "Submit the answer as JSON matching the schema.",
                "inputSchema": {"json": request.schema},
            }}],
            "toolChoice": {"tool": {"name": request.schema_name}},
        },
    })
}

/// The path of the Converse operation for `model` (its ID, ARN or inference profile, encoded:
/// an ARN holds `:` and `/`).
pub fn converse_path(model: &str) -> String {
    format!("/model/{}/converse", crate::percent::encode_segment(model))
}

/// The members of a Converse answer's `usage` (botocore's `TokenUsage`).
pub const INPUT_TOKENS: &str = "inputTokens";
pub const OUTPUT_TOKENS: &str = "outputTokens";

/// The answer's text: the tool's input (the JSON asked for) when the model used the tool, else
/// its text blocks joined. `None` when the answer has no message content.
pub fn converse_text(body: &Value) -> Option<String> {
    let content = body
        .get("output")?
        .get("message")?
        .get("content")?
        .as_array()?;
    let mut text = String::new();
    for block in content {
        if let Some(input) = block.get("toolUse").and_then(|tool| tool.get("input")) {
            return Some(input.to_string());
        }
        if let Some(part) = block.get("text").and_then(Value::as_str) {
            text.push_str(part);
        }
    }
    Some(text)
}

/// Whether the model stopped at the output limit (`stopReason` `max_tokens`).
pub fn converse_truncated(body: &Value) -> bool {
    body.get("stopReason").and_then(Value::as_str) == Some(MAX_TOKENS)
}

/// The `StopReason` of an answer cut at the output limit.
pub const MAX_TOKENS: &str = "max_tokens";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_with_the_bedrock_scope() {
        let credentials =
            Credentials::new("AKIDEXAMPLE", "secret", Some("token".into()), None, "test");
        let headers = sign_request(
            "POST",
            "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3%3A0/converse",
            &[("content-type", "application/json")],
            b"{}",
            &credentials,
            "us-east-1",
            SystemTime::UNIX_EPOCH,
        )
        .unwrap();
        let auth = headers
            .iter()
            .find(|(name, _)| name == "authorization")
            .unwrap();
        assert!(
            auth.1.contains("/us-east-1/bedrock/aws4_request"),
            "{}",
            auth.1
        );
        assert!(
            headers
                .iter()
                .any(|(name, value)| name == "x-amz-security-token" && value == "token")
        );
    }
}
