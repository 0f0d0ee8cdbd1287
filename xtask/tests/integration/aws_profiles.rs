//! `cargo xtask aws-profiles` end to end: the real binary edits a user's AWS config file. Only our
//! sections may change, byte for byte elsewhere, through a symlink; a bad external id is refused
//! before anything is written.

use crate::support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MIGRATE_ID: &str = "ext-migrate-0f3c9a7d";

struct Repo {
    dir: tempfile::TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        let repo = support::repo_root();
        std::fs::create_dir_all(root.join("environments/dev")).unwrap();
        std::fs::copy(repo.join("Cargo.toml"), root.join("Cargo.toml")).unwrap();
        std::fs::copy(
            repo.join("environments/dev/xtask.toml"),
            root.join("environments/dev/xtask.toml"),
        )
        .unwrap();
        Repo { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("aws-config")
    }

    fn run(&self, config: &Path, external_id: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["aws-profiles", "--env", "dev", "--purpose", "migrate"])
            .arg("--config-file")
            .arg(config)
            .current_dir(self.dir.path().join("repo"))
            .env_remove("AWS_CONFIG_FILE")
            .env_remove("GITHUB_OUTPUT")
            .env("GITHUB_RUN_ID", "42")
            .env("DEV_MIGRATE_EXTERNAL_ID", external_id)
            .output()
            .unwrap()
    }
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Our section as the tool writes it for `MIGRATE_ID`, with `\n` line ends.
fn ours(external_id: &str) -> String {
    format!(
        "[profile dev-db-migrate]\nrole_arn = arn:aws:iam::123456789012:role/gha-dev-db-migrate\nexternal_id = {external_id}\ncredential_source = Environment\nrole_session_name = gha-migrate-dev-42\nregion = ap-northeast-1\n"
    )
}

#[test]
fn an_external_id_with_a_control_character_or_empty_is_refused_before_writing() {
    let repo = Repo::new();
    let original = "[default]\nregion = us-east-1\n";
    // (A NUL cannot reach a process through its environment; the unit test covers it.)
    for bad in [
        "",
        "ext\n[profile evil]\ncredential_process = /bin/sh -c id",
        "ext\rcredential_process = x",
        "ext\tid",
        "ext\u{7f}id",
        "ext\u{85}id",
    ] {
        std::fs::write(repo.config(), original).unwrap();
        let output = repo.run(&repo.config(), bad);
        assert_eq!(output.status.code(), Some(3), "{bad:?}: {}", text(&output));
        assert!(
            text(&output).contains("DEV_MIGRATE_EXTERNAL_ID"),
            "{}",
            text(&output)
        );
        assert_eq!(std::fs::read_to_string(repo.config()).unwrap(), original);
    }
}

#[test]
fn only_our_section_changes_byte_for_byte_elsewhere() {
    let repo = Repo::new();
    let cases = [
        // A header with a trailing comment after ours is a profile of the user's.
        (
            "[profile dev-db-migrate]\nrole_arn = old\n[profile prod-admin] # break-glass\nrole_arn = admin\n",
            format!(
                "{}[profile prod-admin] # break-glass\nrole_arn = admin\n",
                ours(MIGRATE_ID)
            ),
        ),
        // Blank lines kept as they were, no final newline kept missing.
        (
            "[default]\nregion = us-east-1\n\n\n[profile dev-db-migrate]\nrole_arn = old\n\n[profile sso]\nsso_start_url = https://x",
            format!(
                "[default]\nregion = us-east-1\n\n\n{}\n[profile sso]\nsso_start_url = https://x",
                ours(MIGRATE_ID)
            ),
        ),
        // Spacing variants the AWS CLI accepts name the same profile.
        (
            "[ profile   dev-db-migrate ]\nrole_arn = old\n[default]\nregion = x\n",
            format!("{}[default]\nregion = x\n", ours(MIGRATE_ID)),
        ),
        (
            "[profile\tdev-db-migrate]   ; ours, from before\nrole_arn = old\n",
            ours(MIGRATE_ID),
        ),
        // Not ours: a section without `profile ` and a longer name.
        (
            "[dev-db-migrate]\nx = 1\n[profile dev-db-migrate-old]\ny = 2\n",
            format!(
                "[dev-db-migrate]\nx = 1\n[profile dev-db-migrate-old]\ny = 2\n\n{}",
                ours(MIGRATE_ID)
            ),
        ),
        // A file without a final newline gets ours appended after a line break of its own.
        (
            "[default]\nregion = x",
            format!("[default]\nregion = x\n\n{}", ours(MIGRATE_ID)),
        ),
        ("", ours(MIGRATE_ID)),
    ];
    for (existing, expected) in cases {
        std::fs::write(repo.config(), existing).unwrap();
        let output = repo.run(&repo.config(), MIGRATE_ID);
        assert!(output.status.success(), "{}", text(&output));
        let written = std::fs::read_to_string(repo.config()).unwrap();
        assert_eq!(written, expected, "from {existing:?}");
        // A second run changes nothing.
        let output = repo.run(&repo.config(), MIGRATE_ID);
        assert!(output.status.success(), "{}", text(&output));
        assert_eq!(std::fs::read_to_string(repo.config()).unwrap(), expected);
    }
}

#[test]
fn a_crlf_file_keeps_its_line_ends_and_ours_uses_them() {
    let repo = Repo::new();
    let existing = "[default]\r\nregion = us-east-1\r\n\r\n[profile dev-db-migrate]\r\nrole_arn = old\r\n\r\n[profile sso] # mine\r\nsso_start_url = https://x\r\n";
    std::fs::write(repo.config(), existing).unwrap();
    let output = repo.run(&repo.config(), MIGRATE_ID);
    assert!(output.status.success(), "{}", text(&output));
    let expected = format!(
        "[default]\r\nregion = us-east-1\r\n\r\n{}\r\n[profile sso] # mine\r\nsso_start_url = https://x\r\n",
        ours(MIGRATE_ID).replace('\n', "\r\n")
    );
    assert_eq!(std::fs::read_to_string(repo.config()).unwrap(), expected);
}

#[test]
fn a_symlinked_config_is_written_through_the_link() {
    use std::os::unix::fs::PermissionsExt as _;
    let repo = Repo::new();
    let dotfiles = repo.dir.path().join("dotfiles/aws");
    std::fs::create_dir_all(&dotfiles).unwrap();
    let target = dotfiles.join("config");
    std::fs::write(&target, "[default]\nregion = x\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    let link = repo.dir.path().join("aws-config");
    // A relative link, as dotfile managers make them.
    std::os::unix::fs::symlink("dotfiles/aws/config", &link).unwrap();

    let output = repo.run(&link, MIGRATE_ID);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced"
    );
    assert_eq!(
        std::fs::read_to_string(&target).unwrap(),
        format!("[default]\nregion = x\n\n{}", ours(MIGRATE_ID))
    );
    let mode = std::fs::metadata(&target).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let leftovers: Vec<_> = std::fs::read_dir(&dotfiles)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}
