//! `cargo xtask doctor` (alias `config`): the resolved configuration and the tools it needs.

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<()> {
    Ok(())
}
