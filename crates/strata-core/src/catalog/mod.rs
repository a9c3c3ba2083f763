//! The catalog: every object of the managed schemas, as pure data.
//!
//! A live database, the declared SQL files (applied to a scratch database) and the replayed
//! migration history all become a [`Catalog`], read by the same introspection code, so that two
//! routes to the same schema give equal catalogs. Expressions, types and definitions are kept in
//! the text PostgreSQL's own deparsers print (`format_type`, `pg_get_expr`,
//! `pg_get_constraintdef`, `pg_get_indexdef`, `pg_get_viewdef`, `pg_get_functiondef`,
//! `pg_get_triggerdef`), read with `search_path` set to `pg_catalog` so that every user object is
//! schema-qualified.
//!
//! Maps are ordered, so the catalog serialises (JSON) and hashes deterministically: its
//! [`Catalog::hash`] identifies a schema state. Deparsed text can differ between PostgreSQL major
//! versions, so hashes are comparable on one major version only.
//!
//! Not modelled, on purpose: owners (they differ between environments; the owner's own
//! privileges are left out of grants for the same reason), sequence positions, table contents,
//! gathered statistics and tablespaces. Kinds of objects that are not modelled at all are
//! listed in the catalog's census ([`Catalog::unmodeled`]), never dropped in silence.

mod relation;
mod routine;
mod types;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

pub use relation::{
    Column, Constraint, ConstraintKind, ForeignKey, ForeignTable, Identity, Index, Partitioning,
    Policy, Rule, Sequence, SequenceOptions, Storage, Table, TableKind, Trigger, View, ViewKind,
};
pub use routine::{Aggregate, Function, FunctionKind, MovingAggregate};
pub use types::{CompositeAttribute, DomainCheck, TypeDef, TypeKind};

/// A schema-qualified name. Its text form is `schema.name`, each part double-quoted when it is
/// not a plain lower-case identifier (`"My Schema".t`); that is also its JSON form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QualName {
    /// The PostgreSQL schema.
    pub schema: String,
    /// The object's name within it.
    pub name: String,
}

impl QualName {
    /// A qualified name.
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> Self {
        QualName {
            schema: schema.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for QualName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}",
            display_ident(&self.schema),
            display_ident(&self.name)
        )
    }
}

impl FromStr for QualName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (schema, rest) = parse_ident(text)?;
        let rest = rest
            .strip_prefix('.')
            .ok_or_else(|| format!("`{text}` is not schema.name"))?;
        let (name, rest) = parse_ident(rest)?;
        if !rest.is_empty() {
            return Err(format!("`{text}` has text after schema.name"));
        }
        Ok(QualName { schema, name })
    }
}

/// An identifier as shown: bare when it is a plain lower-case name, else double-quoted.
fn display_ident(name: &str) -> String {
    let plain = name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '$');
    if plain {
        name.to_owned()
    } else {
        crate::sql::quote_ident(name)
    }
}

/// Reads one identifier (bare or double-quoted) from the front of `text`.
fn parse_ident(text: &str) -> Result<(String, &str), String> {
    if let Some(quoted) = text.strip_prefix('"') {
        let mut name = String::new();
        let mut chars = quoted.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if quoted[i + 1..].starts_with('"') {
                    name.push('"');
                    chars.next();
                } else {
                    return Ok((name, &quoted[i + 1..]));
                }
            } else {
                name.push(c);
            }
        }
        Err(format!("unterminated quoted name in `{text}`"))
    } else {
        let end = text.find(['.', '(']).unwrap_or(text.len());
        if end == 0 {
            return Err(format!("empty name in `{text}`"));
        }
        Ok((text[..end].to_owned(), &text[end..]))
    }
}

