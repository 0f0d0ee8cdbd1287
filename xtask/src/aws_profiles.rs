//! The AWS profiles of an environment's role chain, as the article's
//! `generate_aws_credential_string` action meant them, done safely: values come from the typed
//! configuration and the environment (never interpolated into a script), the file is rewritten
//! in place with only our profiles replaced, and it is readable by its owner only.

use std::fmt::Write as _;

use crate::config::{Environment, SecretName};
use crate::environment::{Arns, Role, profile_backend, profile_deploy, profile_migrate};

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
            Purpose::Deploy => Role::ApplyEntry,
            Purpose::Migrate => Role::ProtectedEntry,
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

/// Where a chained profile gets the credentials it assumes its role with (`credential_source` or
/// `source_profile`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleChainSource {
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
        role_arn: Arns::new(environment).role(role),
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
pub fn render_profile(profile: &Profile, external_id: &str, source: &RoleChainSource) -> String {
    let mut section = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(section, "[profile {}]", profile.name);
    let _ = writeln!(section, "role_arn = {}", profile.role_arn);
    let _ = writeln!(section, "external_id = {external_id}");
    match source {
        RoleChainSource::Environment => {
            let _ = writeln!(section, "credential_source = Environment");
        }
        RoleChainSource::Profile(name) => {
            let _ = writeln!(section, "source_profile = {name}");
        }
    }
    let _ = writeln!(section, "role_session_name = {}", profile.session_name);
    let _ = writeln!(section, "region = {}", profile.region);
    section
}

/// What a section header line of an AWS config file names, read the way the AWS CLI and the SDKs
/// read it: `[profile NAME]` (any spacing inside the brackets, a tab or several spaces after
/// `profile`), `[default]`, and other sections (`[sso-session x]`, `[services x]`, or a bare
/// `[name]`, which is no profile). A `#` or `;` comment may follow the `]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SectionHeader<'a> {
    /// `[profile NAME]`, or `[default]` (as `default`).
    Profile(&'a str),
    /// Any other section, by its text inside the brackets.
    Other(&'a str),
}

/// The one parser of AWS config section headers in the crate; `None` for a line that is not one.
pub fn section_header(line: &str) -> Option<SectionHeader<'_>> {
    let line = line.trim();
    let rest = line.strip_prefix('[')?;
    let close = rest.find(']')?;
    let after = rest[close + 1..].trim_start();
    if !(after.is_empty() || after.starts_with('#') || after.starts_with(';')) {
        return None;
    }
    let inner = rest[..close].trim();
    if inner == "default" {
        return Some(SectionHeader::Profile(inner));
    }
    match inner.strip_prefix("profile") {
        Some(name) if name.starts_with([' ', '\t']) => {
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                Some(SectionHeader::Other(inner))
            } else {
                Some(SectionHeader::Profile(name))
            }
        }
        _ => Some(SectionHeader::Other(inner)),
    }
}

/// Whether the AWS config file text defines the profile `name`.
pub fn config_defines_profile(config_text: &str, name: &str) -> bool {
    config_text
        .lines()
        .any(|line| section_header(line) == Some(SectionHeader::Profile(name)))
}

/// Every `external_id` value in an AWS config file's text: secrets of whichever job wrote them.
pub fn external_ids(config_text: &str) -> Vec<String> {
    config_text
        .lines()
        .filter_map(|line| {
            let (key, value) = line.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case("external_id")
                .then(|| value.trim().to_owned())
        })
        .filter(|value| !value.is_empty())
        .collect()
}

/// Why an external id cannot be written into a profile, or `None` when it can. AWS accepts 2 to
/// 1224 characters of `A-Z a-z 0-9 _ + = , . @ : / -`; anything else (a line break, a NUL, any
/// control character) would at best fail at AssumeRole and at worst add lines to the config file
/// (a `credential_process` that runs a command). The message never contains the value.
pub fn external_id_problem(value: &str) -> Option<String> {
    if value.is_empty() {
        return Some("is empty".to_owned());
    }
    if let Some((index, c)) = value.char_indices().find(|(_, c)| c.is_control()) {
        return Some(format!(
            "contains a control character (U+{:04X}) at byte {index}",
            u32::from(c)
        ));
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c);
    if let Some((index, c)) = value.char_indices().find(|(_, c)| !allowed(*c)) {
        return Some(format!(
            "contains `{}` at byte {index}, which AWS does not accept in an external id (A-Z, a-z, 0-9 and _+=,.@:/-)",
            c.escape_default()
        ));
    }
    let length = value.chars().count();
    if !(2..=1224).contains(&length) {
        return Some(format!(
            "is {length} characters long; AWS accepts 2 to 1224"
        ));
    }
    None
}

