# The state machine is generated (JSONata): RunMigration (ecs:runTask.sync) -> CheckExitCode ->
# NotifySuccess, or NotifyFailure -> MigrationFailed. Its one Terraform-side value is the security
# group created here.
resource "aws_sfn_state_machine" "migration" {
  name     = local.xtask.state_machine
  type     = "STANDARD"
  role_arn = aws_iam_role.state_machine.arn

  definition = templatefile("${path.module}/generated/sfn/migrate.asl.json", {
    migration_security_group_id = aws_security_group.migration.id
  })

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  # The definition names the task definition family, the cluster and the notifier by name; they
  # must exist before the first execution, and the role must hold its permissions.
  depends_on = [
    aws_iam_role_policy.state_machine,
    aws_ecs_task_definition.migration,
    aws_ecs_cluster.migration,
    aws_lambda_function.notifier,
  ]
}