/// Every object of the managed schemas.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Catalog {
    /// The managed schemas, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub schemas: BTreeMap<String, Schema>,
    /// Extensions installed in the database (for reference; never diffed as user objects).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, Extension>,
    /// Tables, partitioned tables and partitions.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tables: BTreeMap<QualName, Table>,
    /// Views and materialized views.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub views: BTreeMap<QualName, View>,
    /// Sequences that are not identity sequences (those belong to their column).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sequences: BTreeMap<QualName, Sequence>,
    /// Enum, domain, composite and range types.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub types: BTreeMap<QualName, TypeDef>,
    /// Functions, procedures and aggregates, keyed by name and identity arguments.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<FunctionKey, Function>,
    /// Collations (`CREATE COLLATION`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub collations: BTreeMap<QualName, Collation>,
    /// Foreign data wrappers that no extension made, by name: those of the servers below, and
    /// those no server uses.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub wrappers: BTreeMap<String, Wrapper>,
    /// Foreign servers, by name: those the managed foreign tables use, and those no foreign
    /// table uses (database-wide objects, like extensions).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub servers: BTreeMap<String, Server>,
    /// Casts from or to a type of the managed schemas, or through one of their functions, by
    /// `source AS target`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub casts: BTreeMap<String, Cast>,
    /// Extended statistics objects (`CREATE STATISTICS`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub statistics: BTreeMap<QualName, Statistics>,
    /// Operators (`CREATE OPERATOR`), by [`Operator::signature`].
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operators: BTreeMap<String, Operator>,
    /// `ALTER DEFAULT PRIVILEGES` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub default_privileges: Vec<DefaultPrivilege>,
    /// The census: objects of the managed schemas that the catalog does not model, sorted.
    /// A plan neither creates nor drops them; every command names them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmodeled: Vec<Unmodeled>,
}

/// A PostgreSQL schema.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    /// `COMMENT ON SCHEMA`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Privileges granted beyond the defaults, and defaults revoked.
    #[serde(default, skip_serializing_if = "Privileges::is_default")]
    pub privileges: Privileges,
}

/// An installed extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// The schema holding its objects.
    pub schema: String,
    /// Its installed version.
    pub version: String,
    /// `COMMENT ON EXTENSION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The comment `CREATE EXTENSION` gives it (its control file's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installed_comment: Option<String>,
    /// Privileges on its member functions, tables and sequences that differ from what the
    /// extension installs (`pg_init_privs`, else the defaults), by `GRANT` target
    /// (`FUNCTION a.crosstab(text)`): a `GRANT` or `REVOKE` after `CREATE EXTENSION`, or an
    /// `ALTER DEFAULT PRIVILEGES` in force when it ran.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub member_privileges: BTreeMap<String, Privileges>,
}

/// A collation (`CREATE COLLATION`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Collation {
    /// `libc`, `icu` or `builtin` (PostgreSQL 17+).
    pub provider: String,
    /// `LC_COLLATE` of a libc collation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lc_collate: Option<String>,
    /// `LC_CTYPE` of a libc collation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lc_ctype: Option<String>,
    /// `LOCALE` of an ICU or builtin collation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// `RULES` of an ICU collation (PostgreSQL 16+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<String>,
    /// `DETERMINISTIC` (`false` for collations that compare strings of different bytes equal).
    pub deterministic: bool,
    /// `COMMENT ON COLLATION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Collation {
    /// The same collation but for its comment: nothing to re-create.
    pub fn same_definition(&self, other: &Collation) -> bool {
        Collation {
            comment: None,
            ..self.clone()
        } == Collation {
            comment: None,
            ..other.clone()
        }
    }
}

/// A foreign data wrapper (`CREATE FOREIGN DATA WRAPPER`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wrapper {
    /// `HANDLER` (as `regproc` prints it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handler: Option<String>,
    /// `VALIDATOR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<String>,
    /// `OPTIONS (…)` as `key=value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// `COMMENT ON FOREIGN DATA WRAPPER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Privileges (`USAGE`).
    #[serde(default, skip_serializing_if = "Privileges::is_default")]
    pub privileges: Privileges,
}

/// A foreign server (`CREATE SERVER`) and its user mappings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Server {
    /// `FOREIGN DATA WRAPPER`.
    pub wrapper: String,
    /// `TYPE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_type: Option<String>,
    /// `VERSION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `OPTIONS (…)` as `key=value`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<String>,
    /// `CREATE USER MAPPING FOR role SERVER …`: the role (`PUBLIC` for everyone) and the
    /// mapping's options (`user`, `password`, … as PostgreSQL keeps them, as pg_dump writes them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub user_mappings: BTreeMap<String, Vec<String>>,
    /// `COMMENT ON SERVER`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Privileges (`USAGE`).
    #[serde(default, skip_serializing_if = "Privileges::is_default")]
    pub privileges: Privileges,
}

