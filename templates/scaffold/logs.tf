# Log groups are created here, not on first write, so they get a retention and encryption, and are
# removed with the environment. Migration output can name tables and data, so the logs are
# encrypted with a key of this environment.

resource "aws_kms_key" "logs" {
  description             = "CloudWatch Logs of the ${local.xtask.environment} migration task, state machine and notifier"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # Without it the key becomes unmanageable; IAM policies then decide who may use it.
        Sid       = "AccountAdministersTheKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${local.xtask.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Sid       = "CloudWatchLogsEncryptsThisAccountsLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.xtask.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:aws:logs:${local.xtask.region}:${local.xtask.account_id}:log-group:*"
          }
        }
      },
    ]
  })
}

resource "aws_kms_alias" "logs" {
  name          = "alias/${local.xtask.ecs_cluster}-logs"
  target_key_id = aws_kms_key.logs.key_id
}

resource "aws_cloudwatch_log_group" "migration" {
  name              = local.xtask.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn
}

resource "aws_cloudwatch_log_group" "state_machine" {
  # The /aws/vendedlogs/ prefix keeps Step Functions' log delivery under the CloudWatch Logs
  # resource policy size limit.
  name              = "/aws/vendedlogs/states/${local.xtask.state_machine}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn
}

resource "aws_cloudwatch_log_group" "notifier" {
  # The name Lambda writes to; creating it here means the function needs no logs:CreateLogGroup.
  name              = "/aws/lambda/${local.xtask.notifier_function}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.logs.arn
}
