//! Secret redaction, the one mechanism every text passes before it leaves the machine: the review
//! prompt (diff lines, PR title and body, plan summary), the plan comment, log lines, summary JSON
//! and step outputs, and the migration log tail that `migrate` prints and puts in the job summary.
//!
//! Two kinds of finding, each replaced by `[REDACTED:<kind>]` and recorded with where it was:
//!
//! - **the job's own secrets**: the exact values of the environment variables the configuration
//!   names (the review provider's `api_key_env`, every environment's external-id secrets, the
//!   `env:` entries of `plan.masks`), `GITHUB_TOKEN` and the AWS and Actions credentials a job
//!   holds. They are read once at start ([`remember_job_secrets`]); values shorter than
//!   [`MIN_SECRET_LEN`] characters are not masked, since masking `dev` would mangle every text;
//! - **secrets by their shape**: a rule table of the providers a team running Terraform on AWS
//!   from GitHub meets (see [`RULES`]), one tested pattern each. Most lines hold no secret, so one
//!   [`RegexSet`] pass decides whether a line needs the rules at all.

use std::sync::LazyLock;

use regex::{Regex, RegexSet};

/// One redaction: the kind of secret and where it was (`path:line`, `PR body line 3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redaction {
    pub kind: &'static str,
    pub location: String,
}

struct Rule {
    kind: &'static str,
    regex: Regex,
    /// The capture group holding the secret; 0 for the whole match.
    group: usize,
    /// Only redact when the value looks random (assignments whose value may be a variable name).
    needs_entropy: bool,
}

