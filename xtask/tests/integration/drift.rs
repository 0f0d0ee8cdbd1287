//! `cargo xtask drift` with the real terraform (S3 backend on moto) against a fake of GitHub's
//! issues API: the drift issue is opened, left alone while the drift is the same, updated in place
//! when it changes, left alone when the check fails, commented and closed when the drift is gone,
//! and a new one is opened for a new drift; a look-alike issue by someone else is never touched,
//! and planted secrets reach neither the issue nor the log.
//!
//! `terraform_data` has no remote object, so only "merged but not applied" drift can be produced
//! here; "changed outside Terraform" is covered by the snapshot tests of `xtask::drift`.

use crate::support::s3_state::{self, EXTERNAL_ID, text};
use crate::support::{self, Moto};

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// Masked by the configuration (`env:DEV_PLAN_EXTERNAL_ID`); planted in an address.
/// Not masked by anything: planted in an attribute value, which is never rendered.
const VALUE_SECRET: &str = "hunter2-planted-value";
const COMMIT: &str = "abc123def456";
const BOT: &str = "github-actions[bot]";
const MARKER: &str = "<!-- xtask:drift env=dev -->";
const LABEL: &str = "dev/drift";

#[derive(Debug, Clone)]
struct Issue {
    number: u64,
    title: String,
    body: String,
    login: String,
    open: bool,
    labels: Vec<String>,
    /// (id, body, login)
    comments: Vec<(u64, String, String)>,
}

/// The issues part of a repository, as GitHub keeps it.
#[derive(Debug, Default)]
struct Issues {
    issues: Vec<Issue>,
    /// Labels that exist in the repository.
    repo_labels: Vec<String>,
    next: u64,
    /// PATCHes of issues (title, body or state).
    patches: usize,
    /// Writes the tool must never make (someone else's issue); refused.
    violations: Vec<String>,
    /// The next N creates of an issue are performed, then answered with 502.
    create_then_502: usize,
    /// Every write answers 403.
    forbid_writes: bool,
    /// Issues per page of the listing; 0 means no pagination.
    page_size: usize,
}

impl Issues {
    fn id(&mut self) -> u64 {
        self.next += 1;
        self.next
    }

    fn add(&mut self, login: &str, body: &str, open: bool) -> u64 {
        let number = self.id();
        self.issues.push(Issue {
            number,
            title: "Drift in environment dev".into(),
            body: body.into(),
            login: login.into(),
            open,
            labels: vec![LABEL.into()],
            comments: Vec::new(),
        });
        number
    }

    fn issue(&self, number: u64) -> &Issue {
        self.issues.iter().find(|i| i.number == number).unwrap()
    }

    fn ours_open(&self) -> Vec<&Issue> {
        self.issues
            .iter()
            .filter(|i| i.login == BOT && i.open)
            .collect()
    }
}

type Shared = Arc<Mutex<Issues>>;

fn issue_json(issue: &Issue) -> Value {
    let labels: Vec<&str> = issue.labels.iter().map(String::as_str).collect();
    support::fake_github::issue(
        issue.number,
        &issue.title,
        &issue.body,
        &issue.login,
        issue.open,
        &labels,
    )
}

fn number_at(request: &Request, index: usize) -> u64 {
    request
        .url
        .path()
        .split('/')
        .nth(index)
        .unwrap()
        .parse()
        .unwrap()
}

fn forbidden() -> ResponseTemplate {
    ResponseTemplate::new(403)
        .set_body_json(json!({"message": "Resource not accessible by integration"}))
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}))
}

