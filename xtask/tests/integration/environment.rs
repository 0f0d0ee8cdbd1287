//! environments/*: the migrations on a real PostgreSQL, migrate.sh, the Prisma schema, the
//! notifier's own tests, `terraform fmt` and the static consistency of the Terraform.

use crate::consistency;
use crate::support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Postgres, missing, repo_root, which};

fn dev_dir() -> PathBuf {
    repo_root().join("environments/dev")
}

fn migrations_dir(env_dir: &Path) -> PathBuf {
    env_dir.join("docker/app/prisma/migrations")
}

/// The migration directories in the order Prisma applies them (by name).
fn migration_dirs(migrations: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(migrations)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// Applies each migration in its own transaction, as `prisma migrate deploy` does, stopping at the
/// first failure.
fn apply_migrations(pg: &Postgres, database: &str, dirs: &[PathBuf]) -> Result<(), String> {
    for dir in dirs {
        let sql = dir.join("migration.sql");
        pg.psql(database, &["-1", "-f", &sql.to_string_lossy()])
            .map_err(|error| format!("{}: {error}", dir.display()))?;
    }
    Ok(())
}

fn columns(pg: &Postgres, database: &str, table: &str) -> Vec<String> {
    let query = format!(
        "SELECT column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY column_name"
    );
    pg.psql(database, &["-tA", "-c", &query])
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn migrations_are_named_and_locked_for_postgresql() {
    let migrations = migrations_dir(&dev_dir());
    let dirs = migration_dirs(&migrations);
    assert!(dirs.len() >= 2, "at least two migrations: {dirs:?}");
    let name = regex::Regex::new(r"^\d{14}_[a-z0-9_]+$").unwrap();
    for dir in &dirs {
        let file_name = dir.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.is_match(&file_name), "{file_name}: <timestamp>_<name>");
        assert!(dir.join("migration.sql").is_file(), "{}", dir.display());
    }
    let lock = std::fs::read_to_string(migrations.join("migration_lock.toml")).unwrap();
    let lock: toml::Table = toml::from_str(&lock).unwrap();
    assert_eq!(lock["provider"].as_str(), Some("postgresql"));
    assert!(
        !dev_dir().join("docker/app/.env").exists()
            && !dev_dir().join("docker/app/prisma/.env").exists(),
        "the database URL comes from Secrets Manager, never from a committed .env"
    );
}

#[test]
#[ignore = "needs PostgreSQL: `cargo xtask ci` installs it and runs this"]
fn migrations_apply_in_order_and_the_second_alters_the_first() {
    let Some(pg) = Postgres::start() else { return };
    pg.create_database("app");
    let dirs = migration_dirs(&migrations_dir(&dev_dir()));

    // A row written under the first migration survives the second one.
    apply_migrations(&pg, "app", &dirs[..1]).unwrap();
    pg.psql(
        "app",
        &[
            "-c",
            "INSERT INTO accounts (email, name) VALUES ('ada@example.com', 'Ada')",
        ],
    )
    .unwrap();
    apply_migrations(&pg, "app", &dirs[1..]).unwrap();

    assert_eq!(
        columns(&pg, "app", "accounts"),
        [
            "created_at timestamp with time zone NO",
            "display_name character varying NO",
            "email character varying NO",
            "id bigint NO",
            "status USER-DEFINED NO",
            "updated_at timestamp with time zone NO",
        ]
    );
    assert_eq!(
        columns(&pg, "app", "projects"),
        [
            "account_id bigint NO",
            "archived boolean NO",
            "created_at timestamp with time zone NO",
            "id bigint NO",
            "name character varying NO",
        ]
    );
    let ada = pg
        .psql(
            "app",
            &[
                "-tA",
                "-c",
                "SELECT display_name || ' ' || status FROM accounts",
            ],
        )
        .unwrap();
    assert_eq!(ada.trim(), "Ada ACTIVE");
    let statuses = pg
        .psql(
            "app",
            &[
                "-tA",
                "-c",
                "SELECT unnest(enum_range(NULL::\"AccountStatus\"))",
            ],
        )
        .unwrap();
    assert_eq!(
        statuses.split_whitespace().collect::<Vec<_>>(),
        ["ACTIVE", "SUSPENDED", "CLOSED"]
    );

    // The constraints hold: a project needs an existing account, and names are unique per account.
    let orphan = pg.psql(
        "app",
        &[
            "-c",
            "INSERT INTO projects (account_id, name) VALUES (999, 'x')",
        ],
    );
    assert!(orphan.unwrap_err().contains("projects_account_id_fkey"));
    pg.psql(
        "app",
        &[
            "-c",
            "INSERT INTO projects (account_id, name) SELECT id, 'web' FROM accounts",
        ],
    )
    .unwrap();
    let duplicate = pg.psql(
        "app",
        &[
            "-c",
            "INSERT INTO projects (account_id, name) SELECT id, 'web' FROM accounts",
        ],
    );
    assert!(
        duplicate
            .unwrap_err()
            .contains("projects_account_id_name_key")
    );
}

#[test]
#[ignore = "needs PostgreSQL: `cargo xtask ci` installs it and runs this"]
fn a_broken_migration_fails_and_leaves_the_earlier_ones_applied() {
    let Some(pg) = Postgres::start() else { return };
    pg.create_database("broken");
    let copy = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    for dir in migration_dirs(&migrations_dir(&dev_dir())) {
        let target = copy.path().join(dir.file_name().unwrap());
        std::fs::create_dir(&target).unwrap();
        std::fs::copy(dir.join("migration.sql"), target.join("migration.sql")).unwrap();
        dirs.push(target);
    }
    // The second migration renames a column that the first one did not create.
    let second = dirs[1].join("migration.sql");
    let sql = std::fs::read_to_string(&second).unwrap();
    assert!(
        sql.contains("RENAME COLUMN \"name\""),
        "the fixture still matches the migration"
    );
    std::fs::write(
        &second,
        sql.replace("RENAME COLUMN \"name\"", "RENAME COLUMN \"nome\""),
    )
    .unwrap();

    let error = apply_migrations(&pg, "broken", &dirs).unwrap_err();
    assert!(error.contains("nome"), "{error}");
    // Each migration is one transaction: nothing of the broken one was applied.
    let accounts = columns(&pg, "broken", "accounts");
    assert!(
        accounts.iter().any(|c| c.starts_with("name ")),
        "{accounts:?}"
    );
    assert!(
        !accounts.iter().any(|c| c.starts_with("status ")),
        "{accounts:?}"
    );
    let types = pg
        .psql(
            "broken",
            &[
                "-tA",
                "-c",
                "SELECT count(*) FROM pg_type WHERE typname = 'AccountStatus'",
            ],
        )
        .unwrap();
    assert_eq!(types.trim(), "0");
}

/// A copy of migrate.sh next to a stand-in `prisma` that behaves like `prisma migrate deploy`.
fn migrate_sh_fixture(prisma_script: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        dev_dir().join("docker/migrate.sh"),
        dir.path().join("migrate.sh"),
    )
    .unwrap();
    let bin = dir.path().join("app/node_modules/.bin");
    std::fs::create_dir_all(&bin).unwrap();
    for migration in migration_dirs(&migrations_dir(&dev_dir())) {
        let target = dir
            .path()
            .join("app/prisma/migrations")
            .join(migration.file_name().unwrap());
        std::fs::create_dir_all(&target).unwrap();
    }
    let prisma = bin.join("prisma");
    std::fs::write(&prisma, prisma_script).unwrap();
    std::fs::set_permissions(&prisma, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    dir
}

fn run_migrate_sh(dir: &Path, database_url: Option<&str>) -> (i32, String) {
    let mut command = Command::new("bash");
    command
        .arg(dir.join("migrate.sh"))
        .env_remove("DATABASE_URL");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().unwrap_or(-1), text)
}

