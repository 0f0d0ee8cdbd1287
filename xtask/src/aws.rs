//! AWS access for an environment: the SDK configuration (region, profile, endpoint, HTTPS client),
//! the crate's one SigV4 signer, and a small typed client for the AWS JSON 1.1 protocol that
//! serves the few ECR, ECS and CloudWatch Logs operations a migration needs ([`ecr`], [`ecs`],
//! [`logs`]).
//!
//! Why not `aws-sdk-ecr`, `aws-sdk-ecs` and `aws-sdk-cloudwatchlogs`: measured with
//! `cargo build --timings` on top of the current graph they add 80 s of compile time (ECS 40 s,
//! CloudWatch Logs 30 s, ECR 10 s) and 5 crates (229 of the 230 allowed), for six operations.
//! Instead every operation is a typed request with a typed answer, retried like the SDK retries
//! ([`retry_kind`]), and `tests/integration/aws_models.rs` proves the operation names, targets,
//! members and shapes against the official service models botocore ships.
//!
//! Credentials come from the profile `<env>-db-migrate` (or another purpose's profile) when it
//! exists in the AWS config file, written by `cargo xtask aws-profiles`; otherwise from the
//! default chain. Endpoints honour `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`, so a local
//! stand-in replaces AWS without any change here.

pub mod ecr;
pub mod ecs;
pub mod logs;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::retry::{Decision, RetryPolicy};

use anyhow::Context;
use aws_config::BehaviorVersion;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::SdkConfig;
use aws_types::region::Region;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::failure::{Classify, FailureKind, fail};

/// The HTTPS client of every SDK client: rustls with ring (no default client feature is enabled,
/// so one must be chosen explicitly).
pub fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Installs ring as rustls' process-wide crypto provider (reqwest is built without one).
pub fn install_crypto_provider() {
    // An error only means a provider is already installed, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The AWS config file the SDK reads: `AWS_CONFIG_FILE` or `~/.aws/config`.
pub fn aws_config_file() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AWS_CONFIG_FILE") {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".aws").join("config"))
}

/// Whether the AWS config file defines the profile `name`.
pub fn profile_exists(name: &str) -> bool {
    aws_config_file()
        .and_then(|path| std::fs::read_to_string(path).ok())
        .is_some_and(|text| crate::aws_profiles::config_defines_profile(&text, name))
}

/// Where a run's credentials come from, as output tells it (never the credentials themselves).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialOrigin {
    Profile(String),
    DefaultChain,
}

impl CredentialOrigin {
    /// The named profile, or the default chain when there is none.
    pub fn of(profile: Option<&str>) -> CredentialOrigin {
        profile.map_or(CredentialOrigin::DefaultChain, |name| {
            CredentialOrigin::Profile(name.to_owned())
        })
    }
}

impl std::fmt::Display for CredentialOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialOrigin::Profile(name) => write!(f, "AWS profile `{name}`"),
            CredentialOrigin::DefaultChain => f.write_str("the default AWS credential chain"),
        }
    }
}

/// Loads the SDK configuration for `region`, with credentials from `profile` when given (check
/// [`profile_exists`] first), else from the default chain.
pub async fn load_sdk_config(region: &str, profile: Option<&str>) -> (SdkConfig, CredentialOrigin) {
    let region = Region::new(region.to_owned());
    let http_client = https_client();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(region.clone())
        .http_client(http_client.clone());
    if let Some(profile) = profile {
        // The default chain tries environment credentials before profiles; in CI the environment
        // holds the entry role's credentials, which the profile chains from
        // (`credential_source = Environment`), so the profile has to be chosen explicitly.
        let provider_config = ProviderConfig::default()
            .with_http_client(http_client)
            .with_region(Some(region));
        let provider = ProfileFileCredentialsProvider::builder()
            .configure(&provider_config)
            .profile_name(profile)
            .build();
        loader = loader.profile_name(profile).credentials_provider(provider);
    }
    (loader.load().await, CredentialOrigin::of(profile))
}

/// The SigV4 signature of one request.
#[derive(Debug, Clone, Copy)]
pub struct Signer<'a> {
    pub credentials: &'a Credentials,
    pub region: &'a str,
    /// The service's signing name (`ecs`, `bedrock`, ...).
    pub signing_name: &'a str,
    pub time: SystemTime,
}

