//! Normalisation: PostgreSQL itself turns declared SQL and migration histories into catalogs,
//! in scratch databases on a scratch server ([`scratch`]); the states it reached are kept for
//! the next command ([`state`]); texts PostgreSQL prints differently from how they were written
//! are compared at their fixed point ([`fixpoint`]).

pub mod fixpoint;
pub mod scratch;
pub mod state;
