//! `cargo xtask migrate`: build and push the migration image, run it through the state machine and
//! report how it really ended.

use std::io::{IsTerminal, Write as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;

use crate::aws::{self, SignedJsonClient};
use crate::config::{Config, Environment, HumanDuration};
use crate::environment::{Arns, follow_timeout, profile_migrate};
use crate::failure::{FailureKind, Outcome, fail};
use crate::migrate::docker::Docker;
use crate::migrate::ecr::registry_login;
use crate::migrate::execution::{
    self, DescribeExecution, RegisteredTaskDefinition, caller_identity, complete_task_facts,
    read_history, register_task_definition, running_executions, start_execution, stop_execution,
};
use crate::migrate::poll::{Clock, ExecutionState, FollowEnd, Progress, Terminal, follow};
use crate::migrate::report::{
    Ending, Report, RunPlan, execution_input, execution_name, failure_kind, failure_summary,
    render_dry_run, render_progress, render_report, render_step_summary,
};
use crate::migrate::source;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The environment to migrate.
    #[arg(long = "env", value_name = "NAME")]
    pub env: String,
    /// Print the build, push and start it would do; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Start the execution and return without following it.
    #[arg(long)]
    pub no_wait: bool,
    /// How long to follow the execution (default: one minute past the state machine's own limit,
    /// `migration.timeout` plus the notifications).
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<HumanDuration>,
    /// Start even while another execution of the state machine is running.
    #[arg(long)]
    pub force: bool,
    /// On Ctrl-C, stop the execution instead of leaving it running.
    #[arg(long)]
    pub stop_on_interrupt: bool,
}

pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let config = super::load_config()?;
    let env = config.environment(&args.env)?.clone();
    let plan = plan(&config, &env, &args)?;
    if args.dry_run {
        print!("{}", render_dry_run(&plan));
        return Ok(Outcome::Success);
    }
    let runtime = crate::runtime::current_thread()?;
    runtime.block_on(migrate(&config, &env, &plan, &args))
}

fn plan(config: &Config, env: &Environment, args: &Args) -> anyhow::Result<RunPlan> {
    let git_sha = source::head_commit(&config.root)?;
    let docker_dir = env.docker_dir();
    let dockerfile = config.root.join(&docker_dir).join("Dockerfile");
    if !dockerfile.is_file() {
        return Err(fail(
            FailureKind::Config,
            format!(
                "{} does not exist: the migration image of `{}` is built from {}",
                dockerfile.display(),
                env.name,
                docker_dir.display()
            ),
        ));
    }
    if source::has_uncommitted_changes(&config.root, &docker_dir)? {
        eprintln!(
            "warning: {} has uncommitted changes; the image tagged {git_sha} will contain them",
            docker_dir.display()
        );
    }
    // The profile `cargo xtask aws-profiles --purpose migrate` writes, when it exists.
    let profile = profile_migrate(env);
    let migration = &env.settings.migration;
    let arns = Arns::new(env);
    Ok(RunPlan {
        env: env.name.clone(),
        requested_by: source::requested_by(|name| std::env::var(name).ok()),
        image: arns.ecr_image(),
        registry: arns.ecr_registry(),
        docker_dir: docker_dir.to_string_lossy().into_owned(),
        task_family: migration.task_family.to_string(),
        container_name: migration.container_name.to_string(),
        state_machine_arn: arns.state_machine(),
        timeout: args
            .timeout
            .map_or_else(|| follow_timeout(migration), |t| t.0),
        profile: aws::profile_exists(&profile).then_some(profile),
        git_sha,
    })
}

