//! Typed documents: pure data with serializers, no I/O. The generators build them; tests and
//! snapshots read them.

pub mod iam;
pub mod state_machine;
pub mod workflow;
