# GitHub's OIDC issuer. The entry roles' generated trust policies accept its tokens only for this
# repository and only with the subject claims the workflows use (pull requests, or the protected
# environment).
resource "aws_iam_openid_connect_provider" "github" {
  url            = "https://token.actions.githubusercontent.com"
  client_id_list = ["sts.amazonaws.com"]
}
