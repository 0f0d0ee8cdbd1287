//! The generated files: the committed copy, snapshots of what other configurations (more
//! environments, each review provider) change in them, `--check`, and the hardening rules that
//! every workflow must keep.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use xtask::config::Config;
use xtask::generate::{self, GeneratedFile, pins::Pins};

fn generated() -> (Config, Vec<GeneratedFile>) {
    let root = support::repo_root();
    let config = Config::load(&root).unwrap();
    let files = generate::generate_all(&config).unwrap();
    (config, files)
}

fn yaml_files(files: &[GeneratedFile]) -> Vec<(&GeneratedFile, Value)> {
    files
        .iter()
        .filter(|f| f.path.extension().is_some_and(|e| e == "yml"))
        .map(|f| {
            let value: Value = serde_saphyr::from_str(&f.contents)
                .unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", f.path.display()));
            (f, value)
        })
        .collect()
}

fn is_workflow(file: &GeneratedFile) -> bool {
    file.path.starts_with(".github/workflows")
}

/// Every step of every job (workflows) or of `runs` (composite actions).
fn steps(document: &Value) -> Vec<&Value> {
    let mut found = Vec::new();
    if let Some(jobs) = document.get("jobs").and_then(Value::as_object) {
        for job in jobs.values() {
            found.extend(job["steps"].as_array().into_iter().flatten());
        }
    }
    if let Some(run_steps) = document.pointer("/runs/steps").and_then(Value::as_array) {
        found.extend(run_steps);
    }
    found
}

/// The provider table of the committed manifest, which the provider configurations replace.
const COMMITTED_PROVIDER: &str = "[workspace.metadata.xtask.review.provider]\nkind = \"openai\"\napi_key_env = \"OPENAI_API_KEY\"\n";

/// An environment added to a configuration: its name, and how its copy of dev's file is edited.
type AddedEnvironment<'a> = (&'a str, fn(String) -> String);

/// A configuration-only repository: the committed manifest with its review provider table
/// replaced by `provider`, dev, and each of `environments` as a copy of dev's configuration with
/// the name (and the external-id secrets) renamed and `edit` applied.
fn configured_repo(provider: &str, environments: &[AddedEnvironment]) -> tempfile::TempDir {
    let repo = support::config_only_repo();
    let manifest = repo.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    assert!(text.contains(COMMITTED_PROVIDER), "{text}");
    std::fs::write(&manifest, text.replace(COMMITTED_PROVIDER, provider)).unwrap();
    let dev = std::fs::read_to_string(repo.path().join("environments/dev/xtask.toml")).unwrap();
    for (name, edit) in environments {
        let dir = repo.path().join("environments").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("xtask.toml"), edit(renamed(&dev, name))).unwrap();
    }
    repo
}

/// dev's configuration renamed to `name`: the environment's name, and its secrets' prefix.
fn renamed(dev: &str, name: &str) -> String {
    dev.replace("dev", name)
        .replace("DEV_", &format!("{}_", name.to_uppercase()))
}

/// What the generator writes for the configuration at `root`, as a diff from what it writes for the
/// committed configuration (which `committed_files_equal_the_generator_output` checks), so a
/// snapshot holds only what that configuration changes. A new environment's files are compared
/// with dev's renamed the way [`configured_repo`] renamed its configuration, so they show only what
/// its own settings change.
fn changes_from_committed(root: &Path) -> String {
    let (_, committed) = generated();
    let committed: std::collections::BTreeMap<&Path, &str> = committed
        .iter()
        .map(|f| (f.path.as_path(), f.contents.as_str()))
        .collect();
    let config = Config::load(root).unwrap();
    let files = generate::generate_all(&config).unwrap();
    // The committed file a generated one is compared with, and the environment it was renamed to.
    let counterpart = |path: &Path| -> (PathBuf, Option<&str>) {
        let text = path.display().to_string();
        for name in config.environments.keys().filter(|name| *name != "dev") {
            for own in [
                format!("environments/{name}/"),
                format!("db-migrate-{name}.yml"),
            ] {
                if text.contains(&own) {
                    let dev = own.replace(name.as_str(), "dev");
                    return (PathBuf::from(text.replace(&own, &dev)), Some(name.as_str()));
                }
            }
        }
        (path.to_path_buf(), None)
    };
    let mut out = String::new();
    for file in &files {
        let (base, name) = counterpart(&file.path);
        let before = committed.get(base.as_path()).copied().unwrap_or("");
        let before = name.map_or_else(|| before.to_owned(), |name| renamed(before, name));
        if before == file.contents {
            continue;
        }
        let from = match name {
            Some(name) => format!("{} renamed to {name}", base.display()),
            None => base.display().to_string(),
        };
        let diff = similar::TextDiff::from_lines(&before, &file.contents);
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(2)
                .header(&from, &file.path.display().to_string())
                .to_string(),
        );
    }
    for path in committed.keys() {
        if !files.iter().any(|f| counterpart(&f.path).0 == *path) {
            out.push_str(&format!("removed: {}\n", path.display()));
        }
    }
    out
}