const PLANTED_URL: &str = "postgresql://migrator:PLANTED-db-password@db.internal:5432/app";

#[test]
fn migrate_sh_reports_applied_migrations_and_never_prints_the_url() {
    // What `prisma migrate deploy` prints after applying two migrations.
    let fixture = migrate_sh_fixture(
        "#!/usr/bin/env bash\n\
         [ \"$1 $2\" = 'migrate deploy' ] || exit 64\n\
         [ -n \"$DATABASE_URL\" ] || exit 65\n\
         printf 'The following migration(s) have been applied:\\n\\nmigrations/\\n  └─ 20260101000000_init/\\n    └─ migration.sql\\n  └─ 20260115000000_add_account_status/\\n    └─ migration.sql\\n\\nAll migrations have been successfully applied.\\n'\n",
    );
    let (code, output) = run_migrate_sh(fixture.path(), Some(PLANTED_URL));
    assert_eq!(code, 0, "{output}");
    assert!(
        output.contains(
            "applied migrations:\n  20260101000000_init\n  20260115000000_add_account_status"
        ),
        "{output}"
    );
    assert!(!output.contains("PLANTED-db-password"), "{output}");
}

#[test]
fn migrate_sh_fails_without_database_url_or_when_prisma_fails() {
    let fixture = migrate_sh_fixture(
        "#!/usr/bin/env bash\necho 'Error: P3009 migrate found failed migrations' >&2\nexit 1\n",
    );
    let (code, output) = run_migrate_sh(fixture.path(), None);
    assert_eq!(code, 2, "{output}");
    assert!(output.contains("DATABASE_URL is not set"), "{output}");

    let (code, output) = run_migrate_sh(fixture.path(), Some(PLANTED_URL));
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("P3009") && output.contains("prisma migrate deploy failed"),
        "{output}"
    );
    assert!(!output.contains("PLANTED-db-password"), "{output}");
}

