//! Synthetic secrets, one per redaction rule: a line holding a realistic secret of that kind, the
//! secret itself, and a near miss that must stay as it is. Shared by the rule tests
//! (`redact::tests`) and the end-to-end test that plants them in a diff (`tests/redaction.rs`,
//! through `include!`), so it uses nothing but `std`. Prefixes are split so that secret scanners
//! reading this file see no token.

#![allow(dead_code)]

/// Every kind [`case`] knows; `redact::tests` checks that it is the rule table's list.
pub const KINDS: &[&str] = &[
    "private-key",
    "aws-access-key-id",
    "aws-secret-access-key",
    "aws-session-token",
    "github-token",
    "gitlab-token",
    "slack-token",
    "slack-webhook",
    "discord-webhook",
    "teams-webhook",
    "google-api-key",
    "google-oauth-client-secret",
    "google-oauth-token",
    "azure-storage-key",
    "azure-sas-signature",
    "azure-ad-client-secret",
    "azure-openai-key",
    "anthropic-key",
    "openai-key",
    "stripe-key",
    "stripe-webhook-secret",
    "sendgrid-key",
    "twilio-api-key",
    "twilio-auth-token",
    "mailgun-key",
    "npm-token",
    "npmrc-auth",
    "pypi-token",
    "dockerhub-token",
    "terraform-cloud-token",
    "vault-token",
    "vault-legacy-token",
    "datadog-key",
    "huggingface-token",
    "digitalocean-token",
    "databricks-token",
    "new-relic-key",
    "grafana-token",
    "sentry-token",
    "doppler-token",
    "pulumi-token",
    "age-secret-key",
    "telegram-bot-token",
    "jwt",
    "basic-auth",
    "bearer-token",
    "url-password",
    "password-assignment",
];

pub fn random(alphabet: &str, len: usize, seed: u64) -> String {
    // A fixed pseudo-random string, so that no real-looking token sits in the source.
    let chars: Vec<char> = alphabet.chars().collect();
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let index = usize::try_from(state >> 33).unwrap_or(0) % chars.len();
            chars[index]
        })
        .collect()
}

