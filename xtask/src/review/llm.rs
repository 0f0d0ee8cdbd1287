//! The model providers behind one call: OpenAI, Azure OpenAI, Amazon Bedrock (Converse API, SigV4)
//! and any OpenAI-compatible server (Ollama, vLLM, LM Studio, a gateway).
//!
//! - Structured output: OpenAI-shaped providers get `response_format: json_schema`; a server that
//!   rejects it (HTTP 400 naming response_format) is asked once more without. Bedrock gets the
//!   schema as a forced tool (`toolChoice`), its documented way to return JSON.
//! - 429, 5xx, timeouts and connection errors are retried with exponential backoff (honouring
//!   `Retry-After`, bounded); then the next model of the fallback list is tried.
//! - Errors name the provider, the model, the HTTP status and what to check.
//!
//! `XTASK_LLM_BASE_URL`, when set, replaces the configured base URL / endpoint of whichever provider
//! is configured (a proxy, or a local stand-in). Bedrock also honours the SDK's
//! `AWS_ENDPOINT_URL_BEDROCK_RUNTIME` when no endpoint is configured.
//!
//! This client knows nothing about reviews: it sends a system and a user message and returns text.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use super::bedrock;
use super::redact::Redactor;
use crate::config::{LlmProvider, ReviewSettings};
use crate::failure::{FailureKind, fail};
use crate::retry::{Decision, RetryPolicy};

pub const BASE_URL_ENV: &str = "XTASK_LLM_BASE_URL";
const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

/// Three tries per model, waiting 0.5 s then 1 s (at most 10 s when `Retry-After` asks for more):
/// a review has a fallback model to go to, so it waits less than the GitHub client.
const RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    base_delay: Duration::from_millis(500),
    max_delay: Duration::from_secs(10),
};

enum Endpoint {
    /// OpenAI and OpenAI-compatible servers: `{base}/chat/completions`.
    OpenAi {
        base_url: String,
        key: Option<String>,
        compatible: bool,
    },
    Azure {
        endpoint: String,
        api_version: String,
        key: String,
    },
    Bedrock {
        endpoint: String,
        region: String,
        credentials: aws_credential_types::Credentials,
    },
}

/// One request: the two messages and the schema of the expected JSON.
pub struct Request<'a> {
    pub system: &'a str,
    pub user: &'a str,
    pub schema_name: &'a str,
    pub schema: &'a Value,
    pub max_output_tokens: u32,
}

#[derive(Debug, Clone)]
pub struct Answer {
    pub text: String,
    pub model: String,
    /// The model stopped at the output limit.
    pub truncated: bool,
    /// The tokens of the call, as the provider reported them (`None`: it did not).
    pub usage: Option<Usage>,
}

/// Prompt (input) and completion (output) tokens of one call: OpenAI's and Azure's `usage`
/// (`prompt_tokens`, `completion_tokens`), Bedrock Converse's `usage` (`inputTokens`,
/// `outputTokens`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    fn read(body: &Value, prompt: &str, completion: &str) -> Option<Usage> {
        let usage = body.get("usage")?;
        Some(Usage {
            prompt_tokens: usage.get(prompt)?.as_u64()?,
            completion_tokens: usage.get(completion)?.as_u64()?,
        })
    }
}

pub struct LlmClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    label: &'static str,
    models: Vec<String>,
    key_env: Option<String>,
}

fn env_key(name: &str, provider: &str) -> anyhow::Result<String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value.trim().to_owned()),
        _ => Err(fail(
            FailureKind::Environment,
            format!(
                "{provider}: the API key variable {name} is not set; export it locally, or pass the repository secret of that name to the workflow step"
            ),
        )),
    }
}

