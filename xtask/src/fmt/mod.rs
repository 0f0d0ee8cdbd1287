//! `terraform fmt` as review suggestions: the fmt diff split into change blocks, the lines a pull
//! request's diff lets us comment on, and the suggestion comments with fingerprints. Pure.

pub mod diff;
pub mod suggest;