#[test]
fn three_environments_in_two_accounts_with_an_openai_proxy() {
    let repo = configured_repo(
        "[workspace.metadata.xtask.review.provider]\nkind = \"openai\"\napi_key_env = \"OPENAI_PROXY_KEY\"\nbase_url = \"https://llm-proxy.example.com/v1\"\n",
        &[
            ("stg", |text| text),
            ("prod", |text| {
                text.replace("123456789012", "210987654321")
                    .replace("ap-northeast-1", "us-east-1")
                    .replace(
                        "local_principals = []",
                        "local_principals = [\"arn:aws:iam::210987654321:role/platform-admin\"]",
                    )
                    .replace(
                        "security_groups = []",
                        "security_groups = [\"sg-0123456789abcdef0\"]",
                    )
                    .replace("assign_public_ip = false", "assign_public_ip = true")
                    .replace("timeout = \"30m\"", "timeout = \"1h30m\"")
            }),
        ],
    );
    // Applied dev, then stg, then the one not listed (prod); drift checked on weekday mornings.
    let manifest = repo.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        with_apply_and_drift(&text, "[\"dev\", \"stg\"]", "0 6 * * 1-5"),
    )
    .unwrap();
    insta::assert_snapshot!(changes_from_committed(repo.path()));
}

#[test]
fn review_on_azure_openai() {
    let repo = configured_repo(
        "[workspace.metadata.xtask.review.provider]\nkind = \"azure-openai\"\nendpoint = \"https://example-org.openai.azure.com\"\ndeployment = \"review\"\napi_version = \"2024-10-21\"\n",
        &[],
    );
    insta::assert_snapshot!(changes_from_committed(repo.path()));
}

#[test]
fn review_on_bedrock_with_two_environments() {
    let repo = configured_repo(
        "[workspace.metadata.xtask.review.provider]\nkind = \"bedrock\"\nregion = \"us-east-1\"\n",
        &[("stg", |text| text)],
    );
    let manifest = repo.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "model = \"gpt-4.1-mini\"\nfallback_models = [\"gpt-4.1\"]",
        "model = \"anthropic.claude-3-5-haiku-20241022-v1:0\"\nfallback_models = [\"us.anthropic.claude-3-5-sonnet-20241022-v2:0\"]",
    );
    assert!(text.contains("claude-3-5-haiku"), "{text}");
    std::fs::write(&manifest, text).unwrap();
    insta::assert_snapshot!(changes_from_committed(repo.path()));
}

#[test]
fn review_on_an_openai_compatible_server_without_a_key() {
    let repo = configured_repo(
        "[workspace.metadata.xtask.review.provider]\nkind = \"openai-compatible\"\nbase_url = \"http://127.0.0.1:11434/v1\"\n",
        &[],
    );
    insta::assert_snapshot!(changes_from_committed(repo.path()));
}

#[test]
fn committed_files_equal_the_generator_output() {
    let (config, files) = generated();
    let drifts = generate::compare(
        &config.root,
        &files,
        &generate::generated_locations(&config),
    )
    .unwrap();
    assert!(
        drifts.is_empty(),
        "generated files are stale; run `cargo xtask gen-workflows`:\n{drifts:#?}"
    );
}

#[test]
fn every_generated_file_says_it_is_generated() {
    let (_, files) = generated();
    for file in &files {
        let text = &file.contents;
        let marked = match file.path.extension().and_then(|e| e.to_str()) {
            Some("yml" | "tfbackend") => {
                text.starts_with("# generated by `cargo xtask gen-workflows`; do not edit")
            }
            Some("md") => text.contains("generated by `cargo xtask gen-workflows`; do not edit"),
            Some("json") if file.path.ends_with("xtask.generated.tf.json") => {
                text.contains("\"//\": \"generated by `cargo xtask gen-workflows`; do not edit")
            }
            // Policy and state machine JSON cannot hold comments: the README beside them says it.
            Some("json") => files.iter().any(|readme| {
                readme.path.ends_with("generated/README.md")
                    && file.path.starts_with(readme.path.parent().unwrap())
            }),
            _ => false,
        };
        assert!(
            marked,
            "{} lacks the generated-file header",
            file.path.display()
        );
    }
}

#[test]
fn no_expression_is_interpolated_into_a_script() {
    let (_, files) = generated();
    for (file, document) in yaml_files(&files) {
        for step in steps(&document) {
            if let Some(run) = step.get("run").and_then(Value::as_str) {
                assert!(
                    !run.contains("${{"),
                    "{}: step {:?} puts an expression into its script; pass it through env:",
                    file.path.display(),
                    step["name"]
                );
            }
        }
    }
}