impl Signer<'_> {
    /// The headers (`authorization`, `x-amz-date`, `x-amz-security-token`) that sign a request;
    /// `headers` are the ones the request carries and the signature covers.
    pub fn headers(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> anyhow::Result<Vec<(String, String)>> {
        let identity = self.credentials.clone().into();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(self.region)
            .name(self.signing_name)
            .time(self.time)
            .settings(SigningSettings::default())
            .build()
            .context("building the SigV4 signing parameters")
            .classify(FailureKind::Environment)?
            .into();
        let request = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(body),
        )
        .with_context(|| format!("preparing the request to {url} for SigV4 signing"))
        .classify(FailureKind::Config)?;
        let (instructions, _signature) = sign(request, &params)
            .with_context(|| format!("signing the request to {url} (SigV4)"))
            .classify(FailureKind::Environment)?
            .into_parts();
        Ok(instructions
            .headers()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect())
    }
}

/// A service spoken to in the AWS JSON 1.1 protocol, as its model's `metadata` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsService {
    /// The SigV4 signing name (`signingName`, else `endpointPrefix`).
    pub signing_name: &'static str,
    /// The host prefix of the public endpoint: `https://<prefix>.<region>.amazonaws.com`.
    pub endpoint_prefix: &'static str,
    /// The `serviceId` as used in `AWS_ENDPOINT_URL_<ID>` (upper case, `_` for spaces).
    pub endpoint_env_id: &'static str,
    /// The `X-Amz-Target` prefix (`targetPrefix`).
    pub target_prefix: &'static str,
    /// A human name for messages.
    pub label: &'static str,
}

/// One operation: its request is the implementing type, its answer [`Operation::Output`].
pub trait Operation: Serialize {
    const SERVICE: AwsService;
    /// The operation name, as in `X-Amz-Target: <target prefix>.<name>`.
    const NAME: &'static str;
    /// The members of the answer we read; the rest is ignored.
    type Output: DeserializeOwned;
}

/// The endpoint of `service`: `AWS_ENDPOINT_URL_<ID>`, else the configured global endpoint
/// (`AWS_ENDPOINT_URL` or the profile's `endpoint_url`), else the public regional endpoint.
pub fn endpoint_for(
    service_env: Option<String>,
    global: Option<&str>,
    service: &AwsService,
    region: &str,
) -> String {
    service_env
        .filter(|url| !url.is_empty())
        .or_else(|| global.map(str::to_owned))
        .unwrap_or_else(|| format!("https://{}.{region}.amazonaws.com", service.endpoint_prefix))
        .trim_end_matches('/')
        .to_owned()
}

/// Whether a failed attempt is worth another, as the SDK's standard retry strategy decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryKind {
    /// A throttling error code (`ThrottlingException`, `TooManyRequestsException`, ...).
    Throttling,
    /// A transient error: a transport failure or timeout, HTTP 500/502/503/504, or a
    /// `RequestTimeout` error code.
    Transient,
    /// Anything else: retrying would fail the same way.
    No,
}

/// The SDK's HTTP status classifier retries these (`HttpStatusCodeClassifier::default`).
const TRANSIENT_STATUS: [u16; 4] = [500, 502, 503, 504];

/// Classifies an error answer by its error code and status, with the SDK's own code lists.
pub fn retry_kind(status: u16, code: Option<&str>) -> RetryKind {
    use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
    match code {
        Some(code) if THROTTLING_ERRORS.contains(&code) => RetryKind::Throttling,
        Some(code) if TRANSIENT_ERRORS.contains(&code) => RetryKind::Transient,
        _ if TRANSIENT_STATUS.contains(&status) => RetryKind::Transient,
        _ => RetryKind::No,
    }
}

/// A failed attempt: the error to report, and whether to try again.
#[derive(Debug)]
pub struct AttemptError {
    pub retry: RetryKind,
    pub error: anyhow::Error,
}

/// Signed AWS JSON 1.1 requests with the SDK configuration's credentials and region.
#[derive(Debug, Clone)]
pub struct JsonClient {
    http: reqwest::Client,
    credentials: SharedCredentialsProvider,
    region: String,
    global_endpoint: Option<String>,
    retry: RetryPolicy,
}

