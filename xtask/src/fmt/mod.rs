//! `terraform fmt` as review suggestions: the file as committed and fmt's output compared line by
//! line into changes, and the committable suggestions (with fingerprints) for those of them a pull
//! request's diff lets us comment on. Pure. The diff is `review::diff`'s, the suggestion comments
//! `review::suggestion`'s.

pub mod lines;
pub mod suggest;
