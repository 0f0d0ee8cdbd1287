//! What the client sends, checked against GitHub's own API description: every request a fake
//! GitHub received must be an operation of `@octokit/openapi` (method and path template), with
//! only the query parameters and body members that operation describes, and its required body
//! members present. `github_operations.json` holds the operations of the families the tool uses,
//! extracted from the package (its `_source` says how).

use serde::Deserialize;
use serde_json::Value;
use wiremock::MockServer;

const OPERATIONS: &str = include_str!("github_operations.json");

#[derive(Debug, Deserialize)]
struct Operations {
    operations: Vec<Operation>,
}

#[derive(Debug, Deserialize)]
struct Operation {
    operation: String,
    method: String,
    path: String,
    query: Vec<String>,
    body: Option<Vec<String>>,
    required: Vec<String>,
    #[serde(default)]
    members: std::collections::BTreeMap<String, Vec<String>>,
}

impl Operation {
    /// How many literal segments of the template `path` (`/repos/acme/infra/...`) matches, or
    /// `None` when it does not match: the most literal match is the operation.
    fn matches(&self, path: &str) -> Option<usize> {
        let template: Vec<&str> = self.path.split('/').collect();
        let actual: Vec<&str> = path.split('/').collect();
        if template.len() != actual.len() {
            return None;
        }
        let mut literal = 0;
        for (want, got) in template.iter().zip(&actual) {
            if want.starts_with('{') && want.ends_with('}') {
                if got.is_empty() {
                    return None;
                }
            } else if want == got {
                literal += 1;
            } else {
                return None;
            }
        }
        Some(literal)
    }
}

fn operations() -> Vec<Operation> {
    serde_json::from_str::<Operations>(OPERATIONS)
        .unwrap()
        .operations
}

/// Panics, naming the request, unless every request `server` received is described by GitHub's
/// API description. Returns the operation ids seen, for a test that wants to know what was asked.
pub async fn assert_described(server: &MockServer) -> Vec<String> {
    let operations = operations();
    let mut seen = Vec::new();
    for request in server.received_requests().await.unwrap() {
        let method = request.method.as_str();
        let path = request.url.path();
        let line = format!("{method} {path}");
        let operation = operations
            .iter()
            .filter(|operation| operation.method == method)
            .filter_map(|operation| operation.matches(path).map(|score| (score, operation)))
            .max_by_key(|(score, _)| *score)
            .map(|(_, operation)| operation)
            .unwrap_or_else(|| panic!("{line} is no operation of GitHub's API description"));
        for (name, _) in request.url.query_pairs() {
            assert!(
                operation.query.contains(&name.to_string()),
                "{line}: query parameter `{name}` is not one of {} ({:?})",
                operation.operation,
                operation.query
            );
        }
        if !request.body.is_empty() {
            let body: Value = serde_json::from_slice(&request.body)
                .unwrap_or_else(|error| panic!("{line}: the body is not JSON: {error}"));
            check_body(operation, &line, &body);
        }
        seen.push(operation.operation.clone());
    }
    seen
}

fn check_body(operation: &Operation, line: &str, body: &Value) {
    let Some(allowed) = &operation.body else {
        // `null` is what octocrab sends for "no body" on some calls.
        assert!(
            body.is_null(),
            "{line}: {} takes no body, got {body}",
            operation.operation
        );
        return;
    };
    let object = body
        .as_object()
        .unwrap_or_else(|| panic!("{line}: the body is not an object: {body}"));
    for key in object.keys() {
        assert!(
            allowed.contains(key),
            "{line}: body member `{key}` is not one of {} ({allowed:?})",
            operation.operation
        );
    }
    for key in &operation.required {
        assert!(
            object.contains_key(key),
            "{line}: {} requires body member `{key}`",
            operation.operation
        );
    }
    for (member, inner) in &operation.members {
        let values: Vec<&Value> = match object.get(member) {
            Some(Value::Array(items)) => items.iter().collect(),
            Some(value @ Value::Object(_)) => vec![value],
            _ => continue,
        };
        for value in values {
            for key in value
                .as_object()
                .into_iter()
                .flat_map(|object| object.keys())
            {
                assert!(
                    inner.contains(key),
                    "{line}: `{member}.{key}` is not one of {} ({inner:?})",
                    operation.operation
                );
            }
        }
    }
}

#[test]
fn templates_match_the_most_literal_operation() {
    let operations = operations();
    let find = |method: &str, path: &str| {
        operations
            .iter()
            .filter(|operation| operation.method == method)
            .filter_map(|operation| operation.matches(path).map(|score| (score, operation)))
            .max_by_key(|(score, _)| *score)
            .map(|(_, operation)| operation.operation.as_str())
    };
    assert_eq!(
        find("PATCH", "/repos/acme/infra/issues/comments/5"),
        Some("issues/update-comment")
    );
    assert_eq!(
        find("GET", "/repos/acme/infra/issues/7/comments"),
        Some("issues/list-comments")
    );
    // What octocrab's `update_comment` sends: no such operation.
    assert_eq!(find("POST", "/repos/acme/infra/issues/comments/5"), None);
}