/// Replaces the sections named in `sections` (a list of `(name, text)`, each text `\n`-terminated
/// lines) in an AWS config file's text, and appends the ones that were not there.
///
/// Everything that is not one of our sections stays byte for byte: blank lines, comments, line
/// ends, a missing final newline. Our section runs from its header to the next header, except the
/// blank and comment lines right before that header (they belong to what follows). Our text is
/// written with the file's line end (CRLF when its first line ends so). A second copy of one of our
/// sections is removed.
pub fn merge_sections(existing: &str, sections: &[(String, String)]) -> String {
    let crlf = existing
        .find('\n')
        .is_some_and(|at| existing[..at].ends_with('\r'));
    let eol = if crlf { "\r\n" } else { "\n" };
    let with_eol = |text: &str| -> String {
        if crlf {
            text.replace("\r\n", "\n").replace('\n', "\r\n")
        } else {
            text.to_owned()
        }
    };
    let is_filler = |line: &str| {
        let trimmed = line.trim();
        trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';')
    };

    let mut out = String::with_capacity(existing.len());
    let mut written: Vec<&str> = Vec::new();
    // Inside one of our sections: its lines are held back until we know whether they are the
    // filler before the next header (kept) or the section's own (dropped).
    let mut ours = false;
    let mut held = String::new();
    for line in existing.split_inclusive('\n') {
        let header = section_header(line);
        if ours {
            if header.is_none() {
                if is_filler(line) {
                    held.push_str(line);
                } else {
                    held.clear();
                }
                continue;
            }
            out.push_str(&held);
            held.clear();
            ours = false;
        }
        if let Some(SectionHeader::Profile(name)) = header
            && let Some((name, text)) = sections.iter().find(|(n, _)| n == name)
        {
            if !written.contains(&name.as_str()) {
                out.push_str(&with_eol(text));
                written.push(name);
            }
            ours = true;
            continue;
        }
        out.push_str(line);
    }
    out.push_str(&held);

    for (name, text) in sections {
        if written.contains(&name.as_str()) {
            continue;
        }
        if !out.is_empty() {
            if !out.ends_with('\n') {
                out.push_str(eol);
            }
            // A blank line before our section, unless the file already ends with one.
            if !out.ends_with(&format!("{eol}{eol}")) {
                out.push_str(eol);
            }
        }
        out.push_str(&with_eol(text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry role a purpose's token is exchanged for is the one every role of its profiles
    /// chains from ([`Role::entry`]), so the profiles never point at a role the entry cannot
    /// reach: apply through the apply entry, migrate through the protected one.
    #[test]
    fn each_purpose_chains_only_from_its_entry_role() {
        let temp = crate::config::tests::repo();
        let config = crate::config::Config::load(temp.path()).unwrap();
        let environment = config.environment("dev").unwrap();
        let arns = Arns::new(environment);
        assert_eq!(Purpose::Deploy.entry_role(), Role::ApplyEntry);
        assert_eq!(Purpose::Migrate.entry_role(), Role::ProtectedEntry);
        for purpose in [Purpose::Plan, Purpose::Deploy, Purpose::Migrate] {
            let profiles = profiles_for(environment, purpose, "s");
            assert!(!profiles.is_empty(), "{purpose:?}");
            for profile in profiles {
                let role = Role::ALL
                    .into_iter()
                    .find(|role| arns.role(*role) == profile.role_arn)
                    .unwrap();
                assert_eq!(role.entry(), Some(purpose.entry_role()), "{purpose:?}");
            }
        }
    }

    #[test]
    fn section_headers_as_the_cli_reads_them() {
        use SectionHeader::{Other, Profile};
        for (line, expected) in [
            ("[profile x]", Some(Profile("x"))),
            ("  [ profile   x ]  ", Some(Profile("x"))),
            ("[profile\tx]\r\n", Some(Profile("x"))),
            (
                "[profile prod-admin] # break-glass",
                Some(Profile("prod-admin")),
            ),
            ("[profile x];c", Some(Profile("x"))),
            ("[default]", Some(Profile("default"))),
            ("[ default ] # mine", Some(Profile("default"))),
            ("[x]", Some(Other("x"))),
            ("[profilex]", Some(Other("profilex"))),
            ("[sso-session corp]", Some(Other("sso-session corp"))),
            ("[profile a b]", Some(Other("profile a b"))),
            ("[profile x] trailing", None),
            ("role_arn = [x]", None),
            ("# [profile x]", None),
            ("[profile x", None),
        ] {
            assert_eq!(section_header(line), expected, "{line:?}");
        }
    }

    #[test]
    fn finds_named_profiles_only() {
        let text =
            "[default]\nregion = x\n[profile dev-db-migrate]\nrole_arn = a\n[profile other]\n";
        assert!(config_defines_profile(text, "dev-db-migrate"));
        assert!(config_defines_profile(text, "default"));
        assert!(!config_defines_profile(text, "dev-db"));
        assert!(!config_defines_profile(
            "[dev-db-migrate]\n",
            "dev-db-migrate"
        ));
        assert!(config_defines_profile("  [ profile   x ]  \n", "x"));
        assert!(config_defines_profile("[profile x] # note\r\n", "x"));
    }

    #[test]
    fn external_ids_are_read_from_every_profile() {
        let text = "[default]\nregion = x\n[profile a]\nexternal_id = id-one\r\n[profile b]\n  External_Id=id-two  \nrole_arn = r\n";
        assert_eq!(external_ids(text), ["id-one", "id-two"]);
    }

    #[test]
    fn external_ids_aws_accepts_only() {
        for good in ["ab", "ext-0f3c9a7d", "a_b+c=d,e.f@g:h/i-j"] {
            assert_eq!(external_id_problem(good), None, "{good}");
        }
        for bad in [
            "",
            "a",
            "ext\n[profile x]",
            "ext\r",
            "ext\0",
            "ext\t",
            "\u{7f}ab",
            "ab\u{85}",
            "ab\u{2028}",
            "a b",
            "ab;c",
            "ab#c",
        ] {
            let problem = external_id_problem(bad);
            assert!(problem.is_some(), "{bad:?}");
        }
        assert!(external_id_problem(&"a".repeat(1225)).is_some());
        // The message never repeats the value.
        let problem = external_id_problem("secret\nvalue").unwrap_or_default();
        assert!(!problem.contains("secret"), "{problem}");
    }

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