#[test]
fn actions_are_pinned_to_the_audited_table_with_known_inputs() {
    let (_, files) = generated();
    let pins = Pins::embedded().unwrap();
    // Our embedded table must agree with the audited reference table where it is present.
    let reference = support::repo_root().join("../shared/reference/action-pins.json");
    if let Ok(text) = std::fs::read_to_string(&reference) {
        let table: Value = serde_json::from_str(&text).unwrap();
        for pin in pins.iter() {
            assert_eq!(
                table[&pin.action]["sha"],
                pin.sha.as_str(),
                "{}",
                pin.action
            );
            assert_eq!(
                table[&pin.action]["tag"],
                pin.tag.as_str(),
                "{}",
                pin.action
            );
        }
    }
    let mut checked = 0;
    for file in files
        .iter()
        .filter(|f| f.path.extension().is_some_and(|e| e == "yml"))
    {
        for line in file.contents.lines() {
            let Some(uses) = line
                .trim_start()
                .trim_start_matches("- ")
                .strip_prefix("uses: ")
            else {
                continue;
            };
            if uses.starts_with("./") {
                continue;
            }
            let (reference, comment) = uses.split_once(" # ").unwrap_or_else(|| {
                panic!("{}: `{uses}` has no version comment", file.path.display())
            });
            let (action, sha) = reference.split_once('@').unwrap();
            let pin = pins.get(action).unwrap();
            assert_eq!(sha, pin.sha, "{}: {action}", file.path.display());
            assert_eq!(comment, pin.tag, "{}: {action}", file.path.display());
            checked += 1;
        }
    }
    assert!(checked > 10, "only {checked} pinned uses found");
    for (file, document) in yaml_files(&files) {
        for step in steps(&document) {
            let Some(uses) = step.get("uses").and_then(Value::as_str) else {
                continue;
            };
            if uses.starts_with("./") {
                continue;
            }
            let action = uses.split('@').next().unwrap();
            let pin = pins.get(action).unwrap();
            for key in step
                .get("with")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, _)| k)
            {
                assert!(
                    pin.inputs.iter().any(|input| input == key),
                    "{}: {action} has no input `{key}` at {}",
                    file.path.display(),
                    pin.tag
                );
            }
        }
    }
}

#[test]
fn workflows_grant_nothing_at_the_top_and_least_privilege_per_job() {
    let (_, files) = generated();
    for (file, document) in yaml_files(&files)
        .into_iter()
        .filter(|(f, _)| is_workflow(f))
    {
        let path = file.path.display();
        assert_eq!(
            document["permissions"],
            serde_json::json!({}),
            "{path}: top-level permissions"
        );
        let every_job_has_one = document["jobs"]
            .as_object()
            .unwrap()
            .values()
            .all(|job| job.get("concurrency").is_some());
        assert!(
            document.get("concurrency").is_some() || every_job_has_one,
            "{path}: no concurrency group"
        );
        for (id, job) in document["jobs"].as_object().unwrap() {
            let permissions = job["permissions"]
                .as_object()
                .unwrap_or_else(|| panic!("{path}: job {id} has no permissions"));
            for (scope, access) in permissions {
                assert!(
                    access == "read" || access == "write",
                    "{path}: {id}.{scope} = {access}"
                );
            }
            assert!(
                job.get("timeout-minutes").is_some(),
                "{path}: job {id} has no timeout"
            );
        }
        for step in steps(&document) {
            if step["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/checkout@"))
            {
                assert_eq!(
                    step["with"]["persist-credentials"], "false",
                    "{path}: checkout keeps credentials"
                );
            }
        }
        // Only the jobs that assume a role may mint an OIDC token.
        for (id, job) in document["jobs"].as_object().unwrap() {
            let assumes_role = job["steps"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["uses"] == "./.github/actions/aws-role-chain");
            let has_id_token = job["permissions"].get("id-token").is_some();
            assert_eq!(
                assumes_role, has_id_token,
                "{path}: job {id} id-token permission"
            );
        }
    }
}

#[test]
fn migrations_run_once_at_a_time_in_a_protected_environment_and_only_for_their_paths() {
    let (config, files) = generated();
    for environment in config.environments.values() {
        let path = PathBuf::from(format!(
            ".github/workflows/db-migrate-{}.yml",
            environment.name
        ));
        let file = files.iter().find(|f| f.path == path).unwrap();
        let document: Value = serde_saphyr::from_str(&file.contents).unwrap();
        assert_eq!(
            document["on"]["push"]["branches"],
            serde_json::json!(["main"])
        );
        assert_eq!(
            document["on"]["push"]["paths"],
            serde_json::json!([format!("environments/{}/docker/**", environment.name)])
        );
        assert_eq!(document["concurrency"]["cancel-in-progress"], false);
        let job = &document["jobs"]["migrate"];
        assert_eq!(
            job["environment"],
            environment.settings.github.environment.to_string()
        );
        // Issue 9, finding 2: the protected role is assumed only from the default branch, so a
        // workflow_dispatch from another branch never reaches the environment.
        let condition = job["if"].as_str().unwrap_or_default();
        assert!(
            condition.starts_with(&format!(
                "github.ref == 'refs/heads/{}' && ",
                config.repo.github.default_branch
            )),
            "{condition}"
        );
        assert!(condition.contains("github.event_name == 'workflow_dispatch'"));
        // Issue 9, finding 7: only this environment's migrate external id reaches the job.
        let job_text = serde_json::to_string(job).unwrap();
        for other in config.environments.values() {
            let secret = format!(
                "secrets.{}",
                other.settings.github.external_id_secrets.migrate
            );
            assert_eq!(
                job_text.contains(&secret),
                other.name == environment.name,
                "{}: {secret}",
                path.display()
            );
        }
        for secret in ["plan", "backend", "deploy"] {
            assert!(
                !job_text.contains(&format!("{}_EXTERNAL_ID", secret.to_uppercase())),
                "{}: the migration job holds the {secret} external id",
                path.display()
            );
        }
    }
}

