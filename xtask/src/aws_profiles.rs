//! The AWS profiles of an environment's role chain, as the article's
//! `generate_aws_credential_string` action meant them, done safely: values come from the typed
//! configuration and the environment (never interpolated into a script), the file is rewritten
//! in place with only our profiles replaced, and it is readable by its owner only.

use std::fmt::Write as _;

use crate::config::{Environment, SecretName};
use crate::generate::iam::Role;
use crate::generate::terraform::{profile_backend, profile_deploy, profile_migrate};

/// What a job is about to do, which decides the roles its profiles point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Purpose {
    /// `terraform plan` on a pull request: backend and provider both use the read-only plan role.
    Plan,
    /// `terraform apply`: the backend role for the state, the deploy role for the provider.
    Deploy,
    /// `cargo xtask migrate`: the migration role.
    Migrate,
    /// The AI review on Bedrock: only the entry role, no chained profile.
    Review,
}

impl Purpose {
    /// The OIDC entry role the job's token is exchanged for.
    pub fn entry_role(self) -> Role {
        match self {
            Purpose::Plan | Purpose::Review => Role::PullRequestEntry,
            Purpose::Deploy | Purpose::Migrate => Role::ProtectedEntry,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Purpose::Plan => "plan",
            Purpose::Deploy => "deploy",
            Purpose::Migrate => "migrate",
            Purpose::Review => "review",
        }
    }
}

/// Where a chained profile gets the credentials it assumes the role with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// The `AWS_*` environment variables (set by the OIDC exchange in CI).
    Environment,
    /// Another profile of the same file (a developer's own SSO or access-key profile).
    Profile(String),
}

/// One `[profile NAME]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub role_arn: String,
    /// The environment variable that holds the external id.
    pub external_id_env: SecretName,
    pub region: String,
    pub session_name: String,
}

/// The profiles a job of `purpose` needs in `environment`.
pub fn profiles_for(
    environment: &Environment,
    purpose: Purpose,
    session_name: &str,
) -> Vec<Profile> {
    let secrets = &environment.settings.github.external_id_secrets;
    let profile = |name: String, role: Role, external_id_env: &SecretName| Profile {
        name,
        role_arn: environment.role_arn(role.name(environment)),
        external_id_env: external_id_env.clone(),
        region: environment.region().to_owned(),
        session_name: session_name.to_owned(),
    };
    match purpose {
        Purpose::Plan => vec![
            profile(profile_backend(environment), Role::Plan, &secrets.plan),
            profile(profile_deploy(environment), Role::Plan, &secrets.plan),
        ],
        Purpose::Deploy => vec![
            profile(
                profile_backend(environment),
                Role::Backend,
                &secrets.backend,
            ),
            profile(profile_deploy(environment), Role::Deploy, &secrets.deploy),
        ],
        Purpose::Migrate => vec![profile(
            profile_migrate(environment),
            Role::Migrate,
            &secrets.migrate,
        )],
        Purpose::Review => Vec::new(),
    }
}

/// Renders one section. `external_id` is the value read from `external_id_env`.
pub fn render_profile(profile: &Profile, external_id: &str, source: &CredentialSource) -> String {
    let mut section = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(section, "[profile {}]", profile.name);
    let _ = writeln!(section, "role_arn = {}", profile.role_arn);
    let _ = writeln!(section, "external_id = {external_id}");
    match source {
        CredentialSource::Environment => {
            let _ = writeln!(section, "credential_source = Environment");
        }
        CredentialSource::Profile(name) => {
            let _ = writeln!(section, "source_profile = {name}");
        }
    }
    let _ = writeln!(section, "role_session_name = {}", profile.session_name);
    let _ = writeln!(section, "region = {}", profile.region);
    section
}

/// Replaces the sections named in `sections` (a list of `(name, text)`) in an AWS config file's
/// text, keeping everything else as it was, and appends the ones that were not there.
pub fn merge_sections(existing: &str, sections: &[(String, String)]) -> String {
    let header_name = |line: &str| -> Option<String> {
        let trimmed = line.trim();
        let inner = trimmed.strip_prefix('[')?.strip_suffix(']')?.trim();
        Some(
            inner
                .strip_prefix("profile ")
                .unwrap_or(inner)
                .trim()
                .to_owned(),
        )
    };
    let mut out = String::new();
    let mut written = Vec::new();
    let mut skipping = false;
    for line in existing.lines() {
        if let Some(name) = header_name(line) {
            // Every section, ours or not, is separated from the previous one by a blank line,
            // which the replaced section's own trailing blank line no longer provides.
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            }
            skipping = false;
            if let Some((_, text)) = sections.iter().find(|(n, _)| *n == name) {
                out.push_str(text);
                written.push(name);
                skipping = true;
                continue;
            }
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    for (name, text) in sections {
        if !written.contains(name) {
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            }
            out.push_str(text);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_our_sections_and_keeps_the_rest() {
        let existing = "[default]\nregion = us-east-1\n\n[profile dev-terraform-backend]\nrole_arn = old\n\n[profile sso]\nsso_start_url = https://x\n";
        let merged = merge_sections(
            existing,
            &[
                (
                    "dev-terraform-backend".to_owned(),
                    "[profile dev-terraform-backend]\nrole_arn = new\n".to_owned(),
                ),
                (
                    "dev-terraform-deploy".to_owned(),
                    "[profile dev-terraform-deploy]\nrole_arn = deploy\n".to_owned(),
                ),
            ],
        );
        assert_eq!(
            merged,
            "[default]\nregion = us-east-1\n\n[profile dev-terraform-backend]\nrole_arn = new\n\n[profile sso]\nsso_start_url = https://x\n\n[profile dev-terraform-deploy]\nrole_arn = deploy\n"
        );
        // Merging again changes nothing.
        let again = merge_sections(
            &merged,
            &[(
                "dev-terraform-deploy".to_owned(),
                "[profile dev-terraform-deploy]\nrole_arn = deploy\n".to_owned(),
            )],
        );
        assert_eq!(again, merged);
    }
}
