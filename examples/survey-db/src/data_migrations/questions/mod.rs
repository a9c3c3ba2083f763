//! Data migrations of the `questions` schema.

pub mod m0001_dem_characteristics;
pub mod m0002_battery_prefixes;

use strata::data::Migration;

/// In the order they run.
pub fn all() -> Vec<Migration> {
    vec![
        Migration::new(m0001_dem_characteristics::Migration),
        Migration::new(m0002_battery_prefixes::Migration),
    ]
}