async fn refuse_if_running(
    sfn: &aws_sdk_sfn::Client,
    plan: &RunPlan,
    force: bool,
) -> anyhow::Result<()> {
    let running = running_executions(sfn, &plan.state_machine_arn).await?;
    if running.is_empty() {
        return Ok(());
    }
    if force {
        eprintln!(
            "warning: --force: starting although {} execution(s) are RUNNING: {}",
            running.len(),
            running.join(", ")
        );
        return Ok(());
    }
    Err(fail(
        FailureKind::OperationFailed,
        format!(
            "another migration of `{}` is RUNNING ({}); two migrations must not race. Wait for it to end, or pass --force",
            plan.env,
            running.join(", ")
        ),
    ))
}

async fn migrate(
    config: &Config,
    env: &Environment,
    plan: &RunPlan,
    args: &Args,
) -> anyhow::Result<Outcome> {
    let (sdk_config, credentials) =
        aws::load_sdk_config(env.region(), plan.profile.as_deref()).await;
    let identity = caller_identity(&sdk_config).await?;
    println!("AWS identity: {identity} (from {credentials})");
    let sfn = aws_sdk_sfn::Client::new(&sdk_config);
    let signed = SignedJsonClient::new(&sdk_config)?;
    if !args.force {
        // Checked before the build too, so a refusal costs no build.
        refuse_if_running(&sfn, plan, false).await?;
    }

    let docker = Docker::new(&config.root);
    let nothing_started = "nothing was started in AWS";
    let login = registry_login(&signed)
        .await
        .with_context(|| format!("logging in to ECR; {nothing_started}"))?;
    docker.login(&login).context(nothing_started)?;
    println!("Building {}", plan.tagged_image());
    docker
        .build(&plan.build_argv())
        .with_context(|| format!("building the migration image; {nothing_started}"))?;
    let image = docker
        .push(&plan.tagged_image())
        .with_context(|| format!("pushing the migration image; {nothing_started}"))?;
    println!("Pushed {image}");

    let migration = &env.settings.migration;
    let task_definition = register_task_definition(
        &signed,
        &migration.task_family,
        &migration.container_name,
        &image,
    )
    .await?;
    println!("Registered task definition {}", task_definition.arn);
    refuse_if_running(&sfn, plan, args.force).await?;
    let input = execution_input(
        &task_definition.arn,
        &image,
        &plan.git_sha,
        &plan.requested_by,
    );
    // Milliseconds: a `--force` run of the same commit can start within the same second.
    let unix_millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let name = execution_name(&env.name, &plan.git_sha, unix_millis);
    let execution_arn = start_execution(&sfn, &plan.state_machine_arn, &name, &input).await?;
    println!("Started execution {execution_arn}");
    if args.no_wait {
        return Ok(Outcome::Success);
    }

    let followed = Followed {
        sfn: &sfn,
        signed: &signed,
        env,
        plan,
        execution_arn: &execution_arn,
        task_definition: &task_definition,
        image: &image,
    };
    let report = followed.follow_and_report(args.stop_on_interrupt).await?;
    print!("{}", render_report(&report));
    crate::github_actions::append_step_summary(&render_step_summary(&report))?;
    // How the migration ended is the answer, not an error of this command.
    Ok(match failure_kind(report.ending) {
        None => Outcome::Success,
        Some(kind) => Outcome::Unsuccessful {
            kind,
            summary: failure_summary(&report),
        },
    })
}

/// The real clock, from when following started.
struct RealClock(tokio::time::Instant);

impl Clock for RealClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }

    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

struct Followed<'a> {
    sfn: &'a aws_sdk_sfn::Client,
    signed: &'a SignedJsonClient,
    env: &'a Environment,
    plan: &'a RunPlan,
    execution_arn: &'a str,
    task_definition: &'a RegisteredTaskDefinition,
    image: &'a str,
}

