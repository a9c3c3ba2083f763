//! Data migrations: code (or SQL files) with `up` and `down` that populate or change data,
//! organised per PostgreSQL schema and tracked in the `data_migrations` table.
//!
//! A migration is named `{schema}_{NNNN}_{description}` and runs in one transaction together with
//! its tracking row. A project's crate lists its migrations per schema and hands the registry to
//! [`crate::cli::run`]:
//!
//! ```no_run
//! use strata::data::{Context, DataMigration, DataResult, Migration, Registry};
//!
//! struct DemCharacteristics;
//!
//! impl DataMigration for DemCharacteristics {
//!     fn name(&self) -> &str {
//!         "questions_0001_dem_characteristics"
//!     }
//!
//!     async fn up(&self, cx: &mut Context<'_>) -> DataResult {
//!         cx.execute("INSERT INTO questions.batteries (name) VALUES ('demographics')", &[])
//!             .await?;
//!         Ok(())
//!     }
//!
//!     async fn down(&self, cx: &mut Context<'_>) -> DataResult {
//!         cx.execute("DELETE FROM questions.batteries WHERE name = 'demographics'", &[])
//!             .await?;
//!         Ok(())
//!     }
//! }
//!
//! fn registry() -> Registry {
//!     Registry::from([("questions", vec![Migration::new(DemCharacteristics)])])
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     strata::cli::run(registry())
//! }
//! ```
//!
//! SQL migrations are files `data-migrations/<schema>/NNNN_description.up.sql` (and
//! `.down.sql`; without one the migration is irreversible). The `strata` binary finds them on
//! disk; a crate may also include them with [`sql_migration!`](crate::sql_migration).

mod context;
mod engine;
mod registry;

pub use context::{Context, CopyIn};
pub use engine::{Applied, DataStatus, Tracking};
pub(crate) use engine::{MigrateOutcome, migrate, reset, reset_plan};
pub use registry::{Migration, Registry, SqlMigration, parse_name};

use std::future::Future;

/// The error a migration's `up` or `down` returns: anything that is an error (`?` works on
/// database, JSON and I/O errors alike).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What `up` and `down` return.
pub type DataResult<T = ()> = std::result::Result<T, BoxError>;

/// A data migration written in Rust.
///
/// `up` and `down` run inside the migration's transaction (see [`Context`]); an error rolls it
/// back, tracking row included. A migration that cannot be undone says so with
/// [`DataMigration::reversible`]; `strata data reset` stops there.
#[allow(async_fn_in_trait)] // run on strata's own single-threaded runtime: no Send bound needed
pub trait DataMigration {
    /// `{schema}_{NNNN}_{description}`, unique in the project.
    fn name(&self) -> &str;

    /// Applies the change.
    fn up(&self, cx: &mut Context<'_>) -> impl Future<Output = DataResult>;

    /// Undoes it.
    fn down(&self, cx: &mut Context<'_>) -> impl Future<Output = DataResult>;

    /// Whether `down` undoes `up` (default: yes).
    fn reversible(&self) -> bool {
        true
    }

    /// The URLs `up` reads (`s3://…`, `https://…`), downloaded before its transaction opens so
    /// that the transaction never waits on the network; their ETags are recorded with the
    /// migration. `data migrate` checks the AWS login before the first migration that declares
    /// an `s3://` input.
    fn inputs(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Includes a SQL migration of `data-migrations/<schema>/` in a Rust registry, reading the files
/// at compile time: `sql_migration!("questions", "0002_fix_codes")` includes
/// `0002_fix_codes.up.sql` and `0002_fix_codes.down.sql` from the crate's `data-migrations`
/// folder. `sql_migration!("questions", "0003_import", irreversible)` has no down file.
#[macro_export]
macro_rules! sql_migration {
    ($schema:literal, $file:literal) => {
        $crate::sql_migration!(@build $schema, $file, Some(
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"), "/data-migrations/", $schema, "/", $file, ".down.sql"
            ))
            .to_owned()
        ))
    };
    ($schema:literal, $file:literal, irreversible) => {
        $crate::sql_migration!(@build $schema, $file, None)
    };
    (@build $schema:literal, $file:literal, $down:expr) => {
        $crate::data::Migration::sql($crate::data::SqlMigration {
            schema: $schema.to_owned(),
            file: $file.to_owned(),
            up: include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"), "/data-migrations/", $schema, "/", $file, ".up.sql"
            ))
            .to_owned(),
            down: $down,
        })
    };
}