/// The rule table: `(kind, pattern, capture group of the secret, needs entropy)`. The patterns
/// are our own, for the kinds of secrets gitleaks' provider list names; `\b` is an ASCII word
/// boundary (the fast engines handle it on any text). Order matters only where a later rule would
/// match inside an earlier one's secret (Anthropic before OpenAI).
const RULE_TABLE: &[(&str, &str, usize, bool)] = &[
    // PEM blocks (RSA, EC, OpenSSH, PKCS#8, PGP): from BEGIN to END, across lines. A Google
    // service-account JSON holds one on a single line with `\n` escapes.
    (
        "private-key",
        r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY( BLOCK)?-----.*",
        0,
        false,
    ),
    (
        "aws-access-key-id",
        r"\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[0-9A-Z]{16}\b",
        0,
        false,
    ),
    (
        "aws-secret-access-key",
        r#"(?i)(?:aws.{0,24}?(?:secret|sk)|secret_?access_?key)[^\n=:]{0,24}?\s*(?:=|:|=>|:=)\s*["']?([A-Za-z0-9/+=]{40})\b"#,
        1,
        false,
    ),
    // STS session tokens are base64 of a binary blob that starts the same way.
    (
        "aws-session-token",
        r"\b(?:IQoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz)[A-Za-z0-9/+=]{100,}",
        0,
        false,
    ),
    (
        "github-token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
        0,
        false,
    ),
    (
        "gitlab-token",
        r"\b(?:gl(?:pat|ptt|rt|dt|ft|soat|cbt|imt|agent|oas|ffct|wt)-[0-9A-Za-z_\-]{20,}|GR1348941[0-9A-Za-z_\-]{20,})",
        0,
        false,
    ),
    (
        "slack-token",
        r"\b(?:xox[abposre]|xoxe\.xox[bp])-[0-9A-Za-z\-]{10,}|\bxapp-[0-9]-[0-9A-Za-z\-]{10,}",
        0,
        false,
    ),
    (
        "slack-webhook",
        r"\bhooks\.slack(?:-gov)?\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_\-]{20,}",
        0,
        false,
    ),
    (
        "discord-webhook",
        r"\bdiscord(?:app)?\.com/api/webhooks/[0-9]{15,22}/[A-Za-z0-9_\-]{40,}",
        0,
        false,
    ),
    (
        "teams-webhook",
        r"\b[a-z0-9\-]+\.webhook\.office\.com/webhookb2/[A-Za-z0-9@\-/]{40,}",
        0,
        false,
    ),
    ("google-api-key", r"\bAIza[0-9A-Za-z_\-]{35}", 0, false),
    (
        "google-oauth-client-secret",
        r"\bGOCSPX-[0-9A-Za-z_\-]{28}",
        0,
        false,
    ),
    (
        "google-oauth-token",
        r"\bya29\.[0-9A-Za-z_\-]{30,}",
        0,
        false,
    ),
    (
        "azure-storage-key",
        r"(?i)\b(?:AccountKey|SharedAccessKey)\s*=\s*([A-Za-z0-9+/]{40,88}={0,2})",
        1,
        false,
    ),
    (
        "azure-sas-signature",
        r"[?&;]sig=([A-Za-z0-9%+/]{30,}(?:%3D|=){0,2})",
        1,
        false,
    ),
    (
        "azure-ad-client-secret",
        r"\b[A-Za-z0-9_~.\-]{3}[0-9]Q~[A-Za-z0-9_~.\-]{31,34}",
        0,
        false,
    ),
    // Azure OpenAI and Cognitive Services keys are 32 hex digits (or 84 characters): only in a
    // key-like assignment or the `api-key` header, where a hex value is surely the key.
    (
        "azure-openai-key",
        r#"(?i)(?:(?:azure|openai|aoai|cognitive|ocp-apim-subscription)[a-z0-9_.\-]*?(?:key|secret)[a-z0-9_]*|\bapi-key)["']?\s*(?:=|:|=>|:=)\s*["']?([0-9a-z]{84}|[0-9a-f]{32})\b"#,
        1,
        false,
    ),
    ("anthropic-key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}", 0, false),
    (
        "openai-key",
        r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}",
        0,
        false,
    ),
    (
        "stripe-key",
        r"\b(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,247}",
        0,
        false,
    ),
    (
        "stripe-webhook-secret",
        r"\bwhsec_[0-9A-Za-z]{24,}",
        0,
        false,
    ),
    (
        "sendgrid-key",
        r"\bSG\.[0-9A-Za-z_\-]{22}\.[0-9A-Za-z_\-]{43}",
        0,
        false,
    ),
    ("twilio-api-key", r"\bSK[0-9a-f]{32}\b", 0, false),
    (
        "twilio-auth-token",
        r#"(?i)twilio[a-z0-9_.\-]*(?:token|secret)["']?\s*(?:=|:|=>|:=)\s*["']?([0-9a-f]{32})\b"#,
        1,
        false,
    ),
    (
        "mailgun-key",
        r"\bkey-[0-9a-f]{32}\b|\b[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8}\b",
        0,
        false,
    ),
    ("npm-token", r"\bnpm_[0-9A-Za-z]{36}\b", 0, false),
    (
        "npmrc-auth",
        r#"(?:^|[\s:/])_auth(?:Token)?\s*=\s*["']?([^\s"']{16,})"#,
        1,
        true,
    ),
    ("pypi-token", r"\bpypi-AgE[0-9A-Za-z_\-]{50,}", 0, false),
    (
        "dockerhub-token",
        r"\bdckr_(?:pat|oat)_[0-9A-Za-z_\-]{20,}",
        0,
        false,
    ),
    (
        "terraform-cloud-token",
        r"\b[0-9A-Za-z]{14}\.atlasv1\.[0-9A-Za-z_\-=]{60,}",
        0,
        false,
    ),
    ("vault-token", r"\bhv[sbr]\.[0-9A-Za-z_\-]{24,}", 0, false),
    (
        "vault-legacy-token",
        r#"(?i)vault[a-z0-9_]*token["']?\s*(?:=|:|=>|:=)\s*["']?([sb]\.[0-9A-Za-z]{24})\b"#,
        1,
        false,
    ),
    (
        "datadog-key",
        r#"(?i)(?:datadog|\bdd)[a-z0-9_.\-]*?(?:api|app|application)[_\-]?key["']?\s*(?:=|:|=>|:=)\s*["']?([0-9a-f]{40}|[0-9a-f]{32})\b"#,
        1,
        false,
    ),
    ("huggingface-token", r"\bhf_[A-Za-z]{34,40}\b", 0, false),
    (
        "digitalocean-token",
        r"\bdo[por]_v1_[0-9a-f]{64}\b",
        0,
        false,
    ),
    (
        "databricks-token",
        r"\bdapi[0-9a-f]{32}(?:-[0-9])?\b",
        0,
        false,
    ),
    ("new-relic-key", r"\bNRAK-[0-9A-Z]{27}\b", 0, false),
    (
        "grafana-token",
        r"\bglsa_[0-9A-Za-z]{32}_[0-9a-f]{8}\b|\bglc_[0-9A-Za-z+/]{32,}={0,2}",
        0,
        false,
    ),
    (
        "sentry-token",
        r"\bsntry[su]_[0-9A-Za-z+/=_\-]{40,}",
        0,
        false,
    ),
    (
        "doppler-token",
        r"\bdp\.(?:pt|st|sa|ct|scim|audit)\.[0-9A-Za-z]{40,44}\b",
        0,
        false,
    ),
    ("pulumi-token", r"\bpul-[0-9a-f]{40}\b", 0, false),
    (
        "age-secret-key",
        r"\bAGE-SECRET-KEY-1[0-9A-Z]{58}\b",
        0,
        false,
    ),
    (
        "telegram-bot-token",
        r"\b[0-9]{8,10}:AA[0-9A-Za-z_\-]{33}\b",
        0,
        false,
    ),
    (
        "jwt",
        r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
        0,
        false,
    ),
    (
        "basic-auth",
        r#"(?i)\bauthorization["']?\s*[:=]\s*["']?basic\s+([A-Za-z0-9+/]{12,}={0,2})"#,
        1,
        false,
    ),
    (
        "bearer-token",
        r"(?i)\bbearer\s+([A-Za-z0-9_\-.~+/]{20,}=*)",
        1,
        true,
    ),
    (
        "url-password",
        r"(?i)\b[a-z][a-z0-9+.\-]*://[^:/\s@]{1,128}:([^@\s/]{1,256})@",
        1,
        false,
    ),
    // Any other key-like assignment whose value looks random; `var.x`, `${{ secrets.X }}`, ARNs,
    // URLs and words stay readable.
    (
        "password-assignment",
        r#"(?i)[a-z0-9_.\-]*(?:password|passwd|passphrase|pwd|secret|token|api[_\-]?key|apikey|private[_\-]?key|access[_\-]?key|signing[_\-]?key|credential|external[_\-]?id)[a-z0-9_.\-]*["']?\s*(?:=|:|=>|:=)\s*["']?([^\s"'`,;]{8,})"#,
        1,
        true,
    ),
];

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    RULE_TABLE
        .iter()
        .filter_map(|&(kind, pattern, group, needs_entropy)| {
            // The patterns are constants tested below; one that failed to compile would be a bug
            // caught by those tests, so it is skipped instead of aborting a review.
            Regex::new(&ascii_boundaries(pattern))
                .ok()
                .map(|regex| Rule {
                    kind,
                    regex,
                    group,
                    needs_entropy,
                })
        })
        .collect()
});