impl LlmClient {
    /// Builds the client of the configured provider; reads the key (or the AWS credentials) now,
    /// so a missing one fails before any work.
    pub async fn from_settings(settings: &ReviewSettings) -> anyhow::Result<LlmClient> {
        crate::aws::install_crypto_provider();
        let override_url = std::env::var(BASE_URL_ENV)
            .ok()
            .filter(|url| !url.trim().is_empty());
        let provider = &settings.provider;
        let label = provider.label();
        let mut models = vec![settings.model.clone()];
        let endpoint = match provider {
            LlmProvider::Openai {
                api_key_env,
                base_url,
            } => Endpoint::OpenAi {
                base_url: override_url
                    .or_else(|| base_url.clone())
                    .unwrap_or_else(|| OPENAI_BASE_URL.to_owned()),
                key: Some(env_key(api_key_env, label)?),
                compatible: false,
            },
            LlmProvider::OpenaiCompatible {
                base_url,
                api_key_env,
            } => Endpoint::OpenAi {
                base_url: override_url.unwrap_or_else(|| base_url.clone()),
                key: api_key_env
                    .as_ref()
                    .map(|name| env_key(name, label))
                    .transpose()?,
                compatible: true,
            },
            LlmProvider::AzureOpenai {
                endpoint,
                deployment,
                api_version,
                api_key_env,
            } => {
                // Azure addresses deployments, not models: the deployment first, then the
                // fallback list read as deployment names.
                models = vec![deployment.clone()];
                Endpoint::Azure {
                    endpoint: override_url.unwrap_or_else(|| endpoint.clone()),
                    api_version: api_version.clone(),
                    key: env_key(api_key_env, label)?,
                }
            }
            LlmProvider::Bedrock { region, endpoint } => Endpoint::Bedrock {
                endpoint: override_url
                    .or_else(|| endpoint.clone())
                    .or_else(|| {
                        std::env::var("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
                            .ok()
                            .filter(|url| !url.is_empty())
                    })
                    .unwrap_or_else(|| format!("https://bedrock-runtime.{region}.amazonaws.com")),
                region: region.to_string(),
                credentials: bedrock::load_credentials(region).await?,
            },
        };
        models.extend(settings.fallback_models.iter().cloned());
        models.dedup();
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout.0)
            .connect_timeout(Duration::from_secs(15))
            .build()
            .map_err(|error| {
                fail(
                    FailureKind::Environment,
                    format!("building the HTTP client: {error}"),
                )
            })?;
        Ok(LlmClient {
            http,
            endpoint,
            label,
            models,
            key_env: provider.api_key_env().map(ToString::to_string),
        })
    }