/// The SDK's standard retry strategy: three attempts in all, exponential backoff from 1 s,
/// no wait over 20 s; only throttling and transient failures are tried again.
const STANDARD_RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 3,
    base_delay: Duration::from_secs(1),
    max_delay: Duration::from_secs(20),
};

impl JsonClient {
    pub fn new(config: &SdkConfig) -> anyhow::Result<JsonClient> {
        install_crypto_provider();
        let credentials = config.credentials_provider().ok_or_else(|| {
            fail(
                FailureKind::Environment,
                "no AWS credentials provider is configured",
            )
        })?;
        let region = config
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or_else(|| fail(FailureKind::Config, "no AWS region is configured"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .context("building the HTTP client")
            .classify(FailureKind::Environment)?;
        Ok(JsonClient {
            http,
            credentials,
            region,
            global_endpoint: config.endpoint_url().map(str::to_owned),
            retry: STANDARD_RETRY,
        })
    }

    pub fn endpoint(&self, service: &AwsService) -> String {
        let variable = format!("AWS_ENDPOINT_URL_{}", service.endpoint_env_id);
        endpoint_for(
            std::env::var(variable).ok(),
            self.global_endpoint.as_deref(),
            service,
            &self.region,
        )
    }

    /// Calls `O` and returns its answer, retrying throttling and transient failures as the SDK's
    /// standard strategy does (all but RegisterTaskDefinition are reads; repeating that one after an
    /// unknown outcome at worst registers one more identical revision, which migrate does not use).
    pub async fn call<O: Operation>(&self, request: &O) -> anyhow::Result<O::Output> {
        self.retry
            .run(
                async |_| self.attempt(request).await,
                |failed: &AttemptError| match failed.retry {
                    RetryKind::No => Decision::Stop,
                    RetryKind::Throttling | RetryKind::Transient => Decision::Retry(None),
                },
            )
            .await
            .map_err(|gave_up| gave_up.error.error)
    }

    /// One attempt at `O`; the error says whether another is worth it.
    pub async fn attempt<O: Operation>(&self, request: &O) -> Result<O::Output, AttemptError> {
        let service = O::SERVICE;
        let operation = O::NAME;
        let what = format!("{} {operation}", service.label);
        let permanent = |error: anyhow::Error| AttemptError {
            retry: RetryKind::No,
            error: error.context(what.clone()),
        };
        let url = format!("{}/", self.endpoint(&service));
        let body = serde_json::to_vec(request)
            .context("encoding the request")
            .map_err(permanent)?;
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .context("loading AWS credentials (configure the profile with `cargo xtask aws-profiles`, or set AWS credentials in the environment)")
            .classify(FailureKind::Environment)
            .map_err(permanent)?;
        let target = format!("{}.{operation}", service.target_prefix);
        let host = host_of(&url);
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
            ("host", host.as_str()),
        ];
        let signer = Signer {
            credentials: &credentials,
            region: &self.region,
            signing_name: service.signing_name,
            time: SystemTime::now(),
        };
        let signature = signer
            .headers("POST", &url, &headers, &body)
            .map_err(permanent)?;
        let mut http_request = self.http.post(&url);
        for (name, value) in headers {
            http_request = http_request.header(name, value);
        }
        for (name, value) in signature {
            http_request = http_request.header(name, value);
        }
        // A request that never got an answer (connection, timeout, cut-off body) is transient.
        let transient = |error: reqwest::Error, doing: &str| AttemptError {
            retry: RetryKind::Transient,
            error: fail(
                FailureKind::Api,
                format!(
                    "{what}: {doing} {url}: {}",
                    crate::failure::error_text(&error)
                ),
            ),
        };
        let response = http_request
            .body(body)
            .send()
            .await
            .map_err(|e| transient(e, "sending the request to"))?;
        let status = response.status().as_u16();
        let error_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let answer = response
            .bytes()
            .await
            .map_err(|e| transient(e, "reading the answer of"))?;
        if !(200..300).contains(&status) {
            let error = ErrorAnswer::parse(error_type.as_deref(), &answer);
            return Err(AttemptError {
                retry: retry_kind(status, error.code.as_deref()),
                error: fail(
                    FailureKind::Api,
                    format!("{what} failed: {}", error.describe(status, &answer)),
                ),
            });
        }
        let answer: &[u8] = if answer.is_empty() { b"{}" } else { &answer };
        serde_json::from_slice(answer)
            .with_context(|| format!("{what}: the answer does not have the expected shape"))
            .classify(FailureKind::Api)
            .map_err(|error| AttemptError {
                retry: RetryKind::No,
                error,
            })
    }
}

fn host_of(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    without_scheme
        .split('/')
        .next()
        .unwrap_or(without_scheme)
        .to_owned()
}

/// The error code and message of an AWS JSON error answer.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ErrorAnswer {
    pub code: Option<String>,
    pub message: Option<String>,
}

