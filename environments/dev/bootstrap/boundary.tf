# The permissions boundary of the workload roles (environments/<env>/iam.tf). Its document is
# generated (../generated/iam/workload-boundary.policy.json): exactly what the workload roles' own
# policies grant, plus the notifier's target secret. The deploy role may create a workload role and
# write its policies only with this boundary on it, may not remove or replace it, and may not edit
# this policy, so a rewritten role policy, the notifier's code or the state machine's definition
# never reaches more than this. It lives here, applied by an administrator, for the same reason as
# the role chain.
resource "aws_iam_policy" "workload_boundary" {
  name        = local.xtask.boundary_policy
  description = "Permissions boundary of the ${local.xtask.environment} workload roles (state machine, ECS execution and task, notifier)."
  policy = templatefile("${path.module}/../generated/iam/workload-boundary.policy.json", {
    notification_secret_name = var.notification_secret_name
  })
}
