//! `cargo xtask fmt` with the real terraform, and `--suggest` against a wiremock GitHub.

use crate::support;

use std::path::Path;
use std::process::Output;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const UNFORMATTED: &str = "resource \"terraform_data\" \"a\" {\n  input = \"a\"\n      triggers_replace = [\"x\"]\n}\n\n\n\nresource \"terraform_data\" \"b\" {\ninput=\"b\"\n}\n";

fn repo() -> tempfile::TempDir {
    let temp = support::config_only_repo();
    let dev = temp.path().join("environments/dev");
    std::fs::write(dev.join("main.tf"), UNFORMATTED).unwrap();
    std::fs::create_dir_all(temp.path().join("modules/net")).unwrap();
    std::fs::write(
        temp.path().join("modules/net/variables.tf"),
        "variable \"x\" {\n type = string\n}\n",
    )
    .unwrap();
    support::terraform_cli_config(temp.path());
    temp
}

fn xtask(dir: &Path, args: &[&str], api: Option<&str>) -> Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"));
    command
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("terraformrc"))
        .env_remove("GITHUB_EVENT_PATH")
        .env_remove("GITHUB_TOKEN");
    if let Some(api) = api {
        command
            .env("GITHUB_API_URL", api)
            .env("GITHUB_TOKEN", "ghs_test")
            .env("GITHUB_REPOSITORY", "acme/infra");
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
fn check_lists_unformatted_files_and_fmt_fixes_them() {
    if support::which("terraform").is_none() {
        support::missing("terraform");
        return;
    }
    let dir = repo();
    let check = xtask(dir.path(), &["fmt", "--check"], None);
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(text(&check).contains("environments/dev/main.tf"));
    assert!(text(&check).contains("modules/net/variables.tf"));
    let fix = xtask(dir.path(), &["fmt"], None);
    assert!(fix.status.success(), "{}", text(&fix));
    let again = xtask(dir.path(), &["fmt", "--check"], None);
    assert!(again.status.success(), "{}", text(&again));
    let formatted = std::fs::read_to_string(dir.path().join("environments/dev/main.tf")).unwrap();
    assert!(formatted.contains("  triggers_replace = [\"x\"]"));
}

async fn mount_pr(server: &MockServer, existing: serde_json::Value) {
    // The PR touched lines 1-4 of main.tf only; line 9 is outside its diff.
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(support::fake_github::diff_entries(&json!([{
            "filename": "environments/dev/main.tf", "status": "modified", "additions": 2, "deletions": 1,
            "patch": "@@ -1,3 +1,4 @@\n resource \"terraform_data\" \"a\" {\n   input = \"a\"\n+      triggers_replace = [\"x\"]\n }"
        }]))))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7/comments"))
        .respond_with(ResponseTemplate::new(200).set_body_json(existing))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repos/acme/infra/pulls/7"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(support::fake_github::pull_request(
                7,
                "t",
                None,
                "octocat",
                ("f", "headsha"),
                ("main", "b"),
            )),
        )
        .mount(server)
        .await;
}