impl Followed<'_> {
    async fn follow_and_report(&self, stop_on_interrupt: bool) -> anyhow::Result<Report> {
        let clock = RealClock(tokio::time::Instant::now());
        let mut source = DescribeExecution {
            sfn: self.sfn,
            execution_arn: self.execution_arn,
            calls: 0,
        };
        let mut printer = ProgressPrinter::new(is_interactive());
        let end = tokio::select! {
            end = follow(&mut source, &clock, self.plan.timeout, |p| printer.show(p)) => Some(end),
            _ = tokio::signal::ctrl_c() => None,
        };
        printer.finish();
        // Losing track of the execution must not read as its failure: say it may still run.
        let end = end
            .transpose()
            .with_context(|| {
                format!(
                    "following {0}; it may still be running: aws stepfunctions describe-execution --execution-arn {0} --region {1}",
                    self.execution_arn,
                    self.env.region()
                )
            })?;
        let ending = match end {
            Some(FollowEnd::Ended(terminal)) => Ending::Ended(terminal),
            Some(FollowEnd::Deadline) => Ending::StillRunning {
                timeout: self.plan.timeout,
            },
            None if stop_on_interrupt => {
                stop_execution(self.sfn, self.execution_arn).await?;
                Ending::InterruptedStopped
            }
            None => Ending::InterruptedLeftRunning,
        };
        let mut report = Report {
            env: self.env.name.clone(),
            region: self.env.region().to_owned(),
            execution_arn: self.execution_arn.to_owned(),
            image: self.image.to_owned(),
            task_definition: self.task_definition.arn.clone(),
            git_sha: self.plan.git_sha.clone(),
            profile: self.plan.profile.clone(),
            ending,
            elapsed: clock.elapsed(),
            error: None,
            cause: None,
            task: None,
        };
        if matches!(ending, Ending::Ended(t) if t != Terminal::Succeeded) {
            self.explain_failure(&mut report).await;
        }
        Ok(report)
    }

    /// Error, cause, the task's exit code and its last log lines. What cannot be read becomes a
    /// note: the ending is known and must be reported either way.
    async fn explain_failure(&self, report: &mut Report) {
        let migration = &self.env.settings.migration;
        let mut outcome =
            match read_history(self.sfn, self.execution_arn, &migration.container_name).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    let mut outcome = execution::Outcome::default();
                    outcome.task.notes.push(format!("{error:#}"));
                    outcome
                }
            };
        if outcome.error.is_none()
            && outcome.cause.is_none()
            && let Ok((error, cause)) =
                execution::describe_failure(self.sfn, self.execution_arn).await
        {
            outcome.error = error;
            outcome.cause = cause;
        }
        complete_task_facts(
            self.signed,
            &mut outcome.task,
            &migration.ecs_cluster,
            &migration.container_name,
            &self.task_definition.document,
            &migration.log_group,
        )
        .await;
        report.error = outcome.error;
        report.cause = outcome.cause;
        let task = outcome.task;
        if task.task_arn.is_some() || !task.notes.is_empty() {
            report.task = Some(task);
        }
    }
}

/// In a terminal: one line rewritten in place. In CI or a pipe: a plain line when the state
/// changes and about once a minute otherwise.
struct ProgressPrinter {
    interactive: bool,
    last_state: Option<ExecutionState>,
    last_line_at: Duration,
    printed_inline: bool,
}

impl ProgressPrinter {
    fn new(interactive: bool) -> ProgressPrinter {
        ProgressPrinter {
            interactive,
            last_state: None,
            last_line_at: Duration::ZERO,
            printed_inline: false,
        }
    }

    fn show(&mut self, progress: &Progress) {
        let line = render_progress(progress);
        if self.interactive {
            eprint!("\r\x1b[2K{line}");
            let _ = std::io::stderr().flush();
            self.printed_inline = true;
        } else if self.last_state != Some(progress.state)
            || progress.elapsed >= self.last_line_at + Duration::from_secs(60)
        {
            eprintln!("{line}");
            self.last_line_at = progress.elapsed;
        }
        self.last_state = Some(progress.state);
    }

    fn finish(&mut self) {
        if self.printed_inline {
            eprintln!();
            self.printed_inline = false;
        }
    }
}

fn is_interactive() -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    !ci && std::io::stderr().is_terminal()
}
