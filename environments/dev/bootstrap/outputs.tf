output "state_bucket" {
  description = "The state bucket; the parent directory's generated/backend.tfbackend points at it."
  value       = aws_s3_bucket.state.bucket
}

output "oidc_provider_arn" {
  description = "GitHub's OIDC provider in this account."
  value       = local.github_oidc_provider_arn
}

output "role_arns" {
  description = "ARN of every role of the chain, by xtask.toml role key."
  value = {
    pull_request_entry = aws_iam_role.pull_request_entry.arn
    protected_entry    = aws_iam_role.protected_entry.arn
    apply_entry        = aws_iam_role.apply_entry.arn
    plan               = aws_iam_role.plan.arn
    backend            = aws_iam_role.backend.arn
    deploy             = aws_iam_role.deploy.arn
    migrate            = aws_iam_role.migrate.arn
  }
}

output "logs_kms_key_arn" {
  description = "Set the workload root's logs_kms_key_arn to this value."
  value       = aws_kms_key.logs.arn
}

output "state_kms_key_arn" {
  description = "The customer managed key of the state bucket (only the backend and plan roles may use it)."
  value       = aws_kms_key.state.arn
}

output "state_access_log_bucket" {
  description = "Where the state bucket's server access logs go (prefix state/)."
  value       = aws_s3_bucket.access_logs.bucket
}
