//! `cargo xtask github-setup`: run once by a repository administrator (and again after adding an
//! environment). Sets the repository's OIDC subject template to the claim keys the IAM trust
//! policies pin, and creates or updates each configured GitHub environment so that only the
//! default branch may deploy to it. Then checks everything, as `cargo xtask doctor --remote`.

use crate::failure::{FailureKind, fail};
use crate::github::{self, GitHub};
use crate::github_settings::{self, Expected};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Do not count missing required reviewers as a failure (plans without the feature).
    #[arg(long)]
    pub accept_no_reviewers: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = super::load_config()?;
    let expected = Expected::from_config(&config);
    let client_settings = admin_settings(&config)?;
    crate::runtime::current_thread()?.block_on(async {
        let client = GitHub::new(client_settings)?;
        for line in github_settings::apply(&client, &expected).await? {
            println!("set      {line}");
        }
        super::doctor::report_remote(&client, &expected, args.accept_no_reviewers).await
    })
}

/// The GitHub settings for an administrator's command: a token is required, and the message says
/// which permissions it needs.
pub(crate) fn admin_settings(config: &crate::config::Config) -> anyhow::Result<github::Settings> {
    let settings = github::Settings::from_env(Some(&config.repository()))?;
    if settings.token.is_none() {
        return Err(fail(
            FailureKind::Environment,
            format!(
                "GITHUB_TOKEN is not set: export a token of an administrator of {} (fine-grained: \
                 Administration and Environments read and write; `gh auth token` works for an admin)",
                settings.repository
            ),
        ));
    }
    Ok(settings)
}
