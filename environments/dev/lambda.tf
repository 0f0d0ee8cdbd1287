# The notifier: the state machine's last step invokes it with the migration result and it posts a
# commit status or a webhook message. Its code has no dependencies, so the zip is the directory
# itself, minus the tests.
data "archive_file" "notifier" {
  type        = "zip"
  source_dir  = "${path.module}/lambda_function"
  output_path = "${path.module}/.terraform/notifier.zip"
  excludes    = ["test", "node_modules", "package-lock.json"]
}

resource "aws_lambda_function" "notifier" {
  function_name    = local.xtask.notifier_function
  description      = "Posts the result of a database migration (${local.xtask.environment})"
  role             = aws_iam_role.notifier.arn
  runtime          = "nodejs22.x"
  handler          = "index.handler"
  filename         = data.archive_file.notifier.output_path
  source_code_hash = data.archive_file.notifier.output_base64sha256
  timeout          = 30
  memory_size      = 128
  architectures    = ["arm64"]

  environment {
    variables = {
      NOTIFY_TARGET = var.notification_target
      # A name, not a value: the function reads the GitHub token or webhook URL at run time, so it
      # is neither in its configuration nor in the Terraform state.
      NOTIFY_SECRET_ID  = var.notification_secret_name
      NOTIFY_CONTEXT    = "db-migrate/${local.xtask.environment}"
      GITHUB_REPOSITORY = "${local.xtask.github_owner}/${local.xtask.github_repo}"
      GITHUB_API_URL    = var.github_api_url
    }
  }

  depends_on = [
    aws_iam_role_policy.notifier,
    aws_iam_role_policy.notifier_target_secret,
    aws_cloudwatch_log_group.notifier,
  ]
}

# The target secret is an input of this root, not part of xtask.toml, so its read permission is
# attached here rather than in the generated notifier policy. `-??????` is the random suffix Secrets
# Manager appends to every secret ARN.
resource "aws_iam_role_policy" "notifier_target_secret" {
  name = "notification-target-secret"
  role = aws_iam_role.notifier.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ReadNotificationTarget"
        Effect   = "Allow"
        Action   = "secretsmanager:GetSecretValue"
        Resource = "arn:aws:secretsmanager:${local.xtask.region}:${local.xtask.account_id}:secret:${var.notification_secret_name}-??????"
      },
    ]
  })
}
