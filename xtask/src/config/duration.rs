//! Durations in the configuration and on the command line: `90s`, `15m`, `1h30m`, read and written
//! by `humantime`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A duration written as `90s`, `15m`, `2h` or `1h30m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HumanDuration(pub Duration);

impl TryFrom<String> for HumanDuration {
    type Error = String;
    fn try_from(value: String) -> Result<Self, String> {
        value.parse()
    }
}

impl From<HumanDuration> for String {
    fn from(value: HumanDuration) -> String {
        format_duration(value.0)
    }
}

impl std::str::FromStr for HumanDuration {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, String> {
        parse_duration(value).map(HumanDuration)
    }
}

/// Parses `90s`, `15m`, `2h`, `1h30m`, `500ms` (and the rest of humantime's units).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|_| format!("`{text}` is not a duration (like 90s, 15m, 1h30m)"))
}

/// Formats a duration the way [`parse_duration`] reads it, without humantime's spaces so that
/// it reads as it is written in the configuration: `1h30m`, `45s`, `0s`.
pub fn format_duration(duration: Duration) -> String {
    humantime::format_duration(duration)
        .to_string()
        .replace(' ', "")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{format_duration, parse_duration};

    #[test]
    fn durations_round_trip() {
        for (text, secs) in [("90s", 90), ("15m", 900), ("1h30m", 5400), ("0s", 0)] {
            let parsed = parse_duration(text).unwrap();
            assert_eq!(parsed, Duration::from_secs(secs));
            assert_eq!(parse_duration(&format_duration(parsed)).unwrap(), parsed);
        }
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert!(parse_duration("15").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("3 parsecs").is_err());
    }
}
