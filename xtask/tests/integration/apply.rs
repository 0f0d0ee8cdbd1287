//! `cargo xtask apply` with the real terraform against moto and the fake GitHub: the plan
//! comment's digest decides, a moved `main` is refused (and the difference posted) until a
//! maintainer accepts the new digest, and a look-alike comment by someone else is ignored; a
//! changed provisioner is a changed plan; Terraform's own refusals (a stale saved plan, a held
//! lock) end in exit 5 with its `Error:` block on the PR.

use crate::support::s3_state::{self, BUCKET, curl, text};
use crate::support::{self, Moto, fake_github};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const COMMIT: &str = "abc123def456";

struct Repo {
    _temp: tempfile::TempDir,
    root: PathBuf,
    env: Vec<(String, String)>,
}

impl Repo {
    fn new(moto: &Moto, github: &str) -> Repo {
        let (temp, root) = s3_state::repo(moto, "apply/terraform.tfstate");
        let env = s3_state::env(moto, &root, Some(github));
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
        s3_state::terraform(&self.dev(), &self.env, args)
    }

    fn xtask(&self, args: &[&str]) -> Output {
        self.xtask_with(args, &[])
    }

    fn xtask_with(&self, args: &[&str], extra_env: &[(&str, String)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .current_dir(&self.root)
            .env_remove("GITHUB_EVENT_PATH")
            .env_remove("GITHUB_SHA")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(extra_env.iter().map(|(k, v)| (k, v)))
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
        self.apply_with(extra, &[])
    }

    fn apply_with(
        &self,
        extra: &[&str],
        extra_env: &[(&str, String)],
    ) -> (i32, serde_json::Value, String) {
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
        let output = self.xtask_with(&args, extra_env);
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
    let Some((_moto, state, server, repo)) = started().await else {
        return;
    };
    let marker = MARKER;

    // The base, applied; then a reviewed change.
    reviewed(
        &state,
        &repo,
        r#"resource "terraform_data" "a" { input = "a" }"#,
        r#"resource "terraform_data" "a" { input = "b" }"#,
    )
    .await;
    assert!(plan_comment(&state).contains("change set `sha256:"));

    // Reviewed == merged: applied, the state changed, the comment says so.
    let r = repo.clone();
    let (code, json, log) = blocking(move || r.apply(&[])).await;
    assert_eq!(code, 0, "{log}");
    assert_eq!(json["outcome"], "applied", "{json}");
    // The log reads as terraform's messages (from `apply -json`), not as JSON.
    assert!(
        log.contains("Apply complete! Resources: 0 added, 1 changed, 0 destroyed."),
        "{log}"
    );
    assert!(!log.contains(r#""@level""#), "{log}");
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
    {
        let st = fake_github::lock(&state);
        assert!(st.violations.is_empty(), "{:?}", st.violations);
        assert_eq!(st.bot_comments_starting_with(marker).len(), 1);
    }
    // What the command sent is what GitHub's API description describes.
    crate::support::github_api::assert_described(&server).await;
}

#[tokio::test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
async fn a_direct_push_is_refused() {
    let Some(moto) = Moto::start() else { return };
    s3_state::prepare(&moto);
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

/// The base applied, then a reviewed change commented on PR 7 (merged as `COMMIT`).
async fn reviewed(
    state: &fake_github::Shared,
    repo: &std::sync::Arc<Repo>,
    base: &'static str,
    change: &'static str,
) {
    let r = repo.clone();
    blocking(move || {
        r.write(base);
        assert!(
            r.terraform(&["init", "-input=false", "-no-color"])
                .status
                .success()
        );
        let apply = r.terraform(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert!(apply.status.success(), "{}", text(&apply));
        r.write(change);
        let plan = r.xtask(&["plan", "--env", "dev", "--comment", "--pr", "7"]);
        assert!(plan.status.success(), "{}", text(&plan));
    })
    .await;
    assert_eq!(
        fake_github::lock(state)
            .bot_comments_starting_with(MARKER)
            .len(),
        1
    );
}

const MARKER: &str = "<!-- xtask:plan env=dev -->";

async fn started() -> Option<(
    Moto,
    fake_github::Shared,
    wiremock::MockServer,
    std::sync::Arc<Repo>,
)> {
    let moto = Moto::start()?;
    s3_state::prepare(&moto);
    let state = fake_github::state();
    fake_github::lock(&state)
        .merge_commits
        .push(COMMIT.to_owned());
    let server = fake_github::server(state.clone()).await;
    let repo = std::sync::Arc::new(Repo::new(&moto, &server.uri()));
    Some((moto, state, server, repo))
}

fn plan_comment(state: &fake_github::Shared) -> String {
    fake_github::lock(state).bot_comments_starting_with(MARKER)[0]
        .body
        .clone()
}

/// A provisioner runs on apply but is no attribute of the resource: a merged commit that only
/// changes its command plans the same resource changes. It must still not pass as reviewed.
#[tokio::test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
async fn a_provisioner_changed_after_review_is_not_applied() {
    let Some((_moto, state, _server, repo)) = started().await else {
        return;
    };
    reviewed(
        &state,
        &repo,
        r#"resource "terraform_data" "a" { input = "a" }"#,
        "resource \"terraform_data\" \"a\" { input = \"a\" }\nresource \"terraform_data\" \"p\" {\n  input = \"p\"\n  provisioner \"local-exec\" {\n    command = \"echo reviewed > reviewed.txt\"\n  }\n}\n",
    )
    .await;
    let r = repo.clone();
    let (code, json, log) = blocking(move || {
        r.write("resource \"terraform_data\" \"a\" { input = \"a\" }\nresource \"terraform_data\" \"p\" {\n  input = \"p\"\n  provisioner \"local-exec\" {\n    command = \"echo merged > merged.txt\"\n  }\n}\n");
        r.apply(&[])
    })
    .await;
    assert_eq!(code, 5, "{log}");
    assert_eq!(json["reason"], "differs-from-review", "{json}");
    assert!(
        !repo.dev().join("merged.txt").exists(),
        "the merged provisioner ran"
    );
    let body = plan_comment(&state);
    assert!(
        body.contains("The configuration changed in ways the resource changes do not show"),
        "{body}"
    );
}

/// A lock held by another run: `-lock-timeout=0s` fails at once, nothing is applied, and the PR
/// gets Terraform's own `Error:` block.
#[tokio::test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
async fn a_held_lock_fails_the_apply_with_terraforms_error() {
    let Some((moto, state, _server, repo)) = started().await else {
        return;
    };
    reviewed(
        &state,
        &repo,
        r#"resource "terraform_data" "a" { input = "a" }"#,
        r#"resource "terraform_data" "a" { input = "b" }"#,
    )
    .await;
    curl(&[
        "-X",
        "PUT",
        &format!(
            "{}/{BUCKET}/apply/terraform.tfstate.tflock",
            moto.endpoint()
        ),
        "--data",
        r#"{"ID":"5c4a1e0e-0000-4000-8000-000000000001","Operation":"OperationTypeApply","Info":"","Who":"someone@elsewhere","Version":"1.11.4","Created":"2026-12-04T00:00:00Z","Path":"xtask-tfstate/apply/terraform.tfstate"}"#,
    ]);
    let r = repo.clone();
    let (code, json, log) = blocking(move || r.apply(&[])).await;
    assert_eq!(code, 5, "{log}");
    assert_eq!(json["outcome"], "failed", "{json}");
    let r = repo.clone();
    assert_eq!(blocking(move || r.state_input()).await, "a");
    let body = plan_comment(&state);
    assert!(body.contains("### ❌ Apply failed in `dev`"), "{body}");
    assert!(
        body.contains("Error: Error acquiring the state lock"),
        "{body}"
    );
    assert!(!body.contains(r#""@level""#), "{body}");
    assert!(
        log.contains("Error: Error acquiring the state lock"),
        "{log}"
    );
    assert!(!log.contains(r#""@level""#), "{log}");
}

/// The state changes after the merged commit was planned (another run applied in between):
/// Terraform refuses the stale saved plan, and so does the apply, with exit 5. The other run is
/// played by a `terraform` on PATH that changes the state just before the saved plan's apply.
#[tokio::test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
async fn a_saved_plan_made_stale_by_another_run_is_refused() {
    let Some((_moto, state, _server, repo)) = started().await else {
        return;
    };
    reviewed(
        &state,
        &repo,
        "resource \"terraform_data\" \"a\" { input = \"a\" }\nresource \"terraform_data\" \"keep\" { input = \"k\" }\n",
        "resource \"terraform_data\" \"a\" { input = \"b\" }\nresource \"terraform_data\" \"keep\" { input = \"k\" }\n",
    )
    .await;
    let real = support::which("terraform").expect("terraform on PATH");
    let bin = repo.root.join("other-run-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let done = repo.root.join("other-run-done");
    let wrapper = bin.join("terraform");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n# The other run: on the saved plan's apply, first change the state once.\nif [ \"$1\" = apply ] && [ ! -e '{done}' ]; then\n  touch '{done}'\n  '{real}' state rm -lock-timeout=10s terraform_data.keep >/dev/null || exit 99\nfi\nexec '{real}' \"$@\"\n",
            done = done.display(),
            real = real.display(),
        ),
    )
    .unwrap();
    let mut permissions = std::fs::metadata(&wrapper).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
    std::fs::set_permissions(&wrapper, permissions).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let r = repo.clone();
    let (code, json, log) = blocking(move || r.apply_with(&[], &[("PATH", path)])).await;
    assert!(done.exists(), "the other run did not happen: {log}");
    assert_eq!(code, 5, "{log}");
    assert_eq!(json["outcome"], "failed", "{json}");
    let r = repo.clone();
    assert_eq!(blocking(move || r.state_input()).await, "a");
    let body = plan_comment(&state);
    assert!(body.contains("### ❌ Apply failed in `dev`"), "{body}");
    assert!(body.contains("Saved plan is stale"), "{body}");
}
