//! The parts of `cargo xtask migrate`: build and push the image, register a task definition for
//! it, start the state machine, follow the execution and tell how it ended.
//!
//! - [`docker`]: the docker client (argv only; the registry password on stdin).
//! - [`source`]: the git commit that names the image.
//! - [`ecr`], [`task_definition`], [`execution`]: the AWS calls and the pure transformations of
//!   their documents.
//! - [`poll`]: the poll schedule and the follow loop, generic over the clock so it can be
//!   benchmarked with a simulated one ([`bench`]).
//! - [`report`]: pure renderers of the plan, the progress and every way an execution can end.

pub mod bench;
pub mod docker;
pub mod ecr;
pub mod execution;
pub mod poll;
pub mod report;
pub mod source;
pub mod task_definition;
