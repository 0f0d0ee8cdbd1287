//! `cargo xtask migrate` end to end: the real binary against moto (STS role chain, ECR token,
//! ECS task definitions, CloudWatch Logs, Step Functions with its interpreter) and a docker shim
//! on PATH that records its argv.

use crate::support;

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::Moto;

const REGION: &str = "ap-northeast-1";
const ACCOUNT: &str = "123456789012";
const STATE_MACHINE: &str =
    "arn:aws:states:ap-northeast-1:123456789012:stateMachine:dev-db-migrate";
const IMAGE: &str = "123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/dev/db-migrate";
/// Secrets planted in the environment: none may appear in an argv or in our output.
const PLANTED_SECRET_KEY: &str = "planted-secret-access-key-7f3a9c";
const PLANTED_EXTERNAL_ID: &str = "planted-external-id-51d2";
/// The password inside moto's ECR authorization token.
const ECR_PASSWORD: &str = "123456789012-auth-token";
const FAKE_DIGEST: &str = "sha256:5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e5ca1ab1e";

/// The digest `docker inspect` reports when `docker push` printed none.
const INSPECT_DIGEST: &str =
    "sha256:d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1";

const DOCKER_SHIM: &str = r#"#!/bin/sh
# Records each invocation's argv (one line, arguments separated by tabs) and fakes the engine.
for arg in "$@"; do printf '%s\t' "$arg" >> "$DOCKER_SHIM_DIR/argv"; done
printf '\n' >> "$DOCKER_SHIM_DIR/argv"
case "$1" in
  login) cat > "$DOCKER_SHIM_DIR/login-stdin"; echo "Login Succeeded" ;;
  build)
    if [ -e "$DOCKER_SHIM_DIR/fail-build" ]; then echo "shim: build failed" >&2; exit 1; fi
    echo "shim: built $4" ;;
  push)
    if [ -e "$DOCKER_SHIM_DIR/fail-push" ]; then echo "shim: push denied" >&2; exit 1; fi
    echo "The push refers to repository [${2%:*}]"
    echo "5f70bf18a086: Pushed"
    if [ -e "$DOCKER_SHIM_DIR/quiet-push" ]; then exit 0; fi
    echo "${2##*:}: digest: $FAKE_DIGEST size: 528" ;;
  inspect)
    # docker inspect --format '{{json .RepoDigests}}' IMAGE:TAG
    image="${4%:*}"
    printf '["other.example/x@sha256:%064d","%s@%s"]\n' 0 "$image" "$INSPECT_DIGEST" ;;
  *) echo "shim: unexpected docker $1" >&2; exit 2 ;;
esac
"#;

/// A temporary repository with the dev environment, a docker shim and an AWS config whose
/// `dev-db-migrate` profile chains into the migrate role with an external id.
struct Fixture {
    /// `None` once a test has stopped it.
    moto: Option<Moto>,
    dir: tempfile::TempDir,
}

impl Fixture {
    fn start() -> Option<Fixture> {
        let moto = Moto::start()?;
        moto.enable_step_functions_interpreter();
        let dir = tempfile::Builder::new()
            .prefix("xtask-migrate-")
            .tempdir()
            .unwrap();
        let root = dir.path().join("repo");
        let repo = support::repo_root();
        std::fs::create_dir_all(root.join("environments/dev/docker")).unwrap();
        std::fs::copy(repo.join("Cargo.toml"), root.join("Cargo.toml")).unwrap();
        std::fs::copy(
            repo.join("environments/dev/xtask.toml"),
            root.join("environments/dev/xtask.toml"),
        )
        .unwrap();
        std::fs::write(
            root.join("environments/dev/docker/Dockerfile"),
            "FROM scratch\n",
        )
        .unwrap();
        for args in [
            vec!["init", "-q"],
            vec!["add", "-A"],
            vec![
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "commit",
                "-qm",
                "init",
            ],
        ] {
            let status = Command::new("git")
                .args(&args)
                .current_dir(&root)
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        }
        let shim_bin = dir.path().join("bin");
        std::fs::create_dir_all(&shim_bin).unwrap();
        let shim = shim_bin.join("docker");
        std::fs::write(&shim, DOCKER_SHIM).unwrap();
        let chmod = Command::new("chmod").arg("+x").arg(&shim).status().unwrap();
        assert!(chmod.success());
        std::fs::write(dir.path().join("aws-credentials"), "").unwrap();
        let fixture = Fixture {
            moto: Some(moto),
            dir,
        };
        fixture.create_aws_resources();
        fixture.write_profiles();
        Some(fixture)
    }