/// `\b` as an ASCII word boundary: the Unicode one makes the fast regex engines give up on text
/// that is not ASCII, and every secret here is ASCII.
fn ascii_boundaries(pattern: &str) -> String {
    pattern.replace(r"\b", r"(?-u:\b)")
}

/// All patterns at once: most lines hold no secret, and one pass over them is much cheaper than
/// one pass per rule.
static ANY_RULE: LazyLock<Option<RegexSet>> =
    LazyLock::new(|| RegexSet::new(RULES.iter().map(|rule| rule.regex.as_str())).ok());

/// Values shorter than this are not masked as job secrets: a short value is no credential, and
/// masking it would mangle every text it occurs in.
pub const MIN_SECRET_LEN: usize = 8;

/// Environment variables that hold a credential in every job that has them, whatever the
/// configuration says.
const ALWAYS_SECRET: &[&str] = &[
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
];

/// The exact values of the job's secrets, longest first (a secret containing another is
/// replaced whole), with one regex that finds any of them.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    values: Vec<String>,
    any: Option<Regex>,
}

impl Secrets {
    /// From values; empty ones and ones shorter than [`MIN_SECRET_LEN`] are left out. Each is
    /// found as written and as JSON escapes it.
    pub fn new(values: impl IntoIterator<Item = String>) -> Secrets {
        let mut values: Vec<String> = values
            .into_iter()
            .map(|value| value.trim().to_owned())
            .filter(|value| value.chars().count() >= MIN_SECRET_LEN)
            .flat_map(|value| escaped_forms(&value))
            .collect();
        values.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        values.dedup();
        let any = if values.is_empty() {
            None
        } else {
            let alternation: Vec<String> = values.iter().map(|v| regex::escape(v)).collect();
            Regex::new(&alternation.join("|")).ok()
        };
        Secrets { values, any }
    }