impl Server {
    /// Whether it must be dropped and made again to become `other` (PostgreSQL cannot change a
    /// server's wrapper or type).
    pub fn is_replaced_by(&self, other: &Server) -> bool {
        self.wrapper != other.wrapper || self.server_type != other.server_type
    }
}

/// An operator (`CREATE OPERATOR`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    /// Its schema.
    pub schema: String,
    /// Its symbol (`~<<`), which is never quoted.
    pub name: String,
    /// `LEFTARG` (`format_type`); none for a prefix operator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left: Option<String>,
    /// `RIGHTARG`.
    pub right: String,
    /// `FUNCTION`, as `regproc` prints it (`app.reverse_match`).
    pub function: String,
    /// `COMMUTATOR`, as `OPERATOR(schema.symbol)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commutator: Option<String>,
    /// `NEGATOR`, as `OPERATOR(schema.symbol)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negator: Option<String>,
    /// `RESTRICT` selectivity estimator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restrict: Option<String>,
    /// `JOIN` selectivity estimator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub join: Option<String>,
    /// `HASHES`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub hashes: bool,
    /// `MERGES`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub merges: bool,
    /// `COMMENT ON OPERATOR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Operator {
    /// `schema.symbol (left, right)`, as `DROP OPERATOR` and `COMMENT ON OPERATOR` name it
    /// (`NONE` on the left of a prefix operator); its key in the catalog.
    pub fn signature(&self) -> String {
        format!(
            "{}.{} ({}, {})",
            crate::sql::quote_ident(&self.schema),
            self.name,
            self.left.as_deref().unwrap_or("NONE"),
            self.right
        )
    }

    /// The same operator but for its comment.
    pub fn same_definition(&self, other: &Operator) -> bool {
        Operator {
            comment: None,
            ..self.clone()
        } == Operator {
            comment: None,
            ..other.clone()
        }
    }
}

/// A cast (`CREATE CAST`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cast {
    /// The source type (`format_type`).
    pub source: String,
    /// The target type.
    pub target: String,
    /// `WITH FUNCTION`, as `regprocedure` prints it (`app.to_int(app.code)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// `WITHOUT FUNCTION` (binary coercible) rather than `WITH INOUT`, when there is no
    /// function.
    #[serde(default, skip_serializing_if = "is_false")]
    pub binary: bool,
    /// `AS ASSIGNMENT` or `AS IMPLICIT`, when not explicit only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// `COMMENT ON CAST`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Cast {
    /// `source AS target`: how PostgreSQL names a cast, and its key in the catalog.
    pub fn name(&self) -> String {
        format!("{} AS {}", self.source, self.target)
    }

    /// The same cast but for its comment.
    pub fn same_definition(&self, other: &Cast) -> bool {
        Cast {
            comment: None,
            ..self.clone()
        } == Cast {
            comment: None,
            ..other.clone()
        }
    }
}

/// An extended statistics object (`CREATE STATISTICS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statistics {
    /// The table (or materialized view) it is about.
    pub table: QualName,
    /// `CREATE STATISTICS …` as `pg_get_statisticsobjdef` prints it: kinds, columns and
    /// expressions (PostgreSQL 14+).
    pub definition: String,
    /// `ALTER STATISTICS … SET STATISTICS`, when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<i32>,
    /// `COMMENT ON STATISTICS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The identity of a function: schema, name and the types of its input arguments
/// (`pg_get_function_identity_arguments`), since PostgreSQL overloads names. Its text and JSON
/// form is `schema.name(arguments)`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FunctionKey {
    /// Schema and name.
    pub name: QualName,
    /// Identity arguments, e.g. `a integer, b text`.
    pub arguments: String,
}

impl fmt::Display for FunctionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.name, self.arguments)
    }
}

impl FromStr for FunctionKey {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (schema, rest) = parse_ident(text)?;
        let rest = rest
            .strip_prefix('.')
            .ok_or_else(|| format!("`{text}` is not schema.name(arguments)"))?;
        let (name, rest) = parse_ident(rest)?;
        let arguments = rest
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or_else(|| format!("`{text}` is not schema.name(arguments)"))?;
        Ok(FunctionKey {
            name: QualName { schema, name },
            arguments: arguments.to_owned(),
        })
    }
}

