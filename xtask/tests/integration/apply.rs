//! `cargo xtask apply` with the real terraform against moto and the fake GitHub: the plan
//! comment's digest decides, a moved `main` is refused (and the difference posted) until a
//! maintainer accepts the new digest, and a look-alike comment by someone else is ignored.

use crate::support::{self, Moto, fake_github};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BUCKET: &str = "xtask-tfstate";
const ROLE: &str = "gha-dev-terraform-plan";
const EXTERNAL_ID: &str = "ext-id-planted-7f3a9c";
const COMMIT: &str = "abc123def456";

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn curl(args: &[&str]) {
    let output = Command::new("curl").arg("-sf").args(args).output().unwrap();
    assert!(output.status.success(), "curl {args:?}: {}", text(&output));
}

fn prepare_moto(moto: &Moto) {
    let endpoint = moto.endpoint();
    curl(&[
        "-X",
        "PUT",
        &format!("{endpoint}/{BUCKET}"),
        "--data",
        "<CreateBucketConfiguration><LocationConstraint>ap-northeast-1</LocationConstraint></CreateBucketConfiguration>",
    ]);
    curl(&[
        "-X",
        "POST",
        &endpoint,
        "-H",
        "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
        "--data-urlencode",
        "Action=CreateRole",
        "--data-urlencode",
        "Version=2010-05-08",
        "--data-urlencode",
        &format!("RoleName={ROLE}"),
        "--data-urlencode",
        r#"AssumeRolePolicyDocument={"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#,
    ]);
}

struct Repo {
    _temp: tempfile::TempDir,
    root: PathBuf,
    env: Vec<(String, String)>,
}

