//! A stateful stand-in for the parts of GitHub's REST API the tool uses (pull request 7 of
//! `acme/infra`), on a wiremock server. Comments remember who wrote them; writes can be made to
//! misbehave the way GitHub sometimes does: perform the write, then answer 502.
//!
//! Used as `crate::support::fake_github` by the tests that need it.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// The login GitHub shows for comments written with a workflow's `GITHUB_TOKEN`.
pub const BOT: &str = "github-actions[bot]";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    pub login: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewComment {
    pub id: u64,
    pub path: String,
    pub line: u64,
    pub body: String,
    pub login: String,
    pub review_id: u64,
}

/// A change made to the state from outside the tool (a person editing on github.com).
pub type Edit = fn(&mut State);

#[derive(Debug, Default)]
pub struct State {
    pub title: String,
    pub body: String,
    pub files: Value,
    pub comments: Vec<Comment>,
    pub review_comments: Vec<ReviewComment>,
    pub labels: Vec<String>,
    pub reviews_created: usize,
    /// PATCHes of the pull request body.
    pub body_updates: usize,
    pub next_id: u64,
    /// Every write answers 403 (a fork's read-only token).
    pub forbid_writes: bool,
    /// The next N creating POSTs (comments, reviews) are performed and then answered with 502.
    pub perform_then_502: usize,
    /// The next N creating POSTs answer 500 without performing anything.
    pub fail_without_performing: usize,
    /// Every creating POST (comments, reviews) answers this status and performs nothing.
    pub reject_creates: Option<u16>,
    /// Every review POST answers 422 (a line GitHub does not accept) and performs nothing.
    pub reject_reviews: bool,
    /// Items per page of the comment listings (GitHub's `per_page`); 0 means no pagination.
    pub page_size: usize,
    /// Runs once, just before the pull request is read for the N-th time (1-based); a way to
    /// model an author who edits the description while the model is thinking.
    pub on_pull_read: Option<(usize, Edit)>,
    pub pull_reads: usize,
    /// The next PATCH of the pull request body is performed, then this edit runs (the author
    /// saving the description a moment later), then GitHub answers 502.
    pub body_patch_then_502: Option<Edit>,
    /// Writes the tool must never make (editing or deleting someone else's comment); refused.
    pub violations: Vec<String>,
    /// The login new comments get (the token's identity).
    pub author: String,
    /// Merge commits of pull request 7 (`GET /repos/acme/infra/commits/{sha}/pulls`).
    pub merge_commits: Vec<String>,
    /// The pull request's head commit.
    pub head_sha: String,
    /// The compare API (`compare/{base}...{head}`): per (base, head), GitHub's `status`
    /// (`ahead`, `diverged`, ...) and the files changed; a pair not listed answers 404 (a
    /// commit a force-push dropped and GitHub no longer knows).
    pub comparisons: Vec<(String, String, String, Value)>,
    /// The compare requests made, as `base...head`.
    pub compared: Vec<String>,
    /// `author_association` of comments by id (`NONE` when not listed).
    pub associations: Vec<(u64, String)>,
    /// `diff_hunk` of review comments by id.
    pub diff_hunks: Vec<(u64, String)>,
    /// Replies in review threads: (the thread's first comment, body, login).
    pub replies: Vec<(u64, String, String)>,
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A comment written by someone else (a human, another bot).
    pub fn foreign(&mut self, login: &str, body: &str) -> u64 {
        let id = self.id();
        self.comments.push(Comment {
            id,
            body: body.to_owned(),
            login: login.to_owned(),
        });
        id
    }

    pub fn foreign_review_comment(
        &mut self,
        login: &str,
        path: &str,
        line: u64,
        body: &str,
    ) -> u64 {
        let id = self.id();
        self.review_comments.push(ReviewComment {
            id,
            path: path.to_owned(),
            line,
            body: body.to_owned(),
            login: login.to_owned(),
            review_id: 1,
        });
        id
    }

    fn refusal(&self) -> ResponseTemplate {
        match self.reject_creates {
            Some(status) => ResponseTemplate::new(status)
                .set_body_json(json!({"message": format!("Refused with {status}")})),
            None => ResponseTemplate::new(500).set_body_json(json!({"message": "Server Error"})),
        }
    }

