//! The hand-written AWS JSON client (`xtask::aws`) against the official service models: botocore's
//! `service-2.json` of ECR, ECS and CloudWatch Logs, from the moto venv `cargo xtask ci` installs.
//!
//! For every operation we call: the service metadata (target prefix, endpoint prefix, signing
//! name, service id) and the operation name match; every request member we send exists in the
//! input shape with a compatible type (enums among the model's values) and every required member
//! is sent; every response member we read exists in the output shape with a compatible type (an
//! answer generated from the model, with every member, reads into our type and writes back only
//! model members). And the read-only members we leave out of RegisterTaskDefinition are exactly
//! the members the model's TaskDefinition has and RegisterTaskDefinitionRequest lacks. The review's
//! Bedrock Converse request and the answer members it reads are checked against `bedrock-runtime`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use serde::Serialize;
use serde_json::{Map, Value, json};
use xtask::aws::{self, AwsService, Operation};

use crate::support;

/// One service model, as botocore loads it (it reads `service-2.json` or `service-2.json.gz`).
struct Model {
    name: &'static str,
    json: Value,
}

fn python() -> Option<PathBuf> {
    let python = support::ci_tools_dir().join("venv/bin/python");
    if python.is_file() {
        return Some(python);
    }
    support::missing("botocore's service models (the moto venv in $XTASK_CI_TOOLS/venv)")
        .map(|never| match never {})
}

fn load(python: &PathBuf, name: &'static str) -> Model {
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, botocore.loaders as l; json.dump(l.Loader().load_service_model(sys.argv[1], 'service-2'), sys.stdout)",
            name,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "loading the {name} model: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Model {
        name,
        json: serde_json::from_slice(&out.stdout).unwrap(),
    }
}

impl Model {
    fn shape(&self, name: &str) -> &Value {
        let shape = &self.json["shapes"][name];
        assert!(shape.is_object(), "{}: no shape {name}", self.name);
        shape
    }

