//! Functions, procedures and aggregates.

use serde::{Deserialize, Serialize};

use super::Privileges;

/// The kind of a routine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FunctionKind {
    /// `CREATE FUNCTION`
    Function,
    /// `CREATE PROCEDURE`
    Procedure,
    /// `CREATE AGGREGATE`
    Aggregate,
    /// A window function.
    Window,
}

/// A function, procedure or aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    /// Its kind.
    pub kind: FunctionKind,
    /// `CREATE OR REPLACE FUNCTION …` as `pg_get_functiondef` prints it (body, language,
    /// volatility, security, strictness, parallel safety and `SET` options included). Empty for
    /// aggregates, which are described by `aggregate`.
    pub definition: String,
    /// The full argument list with names, modes and defaults (`pg_get_function_arguments`).
    pub arguments: String,
    /// The result type (`pg_get_function_result`); empty for procedures.
    pub result: String,
    /// The types of its input arguments without their names (`oidvectortypes(proargtypes)`):
    /// what PostgreSQL tells overloads apart by. Two keys that differ only in parameter names
    /// have the same input types, and cannot exist side by side.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub input_types: String,
    /// The language (`sql`, `plpgsql`, …).
    pub language: String,
    /// The parts of an aggregate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<Aggregate>,
    /// `COMMENT ON FUNCTION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Privileges (`EXECUTE`; PostgreSQL grants it to `PUBLIC` by default).
    #[serde(default, skip_serializing_if = "Privileges::is_default")]
    pub privileges: Privileges,
}

/// The parts of an aggregate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregate {
    /// `SFUNC`.
    pub transition: String,
    /// `STYPE`.
    pub state_type: String,
    /// `FINALFUNC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_function: Option<String>,
    /// `COMBINEFUNC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub combine_function: Option<String>,
    /// `INITCOND`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_condition: Option<String>,
    /// `SORTOP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_operator: Option<String>,
}