    /// Pull request 7 as it is now (GitHub answers a read and an update with the whole of it).
    fn pull_request(&self) -> Value {
        pull_request(
            7,
            &self.title,
            Some(&self.body),
            "author",
            ("feature", &self.head_sha),
            ("main", "def456"),
        )
    }

    fn association(&self, id: u64) -> String {
        self.associations
            .iter()
            .find(|(i, _)| *i == id)
            .map_or_else(|| "NONE".to_owned(), |(_, a)| a.clone())
    }

    pub fn bot_comments_starting_with(&self, marker: &str) -> Vec<&Comment> {
        self.comments
            .iter()
            .filter(|c| c.login == BOT && c.body.starts_with(marker))
            .collect()
    }

    /// Consumes one failure of a creating POST: `Some(performed)` when it must fail.
    fn failure(&mut self) -> Option<bool> {
        if self.reject_creates.is_some() {
            return Some(false);
        }
        if self.fail_without_performing > 0 {
            self.fail_without_performing -= 1;
            return Some(false);
        }
        if self.perform_then_502 > 0 {
            self.perform_then_502 -= 1;
            return Some(true);
        }
        None
    }
}

pub type Shared = Arc<Mutex<State>>;

pub fn state() -> Shared {
    Arc::new(Mutex::new(State {
        title: "Add the audit bucket".to_owned(),
        files: json!([]),
        author: BOT.to_owned(),
        head_sha: "abc123".to_owned(),
        next_id: 100,
        ..State::default()
    }))
}

pub fn lock(state: &Shared) -> MutexGuard<'_, State> {
    state.lock().unwrap()
}

fn forbidden() -> ResponseTemplate {
    ResponseTemplate::new(403)
        .set_body_json(json!({"message": "Resource not accessible by integration"}))
}

fn bad_gateway() -> ResponseTemplate {
    ResponseTemplate::new(502).set_body_string("<html><h1>502 Bad Gateway</h1></html>")
}