    /// The values of the variables named `names` in `env` (the process environment in the
    /// command, a map in tests), plus the credentials every job may hold.
    pub fn from_env<'a>(
        names: impl IntoIterator<Item = &'a str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Secrets {
        let values = names
            .into_iter()
            .chain(ALWAYS_SECRET.iter().copied())
            .filter_map(env)
            .collect::<Vec<_>>();
        Secrets::new(values)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Replaces every occurrence of a value by `replacement`; whether any was found.
    fn replace(&self, text: &str, replacement: &str) -> Option<String> {
        let any = self.any.as_ref()?;
        if !any.is_match(text) {
            return None;
        }
        Some(any.replace_all(text, replacement).into_owned())
    }
}

/// `value` as written and, when they differ, as a JSON string (or terraform's text) writes it
/// (quotes, backslashes and control characters escaped) and as xshell writes an argument with
/// whitespace in a command line (Rust's `escape_default`: also `'` and non-ASCII characters). A
/// secret is masked in each.
pub fn escaped_forms(value: &str) -> Vec<String> {
    let mut forms = vec![value.to_owned()];
    if let Ok(quoted) = serde_json::to_string(value)
        && let Some(inner) = quoted.strip_prefix('"').and_then(|q| q.strip_suffix('"'))
        && inner != value
    {
        forms.push(inner.to_owned());
    }
    let in_command_line = value.escape_default().to_string();
    if !forms.contains(&in_command_line) {
        forms.push(in_command_line);
    }
    forms
}

/// The names of every environment variable the configuration says holds a secret.
pub fn configured_secret_names(config: &crate::config::Config) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    if let Some(name) = config.repo.review.provider.api_key_env() {
        names.push(name.to_string());
    }
    for environment in config.environments.values() {
        let ids = &environment.settings.github.external_id_secrets;
        for name in [&ids.plan, &ids.backend, &ids.deploy, &ids.migrate] {
            names.push(name.to_string());
        }
    }
    for mask in &config.repo.plan.masks {
        if let Ok(crate::config::MaskSpec::Env(name)) = crate::config::MaskSpec::parse(mask) {
            names.push(name);
        }
    }
    names.sort();
    names.dedup();
    names
}

static JOB_SECRETS: std::sync::OnceLock<Secrets> = std::sync::OnceLock::new();

/// Reads the values of the job's secrets (see [`configured_secret_names`] and the credentials
/// every job may hold) from the process environment, and the external ids of the AWS config
/// file, once: every [`Redactor`] made afterwards masks them. Called when the configuration is
/// loaded.
pub fn remember_job_secrets(config: &crate::config::Config) {
    let names = configured_secret_names(config);
    let mut values: Vec<String> = names
        .iter()
        .map(String::as_str)
        .chain(ALWAYS_SECRET.iter().copied())
        .filter_map(|name| std::env::var(name).ok())
        .collect();
    // `aws-profiles` wrote the external ids into the AWS config file in an earlier step, whose
    // environment held them; later steps (terraform plan) need not: the file still tells.
    if let Some(text) =
        crate::aws::aws_config_file().and_then(|path| std::fs::read_to_string(path).ok())
    {
        values.extend(crate::aws_profiles::external_ids(&text));
    }
    let _ = JOB_SECRETS.set(Secrets::new(values));
}

