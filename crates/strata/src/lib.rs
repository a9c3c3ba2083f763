//! strata: PostgreSQL schema and data migrations.
//!
//! This crate is the part of strata that does I/O: configuration, connections, the embedded
//! development cluster, scratch databases and the command line. The pure engine lives in
//! `strata-core`.
//!
//! A project's data-migrations crate calls [`cli::run`] from its `main`; the `strata` binary is the
//! same entry point with an empty registry.
#![warn(missing_docs)]

pub mod apply;
pub mod cache;
pub mod cli;
pub mod config;
pub mod data;
pub mod declared;
pub mod dev;
pub mod down;
pub mod drizzle;
pub mod environment;
pub mod error;
pub mod fetch;
pub mod files;
pub mod fixpoint;
pub mod history;
pub mod introspect;
mod libpq;
pub mod lock;
pub mod migrations;
pub mod pg;
pub mod progress;
pub mod scratch;
pub mod source;
pub mod state;
pub mod testing;
mod tls;
pub mod url;
pub mod verify;

pub use error::{Error, Result};
