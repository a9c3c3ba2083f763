//! The survey database: its data migrations, per PostgreSQL schema.
//!
//! `cargo run -p survey-db -- <strata command>` runs strata with this registry, so
//! `cargo run -p survey-db -- data migrate questions` runs the Rust migrations below.

pub mod data_migrations;

pub use data_migrations::registry;
