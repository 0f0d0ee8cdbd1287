//! `cargo xtask new-env`: a new environment from the scaffold embedded in the binary.

use crate::config::Config;
use crate::scaffold::{NewEnvironment, create_environment};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment name (a-z, 0-9, '-').
    pub name: String,
    /// The AWS account id (default: the first environment's).
    #[arg(long)]
    pub account: Option<String>,
    /// The AWS region (default: the first environment's).
    #[arg(long)]
    pub region: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let root = Config::discover(&super::current_dir()?)?.root;
    let request = NewEnvironment {
        name: args.name,
        account_id: args.account,
        region: args.region,
    };
    let created = create_environment(&root, &request)?;
    let relative = created.strip_prefix(&root).unwrap_or(&created).display();
    println!("Created {relative}/ from the embedded scaffold.");
    println!("Next:");
    println!(
        "  1. Review {relative}/xtask.toml (subnets, secret names), then run `cargo xtask gen-workflows`"
    );
    println!("     to generate its policies, state machine, backend settings and workflows.");
    println!(
        "  2. As an administrator, apply {relative}/bootstrap/ (state bucket, OIDC provider, role chain);"
    );
    println!(
        "     if another environment already created GitHub's OIDC provider in this account, set"
    );
    println!("     create_github_oidc_provider = false there.");
    println!(
        "  3. Create the GitHub environment `{}` and the external id secrets named in xtask.toml.",
        request.name
    );
    println!("  4. See environments/README.md, \"First deployment of an environment\".");
    Ok(())
}
