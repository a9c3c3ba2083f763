//! The central registry: every schema's data migrations, in the order they run.

pub mod questions;
pub mod responses;

use strata::data::Registry;

/// The registry handed to `strata::cli::run`.
pub fn registry() -> Registry {
    Registry::from([
        ("questions", questions::all()),
        ("responses", responses::all()),
    ])
}
