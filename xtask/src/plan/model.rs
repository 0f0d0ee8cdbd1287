//! The plan model: the parts of `terraform show -json` the summary, the change-set digest and
//! drift read. It lives in its own small crate (`xtask/plan-model`) so that the debug build users
//! run (`cargo xtask`) parses plans optimised: serde's visitors are compiled where the model is
//! (see `[profile.dev.package.xtask-plan-model]` in the workspace manifest).

pub use xtask_plan_model::*;
