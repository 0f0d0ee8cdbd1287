output "ecr_repository_url" {
  description = "Where `cargo xtask migrate` pushes the migration image."
  value       = aws_ecr_repository.migration.repository_url
}

output "ecs_cluster_arn" {
  description = "Cluster the migration task runs in."
  value       = aws_ecs_cluster.migration.arn
}

output "task_definition_arn" {
  description = "The Terraform-managed task definition revision (migrations register newer ones)."
  value       = aws_ecs_task_definition.migration.arn
}

output "state_machine_arn" {
  description = "The migration state machine."
  value       = aws_sfn_state_machine.migration.arn
}

output "migration_security_group_id" {
  description = "Security group of the migration task: allow it on the database port on the database side."
  value       = aws_security_group.migration.id
}

output "notifier_function_arn" {
  description = "The notification Lambda."
  value       = aws_lambda_function.notifier.arn
}

output "role_arns" {
  description = "ARN of every workload role, by xtask.toml role key (the role chain is in bootstrap/)."
  value = {
    state_machine = aws_iam_role.state_machine.arn
    ecs_execution = aws_iam_role.ecs_execution.arn
    ecs_task      = aws_iam_role.ecs_task.arn
    notifier      = aws_iam_role.notifier.arn
  }
}
