# One-time bootstrap of the bucket that holds this environment's Terraform state (the environment's
# own backend cannot create the bucket it is stored in). Run once, with administrator credentials,
# before the first `terraform init` of the environment (the parent directory):
#
#   cd environments/<environment>/bootstrap
#   terraform init
#   terraform apply -var profile=<an admin profile of the account>
#
# Its own state is local and small (one bucket); keep it or import the bucket again when needed:
#   terraform import aws_s3_bucket.state <bucket>
#
# The bucket name, account and region are read from the parent's generated locals, so they stay
# written once, in xtask.toml.

terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
  }
}

variable "profile" {
  description = "AWS profile with administrator rights in the environment's account (the deploy role does not exist yet when this runs)."
  type        = string
}

variable "noncurrent_version_retention_days" {
  description = "How long superseded state versions are kept, for recovery."
  type        = number
  default     = 90
}

locals {
  xtask = jsondecode(file("${path.module}/../xtask.generated.tf.json")).locals.xtask
}

provider "aws" {
  region              = local.xtask.region
  profile             = var.profile
  allowed_account_ids = [local.xtask.account_id]

  default_tags {
    tags = {
      environment = local.xtask.environment
      managed-by  = "terraform"
      repository  = "${local.xtask.github_owner}/${local.xtask.github_repo}"
    }
  }
}

resource "aws_s3_bucket" "state" {
  bucket = local.xtask.state_bucket

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_ownership_controls" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "state" {
  bucket                  = aws_s3_bucket.state.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Versioning is what makes a broken state recoverable.
resource "aws_s3_bucket_versioning" "state" {
  bucket = aws_s3_bucket.state.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "state" {
  bucket = aws_s3_bucket.state.id

  rule {
    id     = "expire-old-state-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.state]
}

# State holds resource attributes: refuse any request that is not over TLS.
resource "aws_s3_bucket_policy" "state" {
  bucket = aws_s3_bucket.state.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.state.arn, "${aws_s3_bucket.state.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.state]
}

output "state_bucket" {
  description = "The state bucket; the parent directory's generated/backend.tfbackend points at it."
  value       = aws_s3_bucket.state.bucket
}