fn id_in(request: &Request) -> u64 {
    request
        .url
        .path()
        .rsplit('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// GitHub's own response examples (from its OpenAPI description, `@octokit/openapi`), so that the
/// fakes answer in the shapes GitHub does and the client's octocrab models are proved against them.
const EXAMPLES: &str = include_str!("github_examples.json");

/// The response example `name` of [`EXAMPLES`].
pub fn example(name: &str) -> Value {
    let examples: Value = serde_json::from_str(EXAMPLES).unwrap();
    let value = examples[name]["value"].clone();
    assert!(!value.is_null(), "no GitHub example named {name}");
    value
}

/// A label as `GET /repos/{o}/{r}/labels/{name}` (and the issue's label listing) returns it.
pub fn label(name: &str) -> Value {
    let mut label = example("label");
    label["name"] = name.into();
    label["url"] = format!(
        "https://api.github.com/repos/acme/infra/labels/{}",
        name.replace('/', "%2F")
    )
    .into();
    label
}

/// The labels of an issue, as its label listing returns them.
pub fn labels(names: &[&str]) -> Value {
    names.iter().map(|name| label(name)).collect()
}

/// The review `POST /repos/{o}/{r}/pulls/{n}/reviews` answers with.
pub fn review(id: u64) -> Value {
    let mut review = example("pull-request-review");
    review["id"] = id.into();
    review
}

/// Pull request `number` as `GET /repos/{o}/{r}/commits/{sha}/pulls` lists it: merged as
/// `merge_commit_sha` when `merged`.
pub fn associated_pull(number: u64, merge_commit_sha: &str, merged: bool) -> Value {
    let mut pull = example("pull-request-simple");
    pull["number"] = number.into();
    pull["state"] = if merged { "closed" } else { "open" }.into();
    pull["merged_at"] = if merged {
        "2026-01-01T00:00:00Z".into()
    } else {
        Value::Null
    };
    pull["merge_commit_sha"] = merge_commit_sha.into();
    pull
}

/// A user (the author of an issue or comment) with `login`.
pub fn user(login: &str) -> Value {
    let mut user = example("issue-comment")["user"].clone();
    user["login"] = login.into();
    user["type"] = if login.ends_with("[bot]") {
        "Bot"
    } else {
        "User"
    }
    .into();
    user
}

/// Issue comment `id` by `login`, as the issue comments API returns it.
pub fn comment(id: u64, body: &str, login: &str) -> Value {
    let mut comment = example("issue-comment");
    comment["id"] = id.into();
    comment["url"] = format!("https://api.github.com/repos/acme/infra/issues/comments/{id}").into();
    comment["html_url"] = format!("https://github.com/acme/infra/pull/7#issuecomment-{id}").into();
    comment["issue_url"] = "https://api.github.com/repos/acme/infra/issues/7".into();
    comment["body"] = body.into();
    comment["user"] = user(login);
    comment
}

/// Review comment `id` by `login` on `line` of `path`, in review `review_id`, as the review
/// comments listing of pull request 7 returns it.
pub fn review_comment(
    id: u64,
    path: &str,
    line: u64,
    body: &str,
    login: &str,
    review_id: u64,
) -> Value {
    let mut comment = example("pull-request-review-comment");
    let object = comment.as_object_mut().unwrap();
    for key in [
        "in_reply_to_id",
        "start_line",
        "original_start_line",
        "start_side",
    ] {
        object.remove(key);
    }
    comment["id"] = id.into();
    comment["url"] = format!("https://api.github.com/repos/acme/infra/pulls/comments/{id}").into();
    comment["html_url"] = format!("https://github.com/acme/infra/pull/7#discussion_r{id}").into();
    comment["pull_request_url"] = "https://api.github.com/repos/acme/infra/pulls/7".into();
    comment["pull_request_review_id"] = review_id.into();
    comment["path"] = path.into();
    comment["line"] = line.into();
    comment["original_line"] = line.into();
    comment["body"] = body.into();
    comment["user"] = user(login);
    comment
}

/// Pull request `number` of `login` as `GET /repos/{o}/{r}/pulls/{n}` returns it, from `head`
/// onto `base` (each a ref and its commit).
pub fn pull_request(
    number: u64,
    title: &str,
    body: Option<&str>,
    login: &str,
    head: (&str, &str),
    base: (&str, &str),
) -> Value {
    let mut pull = example("pull-request");
    pull["id"] = number.into();
    pull["number"] = number.into();
    pull["url"] = format!("https://api.github.com/repos/acme/infra/pulls/{number}").into();
    pull["html_url"] = format!("https://github.com/acme/infra/pull/{number}").into();
    pull["title"] = title.into();
    pull["body"] = body.into();
    pull["user"] = user(login);
    pull["draft"] = false.into();
    for (side, (name, sha)) in [("head", head), ("base", base)] {
        pull[side]["ref"] = name.into();
        pull[side]["sha"] = sha.into();
        pull[side]["label"] = format!("acme:{name}").into();
    }
    pull
}

/// `files` (each with at least `filename`, `status`, the counts and, unless binary, `patch`)
/// completed to GitHub's diff entries, as the pull request files listing and the compare API
/// return them.
pub fn diff_entries(files: &Value) -> Value {
    let files = files.as_array().unwrap();
    files
        .iter()
        .map(|file| {
            let mut entry = example("diff-entry");
            entry.as_object_mut().unwrap().remove("patch");
            for (key, value) in file.as_object().unwrap() {
                entry[key] = value.clone();
            }
            let name = file["filename"].as_str().unwrap();
            let changes =
                entry["additions"].as_u64().unwrap() + entry["deletions"].as_u64().unwrap();
            entry["changes"] = changes.into();
            entry["blob_url"] = format!("https://github.com/acme/infra/blob/abc123/{name}").into();
            entry["raw_url"] = format!("https://github.com/acme/infra/raw/abc123/{name}").into();
            entry["contents_url"] =
                format!("https://api.github.com/repos/acme/infra/contents/{name}?ref=abc123")
                    .into();
            entry
        })
        .collect()
}

/// Issue `number` by `login` as the issues API returns it (never a pull request).
pub fn issue(
    number: u64,
    title: &str,
    body: &str,
    login: &str,
    open: bool,
    labels: &[&str],
) -> Value {
    let mut issue = example("issue");
    issue.as_object_mut().unwrap().remove("pull_request");
    issue["id"] = number.into();
    issue["number"] = number.into();
    issue["url"] = format!("https://api.github.com/repos/acme/infra/issues/{number}").into();
    issue["html_url"] = format!("https://github.com/acme/infra/issues/{number}").into();
    issue["title"] = title.into();
    issue["body"] = body.into();
    issue["user"] = user(login);
    issue["state"] = if open { "open" } else { "closed" }.into();
    issue["state_reason"] = if open {
        Value::Null
    } else {
        "completed".into()
    };
    issue["closed_at"] = if open {
        Value::Null
    } else {
        "2026-01-02T00:00:00Z".into()
    };
    issue["labels"] = self::labels(labels);
    issue
}

/// One page of `items`, with a `Link: rel="next"` header when more follow.
fn page(request: &Request, items: Vec<Value>, page_size: usize, server: &str) -> ResponseTemplate {
    if page_size == 0 {
        return ResponseTemplate::new(200).set_body_json(items);
    }
    let number: usize = request
        .url
        .query_pairs()
        .find(|(k, _)| k == "page")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(1);
    let start = (number - 1) * page_size;
    let slice: Vec<Value> = items.iter().skip(start).take(page_size).cloned().collect();
    let mut response = ResponseTemplate::new(200).set_body_json(slice);
    if start + page_size < items.len() {
        response = response.insert_header(
            "link",
            format!(
                "<{server}{}?per_page=100&page={}>; rel=\"next\"",
                request.url.path(),
                number + 1
            )
            .as_str(),
        );
    }
    response
}

pub async fn server(state: Shared) -> MockServer {
    let server = MockServer::start().await;
    let uri = server.uri();

    let s = state.clone();
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7"))
        .respond_with(move |_: &Request| {
            let mut st = s.lock().unwrap();
            st.pull_reads += 1;
            if let Some((at, edit)) = st.on_pull_read
                && at == st.pull_reads
            {
                edit(&mut st);
            }
            ResponseTemplate::new(200).set_body_json(st.pull_request())
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("PATCH"))
        .and(path("/repos/acme/infra/pulls/7"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            if st.forbid_writes {
                return forbidden();
            }
            let body: Value = request.body_json().unwrap();
            st.body = body["body"].as_str().unwrap().to_owned();
            st.body_updates += 1;
            if let Some(edit) = st.body_patch_then_502.take() {
                edit(&mut st);
                return bad_gateway();
            }
            // GitHub answers with the whole pull request.
            ResponseTemplate::new(200).set_body_json(st.pull_request())
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7/files"))
        .respond_with(move |_: &Request| {
            ResponseTemplate::new(200).set_body_json(diff_entries(&s.lock().unwrap().files))
        })
        .mount(&server)
        .await;

    // The pull requests of a commit: PR 7 for its merge commits, none for others.
    let s = state.clone();
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/infra/commits/[0-9a-f]+/pulls$"))
        .respond_with(move |request: &Request| {
            let st = s.lock().unwrap();
            let sha = request.url.path().split('/').nth(5).unwrap().to_owned();
            let pulls: Vec<Value> = st
                .merge_commits
                .iter()
                .filter(|merged| **merged == sha)
                .map(|merged| associated_pull(7, merged, true))
                .collect();
            ResponseTemplate::new(200).set_body_json(pulls)
        })
        .mount(&server)
        .await;

    let s = state.clone();
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/infra/compare/[^/]+$"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            let spec = request.url.path().rsplit('/').next().unwrap().to_owned();
            st.compared.push(spec.clone());
            let found = spec.split_once("...").and_then(|(base, head)| {
                st.comparisons
                    .iter()
                    .find(|(b, h, _, _)| b == base && h == head)
            });
            match found {
                Some((_, _, status, files)) => {
                    let mut comparison = example("commit-comparison");
                    comparison["status"] = status.as_str().into();
                    comparison["files"] = diff_entries(files);
                    comparison["commits"] = json!([]);
                    ResponseTemplate::new(200).set_body_json(comparison)
                }
                None => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
            }
        })
        .mount(&server)
        .await;

    // Single comments, as `/ask` reads them.
    let s = state.clone();
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/infra/issues/comments/\d+$"))
        .respond_with(move |request: &Request| {
            let st = s.lock().unwrap();
            let id = id_in(request);
            match st.comments.iter().find(|c| c.id == id) {
                Some(c) => {
                    let mut found = comment(c.id, &c.body, &c.login);
                    found["author_association"] = st.association(id).into();
                    ResponseTemplate::new(200).set_body_json(found)
                }
                None => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
            }
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/infra/pulls/comments/\d+$"))
        .respond_with(move |request: &Request| {
            let st = s.lock().unwrap();
            let id = id_in(request);
            match st.review_comments.iter().find(|c| c.id == id) {
                Some(c) => {
                    let mut found =
                        review_comment(c.id, &c.path, c.line, &c.body, &c.login, c.review_id);
                    found["author_association"] = st.association(id).into();
                    if let Some((_, hunk)) = st.diff_hunks.iter().find(|(i, _)| *i == id) {
                        found["diff_hunk"] = hunk.as_str().into();
                    }
                    ResponseTemplate::new(200).set_body_json(found)
                }
                None => ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"})),
            }
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("POST"))
        .and(path_regex(
            r"^/repos/acme/infra/pulls/7/comments/\d+/replies$",
        ))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            if st.forbid_writes {
                return forbidden();
            }
            let thread: u64 = request
                .url
                .path()
                .split('/')
                .nth(7)
                .unwrap()
                .parse()
                .unwrap();
            if !st.review_comments.iter().any(|c| c.id == thread) {
                return ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}));
            }
            let body: Value = request.body_json().unwrap();
            let text = body["body"].as_str().unwrap().to_owned();
            let login = st.author.clone();
            st.replies.push((thread, text.clone(), login.clone()));
            let id = st.id();
            let (path, line, review_id) = st
                .review_comments
                .iter()
                .find(|c| c.id == thread)
                .map(|c| (c.path.clone(), c.line, c.review_id))
                .unwrap();
            let mut reply = review_comment(id, &path, line, &text, &login, review_id);
            reply["in_reply_to_id"] = thread.into();
            ResponseTemplate::new(201).set_body_json(reply)
        })
        .mount(&server)
        .await;

    // Issue comments.
    let s = state.clone();
    let u = uri.clone();
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(move |request: &Request| {
            let st = s.lock().unwrap();
            let items = st
                .comments
                .iter()
                .map(|c| comment(c.id, &c.body, &c.login))
                .collect();
            page(request, items, st.page_size, &u)
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/comments"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            if st.forbid_writes {
                return forbidden();
            }
            let failure = st.failure();
            if failure == Some(false) {
                return st.refusal();
            }
            let body: Value = request.body_json().unwrap();
            let id = st.id();
            let login = st.author.clone();
            st.comments.push(Comment {
                id,
                body: body["body"].as_str().unwrap().to_owned(),
                login: login.clone(),
            });
            if failure == Some(true) {
                return bad_gateway();
            }
            ResponseTemplate::new(201).set_body_json(comment(
                id,
                body["body"].as_str().unwrap(),
                &login,
            ))
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("PATCH"))
        .and(path_regex(r"^/repos/acme/infra/issues/comments/\d+$"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            if st.forbid_writes {
                return forbidden();
            }
            let id = id_in(request);
            let body: Value = request.body_json().unwrap();
            let text = body["body"].as_str().unwrap().to_owned();
            let Some(login) = st
                .comments
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.login.clone())
            else {
                return ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}));
            };
            if login != BOT {
                // GitHub would let a maintainer's token do this; the tool must never try.
                st.violations
                    .push(format!("edited comment {id} of {login}"));
                return forbidden();
            }
            for comment in st.comments.iter_mut().filter(|c| c.id == id) {
                comment.body = text.clone();
            }
            ResponseTemplate::new(200).set_body_json(comment(id, &text, BOT))
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("DELETE"))
        .and(path_regex(r"^/repos/acme/infra/issues/comments/\d+$"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            if st.forbid_writes {
                return forbidden();
            }
            let id = id_in(request);
            if let Some(login) = st
                .comments
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.login.clone())
                && login != BOT
            {
                st.violations
                    .push(format!("deleted comment {id} of {login}"));
                return forbidden();
            }
            let before = st.comments.len();
            st.comments.retain(|c| c.id != id);
            if st.comments.len() == before {
                return ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}));
            }
            ResponseTemplate::new(204)
        })
        .mount(&server)
        .await;

    // Labels.
    let s = state.clone();
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/issues/7/labels"))
        .respond_with(move |_: &Request| {
            let list: Vec<Value> = s
                .lock()
                .unwrap()
                .labels
                .iter()
                .map(|name| label(name))
                .collect();
            ResponseTemplate::new(200).set_body_json(list)
        })
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path_regex(r"^/repos/acme/infra/labels/.+$"))
        .respond_with(|request: &Request| {
            let name = request.url.path().rsplit('/').next().unwrap();
            let name = name.replace("%2F", "/").replace("%2f", "/");
            ResponseTemplate::new(200).set_body_json(label(&name))
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/issues/7/labels"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            if st.forbid_writes {
                return forbidden();
            }
            let body: Value = request.body_json().unwrap();
            for name in body["labels"].as_array().unwrap() {
                let name = name.as_str().unwrap().to_owned();
                if !st.labels.contains(&name) {
                    st.labels.push(name);
                }
            }
            let names: Vec<&str> = st.labels.iter().map(String::as_str).collect();
            ResponseTemplate::new(200).set_body_json(labels(&names))
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("DELETE"))
        .and(path_regex(r"^/repos/acme/infra/issues/7/labels/.+$"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            if st.forbid_writes {
                return forbidden();
            }
            let name = request.url.path().rsplit('/').next().unwrap().to_owned();
            let name = name.replace("%20", " ").replace("%2F", "/");
            st.labels.retain(|l| *l != name);
            ResponseTemplate::new(200).set_body_json(json!([]))
        })
        .mount(&server)
        .await;

    // Review comments and reviews.
    let s = state.clone();
    let u = uri.clone();
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7/comments"))
        .respond_with(move |request: &Request| {
            let st = s.lock().unwrap();
            let items = st
                .review_comments
                .iter()
                .map(|c| review_comment(c.id, &c.path, c.line, &c.body, &c.login, c.review_id))
                .collect();
            page(request, items, st.page_size, &u)
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("DELETE"))
        .and(path_regex(r"^/repos/acme/infra/pulls/comments/\d+$"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            if st.forbid_writes {
                return forbidden();
            }
            let id = id_in(request);
            if let Some(login) = st
                .review_comments
                .iter()
                .find(|c| c.id == id)
                .map(|c| c.login.clone())
                && login != BOT
            {
                st.violations
                    .push(format!("deleted review comment {id} of {login}"));
                return forbidden();
            }
            let before = st.review_comments.len();
            st.review_comments.retain(|c| c.id != id);
            if st.review_comments.len() == before {
                return ResponseTemplate::new(404).set_body_json(json!({"message": "Not Found"}));
            }
            ResponseTemplate::new(204)
        })
        .mount(&server)
        .await;
    let s = state.clone();
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/pulls/7/reviews"))
        .respond_with(move |request: &Request| {
            let mut st = s.lock().unwrap();
            if st.forbid_writes {
                return forbidden();
            }
            if st.reject_reviews {
                return ResponseTemplate::new(422).set_body_json(json!({
                    "message": "Validation Failed",
                    "errors": ["Line could not be resolved"]
                }));
            }
            let failure = st.failure();
            if failure == Some(false) {
                return st.refusal();
            }
            let body: Value = request.body_json().unwrap();
            st.reviews_created += 1;
            let review_id = st.id();
            let login = st.author.clone();
            for comment in body["comments"].as_array().unwrap() {
                let id = st.id();
                st.review_comments.push(ReviewComment {
                    id,
                    path: comment["path"].as_str().unwrap().to_owned(),
                    line: comment["line"].as_u64().unwrap(),
                    body: comment["body"].as_str().unwrap().to_owned(),
                    login: login.clone(),
                    review_id,
                });
            }
            if failure == Some(true) {
                return bad_gateway();
            }
            ResponseTemplate::new(200).set_body_json(review(review_id))
        })
        .mount(&server)
        .await;
    server
}
