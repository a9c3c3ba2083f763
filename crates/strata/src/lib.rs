//! strata: PostgreSQL schema and data migrations, for teams that keep a database in a
//! repository. This crate (package `strata-pg`, Rust name `strata`) is what a project links; the
//! `strata` command (package `strata-pg-cli`) is the same command line without project code.
//!
//! # Two halves
//!
//! **Schema migrations from a declared schema.** The schema you want is plain SQL, one folder per
//! PostgreSQL schema (`schemas/questions/schema.sql`). `strata generate` compares it with the
//! migration history (PostgreSQL itself normalises both, in a scratch database) and writes a
//! reviewed, versioned migration (`schema-migrations/0002_reports.sql`); `strata migrate`
//! applies pending ones under a lock, each in a transaction with its history row; `strata push`
//! syncs a development database directly. None of this needs Rust code: the command line does it.
//!
//! **Data migrations.** Reference data, question banks, pilot cohorts: code with `up` and `down`,
//! registered per PostgreSQL schema and tracked in a `data_migrations` table, so one schema's data
//! can be run or rolled back (`cargo db data migrate questions`, `cargo db data reset
//! questions`). They read JSON, NDJSON or CSV from `s3://`, `https://` or `file://` (see
//! [`data::Context`]) and bulk-load with `COPY`, each in one transaction.
//!
//! # A project's crate
//!
//! `strata init` writes it: a `main` that hands the project's data migrations to the command
//! line, so that `cargo db <command>` (an alias in `.cargo/config.toml`) runs every strata
//! command with them:
//!
//! ```no_run
//! use strata::data::{Context, DataMigration, DataResult, Migration, Registry};
//!
//! /// `questions_0001_dem_characteristics`: the demographic questions.
//! struct DemCharacteristics;
//!
//! impl DataMigration for DemCharacteristics {
//!     fn name(&self) -> &str {
//!         "questions_0001_dem_characteristics"
//!     }
//!
//!     async fn up(&self, cx: &mut Context<'_>) -> DataResult {
//!         for label in ["age", "region"] {
//!             cx.execute("INSERT INTO questions.batteries (label) VALUES ($1)", &[&label])
//!                 .await?;
//!         }
//!         Ok(())
//!     }
//!
//!     async fn down(&self, cx: &mut Context<'_>) -> DataResult {
//!         cx.execute("DELETE FROM questions.batteries WHERE label IN ('age', 'region')", &[])
//!             .await?;
//!         Ok(())
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     // Every schema's data migrations, in the order they run.
//!     let registry = Registry::from([("questions", vec![Migration::new(DemCharacteristics)])]);
//!     strata::cli::run(registry)
//! }
//! ```
//!
//! # Where to read on
//!
//! - [`data`]: writing data migrations, their [`Context`](data::Context) (queries, fetching,
//!   bulk loads), SQL migrations and the registry.
//! - [`cli`]: the command line as a library ([`cli::run`], [`cli::run_with_args`]).
//! - [`config`]: `strata.toml` and which database a command uses.
//! - [`fetch`]: what `s3://`, `https://` and `file://` inputs give a migration.
//!
//! The other modules are strata's machinery (introspection, planning, applying, the development
//! database); they are public for strata's own tools and tests and hidden from these pages.
#![warn(missing_docs)]
// The machinery's module pages link to its private helpers for contributors, who read them with
// `cargo doc --document-private-items`.
#![allow(rustdoc::private_intra_doc_links)]

// The pipeline, stage by stage: the project's files (`source`) are normalised by PostgreSQL
// (`normalise`) and read back as catalogs (`introspect`); the pure diff and plan live in
// strata-core; plans and migrations run against a database (`apply`) through connections set
// up as libpq users expect (`postgres`). Around it: the embedded development database (`dev`),
// adopting other tools' projects (`import`), data migrations (`data`, `fetch`), the judge of
// migration files (`lint`), generated Rust types (`codegen`) and the command line (`cli`).
#[doc(hidden)]
pub mod apply;
pub mod cli;
pub mod codegen;
pub mod config;
pub mod data;
#[doc(hidden)]
pub mod dev;
pub mod error;
pub mod fetch;
pub mod import;
#[doc(hidden)]
pub mod introspect;
#[doc(hidden)]
pub mod lint;
#[doc(hidden)]
pub mod normalise;
#[doc(hidden)]
pub mod postgres;
#[doc(hidden)]
pub mod progress;
#[doc(hidden)]
pub mod source;
#[doc(hidden)]
pub mod testing;

pub use error::{Error, Result};
