//! Adopting projects other tools managed: their migration files become strata migrations and
//! their history rows strata's, once a replay proves the database holds what they give.

pub mod drizzle;
pub mod foreign;
