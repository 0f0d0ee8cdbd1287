//! `terraform plan` as data: the plan JSON model, the summary with Terraform's counting, masks,
//! and the renderers of the PR comment. Everything here is pure; `commands::plan` runs terraform
//! and talks to GitHub.

pub mod bench;
pub mod digest;
pub mod errors;
pub mod mask;
pub mod model;
pub mod record;
pub mod render;
pub mod summary;
pub mod synthetic;

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
