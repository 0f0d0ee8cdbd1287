//! `cargo xtask affected` in a real git repository: environment files and transitive local
//! module calls.

use crate::support;

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn affected(dir: &Path, base: &str) -> (Option<i32>, String) {
    affected_with_token(dir, base, None)
}

fn affected_with_token(dir: &Path, base: &str, token: Option<&str>) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
    command.env_remove("GITHUB_TOKEN");
    if let Some(token) = token {
        command.env("GITHUB_TOKEN", token);
    }
    let output = command
        .args(["affected", "--base", base])
        .current_dir(dir)
        .output()
        .unwrap();
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

#[test]
fn environments_and_transitive_modules() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let manifest = std::fs::read_to_string(support::repo_root().join("Cargo.toml")).unwrap();
    let metadata = &manifest[manifest.find("[workspace.metadata.xtask").unwrap()..];
    write(
        dir,
        "Cargo.toml",
        &format!("[workspace]\nmembers = []\n\n{metadata}"),
    );
    let env_config =
        std::fs::read_to_string(support::repo_root().join("environments/dev/xtask.toml")).unwrap();
    write(dir, "environments/dev/xtask.toml", &env_config);
    // Its own state, roles and resources: environments must not share them.
    let prod_config = env_config.replace("dev", "prod").replace("DEV_", "PROD_");
    write(dir, "environments/prod/xtask.toml", &prod_config);
    write(
        dir,
        "environments/dev/main.tf",
        "module \"network\" {\n  source = \"../../modules/network\"\n}\n",
    );
    write(
        dir,
        "environments/prod/main.tf",
        "resource \"terraform_data\" \"a\" {}\n",
    );
    write(
        dir,
        "modules/network/main.tf",
        "module \"base\" {\n  source = \"../base\"\n}\nmodule \"vpc\" {\n  source = \"terraform-aws-modules/vpc/aws\"\n}\n",
    );
    write(dir, "modules/base/main.tf", "locals { a = 1 }\n");
    write(dir, "modules/unused/main.tf", "locals { a = 1 }\n");
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "base"]);
    git(dir, &["checkout", "-qb", "feature"]);

    write(dir, "modules/base/main.tf", "locals { a = 2 }\n");
    git(dir, &["commit", "-qam", "change base"]);
    assert_eq!(affected(dir, "main"), (Some(0), "[\"dev\"]\n".to_owned()));

    write(dir, "modules/unused/main.tf", "locals { a = 3 }\n");
    write(dir, "README.md", "docs\n");
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "unrelated"]);
    assert_eq!(affected(dir, "main"), (Some(0), "[\"dev\"]\n".to_owned()));

    write(
        dir,
        "environments/prod/main.tf",
        "resource \"terraform_data\" \"b\" {}\n",
    );
    git(dir, &["commit", "-qam", "prod"]);
    assert_eq!(
        affected(dir, "main"),
        (Some(0), "[\"dev\",\"prod\"]\n".to_owned())
    );
    // Nothing changed since HEAD itself.
    assert_eq!(affected(dir, "HEAD"), (Some(0), "[]\n".to_owned()));

    let (code, message) = affected(dir, "no-such-ref");
    assert_eq!(code, Some(2), "{message}");
    assert!(message.contains("fetch-depth: 0"), "{message}");

    // A job secret pasted as the base reaches neither the command line nor git's stderr in the
    // error.
    let token = "ghp_PlantedTokenValue0123456789abcdefABCD";
    let (code, message) = affected_with_token(dir, token, Some(token));
    assert_eq!(code, Some(2), "{message}");
    assert!(
        message.contains("`git diff --name-only --no-renames [REDACTED:job-secret]...HEAD` failed"),
        "{message}"
    );
    assert!(!message.contains(token), "{message}");
}
