# The roles of the migration workload. Their trust and permission policies are generated from
# xtask.toml by `cargo xtask gen-workflows` into generated/iam/, so the policy text exists once and
# CI and infrastructure cannot disagree. The role chain CI itself runs as (OIDC entry roles, plan,
# backend, deploy, migrate) is in bootstrap/: the deploy role cannot change its own permissions.
#
# Every role here carries the permissions boundary that bootstrap/ creates (boundary.tf): the deploy
# role may create these roles and write their policies only with that boundary on them, so neither a
# rewritten policy nor the notifier's code nor the state machine's definition reaches beyond it.
locals {
  workload_boundary_arn = "arn:aws:iam::${local.xtask.account_id}:policy/${local.xtask.boundary_policy}"
}

resource "aws_iam_role" "state_machine" {
  name                 = local.xtask.roles.state_machine
  description          = "Assumed by Step Functions: runs the migration task and invokes the notifier."
  assume_role_policy   = file("${path.module}/generated/iam/state-machine.trust.json")
  max_session_duration = 3600
  permissions_boundary = local.workload_boundary_arn
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "permissions"
  role   = aws_iam_role.state_machine.id
  policy = file("${path.module}/generated/iam/state-machine.policy.json")
}

resource "aws_iam_role" "ecs_execution" {
  name                 = local.xtask.roles.ecs_execution
  description          = "ECS task execution role: pulls the image, writes logs, reads the database secret."
  assume_role_policy   = file("${path.module}/generated/iam/ecs-execution.trust.json")
  max_session_duration = 3600
  permissions_boundary = local.workload_boundary_arn
}

resource "aws_iam_role_policy" "ecs_execution" {
  name   = "permissions"
  role   = aws_iam_role.ecs_execution.id
  policy = file("${path.module}/generated/iam/ecs-execution.policy.json")
}

resource "aws_iam_role" "ecs_task" {
  name                 = local.xtask.roles.ecs_task
  description          = "Role of the migration container itself: no permissions (it only talks to the database)."
  assume_role_policy   = file("${path.module}/generated/iam/ecs-task.trust.json")
  max_session_duration = 3600
  permissions_boundary = local.workload_boundary_arn
}

resource "aws_iam_role" "notifier" {
  name                 = local.xtask.roles.notifier
  description          = "Execution role of the notification Lambda."
  assume_role_policy   = file("${path.module}/generated/iam/notifier.trust.json")
  max_session_duration = 3600
  permissions_boundary = local.workload_boundary_arn
}

resource "aws_iam_role_policy" "notifier" {
  name   = "permissions"
  role   = aws_iam_role.notifier.id
  policy = file("${path.module}/generated/iam/notifier.policy.json")
}
