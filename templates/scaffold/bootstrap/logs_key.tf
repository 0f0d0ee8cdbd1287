# The key that encrypts the environment's log groups (migration output can name tables and data).
# It lives here because managing keys needs rights the CI deploy role deliberately lacks; the
# workload root only associates it with its log groups (logs:AssociateKmsKey), through the
# variable logs_kms_key_arn set from this root's output.
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
