//! Data migrations: the registry a project's crate hands to [`crate::cli::run`].

/// The data migrations of a project, grouped by PostgreSQL schema.
///
/// The `strata` binary runs with an empty registry.
#[derive(Debug, Default)]
pub struct Registry {}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry {}
    }
}
