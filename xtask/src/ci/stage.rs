//! The named stages of `cargo xtask ci`, in the order they run, and the `--only`/`--skip` selection.

use std::fmt;
use std::str::FromStr;

/// One step of the CI run. The order of [`Stage::ALL`] is the order they run in: cheap checks first,
/// so a formatting slip fails in seconds instead of after the test suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Installs the Python venv, the npm packages and the workflow validator bundle.
    Setup,
    Fmt,
    Clippy,
    GenWorkflows,
    Tests,
    Zizmor,
    WorkflowParser,
    TerraformFmt,
    LambdaTests,
    Checkov,
}

impl Stage {
    pub const ALL: [Stage; 10] = [
        Stage::Setup,
        Stage::Fmt,
        Stage::Clippy,
        Stage::GenWorkflows,
        Stage::Tests,
        Stage::Zizmor,
        Stage::WorkflowParser,
        Stage::TerraformFmt,
        Stage::LambdaTests,
        Stage::Checkov,
    ];

    /// The name used on the command line and in the summary.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Setup => "setup",
            Stage::Fmt => "fmt",
            Stage::Clippy => "clippy",
            Stage::GenWorkflows => "gen-workflows",
            Stage::Tests => "tests",
            Stage::Zizmor => "zizmor",
            Stage::WorkflowParser => "workflow-parser",
            Stage::TerraformFmt => "terraform-fmt",
            Stage::LambdaTests => "lambda-tests",
            Stage::Checkov => "checkov",
        }
    }

    /// What the stage runs, for `--help` and the summary.
    pub fn describe(self) -> &'static str {
        match self {
            Stage::Setup => "Python venv (moto, zizmor, checkov), npm packages, workflow validator",
            Stage::Fmt => "cargo fmt --all -- --check",
            Stage::Clippy => "cargo clippy --all-targets -- -D warnings",
            Stage::GenWorkflows => "cargo xtask gen-workflows --check",
            Stage::Tests => {
                "cargo nextest run --workspace (or cargo test) with the stand-ins required"
            }
            Stage::Zizmor => "zizmor --offline .github: zero findings at the default persona",
            Stage::WorkflowParser => "GitHub's workflow parser on every workflow and action",
            Stage::TerraformFmt => "terraform fmt -check -recursive environments",
            Stage::LambdaTests => "node --test in every environments/*/lambda_function",
            Stage::Checkov => "checkov on environments (environments/.checkov.yaml)",
        }
    }

    /// The tools a stage needs from the setup stage.
    pub fn needs(self) -> Needs {
        match self {
            // The test suite starts moto from the venv and runs the validator bundle.
            Stage::Tests => Needs {
                python_tools: true,
                workflow_validator: true,
                project_npm_packages: true,
            },
            Stage::Zizmor | Stage::Checkov => Needs {
                python_tools: true,
                ..Needs::NOTHING
            },
            Stage::WorkflowParser => Needs {
                workflow_validator: true,
                ..Needs::NOTHING
            },
            Stage::LambdaTests => Needs {
                project_npm_packages: true,
                ..Needs::NOTHING
            },
            Stage::Setup
            | Stage::Fmt
            | Stage::Clippy
            | Stage::GenWorkflows
            | Stage::TerraformFmt => Needs::NOTHING,
        }
    }
}

/// What the setup stage has to install for the selected stages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// The venv with moto, zizmor and checkov.
    pub python_tools: bool,
    /// The npm packages and the bundle of the workflow validator.
    pub workflow_validator: bool,
    /// `npm ci` of the project's own Node packages (the Prisma migration app into
    /// `target/ci/node`, each Lambda with a lockfile in place).
    pub project_npm_packages: bool,
}

impl Needs {
    pub const NOTHING: Needs = Needs {
        python_tools: false,
        workflow_validator: false,
        project_npm_packages: false,
    };

    pub fn union(self, other: Needs) -> Needs {
        Needs {
            python_tools: self.python_tools || other.python_tools,
            workflow_validator: self.workflow_validator || other.workflow_validator,
            project_npm_packages: self.project_npm_packages || other.project_npm_packages,
        }
    }

    /// Everything the given stages need.
    pub fn of(stages: &[Stage]) -> Needs {
        stages
            .iter()
            .fold(Needs::NOTHING, |needs, stage| needs.union(stage.needs()))
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Stage {
    type Err = String;

    fn from_str(text: &str) -> Result<Stage, String> {
        Stage::ALL
            .into_iter()
            .find(|stage| stage.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Stage::ALL.iter().map(|stage| stage.name()).collect();
                format!("unknown stage `{text}` (stages: {})", names.join(", "))
            })
    }
}

/// The stages to run, in order: all of them, or those of `only`, minus those of `skip`.
/// With `only`, setup is added (it installs only what the chosen stages need) unless skipped.
pub fn select(only: &[Stage], skip: &[Stage]) -> Vec<Stage> {
    Stage::ALL
        .into_iter()
        .filter(|stage| only.is_empty() || only.contains(stage) || *stage == Stage::Setup)
        .filter(|stage| !skip.contains(stage))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_stage_name_parses_back() {
        for stage in Stage::ALL {
            assert_eq!(stage.name().parse::<Stage>(), Ok(stage));
        }
    }

    #[test]
    fn an_unknown_stage_lists_the_known_ones() {
        let error = "zizmo".parse::<Stage>().unwrap_err();
        assert!(error.contains("unknown stage `zizmo`"), "{error}");
        assert!(error.contains("zizmor"), "{error}");
    }

    #[test]
    fn selection_keeps_the_run_order() {
        assert_eq!(select(&[], &[]), Stage::ALL.to_vec());
        assert_eq!(
            select(&[Stage::Zizmor, Stage::Fmt], &[]),
            vec![Stage::Setup, Stage::Fmt, Stage::Zizmor]
        );
        assert_eq!(
            select(&[Stage::Zizmor], &[Stage::Setup]),
            vec![Stage::Zizmor]
        );
        let without_tests = select(&[], &[Stage::Tests, Stage::Checkov]);
        assert!(!without_tests.contains(&Stage::Tests));
        assert!(!without_tests.contains(&Stage::Checkov));
        assert_eq!(without_tests.len(), Stage::ALL.len() - 2);
    }

    #[test]
    fn setup_installs_only_what_the_selected_stages_need() {
        assert_eq!(Needs::of(&[Stage::Fmt, Stage::Clippy]), Needs::NOTHING);
        let needs = Needs::of(&[Stage::WorkflowParser, Stage::Zizmor]);
        assert!(needs.python_tools && needs.workflow_validator && !needs.project_npm_packages);
        let all = Needs::of(&Stage::ALL);
        assert!(all.python_tools && all.workflow_validator && all.project_npm_packages);
    }
}