async fn fake_issues(state: Shared) -> MockServer {
    let server = MockServer::start().await;
    let s = state.clone();
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/infra/issues$"))
        .respond_with(move |request: &Request| {
            let st = s.lock().unwrap();
            let query = |name: &str| {
                request
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| v.into_owned())
            };
            let open_only = query("state").as_deref() != Some("all");
            let label = query("labels");
            let items: Vec<Value> = st
                .issues
                .iter()
                .filter(|i| !open_only || i.open)
                .filter(|i| label.as_ref().is_none_or(|l| i.labels.contains(l)))
                .map(issue_json)
                .collect();
            if st.page_size == 0 {
                return ResponseTemplate::new(200).set_body_json(items);
            }
            let page: usize = query("page").and_then(|p| p.parse().ok()).unwrap_or(1);
            let start = (page - 1) * st.page_size;
            let slice: Vec<Value> = items
                .iter()
                .skip(start)
                .take(st.page_size)
                .cloned()
                .collect();
            let mut response = ResponseTemplate::new(200).set_body_json(slice);
            if start + st.page_size < items.len() {
                let mut next = request.url.clone();
                let kept: Vec<(String, String)> = request
                    .url
                    .query_pairs()
                    .filter(|(k, _)| k != "page")
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
                next.query_pairs_mut()
                    .clear()
                    .extend_pairs(kept)
                    .append_pair("page", &(page + 1).to_string());
                response =
                    response.insert_header("link", format!("<{next}>; rel=\"next\"").as_str());
            }
            response
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("POST"))
        .and(path_regex(r"^/repos/acme/infra/issues$"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            if st.forbid_writes {
                return forbidden();
            }
            let body: Value = request.body_json().unwrap();
            let labels: Vec<String> = body["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_owned())
                .collect();
            for label in &labels {
                assert!(
                    st.repo_labels.contains(label),
                    "label {label} used before it was ensured"
                );
            }
            let number = st.id();
            let issue = Issue {
                number,
                title: body["title"].as_str().unwrap().into(),
                body: body["body"].as_str().unwrap().into(),
                login: BOT.into(),
                open: true,
                labels,
                comments: Vec::new(),
            };
            let answer = issue_json(&issue);
            st.issues.push(issue);
            if st.create_then_502 > 0 {
                st.create_then_502 -= 1;
                return ResponseTemplate::new(502).set_body_string("<html>502 Bad Gateway</html>");
            }
            ResponseTemplate::new(201).set_body_json(answer)
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("PATCH"))
        .and(path_regex(r"^/repos/acme/infra/issues/\d+$"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            if st.forbid_writes {
                return forbidden();
            }
            let number = number_at(request, 5);
            let body: Value = request.body_json().unwrap();
            let Some(index) = st.issues.iter().position(|i| i.number == number) else {
                return not_found();
            };
            if st.issues[index].login != BOT {
                st.violations.push(format!("edited issue #{number}"));
                return ResponseTemplate::new(403).set_body_json(json!({"message": "no"}));
            }
            st.patches += 1;
            let issue = &mut st.issues[index];
            if let Some(title) = body["title"].as_str() {
                issue.title = title.into();
            }
            if let Some(text) = body["body"].as_str() {
                issue.body = text.into();
            }
            match body["state"].as_str() {
                Some("closed") => issue.open = false,
                Some("open") => issue.open = true,
                _ => {}
            }
            let answer = issue_json(issue);
            ResponseTemplate::new(200).set_body_json(answer)
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/infra/issues/\d+/comments$"))
        .respond_with(move |request: &Request| {
            let st = s.lock().unwrap();
            let number = number_at(request, 5);
            let Some(issue) = st.issues.iter().find(|i| i.number == number) else {
                return not_found();
            };
            let items: Vec<Value> = issue
                .comments
                .iter()
                .map(|(id, body, login)| support::fake_github::comment(*id, body, login))
                .collect();
            ResponseTemplate::new(200).set_body_json(items)
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("POST"))
        .and(path_regex(r"^/repos/acme/infra/issues/\d+/comments$"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            let number = number_at(request, 5);
            let body: Value = request.body_json().unwrap();
            let text = body["body"].as_str().unwrap().to_owned();
            let id = st.id();
            let Some(issue) = st.issues.iter_mut().find(|i| i.number == number) else {
                return not_found();
            };
            if issue.login != BOT {
                st.violations.push(format!("commented on issue #{number}"));
                return ResponseTemplate::new(403).set_body_json(json!({"message": "no"}));
            }
            issue.comments.push((id, text.clone(), BOT.into()));
            ResponseTemplate::new(201).set_body_json(support::fake_github::comment(id, &text, BOT))
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/infra/labels/.+$"))
        .respond_with(move |request: &Request| {
            let st = s.lock().unwrap();
            let name = request.url.path().rsplit('/').next().unwrap();
            let name = name.replace("%2F", "/").replace("%2f", "/");
            if st.repo_labels.contains(&name) {
                ResponseTemplate::new(200).set_body_json(support::fake_github::label(&name))
            } else {
                not_found()
            }
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("POST"))
        .and(path_regex(r"^/repos/acme/infra/labels$"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            let body: Value = request.body_json().unwrap();
            let name = body["name"].as_str().unwrap().to_owned();
            if st.repo_labels.contains(&name) {
                return ResponseTemplate::new(422)
                    .set_body_json(json!({"message": "already_exists"}));
            }
            st.repo_labels.push(name.clone());
            ResponseTemplate::new(201).set_body_json(support::fake_github::label(&name))
        })
        .mount(&server)
        .await;
    server
}

struct Repo {
    _temp: tempfile::TempDir,
    root: PathBuf,
    env: Vec<(String, String)>,
}

impl Repo {
    fn new(moto: &Moto, github: &str) -> Repo {
        let (temp, root) = s3_state::repo(moto, "drift/terraform.tfstate");
        let mut env = s3_state::env(moto, &root, Some(github));
        env.push(("GITHUB_SHA".into(), COMMIT.into()));
        Repo {
            _temp: temp,
            root,
            env,
        }
    }

    fn dev(&self) -> PathBuf {
        self.root.join("environments/dev")
    }

    /// `main.tf`: `a` with `input`, and `k`, whose address holds the masked external id.
    fn write(&self, a: &str, k: &str, extra: bool) {
        let mut main_tf = format!(
            "resource \"terraform_data\" \"a\" {{ input = \"{a}\" }}\n\
             resource \"terraform_data\" \"k\" {{\n  for_each = toset([\"{EXTERNAL_ID}\"])\n  input = \"{k}\"\n}}\n"
        );
        if extra {
            main_tf.push_str("resource \"terraform_data\" \"extra\" { input = \"x\" }\n");
        }
        std::fs::write(self.dev().join("main.tf"), main_tf).unwrap();
    }

    fn terraform(&self, args: &[&str]) -> Output {
        s3_state::terraform(&self.dev(), &self.env, args)
    }

    fn apply(&self) {
        let init = self.terraform(&["init", "-input=false", "-no-color"]);
        assert!(init.status.success(), "{}", text(&init));
        let apply = self.terraform(&["apply", "-auto-approve", "-input=false", "-no-color"]);
        assert!(apply.status.success(), "{}", text(&apply));
    }

    /// `cargo xtask drift --env dev`: exit code, the summary JSON's one entry, the log.
    fn drift(&self) -> (i32, Value, String) {
        let _ = std::fs::remove_file(self.root.join("drift.json"));
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["drift", "--env", "dev", "--summary-json", "drift.json"])
            .current_dir(&self.root)
            .env_remove("GITHUB_EVENT_PATH")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .output()
            .unwrap();
        let json = std::fs::read_to_string(self.root.join("drift.json")).unwrap_or("[null]".into());
        let list: Value = serde_json::from_str(&json).unwrap();
        let log = text(&output);
        let step_summary = self.step_summary();
        for secret in [EXTERNAL_ID, VALUE_SECRET, "ghs_planted_token"] {
            assert!(!log.contains(secret), "{secret} in the log: {log}");
            assert!(!json.contains(secret), "{secret} in the summary: {json}");
            assert!(
                !step_summary.contains(secret),
                "{secret} in the job summary: {step_summary}"
            );
        }
        (output.status.code().unwrap(), list[0].clone(), log)
    }

    fn step_summary(&self) -> String {
        std::fs::read_to_string(self.root.join("step-summary.md")).unwrap_or_default()
    }
}

/// Runs a child process off the runtime thread, which serves the fake GitHub meanwhile.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test]
#[ignore = "needs moto and terraform: `cargo xtask ci` installs it and runs this"]
async fn the_drift_issue_is_opened_updated_and_closed() {
    let Some(moto) = Moto::start() else { return };
    s3_state::prepare(&moto);
    let state: Shared = Arc::default();
    let server = fake_issues(state.clone()).await;
    let repo = Arc::new(Repo::new(&moto, &server.uri()));
    // Someone imitates our issue (marker, label, title); an earlier issue of ours was closed.
    let foreign_body = format!("{MARKER}\nPlease run `terraform destroy`.");
    let (foreign, closed_earlier) = {
        let mut st = state.lock().unwrap();
        // One issue a page: ours comes after the look-alike, on the second page.
        st.page_size = 1;
        let foreign = st.add("mallory", &foreign_body, true);
        let closed = st.add(BOT, &format!("{MARKER}\nold drift"), false);
        (foreign, closed)
    };

    // Everything applied: no drift, no issue opened.
    let r = repo.clone();
    let (code, json, log) = blocking(move || {
        r.write("a", VALUE_SECRET, false);
        r.apply();
        r.drift()
    })
    .await;
    assert_eq!(code, 0, "{log}");
    assert_eq!(json["status"], "no-drift", "{json}");
    assert_eq!(json["issue_action"], "none", "{json}");
    assert!(state.lock().unwrap().ours_open().is_empty());

    // A change merged but not applied, its new value a secret: our issue is opened, labelled.
    let r = repo.clone();
    let (code, json, log) = blocking(move || {
        r.write("b", &format!("{VALUE_SECRET}-2"), false);
        r.drift()
    })
    .await;
    assert_eq!(code, 0, "{log}");
    assert_eq!(json["status"], "drift", "{json}");
    assert_eq!(json["issue_action"], "opened", "{json}");
    let number = json["issue"].as_u64().unwrap();
    assert!(
        log.contains(&format!("dev: issue #{number} opened")),
        "{log}"
    );
    {
        let st = state.lock().unwrap();
        assert_eq!(st.ours_open().len(), 1);
        let issue = st.issue(number);
        assert_ne!(number, closed_earlier);
        assert_eq!(issue.labels, [LABEL]);
        assert!(st.repo_labels.contains(&LABEL.to_owned()));
        assert!(issue.body.starts_with(MARKER), "{}", issue.body);
        assert!(
            issue
                .body
                .contains("- `terraform_data.a` (update): `input`"),
            "{}",
            issue.body
        );
        assert!(
            issue
                .body
                .contains("- `terraform_data.k[\"***\"]` (update): `input`"),
            "{}",
            issue.body
        );
        assert!(issue.body.contains("`abc123def456`"), "{}", issue.body);
        for secret in [EXTERNAL_ID, VALUE_SECRET] {
            assert!(!issue.body.contains(secret), "{}", issue.body);
        }
    }
    assert!(
        repo.step_summary()
            .contains(&format!("Issue #{number} opened."))
    );

    // The same drift the next night: the issue is not edited.
    let patches = state.lock().unwrap().patches;
    let r = repo.clone();
    let (code, json, log) = blocking(move || r.drift()).await;
    assert_eq!(code, 0, "{log}");
    assert_eq!(json["issue_action"], "unchanged", "{json}");
    assert_eq!(state.lock().unwrap().patches, patches);

    // Another resource: the same issue, updated in place.
    let r = repo.clone();
    let (code, json, log) = blocking(move || {
        r.write("b", &format!("{VALUE_SECRET}-2"), true);
        r.drift()
    })
    .await;
    assert_eq!(code, 0, "{log}");
    assert_eq!(json["issue_action"], "updated", "{json}");
    assert_eq!(json["issue"].as_u64(), Some(number));
    {
        let st = state.lock().unwrap();
        assert_eq!(st.ours_open().len(), 1);
        let body = &st.issue(number).body;
        assert!(body.contains("- `terraform_data.extra` (create)"), "{body}");
    }

    // A check that fails says so, exits 5 and leaves the issue as it was.
    let before = state.lock().unwrap().issue(number).body.clone();
    let r = repo.clone();
    let (code, json, log) = blocking(move || {
        std::fs::write(r.dev().join("broken.tf"), "resource \"terraform_data\" {\n").unwrap();
        let result = r.drift();
        std::fs::remove_file(r.dev().join("broken.tf")).unwrap();
        result
    })
    .await;
    assert_eq!(code, 5, "{log}");
    assert_eq!(json["status"], "failed", "{json}");
    {
        let st = state.lock().unwrap();
        assert!(st.issue(number).open);
        assert_eq!(st.issue(number).body, before);
    }
    assert!(repo.step_summary().contains("Drift check of `dev` failed"));

    // Applied: the issue is commented and closed.
    let r = repo.clone();
    let (code, json, log) = blocking(move || {
        r.apply();
        r.drift()
    })
    .await;
    assert_eq!(code, 0, "{log}");
    assert_eq!(json["status"], "no-drift", "{json}");
    assert_eq!(json["issue_action"], "closed", "{json}");
    {
        let st = state.lock().unwrap();
        let issue = st.issue(number);
        assert!(!issue.open);
        assert_eq!(issue.comments.len(), 1);
        let comment = &issue.comments[0].1;
        assert!(
            comment.starts_with("<!-- xtask:drift-resolved env=dev -->\nNo drift since `abc123def456` ([run](https://github.com/acme/infra/actions/runs/42))"),
            "{comment}"
        );
        assert!(st.ours_open().is_empty());
    }

    // A new drift opens a new issue; the closed ones stay closed.
    let r = repo.clone();
    let (code, json, log) = blocking(move || {
        r.write("c", &format!("{VALUE_SECRET}-2"), true);
        r.drift()
    })
    .await;
    assert_eq!(code, 0, "{log}");
    assert_eq!(json["issue_action"], "opened", "{json}");
    {
        let st = state.lock().unwrap();
        let newest = json["issue"].as_u64().unwrap();
        assert!(newest != number && newest != closed_earlier);
        assert!(!st.issue(number).open && !st.issue(closed_earlier).open);
        assert_eq!(
            st.issue(closed_earlier).body,
            format!("{MARKER}\nold drift")
        );
        // The look-alike was never touched.
        assert!(st.violations.is_empty(), "{:?}", st.violations);
        let foreign = st.issue(foreign);
        assert!(foreign.open && foreign.body == foreign_body && foreign.comments.is_empty());
    }
    // What the command sent is what GitHub's API description describes.
    crate::support::github_api::assert_described(&server).await;
}

#[test]
fn an_unknown_environment_is_a_usage_error() {
    let temp = support::config_only_repo();
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["drift", "--env", "nope"])
        .current_dir(temp.path())
        .env("GITHUB_TOKEN", "ghs_x")
        .env("GITHUB_API_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("unknown environment `nope`"),
        "{}",
        text(&output)
    );
}

/// A repository with `dev` and `stg` on local state (terraform only, no moto): `stg` has one
/// resource applied and a change merged but not applied; `dev` has `dev_main_tf`.
struct LocalRepo {
    temp: tempfile::TempDir,
    cli: PathBuf,
}

impl LocalRepo {
    fn new(dev_main_tf: &str) -> LocalRepo {
        let temp = support::config_only_repo();
        let root = temp.path();
        let stg = root.join("environments/stg");
        std::fs::create_dir_all(&stg).unwrap();
        let dev_config = std::fs::read_to_string(root.join("environments/dev/xtask.toml")).unwrap();
        let stg_config = dev_config.replace("dev", "stg").replace("DEV", "STG");
        std::fs::write(stg.join("xtask.toml"), stg_config).unwrap();
        let cli = support::terraform_cli_config(root);
        let main_tf =
            |input: &str| format!("resource \"terraform_data\" \"a\" {{ input = \"{input}\" }}\n");
        std::fs::write(stg.join("main.tf"), main_tf("a")).unwrap();
        for args in [
            &["init", "-input=false", "-no-color"][..],
            &["apply", "-auto-approve", "-input=false", "-no-color"],
        ] {
            let output = Command::new("terraform")
                .args(args)
                .current_dir(&stg)
                .env("TF_CLI_CONFIG_FILE", &cli)
                .output()
                .unwrap();
            assert!(output.status.success(), "{}", text(&output));
        }
        std::fs::write(stg.join("main.tf"), main_tf("b")).unwrap();
        std::fs::write(root.join("environments/dev/main.tf"), dev_main_tf).unwrap();
        LocalRepo { temp, cli }
    }

    /// `cargo xtask drift` over every environment: the output, the summary JSON, the job summary.
    fn drift(&self, github: &str) -> (Output, Value, String) {
        let root = self.temp.path();
        let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["drift", "--summary-json", "drift.json"])
            .current_dir(root)
            .env_remove("GITHUB_EVENT_PATH")
            .env_remove("GITHUB_SHA")
            .env("TF_CLI_CONFIG_FILE", &self.cli)
            .env("GITHUB_API_URL", github)
            .env("GITHUB_TOKEN", "ghs_x")
            .env("GITHUB_REPOSITORY", "acme/infra")
            .env("GITHUB_STEP_SUMMARY", root.join("step-summary.md"))
            .output()
            .unwrap();
        let json = std::fs::read_to_string(root.join("drift.json")).unwrap_or("null".into());
        let summary = std::fs::read_to_string(root.join("step-summary.md")).unwrap_or_default();
        (output, serde_json::from_str(&json).unwrap(), summary)
    }
}

fn terraform_or_skip() -> bool {
    support::which("terraform").is_some() || support::missing("terraform").is_some()
}

/// `dev` cannot be planned, `stg` drifts: `stg`'s issue is opened all the same, `dev` is reported
/// failed (its issue left alone), and the run exits 5 at the end.
#[tokio::test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
async fn a_failed_environment_does_not_stop_the_others() {
    if !terraform_or_skip() {
        return;
    }
    let state: Shared = Arc::default();
    let server = fake_issues(state.clone()).await;
    let uri = server.uri();
    let (output, list, summary) =
        blocking(move || LocalRepo::new("resource \"terraform_data\" {\n").drift(&uri)).await;
    let log = text(&output);
    assert_eq!(output.status.code(), Some(5), "{log}");
    assert!(log.contains("the drift check failed for dev"), "{log}");
    assert_eq!(list[0]["env"], "dev", "{list}");
    assert_eq!(list[0]["status"], "failed", "{list}");
    assert_eq!(list[0]["failed_step"], "init", "{list}");
    assert_eq!(list[1]["env"], "stg", "{list}");
    assert_eq!(list[1]["issue_action"], "opened", "{list}");
    assert!(summary.contains("Drift check of `dev` failed"), "{summary}");
    assert!(summary.contains("Drift in `stg`"), "{summary}");
    let st = state.lock().unwrap();
    assert_eq!(st.issues.len(), 1);
    assert_eq!(st.issues[0].labels, ["stg/drift"]);
    assert!(
        st.issues[0]
            .body
            .starts_with("<!-- xtask:drift env=stg -->"),
        "{}",
        st.issues[0].body
    );
}

/// GitHub performs the create of the issue and answers 502: the retry finds the issue instead of
/// opening a second one. When GitHub refuses writes, the drift still reaches the job summary and
/// the summary JSON, every environment is tried, and the run exits 4.
#[tokio::test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
async fn github_failures_open_no_duplicate_and_exit_4() {
    if !terraform_or_skip() {
        return;
    }
    let state: Shared = Arc::default();
    state.lock().unwrap().create_then_502 = 1;
    let server = fake_issues(state.clone()).await;
    let uri = server.uri();
    let repo = Arc::new(blocking(|| LocalRepo::new("")).await);
    let r = repo.clone();
    let u = uri.clone();
    let (output, list, _) = blocking(move || r.drift(&u)).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(list[1]["issue_action"], "opened", "{list}");
    assert_eq!(state.lock().unwrap().issues.len(), 1);

    // Writes refused: the issue cannot be updated, yet everything else is reported.
    {
        let mut st = state.lock().unwrap();
        st.issues[0].body = "<!-- xtask:drift env=stg -->\nstale".into();
        st.forbid_writes = true;
    }
    let r = repo.clone();
    let (output, list, summary) = blocking(move || r.drift(&uri)).await;
    let log = text(&output);
    assert_eq!(output.status.code(), Some(4), "{log}");
    assert_eq!(list[0]["status"], "no-drift", "{list}");
    assert_eq!(list[1]["status"], "drift", "{list}");
    assert!(
        list[1]["github_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 403"),
        "{list}"
    );
    assert!(
        summary.contains("could not be kept up to date"),
        "{summary}"
    );
    assert!(summary.contains("`terraform_data.a` (update)"), "{summary}");
}
