//! AWS access for an environment: the SDK configuration (region, profile, endpoint, HTTPS client)
//! and a small SigV4-signed client for the few calls to services that have no SDK crate in our
//! dependency graph (ECR, ECS, CloudWatch Logs; Bedrock for the review).
//!
//! Credentials come from the profile `<env>-db-migrate` (or another purpose's profile) when it
//! exists in the AWS config file, written by `cargo xtask aws-profiles`; otherwise from the
//! default chain. Endpoints honour `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`, so a local
//! stand-in replaces AWS without any change here.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::Context;
use aws_config::BehaviorVersion;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_smithy_http_client::tls;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::identity::Identity;
use aws_types::SdkConfig;
use aws_types::region::Region;

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

/// A service reached through [`SignedJsonClient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsService {
    /// The SigV4 signing name.
    pub signing_name: &'static str,
    /// The host prefix of the public endpoint: `https://<prefix>.<region>.amazonaws.com`.
    pub endpoint_prefix: &'static str,
    /// The service id as used in `AWS_ENDPOINT_URL_<ID>` (upper case, `_` for spaces).
    pub endpoint_env_id: &'static str,
    /// The `X-Amz-Target` prefix of the JSON 1.1 protocol.
    pub target_prefix: &'static str,
    /// A human name for messages.
    pub label: &'static str,
}

pub const ECR: AwsService = AwsService {
    signing_name: "ecr",
    endpoint_prefix: "api.ecr",
    endpoint_env_id: "ECR",
    target_prefix: "AmazonEC2ContainerRegistry_V20150921",
    label: "ECR",
};

pub const ECS: AwsService = AwsService {
    signing_name: "ecs",
    endpoint_prefix: "ecs",
    endpoint_env_id: "ECS",
    target_prefix: "AmazonEC2ContainerServiceV20141113",
    label: "ECS",
};

pub const LOGS: AwsService = AwsService {
    signing_name: "logs",
    endpoint_prefix: "logs",
    endpoint_env_id: "CLOUDWATCH_LOGS",
    target_prefix: "Logs_20140328",
    label: "CloudWatch Logs",
};

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

/// An HTTP answer from a signed request.
#[derive(Debug)]
pub struct SignedResponse {
    pub status: u16,
    pub body: Vec<u8>,
}

/// SigV4-signed requests with the SDK configuration's credentials and region.
#[derive(Debug, Clone)]
pub struct SignedJsonClient {
    http: reqwest::Client,
    credentials: SharedCredentialsProvider,
    region: String,
    global_endpoint: Option<String>,
}

impl SignedJsonClient {
    pub fn new(config: &SdkConfig) -> anyhow::Result<SignedJsonClient> {
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
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .context("building the HTTP client")
            .classify(FailureKind::Environment)?;
        Ok(SignedJsonClient {
            http,
            credentials,
            region,
            global_endpoint: config.endpoint_url().map(str::to_owned),
        })
    }

    pub fn region(&self) -> &str {
        &self.region
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

    /// Sends a signed request; the caller interprets the status. Used directly for REST JSON APIs
    /// (Bedrock) and by [`SignedJsonClient::call`] for JSON 1.1 APIs.
    pub async fn send_signed(
        &self,
        method: &str,
        url: &str,
        signing_name: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> anyhow::Result<SignedResponse> {
        let credentials = self
            .credentials
            .provide_credentials()
            .await
            .context("loading AWS credentials (configure the profile with `cargo xtask aws-profiles`, or set AWS credentials in the environment)")
            .classify(FailureKind::Environment)?;
        let identity: Identity = credentials.into();
        let signing_params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name(signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .context("preparing the SigV4 signature")
            .classify(FailureKind::Environment)?
            .into();
        let signable = SignableRequest::new(
            method,
            url,
            headers.iter().copied(),
            SignableBody::Bytes(&body),
        )
        .context("preparing the SigV4 signature")
        .classify(FailureKind::Environment)?;
        let (instructions, _signature) = sign(signable, &signing_params)
            .context("signing the request")
            .classify(FailureKind::Environment)?
            .into_parts();
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .context("HTTP method")
            .classify(FailureKind::Config)?;
        let mut request = self.http.request(method, url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .with_context(|| format!("sending a request to {url}"))
            .classify(FailureKind::Api)?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .with_context(|| format!("reading the answer of {url}"))
            .classify(FailureKind::Api)?
            .to_vec();
        Ok(SignedResponse { status, body })
    }

    /// Calls a JSON 1.1 operation (`X-Amz-Target: <prefix>.<operation>`) and returns its answer.
    pub async fn call(
        &self,
        service: &AwsService,
        operation: &str,
        input: &serde_json::Value,
    ) -> anyhow::Result<serde_json::Value> {
        let url = format!("{}/", self.endpoint(service));
        let target = format!("{}.{operation}", service.target_prefix);
        let body = serde_json::to_vec(input).context("encoding the request")?;
        let host = host_of(&url);
        let headers = [
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target.as_str()),
            ("host", host.as_str()),
        ];
        let response = self
            .send_signed("POST", &url, service.signing_name, &headers, body)
            .await
            .with_context(|| format!("{} {operation}", service.label))?;
        if !(200..300).contains(&response.status) {
            return Err(fail(
                FailureKind::Api,
                format!(
                    "{} {operation} failed: {}",
                    service.label,
                    describe_error(response.status, &response.body)
                ),
            ));
        }
        if response.body.is_empty() {
            return Ok(serde_json::Value::Object(Default::default()));
        }
        serde_json::from_slice(&response.body)
            .with_context(|| format!("{} {operation}: the answer is not JSON", service.label))
            .classify(FailureKind::Api)
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

/// `HTTP 400 ClientException: message` from an AWS JSON error body.
pub fn describe_error(status: u16, body: &[u8]) -> String {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let kind = parsed
        .as_ref()
        .and_then(|v| v.get("__type"))
        .and_then(serde_json::Value::as_str)
        .map(|t| t.rsplit('#').next().unwrap_or(t).to_owned());
    let message = parsed.as_ref().and_then(|v| {
        v.get("message")
            .or_else(|| v.get("Message"))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    });
    match (kind, message) {
        (Some(kind), Some(message)) => format!("HTTP {status} {kind}: {message}"),
        (Some(kind), None) => format!("HTTP {status} {kind}"),
        (None, Some(message)) => format!("HTTP {status}: {message}"),
        (None, None) => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.chars().take(300).collect();
            format!("HTTP {status}: {text}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_precedence() {
        let ecr = &ECR;
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

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            describe_error(
                400,
                br#"{"__type":"com.amazonaws#ClientException","message":"no such family"}"#
            ),
            "HTTP 400 ClientException: no such family"
        );
        assert_eq!(describe_error(500, b"boom"), "HTTP 500: boom");
    }
}