/// One privilege held by one role (`PUBLIC` for everyone).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Grant {
    /// The role, or `PUBLIC`.
    pub grantee: String,
    /// The privilege, as PostgreSQL names it (`SELECT`, `USAGE`, `EXECUTE`, …).
    pub privilege: String,
    /// `WITH GRANT OPTION`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub grantable: bool,
}

/// Privileges of an object relative to PostgreSQL's defaults for its kind (`acldefault`), the
/// owner's own left out: what `GRANT` added and what `REVOKE` took away from the defaults (such
/// as `REVOKE EXECUTE … FROM PUBLIC`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privileges {
    /// Granted beyond the defaults, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub granted: Vec<Grant>,
    /// Default privileges revoked, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<Grant>,
}

impl Privileges {
    /// No grants and no revokes: the defaults.
    pub fn is_default(&self) -> bool {
        self.granted.is_empty() && self.revoked.is_empty()
    }
}

/// One `ALTER DEFAULT PRIVILEGES` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultPrivilege {
    /// The role whose future objects get the privileges (`FOR ROLE`).
    pub role: String,
    /// `IN SCHEMA`, or `None` for the whole database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// `TABLES`, `SEQUENCES`, `FUNCTIONS`, `TYPES` or `SCHEMAS`.
    pub object_type: String,
    /// For the whole database: changes to PostgreSQL's defaults for the kind. In a schema:
    /// what is granted on top of them (PostgreSQL cannot revoke per schema).
    #[serde(default, skip_serializing_if = "Privileges::is_default")]
    pub privileges: Privileges,
}

/// A user object in a managed schema that the catalog does not model. Introspection reports
/// each one, so that nothing is dropped silently.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Unmodeled {
    /// What it is (`foreign table`, `operator`, `event trigger`, …).
    pub kind: String,
    /// Its name, schema-qualified where it has a schema.
    pub name: String,
}

impl Unmodeled {
    /// The form `ignore` entries of `strata.toml` take: `kind:name`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.kind, self.name)
    }
}

impl fmt::Display for Unmodeled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

impl Catalog {
    /// SHA-256 of the catalog's canonical JSON, as `sha256:<hex>`. Equal catalogs have equal
    /// hashes; a catalog hash identifies a schema state on one PostgreSQL major version.
    pub fn hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("a catalog always serialises");
        let digest = Sha256::digest(&json);
        let mut hex = String::with_capacity(7 + 64);
        hex.push_str("sha256:");
        for byte in digest {
            hex.push_str(&format!("{byte:02x}"));
        }
        hex
    }

    /// Every role the catalog names (grantees, policy roles, default-privilege owners), except
    /// `PUBLIC`, sorted.
    pub fn roles(&self) -> Vec<String> {
        let mut roles = std::collections::BTreeSet::new();
        let mut add = |p: &Privileges| {
            for g in p.granted.iter().chain(&p.revoked) {
                roles.insert(g.grantee.clone());
            }
        };
        for schema in self.schemas.values() {
            add(&schema.privileges);
        }
        for table in self.tables.values() {
            add(&table.privileges);
            for column in &table.columns {
                add(&column.privileges);
            }
        }
        for view in self.views.values() {
            add(&view.privileges);
        }
        for sequence in self.sequences.values() {
            add(&sequence.privileges);
        }
        for ty in self.types.values() {
            add(&ty.privileges);
        }
        for function in self.functions.values() {
            add(&function.privileges);
        }
        for wrapper in self.wrappers.values() {
            add(&wrapper.privileges);
        }
        for server in self.servers.values() {
            add(&server.privileges);
        }
        for d in &self.default_privileges {
            add(&d.privileges);
        }
        roles.extend(self.default_privileges.iter().map(|d| d.role.clone()));
        for server in self.servers.values() {
            roles.extend(server.user_mappings.keys().cloned());
        }
        for table in self.tables.values() {
            for policy in table.policies.values() {
                roles.extend(policy.roles.iter().cloned());
            }
        }
        roles.remove("PUBLIC");
        roles.into_iter().collect()
    }

    /// Removes a table and the sequences it owns (a `serial` column's), as if it were not
    /// there: strata's own tracking tables live in user schemas but are never the user's schema.
    pub fn remove_table(&mut self, name: &QualName) {
        if self.tables.remove(name).is_some() {
            self.sequences
                .retain(|_, s| s.owned_by.as_ref().is_none_or(|(table, _)| table != name));
            self.statistics.retain(|_, s| &s.table != name);
        }
    }

    /// Whether schema `name` holds no object (a schema that only held tracking tables, once
    /// they are removed).
    pub fn schema_is_empty(&self, name: &str) -> bool {
        self.tables.keys().all(|t| t.schema != name)
            && self.views.keys().all(|v| v.schema != name)
            && self.sequences.keys().all(|s| s.schema != name)
            && self.types.keys().all(|t| t.schema != name)
            && self.functions.keys().all(|f| f.name.schema != name)
            && self.extensions.values().all(|e| e.schema != name)
            && self.collations.keys().all(|c| c.schema != name)
            && self.statistics.keys().all(|s| s.schema != name)
            && self.operators.values().all(|o| o.schema != name)
    }

    /// The number of objects, for summaries: schemas, tables, views, sequences, types,
    /// functions, and the indexes, constraints, triggers and policies of tables and views.
    pub fn object_count(&self) -> usize {
        self.schemas.len()
            + self.collations.len()
            + self.casts.len()
            + self.wrappers.len()
            + self.servers.len()
            + self.statistics.len()
            + self.operators.len()
            + self.sequences.len()
            + self.types.len()
            + self.functions.len()
            + self
                .tables
                .values()
                .map(|t| {
                    1 + t.indexes.len() + t.constraints.len() + t.triggers.len() + t.policies.len()
                })
                .sum::<usize>()
            + self
                .views
                .values()
                .map(|v| 1 + v.indexes.len() + v.triggers.len())
                .sum::<usize>()
    }
}

