//! Amazon ECR (model `ecr` 2015-09-21): the registry login.

use serde::{Deserialize, Serialize};

use super::{AwsService, Operation};

pub const SERVICE: AwsService = AwsService {
    signing_name: "ecr",
    endpoint_prefix: "api.ecr",
    endpoint_env_id: "ECR",
    target_prefix: "AmazonEC2ContainerRegistry_V20150921",
    label: "ECR",
};

/// The registry credentials of the caller's account.
#[derive(Debug, Default, Serialize)]
pub struct GetAuthorizationToken {}

impl Operation for GetAuthorizationToken {
    const SERVICE: AwsService = SERVICE;
    const NAME: &'static str = "GetAuthorizationToken";
    type Output = GetAuthorizationTokenOutput;
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GetAuthorizationTokenOutput {
    #[serde(default)]
    pub authorization_data: Vec<AuthorizationData>,
}

/// `Debug` leaves out the token: it holds the registry password.
#[derive(Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationData {
    /// Base64 of `AWS:<password>`.
    pub authorization_token: Option<String>,
    pub proxy_endpoint: Option<String>,
}

impl std::fmt::Debug for AuthorizationData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationData")
            .field("proxy_endpoint", &self.proxy_endpoint)
            .finish_non_exhaustive()
    }
}
