//! `cargo xtask aws-profiles`: writes the AWS profiles of an environment's role chain.

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    Ok(())
}
