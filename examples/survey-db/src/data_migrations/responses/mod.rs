//! Data migrations of the `responses` schema.

pub mod m0001_pilot_respondents;
pub mod m0002_pilot_cohort;

use strata::data::Migration;

/// In the order they run.
pub fn all() -> Vec<Migration> {
    vec![
        Migration::new(m0001_pilot_respondents::Migration),
        Migration::new(m0002_pilot_cohort::Migration),
    ]
}