    pub fn label(&self) -> &'static str {
        self.label
    }

    pub fn first_model(&self) -> &str {
        self.models.first().map_or("", String::as_str)
    }

    /// Asks the models in order until one answers.
    pub async fn complete(&self, request: &Request<'_>) -> anyhow::Result<Answer> {
        let mut failures = Vec::new();
        let mut last_status = None;
        for model in &self.models {
            match self.complete_with(model, request).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => {
                    let stop = matches!(failure.status, Some(401 | 403));
                    last_status = failure.status.or(last_status);
                    failures.push(format!("model `{model}`: {}", failure.message));
                    if stop {
                        // Credentials are the same for every model: the next would fail alike.
                        break;
                    }
                }
            }
        }
        Err(fail(
            FailureKind::Api,
            format!(
                "{}: no model answered ({}). {}",
                self.label,
                failures.join("; "),
                self.hint(last_status)
            ),
        ))
    }

    fn hint(&self, status: Option<u16>) -> String {
        let key = self.key_env.as_deref().unwrap_or("the credentials");
        match (status, &self.endpoint) {
            (Some(401 | 403), Endpoint::Bedrock { .. }) => "Check: the AWS role has bedrock:InvokeModel on the model and model access is enabled in the Bedrock console for this region.".to_owned(),
            (Some(401 | 403), _) => format!("Check: {key} holds a valid key for this endpoint."),
            (Some(404), Endpoint::Azure { .. }) => "Check: the endpoint, the deployment name and api_version in [workspace.metadata.xtask.review.provider].".to_owned(),
            (Some(404), _) => "Check: the model id and the base URL / endpoint in [workspace.metadata.xtask.review].".to_owned(),
            (Some(429), _) => "Check: the rate limit and quota of the account; retry later or add fallback_models.".to_owned(),
            (Some(400 | 413 | 422), _) => "Check: the model accepts this request (context length: lower token_budget; structured output support).".to_owned(),
            (Some(status), _) if status >= 500 => "The provider failed on its side; check its status page, retry later or add fallback_models.".to_owned(),
            _ => "Check: the network path to the endpoint and request_timeout.".to_owned(),
        }
    }

    async fn complete_with(
        &self,
        model: &str,
        request: &Request<'_>,
    ) -> Result<Answer, CallFailure> {
        let mut structured = true;
        let result = RETRY
            .run(
                async |_| {
                    let failure = match self.send(model, request, structured).await {
                        Ok(answer) => return Ok(answer),
                        Err(failure) => failure,
                    };
                    if failure.status == Some(400)
                        && structured
                        && failure.mentions_response_format
                        && !self.is_bedrock()
                    {
                        // A server without structured output: ask once more for plain JSON.
                        structured = false;
                        return self.send(model, request, structured).await;
                    }
                    Err(failure)
                },
                |failure: &CallFailure| {
                    if failure.retryable {
                        Decision::Retry(failure.retry_after)
                    } else {
                        Decision::Stop
                    }
                },
            )
            .await;
        result.map_err(|gave_up| {
            let failure = gave_up.error;
            if failure.retryable {
                let message = format!("{} after {} attempts", failure.message, gave_up.attempts);
                CallFailure { message, ..failure }
            } else {
                failure
            }
        })
    }

    fn is_bedrock(&self) -> bool {
        matches!(self.endpoint, Endpoint::Bedrock { .. })
    }

    async fn send(
        &self,
        model: &str,
        request: &Request<'_>,
        structured: bool,
    ) -> Result<Answer, CallFailure> {
        let (url, body, headers) = self.build(model, request, structured)?;
        let mut builder = self
            .http
            .post(&url)
            .header("content-type", "application/json");
        for (name, value) in headers {
            builder = builder.header(name, value);
        }
        let response = builder
            .body(body)
            .send()
            .await
            .map_err(|error| CallFailure {
                status: None,
                message: if error.is_timeout() {
                    "the request timed out (request_timeout)".to_owned()
                } else {
                    format!("the request failed: {}", without_url(&error))
                },
                retryable: error.is_timeout() || error.is_connect() || error.is_request(),
                retry_after: None,
                mentions_response_format: false,
            })?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().await.map_err(|error| CallFailure {
            status: Some(status.as_u16()),
            message: format!("reading the response failed: {}", without_url(&error)),
            retryable: true,
            retry_after: None,
            mentions_response_format: false,
        })?;
        if !status.is_success() {
            let code = status.as_u16();
            return Err(CallFailure {
                status: Some(code),
                message: format!("HTTP {status}{}", provider_message(&text)),
                retryable: code == 429 || code == 408 || code >= 500,
                retry_after,
                mentions_response_format: text.contains("response_format")
                    || text.contains("json_schema"),
            });
        }
        let parsed: Value = serde_json::from_str(&text).map_err(|error| CallFailure {
            status: Some(status.as_u16()),
            message: format!("HTTP {status} with a body that is not JSON ({error})"),
            retryable: false,
            retry_after: None,
            mentions_response_format: false,
        })?;
        self.read_answer(model, &parsed).ok_or_else(|| CallFailure {
            status: Some(status.as_u16()),
            message: format!("HTTP {status} with no message content in the response"),
            retryable: false,
            retry_after: None,
            mentions_response_format: false,
        })
    }

    #[allow(clippy::type_complexity)]
    fn build(
        &self,
        model: &str,
        request: &Request<'_>,
        structured: bool,
    ) -> Result<(String, Vec<u8>, Vec<(String, String)>), CallFailure> {
        let messages = json!([
            {"role": "system", "content": request.system},
            {"role": "user", "content": request.user},
        ]);
        let response_format = json!({
            "type": "json_schema",
            "json_schema": {"name": request.schema_name, "schema": request.schema, "strict": false},
        });
        let local = |message: String| CallFailure {
            status: None,
            message,
            retryable: false,
            retry_after: None,
            mentions_response_format: false,
        };
        let encode = |value: &Value| {
            serde_json::to_vec(value)
                .map_err(|error| local(format!("encoding the request: {error}")))
        };
        match &self.endpoint {
            Endpoint::OpenAi {
                base_url,
                key,
                compatible,
            } => {
                let mut body = json!({"model": model, "messages": messages});
                let limit_key = if *compatible {
                    "max_tokens"
                } else {
                    "max_completion_tokens"
                };
                body[limit_key] = json!(request.max_output_tokens);
                if structured {
                    body["response_format"] = response_format;
                }
                let headers = key
                    .iter()
                    .map(|key| ("authorization".to_owned(), format!("Bearer {key}")))
                    .collect();
                Ok((
                    format!("{}/chat/completions", base_url.trim_end_matches('/')),
                    encode(&body)?,
                    headers,
                ))
            }
            Endpoint::Azure {
                endpoint,
                api_version,
                key,
            } => {
                let mut body = json!({"messages": messages, "max_completion_tokens": request.max_output_tokens});
                if structured {
                    body["response_format"] = response_format;
                }
                let url = format!(
                    "{}/openai/deployments/{model}/chat/completions?api-version={api_version}",
                    endpoint.trim_end_matches('/')
                );
                Ok((
                    url,
                    encode(&body)?,
                    vec![("api-key".to_owned(), key.clone())],
                ))
            }
            Endpoint::Bedrock {
                endpoint,
                region,
                credentials,
            } => {
                let bytes = encode(&bedrock::converse_body(request))?;
                let url = format!(
                    "{}{}",
                    endpoint.trim_end_matches('/'),
                    bedrock::converse_path(model)
                );
                let signed = bedrock::sign_request(
                    "POST",
                    &url,
                    &[("content-type", "application/json")],
                    &bytes,
                    credentials,
                    region,
                    SystemTime::now(),
                )
                .map_err(|error| local(format!("{error:#}")))?;
                Ok((url, bytes, signed))
            }
        }
    }

    fn read_answer(&self, model: &str, body: &Value) -> Option<Answer> {
        match &self.endpoint {
            Endpoint::OpenAi { .. } | Endpoint::Azure { .. } => {
                let choice = body.get("choices")?.get(0)?;
                let text = choice.get("message")?.get("content")?.as_str()?.to_owned();
                Some(Answer {
                    text,
                    model: body
                        .get("model")
                        .and_then(Value::as_str)
                        .unwrap_or(model)
                        .to_owned(),
                    truncated: choice.get("finish_reason").and_then(Value::as_str)
                        == Some("length"),
                    usage: Usage::read(body, "prompt_tokens", "completion_tokens"),
                })
            }
            Endpoint::Bedrock { .. } => Some(Answer {
                text: bedrock::converse_text(body)?,
                model: model.to_owned(),
                truncated: bedrock::converse_truncated(body),
                usage: Usage::read(body, bedrock::INPUT_TOKENS, bedrock::OUTPUT_TOKENS),
            }),
        }
    }
}

