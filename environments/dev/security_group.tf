# The migration task's only network peers: the database, and AWS APIs on 443 (image pull,
# the database secret, logs). No ingress: nothing connects to the task. The rules are inline so the
# deploy role needs no rights on separate (taggable) security group rule resources.
resource "aws_security_group" "migration" {
  name        = "${local.xtask.ecs_cluster}-task"
  description = "Migration task: egress to the database and to AWS APIs only"
  vpc_id      = var.vpc_id

  dynamic "egress" {
    for_each = var.database_security_group_id == null ? [] : [var.database_security_group_id]
    content {
      description     = "PostgreSQL to the database security group"
      protocol        = "tcp"
      from_port       = var.database_port
      to_port         = var.database_port
      security_groups = [egress.value]
    }
  }

  dynamic "egress" {
    for_each = length(var.database_cidr_blocks) == 0 ? [] : [var.database_cidr_blocks]
    content {
      description = "PostgreSQL to the database network"
      protocol    = "tcp"
      from_port   = var.database_port
      to_port     = var.database_port
      cidr_blocks = egress.value
    }
  }

  egress {
    description = "HTTPS to AWS APIs (ECR, S3 layers, Secrets Manager, CloudWatch Logs)"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = var.aws_api_cidr_blocks
  }

  # The deploy role may create a security group only with this tag and change only groups that
  # carry it (generated deploy policy), so it cannot open another group of the account.
  tags = {
    (local.xtask.managed_tag.key) = local.xtask.managed_tag.value
  }

  lifecycle {
    create_before_destroy = true
  }
}

check "database_reachable" {
  assert {
    condition     = var.database_security_group_id != null || length(var.database_cidr_blocks) > 0
    error_message = "Set database_security_group_id or database_cidr_blocks: the migration task has no route to the database otherwise."
  }
}