    fn members(&self, shape: &str) -> BTreeSet<String> {
        self.shape(shape)["members"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    }

    fn check_service(&self, service: &AwsService) {
        let meta = &self.json["metadata"];
        assert_eq!(meta["protocol"], "json", "{}", self.name);
        assert_eq!(meta["jsonVersion"], "1.1", "{}", self.name);
        assert_eq!(meta["targetPrefix"], service.target_prefix, "{}", self.name);
        assert_eq!(
            meta["endpointPrefix"], service.endpoint_prefix,
            "{}",
            self.name
        );
        let signing = meta["signingName"]
            .as_str()
            .or(meta["endpointPrefix"].as_str())
            .unwrap();
        assert_eq!(signing, service.signing_name, "{}", self.name);
        let env_id = meta["serviceId"]
            .as_str()
            .unwrap()
            .to_uppercase()
            .replace(' ', "_");
        assert_eq!(env_id, service.endpoint_env_id, "{}", self.name);
    }

    /// The input and output shape names of `O`, after checking that the model has it.
    fn operation<O: Operation>(&self) -> (String, String) {
        assert_eq!(
            O::SERVICE.target_prefix,
            self.json["metadata"]["targetPrefix"]
        );
        let operation = &self.json["operations"][O::NAME];
        assert!(
            operation.is_object(),
            "{}: no operation {}",
            self.name,
            O::NAME
        );
        (
            operation["input"]["shape"].as_str().unwrap().to_owned(),
            operation["output"]["shape"].as_str().unwrap().to_owned(),
        )
    }

    /// A value of `shape` with every member (one list element, one map entry), to the depth
    /// where a recursive shape would go on forever.
    fn sample(&self, shape: &str, depth: usize) -> Value {
        if depth > 12 {
            return Value::Null;
        }
        let definition = self.shape(shape);
        let target = |key: &str| definition[key]["shape"].as_str().unwrap().to_owned();
        match definition["type"].as_str().unwrap() {
            // A document is any JSON value.
            "structure" if definition["document"] == true => json!({"any": ["json"]}),
            // A union holds exactly one member: its first.
            "structure" => Value::Object(
                definition["members"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .take(if definition["union"] == true {
                        1
                    } else {
                        usize::MAX
                    })
                    .map(|(name, member)| {
                        let shape = member["shape"].as_str().unwrap();
                        (name.clone(), self.sample(shape, depth + 1))
                    })
                    .collect(),
            ),
            "list" => json!([self.sample(&target("member"), depth + 1)]),
            "map" => {
                let key = self.sample(&target("key"), depth + 1);
                let mut map = Map::new();
                map.insert(
                    key.as_str().unwrap_or("key").to_owned(),
                    self.sample(&target("value"), depth + 1),
                );
                Value::Object(map)
            }
            "string" => definition["enum"]
                .get(0)
                .cloned()
                .unwrap_or_else(|| json!(format!("{shape}-value"))),
            "integer" | "long" => json!(1),
            "boolean" => json!(true),
            "timestamp" | "double" | "float" => json!(1_700_000_000.5),
            "blob" => json!("eA=="),
            other => panic!("{}: shape {shape} has type {other}", self.name),
        }
    }

    /// Every way `value` does not fit `shape`, as `path: why`.
    fn misfits(&self, value: &Value, shape: &str, path: &str, request: bool) -> Vec<String> {
        let definition = self.shape(shape);
        let kind = definition["type"].as_str().unwrap();
        let target = |key: &str| definition[key]["shape"].as_str().unwrap().to_owned();
        // An absent optional member reads back as null from our types.
        if value.is_null() && !request {
            return Vec::new();
        }
        let wrong = || vec![format!("{path}: {value} is not a {kind} ({shape})")];
        match kind {
            "structure" if definition["document"] == true => Vec::new(),
            "structure" => {
                let Some(object) = value.as_object() else {
                    return wrong();
                };
                if definition["union"] == true && object.len() != 1 {
                    return vec![format!("{path}: a {shape} holds exactly one member")];
                }
                let members = definition["members"].as_object().unwrap();
                let mut misfits = Vec::new();
                for (name, member_value) in object {
                    match members.get(name) {
                        None => misfits.push(format!("{path}.{name}: not a member of {shape}")),
                        Some(member) => misfits.extend(self.misfits(
                            member_value,
                            member["shape"].as_str().unwrap(),
                            &format!("{path}.{name}"),
                            request,
                        )),
                    }
                }
                if request {
                    for required in definition["required"].as_array().into_iter().flatten() {
                        let required = required.as_str().unwrap();
                        // A member of the URI or a header is not in the body (REST protocols).
                        let in_body = members[required].get("location").is_none();
                        if in_body && !object.contains_key(required) {
                            misfits.push(format!("{path}.{required}: required by {shape}"));
                        }
                    }
                }
                misfits
            }
            "list" => match value.as_array() {
                Some(items) => items
                    .iter()
                    .enumerate()
                    .flat_map(|(i, item)| {
                        self.misfits(item, &target("member"), &format!("{path}[{i}]"), request)
                    })
                    .collect(),
                None => wrong(),
            },
            "map" => match value.as_object() {
                Some(entries) => entries
                    .iter()
                    .flat_map(|(key, item)| {
                        self.misfits(item, &target("value"), &format!("{path}[{key}]"), request)
                    })
                    .collect(),
                None => wrong(),
            },
            "string" => match (value.as_str(), definition["enum"].as_array()) {
                (None, _) => wrong(),
                (Some(text), Some(values)) if !values.iter().any(|v| v == text) => {
                    vec![format!("{path}: `{text}` is not one of {shape}'s values")]
                }
                _ => Vec::new(),
            },
            "integer" | "long" if value.is_i64() || value.is_u64() => Vec::new(),
            "boolean" if value.is_boolean() => Vec::new(),
            "timestamp" | "double" | "float" if value.is_number() => Vec::new(),
            "blob" if value.is_string() => Vec::new(),
            _ => wrong(),
        }
    }

    /// `request` fits `O`'s input shape, and `O`'s output type reads the model's answer and holds
    /// only model members.
    fn check<O: Operation>(&self, request: &O)
    where
        O::Output: Serialize,
    {
        let (input, output) = self.operation::<O>();
        let sent = serde_json::to_value(request).unwrap();
        let misfits = self.misfits(&sent, &input, O::NAME, true);
        assert!(misfits.is_empty(), "{} request: {misfits:#?}", O::NAME);
        self.check_read::<O::Output>(&output, O::NAME);
    }

    /// A full answer of `shape` reads into `T`, and what `T` keeps fits `shape`.
    fn check_read<T: serde::de::DeserializeOwned + Serialize>(&self, shape: &str, what: &str) {
        let answer = self.sample(shape, 0);
        let read: T = serde_json::from_value(answer.clone()).unwrap_or_else(|e| {
            panic!("{what}: the model's answer does not read: {e}\n{answer:#}")
        });
        let kept = serde_json::to_value(&read).unwrap();
        let misfits = self.misfits(&kept, shape, what, false);
        assert!(misfits.is_empty(), "{what} answer: {misfits:#?}");
    }
}

#[test]
#[ignore = "needs botocore's service models from the moto venv: `cargo xtask ci` installs it and runs this"]
fn the_json_client_matches_the_ecr_ecs_and_logs_service_models() {
    let Some(python) = python() else {
        return;
    };
    let ecr = load(&python, "ecr");
    let ecs = load(&python, "ecs");
    let logs = load(&python, "logs");
    ecr.check_service(&aws::ecr::SERVICE);
    ecs.check_service(&aws::ecs::SERVICE);
    logs.check_service(&aws::logs::SERVICE);

    ecr.check(&aws::ecr::GetAuthorizationToken {});

    ecs.check(&aws::ecs::DescribeTaskDefinition {
        task_definition: "dev-db-migrate".to_owned(),
        include: vec![aws::ecs::TaskDefinitionField::Tags],
    });
    ecs.check_read::<aws::ecs::TaskDefinition>("TaskDefinition", "task definition");
    // The registration input is built from a described task definition with every member.
    let described = ecs.sample("DescribeTaskDefinitionResponse", 0);
    let container = described["taskDefinition"]["containerDefinitions"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let register = xtask::migrate::task_definition::registration_input(
        serde_json::from_value(described).unwrap(),
        &container,
        "repo@sha256:abc",
    )
    .unwrap();
    ecs.check(&register);
    ecs.check(&aws::ecs::DescribeTasks {
        cluster: "dev".to_owned(),
        tasks: vec!["arn:aws:ecs:ap-northeast-1:123456789012:task/dev/abc".to_owned()],
    });

    logs.check(&aws::logs::GetLogEvents {
        log_group_name: "/ecs/dev/db-migrate".to_owned(),
        log_stream_name: "ecs/db-migrate/abc".to_owned(),
        limit: xtask::migrate::execution::LOG_LINES,
        start_from_head: false,
    });
}

#[test]
#[ignore = "needs botocore's service models from the moto venv: `cargo xtask ci` installs it and runs this"]
fn the_read_only_task_definition_members_are_the_ones_register_does_not_take() {
    let Some(python) = python() else {
        return;
    };
    let ecs = load(&python, "ecs");
    let described = ecs.members("TaskDefinition");
    let registerable = ecs.members("RegisterTaskDefinitionRequest");
    let read_only: BTreeSet<String> = described.difference(&registerable).cloned().collect();
    let ours: BTreeSet<String> = aws::ecs::READ_ONLY_MEMBERS
        .iter()
        .map(|m| (*m).to_owned())
        .collect();
    assert_eq!(ours, read_only);
}

/// The Converse request the review sends to Amazon Bedrock, and the parts of the answer it reads,
/// against botocore's `bedrock-runtime` model: the operation's path and signing name, every
/// member we send (unions with one member, enums among the model's values), and the answer's
/// members we read (the tool input or text, `stopReason` `max_tokens`, the token usage).
#[test]
#[ignore = "needs botocore's service models from the moto venv: `cargo xtask ci` installs it and runs this"]
fn the_bedrock_converse_request_and_answer_match_the_bedrock_runtime_model() {
    use xtask::review::bedrock;
    let Some(python) = python() else {
        return;
    };
    let model = load(&python, "bedrock-runtime");
    let meta = &model.json["metadata"];
    assert_eq!(meta["protocol"], "rest-json");
    assert_eq!(meta["signingName"], bedrock::SIGNING_NAME);
    let operation = &model.json["operations"]["Converse"];
    assert_eq!(operation["http"]["method"], "POST");
    assert_eq!(
        operation["http"]["requestUri"].as_str().unwrap(),
        bedrock::converse_path("{modelId}").replace("%7BmodelId%7D", "{modelId}")
    );
    let schema = json!({"type": "object", "properties": {"summary": {"type": "string"}}});
    let request = xtask::review::llm::Request {
        system: "You review Terraform.",
        user: "The diff.",
        schema_name: "review",
        schema: &schema,
        max_output_tokens: 4096,
    };
    let sent = bedrock::converse_body(&request);
    let misfits = model.misfits(&sent, "ConverseRequest", "Converse", true);
    assert!(misfits.is_empty(), "Converse request: {misfits:#?}");

    // The answer: a text block, then one with the tool's input (a union holds one member each).
    let mut answer = model.sample("ConverseResponse", 0);
    let text_block = answer["output"]["message"]["content"][0].clone();
    assert!(text_block.get("text").is_some(), "{text_block}");
    answer["output"]["message"]["content"] = json!([text_block, {"toolUse": {"toolUseId": "t1", "name": "review", "input": {"summary": "ok"}}}]);
    let misfits = model.misfits(&answer, "ConverseResponse", "Converse answer", false);
    assert!(misfits.is_empty(), "Converse answer: {misfits:#?}");
    assert_eq!(
        bedrock::converse_text(&answer).as_deref(),
        Some(r#"{"summary":"ok"}"#)
    );
    let stop_reasons = model.shape("StopReason")["enum"]
        .as_array()
        .unwrap()
        .clone();
    assert!(
        stop_reasons
            .iter()
            .any(|reason| reason == bedrock::MAX_TOKENS),
        "{stop_reasons:?}"
    );
    answer["stopReason"] = json!(bedrock::MAX_TOKENS);
    assert!(bedrock::converse_truncated(&answer));
    let usage = model.members("TokenUsage");
    assert!(usage.contains(bedrock::INPUT_TOKENS) && usage.contains(bedrock::OUTPUT_TOKENS));
}