#[test]
fn comment_commands_are_honoured_only_from_members_and_forks_get_a_message() {
    let (_, files) = generated();
    let review = files
        .iter()
        .find(|f| f.path.ends_with("review.yml"))
        .unwrap();
    let document: Value = serde_saphyr::from_str(&review.contents).unwrap();
    let condition = document["jobs"]["review"]["if"].as_str().unwrap();
    assert!(condition.contains(r#"fromJSON('["OWNER", "MEMBER", "COLLABORATOR"]')"#));
    assert!(condition.contains("github.event.comment.author_association"));
    let types = &document["on"]["pull_request"]["types"];
    assert_eq!(
        types,
        &serde_json::json!(["opened", "reopened", "ready_for_review", "synchronize"])
    );
    assert!(
        review
            .contents
            .contains("::notice::Pull request from a fork")
    );
}

/// A copy of the repository's configuration and generated files in a temporary directory.
fn temp_repo() -> tempfile::TempDir {
    let root = support::repo_root();
    let temp = tempfile::tempdir().unwrap();
    for file in ["Cargo.toml", "rust-toolchain.toml"] {
        std::fs::copy(root.join(file), temp.path().join(file)).unwrap();
    }
    copy_tree(&root.join(".github"), &temp.path().join(".github"));
    copy_tree(
        &root.join("environments"),
        &temp.path().join("environments"),
    );
    temp
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() == "node_modules" || entry.file_name() == ".terraform" {
                continue;
            }
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn xtask(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn check_fails_on_an_edited_missing_or_extra_file_and_writes_nothing() {
    let repo = temp_repo();
    let clean = xtask(repo.path(), &["gen-workflows", "--check"]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stderr)
    );

    let plan = repo.path().join(".github/workflows/terraform-plan.yml");
    let edited = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("cancel-in-progress: true", "cancel-in-progress: false");
    std::fs::write(&plan, &edited).unwrap();
    std::fs::remove_file(
        repo.path()
            .join("environments/dev/generated/iam/plan.policy.json"),
    )
    .unwrap();
    // A file we generated once (it has our header) is extra; the team's own files are not ours.
    std::fs::write(
        repo.path().join(".github/workflows/stale-generated.yml"),
        format!("# {}.\nname: x\n", generate::HEADER),
    )
    .unwrap();
    let theirs = [
        (".github/workflows/hand-written.yml", "name: x\n"),
        (".github/CODEOWNERS", "* @example-org/platform\n"),
        (".github/dependabot.yml", "version: 2\n"),
    ];
    for (path, contents) in theirs {
        std::fs::write(repo.path().join(path), contents).unwrap();
    }

    let check = xtask(repo.path(), &["gen-workflows", "--check"]);
    assert_eq!(check.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(
        stderr.contains("stale: .github/workflows/terraform-plan.yml"),
        "{stderr}"
    );
    assert!(stderr.contains("-  cancel-in-progress: false"), "{stderr}");
    assert!(stderr.contains("+  cancel-in-progress: true"), "{stderr}");
    assert!(
        stderr.contains("missing: environments/dev/generated/iam/plan.policy.json"),
        "{stderr}"
    );
    assert!(
        stderr.contains("extra: .github/workflows/stale-generated.yml"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("hand-written") && !stderr.contains("CODEOWNERS"),
        "{stderr}"
    );
    // --check wrote nothing.
    assert_eq!(std::fs::read_to_string(&plan).unwrap(), edited);

    let fix = xtask(repo.path(), &["gen-workflows"]);
    assert!(fix.status.success());
    assert!(
        xtask(repo.path(), &["gen-workflows", "--check"])
            .status
            .success()
    );
    assert!(
        !repo
            .path()
            .join(".github/workflows/stale-generated.yml")
            .exists()
    );
    for (path, contents) in theirs {
        assert_eq!(
            std::fs::read_to_string(repo.path().join(path)).unwrap(),
            contents
        );
    }
}

#[test]
fn a_misspelt_configuration_key_names_the_file_the_key_and_the_line() {
    let repo = temp_repo();
    let env_file = repo.path().join("environments/dev/xtask.toml");
    let text = std::fs::read_to_string(&env_file).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("ecr_repository"))
        .unwrap()
        + 1;
    std::fs::write(&env_file, text.replace("ecr_repository", "ecr_repositroy")).unwrap();

    let output = xtask(repo.path(), &["gen-workflows", "--check"]);
    assert_eq!(output.status.code(), Some(2), "config errors exit 2");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("environments/dev/xtask.toml"), "{stderr}");
    assert!(stderr.contains(&format!("line {line}")), "{stderr}");
    assert!(
        stderr.contains("unknown field `ecr_repositroy`"),
        "{stderr}"
    );
}

#[test]
fn a_wrong_type_or_a_missing_value_is_reported_where_it_is() {
    let repo = temp_repo();
    let manifest = repo.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replace("token_budget = 32000", "token_budget = \"lots\""),
    )
    .unwrap();
    let output = xtask(repo.path(), &["doctor", "--json"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Cargo.toml")
            && stderr.contains("token_budget")
            && stderr.contains("line "),
        "{stderr}"
    );

    let env_file = repo.path().join("environments/dev/xtask.toml");
    std::fs::write(&manifest, text).unwrap();
    let env_text = std::fs::read_to_string(&env_file).unwrap();
    std::fs::write(
        &env_file,
        env_text.replace("account_id = \"123456789012\"\n", ""),
    )
    .unwrap();
    let output = xtask(repo.path(), &["doctor", "--json"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("missing field `account_id`") && stderr.contains("line "),
        "{stderr}"
    );
}

#[test]
fn an_unknown_environment_is_a_configuration_error() {
    let repo = temp_repo();
    let output = xtask(
        repo.path(),
        &["aws-profiles", "--env", "prod", "--purpose", "plan"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown environment `prod`"));
}

#[test]
fn aws_profiles_writes_the_plan_chain_with_the_external_id_from_the_environment() {
    let repo = temp_repo();
    let config_file = repo.path().join("aws-config");
    std::fs::write(&config_file, "[profile mine]\nregion = eu-west-1\n").unwrap();
    let github_output = repo.path().join("github-output");
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "aws-profiles",
            "--env",
            "dev",
            "--purpose",
            "plan",
            "--github-output",
        ])
        .arg("--config-file")
        .arg(&config_file)
        .env("DEV_PLAN_EXTERNAL_ID", "planted-external-id-4711")
        .env("GITHUB_OUTPUT", &github_output)
        .env("GITHUB_RUN_ID", "99")
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let written = std::fs::read_to_string(&config_file).unwrap();
    insta::assert_snapshot!(written);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stdout.contains("planted-external-id-4711"),
        "the external id reached the log"
    );
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&config_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let outputs = std::fs::read_to_string(&github_output).unwrap();
    assert_eq!(
        outputs,
        "entry-role-arn=arn:aws:iam::123456789012:role/gha-dev-pull-request\nregion=ap-northeast-1\nsession-name=gha-plan-dev-99\n"
    );

    let missing = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "aws-profiles",
            "--env",
            "dev",
            "--purpose",
            "migrate",
            "--config-file",
        ])
        .arg(&config_file)
        .env_remove("DEV_MIGRATE_EXTERNAL_ID")
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("DEV_MIGRATE_EXTERNAL_ID is not set")
    );
    assert_eq!(
        std::fs::read_to_string(&config_file).unwrap(),
        written,
        "nothing half-written"
    );
}