    /// The AWS config as CI writes it: `cargo xtask aws-profiles --purpose migrate` gives the
    /// profile `dev-db-migrate` (role_arn, external_id, credential_source = Environment).
    fn write_profiles(&self) {
        let output = self
            .xtask(&["aws-profiles", "--env", "dev", "--purpose", "migrate"])
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let written = std::fs::read_to_string(self.dir.path().join("aws-config")).unwrap();
        assert!(written.contains("[profile dev-db-migrate]"), "{written}");
        assert!(
            written.contains("role_arn = arn:aws:iam::123456789012:role/gha-dev-db-migrate"),
            "{written}"
        );
        assert!(
            written.contains("credential_source = Environment"),
            "{written}"
        );
    }

    fn moto(&self) -> &Moto {
        self.moto.as_ref().expect("moto was stopped")
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    fn shim_file(&self, name: &str) -> PathBuf {
        self.dir.path().join("bin").join(name)
    }

    fn docker_calls(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.shim_file("argv"))
            .unwrap_or_default()
            .lines()
            .map(|line| {
                line.split('\t')
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .collect()
    }

    fn git_sha(&self) -> String {
        let out = Command::new("git")
            .args(["rev-parse", "HEAD"])
            .current_dir(self.root())
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    /// A request to moto, routed by the credential scope of a dummy signature.
    fn call(&self, service: &str, target: Option<&str>, content_type: &str, body: &str) -> Value {
        let mut command = Command::new("curl");
        command
            .args(["-s", "-X", "POST", "--data-binary", body])
            .args(["-H", &format!("Content-Type: {content_type}")])
            .args(["-H", &format!("Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/{service}/aws4_request, SignedHeaders=host, Signature=0")])
            .args(["-w", "\n%{http_code}"]);
        if let Some(target) = target {
            command.args(["-H", &format!("X-Amz-Target: {target}")]);
        }
        let out = command.arg(self.moto().endpoint()).output().unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        let (body, code) = text.rsplit_once('\n').unwrap();
        assert!(
            code.starts_with('2'),
            "{service} {target:?} answered {code}: {body}"
        );
        serde_json::from_str(body).unwrap_or(Value::String(body.to_owned()))
    }

    fn json(&self, service: &str, target: &str, version: &str, body: Value) -> Value {
        self.call(
            service,
            Some(target),
            &format!("application/x-amz-json-{version}"),
            &body.to_string(),
        )
    }

    fn sfn(&self, operation: &str, body: Value) -> Value {
        self.json(
            "states",
            &format!("AWSStepFunctions.{operation}"),
            "1.0",
            body,
        )
    }

    fn ecs(&self, operation: &str, body: Value) -> Value {
        self.json(
            "ecs",
            &format!("AmazonEC2ContainerServiceV20141113.{operation}"),
            "1.1",
            body,
        )
    }

    fn logs(&self, operation: &str, body: Value) -> Value {
        self.json("logs", &format!("Logs_20140328.{operation}"), "1.1", body)
    }

    fn create_aws_resources(&self) {
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": PLANTED_EXTERNAL_ID}}}]});
        let form = format!(
            "Action=CreateRole&Version=2010-05-08&RoleName=gha-dev-db-migrate&AssumeRolePolicyDocument={}",
            percent_encode(&trust.to_string())
        );
        self.call("iam", None, "application/x-www-form-urlencoded", &form);
        self.ecs(
            "RegisterTaskDefinition",
            json!({"family": "dev-db-migrate", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "cpu": "256", "memory": "512",
                "executionRoleArn": format!("arn:aws:iam::{ACCOUNT}:role/dev-db-migrate-execution"),
                "containerDefinitions": [{"name": "db-migrate", "image": format!("{IMAGE}:bootstrap"), "memory": 512,
                    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/dev/db-migrate",
                        "awslogs-region": REGION, "awslogs-stream-prefix": "ecs"}}}]}),
        );
    }

    fn create_state_machine(&self, definition: Value) {
        self.sfn(
            "CreateStateMachine",
            json!({"name": "dev-db-migrate", "definition": definition.to_string(),
                "roleArn": format!("arn:aws:iam::{ACCOUNT}:role/dev-db-migrate-sfn")}),
        );
    }

    fn executions(&self, status: Option<&str>) -> Vec<Value> {
        let mut body = json!({"stateMachineArn": STATE_MACHINE});
        if let Some(status) = status {
            body["statusFilter"] = json!(status);
        }
        self.sfn("ListExecutions", body)["executions"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = self.xtask(&["migrate", "--env", "dev"]);
        command.args(args);
        command
    }

    /// The xtask binary in the temporary repository, with moto's endpoint and planted secrets.
    fn xtask(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command.args(args).current_dir(self.root());
        command.env_clear();
        command.env(
            "PATH",
            format!(
                "{}:{}",
                self.dir.path().join("bin").display(),
                std::env::var("PATH").unwrap()
            ),
        );
        for (key, value) in self.moto().aws_env() {
            command.env(key, value);
        }
        command
            .env("AWS_SECRET_ACCESS_KEY", PLANTED_SECRET_KEY)
            .env("DEV_MIGRATE_EXTERNAL_ID", PLANTED_EXTERNAL_ID)
            .env("AWS_CONFIG_FILE", self.dir.path().join("aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.path().join("aws-credentials"),
            )
            .env("HOME", self.dir.path())
            .env("DOCKER_SHIM_DIR", self.dir.path().join("bin"))
            .env("FAKE_DIGEST", FAKE_DIGEST)
            .env("INSPECT_DIGEST", INSPECT_DIGEST)
            .env("CI", "true")
            .env("GITHUB_ACTOR", "octocat")
            .env(
                "GITHUB_STEP_SUMMARY",
                self.dir.path().join("step-summary.md"),
            );
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        let output = self.command(args).output().unwrap();
        self.assert_no_secrets(&output);
        output
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    fn assert_no_secrets(&self, output: &Output) {
        let argv = std::fs::read_to_string(self.shim_file("argv")).unwrap_or_default();
        for (what, text) in [
            ("docker argv", argv),
            (
                "stdout",
                String::from_utf8_lossy(&output.stdout).into_owned(),
            ),
            (
                "stderr",
                String::from_utf8_lossy(&output.stderr).into_owned(),
            ),
        ] {
            for secret in [PLANTED_SECRET_KEY, PLANTED_EXTERNAL_ID, ECR_PASSWORD] {
                assert!(
                    !text.contains(secret),
                    "{what} contains the secret {secret}:\n{text}"
                );
            }
        }
    }

    /// Waits (bounded) until an execution is RUNNING.
    fn wait_for_running(&self) -> String {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            if let Some(execution) = self.executions(Some("RUNNING")).first() {
                return execution["executionArn"].as_str().unwrap().to_owned();
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("no execution started within 120 s");
    }

    /// Turns on moto's request recorder (what the binary sent, headers and bodies).
    fn start_recording(&self) {
        let out = Command::new("curl")
            .args(["-sf", "-X", "POST"])
            .arg(format!(
                "{}/moto-api/recorder/start-recording",
                self.moto().endpoint()
            ))
            .output()
            .unwrap();
        assert!(out.status.success());
    }

    /// The recorded requests: (X-Amz-Target or "", Authorization, body).
    fn recorded_requests(&self) -> Vec<(String, String, String)> {
        let out = Command::new("curl")
            .args(["-sf"])
            .arg(format!(
                "{}/moto-api/recorder/download-recording",
                self.moto().endpoint()
            ))
            .output()
            .unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let record: Value = serde_json::from_str(line).unwrap();
                let header = |name: &str| {
                    record["headers"]
                        .as_object()
                        .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                        .and_then(|(_, v)| v.as_str())
                        .unwrap_or("")
                        .to_owned()
                };
                let body = record["body"].as_str().unwrap_or("");
                let body = if record["body_encoded"] == json!(true) {
                    use base64::Engine as _;
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .unwrap();
                    String::from_utf8(bytes).unwrap()
                } else {
                    body.to_owned()
                };
                (header("X-Amz-Target"), header("Authorization"), body)
            })
            .collect()
    }

    fn summary(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("step-summary.md")).unwrap_or_default()
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn code(output: &Output) -> i32 {
    output.status.code().unwrap_or(-1)
}

/// Stdout with the varying parts (commit, times, session names) replaced, for snapshots.
fn normalized(output: &Output, sha: &str) -> String {
    let text = String::from_utf8_lossy(&output.stdout)
        .replace(sha, "[SHA]")
        .replace(&sha[..12], "[SHORT]");
    let patterns = [
        (r"-\d{13}\b", "-[UNIX]"),
        (
            r"assumed-role/gha-dev-db-migrate/[A-Za-z0-9_=,.@-]+",
            "assumed-role/gha-dev-db-migrate/[SESSION]",
        ),
        (r"(in|after) (\d+m)?\d+s", "$1 [ELAPSED]"),
    ];
    patterns.iter().fold(text, |text, (pattern, with)| {
        regex::Regex::new(pattern)
            .unwrap()
            .replace_all(&text, *with)
            .into_owned()
    })
}

fn pass_machine() -> Value {
    json!({"StartAt": "RunMigration", "States": {"RunMigration": {"Type": "Pass", "End": true}}})
}

fn wait_machine(seconds: u32) -> Value {
    json!({"StartAt": "RunMigration", "States": {
        "RunMigration": {"Type": "Wait", "Seconds": seconds, "Next": "Done"},
        "Done": {"Type": "Pass", "End": true}}})
}

fn fail_machine(cause: &str) -> Value {
    json!({"StartAt": "RunMigration", "States": {
        "RunMigration": {"Type": "Pass", "Next": "MigrationFailed"},
        "MigrationFailed": {"Type": "Fail", "Error": "MigrationFailed", "Cause": cause}}})
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn a_successful_migration_pushes_by_digest_and_exits_0() {
    let Some(fx) = Fixture::start() else { return };
    fx.create_state_machine(pass_machine());
    fx.start_recording();
    let output = fx.run(&[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(code(&output), 0, "{stderr}");
    let sha = fx.git_sha();

    // STS AssumeRole of the migrate role with the external id, signed with the environment's
    // keys; every later call (SDK and our signed JSON client alike) with the assumed role's keys.
    let requests = fx.recorded_requests();
    let assume = requests
        .iter()
        .find(|(_, _, body)| body.contains("Action=AssumeRole"))
        .expect("an AssumeRole request");
    assert!(
        assume
            .2
            .contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fgha-dev-db-migrate"),
        "{}",
        assume.2
    );
    assert!(
        assume
            .2
            .contains(&format!("ExternalId={PLANTED_EXTERNAL_ID}")),
        "{}",
        assume.2
    );
    assert!(assume.1.contains("Credential=testing/"), "{}", assume.1);
    for operation in [
        "AWSStepFunctions.StartExecution",
        "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken",
        "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
    ] {
        let (_, authorization, _) = requests
            .iter()
            .find(|(target, _, _)| target == operation)
            .unwrap_or_else(|| panic!("no {operation} request"));
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=")
                && !authorization.contains("Credential=testing/"),
            "{operation} was not signed with the assumed role: {authorization}"
        );
    }

    // The role chain: the profile's role, assumed with the external id from the environment.
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "arn:aws:sts::{ACCOUNT}:assumed-role/gha-dev-db-migrate/"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("AWS profile `dev-db-migrate`"), "{stdout}");

    // docker: login with the password on stdin, build with the commit tag, push.
    let registry = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com");
    let tagged = format!("{IMAGE}:{sha}");
    assert_eq!(
        fx.docker_calls(),
        vec![
            vec![
                "login".to_owned(),
                "--username".into(),
                "AWS".into(),
                "--password-stdin".into(),
                registry
            ],
            vec![
                "build".into(),
                "--no-cache".into(),
                "-t".into(),
                tagged.clone(),
                "environments/dev/docker".into()
            ],
            vec!["push".into(), tagged],
        ]
    );
    assert_eq!(
        std::fs::read_to_string(fx.shim_file("login-stdin")).unwrap(),
        ECR_PASSWORD
    );

    // The execution names exactly the pushed digest, through a new task definition revision.
    let executions = fx.executions(None);
    assert_eq!(executions.len(), 1);
    let described = fx.sfn(
        "DescribeExecution",
        json!({"executionArn": executions[0]["executionArn"]}),
    );
    assert_eq!(described["status"], "SUCCEEDED");
    let input: Value = serde_json::from_str(described["input"].as_str().unwrap()).unwrap();
    let pinned = format!("{IMAGE}@{FAKE_DIGEST}");
    assert_eq!(
        input,
        json!({"task_definition": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/dev-db-migrate:2"),
            "image": pinned, "git_sha": sha, "requested_by": "octocat"})
    );
    let revision = fx.ecs(
        "DescribeTaskDefinition",
        json!({"taskDefinition": "dev-db-migrate:2"}),
    );
    assert_eq!(
        revision["taskDefinition"]["containerDefinitions"][0]["image"],
        json!(pinned)
    );
    assert_eq!(
        revision["taskDefinition"]["containerDefinitions"][0]["logConfiguration"]["options"]["awslogs-stream-prefix"],
        "ecs"
    );

    assert!(
        fx.summary().contains("✅ Migration of `dev` SUCCEEDED"),
        "{}",
        fx.summary()
    );
    insta::assert_snapshot!(normalized(&output, &sha));
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn a_failed_migration_exits_5_with_error_cause_exit_code_and_logs() {
    let Some(fx) = Fixture::start() else { return };
    let task_arn = format!(
        "arn:aws:ecs:{REGION}:{ACCOUNT}:task/dev-db-migrate/0123456789abcdef0123456789abcdef"
    );
    // What ecs:runTask.sync puts in the cause when the task fails (PascalCase task description).
    let cause = json!({"TaskArn": task_arn, "StoppedReason": "Essential container in task exited",
        "Containers": [{"Name": "db-migrate", "ExitCode": 1}]});
    fx.create_state_machine(fail_machine(&cause.to_string()));
    fx.logs(
        "CreateLogGroup",
        json!({"logGroupName": "/ecs/dev/db-migrate"}),
    );
    let stream = "ecs/db-migrate/0123456789abcdef0123456789abcdef";
    fx.logs(
        "CreateLogStream",
        json!({"logGroupName": "/ecs/dev/db-migrate", "logStreamName": stream}),
    );
    let events: Vec<Value> = (0..40)
        .map(|i| json!({"timestamp": 1_795_770_000_000_i64 + i, "message": format!("prisma line {i}")}))
        .collect();
    fx.logs("PutLogEvents", json!({"logGroupName": "/ecs/dev/db-migrate", "logStreamName": stream, "logEvents": events}));

    let output = fx.run(&[]);
    assert_eq!(
        code(&output),
        5,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: migration of `dev` ended FAILED"),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("exit code:       1"), "{stdout}");
    assert!(
        stdout.contains("prisma line 39") && !stdout.contains("prisma line 9\n"),
        "{stdout}"
    );
    assert!(fx.summary().contains("❌ Migration of `dev` FAILED"));
    insta::assert_snapshot!(normalized(&output, &fx.git_sha()));
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn secrets_in_the_migration_log_reach_neither_the_log_nor_the_job_summary() {
    let Some(fx) = Fixture::start() else { return };
    let webhook = format!(
        "https://{}.com/services/T0ABCDEFG/B0ABCDEFGHI/{}",
        "hooks.slack", "Zk3xQ9mW2pL7vN4bR8tY1cJ6"
    );
    // The job's own secrets (the external id and the AWS secret key it holds) and shaped ones,
    // as a careless migration script would print them.
    let task_arn = format!(
        "arn:aws:ecs:{REGION}:{ACCOUNT}:task/dev-db-migrate/0123456789abcdef0123456789abcdef"
    );
    let cause = json!({"TaskArn": task_arn, "StoppedReason": format!("aborted, key {PLANTED_SECRET_KEY}"),
        "Containers": [{"Name": "db-migrate", "ExitCode": 1}]});
    fx.create_state_machine(fail_machine(&cause.to_string()));
    fx.logs(
        "CreateLogGroup",
        json!({"logGroupName": "/ecs/dev/db-migrate"}),
    );
    let stream = "ecs/db-migrate/0123456789abcdef0123456789abcdef";
    fx.logs(
        "CreateLogStream",
        json!({"logGroupName": "/ecs/dev/db-migrate", "logStreamName": stream}),
    );
    let lines = [
        format!("assuming with external id {PLANTED_EXTERNAL_ID}"),
        format!("AWS_SECRET_ACCESS_KEY={PLANTED_SECRET_KEY}"),
        "Datasource \"db\": PostgreSQL at \"postgres://app:S3cr3tPassw0rd@db:5432/app\"".to_owned(),
        format!("notify {webhook}"),
        "Error: P1000 authentication failed".to_owned(),
    ];
    let events: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| json!({"timestamp": 1_795_770_000_000_i64 + i64::try_from(i).unwrap(), "message": line}))
        .collect();
    fx.logs("PutLogEvents", json!({"logGroupName": "/ecs/dev/db-migrate", "logStreamName": stream, "logEvents": events}));

    // `run` checks stdout and stderr for the planted secrets.
    let output = fx.run(&[]);
    assert_eq!(
        code(&output),
        5,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("Error: P1000 authentication failed"),
        "{stdout}"
    );
    assert!(stdout.contains("[REDACTED:job-secret]"), "{stdout}");
    let summary = fx.summary();
    assert!(
        summary.contains("Error: P1000 authentication failed"),
        "{summary}"
    );
    for secret in [
        PLANTED_EXTERNAL_ID,
        PLANTED_SECRET_KEY,
        "S3cr3tPassw0rd",
        webhook.as_str(),
    ] {
        assert!(!stdout.contains(secret), "{secret} in the log:\n{stdout}");
        assert!(
            !summary.contains(secret),
            "{secret} in the job summary:\n{summary}"
        );
    }
}

/// The first `<tag>value</tag>` of an EC2 XML answer.
fn xml_value(answer: &Value, tag: &str) -> String {
    let text = answer.as_str().unwrap();
    let pattern = regex::Regex::new(&format!("<{tag}>([^<]+)</{tag}>")).unwrap();
    pattern
        .captures(text)
        .unwrap_or_else(|| panic!("no <{tag}> in {text}"))[1]
        .to_owned()
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn a_failure_without_an_exit_code_asks_ecs_describe_tasks() {
    let Some(fx) = Fixture::start() else { return };
    // A real task in moto's ECS (moto needs a VPC with DNS host names for awsvpc tasks).
    let form = "application/x-www-form-urlencoded";
    let vpc = xml_value(
        &fx.call(
            "ec2",
            None,
            form,
            "Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0/16",
        ),
        "vpcId",
    );
    fx.call(
        "ec2",
        None,
        form,
        &format!(
            "Action=ModifyVpcAttribute&Version=2016-11-15&VpcId={vpc}&EnableDnsHostnames.Value=true"
        ),
    );
    let subnet = xml_value(
        &fx.call(
            "ec2",
            None,
            form,
            &format!("Action=CreateSubnet&Version=2016-11-15&VpcId={vpc}&CidrBlock=10.0.1.0/24"),
        ),
        "subnetId",
    );
    let group = xml_value(
        &fx.call("ec2", None, form, &format!("Action=CreateSecurityGroup&Version=2016-11-15&VpcId={vpc}&GroupName=migration&GroupDescription=migration")),
        "groupId",
    );
    fx.ecs("CreateCluster", json!({"clusterName": "dev-db-migrate"}));
    let run = fx.ecs(
        "RunTask",
        json!({"cluster": "dev-db-migrate", "taskDefinition": "dev-db-migrate", "launchType": "FARGATE",
            "networkConfiguration": {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group]}}}),
    );
    let task_arn = run["tasks"][0]["taskArn"].as_str().unwrap().to_owned();
    // A cause that names the task but not its exit code.
    let cause = json!({"TaskArn": task_arn});
    fx.create_state_machine(fail_machine(&cause.to_string()));

    let output = fx.run(&[]);
    assert_eq!(code(&output), 5);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!("ECS task:        {task_arn}")),
        "{stdout}"
    );
    // moto's tasks always exit 0; the code can only have come from DescribeTasks.
    assert!(stdout.contains("exit code:       0"), "{stdout}");
    // No log group exists: said, not hidden.
    assert!(stdout.contains("GetLogEvents failed"), "{stdout}");
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn without_a_digest_in_the_push_output_the_digest_comes_from_docker_inspect() {
    let Some(fx) = Fixture::start() else { return };
    fx.create_state_machine(pass_machine());
    std::fs::write(fx.shim_file("quiet-push"), "").unwrap();
    let output = fx.run(&["--no-wait"]);
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sha = fx.git_sha();
    assert_eq!(
        fx.docker_calls().last().unwrap(),
        &vec![
            "inspect".to_owned(),
            "--format".into(),
            "{{json .RepoDigests}}".into(),
            format!("{IMAGE}:{sha}")
        ]
    );
    let arn = fx.executions(None)[0]["executionArn"].clone();
    let described = fx.sfn("DescribeExecution", json!({"executionArn": arn}));
    let input: Value = serde_json::from_str(described["input"].as_str().unwrap()).unwrap();
    assert_eq!(input["image"], json!(format!("{IMAGE}@{INSPECT_DIGEST}")));
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn a_failed_build_starts_nothing() {
    let Some(fx) = Fixture::start() else { return };
    fx.create_state_machine(pass_machine());
    std::fs::write(fx.shim_file("fail-build"), "").unwrap();
    let output = fx.run(&[]);
    assert_eq!(code(&output), 5);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("building the migration image; nothing was started in AWS"),
        "{stderr}"
    );
    assert!(stderr.contains("shim: build failed"), "{stderr}");
    let calls = fx.docker_calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|c| c[0] != "push"));
    assert!(fx.executions(None).is_empty());
    let family = fx.ecs(
        "DescribeTaskDefinition",
        json!({"taskDefinition": "dev-db-migrate"}),
    );
    assert_eq!(
        family["taskDefinition"]["revision"], 1,
        "no revision was registered"
    );
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn a_failed_push_starts_nothing() {
    let Some(fx) = Fixture::start() else { return };
    fx.create_state_machine(pass_machine());
    std::fs::write(fx.shim_file("fail-push"), "").unwrap();
    let output = fx.run(&[]);
    assert_eq!(code(&output), 5);
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("pushing the migration image; nothing was started in AWS")
    );
    assert!(fx.executions(None).is_empty());
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn a_running_execution_blocks_a_second_one_unless_forced() {
    let Some(fx) = Fixture::start() else { return };
    fx.create_state_machine(wait_machine(60));
    fx.sfn(
        "StartExecution",
        json!({"stateMachineArn": STATE_MACHINE, "name": "already-running"}),
    );
    fx.wait_for_running();

    let refused = fx.run(&[]);
    assert_eq!(code(&refused), 5);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("another migration of `dev` is RUNNING"),
        "{stderr}"
    );
    assert!(
        stderr.contains("execution:dev-db-migrate:already-running"),
        "{stderr}"
    );
    assert!(fx.docker_calls().is_empty(), "refused before building");
    assert_eq!(fx.executions(None).len(), 1);

    let forced = fx.run(&["--force", "--no-wait"]);
    assert_eq!(
        code(&forced),
        0,
        "{}",
        String::from_utf8_lossy(&forced.stderr)
    );
    assert!(String::from_utf8_lossy(&forced.stdout).contains("Started execution arn:aws:states:"));
    assert_eq!(fx.executions(Some("RUNNING")).len(), 2);
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn an_execution_aborted_from_outside_exits_5() {
    let Some(fx) = Fixture::start() else { return };
    fx.create_state_machine(wait_machine(120));
    let child = fx.spawn(&[]);
    let arn = fx.wait_for_running();
    fx.sfn(
        "StopExecution",
        json!({"executionArn": arn, "error": "Operator", "cause": "stopped by the test"}),
    );
    let output = child.wait_with_output().unwrap();
    fx.assert_no_secrets(&output);
    assert_eq!(
        code(&output),
        5,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(fx.summary().contains("ABORTED"));
    insta::assert_snapshot!(normalized(&output, &fx.git_sha()));
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn our_timeout_leaves_the_execution_running_and_says_how_to_follow_it() {
    let Some(fx) = Fixture::start() else { return };
    fx.create_state_machine(wait_machine(120));
    let output = fx.run(&["--timeout", "3s"]);
    assert_eq!(
        code(&output),
        6,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        fx.executions(Some("RUNNING")).len(),
        1,
        "the execution keeps running"
    );
    assert!(fx.summary().contains("⏳"));
    insta::assert_snapshot!(normalized(&output, &fx.git_sha()));
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn the_state_machines_own_timeout_exits_5() {
    let Some(fx) = Fixture::start() else { return };
    let mut machine = wait_machine(60);
    machine["TimeoutSeconds"] = json!(1);
    fx.create_state_machine(machine);
    let output = fx.run(&[]);
    assert_eq!(
        code(&output),
        5,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("ended TIMED_OUT"));
    insta::assert_snapshot!(normalized(&output, &fx.git_sha()));
}

fn interrupt(child: &Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn ctrl_c_leaves_the_execution_running_unless_asked_to_stop_it() {
    let Some(fx) = Fixture::start() else { return };
    // Long enough that the first execution is still running when the second one starts, however
    // slow the machine is; moto is stopped at the end of the test anyway.
    fx.create_state_machine(wait_machine(900));

    let child = fx.spawn(&[]);
    let first = fx.wait_for_running();
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        code(&output),
        130,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(&format!(
            "Stop it:    aws stepfunctions stop-execution --execution-arn {first}"
        )),
        "{stdout}"
    );
    assert_eq!(fx.executions(Some("RUNNING")).len(), 1);

    let mut child = fx.spawn(&["--force", "--stop-on-interrupt"]);
    let started = Instant::now();
    while fx.executions(Some("RUNNING")).len() < 2 {
        if started.elapsed() > Duration::from_secs(120) || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            panic!(
                "second execution did not start; executions: {:?}\nstdout: {}\nstderr: {}",
                fx.executions(None),
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        code(&output),
        130,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("was stopped (StopExecution)"));
    assert_eq!(fx.executions(Some("ABORTED")).len(), 1);
    assert_eq!(
        fx.executions(Some("RUNNING")).len(),
        1,
        "only the first keeps running"
    );
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn losing_aws_while_following_says_the_execution_may_still_run() {
    let Some(mut fx) = Fixture::start() else {
        return;
    };
    fx.create_state_machine(wait_machine(120));
    let child = fx.spawn(&[]);
    let arn = fx.wait_for_running();
    fx.moto = None;
    let output = child.wait_with_output().unwrap();
    fx.assert_no_secrets(&output);
    assert_eq!(
        code(&output),
        4,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("following {arn}; it may still be running: aws stepfunctions describe-execution --execution-arn {arn}")),
        "{stderr}"
    );
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn dry_run_calls_nothing() {
    let Some(fx) = Fixture::start() else { return };
    fx.create_state_machine(pass_machine());
    let output = fx.run(&["--dry-run"]);
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(fx.docker_calls().is_empty());
    assert!(fx.executions(None).is_empty());
    insta::assert_snapshot!(normalized(&output, &fx.git_sha()));

    std::fs::remove_file(fx.root().join("environments/dev/docker/Dockerfile")).unwrap();
    let output = fx.run(&["--dry-run"]);
    assert_eq!(code(&output), 2);
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("environments/dev/docker/Dockerfile does not exist")
    );
}

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn without_the_profile_the_default_chain_is_used() {
    let Some(fx) = Fixture::start() else { return };
    fx.create_state_machine(pass_machine());
    std::fs::write(fx.dir.path().join("aws-config"), "").unwrap();
    let output = fx.run(&["--no-wait"]);
    assert_eq!(
        code(&output),
        0,
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("from the default AWS credential chain"),
        "{stdout}"
    );
    assert!(!stdout.contains("assumed-role"), "{stdout}");
}
