//! The ECR registry credentials for `docker login`.

use crate::aws::JsonClient;
use crate::aws::ecr::{GetAuthorizationToken, GetAuthorizationTokenOutput};
use crate::failure::{FailureKind, fail};

/// A registry login. The password is only ever passed on stdin; `Debug` does not show it.
pub struct RegistryLogin {
    pub registry: String,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for RegistryLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryLogin")
            .field("registry", &self.registry)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// ECR GetAuthorizationToken: the token is base64 of `AWS:<password>`.
pub async fn registry_login(client: &JsonClient) -> anyhow::Result<RegistryLogin> {
    let answer = client.call(&GetAuthorizationToken {}).await?;
    parse_authorization(&answer)
}

/// Reads the first authorization of a GetAuthorizationToken answer.
pub fn parse_authorization(answer: &GetAuthorizationTokenOutput) -> anyhow::Result<RegistryLogin> {
    let missing = |what: &str| {
        fail(
            FailureKind::Api,
            format!("ECR GetAuthorizationToken returned no {what}"),
        )
    };
    let data = answer
        .authorization_data
        .first()
        .ok_or_else(|| missing("authorizationData"))?;
    let token = data
        .authorization_token
        .as_deref()
        .ok_or_else(|| missing("token"))?;
    let endpoint = data
        .proxy_endpoint
        .as_deref()
        .ok_or_else(|| missing("proxyEndpoint"))?;
    let decoded = decode_base64(token)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            fail(
                FailureKind::Api,
                "ECR authorization token is not base64 text",
            )
        })?;
    let (username, password) = decoded.split_once(':').ok_or_else(|| {
        fail(
            FailureKind::Api,
            "ECR authorization token is not `user:password`",
        )
    })?;
    let registry = endpoint
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    Ok(RegistryLogin {
        registry,
        username: username.to_owned(),
        password: password.to_owned(),
    })
}

/// Standard base64, with or without padding; `None` on anything else.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const STANDARD_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
    );
    STANDARD_ANY_PADDING.decode(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_values() {
        assert_eq!(decode_base64("QVdTOnNlY3JldA==").unwrap(), b"AWS:secret");
        assert_eq!(decode_base64("QVdTOnNlY3JldA").unwrap(), b"AWS:secret");
        assert_eq!(decode_base64("").unwrap(), b"");
        assert!(decode_base64("!!").is_none());
    }

    #[test]
    fn parses_an_authorization() {
        let answer = serde_json::from_value(serde_json::json!({"authorizationData": [{
            "authorizationToken": "QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu",
            "proxyEndpoint": "https://123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"}]}))
        .unwrap();
        let login = parse_authorization(&answer).unwrap();
        assert_eq!(
            login.registry,
            "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"
        );
        assert_eq!(login.username, "AWS");
        assert_eq!(login.password, "123456789012-auth-token");
        assert!(!format!("{login:?}").contains("auth-token"));
    }
}