/// The job's secrets, or none before [`remember_job_secrets`] (unit tests, commands without a
/// configuration). Without a configuration, the credentials every job may hold still count.
pub fn job_secrets() -> &'static Secrets {
    JOB_SECRETS.get_or_init(|| Secrets::from_env([], |name| std::env::var(name).ok()))
}

/// Redacts a multi-line text with the rules and the job's secrets, when where the secrets were
/// does not matter (a log line, a plan comment, a step output).
pub fn redact(text: &str) -> String {
    let secrets = job_secrets();
    let any_secret = secrets.any.as_ref().is_some_and(|any| any.is_match(text));
    let any_rule = ANY_RULE.as_ref().is_none_or(|set| set.is_match(text));
    if !any_secret && !any_rule {
        // Most values hold nothing: no allocation per line for them.
        return text.to_owned();
    }
    Redactor::with_secrets(secrets).text(text, "text")
}

/// Only the job's own secret values, for texts that leave through the runner (the job summary,
/// step outputs): a last line of defence behind the redaction of their values.
pub fn mask_job_secrets(text: &str) -> std::borrow::Cow<'_, str> {
    match job_secrets().replace(text, &format!("[REDACTED:{JOB_SECRET}]")) {
        Some(replaced) => std::borrow::Cow::Owned(replaced),
        None => std::borrow::Cow::Borrowed(text),
    }
}

const JOB_SECRET: &str = "job-secret";

const PRIVATE_KEY_END: &str = "PRIVATE KEY";

/// Redacts the lines of one text unit (a file's diff lines, a PR body). `location_of(index)` names
/// where line `index` is. Multi-line private key blocks are redacted from BEGIN to END.
pub struct Redactor<'a> {
    pub redactions: Vec<Redaction>,
    in_private_key: bool,
    secrets: &'a Secrets,
}

impl Default for Redactor<'static> {
    fn default() -> Self {
        Redactor::new()
    }
}

impl Redactor<'static> {
    /// A redactor with the rules and the job's secrets ([`job_secrets`]).
    pub fn new() -> Redactor<'static> {
        Redactor::with_secrets(job_secrets())
    }
}