/// For `skip_serializing_if`: leave `false` flags out of the JSON.
fn is_false(value: &bool) -> bool {
    !*value
}

/// Serialises a type through its `Display` form and deserialises it through `FromStr`, so that
/// names can be JSON map keys.
macro_rules! serde_as_text {
    ($($ty:ty),*) => {$(
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                String::deserialize(deserializer)?.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}

serde_as_text!(QualName, FunctionKey);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_sensitive() {
        let mut catalog = Catalog::default();
        catalog.schemas.insert("app".into(), Schema::default());
        let first = catalog.hash();
        assert!(first.starts_with("sha256:") && first.len() == 71, "{first}");
        assert_eq!(first, catalog.clone().hash());
        catalog.schemas.get_mut("app").unwrap().comment = Some("x".into());
        assert_ne!(first, catalog.hash());
    }

    #[test]
    fn removing_a_table_takes_its_owned_sequences() {
        let name = QualName::new("public", "data_migrations");
        let mut catalog = Catalog::default();
        catalog.tables.insert(name.clone(), Table::default());
        let owned = Sequence {
            owned_by: Some((name.clone(), "id".into())),
            ..Sequence::default()
        };
        catalog
            .sequences
            .insert(QualName::new("public", "data_migrations_id_seq"), owned);
        catalog
            .sequences
            .insert(QualName::new("public", "free"), Sequence::default());
        catalog.remove_table(&name);
        assert!(catalog.tables.is_empty());
        assert_eq!(
            catalog.sequences.keys().collect::<Vec<_>>(),
            [&QualName::new("public", "free")]
        );
    }

    #[test]
    fn names_round_trip_through_text() {
        for (name, text) in [
            (QualName::new("app", "users"), "app.users"),
            (QualName::new("My Schema", "t.x"), "\"My Schema\".\"t.x\""),
            (QualName::new("a\"b", "Users"), "\"a\"\"b\".\"Users\""),
        ] {
            assert_eq!(name.to_string(), text);
            assert_eq!(text.parse::<QualName>().unwrap(), name);
        }
        let key = FunctionKey {
            name: QualName::new("app", "f"),
            arguments: "a integer, b text".into(),
        };
        assert_eq!(key.to_string(), "app.f(a integer, b text)");
        assert_eq!(key.to_string().parse::<FunctionKey>().unwrap(), key);
        assert!("nodot".parse::<QualName>().is_err());
    }

    #[test]
    fn json_round_trip() {
        let mut catalog = Catalog::default();
        catalog.schemas.insert("app".into(), Schema::default());
        catalog
            .tables
            .insert(QualName::new("app", "t"), Table::default());
        let json = serde_json::to_string(&catalog).unwrap();
        let back: Catalog = serde_json::from_str(&json).unwrap();
        assert_eq!(back, catalog);
    }
}
