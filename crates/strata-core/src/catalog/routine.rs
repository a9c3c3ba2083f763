//! Functions, procedures and aggregates.

use serde::{Deserialize, Serialize};

use super::{Privileges, is_false};

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
    /// `FINALFUNC_EXTRA`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub final_extra: bool,
    /// `FINALFUNC_MODIFY` (`READ_ONLY`, `SHAREABLE`, `READ_WRITE`), when not the default of the
    /// aggregate's kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_modify: Option<String>,
    /// `SERIALFUNC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_function: Option<String>,
    /// `DESERIALFUNC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deserial_function: Option<String>,
    /// `SSPACE`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_space: Option<i32>,
    /// `HYPOTHETICAL` (an ordered-set aggregate whose direct arguments are hypothetical rows).
    #[serde(default, skip_serializing_if = "is_false")]
    pub hypothetical: bool,
    /// `PARALLEL` (`SAFE`, `RESTRICTED`), when not `UNSAFE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel: Option<String>,
    /// The moving-aggregate implementation (`MSFUNC`, `MINVFUNC`, …), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moving: Option<MovingAggregate>,
}

/// The moving-aggregate mode of an aggregate (window frames that move).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovingAggregate {
    /// `MSFUNC`.
    pub transition: String,
    /// `MINVFUNC`.
    pub inverse: String,
    /// `MSTYPE`.
    pub state_type: String,
    /// `MSSPACE`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_space: Option<i32>,
    /// `MFINALFUNC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_function: Option<String>,
    /// `MFINALFUNC_EXTRA`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub final_extra: bool,
    /// `MFINALFUNC_MODIFY`, when not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_modify: Option<String>,
    /// `MINITCOND`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_condition: Option<String>,
}