/// Why a job is privileged: every write permission, `id-token: write`, and every secret it names.
fn privileges(job: &Value) -> Vec<String> {
    let mut found: Vec<String> = job["permissions"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, access)| *access == "write")
        .map(|(scope, _)| format!("{scope}: write"))
        .collect();
    let text = serde_json::to_string(job).unwrap();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("secrets.") {
        let name: String = rest[start + "secrets.".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        found.push(format!("secrets.{name}"));
        rest = &rest[start + 1..];
    }
    found.sort();
    found.dedup();
    found
}

/// The refs a checkout may take where the xtask is built: the base commit of the pull request, or
/// (for events that are not pull requests) the commit the event names on the default branch.
const BASE_REFS: [&str; 2] = [
    "${{ github.event.pull_request.base.sha }}",
    "${{ github.event.pull_request.base.sha || github.sha }}",
];

/// The one sanctioned place where pull-request code runs beside an identity: `terraform plan` in
/// the plan job, which holds a read-only token, the OIDC token for the pull-request entry role and
/// the plan roles' external ids, nothing else.
fn is_the_sanctioned_plan(config: &Config, job: &Value, script: &str) -> bool {
    let plan_secrets: Vec<String> = config
        .environments
        .values()
        .map(|e| format!("secrets.{}", e.settings.github.external_id_secrets.plan))
        .collect();
    let privileges = privileges(job);
    let only_plan_identity = privileges
        .iter()
        .all(|p| p == "id-token: write" || plan_secrets.contains(p));
    let permissions = job["permissions"].as_object().unwrap();
    let read_token = permissions
        .iter()
        .all(|(scope, access)| scope == "id-token" || access == "read");
    let lines: Vec<&str> = script.lines().filter(|l| !l.trim().is_empty()).collect();
    only_plan_identity
        && read_token
        && lines.len() == 1
        && lines[0].starts_with("\"$GITHUB_WORKSPACE/target/debug/xtask\" plan ")
        && !lines[0].contains("--comment")
}