#[tokio::test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
async fn suggest_posts_inside_the_diff_annotates_outside_and_does_not_repeat() {
    if support::which("terraform").is_none() {
        support::missing("terraform");
        return;
    }
    let dir = repo();

    let server = MockServer::start().await;
    mount_pr(
        &server,
        json!([
            support::fake_github::review_comment(
                50,
                "environments/dev/main.tf",
                1,
                "<!-- xtask:fmt fp=0000000000000000 -->\nold suggestion",
                support::fake_github::BOT,
                1
            ),
            support::fake_github::review_comment(
                51,
                "environments/dev/main.tf",
                1,
                "a human remark",
                "octocat",
                2
            )
        ]),
    )
    .await;
    Mock::given(method("DELETE"))
        .and(path("/repos/acme/infra/pulls/comments/50"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/repos/acme/infra/pulls/7/reviews"))
        .respond_with(ResponseTemplate::new(200).set_body_json(support::fake_github::review(9)))
        .expect(1)
        .mount(&server)
        .await;
    let uri = server.uri();
    let path_dir = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        xtask(&path_dir, &["fmt", "--suggest", "--pr", "7"], Some(&uri))
    })
    .await
    .unwrap();
    let log = text(&output);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(
        log.contains(
            "::warning file=environments/dev/main.tf,line=9,endLine=9,title=terraform fmt::"
        ),
        "{log}"
    );
    let requests = server.received_requests().await.unwrap();
    let review = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    let review: serde_json::Value = serde_json::from_slice(&review.body).unwrap();
    assert_eq!(review["commit_id"], "headsha");
    let comments = review["comments"].as_array().unwrap();
    assert_eq!(comments.len(), 1, "{review}");
    assert_eq!(comments[0]["start_line"], 2);
    assert_eq!(comments[0]["line"], 3);
    let body = comments[0]["body"].as_str().unwrap().to_owned();
    assert!(
        body.contains(
            "```suggestion\n  input            = \"a\"\n  triggers_replace = [\"x\"]\n```"
        ),
        "{body}"
    );
    // The file was not rewritten: --suggest only reads.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("environments/dev/main.tf")).unwrap(),
        UNFORMATTED
    );

    // A re-run that finds its own suggestion posts no second review.
    let rerun = MockServer::start().await;
    mount_pr(
        &rerun,
        json!([support::fake_github::review_comment(
            60,
            "environments/dev/main.tf",
            3,
            &body,
            support::fake_github::BOT,
            1
        )]),
    )
    .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&rerun)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&rerun)
        .await;
    let uri = rerun.uri();
    let path_dir = dir.path().to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        xtask(&path_dir, &["fmt", "--suggest", "--pr", "7"], Some(&uri))
    })
    .await
    .unwrap();
    let log = text(&output);
    assert!(
        log.contains("0 suggestion(s) posted, 1 already there"),
        "{log}"
    );
}

// ---- Bug 13: every suggestion is valid on its own and they add up to `terraform fmt` ----

/// `terraform fmt -` over `text`: the formatted text, or `None` when terraform rejects it.
fn terraform_fmt(text: &str) -> Option<String> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("terraform")
        .args(["fmt", "-no-color", "-"])
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    output
        .status
        .success()
        .then(|| String::from_utf8(output.stdout).unwrap())
}

/// Lines with their endings ("\r\n", "\n" or "" for a last line without one).
fn lines_with_endings(text: &str) -> Vec<(&str, &str)> {
    text.split_inclusive('\n')
        .map(|line| {
            if let Some(content) = line.strip_suffix("\r\n") {
                (content, "\r\n")
            } else if let Some(content) = line.strip_suffix('\n') {
                (content, "\n")
            } else {
                (line, "")
            }
        })
        .collect()
}

/// How GitHub commits a suggestion: lines `start..=end` are replaced by the suggestion's lines;
/// the file keeps its line endings. (Written apart from `fmt::lines::apply`, one line per line:
/// fmt never changes the number of lines, which the test checks first.)
fn apply(head: &str, changes: &[xtask::fmt::lines::Change]) -> String {
    let mut lines: Vec<(String, &str)> = lines_with_endings(head)
        .into_iter()
        .map(|(text, ending)| (text.to_owned(), ending))
        .collect();
    for change in changes.iter().filter(|change| !change.removed.is_empty()) {
        let start = usize::try_from(change.start).unwrap() - 1;
        assert_eq!(
            usize::try_from(change.end).unwrap() - start,
            change.replacement.len(),
            "{change:?} does not replace exactly the lines it covers"
        );
        for (offset, text) in change.replacement.iter().enumerate() {
            assert_eq!(
                lines[start + offset].0,
                change.removed[offset],
                "{change:?}"
            );
            lines[start + offset].0.clone_from(text);
        }
    }
    lines
        .iter()
        .map(|(text, ending)| format!("{text}{ending}"))
        .collect()
}

/// The suggestions for one file whose committed text is `head`.
fn suggestions(head: &str) -> Vec<xtask::fmt::lines::Change> {
    let formatted = terraform_fmt(head).unwrap();
    xtask::fmt::lines::changes("main.tf", head, &formatted)
}

