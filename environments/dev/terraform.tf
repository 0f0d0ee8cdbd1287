terraform {
  required_version = ">= 1.11.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    archive = {
      source  = "hashicorp/archive"
      version = "~> 2.7"
    }
  }

  # Partial configuration: bucket, key, region, profile (the backend role of the chain) and
  # use_lockfile = true (S3-native locking, no DynamoDB table) come from the generated file, so
  # they are written once, in xtask.toml:
  #   terraform init -backend-config=generated/backend.tfbackend
  backend "s3" {}
}
