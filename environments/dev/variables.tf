# Inputs that are not in xtask.toml: the network and database this environment plugs into, and
# secrets that must never be committed. Names and ids of what this root creates come from
# local.xtask (xtask.generated.tf.json), never from here.

variable "vpc_id" {
  description = "VPC of the migration task's subnets (local.xtask.subnets); the task's security group is created in it."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123456789abcdef0."
  }
}

variable "database_security_group_id" {
  description = "Security group of the database (RDS/Aurora). The migration task may reach it on var.database_port; the database side must allow ingress from the output migration_security_group_id. Set this or database_cidr_blocks."
  type        = string
  default     = null

  validation {
    condition     = var.database_security_group_id == null || can(regex("^sg-[0-9a-f]{8,17}$", var.database_security_group_id))
    error_message = "database_security_group_id must look like sg-0123456789abcdef0."
  }
}

variable "database_cidr_blocks" {
  description = "CIDR blocks of the database, when it has no security group in this VPC (for example a peered network). Set this or database_security_group_id."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for cidr in var.database_cidr_blocks : can(cidrhost(cidr, 0)) && cidr != "0.0.0.0/0"])
    error_message = "database_cidr_blocks must be valid CIDR blocks, and not 0.0.0.0/0."
  }
}

variable "database_port" {
  description = "TCP port of the database (PostgreSQL)."
  type        = number
  default     = 5432
}

variable "aws_api_cidr_blocks" {
  description = "Where the task reaches AWS APIs on 443 (ECR, S3 image layers, Secrets Manager, CloudWatch Logs): the whole internet through a NAT gateway by default, or the CIDR of the VPC when interface endpoints serve them."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "notification_target" {
  description = "Where the notifier posts the migration result: `github-status` (a commit status on the migrated commit) or `webhook` (a JSON POST to a URL)."
  type        = string
  default     = "github-status"

  validation {
    condition     = contains(["github-status", "webhook"], var.notification_target)
    error_message = "notification_target must be github-status or webhook."
  }
}

variable "notification_secret_name" {
  description = "Name of the Secrets Manager secret the notifier reads at run time: a GitHub token allowed to write commit statuses (github-status) or the webhook URL (webhook). Created outside Terraform so its value never enters the state."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{1,512}$", var.notification_secret_name))
    error_message = "notification_secret_name must be a Secrets Manager secret name (not an ARN)."
  }
}

variable "github_api_url" {
  description = "GitHub REST API base URL (change it for GitHub Enterprise Server)."
  type        = string
  default     = "https://api.github.com"
}

variable "log_retention_days" {
  description = "Retention of the task, state machine and notifier logs, in days."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...)."
  }
}

variable "logs_kms_key_arn" {
  description = "KMS key that encrypts the log groups: the output logs_kms_key_arn of bootstrap/ (created there because the deploy role cannot manage keys)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[0-9a-f-]+$", var.logs_kms_key_arn))
    error_message = "logs_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)."
  }
}

variable "migration_image" {
  description = "Image of the task definition revision Terraform manages. `cargo xtask migrate` registers a new revision with the pushed digest for every run, so this only matters before the first migration; leave it null for the repository's `initial` tag."
  type        = string
  default     = null
}