impl<'a> Redactor<'a> {
    /// A redactor with the rules and these exact values.
    pub fn with_secrets(secrets: &'a Secrets) -> Redactor<'a> {
        Redactor {
            redactions: Vec::new(),
            in_private_key: false,
            secrets,
        }
    }

    /// Starts a new text unit: an unterminated key block does not leak into the next file.
    pub fn reset_block(&mut self) {
        self.in_private_key = false;
    }

    /// Redacts one line, recording findings at `location`.
    pub fn line(&mut self, text: &str, location: impl Fn() -> String) -> String {
        if self.in_private_key {
            if text.contains("-----END") && text.contains(PRIVATE_KEY_END) {
                self.in_private_key = false;
            }
            return "[REDACTED:private-key]".to_owned();
        }
        let owned;
        let text = match self
            .secrets
            .replace(text, &format!("[REDACTED:{JOB_SECRET}]"))
        {
            Some(replaced) => {
                self.redactions.push(Redaction {
                    kind: JOB_SECRET,
                    location: location(),
                });
                owned = replaced;
                owned.as_str()
            }
            None => text,
        };
        if let Some(set) = ANY_RULE.as_ref()
            && !set.is_match(text)
        {
            return text.to_owned();
        }
        let mut out = text.to_owned();
        for rule in RULES.iter() {
            if !rule.regex.is_match(&out) {
                continue;
            }
            let mut replaced = String::with_capacity(out.len());
            let mut last = 0;
            let mut found = false;
            for captures in rule.regex.captures_iter(&out) {
                let Some(secret) = captures.get(rule.group) else {
                    continue;
                };
                if rule.needs_entropy && !looks_random(secret.as_str()) {
                    continue;
                }
                if secret.as_str().starts_with("[REDACTED") {
                    continue;
                }
                replaced.push_str(&out[last..secret.start()]);
                replaced.push_str("[REDACTED:");
                replaced.push_str(rule.kind);
                replaced.push(']');
                last = secret.end();
                found = true;
                if rule.kind == "private-key" {
                    let ends_here = secret.as_str()[5..].contains("-----END");
                    self.in_private_key = !ends_here;
                }
            }
            if found {
                replaced.push_str(&out[last..]);
                out = replaced;
                self.redactions.push(Redaction {
                    kind: rule.kind,
                    location: location(),
                });
            }
        }
        out
    }

    /// Redacts a multi-line text (a PR body), locations `<what> line N`.
    pub fn text(&mut self, text: &str, what: &str) -> String {
        self.reset_block();
        let redacted: Vec<String> = text
            .split('\n')
            .enumerate()
            .map(|(index, line)| self.line(line, || format!("{what} line {}", index + 1)))
            .collect();
        self.reset_block();
        redacted.join("\n")
    }
}

/// Shannon entropy per character, with guards against identifiers and placeholders so that
/// `password = var.db_password` or `token: ${{ secrets.X }}` stay readable.
pub fn looks_random(value: &str) -> bool {
    let value = value.trim_matches(|c| c == '"' || c == '\'');
    if value.len() < 8 || value.starts_with('$') || value.starts_with('{') || value.starts_with('<')
    {
        return false;
    }
    let dotted_identifier = value.split('.').count() > 1
        && value.split('.').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !part.starts_with(|c: char| c.is_ascii_digit())
        });
    if dotted_identifier || value.contains('(') {
        return false;
    }
    // An ARN or a URL without credentials names a thing; the URL rules catch the ones with.
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("arn:")
        || ((lower.starts_with("https://") || lower.starts_with("http://")) && !value.contains('@'))
    {
        return false;
    }
    let has_digit = value.chars().any(|c| c.is_ascii_digit());
    let has_alpha = value.chars().any(|c| c.is_ascii_alphabetic());
    let entropy = shannon_entropy(value);
    // Words like "changeme_please" have letters only; real secrets mix classes or are long and
    // random.
    (entropy >= 3.0 && has_digit && has_alpha) || entropy >= 3.8
}

fn shannon_entropy(value: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    let mut total = 0_u32;
    for ch in value.chars() {
        *counts.entry(ch).or_insert(0_u32) += 1;
        total += 1;
    }
    let total = f64::from(total);
    counts
        .values()
        .map(|&count| {
            let p = f64::from(count) / total;
            -p * p.log2()
        })
        .sum()
}

#[cfg(test)]
mod examples;

#[cfg(test)]
mod tests {
    use super::examples::{ALNUM, B64, HEX, KINDS, UPPER, URLSAFE, case, random};
    use super::*;

    #[test]
    fn a_secret_is_masked_in_a_command_line_as_xshell_writes_it() {
        // xshell quotes an argument with whitespace and escapes it as Rust's `escape_default`
        // does: `'` and non-ASCII characters differ from the JSON form.
        let secret = "it's a pässwörd";
        let secrets = Secrets::new([secret.to_owned()]);
        let sh = xshell::Shell::new().unwrap();
        let line = xshell::cmd!(sh, "tool --password {secret}").to_string();
        assert!(line.contains("\\'"), "{line}");
        assert_eq!(
            secrets.replace(&line, "[REDACTED]").as_deref(),
            Some("tool --password \"[REDACTED]\"")
        );
    }

    fn redact_with(text: &str, secrets: Secrets) -> (String, Vec<&'static str>) {
        let mut redactor = Redactor::with_secrets(&secrets);
        let out = redactor.text(text, "t");
        (out, redactor.redactions.iter().map(|r| r.kind).collect())
    }

    fn redact(text: &str) -> (String, Vec<&'static str>) {
        redact_with(text, Secrets::default())
    }

