//! `cargo xtask ci`: the one command that runs every check CI runs, on a fresh machine or a
//! developer's, and `cargo xtask bench build`, the cold-build benchmark.
//!
//! - [`stage`]: the named stages and `--only`/`--skip` selection;
//! - [`tools`]: installs the Python venv and npm packages under `target/ci` when their pins change;
//! - [`test_counts`], [`zizmor`]: read the runners' closing lines;
//! - [`report`]: the summary and the closing `ci: N passed, M failed` line;
//! - [`pipeline`]: runs the stages in order;
//! - [`build_bench`]: the cold build of the xtask, timed and its dependency graph counted.

pub mod build_bench;
pub mod pipeline;
pub mod report;
pub mod stage;
pub mod test_counts;
pub mod tools;
pub mod zizmor;
