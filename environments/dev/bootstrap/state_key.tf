# The customer managed key of the state bucket. Its policy names the only principals that may use
# it: the backend role (reads and writes the state during apply) and the plan role (reads it), plus
# state_bucket_administrators. The account (its administrators, through IAM) may manage the key but
# not encrypt or decrypt with it, so no other role of the account can read the state, whatever its
# IAM policy says. The deploy and migrate roles never touch the state and are not named.
resource "aws_kms_key" "state" {
  description             = "Terraform state of the ${local.xtask.environment} environment"
  enable_key_rotation     = true
  deletion_window_in_days = 30

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid       = "AccountManagesTheKeyButCannotUseIt"
          Effect    = "Allow"
          Principal = { AWS = "arn:aws:iam::${local.xtask.account_id}:root" }
          Action = [
            "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:Describe*", "kms:List*",
            "kms:Get*", "kms:EnableKey", "kms:DisableKey", "kms:EnableKeyRotation",
            "kms:DisableKeyRotation", "kms:RotateKeyOnDemand", "kms:PutKeyPolicy",
            "kms:UpdateKeyDescription", "kms:TagResource", "kms:UntagResource",
            "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion",
          ]
          Resource = "*"
        },
        {
          Sid       = "BackendReadsAndWritesTheStateThroughS3"
          Effect    = "Allow"
          Principal = { AWS = distinct(concat([aws_iam_role.backend.arn], var.state_bucket_administrators)) }
          Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
          Resource  = "*"
          Condition = {
            StringEquals = { "kms:ViaService" = "s3.${local.xtask.region}.amazonaws.com" }
          }
        },
        {
          Sid       = "PlanReadsTheStateThroughS3"
          Effect    = "Allow"
          Principal = { AWS = aws_iam_role.plan.arn }
          Action    = "kms:Decrypt"
          Resource  = "*"
          Condition = {
            StringEquals = { "kms:ViaService" = "s3.${local.xtask.region}.amazonaws.com" }
          }
        },
      ],
    )
  })
}

resource "aws_kms_alias" "state" {
  name          = "alias/${local.xtask.ecs_cluster}-tfstate"
  target_key_id = aws_kms_key.state.key_id
}