/// Finding 3 of issue 9: pull-request code (its `build.rs`, dependencies, `.cargo/config.toml`,
/// local actions) never runs in a job that holds a secret, an id-token or a write token. Such a job
/// builds the xtask from the base commit checked out at the workspace root, where local actions
/// are resolved too; the pull request's files are data in another directory, never built or run,
/// except by `terraform plan` in the plan job.
#[test]
fn no_pull_request_code_runs_beside_a_secret_an_id_token_or_a_write_token() {
    let (config, files) = generated();
    let mut violations = Vec::new();
    let mut privileged_jobs = 0;
    for (file, document) in yaml_files(&files)
        .into_iter()
        .filter(|(f, _)| is_workflow(f))
    {
        let path = file.path.display();
        let on_pull_requests = document["on"].get("pull_request").is_some()
            || document["on"].get("pull_request_target").is_some();
        for (id, job) in document["jobs"].as_object().unwrap() {
            let privileges = privileges(job);
            if privileges.is_empty() {
                continue;
            }
            privileged_jobs += 1;
            let steps = job["steps"].as_array().unwrap();
            let mut data_dirs: Vec<String> = Vec::new();
            for step in steps {
                if !step["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
                {
                    continue;
                }
                let dir = step["with"]["path"].as_str().unwrap_or(".");
                let reference = step["with"]["ref"].as_str();
                if dir == "." || dir.is_empty() {
                    let from_base = match reference {
                        Some(reference) => BASE_REFS.contains(&reference),
                        // The default ref of a pull_request event is the merge commit: PR code.
                        None => !on_pull_requests,
                    };
                    if !from_base {
                        violations.push(format!(
                            "{path}: job {id} ({privileges:?}) checks out {reference:?} at the workspace root, where the xtask and the local actions are built from"
                        ));
                    }
                } else {
                    data_dirs.push(dir.trim_end_matches('/').to_owned());
                }
            }
            let in_data_dir = |text: &str| {
                data_dirs
                    .iter()
                    .any(|dir| text == dir || text.starts_with(&format!("{dir}/")))
            };
            for step in steps {
                let name = step["name"].as_str().unwrap_or("?");
                if let Some(uses) = step["uses"].as_str()
                    && uses.starts_with("./")
                    && in_data_dir(uses.trim_start_matches("./"))
                {
                    violations.push(format!(
                        "{path}: job {id}: step {name:?} uses an action from the pull request's files"
                    ));
                }
                let Some(script) = step["run"].as_str() else {
                    continue;
                };
                let directory = step["working-directory"].as_str().unwrap_or(".");
                // Passing the directory as data (`--source pr-head`) is fine; entering it, or
                // pointing cargo at its manifest, builds the pull request's code.
                let enters_data = data_dirs.iter().any(|dir| {
                    [
                        format!("cd {dir}"),
                        format!("pushd {dir}"),
                        format!("--manifest-path {dir}"),
                        format!("--manifest-path={dir}"),
                        format!("-C {dir}"),
                        format!("./{dir}/"),
                    ]
                    .iter()
                    .any(|pattern| script.contains(pattern.as_str()))
                });
                if in_data_dir(directory) {
                    if !is_the_sanctioned_plan(&config, job, script) {
                        violations.push(format!(
                            "{path}: job {id} ({privileges:?}): step {name:?} runs in the pull request's files"
                        ));
                    }
                } else if enters_data {
                    violations.push(format!(
                        "{path}: job {id}: step {name:?} builds or runs the pull request's files"
                    ));
                }
            }
            // A cache that pull-request code could have written (its own scope is searched
            // first) is never restored where a secret is held.
            if on_pull_requests {
                for step in steps
                    .iter()
                    .filter(|s| s["uses"] == "./.github/actions/setup-xtask")
                {
                    let cache = step["with"]["cache"].as_str().unwrap_or("true");
                    let safe =
                        cache == "false" || cache == "${{ github.event_name != 'pull_request' }}";
                    let sanctioned = steps.iter().any(|s| {
                        s["run"]
                            .as_str()
                            .is_some_and(|script| is_the_sanctioned_plan(&config, job, script))
                    });
                    if !safe && !sanctioned {
                        violations.push(format!(
                            "{path}: job {id} ({privileges:?}) restores the cargo cache on a pull request"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        privileged_jobs >= 5,
        "only {privileged_jobs} privileged jobs"
    );
    assert!(
        violations.is_empty(),
        "pull-request code beside a secret, an id-token or a write token:\n{}",
        violations.join("\n")
    );
}

/// Issue 9, finding 7: with two environments, each migration job holds its own environment's
/// migrate external id only (it used to get every environment's).
#[test]
fn each_migration_job_holds_only_its_own_environments_secret() {
    let repo = temp_repo();
    let created = xtask(repo.path(), &["new-env", "prod"]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let generated = xtask(repo.path(), &["gen-workflows"]);
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );
    let config = Config::load(repo.path()).unwrap();
    assert_eq!(config.environments.len(), 2);
    for environment in config.environments.values() {
        let file = repo.path().join(format!(
            ".github/workflows/db-migrate-{}.yml",
            environment.name
        ));
        let text = std::fs::read_to_string(&file).unwrap();
        for other in config.environments.values() {
            let secret = format!(
                "secrets.{}",
                other.settings.github.external_id_secrets.migrate
            );
            assert_eq!(
                text.contains(&secret),
                other.name == environment.name,
                "{}: {secret}",
                file.display()
            );
        }
    }
}

/// Issue 9, finding 7: one AI review per push, and comments that are not commands cancel nothing.
#[test]
fn each_push_gets_one_review_and_unrelated_comments_cancel_nothing() {
    let (_, files) = generated();
    let document = |name: &str| -> Value {
        let file = files.iter().find(|f| f.path.ends_with(name)).unwrap();
        serde_saphyr::from_str(&file.contents).unwrap()
    };
    let plan = document("terraform-plan.yml");
    let review = document("review.yml");
    // The plan workflow runs on every pull request (with or without Terraform changes) and
    // its review job is the push's `review`.
    assert!(plan["on"]["pull_request"].get("paths").is_none());
    let plan_review = serde_json::to_string(&plan["jobs"]["review"]).unwrap();
    assert!(
        plan_review.contains("cargo xtask review review --pr"),
        "{plan_review}"
    );
    // review.yml on a push: describe and improve only; `review` and `all` only on command.
    let job = &review["jobs"]["review"];
    let script = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Review the pull request")
        .unwrap()["run"]
        .as_str()
        .unwrap();
    let push_branch = script.split(";;").next().unwrap();
    assert!(push_branch.contains("push)"), "{script}");
    // `/review full` reviews the whole pull request; `/ask`, on the pull request or as a reply
    // on a diff line, names the comment (read from the API) and whether it is on a line.
    assert!(script.contains("review review --full"), "{script}");
    assert!(script.contains("review ask --pr \"$PR_NUMBER\" --comment \"$COMMENT_ID\" --on-line"));
    assert!(review["on"]["pull_request_review_comment"]["types"][0] == "created");
    let condition = job["if"].as_str().unwrap();
    assert!(
        condition.contains("github.event_name == 'pull_request_review_comment' && contains(fromJSON('[\"OWNER\", \"MEMBER\", \"COLLABORATOR\"]'), github.event.comment.author_association) && startsWith(github.event.comment.body, '/ask')"),
        "{condition}"
    );
    assert!(push_branch.contains("review describe") && push_branch.contains("review improve"));
    assert!(
        !push_branch.contains("review review") && !script.contains(" all"),
        "{script}"
    );
    // Concurrency on the job (applied after its `if`), never on the workflow; a comment command
    // has its own group.
    assert!(review.get("concurrency").is_none());
    let group = job["concurrency"]["group"].as_str().unwrap();
    assert!(
        group.contains("github.event.comment.id || 'push'"),
        "{group}"
    );
}

/// The committed manifest with `apply.order` (TOML list syntax) and `drift.schedule` replaced.
fn with_apply_and_drift(manifest: &str, order: &str, schedule: &str) -> String {
    const ORDER: &str = "order = [\"dev\"]\n";
    const SCHEDULE: &str = "schedule = \"23 4 * * *\"\n";
    assert!(
        manifest.contains(ORDER) && manifest.contains(SCHEDULE),
        "{manifest}"
    );
    manifest
        .replace(ORDER, &format!("order = {order}\n"))
        .replace(SCHEDULE, &format!("schedule = \"{schedule}\"\n"))
}

/// dev, stg and prod (copies of dev), applied in the order `order` gives (TOML list syntax), with
/// the drift check on `schedule`; the generated files.
fn three_environments(
    order: &str,
    schedule: &str,
) -> (tempfile::TempDir, Config, Vec<GeneratedFile>) {
    let repo = configured_repo(
        COMMITTED_PROVIDER,
        &[("stg", |text| text), ("prod", |text| text)],
    );
    let manifest = repo.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, with_apply_and_drift(&text, order, schedule)).unwrap();
    let config = Config::load(repo.path()).unwrap();
    let files = generate::generate_all(&config).unwrap();
    (repo, config, files)
}

fn workflow(files: &[GeneratedFile], name: &str) -> Value {
    let path = PathBuf::from(format!(".github/workflows/{name}"));
    let file = files.iter().find(|f| f.path == path).unwrap();
    serde_saphyr::from_str(&file.contents).unwrap()
}

/// The text of every `run:` script of a job.
fn scripts(job: &Value) -> String {
    job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|step| step["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn apply_jobs_follow_the_configured_order_and_never_run_after_a_failure() {
    let (_repo, config, files) = three_environments("[\"prod\", \"dev\"]", "23 4 * * *");
    let document = workflow(&files, "terraform-apply.yml");
    let jobs = document["jobs"].as_object().unwrap();
    // Listed first as configured, then the rest in name order.
    let ids: Vec<&str> = jobs.keys().map(String::as_str).collect();
    assert_eq!(ids, ["affected", "apply-prod", "apply-dev", "apply-stg"]);
    assert_eq!(
        document["on"]["workflow_dispatch"]["inputs"]["environment"]["options"],
        serde_json::json!(["prod", "dev", "stg"])
    );
    assert_eq!(
        document["on"]["push"]["branches"],
        serde_json::json!(["main"])
    );
    assert_eq!(
        document["on"]["push"]["paths"],
        serde_json::json!(["environments/**", "modules/**"])
    );
    let mut before: Vec<String> = vec!["affected".to_owned()];
    for (id, job) in jobs.iter().skip(1) {
        let name = id.strip_prefix("apply-").unwrap();
        let environment = config.environment(name).unwrap();
        // Every earlier job, so that a failure two environments back still stops this one.
        assert_eq!(job["needs"], serde_json::json!(before), "{id}");
        let condition = job["if"].as_str().unwrap();
        for part in [
            "!cancelled()",
            "github.ref == 'refs/heads/main'",
            "needs.affected.result == 'success'",
            "!contains(needs.*.result, 'failure')",
            "!contains(needs.*.result, 'cancelled')",
            &format!("contains(fromJSON(needs.affected.outputs.environments), '{name}')"),
        ] {
            assert!(condition.contains(part), "{id}: {part} not in {condition}");
        }
        assert_eq!(job["environment"], format!("{name}-apply"));
        assert_eq!(
            job["environment"],
            environment.settings.github.apply_environment().to_string()
        );
        assert_eq!(
            job["concurrency"],
            serde_json::json!({"group": format!("terraform-apply-{name}"), "cancel-in-progress": false})
        );
        let permissions: Vec<(&String, &Value)> =
            job["permissions"].as_object().unwrap().iter().collect();
        assert_eq!(
            permissions
                .iter()
                .map(|(scope, access)| format!("{scope}: {}", access.as_str().unwrap()))
                .collect::<Vec<_>>(),
            ["contents: read", "id-token: write", "pull-requests: write"],
            "{id}"
        );
        let script = scripts(job);
        assert!(
            script.contains(&format!(
                "cargo xtask apply --env {name} --summary-json \"$RUNNER_TEMP/apply-summary-{name}.json\" \"${{accept[@]}}\""
            )),
            "{script}"
        );
        assert!(!script.contains("${{"), "{script}");
        let chain = job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["uses"] == "./.github/actions/aws-role-chain")
            .unwrap();
        assert_eq!(chain["with"]["purpose"], "deploy");
        assert_eq!(chain["with"]["environment"], name);
        // Only this environment's backend and deploy external ids.
        let text = serde_json::to_string(job).unwrap();
        for other in config.environments.values() {
            let ids = &other.settings.github.external_id_secrets;
            for secret in [&ids.backend, &ids.deploy] {
                assert_eq!(
                    text.contains(&format!("secrets.{secret} ")),
                    other.name == name,
                    "{id}: {secret}"
                );
            }
            for secret in [&ids.plan, &ids.migrate] {
                assert!(
                    !text.contains(&format!("secrets.{secret} ")),
                    "{id}: {secret}"
                );
            }
        }
        before.push(id.clone());
    }
    // The digest of a dispatch reaches the script through env only.
    let apply = &jobs["apply-dev"];
    let step = apply["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("cargo xtask apply"))
        })
        .unwrap();
    assert_eq!(step["env"]["ACCEPT"], "${{ inputs.accept }}");
    assert_eq!(step["env"]["GITHUB_TOKEN"], "${{ github.token }}");
    // The affected job: the pushed range, or the dispatched environment alone.
    let affected = &jobs["affected"];
    let script = scripts(affected);
    assert!(
        script.contains("cargo xtask affected --base \"$BEFORE\""),
        "{script}"
    );
    assert!(
        script.contains("--arg environment \"$DISPATCHED\""),
        "{script}"
    );
    assert_eq!(
        affected["steps"][2]["env"]["BEFORE"],
        "${{ github.event.before }}"
    );
    assert!(affected["permissions"].get("id-token").is_none());
}

#[test]
fn drift_jobs_run_on_the_configured_schedule_with_only_their_plan_role() {
    let (_repo, config, files) = three_environments("[]", "0 6 * * 1-5");
    let document = workflow(&files, "terraform-drift.yml");
    assert_eq!(
        document["on"]["schedule"],
        serde_json::json!([{"cron": "0 6 * * 1-5"}])
    );
    assert_eq!(
        document["on"]["workflow_dispatch"]["inputs"]["environment"]["options"],
        serde_json::json!(["all", "dev", "prod", "stg"])
    );
    let jobs = document["jobs"].as_object().unwrap();
    assert_eq!(
        jobs.keys().map(String::as_str).collect::<Vec<_>>(),
        ["drift-dev", "drift-prod", "drift-stg"]
    );
    for (id, job) in jobs {
        let name = id.strip_prefix("drift-").unwrap();
        let condition = job["if"].as_str().unwrap();
        assert!(
            condition.starts_with("github.ref == 'refs/heads/main' && "),
            "{condition}"
        );
        assert!(
            condition.contains(&format!("inputs.environment == '{name}'")),
            "{condition}"
        );
        assert!(job.get("environment").is_none(), "{id}");
        assert_eq!(
            job["permissions"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(scope, access)| format!("{scope}: {}", access.as_str().unwrap()))
                .collect::<Vec<_>>(),
            ["contents: read", "id-token: write", "issues: write"]
        );
        assert_eq!(job["concurrency"]["cancel-in-progress"], false);
        assert_eq!(scripts(job), format!("cargo xtask drift --env {name}\n"));
        let chain = job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["uses"] == "./.github/actions/aws-role-chain")
            .unwrap();
        assert_eq!(chain["with"]["purpose"], "plan");
        let text = serde_json::to_string(job).unwrap();
        for other in config.environments.values() {
            let ids = &other.settings.github.external_id_secrets;
            assert_eq!(
                text.contains(&format!("secrets.{} ", ids.plan)),
                other.name == name,
                "{id}"
            );
            for secret in [&ids.backend, &ids.deploy, &ids.migrate] {
                assert!(
                    !text.contains(&format!("secrets.{secret} ")),
                    "{id}: {secret}"
                );
            }
        }
    }
}

#[test]
#[ignore = "needs zizmor and GitHub's workflow parser: `cargo xtask ci` installs them (XTASK_CI_TOOLS)"]
fn apply_and_drift_workflows_of_three_environments_are_zizmor_clean_and_parse() {
    let tools = support::ci_tools_dir();
    let zizmor = tools.join("venv/bin/zizmor");
    let bundle = tools.join("workflow-parser/workflow-validator.cjs");
    if !zizmor.is_file() || !bundle.is_file() || support::which("node").is_none() {
        support::missing("zizmor and the workflow validator bundle (target/ci)");
        return;
    }
    let (repo, _, files) = three_environments("[\"dev\", \"stg\"]", "0 6 * * 1-5");
    for file in &files {
        let path = repo.path().join(&file.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.contents).unwrap();
    }
    // The auditor persona flags secrets outside an environment; the generated zizmor.yml names
    // the drift lines of every environment with its reason.
    for persona in ["regular", "auditor"] {
        let output = Command::new(&zizmor)
            .args([
                "--offline",
                "--persona",
                persona,
                "--format",
                "plain",
                ".github",
            ])
            .current_dir(repo.path())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(output.status.success(), "{persona}: {text}");
        assert!(text.contains("No findings"), "{persona}: {text}");
    }
    let output = Command::new("node")
        .arg(&bundle)
        .args([
            ".github/workflows/terraform-apply.yml",
            ".github/workflows/terraform-drift.yml",
        ])
        .current_dir(repo.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("2 of 2 files valid"), "{text}");
}