/// A re-indented `dynamic` block: `terraform fmt -diff` shows it as "add `}` above, delete `}`
/// below", two blocks that are each invalid alone.
const MISINDENTED_DYNAMIC: &str = r#"resource "aws_eks_node_group" "this" {
  node_group_name = var.name

  dynamic "taint" {
    for_each = var.taints
    content {
      key    = taint.value.key
      effect = taint.value.effect
  }
      }

  tags = merge(var.tags, { Name = "${var.name}" })
}
"#;

/// terraform-aws-eks v21.0.0 `versions.tf`, mis-indented at random: the fmt diff has blocks
/// replacing 8 lines by 4 and 2 by 6.
const MISINDENTED_PROVIDERS: &str = r#"terraform {
  required_version = ">= 1.5.7"

      required_providers {
  aws = {
    source  = "hashicorp/aws"
    version = ">= 6.0"
        }
  tls = {
    source  = "hashicorp/tls"
          version = ">= 4.0"
    }
  time = {
    source  = "hashicorp/time"
      version = ">= 0.9"
  }
  }
}
"#;

const HEREDOCS: &str = "locals {\n    policy = <<EOT\n  keep   this\n     EOT\n  script = <<-EOT\n      echo  x\n    EOT\n  list=[ 1,2 ]\n    name = \"${var.x}\"\n}\n";

fn cases() -> Vec<(&'static str, String)> {
    vec![
        ("mis-indented dynamic block", MISINDENTED_DYNAMIC.to_owned()),
        ("mis-indented providers", MISINDENTED_PROVIDERS.to_owned()),
        (
            "CRLF providers",
            MISINDENTED_PROVIDERS.replace('\n', "\r\n"),
        ),
        ("CRLF", MISINDENTED_DYNAMIC.replace('\n', "\r\n")),
        (
            "no final newline",
            MISINDENTED_DYNAMIC.trim_end().to_owned(),
        ),
        (
            "no final newline, change on the last line",
            "variable \"x\" {\n  type = string\n}\nlocals { a=1 }".to_owned(),
        ),
        (
            "no final newline after a change",
            "locals {\n  a=1\n    bb = 2\n}".to_owned(),
        ),
        ("heredocs", HEREDOCS.to_owned()),
        (
            "blank lines with spaces, tabs, leading blank lines",
            "\n\n  \nlocals {\n\ta = 1\n  \n\n\n  b    = 2\n}\n\n\n".to_owned(),
        ),
    ]
}

#[test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
fn each_suggestion_is_valid_alone_and_all_give_terraform_fmt_output() {
    if support::which("terraform").is_none() {
        support::missing("terraform");
        return;
    }
    for (name, head) in cases() {
        let formatted =
            terraform_fmt(&head).unwrap_or_else(|| panic!("{name}: fmt rejects the input"));
        // The file keeps its final newline (or its lack of one) and its line endings.
        let expected = if head.ends_with('\n') {
            formatted.clone()
        } else {
            formatted
                .strip_suffix('\n')
                .unwrap_or(&formatted)
                .to_owned()
        };
        let changes = suggestions(&head);
        assert!(!changes.is_empty(), "{name}: no suggestions");
        assert_eq!(
            apply(&head, &changes),
            expected,
            "{name}: all suggestions together"
        );
        for change in &changes {
            assert_eq!(
                change.end - change.start + 1,
                change.replacement.len() as u32,
                "{name}: {change:?} does not replace exactly the lines it covers"
            );
            assert_eq!(
                change.removed.len(),
                change.replacement.len(),
                "{name}: {change:?}"
            );
            let alone = apply(&head, std::slice::from_ref(change));
            assert_eq!(
                lines_with_endings(&alone)
                    .iter()
                    .map(|l| l.1)
                    .collect::<Vec<_>>(),
                lines_with_endings(&head)
                    .iter()
                    .map(|l| l.1)
                    .collect::<Vec<_>>(),
                "{name}: {change:?} changes line endings"
            );
            let refmt = terraform_fmt(&alone)
                .unwrap_or_else(|| panic!("{name}: {change:?} alone leaves invalid HCL:\n{alone}"));
            assert_eq!(refmt, formatted, "{name}: {change:?} alone");
        }
    }
}
