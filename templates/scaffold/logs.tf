# Log groups are created here, not on first write, so they get a retention and encryption, and are
# removed with the environment. The key comes from bootstrap/ (output logs_kms_key_arn).

resource "aws_cloudwatch_log_group" "migration" {
  name              = local.xtask.log_group
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

resource "aws_cloudwatch_log_group" "state_machine" {
  # The /aws/vendedlogs/ prefix keeps Step Functions' log delivery under the CloudWatch Logs
  # resource policy size limit.
  name              = "/aws/vendedlogs/states/${local.xtask.state_machine}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}

resource "aws_cloudwatch_log_group" "notifier" {
  # The name Lambda writes to; creating it here means the function needs no logs:CreateLogGroup.
  name              = "/aws/lambda/${local.xtask.notifier_function}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.logs_kms_key_arn
}
