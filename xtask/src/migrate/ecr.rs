//! The ECR registry credentials for `docker login`.

use crate::aws::{ECR, SignedJsonClient};
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
pub async fn registry_login(client: &SignedJsonClient) -> anyhow::Result<RegistryLogin> {
    let answer = client
        .call(&ECR, "GetAuthorizationToken", &serde_json::json!({}))
        .await?;
    parse_authorization(&answer)
}

/// Reads the first authorization of a GetAuthorizationToken answer.
pub fn parse_authorization(answer: &serde_json::Value) -> anyhow::Result<RegistryLogin> {
    let data = answer
        .get("authorizationData")
        .and_then(serde_json::Value::as_array)
        .and_then(|list| list.first())
        .ok_or_else(|| {
            fail(
                FailureKind::Api,
                "ECR GetAuthorizationToken returned no authorizationData",
            )
        })?;
    let token = data
        .get("authorizationToken")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            fail(
                FailureKind::Api,
                "ECR GetAuthorizationToken returned no token",
            )
        })?;
    let endpoint = data
        .get("proxyEndpoint")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| {
            fail(
                FailureKind::Api,
                "ECR GetAuthorizationToken returned no proxyEndpoint",
            )
        })?;
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

/// Standard base64 (with or without padding); `None` on anything else.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    fn value(byte: u8) -> Option<u32> {
        match byte {
            b'A'..=b'Z' => Some(u32::from(byte - b'A')),
            b'a'..=b'z' => Some(u32::from(byte - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(byte - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let trimmed = text.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0u32;
    for byte in trimmed.bytes() {
        buffer = (buffer << 6) | value(byte)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
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
        let answer = serde_json::json!({"authorizationData": [{
            "authorizationToken": "QVdTOjEyMzQ1Njc4OTAxMi1hdXRoLXRva2Vu",
            "proxyEndpoint": "https://123456789012.dkr.ecr.ap-northeast-1.amazonaws.com"}]});
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
