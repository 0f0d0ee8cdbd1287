resource "aws_ecs_cluster" "migration" {
  name = local.xtask.ecs_cluster

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "migration" {
  cluster_name       = aws_ecs_cluster.migration.name
  capacity_providers = ["FARGATE"]

  default_capacity_provider_strategy {
    capacity_provider = "FARGATE"
    weight            = 1
  }
}

# The database URL lives only in Secrets Manager (created outside Terraform so its value never
# enters the state); ECS injects it as DATABASE_URL through the execution role.
data "aws_secretsmanager_secret" "database" {
  name = local.xtask.database_secret
}

locals {
  # `cargo xtask migrate` registers a revision with the pushed digest for every run; this image only
  # serves the revision Terraform manages until then.
  migration_image = coalesce(var.migration_image, "${aws_ecr_repository.migration.repository_url}:initial")
}

resource "aws_ecs_task_definition" "migration" {
  family                   = local.xtask.task_family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 256
  memory                   = 512
  # Separate roles: the execution role pulls the image and reads the secret for ECS; the task role
  # is what the migration code could call, which is nothing.
  execution_role_arn = aws_iam_role.ecs_execution.arn
  task_role_arn      = aws_iam_role.ecs_task.arn
  # Revisions registered by `cargo xtask migrate` stay usable when Terraform replaces this one.
  skip_destroy = true

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # The only writable path of the container (the root file system is read-only).
  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([
    {
      name                   = local.xtask.container_name
      image                  = local.migration_image
      essential              = true
      user                   = "1000:1000"
      memory                 = 512
      readonlyRootFilesystem = true
      privileged             = false
      mountPoints = [
        { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
      ]
      environment = [
        { name = "HOME", value = "/tmp" },
        { name = "CHECKPOINT_DISABLE", value = "1" },
        { name = "PRISMA_HIDE_UPDATE_MESSAGE", value = "1" },
      ]
      secrets = [
        { name = "DATABASE_URL", valueFrom = data.aws_secretsmanager_secret.database.arn },
      ]
      linuxParameters = {
        initProcessEnabled = true
        capabilities       = { drop = ["ALL"] }
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.migration.name
          awslogs-region        = local.xtask.region
          awslogs-stream-prefix = "migrate"
        }
      }
    },
  ])
}