impl Repo {
    fn new(moto: &Moto, github: &str) -> Repo {
        let temp = support::config_only_repo();
        let root = temp.path().to_path_buf();
        let endpoint = moto.endpoint();
        std::fs::write(
            root.join("environments/dev/backend.tf"),
            format!(
                r#"terraform {{
  backend "s3" {{
    bucket = "{BUCKET}"
    key = "apply/terraform.tfstate"
    region = "ap-northeast-1"
    use_path_style = true
    use_lockfile = true
    skip_credentials_validation = true
    skip_requesting_account_id = true
    skip_region_validation = true
    skip_metadata_api_check = true
    skip_s3_checksum = true
    endpoints = {{
      s3 = "{endpoint}"
      sts = "{endpoint}"
      iam = "{endpoint}"
    }}
    assume_role = {{
      role_arn = "arn:aws:iam::123456789012:role/{ROLE}"
      external_id = "{EXTERNAL_ID}"
    }}
  }}
}}
"#
            ),
        )
        .unwrap();
        let mut env = moto.aws_env();
        let cli = support::terraform_cli_config(&root);
        env.push(("TF_CLI_CONFIG_FILE".into(), cli.display().to_string()));
        env.push(("DEV_PLAN_EXTERNAL_ID".into(), EXTERNAL_ID.into()));
        env.push(("GITHUB_API_URL".into(), github.into()));
        env.push(("GITHUB_TOKEN".into(), "ghs_planted_token".into()));
        env.push(("GITHUB_REPOSITORY".into(), "acme/infra".into()));
        env.push(("GITHUB_SERVER_URL".into(), "https://github.com".into()));
        env.push(("GITHUB_RUN_ID".into(), "42".into()));
        env.push((
            "GITHUB_STEP_SUMMARY".into(),
            root.join("step-summary.md").display().to_string(),
        ));
        env.push((
            "GITHUB_OUTPUT".into(),
            root.join("github-output").display().to_string(),
        ));
        Repo {
            _temp: temp,
            root,
            env,
        }
    }

    fn dev(&self) -> PathBuf {
        self.root.join("environments/dev")
    }

    fn write(&self, main_tf: &str) {
        std::fs::write(self.dev().join("main.tf"), main_tf).unwrap();
    }

    fn terraform(&self, args: &[&str]) -> Output {
        Command::new("terraform")
            .args(args)
            .current_dir(self.dev())
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    fn xtask(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(&self.root)
            .env_remove("GITHUB_EVENT_PATH")
            .env_remove("GITHUB_SHA")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap()
    }

    /// The `input` of `terraform_data.a` in the state.
    fn state_input(&self) -> String {
        let show = self.terraform(&["show", "-json"]);
        let state: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
        state["values"]["root_module"]["resources"][0]["values"]["input"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    fn apply(&self, extra: &[&str]) -> (i32, serde_json::Value, String) {
        let mut args = vec![
            "apply",
            "--env",
            "dev",
            "--commit",
            COMMIT,
            "--summary-json",
            "apply.json",
        ];
        args.extend_from_slice(extra);
        let output = self.xtask(&args);
        let json = std::fs::read_to_string(self.root.join("apply.json")).unwrap_or("null".into());
        (
            output.status.code().unwrap(),
            serde_json::from_str(&json).unwrap(),
            text(&output),
        )
    }
}

/// Runs a child process off the runtime thread, which serves the fake GitHub meanwhile.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
async fn applies_only_the_reviewed_change_set_or_an_accepted_digest() {
    let Some(moto) = Moto::start() else { return };
    prepare_moto(&moto);
    let state = fake_github::state();
    fake_github::lock(&state)
        .merge_commits
        .push(COMMIT.to_owned());
    let server = fake_github::server(state.clone()).await;
    let repo = std::sync::Arc::new(Repo::new(&moto, &server.uri()));
    let marker = "<!-- xtask:plan env=dev -->";

    // The base, applied; then a reviewed change.
    let r = repo.clone();
    blocking(move || {
        r.write(r#"resource "terraform_data" "a" { input = "a" }"#);
        assert!(
            r.terraform(&["init", "-input=false", "-no-color"])
                .status
                .success()
        );
        let apply = r.terraform(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert!(apply.status.success(), "{}", text(&apply));
        r.write(r#"resource "terraform_data" "a" { input = "b" }"#);
        let plan = r.xtask(&["plan", "--env", "dev", "--comment", "--pr", "7"]);
        assert!(plan.status.success(), "{}", text(&plan));
    })
    .await;
    assert!(
        fake_github::lock(&state).bot_comments_starting_with(marker)[0]
            .body
            .contains("change set `sha256:")
    );

    // Reviewed == merged: applied, the state changed, the comment says so.
    let r = repo.clone();
    let (code, json, log) = blocking(move || r.apply(&[])).await;
    assert_eq!(code, 0, "{log}");
    assert_eq!(json["outcome"], "applied", "{json}");
    let r = repo.clone();
    assert_eq!(blocking(move || r.state_input()).await, "b");
    let body = fake_github::lock(&state).bot_comments_starting_with(marker)[0]
        .body
        .clone();
    assert!(
        body.contains("### ✅ Applied `dev` at `abc123def456`"),
        "{body}"
    );
    assert!(
        body.contains("[run](https://github.com/acme/infra/actions/runs/42)"),
        "{body}"
    );

    // A second change is reviewed, then main moves before the merge (another change merged
    // first): not applied, state untouched, the difference posted, exit 5.
    let r = repo.clone();
    blocking(move || {
        r.write(r#"resource "terraform_data" "a" { input = "c" }"#);
        let plan = r.xtask(&["plan", "--env", "dev", "--comment", "--pr", "7"]);
        assert!(plan.status.success(), "{}", text(&plan));
        r.write("resource \"terraform_data\" \"a\" { input = \"d\" }\nresource \"terraform_data\" \"extra\" { input = \"x\" }\n");
    }).await;
    let r = repo.clone();
    let (code, json, log) = blocking(move || r.apply(&[])).await;
    assert_eq!(code, 5, "{log}");
    assert_eq!(json["reason"], "differs-from-review", "{json}");
    let r = repo.clone();
    assert_eq!(blocking(move || r.state_input()).await, "b");
    let body = fake_github::lock(&state).bot_comments_starting_with(marker)[0]
        .body
        .clone();
    assert!(body.contains("### ⛔ Not applied"), "{body}");
    assert!(body.contains("`terraform_data.extra` (create)"), "{body}");
    assert!(
        body.contains("`terraform_data.a` (update): `input`"),
        "{body}"
    );
    let merged = json["merged_digest"].as_str().unwrap().to_owned();

    // Someone else's comment imitating ours with the merged digest is ignored.
    fake_github::lock(&state).foreign(
        "mallory",
        &format!("{marker}\n<!-- xtask:change-set {merged} -->\n"),
    );
    let r = repo.clone();
    let (code, _, log) = blocking(move || r.apply(&[])).await;
    assert_eq!(code, 5, "{log}");

    // The maintainer accepts the new digest: applied.
    let r = repo.clone();
    let (code, json, log) = blocking(move || r.apply(&["--accept", &merged])).await;
    assert_eq!(code, 0, "{log}");
    assert_eq!(json["accepted"], true, "{json}");
    let r = repo.clone();
    assert_eq!(blocking(move || r.state_input()).await, "d");
    let st = fake_github::lock(&state);
    assert!(st.violations.is_empty(), "{:?}", st.violations);
    assert_eq!(st.bot_comments_starting_with(marker).len(), 1);
}

#[tokio::test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
async fn a_direct_push_is_refused() {
    let Some(moto) = Moto::start() else { return };
    prepare_moto(&moto);
    let state = fake_github::state();
    let server = fake_github::server(state.clone()).await;
    let repo = Repo::new(&moto, &server.uri());
    let (code, json, log) = blocking(move || {
        repo.write(r#"resource "terraform_data" "a" { input = "a" }"#);
        let result = repo.apply(&[]);
        let _ = Path::new(&repo.root);
        result
    })
    .await;
    assert_eq!(code, 5, "{log}");
    assert_eq!(json["reason"], "direct-push", "{json}");
}
