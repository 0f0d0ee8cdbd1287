//! The change-set digest `apply` compares: kept in the plan-model crate beside the model it is
//! computed from, so that the debug build computes it optimised (see [`super::model`]).

pub use xtask_plan_model::digest::*;
