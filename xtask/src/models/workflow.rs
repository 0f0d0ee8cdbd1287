//! A GitHub Actions workflow and composite action, as typed Rust.
//!
//! Only the keys GitHub knows exist as fields, so a misspelt key (`path:` for `paths:`) does not
//! compile. Maps keep insertion order so the YAML reads in the order a person would write it.

use indexmap::IndexMap;
use serde::Serialize;
use serde_saphyr::Commented;

/// `.github/workflows/*.yml`.
#[derive(Debug, Clone, Serialize)]
pub struct Workflow {
    pub name: String,
    pub on: Triggers,
    /// Top-level permissions; the generators always set `{}` and grant per job.
    pub permissions: Permissions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, String>,
    pub jobs: IndexMap<String, Job>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Triggers {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub push: Option<PushTrigger>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<PullRequestTrigger>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue_comment: Option<IssueCommentTrigger>,
    /// A comment on a diff line (its `types` are the same as an issue comment's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pull_request_review_comment: Option<IssueCommentTrigger>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<Schedule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow_dispatch: Option<WorkflowDispatch>,
}

/// One `schedule:` entry: five cron fields, in UTC.
#[derive(Debug, Clone, Serialize)]
pub struct Schedule {
    pub cron: String,
}

/// `workflow_dispatch:`, `{}` without inputs.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WorkflowDispatch {
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub inputs: IndexMap<String, DispatchInput>,
}

