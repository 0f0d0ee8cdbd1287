variable "profile" {
  description = "AWS profile with administrator rights in the environment's account (the CI roles cannot change the role chain, by design)."
  type        = string
}

variable "external_ids" {
  description = "External id of each chained role (plan, backend, deploy, migrate); the same values as the GitHub secrets named in xtask.toml [github.external_id_secrets]. Pass them with TF_VAR_external_ids, never in a committed file."
  type = object({
    plan    = string
    backend = string
    deploy  = string
    migrate = string
  })
  sensitive = true

  validation {
    condition     = alltrue([for id in values(var.external_ids) : length(id) >= 16])
    error_message = "Every external id must be at least 16 characters (use a random value, for example `openssl rand -hex 16`)."
  }
}

variable "create_github_oidc_provider" {
  description = "Create GitHub's OIDC provider in this account. An account holds one per issuer: set false in every environment after the first one that shares the account."
  type        = bool
  default     = true
}

variable "noncurrent_version_retention_days" {
  description = "How long superseded state versions are kept, for recovery."
  type        = number
  default     = 90
}

variable "notification_secret_name" {
  description = "The workload root's notification_secret_name (the secret the notifier reads); the workload boundary lets the notifier read this secret and no other. Use the same value in both roots."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9/_+=.@-]{1,512}$", var.notification_secret_name))
    error_message = "notification_secret_name must be a Secrets Manager secret name (not an ARN)."
  }
}

variable "state_bucket_administrators" {
  description = "IAM role or user ARNs (besides the identity applying this root, the account root and the backend and plan roles) that may access the state bucket and use its key, for example the administrators' SSO role (arn:aws:iam::ACCOUNT:role/aws-reserved/sso.amazonaws.com/REGION/AWSReservedSSO_...). Every other principal is denied by the bucket policy."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for arn in var.state_bucket_administrators : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/", arn))])
    error_message = "state_bucket_administrators must be IAM role or user ARNs."
  }
}

variable "access_log_retention_days" {
  description = "How long the state bucket's access logs are kept."
  type        = number
  default     = 365
}
