//! strata's pure engine: the pieces that need no database and no I/O.
//!
//! The pipeline is source → catalog → diff → plan → render → apply; this crate holds the pure
//! stages so they are unit-tested without a server.
#![warn(missing_docs)]

pub mod catalog;
pub mod codegen;
pub mod diff;
pub mod fixpoint;
pub mod lint;
pub mod plan;
pub mod refs;
pub mod render;
pub mod split;
pub mod sql;
pub mod units;
pub mod words;