struct CallFailure {
    status: Option<u16>,
    message: String,
    retryable: bool,
    retry_after: Option<Duration>,
    mentions_response_format: bool,
}

/// The provider's own error message (OpenAI `error.message`, Bedrock `message`), shortened and
/// redacted: some servers echo parts of the request.
fn provider_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let message = parsed
        .as_ref()
        .and_then(|value| {
            value
                .get("error")
                .and_then(|error| error.get("message").or(Some(error)))
                .or_else(|| value.get("message"))
                .or_else(|| value.get("Message"))
        })
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default();
    if message.is_empty() {
        return String::new();
    }
    let short: String = message.chars().take(200).collect();
    let redacted = Redactor::new().text(&short, "provider error");
    format!(": {}", redacted.replace('\n', " "))
}

/// reqwest's error text without the URL (it may carry an api-version or, for a proxy, a token).
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<endpoint>");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_ids_are_encoded() {
        assert_eq!(
            crate::percent::encode_segment("anthropic.claude-3-5-sonnet-20240620-v1:0"),
            "anthropic.claude-3-5-sonnet-20240620-v1%3A0"
        );
    }

    #[test]
    fn provider_messages_are_redacted() {
        let text = provider_message(
            r#"{"error": {"message": "bad key sk-proj-abcdefghijklmnopqrstuvwxyz012345"}}"#,
        );
        assert!(text.contains("[REDACTED:openai-key]"), "{text}");
    }
}
