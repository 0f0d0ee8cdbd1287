//! `cargo xtask new-env`: the embedded scaffold is environments/dev, and a new environment created
//! from it in a copy of the repository passes the same consistency checks.

use crate::consistency;
use crate::support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use support::repo_root;
use xtask::config::Config;
use xtask::failure::FailureKind;
use xtask::generate;
use xtask::scaffold::{
    NewEnvironment, ScaffoldValues, create_environment, is_environment_specific, render,
};

fn is_scaffold_file(relative: &Path) -> bool {
    relative == Path::new("xtask.toml") || !is_environment_specific(relative)
}

fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let relative = path.strip_prefix(root).unwrap().to_path_buf();
                if is_scaffold_file(&relative) {
                    out.insert(relative, std::fs::read(&path).unwrap());
                }
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn the_scaffold_rendered_for_dev_is_environments_dev() {
    let config = Config::load(&repo_root()).unwrap();
    let dev = config.environment("dev").unwrap();
    let values = ScaffoldValues {
        name: "dev".to_owned(),
        account_id: dev.account_id().to_owned(),
        region: dev.region().to_owned(),
        github_owner: config.repo.github.owner.to_string(),
        subnets: dev.settings.migration.subnets.clone(),
    };
    let rendered: BTreeMap<PathBuf, Vec<u8>> = render(&values)
        .unwrap()
        .into_iter()
        .map(|f| (f.path, f.contents))
        .collect();
    let actual = files_under(&repo_root().join("environments/dev"));
    let rendered_paths: Vec<&PathBuf> = rendered.keys().collect();
    let actual_paths: Vec<&PathBuf> = actual.keys().collect();
    assert_eq!(
        rendered_paths, actual_paths,
        "the scaffold rendered for dev does not give environments/dev's files"
    );
    for (path, contents) in &rendered {
        assert!(
            contents == &actual[path],
            "the scaffold's {0} differs from environments/dev/{0} (for xtask.toml: templates/scaffold/xtask.toml.tmpl)",
            path.display()
        );
    }
}

/// A repository copy with what the configuration and the generator need: the workspace manifest,
/// the toolchain file and environments/dev without its generated files.
fn repo_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for file in ["Cargo.toml", "rust-toolchain.toml"] {
        std::fs::copy(repo_root().join(file), dir.path().join(file)).unwrap();
    }
    let dev = repo_root().join("environments/dev");
    for (relative, contents) in files_under(&dev) {
        let target = dir.path().join("environments/dev").join(relative);
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(target, contents).unwrap();
    }
    dir
}

fn kind(error: &anyhow::Error) -> Option<FailureKind> {
    xtask::failure::kind_of(error)
}

#[test]
fn new_env_creates_stg_that_loads_and_passes_the_consistency_checks() {
    let repo = repo_copy();
    let request = NewEnvironment {
        name: "stg".to_owned(),
        account_id: None,
        region: None,
    };
    let created = create_environment(repo.path(), &request).unwrap();
    assert_eq!(created, repo.path().join("environments/stg"));

    let config = Config::load(repo.path()).unwrap();
    assert_eq!(
        config.environments.keys().collect::<Vec<_>>(),
        ["dev", "stg"]
    );
    let stg = config.environment("stg").unwrap();
    let dev = config.environment("dev").unwrap();
    assert_eq!(stg.account_id(), dev.account_id());
    assert_eq!(
        stg.settings.roles.deploy.to_string(),
        "gha-stg-terraform-deploy"
    );
    assert_eq!(
        stg.settings.terraform.state_bucket.to_string(),
        "example-org-tfstate-stg"
    );
    assert_eq!(
        stg.settings.github.external_id_secrets.migrate.to_string(),
        "STG_MIGRATE_EXTERNAL_ID"
    );
    assert_eq!(
        stg.settings.migration.subnets,
        dev.settings.migration.subnets
    );
    let script = std::fs::metadata(created.join("docker/migrate.sh")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&script.permissions()) & 0o111,
        0o111
    );

    // gen-workflows covers the new environment: its policies, state machine, locals and backend
    // settings, which the scaffold's Terraform must then line up with.
    let files = generate::generate_all(&config).unwrap();
    assert!(
        files
            .iter()
            .any(|f| f.path == Path::new("environments/stg/generated/sfn/migrate.asl.json"))
    );
    generate::write(repo.path(), &files, &generate::generated_locations(&config)).unwrap();
    let locals = std::fs::read_to_string(created.join(consistency::GENERATED_LOCALS_FILE)).unwrap();
    assert!(locals.contains("\"gha-stg-terraform-deploy\""), "{locals}");
    let dev_report = consistency::check_environment(&repo.path().join("environments/dev"));
    assert!(
        dev_report.problems.is_empty(),
        "{}",
        dev_report.problems.join("\n")
    );
    let report = consistency::check_environment(&created);
    assert!(report.problems.is_empty(), "{}", report.problems.join("\n"));
    assert!(report.modules.contains(&created.join("bootstrap")));
}

#[test]
fn new_env_takes_account_and_region_and_drops_subnets_of_another_account() {
    let repo = repo_copy();
    let request = NewEnvironment {
        name: "prod-1".to_owned(),
        account_id: Some("210987654321".to_owned()),
        region: Some("us-west-2".to_owned()),
    };
    create_environment(repo.path(), &request).unwrap();
    let config = Config::load(repo.path()).unwrap();
    let prod = config.environment("prod-1").unwrap();
    assert_eq!(prod.account_id(), "210987654321");
    assert_eq!(prod.region(), "us-west-2");
    assert!(prod.settings.migration.subnets.is_empty());
    assert_eq!(
        prod.settings.github.external_id_secrets.plan.to_string(),
        "PROD_1_PLAN_EXTERNAL_ID"
    );
}

#[test]
fn new_env_refuses_existing_directories_and_invalid_input() {
    let repo = repo_copy();
    let dev_before = files_under(&repo.path().join("environments/dev"));
    let refused = create_environment(
        repo.path(),
        &NewEnvironment {
            name: "dev".to_owned(),
            account_id: None,
            region: None,
        },
    )
    .unwrap_err();
    assert_eq!(kind(&refused), Some(FailureKind::Config));
    assert!(
        format!("{refused:#}").contains("already exists"),
        "{refused:#}"
    );
    assert_eq!(
        files_under(&repo.path().join("environments/dev")),
        dev_before
    );

    for (name, account, region, expected) in [
        ("Stg", None, None, "invalid environment name"),
        ("stg_", None, None, "invalid environment name"),
        ("stg", Some("12345"), None, "--account"),
        ("stg", None, Some("tokyo"), "--region"),
    ] {
        let request = NewEnvironment {
            name: name.to_owned(),
            account_id: account.map(str::to_owned),
            region: region.map(str::to_owned),
        };
        let error = create_environment(repo.path(), &request).unwrap_err();
        assert_eq!(kind(&error), Some(FailureKind::Config), "{error:#}");
        assert!(format!("{error:#}").contains(expected), "{error:#}");
        assert!(!repo.path().join("environments").join(name).exists());
    }
    let leftovers: Vec<_> = std::fs::read_dir(repo.path().join("environments"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, ["dev"]);
}

#[test]
fn the_binary_creates_an_environment_from_any_checkout() {
    let repo = repo_copy();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["new-env", "qa"])
        .current_dir(repo.path().join("environments"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Created environments/qa/"));
    assert!(repo.path().join("environments/qa/iam.tf").is_file());

    let again = std::process::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["new-env", "qa"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing environment is a configuration error"
    );
}
