//! Shared harness for integration tests: real local stand-ins (moto, PostgreSQL) started per test
//! on 127.0.0.1 and stopped when the guard drops.
//!
//! The tests that need a stand-in are `#[ignore]`d with the reason, so a plain `cargo test` shows
//! them as ignored. Run with `--include-ignored` on a machine without the stand-ins, they skip with
//! a message that says how to get them; under `cargo xtask ci` (`--run-ignored all`,
//! `XTASK_REQUIRE_SERVICES=1`) a missing stand-in fails the test instead, so CI cannot pass by
//! skipping.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod fake_github;
pub mod github_api;
pub mod s3_state;

use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository root (the parent of the xtask crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask has a parent directory")
        .to_path_buf()
}

/// Where `cargo xtask ci` installs the Python and npm tools.
pub fn ci_tools_dir() -> PathBuf {
    std::env::var_os("XTASK_CI_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/ci"))
}

/// Returns `None` (after printing why) when a stand-in is missing and the run does not require
/// it; panics when it does.
pub fn missing(what: &str) -> Option<std::convert::Infallible> {
    let message = format!(
        "{what} is not available; run `cargo xtask ci` (or `bash .ci/run`) to install and start the stand-ins"
    );
    if std::env::var_os("XTASK_REQUIRE_SERVICES").is_some_and(|v| v == "1") {
        panic!("{message}");
    }
    eprintln!("SKIPPED: {message}");
    None
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("binding 127.0.0.1:0")
}

fn wait_for_port(port: u16, child: &mut Child, what: &str, limit: Duration) {
    let started = Instant::now();
    while started.elapsed() < limit {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited before listening on port {port}: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    panic!("{what} did not listen on 127.0.0.1:{port} within {limit:?}");
}

/// A `moto_server` on 127.0.0.1, one per test, so tests share no AWS state.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    /// Starts moto, or returns `None` when it is not installed and not required.
    pub fn start() -> Option<Moto> {
        let program = find_moto_server()?;
        let port = free_port();
        let mut child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_PORT", port.to_string())
            // The request recorder (moto-api/recorder) writes here instead of the test's cwd.
            .env("MOTO_RECORDER_FILEPATH", recording_path(port))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        wait_for_port(port, &mut child, "moto_server", Duration::from_secs(30));
        Some(Moto { child, port })
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Environment for a child process (terraform, the xtask binary) that talks to this moto with
    /// dummy static credentials.
    pub fn aws_env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ENDPOINT_URL".into(), self.endpoint()),
            ("AWS_ACCESS_KEY_ID".into(), "testing".into()),
            ("AWS_SECRET_ACCESS_KEY".into(), "testing".into()),
            ("AWS_SESSION_TOKEN".into(), "testing".into()),
            ("AWS_REGION".into(), "ap-northeast-1".into()),
            ("AWS_DEFAULT_REGION".into(), "ap-northeast-1".into()),
            ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
        ]
    }

    /// Turns on moto's Step Functions interpreter (it only records executions otherwise).
    pub fn enable_step_functions_interpreter(&self) {
        let status = Command::new("curl")
            .args([
                "-sf",
                "-X",
                "POST",
                "-H",
                "Content-Type: application/json",
                "--data",
                r#"{"stepfunctions":{"execute_state_machine":true}}"#,
                &format!("{}/moto-api/config", self.endpoint()),
            ])
            .stdout(Stdio::null())
            .status()
            .expect("running curl");
        assert!(
            status.success(),
            "enabling moto's Step Functions interpreter"
        );
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(recording_path(self.port));
    }
}

fn recording_path(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("xtask-moto-recording-{port}.jsonl"))
}

fn find_moto_server() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER") {
        return Some(PathBuf::from(path));
    }
    let venv = ci_tools_dir().join("venv/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    if let Some(on_path) = which("moto_server") {
        return Some(on_path);
    }
    missing("moto_server (PyPI moto[server])").map(|never| match never {})
}

/// A program on PATH: the library's lookup, so tests and commands agree on what is installed.
pub use xtask::process::which;

/// A throwaway PostgreSQL cluster on 127.0.0.1, removed when dropped.
///
/// PostgreSQL refuses to run as root, so when the tests run as root the cluster is created and
/// started as the `postgres` user with `runuser`.
pub struct Postgres {
    data_dir: tempfile::TempDir,
    bin_dir: PathBuf,
    as_postgres_user: bool,
    pub port: u16,
}

