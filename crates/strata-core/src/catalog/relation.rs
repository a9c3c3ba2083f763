//! Tables, their parts, views and sequences.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Privileges, QualName, is_false};

/// What sort of table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// An ordinary table.
    #[default]
    Ordinary,
    /// A partitioned table (`PARTITION BY`).
    Partitioned,
    /// A foreign table (`CREATE FOREIGN TABLE`), whose rows a foreign server holds.
    Foreign,
}

/// A table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    /// Ordinary or partitioned.
    pub kind: TableKind,
    /// `UNLOGGED`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unlogged: bool,
    /// The partition key of a partitioned table (`pg_get_partkeydef`, e.g. `RANGE (created_at)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_key: Option<String>,
    /// When this table is a partition: its parent and bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_of: Option<Partitioning>,
    /// Parents by `INHERITS`, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherits: Vec<QualName>,
    /// Columns in their physical order. A partition's columns are its parent's and are not
    /// repeated here.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<Column>,
    /// Constraints by name (primary key, unique, foreign key, check, exclusion); those a
    /// partition inherits from its parent are not repeated.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub constraints: BTreeMap<String, Constraint>,
    /// Indexes by name, including those that back constraints; a partition's copies of its
    /// parent's indexes are not repeated.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub indexes: BTreeMap<String, Index>,
    /// Triggers by name (not the internal ones of foreign keys, nor clones on partitions).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub triggers: BTreeMap<String, Trigger>,
    /// Rules (`CREATE RULE`) by name, not a view's own `_RETURN` rule.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rules: BTreeMap<String, Rule>,
    /// Row-level security policies by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub policies: BTreeMap<String, Policy>,
    /// `ENABLE ROW LEVEL SECURITY`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rls_enabled: bool,
    /// `FORCE ROW LEVEL SECURITY`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rls_forced: bool,
    /// Storage parameters (`WITH (fillfactor=70)`), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// A foreign table's server and options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign: Option<ForeignTable>,
    /// `COMMENT ON TABLE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Table privileges.
    #[serde(default, skip_serializing_if = "Privileges::is_default")]
    pub privileges: Privileges,
}

/// Where a foreign table's rows are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignTable {
    /// `SERVER`.
    pub server: String,
    /// `OPTIONS (…)` as `key=value`, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
}

/// A partition's place: its parent and its bound.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partitioning {
    /// The partitioned table.
    pub parent: QualName,
    /// The bound as PostgreSQL prints it (`FOR VALUES FROM (…) TO (…)`, `DEFAULT`).
    pub bound: String,
    /// Columns the partition holds `NOT NULL` where its parent does not, or (PostgreSQL 18+)
    /// under a constraint name other than the parent's, which `PARTITION OF` gives: the name,
    /// or `None` for the one PostgreSQL chooses.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub not_null: BTreeMap<String, Option<String>>,
}

/// A column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its type (`format_type`, e.g. `character varying(255)`, `app.status[]`).
    pub data_type: String,
    /// A collation other than the type's default, quoted and qualified (`"C"`, `"de-DE-x-icu"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    /// `NOT NULL`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_null: bool,
    /// The name of the `NOT NULL` constraint (PostgreSQL 18+, which names them: by default
    /// `<table>_<column>_not_null`, kept when the table or column is renamed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_null_name: Option<String>,
    /// Another table of the schema has a `NOT NULL` constraint of the same name (`LIKE` copies
    /// names): the name is written even when it is the default one, or PostgreSQL would choose
    /// another for whichever table comes second.
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_null_name_shared: bool,
    /// The default expression (`pg_get_expr`). Not set for identity and generated columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Identity column settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// The expression of a generated column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<String>,
    /// `true` for a virtual generated column (PostgreSQL 18), `false` for a stored one.
    #[serde(default, skip_serializing_if = "is_false")]
    pub generated_virtual: bool,
    /// Taken from a parent (`INHERITS`) and not declared by the table itself
    /// (`attislocal` false): `CREATE TABLE` does not name it, a column the parent gains or
    /// loses comes and goes with the parent's. No DDL turns a declared column into an
    /// inherited one, so a plan never changes this alone.
    #[serde(default, skip_serializing_if = "is_false")]
    pub inherited: bool,
    /// A foreign table column's options (`OPTIONS (column_name 'x')`), as `key=value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_options: Vec<String>,
    /// Per-column options (`SET (n_distinct = …)`), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// `SET STORAGE`, when not the type's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,
    /// `SET COMPRESSION` (`pglz`, `lz4`; PostgreSQL 14+), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// `SET STATISTICS`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistics: Option<i32>,
    /// `COMMENT ON COLUMN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Column privileges (`GRANT SELECT (col)`).
    #[serde(default, skip_serializing_if = "Privileges::is_default")]
    pub privileges: Privileges,
}