/// An input of a manual run. Its value reaches a script only through `env:`, like any
/// expression.
#[derive(Debug, Clone, Serialize)]
pub struct DispatchInput {
    pub description: String,
    pub required: bool,
    #[serde(rename = "type")]
    pub kind: DispatchInputType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// The values of a `choice` input.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DispatchInputType {
    Choice,
    String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PushTrigger {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PullRequestTrigger {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<PullRequestActivity>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub branches: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestActivity {
    Opened,
    Reopened,
    Synchronize,
    ReadyForReview,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct IssueCommentTrigger {
    pub types: Vec<IssueCommentActivity>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueCommentActivity {
    Created,
}

/// A `permissions:` map; each grant carries a comment saying why the job needs it. Empty
/// serializes as `{}` (no permission at all).
pub type Permissions = IndexMap<Scope, Commented<Access>>;

/// Builds a [`Permissions`] map from `(scope, access, why)` grants.
pub fn permissions(grants: &[(Scope, Access, &str)]) -> Permissions {
    grants
        .iter()
        .map(|(scope, access, why)| (*scope, Commented(*access, (*why).to_owned())))
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    Actions,
    Contents,
    IdToken,
    Issues,
    PullRequests,
    Statuses,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    Read,
    Write,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Concurrency {
    pub group: String,
    pub cancel_in_progress: bool,
}

impl Concurrency {
    /// A newer run cancels the one in progress (plans, reviews, checks).
    pub fn cancel_older(group: impl Into<String>) -> Concurrency {
        Concurrency {
            group: group.into(),
            cancel_in_progress: true,
        }
    }

    /// A newer run waits for the one in progress (migrations, which must never overlap).
    pub fn queue(group: impl Into<String>) -> Concurrency {
        Concurrency {
            group: group.into(),
            cancel_in_progress: false,
        }
    }
}

impl Workflow {
    /// A workflow that grants nothing at the top level; each job asks for what it needs. Without a
    /// workflow-level concurrency group, every job must have its own.
    pub fn new(
        name: &str,
        on: Triggers,
        concurrency: Option<Concurrency>,
        jobs: Vec<(&str, Job)>,
    ) -> Workflow {
        Workflow {
            name: name.to_owned(),
            on,
            permissions: Permissions::new(),
            concurrency,
            env: IndexMap::new(),
            jobs: jobs
                .into_iter()
                .map(|(id, job)| (id.to_owned(), job))
                .collect(),
        }
    }
}

impl Triggers {
    /// `pull_request` with these activity types, limited to `paths` when not empty.
    pub fn pull_request(types: &[PullRequestActivity], paths: Vec<String>) -> Triggers {
        Triggers {
            pull_request: Some(PullRequestTrigger {
                types: types.to_vec(),
                branches: Vec::new(),
                paths,
            }),
            ..Triggers::default()
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Job {
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    pub runs_on: String,
    pub timeout_minutes: u32,
    pub permissions: Permissions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<Concurrency>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<Strategy>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub outputs: IndexMap<String, String>,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, String>,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Strategy {
    pub fail_fast: bool,
    pub matrix: IndexMap<String, MatrixValues>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum MatrixValues {
    List(Vec<String>),
    /// An expression such as `${{ fromJSON(needs.affected.outputs.environments) }}`.
    Expression(String),
}

/// One step of a job or of a composite action.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Step {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: String,
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(flatten)]
    pub action: StepAction,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum StepAction {
    Uses {
        uses: Commented<String>,
        #[serde(skip_serializing_if = "IndexMap::is_empty")]
        with: IndexMap<String, String>,
    },
    /// A local action (`./.github/actions/...`), which has no version to pin.
    UsesLocal {
        uses: String,
        #[serde(skip_serializing_if = "IndexMap::is_empty")]
        with: IndexMap<String, String>,
    },
    Run {
        shell: Shell,
        #[serde(rename = "working-directory", skip_serializing_if = "Option::is_none")]
        working_directory: Option<String>,
        run: String,
    },
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Shell {
    Bash,
}

/// `.github/actions/<name>/action.yml` of a composite action.
#[derive(Debug, Clone, Serialize)]
pub struct CompositeAction {
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "IndexMap::is_empty")]
    pub inputs: IndexMap<String, ActionInput>,
    pub runs: CompositeRuns,
}

#[derive(Debug, Clone, Serialize)]
pub struct ActionInput {
    pub description: String,
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompositeRuns {
    pub using: Composite,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Composite {
    Composite,
}

impl Step {
    /// A `run:` step. Values from expressions must reach the script through `env`, never inline.
    pub fn run(name: &str, script: &str) -> Step {
        Step {
            id: None,
            name: name.to_owned(),
            condition: None,
            action: StepAction::Run {
                shell: Shell::Bash,
                working_directory: None,
                run: script.to_owned(),
            },
            env: IndexMap::new(),
        }
    }

    /// A step that uses a local action of this repository.
    pub fn local(name: &str, path: &str) -> Step {
        Step {
            id: None,
            name: name.to_owned(),
            condition: None,
            action: StepAction::UsesLocal {
                uses: path.to_owned(),
                with: IndexMap::new(),
            },
            env: IndexMap::new(),
        }
    }

    /// A step that uses a remote action pinned to a commit, with its version in a comment.
    pub fn pinned(name: &str, pin: &crate::generate::pins::Pin) -> Step {
        Step {
            id: None,
            name: name.to_owned(),
            condition: None,
            action: StepAction::Uses {
                uses: Commented(format!("{}@{}", pin.action, pin.sha), pin.tag.clone()),
                with: IndexMap::new(),
            },
            env: IndexMap::new(),
        }
    }

    pub fn with_id(mut self, id: &str) -> Step {
        self.id = Some(id.to_owned());
        self
    }

    pub fn named(mut self, name: &str) -> Step {
        name.clone_into(&mut self.name);
        self
    }

    pub fn when(mut self, condition: &str) -> Step {
        self.condition = Some(condition.to_owned());
        self
    }

    pub fn env(mut self, key: &str, value: impl Into<String>) -> Step {
        self.env.insert(key.to_owned(), value.into());
        self
    }

    /// Adds a `with:` input; a no-op on `run:` steps, which take none.
    pub fn input(mut self, key: &str, value: impl Into<String>) -> Step {
        match &mut self.action {
            StepAction::Uses { with, .. } | StepAction::UsesLocal { with, .. } => {
                with.insert(key.to_owned(), value.into());
            }
            StepAction::Run { .. } => {}
        }
        self
    }

    pub fn in_dir(mut self, dir: &str) -> Step {
        if let StepAction::Run {
            working_directory, ..
        } = &mut self.action
        {
            *working_directory = Some(dir.to_owned());
        }
        self
    }
}
