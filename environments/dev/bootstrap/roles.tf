# The role chain GitHub Actions runs as: the OIDC entry roles and the roles they chain into with an
# external id. Their policies are generated from xtask.toml into ../generated/iam/. They live in this
# administrator-applied root so that no CI role can widen its own permissions.

resource "aws_iam_role" "pull_request_entry" {
  name                 = local.xtask.roles.pull_request_entry
  description          = "OIDC entry role for the pull-request plan workflow; it can only chain into the plan role."
  assume_role_policy   = file("${path.module}/../generated/iam/pull-request-entry.trust.json")
  max_session_duration = 3600

  # The trust policy names the OIDC provider, which must exist first.
  depends_on = [aws_iam_openid_connect_provider.github, data.aws_iam_openid_connect_provider.github]
}

resource "aws_iam_role_policy" "pull_request_entry" {
  name   = "permissions"
  role   = aws_iam_role.pull_request_entry.id
  policy = file("${path.module}/../generated/iam/pull-request-entry.policy.json")
}

resource "aws_iam_role" "protected_entry" {
  name                 = local.xtask.roles.protected_entry
  description          = "OIDC entry role for the migration workflow on the default branch in the protected GitHub environment; it can chain into migrate only."
  assume_role_policy   = file("${path.module}/../generated/iam/protected-entry.trust.json")
  max_session_duration = 3600

  # The trust policy names the OIDC provider, which must exist first.
  depends_on = [aws_iam_openid_connect_provider.github, data.aws_iam_openid_connect_provider.github]
}

resource "aws_iam_role_policy" "protected_entry" {
  name   = "permissions"
  role   = aws_iam_role.protected_entry.id
  policy = file("${path.module}/../generated/iam/protected-entry.policy.json")
}

resource "aws_iam_role" "apply_entry" {
  name                 = local.xtask.roles.apply_entry
  description          = "OIDC entry role for the apply workflow on the default branch in the apply GitHub environment; it can chain into backend and deploy only."
  assume_role_policy   = file("${path.module}/../generated/iam/apply-entry.trust.json")
  max_session_duration = 3600

  # The trust policy names the OIDC provider, which must exist first.
  depends_on = [aws_iam_openid_connect_provider.github, data.aws_iam_openid_connect_provider.github]
}

resource "aws_iam_role_policy" "apply_entry" {
  name   = "permissions"
  role   = aws_iam_role.apply_entry.id
  policy = file("${path.module}/../generated/iam/apply-entry.policy.json")
}

resource "aws_iam_role" "plan" {
  name                 = local.xtask.roles.plan
  description          = "Read-only Terraform role: reads state and resources, writes nothing (plan runs with -lock=false)."
  assume_role_policy   = templatefile("${path.module}/../generated/iam/plan.trust.json", { external_id = var.external_ids.plan })
  max_session_duration = 3600

  # IAM rejects a trust policy whose principal does not exist yet.
  depends_on = [aws_iam_role.pull_request_entry, aws_iam_role.protected_entry, aws_iam_role.apply_entry]
}

resource "aws_iam_role_policy" "plan" {
  name   = "permissions"
  role   = aws_iam_role.plan.id
  policy = file("${path.module}/../generated/iam/plan.policy.json")
}

resource "aws_iam_role" "backend" {
  name                 = local.xtask.roles.backend
  description          = "Terraform state read/write for apply: the apply workflow (through the apply entry role) and local_principals."
  assume_role_policy   = templatefile("${path.module}/../generated/iam/backend.trust.json", { external_id = var.external_ids.backend })
  max_session_duration = 3600

  # IAM rejects a trust policy whose principal does not exist yet.
  depends_on = [aws_iam_role.pull_request_entry, aws_iam_role.protected_entry, aws_iam_role.apply_entry]
}

resource "aws_iam_role_policy" "backend" {
  name   = "permissions"
  role   = aws_iam_role.backend.id
  policy = file("${path.module}/../generated/iam/backend.policy.json")
}

resource "aws_iam_role" "deploy" {
  name                 = local.xtask.roles.deploy
  description          = "Terraform provider role for apply, bounded to the workload: the apply workflow (through the apply entry role) and local_principals."
  assume_role_policy   = templatefile("${path.module}/../generated/iam/deploy.trust.json", { external_id = var.external_ids.deploy })
  max_session_duration = 3600

  # IAM rejects a trust policy whose principal does not exist yet.
  depends_on = [aws_iam_role.pull_request_entry, aws_iam_role.protected_entry, aws_iam_role.apply_entry]
}

resource "aws_iam_role_policy" "deploy" {
  name   = "permissions"
  role   = aws_iam_role.deploy.id
  policy = file("${path.module}/../generated/iam/deploy.policy.json")
}

resource "aws_iam_role" "migrate" {
  name                 = local.xtask.roles.migrate
  description          = "Pushes the migration image, registers its task definition revision and runs the state machine."
  assume_role_policy   = templatefile("${path.module}/../generated/iam/migrate.trust.json", { external_id = var.external_ids.migrate })
  max_session_duration = 3600

  # IAM rejects a trust policy whose principal does not exist yet.
  depends_on = [aws_iam_role.pull_request_entry, aws_iam_role.protected_entry, aws_iam_role.apply_entry]
}

resource "aws_iam_role_policy" "migrate" {
  name   = "permissions"
  role   = aws_iam_role.migrate.id
  policy = file("${path.module}/../generated/iam/migrate.policy.json")
}
