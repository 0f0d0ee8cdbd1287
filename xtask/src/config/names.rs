//! Validated strings: a value of one of these types has been checked once, at load, so the code
//! that uses it (ARNs, resource names, workflow expressions) does not check it again.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Environment names become directory names, GitHub environment names, label prefixes and parts
/// of AWS resource names, so they are kept to what all of those accept.
pub fn validate_environment_name(name: &str) -> Result<(), String> {
    let valid = (1..=32).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-');
    if !valid {
        return Err(format!(
            "`{name}` must be 1-32 characters of a-z, 0-9 and '-', start with a letter and not end with '-'"
        ));
    }
    if name == RESERVED_ENVIRONMENT_NAME {
        return Err(format!(
            "`{name}` is reserved: the drift workflow's manual run offers it as the choice of every environment"
        ));
    }
    Ok(())
}

/// The name no environment may have: the drift workflow's dispatch choice of all of them.
pub const RESERVED_ENVIRONMENT_NAME: &str = "all";

macro_rules! validated_string {
    ($(#[$meta:meta])* $name:ident, $check:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(pub(in crate::config) String);

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(value: String) -> Result<Self, String> {
                let check: fn(&str) -> Result<(), String> = $check;
                check(&value)?;
                Ok($name(value))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
    };
}

validated_string!(
    /// A twelve-digit AWS account id.
    AccountId,
    |value| {
        if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(format!("`{value}` is not an AWS account id (12 digits)"))
        }
    }
);

validated_string!(
    /// An AWS region such as `ap-northeast-1`.
    Region,
    |value| {
        let parts: Vec<&str> = value.split('-').collect();
        let valid = parts.len() >= 3
            && parts.iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
            && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
        if valid { Ok(()) } else { Err(format!("`{value}` is not an AWS region (like ap-northeast-1)")) }
    }
);

validated_string!(
    /// A resource name: IAM role, bucket, repository, cluster, GitHub owner. Letters, digits and
    /// `-_./+=@`, no spaces.
    Name,
    |value| {
        let valid = !value.is_empty()
            && value.len() <= 128
            && value.chars().all(|c| c.is_ascii_alphanumeric() || "-_./+=@".contains(c));
        if valid { Ok(()) } else { Err(format!("`{value}` is not a valid name (1-128 characters of letters, digits and -_./+=@)")) }
    }
);

validated_string!(
    /// The name of a GitHub secret or environment variable: upper case, digits and `_`.
    SecretName,
    |value| {
        let valid = !value.is_empty()
            && value.starts_with(|c: char| c.is_ascii_uppercase())
            && value.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && !value.starts_with("GITHUB_");
        if valid { Ok(()) } else { Err(format!("`{value}` is not a secret name (A-Z, 0-9 and _, starting with a letter, not GITHUB_)")) }
    }
);

validated_string!(
    /// A dotted version number such as `1.11.4`.
    Version,
    |value| {
        let valid = !value.is_empty()
            && value.split('.').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if valid { Ok(()) } else { Err(format!("`{value}` is not a version number like 1.11.4")) }
    }
);

#[cfg(test)]
mod tests {
    use super::validate_environment_name;

    #[test]
    fn environment_names() {
        assert!(validate_environment_name("dev").is_ok());
        assert!(validate_environment_name("stg-2").is_ok());
        for bad in ["", "Dev", "2dev", "dev-", "dev_x", "a/b", "all"] {
            assert!(validate_environment_name(bad).is_err(), "{bad}");
        }
    }
}