    fn check_rule(kind: &str) {
        let (line, secret, near) = case(kind);
        let (out, kinds) = redact(&line);
        assert_eq!(kinds.first().copied(), Some(kind), "{line} -> {out}");
        assert!(!out.contains(&secret), "{kind}: {out}");
        assert!(out.contains(&format!("[REDACTED:{kind}]")), "{out}");
        let (out, kinds) = redact(&near);
        assert!(kinds.is_empty(), "{kind} near miss {near} -> {out}");
        assert_eq!(out, near);
    }

    macro_rules! rule_tests {
        ($($name:ident => $kind:literal),* $(,)?) => {
            $(
                #[test]
                fn $name() {
                    check_rule($kind);
                }
            )*
            const TESTED: &[&str] = &[$($kind),*];
        };
    }

    rule_tests! {
        private_key => "private-key",
        aws_access_key_id => "aws-access-key-id",
        aws_secret_access_key => "aws-secret-access-key",
        aws_session_token => "aws-session-token",
        github_token => "github-token",
        gitlab_token => "gitlab-token",
        slack_token => "slack-token",
        slack_webhook => "slack-webhook",
        discord_webhook => "discord-webhook",
        teams_webhook => "teams-webhook",
        google_api_key => "google-api-key",
        google_oauth_client_secret => "google-oauth-client-secret",
        google_oauth_token => "google-oauth-token",
        azure_storage_key => "azure-storage-key",
        azure_sas_signature => "azure-sas-signature",
        azure_ad_client_secret => "azure-ad-client-secret",
        azure_openai_key => "azure-openai-key",
        anthropic_key => "anthropic-key",
        openai_key => "openai-key",
        stripe_key => "stripe-key",
        stripe_webhook_secret => "stripe-webhook-secret",
        sendgrid_key => "sendgrid-key",
        twilio_api_key => "twilio-api-key",
        twilio_auth_token => "twilio-auth-token",
        mailgun_key => "mailgun-key",
        npm_token => "npm-token",
        npmrc_auth => "npmrc-auth",
        pypi_token => "pypi-token",
        dockerhub_token => "dockerhub-token",
        terraform_cloud_token => "terraform-cloud-token",
        vault_token => "vault-token",
        vault_legacy_token => "vault-legacy-token",
        datadog_key => "datadog-key",
        huggingface_token => "huggingface-token",
        digitalocean_token => "digitalocean-token",
        databricks_token => "databricks-token",
        new_relic_key => "new-relic-key",
        grafana_token => "grafana-token",
        sentry_token => "sentry-token",
        doppler_token => "doppler-token",
        pulumi_token => "pulumi-token",
        age_secret_key => "age-secret-key",
        telegram_bot_token => "telegram-bot-token",
        jwt => "jwt",
        basic_auth => "basic-auth",
        bearer_token => "bearer-token",
        url_password => "url-password",
        password_assignment => "password-assignment",
    }

    #[test]
    fn every_rule_compiles_and_has_a_test() {
        assert_eq!(RULES.len(), RULE_TABLE.len(), "a pattern does not compile");
        assert!(ANY_RULE.is_some());
        let mut kinds: Vec<&str> = RULE_TABLE.iter().map(|rule| rule.0).collect();
        kinds.sort_unstable();
        let mut tested = TESTED.to_vec();
        tested.sort_unstable();
        assert_eq!(kinds, tested);
        let mut examples = KINDS.to_vec();
        examples.sort_unstable();
        assert_eq!(kinds, examples);
    }

    #[test]
    fn other_github_token_prefixes() {
        for prefix in ["ghp_", "gho_", "ghu_", "ghr_"] {
            let token = format!("{prefix}{}", random(ALNUM, 36, 70));
            let (out, kinds) = redact(&token);
            assert_eq!(kinds, ["github-token"], "{out}");
        }
        let token = format!(
            "github_pat_{}",
            random(URLSAFE.trim_end_matches('-'), 82, 71)
        );
        assert_eq!(redact(&token).1, ["github-token"]);
    }