pub const ALNUM: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
pub const HEX: &str = "0123456789abcdef";
pub const B64: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
pub const URLSAFE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
pub const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// Per rule: a line holding a realistic synthetic secret of that kind, the secret itself (which
/// must be gone), and a near miss that must stay as it is. Prefixes are split so that secret
/// scanners reading this file see no token.
pub fn case(kind: &str) -> (String, String, String) {
    let r = random;
    let (line, secret, near): (String, String, String) = match kind {
        "private-key" => {
            let body = r(B64, 64, 1);
            (
                format!(
                    "{}\n{body}\n-----END OPENSSH PRIVATE KEY-----",
                    concat!("-----BEGIN OPENSSH ", "PRIVATE KEY-----")
                ),
                body,
                "-----BEGIN PUBLIC KEY-----".into(),
            )
        }
        "aws-access-key-id" => {
            let key = format!("{}{}", "AKIA", r(UPPER, 16, 2));
            (
                format!("key = {key}"),
                key.clone(),
                format!("tag {}", &key[..18]),
            )
        }
        "aws-secret-access-key" => {
            let key = r(B64, 40, 3);
            (
                format!("aws_secret_access_key = {key}"),
                key,
                "aws_secret_access_key = var.aws_secret_access_key".into(),
            )
        }
        "aws-session-token" => {
            let token = format!("{}{}", "IQoJb3JpZ2lu", r(B64, 300, 4));
            (
                format!("export X={token}"),
                token,
                format!("IQoJb3JpZ2lu{}", r(B64, 20, 4)),
            )
        }
        "github-token" => {
            let token = format!("{}{}", "gh", format_args!("s_{}", r(ALNUM, 36, 5)));
            (
                format!("t {token}"),
                token,
                format!("ghx_{}", r(ALNUM, 36, 5)),
            )
        }
        "gitlab-token" => {
            let token = format!("{}{}", "glpat", format_args!("-{}", r(URLSAFE, 20, 6)));
            (format!("GITLAB_TOKEN {token}"), token, "glpat-short".into())
        }
        "slack-token" => {
            let token = format!(
                "{}-{}-{}-{}",
                "xoxb",
                r("0123456789", 11, 7),
                r("0123456789", 13, 8),
                r(ALNUM, 24, 9)
            );
            (format!("slack: {token}"), token, "xoxq-1234567890".into())
        }
        "slack-webhook" => {
            let url = format!(
                "https://{}.com/services/T{}/B{}/{}",
                "hooks.slack",
                r(UPPER, 8, 10),
                r(UPPER, 10, 11),
                r(ALNUM, 24, 12)
            );
            (
                format!("webhook_url = \"{url}\""),
                url,
                "see https://hooks.slack.com/services/ for setup".into(),
            )
        }
        "discord-webhook" => {
            let url = format!(
                "https://{}.com/api/webhooks/{}/{}",
                "discord",
                r("0123456789", 18, 13),
                r(URLSAFE, 68, 14)
            );
            (
                url.clone(),
                url,
                "https://discord.com/api/webhooks/{id}/{token}".into(),
            )
        }
        "teams-webhook" => {
            let url = format!(
                "https://acme.{}.com/webhookb2/{}@{}/IncomingWebhook/{}/{}",
                "webhook.office",
                r(HEX, 32, 15),
                r(HEX, 32, 16),
                r(HEX, 32, 17),
                r(HEX, 32, 18)
            );
            (url.clone(), url, "https://acme.webhook.office.com/".into())
        }
        "google-api-key" => {
            let key = format!("{}{}", "AIza", r(URLSAFE, 35, 19));
            (format!("key={key}"), key, "AIzaShort".into())
        }
        "google-oauth-client-secret" => {
            let secret = format!("{}{}", "GOCSPX", format_args!("-{}", r(URLSAFE, 28, 20)));
            (
                format!("\"client_id\": \"x\", \"c\": \"{secret}\""),
                secret,
                "GOCSPX-abc".into(),
            )
        }
        "google-oauth-token" => {
            let token = format!("{}{}", "ya29", format_args!(".{}", r(URLSAFE, 60, 21)));
            (format!("token {token}"), token, "ya29.short".into())
        }
        "azure-storage-key" => {
            let key = format!("{}==", r(B64, 86, 22));
            (
                format!(
                    "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={key};EndpointSuffix=core.windows.net"
                ),
                key,
                "AccountKey=<your key>".into(),
            )
        }
        "azure-sas-signature" => {
            let sig = format!("{}%3D", r(ALNUM, 43, 23));
            (
                format!(
                    "https://acme.blob.core.windows.net/c?sv=2022-11-02&ss=b&srt=o&sp=r&sig={sig}"
                ),
                sig,
                "?sig=abc".into(),
            )
        }
        "azure-ad-client-secret" => {
            let secret = format!("{}8Q~{}", r(ALNUM, 3, 24), r(ALNUM, 34, 25));
            (
                format!("ARM_CLIENT_SECRET {secret}"),
                secret,
                "a8Q~short".into(),
            )
        }
        "azure-openai-key" => {
            let key = r(HEX, 32, 26);
            (
                format!("AZURE_OPENAI_API_KEY={key}"),
                key.clone(),
                format!("commit = {key}"),
            )
        }
        "anthropic-key" => {
            let key = format!(
                "{}{}",
                "sk-ant",
                format_args!("-api03-{}", r(URLSAFE, 40, 27))
            );
            (
                format!("ANTHROPIC_API_KEY {key}"),
                key,
                "sk-ant-short".into(),
            )
        }
        "openai-key" => {
            let key = format!("{}{}", "sk-proj", format_args!("-{}", r(URLSAFE, 48, 28)));
            (
                format!("OPENAI {key}"),
                key,
                "risk-assessment-for-the-migration-plan".into(),
            )
        }
        "stripe-key" => {
            let key = format!("{}{}", "sk_li", format_args!("ve_{}", r(ALNUM, 24, 29)));
            (
                format!("stripe {key}"),
                key,
                format!("pk_live_{}", r(ALNUM, 24, 29)),
            )
        }
        "stripe-webhook-secret" => {
            let secret = format!("{}{}", "whsec", format_args!("_{}", r(ALNUM, 32, 30)));
            (format!("signing {secret}"), secret, "whsec_abc".into())
        }
        "sendgrid-key" => {
            let key = format!("{}{}.{}", "SG.", r(URLSAFE, 22, 31), r(URLSAFE, 43, 32));
            (format!("SENDGRID {key}"), key, "SG.abc.def".into())
        }
        "twilio-api-key" => {
            let key = format!("{}{}", "SK", r(HEX, 32, 33));
            (
                format!("twilio sid {key}"),
                key,
                format!("SKU{}", r(HEX, 31, 33)),
            )
        }
        "twilio-auth-token" => {
            let token = r(HEX, 32, 34);
            (
                format!("TWILIO_AUTH_TOKEN: {token}"),
                token,
                "TWILIO_AUTH_TOKEN: ${TWILIO_AUTH_TOKEN}".into(),
            )
        }
        "mailgun-key" => {
            let key = format!("{}{}", "key", format_args!("-{}", r(HEX, 32, 35)));
            (format!("mailgun {key}"), key, "a key-value store".into())
        }
        "npm-token" => {
            let token = format!("{}{}", "npm", format_args!("_{}", r(ALNUM, 36, 36)));
            (
                format!("NPM {token}"),
                token,
                "npm_config_cache=/tmp/npm".into(),
            )
        }
        "npmrc-auth" => {
            let token = format!(
                "{}-{}-4{}-a{}-{}",
                r(HEX, 8, 37),
                r(HEX, 4, 38),
                r(HEX, 3, 39),
                r(HEX, 3, 40),
                r(HEX, 12, 41)
            );
            (
                format!("//registry.npmjs.org/:_authToken={token}"),
                token,
                "//registry.npmjs.org/:_authToken=${NPM_TOKEN}".into(),
            )
        }
        "pypi-token" => {
            let token = format!("{}{}", "pypi-AgEI", r(URLSAFE, 80, 42));
            (format!("password = {token}"), token, "pypi-AgE".into())
        }
        "dockerhub-token" => {
            let token = format!("{}{}", "dckr", format_args!("_pat_{}", r(URLSAFE, 27, 43)));
            (
                format!("docker login -p {token}"),
                token,
                "dckr_pat_x".into(),
            )
        }
        "terraform-cloud-token" => {
            let token = format!("{}.{}.{}", r(ALNUM, 14, 44), "atlasv1", r(ALNUM, 67, 45));
            (
                format!("token = \"{token}\""),
                token,
                "foo.atlasv1.bar".into(),
            )
        }
        "vault-token" => {
            let token = format!("{}{}", "hvs", format_args!(".{}", r(URLSAFE, 90, 46)));
            (format!("VAULT {token}"), token, "hvs.short".into())
        }
        "vault-legacy-token" => {
            let token = format!("s.{}", r(ALNUM, 24, 47));
            (
                format!("VAULT_TOKEN={token}"),
                token,
                "VAULT_TOKEN=s.short".into(),
            )
        }
        "datadog-key" => {
            let key = r(HEX, 32, 48);
            (
                format!("DD_API_KEY={key}"),
                key,
                "DD_SITE=datadoghq.eu".into(),
            )
        }
        "huggingface-token" => {
            let token = format!(
                "{}{}",
                "hf",
                format_args!(
                    "_{}",
                    r(
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                        34,
                        49
                    )
                )
            );
            (format!("HF {token}"), token, "hf_hub_download(repo)".into())
        }
        "digitalocean-token" => {
            let token = format!("{}{}", "dop", format_args!("_v1_{}", r(HEX, 64, 50)));
            (format!("DO {token}"), token, "dop_v1_abc".into())
        }
        "databricks-token" => {
            let token = format!("{}{}", "dapi", r(HEX, 32, 51));
            (format!("DATABRICKS {token}"), token, "dapi-gateway".into())
        }
        "new-relic-key" => {
            let key = format!("{}{}", "NRAK", format_args!("-{}", r(UPPER, 27, 52)));
            (format!("NR {key}"), key, "NRAK-SHORT".into())
        }
        "grafana-token" => {
            let token = format!("{}{}_{}", "glsa_", r(ALNUM, 32, 53), r(HEX, 8, 54));
            (format!("GRAFANA {token}"), token, "glsa_short".into())
        }
        "sentry-token" => {
            let token = format!("{}{}", "sntrys", format_args!("_{}", r(B64, 80, 55)));
            (format!("SENTRY {token}"), token, "sntrys_x".into())
        }
        "doppler-token" => {
            let token = format!("{}{}", "dp.pt", format_args!(".{}", r(ALNUM, 43, 56)));
            (format!("DOPPLER {token}"), token, "dp.pt.short".into())
        }
        "pulumi-token" => {
            let token = format!("{}{}", "pul", format_args!("-{}", r(HEX, 40, 57)));
            (format!("PULUMI {token}"), token, "pul-request".into())
        }
        "age-secret-key" => {
            let key = format!("{}{}", "AGE-SECRET-KEY-1", r(UPPER, 58, 58));
            (key.clone(), key, "AGE-SECRET-KEY-1SHORT".into())
        }
        "telegram-bot-token" => {
            let token = format!("{}:AA{}", r("0123456789", 10, 59), r(URLSAFE, 33, 60));
            (format!("bot {token}"), token, "ratio 12:AAbc".into())
        }
        "jwt" => {
            let token = format!(
                "eyJ{}.eyJ{}.{}",
                r(URLSAFE, 20, 61),
                r(URLSAFE, 30, 62),
                r(URLSAFE, 43, 63)
            );
            (
                format!("Authorization: Bearer {token}"),
                token,
                "header eyJhbGciOiJIUzI1NiJ9 alone".into(),
            )
        }
        "basic-auth" => {
            let value = format!("{}==", r(B64, 22, 64));
            (
                format!("Authorization: Basic {value}"),
                value,
                "Authorization: Basic realm".into(),
            )
        }
        "bearer-token" => {
            let token = r(HEX, 40, 65);
            (
                format!("curl -H 'Authorization: Bearer {token}'"),
                token,
                "Bearer token authentication is used here".into(),
            )
        }
        "url-password" => (
            "postgres://app:S3cr3tPassw0rd@db:5432/app".into(),
            "S3cr3tPassw0rd".into(),
            "postgres://app@db:5432/app".into(),
        ),
        "password-assignment" => (
            "db_password = \"Zx81kP0qLm2v\"".into(),
            "Zx81kP0qLm2v".into(),
            "password = var.db_password".into(),
        ),
        other => panic!("no test case for rule {other}"),
    };
    (line, secret, near)
}
