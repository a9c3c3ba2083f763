//! The `strata` command: the library's command line with an empty data-migration registry
//! (SQL data migrations are found on disk).

use std::process::ExitCode;

fn main() -> ExitCode {
    strata::cli::run(strata::data::Registry::new())
}