impl ErrorAnswer {
    /// Reads the code as the SDK does: the `x-amzn-errortype` header, else the body's `code` or
    /// `__type`, without a `namespace#` prefix or a `:uri` suffix.
    pub fn parse(error_type_header: Option<&str>, body: &[u8]) -> ErrorAnswer {
        #[derive(serde::Deserialize)]
        struct Body {
            #[serde(rename = "__type")]
            kind: Option<String>,
            code: Option<String>,
            #[serde(alias = "Message")]
            message: Option<String>,
        }
        let parsed: Option<Body> = serde_json::from_slice(body).ok();
        let code = error_type_header
            .map(str::to_owned)
            .or_else(|| {
                parsed
                    .as_ref()
                    .and_then(|b| b.code.clone().or(b.kind.clone()))
            })
            .map(|code| {
                let code = code.split(':').next().unwrap_or(&code);
                code.rsplit('#').next().unwrap_or(code).to_owned()
            })
            .filter(|code| !code.is_empty());
        ErrorAnswer {
            code,
            message: parsed.and_then(|b| b.message),
        }
    }

    /// `HTTP 400 ClientException: message`.
    pub fn describe(&self, status: u16, body: &[u8]) -> String {
        match (&self.code, &self.message) {
            (Some(code), Some(message)) => format!("HTTP {status} {code}: {message}"),
            (Some(code), None) => format!("HTTP {status} {code}"),
            (None, Some(message)) => format!("HTTP {status}: {message}"),
            (None, None) => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.chars().take(300).collect();
                format!("HTTP {status}: {text}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_precedence() {
        let ecr = &ecr::SERVICE;
        assert_eq!(
            endpoint_for(None, None, ecr, "ap-northeast-1"),
            "https://api.ecr.ap-northeast-1.amazonaws.com"
        );
        assert_eq!(
            endpoint_for(None, Some("http://127.0.0.1:5000/"), ecr, "r"),
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            endpoint_for(
                Some("http://svc:1".into()),
                Some("http://127.0.0.1:5000"),
                ecr,
                "r"
            ),
            "http://svc:1"
        );
    }

    fn describe(header: Option<&str>, status: u16, body: &[u8]) -> String {
        ErrorAnswer::parse(header, body).describe(status, body)
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            describe(
                None,
                400,
                br#"{"__type":"com.amazonaws#ClientException","message":"no such family"}"#
            ),
            "HTTP 400 ClientException: no such family"
        );
        assert_eq!(describe(None, 500, b"boom"), "HTTP 500: boom");
        assert_eq!(
            describe(
                Some("ThrottlingException:http://internal.amazon.com/"),
                400,
                br#"{"Message":"Rate exceeded"}"#
            ),
            "HTTP 400 ThrottlingException: Rate exceeded"
        );
    }

    #[test]
    fn retries_what_the_sdk_retries() {
        let kind = |status, code| retry_kind(status, code);
        assert_eq!(
            kind(400, Some("ThrottlingException")),
            RetryKind::Throttling
        );
        assert_eq!(
            kind(400, Some("TooManyRequestsException")),
            RetryKind::Throttling
        );
        assert_eq!(
            kind(400, Some("RequestTimeoutException")),
            RetryKind::Transient
        );
        for status in [500, 502, 503, 504] {
            assert_eq!(kind(status, None), RetryKind::Transient, "{status}");
        }
        assert_eq!(kind(501, None), RetryKind::No);
        assert_eq!(kind(400, Some("ClientException")), RetryKind::No);
        assert_eq!(kind(403, Some("AccessDeniedException")), RetryKind::No);
        // The code decides before the status: a throttled 503 is throttling.
        assert_eq!(kind(503, Some("SlowDown")), RetryKind::Throttling);
    }
}