/// A column's storage mode other than its type's default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Storage {
    /// `PLAIN`, `EXTERNAL`, `EXTENDED` or `MAIN`.
    pub mode: String,
    /// The type's default, which `SET STORAGE` goes back to (`SET STORAGE DEFAULT` is
    /// PostgreSQL 16+).
    pub type_default: String,
}

/// An identity column (`GENERATED … AS IDENTITY`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `ALWAYS` rather than `BY DEFAULT`.
    pub always: bool,
    /// The options of its sequence.
    pub sequence: SequenceOptions,
    /// The name of its sequence (`SEQUENCE NAME`): `<table>_<column>_seq` unless chosen, or
    /// kept from before the table or column was renamed.
    pub sequence_name: QualName,
    /// `COMMENT ON SEQUENCE` of its sequence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Privileges on its sequence (`GRANT USAGE ON SEQUENCE`).
    #[serde(default, skip_serializing_if = "Privileges::is_default")]
    pub privileges: Privileges,
}

impl Identity {
    /// The name PostgreSQL gives the sequence of `table.column` when none is chosen.
    pub fn default_sequence_name(table: &QualName, column: &str) -> QualName {
        QualName::new(table.schema.clone(), format!("{}_{column}_seq", table.name))
    }
}

/// The options of a sequence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequenceOptions {
    /// `AS smallint | integer | bigint`.
    pub data_type: String,
    /// `START WITH`.
    pub start: i64,
    /// `INCREMENT BY`.
    pub increment: i64,
    /// `MINVALUE`.
    pub min: i64,
    /// `MAXVALUE`.
    pub max: i64,
    /// `CACHE`.
    pub cache: i64,
    /// `CYCLE`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub cycle: bool,
}

/// A sequence (not an identity column's, which belongs to its column).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sequence {
    /// Its options.
    pub options: SequenceOptions,
    /// `UNLOGGED` (PostgreSQL 15+; a `serial` of an unlogged table has an unlogged sequence).
    #[serde(default, skip_serializing_if = "is_false")]
    pub unlogged: bool,
    /// `OWNED BY table.column` (as `serial` makes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owned_by: Option<(QualName, String)>,
    /// `COMMENT ON SEQUENCE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Sequence privileges.
    #[serde(default, skip_serializing_if = "Privileges::is_default")]
    pub privileges: Privileges,
}

/// The kind of a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConstraintKind {
    /// `PRIMARY KEY`
    PrimaryKey,
    /// `UNIQUE`
    Unique,
    /// `FOREIGN KEY`
    ForeignKey,
    /// `CHECK`
    Check,
    /// `EXCLUDE`
    Exclusion,
}

/// A table constraint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Constraint {
    /// Its kind.
    pub kind: ConstraintKind,
    /// The definition as `pg_get_constraintdef` prints it (`FOREIGN KEY (a) REFERENCES s.t(id)
    /// ON DELETE CASCADE`, `CHECK ((n > 0))`, …). It includes `NOT VALID`, deferrability and
    /// `NULLS NOT DISTINCT`.
    pub definition: String,
    /// The constrained columns, in order (empty for a check on an expression).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// The referenced table and columns, for a foreign key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub foreign_key: Option<ForeignKey>,
    /// `false` for `NOT VALID` until validated.
    pub validated: bool,
    /// `DEFERRABLE`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub deferrable: bool,
    /// `INITIALLY DEFERRED`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub initially_deferred: bool,
    /// The index that enforces it (primary key, unique, exclusion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// `COMMENT ON CONSTRAINT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// What a foreign key references.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ForeignKey {
    /// The referenced table.
    pub table: QualName,
    /// The referenced columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// `ON UPDATE` action (`NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL`, `SET DEFAULT`).
    pub on_update: String,
    /// `ON DELETE` action.
    pub on_delete: String,
    /// `MATCH SIMPLE | FULL`.
    pub match_type: String,
}

