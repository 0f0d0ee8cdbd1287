//! The S3 state backend on moto that the tests running real terraform share: the bucket and the
//! plan role an account would have, and the backend block that reaches them through the role.

use std::process::{Command, Output};

use super::Moto;

pub const BUCKET: &str = "xtask-tfstate";
pub const ROLE: &str = "gha-dev-terraform-plan";
/// Planted: it must never appear in a comment, an issue or a log.
pub const EXTERNAL_ID: &str = "ext-id-planted-7f3a9c";

/// A child's stdout and stderr, for assertion messages.
pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// `curl -sf ARGS`, which must succeed; its stdout.
pub fn curl(args: &[&str]) -> String {
    let output = Command::new("curl").arg("-sf").args(args).output().unwrap();
    assert!(output.status.success(), "curl {args:?}: {}", text(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The state bucket and the plan role, created in moto the way an account would have them.
pub fn prepare(moto: &Moto) {
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
        // moto routes by the credential scope of the signature and accepts any signature.
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

/// A `backend.tf` keeping the state at `key` in the bucket, reached through the plan role with
/// the planted external id, with S3's own lock file.
pub fn backend_tf(moto: &Moto, key: &str) -> String {
    let endpoint = moto.endpoint();
    format!(
        r#"terraform {{
  backend "s3" {{
    bucket                      = "{BUCKET}"
    key                         = "{key}"
    region                      = "ap-northeast-1"
    use_path_style              = true
    use_lockfile                = true
    skip_credentials_validation = true
    skip_requesting_account_id  = true
    skip_region_validation      = true
    skip_metadata_api_check     = true
    skip_s3_checksum            = true
    endpoints = {{
      s3  = "{endpoint}"
      sts = "{endpoint}"
      iam = "{endpoint}"
    }}
    assume_role = {{
      role_arn    = "arn:aws:iam::123456789012:role/{ROLE}"
      external_id = "{EXTERNAL_ID}"
    }}
  }}
}}
"#
    )
}

/// A repository with only the configuration and `environments/dev/backend.tf` keeping the state
/// at `key`.
pub fn repo(moto: &Moto, key: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let temp = super::config_only_repo();
    let root = temp.path().to_path_buf();
    std::fs::write(
        root.join("environments/dev/backend.tf"),
        backend_tf(moto, key),
    )
    .unwrap();
    (temp, root)
}

/// What terraform and the xtask get in these tests: moto's AWS variables, the offline CLI
/// config, the plan role's external id, a job summary and output file under `root`, and, with
/// `github`, a GitHub Actions run against that fake API.
pub fn env(moto: &Moto, root: &std::path::Path, github: Option<&str>) -> Vec<(String, String)> {
    let mut env = moto.aws_env();
    let cli = super::terraform_cli_config(root);
    env.push(("TF_CLI_CONFIG_FILE".into(), cli.display().to_string()));
    env.push(("DEV_PLAN_EXTERNAL_ID".into(), EXTERNAL_ID.into()));
    env.push((
        "GITHUB_STEP_SUMMARY".into(),
        root.join("step-summary.md").display().to_string(),
    ));
    env.push((
        "GITHUB_OUTPUT".into(),
        root.join("github-output").display().to_string(),
    ));
    if let Some(github) = github {
        env.push(("GITHUB_API_URL".into(), github.into()));
        env.push(("GITHUB_TOKEN".into(), "ghs_planted_token".into()));
        env.push(("GITHUB_REPOSITORY".into(), "acme/infra".into()));
        env.push(("GITHUB_SERVER_URL".into(), "https://github.com".into()));
        env.push(("GITHUB_RUN_ID".into(), "42".into()));
    }
    env
}

/// `terraform ARGS` in `dir` with `env` (what [`env`] built), captured.
pub fn terraform(dir: &std::path::Path, env: &[(String, String)], args: &[&str]) -> Output {
    Command::new("terraform")
        .args(args)
        .current_dir(dir)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap()
}
