//! The stand-ins the other integration tests rely on start, answer and stop.

use crate::support;

use support::{Moto, Postgres};

#[test]
#[ignore = "needs moto: `cargo xtask ci` installs it and runs this"]
fn moto_answers_sts() {
    let Some(moto) = Moto::start() else { return };
    let output = std::process::Command::new("curl")
        .args(["-sf", "-X", "POST", "--data", "Action=GetCallerIdentity&Version=2011-06-15"])
        // moto routes a request to a service by the credential scope of its signature.
        .args([
            "-H",
            "Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0",
        ])
        .arg(moto.endpoint())
        .output()
        .expect("running curl");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("<Account>"));
}

#[test]
#[ignore = "needs PostgreSQL: `cargo xtask ci` installs it and runs this"]
fn postgres_runs_sql() {
    let Some(pg) = Postgres::start() else { return };
    pg.create_database("harness");
    let out = pg
        .psql("harness", &["-tA", "-c", "SELECT 40 + 2"])
        .expect("psql");
    assert_eq!(out.trim(), "42");
}