/// An index.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    /// `CREATE [UNIQUE] INDEX …` as `pg_get_indexdef` prints it.
    pub definition: String,
    /// The access method (`btree`, `gin`, `gist`, …).
    pub method: String,
    /// `UNIQUE`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub unique: bool,
    /// Backs the primary key.
    #[serde(default, skip_serializing_if = "is_false")]
    pub primary: bool,
    /// `NULLS NOT DISTINCT` (PostgreSQL 15+).
    #[serde(default, skip_serializing_if = "is_false")]
    pub nulls_not_distinct: bool,
    /// Key columns or expressions (their order, collation and operator class are in
    /// `definition`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
    /// `INCLUDE` columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// The `WHERE` of a partial index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// The constraint it backs, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<String>,
    /// `false` for an index left invalid by a failed `CREATE INDEX CONCURRENTLY`.
    pub valid: bool,
    /// `ALTER TABLE … CLUSTER ON` this index.
    #[serde(default, skip_serializing_if = "is_false")]
    pub clustered: bool,
    /// `COMMENT ON INDEX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// `ALTER INDEX … ALTER COLUMN n SET STATISTICS v`: the statistics target of expression
    /// columns, by column number (from 1), where one is set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub statistics: BTreeMap<u16, i32>,
}

/// A trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    /// `CREATE [CONSTRAINT] TRIGGER …` as `pg_get_triggerdef` prints it.
    pub definition: String,
    /// A constraint trigger.
    #[serde(default, skip_serializing_if = "is_false")]
    pub constraint: bool,
    /// `O` (enabled), `D` (disabled), `R` (replica), `A` (always).
    pub enabled: String,
    /// `COMMENT ON TRIGGER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A rule (`CREATE RULE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// `CREATE RULE …` as `pg_get_ruledef` prints it, without the final semicolon.
    pub definition: String,
    /// `O` (enabled), `D` (disabled), `R` (replica), `A` (always).
    pub enabled: String,
    /// `COMMENT ON RULE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A row-level security policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// `PERMISSIVE` rather than `RESTRICTIVE`.
    pub permissive: bool,
    /// `ALL`, `SELECT`, `INSERT`, `UPDATE` or `DELETE`.
    pub command: String,
    /// The roles it applies to (`PUBLIC` for all), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    /// `USING (…)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub using: Option<String>,
    /// `WITH CHECK (…)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub with_check: Option<String>,
    /// `COMMENT ON POLICY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A view or a materialized view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewKind {
    /// `CREATE VIEW`
    View,
    /// `CREATE MATERIALIZED VIEW`
    Materialized,
}

/// A view or materialized view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// View or materialized view.
    pub kind: ViewKind,
    /// The query as `pg_get_viewdef` prints it.
    pub definition: String,
    /// Its columns (name and type; defaults and comments where set).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<Column>,
    /// Options (`security_barrier=true`, `check_option=local`, `security_invoker=true`), sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// Indexes of a materialized view, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub indexes: BTreeMap<String, Index>,
    /// `INSTEAD OF` triggers on a view, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub triggers: BTreeMap<String, Trigger>,
    /// Rules (`CREATE RULE`) by name, not a view's own `_RETURN` rule.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rules: BTreeMap<String, Rule>,
    /// Tables and views it reads, for ordering.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<QualName>,
    /// `COMMENT ON VIEW`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Privileges.
    #[serde(default, skip_serializing_if = "Privileges::is_default")]
    pub privileges: Privileges,
}