    #[test]
    fn more_shapes_of_the_same_kinds() {
        let cases = [
            (
                format!(
                    "xapp-1-{}-{}-{}",
                    random(UPPER, 11, 80),
                    random("0123456789", 13, 81),
                    random(HEX, 64, 82)
                ),
                "slack-token",
            ),
            (
                format!("api-key: {}", random(HEX, 32, 83)),
                "azure-openai-key",
            ),
            (
                format!("datadog_app_key = \"{}\"", random(HEX, 40, 84)),
                "datadog-key",
            ),
            (
                format!(
                    "{}-{}-{}",
                    random(HEX, 32, 85),
                    random(HEX, 8, 86),
                    random(HEX, 8, 87)
                ),
                "mailgun-key",
            ),
            (
                format!(
                    "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\",",
                    random(B64, 64, 88)
                ),
                "private-key",
            ),
            (
                format!("external_id = \"{}\"", random(ALNUM, 24, 89)),
                "password-assignment",
            ),
        ];
        for (text, kind) in cases {
            let (out, kinds) = redact(&text);
            assert_eq!(kinds.first().copied(), Some(kind), "{text} -> {out}");
        }
    }

    #[test]
    fn private_key_blocks_span_lines() {
        let (out, kinds) = redact(
            "before\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\nabc\n-----END RSA PRIVATE KEY-----\nafter",
        );
        assert_eq!(kinds, ["private-key"]);
        assert!(!out.contains("MIIE"));
        assert!(
            out.starts_with("before\n") && out.ends_with("\nafter"),
            "{out}"
        );
    }

    #[test]
    fn ordinary_text_stays() {
        for text in [
            "password = var.db_password",
            "token: ${{ secrets.GITHUB_TOKEN }}",
            "secret_name = \"dev/db-migrate/database-url\"",
            "api_key_env = \"OPENAI_API_KEY\"",
            "password = changeme",
            "let token = get_token(ctx);",
            "secret_arn = \"arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:dev/db-AbC123\"",
            "token_url = \"https://oauth2.googleapis.com/token\"",
            "external_id = var.plan_external_id",
            "commit 3f9c2a7b1e8d3f6a0c5b9e2d7f1a4c8b9e2d7f1a",
            "unique_id = \"AROAZ7QWERTYUIOP12345\"",
            "  + id = (known after apply)",
            "ユーザー名 = 山田",
        ] {
            let (out, kinds) = redact(text);
            assert!(kinds.is_empty(), "{text} -> {out}");
        }
    }

    #[test]
    fn the_job_secrets_are_masked_exactly_wherever_they_are() {
        let secrets = Secrets::from_env(
            ["DEV_PLAN_EXTERNAL_ID", "SHORT", "EMPTY", "UNSET"],
            |name| match name {
                "DEV_PLAN_EXTERNAL_ID" => Some("plan-ext-7f3a9c".to_owned()),
                "SHORT" => Some("dev".to_owned()),
                "EMPTY" => Some(String::new()),
                "GITHUB_TOKEN" => Some("ghs_jobtoken0123456789".to_owned()),
                _ => None,
            },
        );
        let (out, kinds) = redact_with(
            "id=plan-ext-7f3a9c, in a word xplan-ext-7f3a9cx; dev stays; token ghs_jobtoken0123456789",
            secrets,
        );
        assert_eq!(
            out,
            "id=[REDACTED:job-secret], in a word x[REDACTED:job-secret]x; dev stays; token [REDACTED:job-secret]"
        );
        assert_eq!(kinds, ["job-secret"]);
        assert!(Secrets::new(["short".to_owned(), String::new()]).is_empty());
    }

    #[test]
    fn configured_names_cover_every_secret_of_the_config() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(std::path::Path::to_path_buf)
            .unwrap_or_default();
        let config = crate::config::Config::discover(&root).unwrap();
        let names = configured_secret_names(&config);
        for name in [
            "OPENAI_API_KEY",
            "DEV_PLAN_EXTERNAL_ID",
            "DEV_BACKEND_EXTERNAL_ID",
            "DEV_DEPLOY_EXTERNAL_ID",
            "DEV_MIGRATE_EXTERNAL_ID",
        ] {
            assert!(names.iter().any(|n| n == name), "{name}: {names:?}");
        }
    }
}
