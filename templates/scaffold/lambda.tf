# The notifier: the state machine's last step invokes it with the migration result and it posts a
# commit status or a webhook message. Its code has no dependencies, so the zip is the directory
# itself, minus the tests.
data "archive_file" "notifier" {
  type        = "zip"
  source_dir  = "${path.module}/lambda_function"
  output_path = "${path.module}/.terraform/notifier.zip"
  excludes    = ["test", "node_modules", "package-lock.json"]
}

# The GitHub token or webhook URL. Created outside Terraform so its value never enters the state;
# the function reads it at run time, so it is never in the function's environment either.
data "aws_secretsmanager_secret" "notification" {
  name = var.notification_secret_name
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
  # Invoked once per migration; a cap keeps a runaway caller from fanning out.
  reserved_concurrent_executions = 5

  environment {
    variables = {
      NOTIFY_TARGET     = var.notification_target
      NOTIFY_SECRET_ARN = data.aws_secretsmanager_secret.notification.arn
      NOTIFY_CONTEXT    = "db-migrate/${local.xtask.environment}"
      GITHUB_REPOSITORY = "${local.xtask.github_owner}/${local.xtask.github_repo}"
      GITHUB_API_URL    = var.github_api_url
    }
  }

  tracing_config {
    mode = "Active"
  }

  depends_on = [
    aws_iam_role_policy.notifier,
    aws_iam_role_policy.notifier_target_secret,
    aws_cloudwatch_log_group.notifier,
  ]
}

# The target secret is an input of this root, not part of xtask.toml, so its read permission is
# attached here rather than in the generated notifier policy.
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
        Resource = data.aws_secretsmanager_secret.notification.arn
      },
    ]
  })
}
