//! User-defined types: enums, domains, composites and ranges.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Privileges;

/// A user-defined type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeDef {
    /// What it is, with its definition.
    pub kind: TypeKind,
    /// `COMMENT ON TYPE` / `COMMENT ON DOMAIN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Type privileges (`USAGE`).
    #[serde(default, skip_serializing_if = "Privileges::is_default")]
    pub privileges: Privileges,
}

/// The definition of a user-defined type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TypeKind {
    /// `CREATE TYPE … AS ENUM`: its labels in sort order.
    Enum {
        /// The labels.
        labels: Vec<String>,
    },
    /// `CREATE DOMAIN`.
    Domain {
        /// The base type (`format_type`).
        base: String,
        /// A collation other than the base type's.
        collation: Option<String>,
        /// `NOT NULL`.
        not_null: bool,
        /// `DEFAULT`.
        default: Option<String>,
        /// `CHECK` constraints by name.
        checks: BTreeMap<String, DomainCheck>,
    },
    /// `CREATE TYPE … AS (…)`.
    Composite {
        /// Attributes in order.
        attributes: Vec<CompositeAttribute>,
    },
    /// `CREATE TYPE … AS RANGE`.
    Range {
        /// `SUBTYPE`.
        subtype: String,
        /// `SUBTYPE_OPCLASS`, when not the default.
        subtype_opclass: Option<String>,
        /// `COLLATION`, when set.
        collation: Option<String>,
        /// `CANONICAL` function.
        canonical: Option<String>,
        /// `SUBTYPE_DIFF` function.
        subtype_diff: Option<String>,
        /// `MULTIRANGE_TYPE_NAME` (PostgreSQL 14+).
        multirange: Option<String>,
    },
}

/// A domain's `CHECK` constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainCheck {
    /// `CHECK (…)` as `pg_get_constraintdef` prints it.
    pub definition: String,
    /// `false` for `NOT VALID`.
    pub validated: bool,
}

/// An attribute of a composite type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompositeAttribute {
    /// Its name.
    pub name: String,
    /// Its type.
    pub data_type: String,
    /// A collation other than the type's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// `COMMENT ON COLUMN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}
