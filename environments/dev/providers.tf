# Credentials come from the profile `cargo xtask aws-profiles` writes: in a pull request it points
# at the read-only plan role, in the protected environment at the deploy role (both reached through
# the OIDC entry role with an external id). allowed_account_ids stops an apply with a profile that
# points at another account.
provider "aws" {
  region              = local.xtask.region
  profile             = local.xtask.profiles.deploy
  allowed_account_ids = [local.xtask.account_id]

  default_tags {
    tags = {
      environment = local.xtask.environment
      managed-by  = "terraform"
      repository  = "${local.xtask.github_owner}/${local.xtask.github_repo}"
    }
  }
}
