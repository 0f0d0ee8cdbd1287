# The foundation of an environment, applied by an administrator (never by CI):
#
# - the bucket that holds the environment's Terraform state (state_bucket.tf);
# - GitHub's OIDC provider (oidc.tf);
# - the role chain GitHub Actions runs as (roles.tf): the OIDC entry roles and the plan, backend,
#   deploy and migrate roles they chain into with an external id;
# - the permissions boundary of the workload roles (boundary.tf).
#
# The workload (the parent directory) is applied by CI through those roles; keeping the chain here
# means no CI role can widen its own permissions. Apply this root once, and again whenever
# `cargo xtask gen-workflows` changes ../generated/iam/ for these roles:
#
#   cd environments/<environment>/bootstrap
#   terraform init
#   TF_VAR_external_ids='{"plan":"...","backend":"...","deploy":"...","migrate":"..."}' \
#     terraform apply -var profile=<an administrator profile of the account> \
#       -var notification_secret_name=<the workload's notification_secret_name>
#
# Its state is local (the bucket does not exist before the first apply). Keep terraform.tfstate
# somewhere safe, or move it into the bucket once it exists:
#   terraform init -migrate-state -backend-config=... (with a backend "s3" block added locally;
#   list your administrator role in state_bucket_administrators first: the bucket's key may be used
#   only by the backend and plan roles and those administrators).
# Everything it manages can also be imported again by name.
#
# Names, account and region are read from the parent's generated locals, so they stay written once,
# in xtask.toml.

terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

locals {
  xtask = jsondecode(file("${path.module}/../xtask.generated.tf.json")).locals.xtask
}

provider "aws" {
  region              = local.xtask.region
  profile             = var.profile
  allowed_account_ids = [local.xtask.account_id]

  default_tags {
    tags = {
      environment = local.xtask.environment
      managed-by  = "terraform"
      repository  = "${local.xtask.github_owner}/${local.xtask.github_repo}"
    }
  }
}
