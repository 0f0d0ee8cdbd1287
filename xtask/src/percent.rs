//! Percent-encoding for URL paths: the one helper behind GitHub API paths (label and environment
//! names), Bedrock model ids and the file links of review comments.

/// Encodes one path segment: only RFC 3986's unreserved characters stay, so `/`, `:`, spaces,
/// `(` and `)` cannot end a segment or a Markdown link.
pub fn encode_segment(text: &str) -> String {
    encode(text, b"-._~")
}

/// Encodes a repository path, keeping its `/` separators.
pub fn encode_path(path: &str) -> String {
    encode(path, b"-._~/")
}

fn encode(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || keep.contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_and_paths() {
        assert_eq!(encode_segment("dev/destroy me"), "dev%2Fdestroy%20me");
        assert_eq!(
            encode_segment("anthropic.claude-3-5-sonnet-20240620-v1:0"),
            "anthropic.claude-3-5-sonnet-20240620-v1%3A0"
        );
        assert_eq!(encode_path("dir/a b(1).tf"), "dir/a%20b%281%29.tf");
    }
}