impl Postgres {
    pub fn start() -> Option<Postgres> {
        let bin_dir = find_postgres_bin()?;
        let as_postgres_user = is_root();
        let data_dir = tempfile::Builder::new()
            .prefix("xtask-pg-")
            .tempdir()
            .expect("creating a temporary directory");
        if as_postgres_user {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(data_dir.path())
                .status()
                .expect("running chown");
            assert!(status.success(), "chown of the PostgreSQL data directory");
        }
        let pgdata = data_dir.path().join("data");
        let port = free_port();
        let mut pg = Postgres {
            data_dir,
            bin_dir,
            as_postgres_user,
            port,
        };
        pg.run_tool(
            "initdb",
            &[
                "-D",
                &pgdata.to_string_lossy(),
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        );
        let log = pg.data_dir.path().join("server.log");
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} -c fsync=off",
            pg.data_dir.path().display()
        );
        pg.run_tool(
            "pg_ctl",
            &[
                "-D",
                &pgdata.to_string_lossy(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
                "-w",
                "-t",
                "30",
                "start",
            ],
        );
        pg.port = port;
        Some(pg)
    }

    fn command(&self, tool: &str) -> Command {
        let program = self.bin_dir.join(tool);
        if self.as_postgres_user {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn run_tool(&mut self, tool: &str, args: &[&str]) {
        let output = self
            .command(tool)
            .args(args)
            .current_dir(self.data_dir.path())
            .output()
            .unwrap_or_else(|e| panic!("running {tool}: {e}"));
        assert!(
            output.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// A connection URL for `database` (created on first use by the caller with `createdb`).
    pub fn url(&self, database: &str) -> String {
        format!("postgresql://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs `psql` with `ON_ERROR_STOP` against `database`; returns its output or its error text.
    pub fn psql(&self, database: &str, args: &[&str]) -> Result<String, String> {
        let output = Command::new(self.bin_dir.join("psql"))
            .args([
                "-X",
                "-q",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
            ])
            .args(["-p", &self.port.to_string(), "-d", database])
            .args(args)
            .output()
            .map_err(|e| format!("running psql: {e}"))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    pub fn create_database(&self, database: &str) {
        self.psql(
            "postgres",
            &["-c", &format!("CREATE DATABASE \"{database}\"")],
        )
        .unwrap_or_else(|e| panic!("creating database {database}: {e}"));
    }

    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let pgdata = self.data_dir.path().join("data");
        let _ = self
            .command("pg_ctl")
            .args([
                "-D",
                &pgdata.to_string_lossy(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn find_postgres_bin() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    if let Ok(entries) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|bin| bin.join("pg_ctl").is_file())
            .collect();
        versions.sort();
        if let Some(newest) = versions.pop() {
            return Some(newest);
        }
    }
    if let Some(pg_ctl) = which("pg_ctl") {
        return pg_ctl.parent().map(Path::to_path_buf);
    }
    missing("PostgreSQL server binaries (initdb, pg_ctl)").map(|never| match never {})
}

/// An empty terraform CLI config, so terraform does not warn about a missing ~/.terraformrc.
pub fn terraform_cli_config(dir: &Path) -> PathBuf {
    let path = dir.join("terraformrc");
    std::fs::write(&path, "").expect("writing an empty terraformrc");
    path
}

/// A temporary repository holding only the configuration: the workspace manifest's
/// `[workspace.metadata.xtask]` and `environments/dev/xtask.toml`.
pub fn config_only_repo() -> tempfile::TempDir {
    let temp = tempfile::tempdir().unwrap();
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let metadata = &manifest[manifest.find("[workspace.metadata.xtask").unwrap()..];
    std::fs::write(
        temp.path().join("Cargo.toml"),
        format!("[workspace]\nmembers = []\n\n{metadata}"),
    )
    .unwrap();
    let dev = temp.path().join("environments/dev");
    std::fs::create_dir_all(&dev).unwrap();
    std::fs::copy(
        repo_root().join("environments/dev/xtask.toml"),
        dev.join("xtask.toml"),
    )
    .unwrap();
    temp
}