/// The Prisma CLI installed by `cargo xtask ci` at the version of the image's lockfile.
fn prisma_node_modules() -> Option<PathBuf> {
    let locked = locked_prisma_version();
    let candidates = [
        support::ci_tools_dir().join("node/node_modules"),
        repo_root().join("target/ci/node/node_modules"),
    ];
    for candidate in candidates {
        let manifest = candidate.join("prisma/package.json");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            let installed: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(
                installed["version"].as_str(),
                Some(locked.as_str()),
                "{} is not the locked prisma {locked}; reinstall with `cargo xtask ci`",
                manifest.display()
            );
            return Some(candidate);
        }
    }
    missing(&format!(
        "the Prisma CLI {locked} (npm ci of docker/app into target/ci/node)"
    ))
    .map(|never| match never {})
}

fn locked_prisma_version() -> String {
    let lock = std::fs::read_to_string(dev_dir().join("docker/app/package-lock.json")).unwrap();
    let lock: serde_json::Value = serde_json::from_str(&lock).unwrap();
    lock["packages"]["node_modules/prisma"]["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Runs `prisma validate` on a copy of the app, offline: no engine is downloaded, the schema engine
/// variable points at a placeholder file and the URL at nothing reachable.
fn prisma_validate(node_modules: &Path, app: &Path) -> (bool, String) {
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(
        app.join("prisma.config.ts"),
        copy.path().join("prisma.config.ts"),
    )
    .unwrap();
    copy_dir(&app.join("prisma"), &copy.path().join("prisma"));
    std::os::unix::fs::symlink(node_modules, copy.path().join("node_modules")).unwrap();
    let engine = copy.path().join("no-engine");
    std::fs::write(&engine, "").unwrap();
    let output = Command::new(node_modules.join(".bin/prisma"))
        .arg("validate")
        .current_dir(copy.path())
        .env("DATABASE_URL", "postgresql://validate@127.0.0.1:9/none")
        .env("PRISMA_SCHEMA_ENGINE_BINARY", &engine)
        .env("CHECKPOINT_DISABLE", "1")
        .env("PRISMA_HIDE_UPDATE_MESSAGE", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn prisma_validates_the_schema_and_rejects_a_broken_one() {
    let Some(node_modules) = prisma_node_modules() else {
        return;
    };
    let app = dev_dir().join("docker/app");
    let (ok, output) = prisma_validate(&node_modules, &app);
    assert!(ok, "{output}");
    assert!(output.contains("is valid"), "{output}");

    let broken = tempfile::tempdir().unwrap();
    copy_dir(&app.join("prisma"), &broken.path().join("prisma"));
    std::fs::copy(
        app.join("prisma.config.ts"),
        broken.path().join("prisma.config.ts"),
    )
    .unwrap();
    let schema = broken.path().join("prisma/schema.prisma");
    let text = std::fs::read_to_string(&schema).unwrap();
    std::fs::write(
        &schema,
        text.replace("account   Account ", "account   Acount "),
    )
    .unwrap();
    let (ok, output) = prisma_validate(&node_modules, broken.path());
    assert!(
        !ok,
        "a schema naming an unknown model must not validate: {output}"
    );
    assert!(output.contains("Acount"), "{output}");
}

#[test]
fn notifier_tests_pass() {
    let Some(node) = which("node").or_else(|| missing("node (Node.js 20+)").map(|n| match n {}))
    else {
        return;
    };
    for env_dir in environment_dirs() {
        let lambda = env_dir.join("lambda_function");
        let output = Command::new(&node)
            .args(["--test", "test/"])
            .current_dir(&lambda)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "node --test in {}:\n{}{}",
            lambda.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

fn environment_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo_root().join("environments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("xtask.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

#[test]
#[ignore = "needs terraform: `cargo xtask ci` installs it and runs this"]
fn terraform_fmt_check_is_clean() {
    let Some(terraform) = which("terraform").or_else(|| missing("terraform").map(|n| match n {}))
    else {
        return;
    };
    let scratch = tempfile::tempdir().unwrap();
    let output = Command::new(terraform)
        .args(["fmt", "-check", "-recursive", "-diff", "environments"])
        .current_dir(repo_root())
        .env(
            "TF_CLI_CONFIG_FILE",
            support::terraform_cli_config(scratch.path()),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "terraform fmt -check -recursive environments:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn every_environment_is_consistent_with_its_generated_files() {
    let dirs = environment_dirs();
    assert!(!dirs.is_empty());
    for env_dir in dirs {
        let report = consistency::check_environment(&env_dir);
        assert!(
            report.problems.is_empty(),
            "{}:\n  {}",
            env_dir.display(),
            report.problems.join("\n  ")
        );
        assert!(report.modules.contains(&env_dir.join("bootstrap")));
    }
}

/// A copy of environments/dev with contract-shaped generated files written by the test, so that
/// the checker itself is exercised independently of the generator.
mod checker {
    use super::*;

    fn fixture() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let env = dir.path().join("dev");
        std::fs::create_dir_all(&env).unwrap();
        for entry in std::fs::read_dir(dev_dir()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "tf") {
                std::fs::copy(&path, env.join(path.file_name().unwrap())).unwrap();
            }
        }
        copy_dir(&dev_dir().join("bootstrap"), &env.join("bootstrap"));
        std::fs::remove_file(env.join("bootstrap/terraform.tfstate")).ok();
        copy_dir(
            &dev_dir().join("lambda_function"),
            &env.join("lambda_function"),
        );
        consistency::write_stand_in_generated_files(&env);
        dir
    }

    #[test]
    fn the_dev_terraform_passes_with_contract_shaped_generated_files() {
        let dir = fixture();
        let report = consistency::check_environment(&dir.path().join("dev"));
        assert!(report.problems.is_empty(), "{}", report.problems.join("\n"));
        // Every role file, the workload boundary, the state machine and the bootstrap's locals
        // are read.
        assert_eq!(
            report.file_uses.len(),
            11 + 10 + 1 + 1 + 1,
            "{:#?}",
            report.file_uses
        );
    }

    fn problems_after(edit: impl FnOnce(&Path)) -> String {
        let dir = fixture();
        let env = dir.path().join("dev");
        edit(&env);
        consistency::check_environment(&env).problems.join("\n")
    }

    fn append(path: &Path, text: &str) {
        let mut content = std::fs::read_to_string(path).unwrap();
        content.push_str(text);
        std::fs::write(path, content).unwrap();
    }

    #[test]
    fn undeclared_references_are_reported() {
        let problems = problems_after(|env| {
            append(
                &env.join("outputs.tf"),
                "output \"x\" {\n  value = [var.nope, local.missing, aws_s3_bucket.none.id, data.aws_vpc.none.id, local.xtask.no_such_key, local.xtask.roles.plan]\n}\n",
            );
        });
        for expected in [
            "`var.nope` is not declared",
            "`local.missing` is not declared",
            "`aws_s3_bucket.none` is not a declared resource",
            "`data.aws_vpc.none` is not declared",
            "`local.xtask.no_such_key` is not in xtask.generated.tf.json",
        ] {
            assert!(
                problems.contains(expected),
                "{expected} missing from:\n{problems}"
            );
        }
        assert!(!problems.contains("roles.plan"), "{problems}");
    }

    #[test]
    fn missing_orphaned_and_misused_generated_files_are_reported() {
        let problems = problems_after(|env| {
            std::fs::write(env.join("generated/iam/extra.policy.json"), "{}").unwrap();
            std::fs::remove_file(env.join("generated/iam/notifier.policy.json")).unwrap();
            let roles = env.join("bootstrap/roles.tf");
            let text = std::fs::read_to_string(&roles).unwrap();
            let text = text
                .replace(
                    "generated/iam/plan.policy.json",
                    "generated/iam/deploy.policy.json",
                )
                .replace(
                    "{ external_id = var.external_ids.migrate }",
                    "{ external_id = var.external_ids.plan }",
                );
            std::fs::write(&roles, text).unwrap();
        });
        for expected in [
            "generated/iam/extra.policy.json: orphaned generated file",
            "generated/iam/notifier.policy.json: missing",
            "notifier.policy.json\"): ",
            "generated/iam/deploy.policy.json: read 2 times",
            "generated/iam/plan.policy.json: generated but never read",
            "generated/iam/migrate.trust.json: template variables",
        ] {
            assert!(
                problems.contains(expected),
                "{expected} missing from:\n{problems}"
            );
        }
    }

    #[test]
    fn stray_placeholders_and_backend_without_lockfile_are_reported() {
        let problems = problems_after(|env| {
            std::fs::write(
                env.join("generated/iam/deploy.policy.json"),
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::${aws:username}"}]}"#,
            )
            .unwrap();
            std::fs::write(
                env.join("generated/backend.tfbackend"),
                "bucket = \"b\"\nkey = \"k\"\nregion = \"r\"\nprofile = \"p\"\n",
            )
            .unwrap();
        });
        assert!(
            problems.contains("deploy.policy.json: contains placeholders {\"aws:username\"}"),
            "{problems}"
        );
        assert!(
            problems.contains("`use_lockfile = true` is required"),
            "{problems}"
        );
    }

    #[test]
    fn a_backend_with_inline_settings_is_reported() {
        let problems = problems_after(|env| {
            let path = env.join("terraform.tf");
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.replace(
                "backend \"s3\" {}",
                "backend \"s3\" {\n    bucket = \"typed-twice\"\n  }",
            );
            std::fs::write(&path, text).unwrap();
        });
        assert!(
            problems.contains("backend \"s3\" must be empty"),
            "{problems}"
        );
    }
}

/// The names Terraform gives resources (evaluated from the `.tf` files with the generated locals)
/// are the names the generated policies grant access to: a log group renamed on one side only
/// would otherwise surface as an AccessDenied at apply or at run time.
#[test]
fn terraform_names_match_the_generated_policies() {
    for env_dir in environment_dirs() {
        let locals: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(env_dir.join(consistency::GENERATED_LOCALS_FILE)).unwrap(),
        )
        .unwrap();
        let xtask = locals["locals"]["xtask"].clone();
        let mut context = hcl::eval::Context::new();
        let local: hcl::Value =
            serde_json::from_value(serde_json::json!({ "xtask": xtask })).unwrap();
        context.declare_var("local", local);

        let name_of = |file: &str, kind: &str, label: &str, attribute: &str| -> String {
            let body = hcl::parse(&std::fs::read_to_string(env_dir.join(file)).unwrap()).unwrap();
            let block = body
                .blocks()
                .find(|b| {
                    b.identifier() == "resource"
                        && b.labels().first().map(|l| l.as_str()) == Some(kind)
                        && b.labels().get(1).map(|l| l.as_str()) == Some(label)
                })
                .unwrap_or_else(|| panic!("{file}: no {kind}.{label}"));
            let expr = block
                .body()
                .attributes()
                .find(|a| a.key() == attribute)
                .unwrap()
                .expr()
                .clone();
            match hcl::eval::Evaluate::evaluate(&expr, &context).unwrap() {
                hcl::Value::String(name) => name,
                other => panic!("{kind}.{label}.{attribute} is not a string: {other:?}"),
            }
        };
        let policy = |role: &str| -> String {
            std::fs::read_to_string(env_dir.join(format!("generated/iam/{role}.policy.json")))
                .unwrap()
        };

        let (deploy, plan) = (policy("deploy"), policy("plan"));
        for (label, writer) in [
            ("migration", Some("ecs-execution")),
            ("notifier", Some("notifier")),
            ("state_machine", None),
        ] {
            let name = name_of("logs.tf", "aws_cloudwatch_log_group", label, "name");
            let arn = format!("log-group:{name}");
            assert!(
                deploy.contains(&format!("{arn}:*\"")),
                "deploy cannot manage {name}"
            );
            assert!(
                plan.contains(&format!("{arn}\"")),
                "plan cannot read {name}"
            );
            if let Some(role) = writer {
                assert!(
                    policy(role).contains(&format!("{arn}:log-stream:*\"")),
                    "{role} cannot write to {name}"
                );
            }
        }
        let family = name_of("ecs.tf", "aws_ecs_task_definition", "migration", "family");
        assert!(policy("state-machine").contains(&format!("task-definition/{family}:*\"")));
        let function = name_of(
            "lambda.tf",
            "aws_lambda_function",
            "notifier",
            "function_name",
        );
        assert!(policy("state-machine").contains(&format!("function:{function}\"")));
        assert!(deploy.contains(&format!("function:{function}\"")));

        let bucket = name_of(
            "bootstrap/state_bucket.tf",
            "aws_s3_bucket",
            "state",
            "bucket",
        );
        let backend = hcl::parse(
            &std::fs::read_to_string(env_dir.join("generated/backend.tfbackend")).unwrap(),
        )
        .unwrap();
        let backend_bucket = backend
            .attributes()
            .find(|a| a.key() == "bucket")
            .unwrap()
            .expr();
        assert_eq!(backend_bucket, &hcl::Expression::String(bucket));
    }
}

/// What can be checked of the image without a Docker engine: a base pinned by digest, a non-root
/// user that is also the task definition's, installs from the committed lockfile only, and an
/// exact prisma version shared by package.json and the lockfile.
#[test]
fn the_migration_image_is_pinned_and_runs_as_the_task_user() {
    let from = regex::Regex::new(r"(?m)^FROM (\S+)").unwrap();
    let pinned = regex::Regex::new(r"^[a-z0-9./-]+:[A-Za-z0-9._-]+@sha256:[0-9a-f]{64}$").unwrap();
    let task_user = regex::Regex::new(r#"(?m)^\s*user\s*=\s*"([^"]+)""#).unwrap();
    let read_only = regex::Regex::new(r"readonlyRootFilesystem\s*=\s*true").unwrap();
    for env_dir in environment_dirs() {
        let dockerfile = std::fs::read_to_string(env_dir.join("docker/Dockerfile")).unwrap();
        let bases: Vec<&str> = from
            .captures_iter(&dockerfile)
            .map(|c| c.get(1).unwrap().as_str())
            .collect();
        assert!(!bases.is_empty());
        for base in &bases {
            assert!(pinned.is_match(base), "FROM {base} is not pinned by digest");
        }
        assert!(
            bases.windows(2).all(|w| w[0] == w[1]),
            "both stages use the same base: {bases:?}"
        );

        let users: Vec<&str> = dockerfile
            .lines()
            .filter_map(|line| line.strip_prefix("USER "))
            .collect();
        let Some(&image_user) = users.last() else {
            panic!("the image sets no USER")
        };
        assert!(
            !["0", "root", "0:0"].contains(&image_user),
            "the image runs as root"
        );
        let ecs = std::fs::read_to_string(env_dir.join("ecs.tf")).unwrap();
        let task_user = task_user.captures(&ecs).map(|c| c[1].to_owned());
        assert_eq!(
            task_user.as_deref(),
            Some(image_user),
            "the task definition runs the image's user"
        );
        assert!(read_only.is_match(&ecs));

        assert!(dockerfile.contains("COPY app/package.json app/package-lock.json"));
        assert!(
            dockerfile.contains("RUN npm ci "),
            "installs from the lockfile with npm ci"
        );
        assert!(
            !dockerfile.contains(".env"),
            "no .env file goes into the image"
        );
        let dockerignore = std::fs::read_to_string(env_dir.join("docker/.dockerignore")).unwrap();
        assert!(dockerignore.contains("**/.env"));

        let package: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(env_dir.join("docker/app/package.json")).unwrap(),
        )
        .unwrap();
        let wanted = package["dependencies"]["prisma"].as_str().unwrap();
        assert!(
            wanted.chars().all(|c| c.is_ascii_digit() || c == '.'),
            "prisma is pinned exactly: {wanted}"
        );
        let lock: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(env_dir.join("docker/app/package-lock.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(
            lock["packages"][""]["dependencies"]["prisma"].as_str(),
            Some(wanted)
        );
        assert_eq!(
            lock["packages"]["node_modules/prisma"]["version"].as_str(),
            Some(wanted)
        );
    }
}

/// Every check skipped in environments/.checkov.yaml is explained in environments/README.md.
#[test]
fn every_skipped_checkov_check_is_documented() {
    let config = std::fs::read_to_string(repo_root().join("environments/.checkov.yaml")).unwrap();
    let config: serde_json::Value = serde_saphyr::from_str(&config).unwrap();
    let skipped: Vec<&str> = config["skip-check"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    assert!(!skipped.is_empty());
    let readme = std::fs::read_to_string(repo_root().join("environments/README.md")).unwrap();
    let table_rows: Vec<&str> = readme.lines().filter(|l| l.starts_with("| CKV")).collect();
    for id in &skipped {
        assert!(
            table_rows.iter().any(|row| row.contains(id)),
            "{id} is skipped in .checkov.yaml but not explained in environments/README.md"
        );
    }
    for row in table_rows {
        let ids = row.split('|').nth(1).unwrap();
        for id in ids.split(',').map(str::trim) {
            assert!(
                skipped.contains(&id),
                "README explains {id}, which .checkov.yaml does not skip"
            );
        }
    }
}

fn find_checkov() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHECKOV") {
        return Some(PathBuf::from(path));
    }
    let venv = support::ci_tools_dir().join("venv/bin/checkov");
    if venv.is_file() {
        return Some(venv);
    }
    which("checkov").or_else(|| missing("checkov (PyPI checkov)").map(|n| match n {}))
}

/// checkov finds nothing beyond the documented skips.
#[test]
#[ignore = "needs checkov: `cargo xtask ci` installs it and runs this"]
fn checkov_passes_with_the_documented_skips() {
    let Some(checkov) = find_checkov() else {
        return;
    };
    let output = Command::new(checkov)
        .args([
            "-d",
            ".",
            "--config-file",
            ".checkov.yaml",
            "--skip-download",
            "-o",
            "json",
        ])
        .current_dir(repo_root().join("environments"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let reports: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "checkov printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let reports = match reports {
        serde_json::Value::Array(reports) => reports,
        single => vec![single],
    };
    let kinds: Vec<&str> = reports
        .iter()
        .filter_map(|r| r["check_type"].as_str())
        .collect();
    assert!(
        kinds.contains(&"terraform") && kinds.contains(&"dockerfile"),
        "{kinds:?}"
    );
    for report in &reports {
        let summary = &report["summary"];
        let failed: Vec<String> = report["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| format!("{} {} ({})", c["check_id"], c["resource"], c["file_path"]))
            .collect();
        assert_eq!(
            summary["failed"], 0,
            "{}: {failed:#?}",
            report["check_type"]
        );
        assert_eq!(summary["parsing_errors"], 0, "{}", report["check_type"]);
    }
}

/// The generated state machine sends the notifier what index.js requires: the status, the
/// execution, the commit (for a commit status) and, on failure, the error and its cause.
#[test]
fn the_state_machine_sends_the_notifier_what_it_requires() {
    for env_dir in environment_dirs() {
        let asl: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(env_dir.join("generated/sfn/migrate.asl.json")).unwrap(),
        )
        .unwrap();
        let locals: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(env_dir.join(consistency::GENERATED_LOCALS_FILE)).unwrap(),
        )
        .unwrap();
        let function = locals["locals"]["xtask"]["notifier_function"]
            .as_str()
            .unwrap();
        for (state, status, required) in [
            ("NotifySuccess", "SUCCEEDED", &["execution", "git_sha"][..]),
            (
                "NotifyFailure",
                "FAILED",
                &["execution", "git_sha", "error", "cause"][..],
            ),
        ] {
            let arguments = &asl["States"][state]["Arguments"];
            assert!(
                arguments["FunctionName"]
                    .as_str()
                    .is_some_and(|name| name.ends_with(&format!(":function:{function}"))),
                "{state} invokes {}",
                arguments["FunctionName"]
            );
            let payload = &arguments["Payload"];
            assert_eq!(payload["status"], status, "{state}");
            for key in required {
                assert!(payload.get(*key).is_some(), "{state} does not send {key}");
            }
        }
    }
}
