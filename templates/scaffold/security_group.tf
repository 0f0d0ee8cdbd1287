# The migration task's only network peers: the database, and AWS APIs on 443 (image pull,
# the database secret, logs). No ingress: nothing connects to the task.
resource "aws_security_group" "migration" {
  name        = "${local.xtask.ecs_cluster}-task"
  description = "Migration task: egress to the database and to AWS APIs only"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_egress_rule" "database_by_group" {
  count = var.database_security_group_id == null ? 0 : 1

  security_group_id            = aws_security_group.migration.id
  description                  = "PostgreSQL to the database security group"
  ip_protocol                  = "tcp"
  from_port                    = var.database_port
  to_port                      = var.database_port
  referenced_security_group_id = var.database_security_group_id
}

resource "aws_vpc_security_group_egress_rule" "database_by_cidr" {
  for_each = toset(var.database_cidr_blocks)

  security_group_id = aws_security_group.migration.id
  description       = "PostgreSQL to the database network"
  ip_protocol       = "tcp"
  from_port         = var.database_port
  to_port           = var.database_port
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "aws_apis" {
  for_each = toset(var.aws_api_cidr_blocks)

  security_group_id = aws_security_group.migration.id
  description       = "HTTPS to AWS APIs (ECR, S3 layers, Secrets Manager, CloudWatch Logs)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

check "database_reachable" {
  assert {
    condition     = var.database_security_group_id != null || length(var.database_cidr_blocks) > 0
    error_message = "Set database_security_group_id or database_cidr_blocks: the migration task has no route to the database otherwise."
  }
}
