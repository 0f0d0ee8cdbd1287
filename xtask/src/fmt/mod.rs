//! `terraform fmt` as review suggestions: the file as committed and fmt's output compared line by
//! line into changes, the lines a pull request's diff lets us comment on, and the suggestion
//! comments with fingerprints. Pure.

pub mod diff;
pub mod lines;
pub mod suggest;
