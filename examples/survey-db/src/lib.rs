//! The survey database: its data migrations, per PostgreSQL schema.
//!
//! `cargo run -p survey-db -- <strata command>` runs strata with this registry, so
//! `cargo run -p survey-db -- data migrate questions` runs the Rust migrations below.

pub mod data_migrations;
/// The Rust types of the declared schema, written by `cargo db codegen` (and `generate`, `push`).
pub mod schema;

pub use data_migrations::registry;
