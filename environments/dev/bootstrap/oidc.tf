# GitHub's OIDC issuer. The entry roles' generated trust policies accept its tokens only for this
# repository and only with the subject claims the workflows use (pull requests, or the protected
# environment). An account has one provider per issuer URL: the first environment in an account
# creates it, the others (create_github_oidc_provider = false) look it up.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 1 : 0

  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_github_oidc_provider ? 0 : 1

  url = "https://token.actions.githubusercontent.com"
}

locals {
  github_oidc_provider_arn = (var.create_github_oidc_provider
    ? aws_iam_openid_connect_provider.github[0].arn
    : data.aws_iam_openid_connect_provider.github[0].arn
  )
}
