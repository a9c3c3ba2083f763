//! Deparsed text compared at its fixed point.
//!
//! The catalog keeps expressions and definitions in the text PostgreSQL's deparsers print. That
//! text is not always what PostgreSQL reads back: `varchar_col IN ('a', 'b')` is stored as
//! `((col)::text = ANY ((ARRAY['a'::character varying, …])::text[]))`, which parses into another
//! tree whose text is `… ANY (ARRAY[('a'::character varying)::text, …])`; a trigger's
//! `WHEN (ROW(OLD.a) IS DISTINCT FROM ROW(NEW.a))` is stored as nested `OR`s that re-parse flat.
//! So a database built from a plan can hold other text than the catalog the plan came from,
//! although both mean the same. Comparing the first deparse is only sound at a fixed point.
//!
//! This module names every place of a catalog that holds such text (a [`Site`]), finds the
//! sites whose text differs between two catalogs ([`pairs`]), and writes, for one text, the
//! statements that make PostgreSQL parse it again on a throw-away copy of its owner and the query
//! that reads the deparsed text back ([`probe`], [`read_back`]). Running probes until the text
//! stops changing gives its fixed point; two texts whose fixed points are equal mean the same,
//! and the diff then treats them as equal ([`adopt`]). Running the probes is I/O and lives in the
//! `strata` crate.
//!
//! Probes only create temporary objects (`pg_temp`): a temporary table `LIKE` the owner, a
//! temporary view, domain or function. They lock nothing but what `LIKE` and the view's query
//! read, and the caller rolls them back.

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, Column, ConstraintKind, FunctionKey, QualName, Table, TypeKind};
use crate::refs::{objects_in, replace_qualified, spell};
use crate::render::qualified;
use crate::sql::{quote_ident, quote_literal};

/// A place in a catalog that holds text deparsed from a parse tree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Site {
    /// A table's `CHECK` or `EXCLUDE` constraint.
    Constraint {
        /// The table.
        table: QualName,
        /// The constraint.
        name: String,
    },
    /// A column default of a table, or of a view (`ALTER VIEW … SET DEFAULT`).
    Default {
        /// The table or view.
        table: QualName,
        /// The column.
        column: String,
    },
    /// A generated column's expression.
    Generated {
        /// The table.
        table: QualName,
        /// The column.
        column: String,
    },
    /// An index of a table or materialized view (its expressions and predicate).
    Index {
        /// The table or materialized view.
        table: QualName,
        /// The index.
        name: String,
    },
    /// A policy's `USING` and `WITH CHECK`.
    Policy {
        /// The table.
        table: QualName,
        /// The policy.
        name: String,
    },
    /// A trigger of a table or view (its `WHEN`).
    Trigger {
        /// The table or view.
        table: QualName,
        /// The trigger.
        name: String,
    },
    /// A view's or materialized view's query.
    View {
        /// The view.
        name: QualName,
    },
    /// A domain's `CHECK` constraint.
    DomainCheck {
        /// The domain.
        domain: QualName,
        /// The constraint.
        name: String,
    },
    /// A domain's default.
    DomainDefault {
        /// The domain.
        domain: QualName,
    },
    /// A function's definition and argument defaults (SQL-standard bodies are deparsed).
    Function {
        /// The function.
        key: FunctionKey,
    },
    /// A rule of a table or view (its condition and actions).
    Rule {
        /// The table or view.
        table: QualName,
        /// The rule.
        name: String,
    },
    /// An extended statistics object (its expressions, PostgreSQL 14+).
    Statistics {
        /// The statistics object.
        name: QualName,
        /// Its table.
        table: QualName,
    },
}

impl std::fmt::Display for Site {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Site::Constraint { table, name } => write!(f, "constraint {name} on {table}"),
            Site::Default { table, column } => write!(f, "default of {table}.{column}"),
            Site::Generated { table, column } => write!(f, "expression of {table}.{column}"),
            Site::Index { table, name } => write!(f, "index {name} on {table}"),
            Site::Policy { table, name } => write!(f, "policy {name} on {table}"),
            Site::Trigger { table, name } => write!(f, "trigger {name} on {table}"),
            Site::View { name } => write!(f, "view {name}"),
            Site::DomainCheck { domain, name } => write!(f, "constraint {name} on domain {domain}"),
            Site::DomainDefault { domain } => write!(f, "default of domain {domain}"),
            Site::Function { key } => write!(f, "function {key}"),
            Site::Rule { table, name } => write!(f, "rule {name} on {table}"),
            Site::Statistics { name, .. } => write!(f, "statistics {name}"),
        }
    }
}

/// A site whose text differs between two catalogs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// Where.
    pub site: Site,
    /// The text in the first catalog.
    pub from: String,
    /// The text in the second catalog.
    pub to: String,
}

/// What PostgreSQL must run to parse a text again, and the query that reads its new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// Statements (separated by `;`) that create temporary objects holding the text.
    pub statements: String,
    /// A query returning one row with one text column: the deparsed text, as PostgreSQL prints it
    /// for the temporary objects (see [`read_back`]).
    pub read: String,
}

/// The name of every temporary object a probe creates.
const PROBE: &str = "strata_probe";

fn probe_table() -> QualName {
    QualName::new("pg_temp", PROBE)
}

/// Every site whose text differs between `from` and `to` while what the text depends on is the
/// same in both: a check on a table whose columns changed type may really mean something else,
/// so it is left to the diff as it is.
pub fn pairs(from: &Catalog, to: &Catalog) -> Vec<Pair> {
    let mut out = Vec::new();
    let mut add = |site: Site, a: Option<String>, b: Option<String>| {
        if let (Some(from), Some(to)) = (a, b)
            && from != to
        {
            out.push(Pair { site, from, to });
        }
    };
    for (name, new) in &to.tables {
        let Some(old) = from.tables.get(name) else {
            continue;
        };
        if !same_columns(&old.columns, &new.columns) {
            continue;
        }
        table_pairs(name, old, new, &mut add);
    }
    for (name, new) in &to.views {
        let Some(old) = from.views.get(name) else {
            continue;
        };
        if old.kind != new.kind || !same_inputs(from, to, &new.depends_on) {
            continue;
        }
        let site = Site::View { name: name.clone() };
        add(site.clone(), text(from, &site), text(to, &site));
        if !same_columns(&old.columns, &new.columns) {
            continue;
        }
        for column in &new.columns {
            let site = Site::Default {
                table: name.clone(),
                column: column.name.clone(),
            };
            add(site.clone(), text(from, &site), text(to, &site));
        }
        for index in new.indexes.keys() {
            let site = Site::Index {
                table: name.clone(),
                name: index.clone(),
            };
            add(site.clone(), text(from, &site), text(to, &site));
        }
        for trigger in new.triggers.keys() {
            let site = Site::Trigger {
                table: name.clone(),
                name: trigger.clone(),
            };
            add(site.clone(), text(from, &site), text(to, &site));
        }
        for rule in new.rules.keys() {
            let site = Site::Rule {
                table: name.clone(),
                name: rule.clone(),
            };
            add(site.clone(), text(from, &site), text(to, &site));
        }
    }
    for (name, new) in &to.types {
        let (
            Some(TypeKind::Domain {
                base: old_base,
                collation: old_collation,
                ..
            }),
            TypeKind::Domain {
                base,
                collation,
                checks,
                ..
            },
        ) = (from.types.get(name).map(|t| &t.kind), &new.kind)
        else {
            continue;
        };
        if old_base != base || old_collation != collation {
            continue;
        }
        let site = Site::DomainDefault {
            domain: name.clone(),
        };
        add(site.clone(), text(from, &site), text(to, &site));
        for check in checks.keys() {
            let site = Site::DomainCheck {
                domain: name.clone(),
                name: check.clone(),
            };
            add(site.clone(), text(from, &site), text(to, &site));
        }
    }
    for (name, new) in &to.statistics {
        if from
            .statistics
            .get(name)
            .is_some_and(|old| old.table == new.table)
            && same_inputs(from, to, std::slice::from_ref(&new.table))
        {
            let site = Site::Statistics {
                name: name.clone(),
                table: new.table.clone(),
            };
            add(site.clone(), text(from, &site), text(to, &site));
        }
    }
    for (key, new) in &to.functions {
        if from
            .functions
            .get(key)
            .is_some_and(|old| old.kind == new.kind && old.result == new.result)
        {
            let site = Site::Function { key: key.clone() };
            add(site.clone(), text(from, &site), text(to, &site));
        }
    }
    out
}

fn table_pairs(
    name: &QualName,
    old: &Table,
    new: &Table,
    add: &mut impl FnMut(Site, Option<String>, Option<String>),
) {
    let catalogs = |site: Site| {
        let a = table_text(name, old, &site);
        let b = table_text(name, new, &site);
        (site, a, b)
    };
    let mut sites = Vec::new();
    for (constraint, c) in &new.constraints {
        if matches!(c.kind, ConstraintKind::Check | ConstraintKind::Exclusion) {
            sites.push(Site::Constraint {
                table: name.clone(),
                name: constraint.clone(),
            });
        }
    }
    for column in &new.columns {
        sites.push(Site::Default {
            table: name.clone(),
            column: column.name.clone(),
        });
        sites.push(Site::Generated {
            table: name.clone(),
            column: column.name.clone(),
        });
    }
    for index in new.indexes.keys() {
        sites.push(Site::Index {
            table: name.clone(),
            name: index.clone(),
        });
    }
    for policy in new.policies.keys() {
        sites.push(Site::Policy {
            table: name.clone(),
            name: policy.clone(),
        });
    }
    for trigger in new.triggers.keys() {
        sites.push(Site::Trigger {
            table: name.clone(),
            name: trigger.clone(),
        });
    }
    for rule in new.rules.keys() {
        sites.push(Site::Rule {
            table: name.clone(),
            name: rule.clone(),
        });
    }
    for site in sites {
        let (site, a, b) = catalogs(site);
        add(site, a, b);
    }
}

/// Columns that read the same: names, types and collations, in any order (an expression names
/// its columns; a column added again lands at the end).
fn same_columns(a: &[Column], b: &[Column]) -> bool {
    a.len() == b.len()
        && a.iter().all(|x| {
            b.iter().any(|y| {
                x.name == y.name && x.data_type == y.data_type && x.collation == y.collation
            })
        })
}

/// Whether the relations a view reads have the same columns in both catalogs.
fn same_inputs(from: &Catalog, to: &Catalog, inputs: &[QualName]) -> bool {
    inputs.iter().all(
        |name| match (columns_of(from, name), columns_of(to, name)) {
            (Some(a), Some(b)) => same_columns(a, b),
            (None, None) => true,
            _ => false,
        },
    )
}

fn columns_of<'a>(catalog: &'a Catalog, name: &QualName) -> Option<&'a [Column]> {
    catalog
        .tables
        .get(name)
        .map(|t| t.columns.as_slice())
        .or_else(|| catalog.views.get(name).map(|v| v.columns.as_slice()))
}

fn table_text(_name: &QualName, table: &Table, site: &Site) -> Option<String> {
    match site {
        Site::Constraint { name, .. } => table
            .constraints
            .get(name)
            .filter(|c| matches!(c.kind, ConstraintKind::Check | ConstraintKind::Exclusion))
            .map(|c| c.definition.clone()),
        Site::Default { column, .. } => table
            .columns
            .iter()
            .find(|c| &c.name == column)
            .and_then(|c| c.default.clone()),
        Site::Generated { column, .. } => table
            .columns
            .iter()
            .find(|c| &c.name == column)
            .and_then(|c| c.generated.clone()),
        Site::Index { name, .. } => table.indexes.get(name).map(|i| i.definition.clone()),
        Site::Policy { name, .. } => table
            .policies
            .get(name)
            .map(|p| pack(&[p.using.as_deref(), p.with_check.as_deref()])),
        Site::Trigger { name, .. } => table.triggers.get(name).map(|t| t.definition.clone()),
        Site::Rule { name, .. } => table.rules.get(name).map(|r| r.definition.clone()),
        _ => None,
    }
}

/// Several optional texts as one (a JSON array), for sites with more than one part.
fn pack(parts: &[Option<&str>]) -> String {
    serde_json::to_string(parts).expect("strings serialise")
}

fn unpack(text: &str) -> Option<Vec<Option<String>>> {
    serde_json::from_str(text).ok()
}

/// The text of `site` in `catalog`, if the site exists there.
pub fn text(catalog: &Catalog, site: &Site) -> Option<String> {
    match site {
        Site::Default { table, column } => match catalog.tables.get(table) {
            Some(t) => table_text(table, t, site),
            None => catalog
                .views
                .get(table)?
                .columns
                .iter()
                .find(|c| &c.name == column)?
                .default
                .clone(),
        },
        Site::Constraint { table, .. }
        | Site::Generated { table, .. }
        | Site::Policy { table, .. } => table_text(table, catalog.tables.get(table)?, site),
        Site::Index { table, name } => match catalog.tables.get(table) {
            Some(t) => table_text(table, t, site),
            None => catalog
                .views
                .get(table)?
                .indexes
                .get(name)
                .map(|i| i.definition.clone()),
        },
        Site::Trigger { table, name } => match catalog.tables.get(table) {
            Some(t) => table_text(table, t, site),
            None => catalog
                .views
                .get(table)?
                .triggers
                .get(name)
                .map(|t| t.definition.clone()),
        },
        Site::Rule { table, name } => match catalog.tables.get(table) {
            Some(t) => table_text(table, t, site),
            None => catalog
                .views
                .get(table)?
                .rules
                .get(name)
                .map(|r| r.definition.clone()),
        },
        Site::View { name } => catalog.views.get(name).map(|v| v.definition.clone()),
        Site::DomainCheck { domain, name } => match &catalog.types.get(domain)?.kind {
            TypeKind::Domain { checks, .. } => checks.get(name).map(|c| c.definition.clone()),
            _ => None,
        },
        Site::DomainDefault { domain } => match &catalog.types.get(domain)?.kind {
            TypeKind::Domain { default, .. } => default.clone(),
            _ => None,
        },
        Site::Function { key } => catalog
            .functions
            .get(key)
            .map(|f| pack(&[Some(&f.definition), Some(&f.arguments)])),
        Site::Statistics { name, .. } => catalog.statistics.get(name).map(|s| s.definition.clone()),
    }
}

/// Makes `site` in `to` hold the text it has in `from` (the two mean the same): the diff then
/// plans nothing for it.
pub fn adopt(to: &mut Catalog, from: &Catalog, site: &Site) {
    match site {
        Site::Constraint { table, name } => {
            if let (Some(old), Some(new)) = (
                from.tables.get(table).and_then(|t| t.constraints.get(name)),
                to.tables
                    .get_mut(table)
                    .and_then(|t| t.constraints.get_mut(name)),
            ) {
                new.definition = old.definition.clone();
            }
        }
        Site::Default { table, column } | Site::Generated { table, column } => {
            let old = from
                .tables
                .get(table)
                .map(|t| &t.columns)
                .or_else(|| from.views.get(table).map(|v| &v.columns))
                .and_then(|columns| columns.iter().find(|c| &c.name == column));
            let new = match to.tables.get_mut(table) {
                Some(t) => Some(&mut t.columns),
                None => to.views.get_mut(table).map(|v| &mut v.columns),
            }
            .and_then(|columns| columns.iter_mut().find(|c| &c.name == column));
            if let (Some(old), Some(new)) = (old, new) {
                if matches!(site, Site::Default { .. }) {
                    new.default = old.default.clone();
                } else {
                    new.generated = old.generated.clone();
                }
            }
        }
        Site::Index { table, name } => {
            let old = from
                .tables
                .get(table)
                .map(|t| &t.indexes)
                .or_else(|| from.views.get(table).map(|v| &v.indexes))
                .and_then(|i| i.get(name));
            let new = match to.tables.get_mut(table) {
                Some(t) => t.indexes.get_mut(name),
                None => to
                    .views
                    .get_mut(table)
                    .and_then(|v| v.indexes.get_mut(name)),
            };
            if let (Some(old), Some(new)) = (old, new) {
                new.definition = old.definition.clone();
                new.keys = old.keys.clone();
                new.include = old.include.clone();
                new.predicate = old.predicate.clone();
            }
        }
        Site::Policy { table, name } => {
            if let (Some(old), Some(new)) = (
                from.tables.get(table).and_then(|t| t.policies.get(name)),
                to.tables
                    .get_mut(table)
                    .and_then(|t| t.policies.get_mut(name)),
            ) {
                new.using = old.using.clone();
                new.with_check = old.with_check.clone();
            }
        }
        Site::Trigger { table, name } => {
            let old = from
                .tables
                .get(table)
                .map(|t| &t.triggers)
                .or_else(|| from.views.get(table).map(|v| &v.triggers))
                .and_then(|t| t.get(name));
            let new = match to.tables.get_mut(table) {
                Some(t) => t.triggers.get_mut(name),
                None => to
                    .views
                    .get_mut(table)
                    .and_then(|v| v.triggers.get_mut(name)),
            };
            if let (Some(old), Some(new)) = (old, new) {
                new.definition = old.definition.clone();
            }
        }
        Site::View { name } => {
            if let (Some(old), Some(new)) = (from.views.get(name), to.views.get_mut(name)) {
                new.definition = old.definition.clone();
            }
        }
        Site::Rule { table, name } => {
            let old = from
                .tables
                .get(table)
                .map(|t| &t.rules)
                .or_else(|| from.views.get(table).map(|v| &v.rules))
                .and_then(|r| r.get(name));
            let new = match to.tables.get_mut(table) {
                Some(t) => t.rules.get_mut(name),
                None => to.views.get_mut(table).and_then(|v| v.rules.get_mut(name)),
            };
            if let (Some(old), Some(new)) = (old, new) {
                new.definition = old.definition.clone();
            }
        }
        Site::DomainCheck { domain, name } => {
            let old = match from.types.get(domain).map(|t| &t.kind) {
                Some(TypeKind::Domain { checks, .. }) => checks.get(name),
                _ => None,
            };
            if let (Some(old), Some(TypeKind::Domain { checks, .. })) =
                (old, to.types.get_mut(domain).map(|t| &mut t.kind))
                && let Some(new) = checks.get_mut(name)
            {
                new.definition = old.definition.clone();
            }
        }
        Site::DomainDefault { domain } => {
            let old = match from.types.get(domain).map(|t| &t.kind) {
                Some(TypeKind::Domain { default, .. }) => default.clone(),
                _ => return,
            };
            if let Some(TypeKind::Domain { default, .. }) =
                to.types.get_mut(domain).map(|t| &mut t.kind)
            {
                *default = old;
            }
        }
        Site::Function { key } => {
            if let (Some(old), Some(new)) = (from.functions.get(key), to.functions.get_mut(key)) {
                new.definition = old.definition.clone();
                new.arguments = old.arguments.clone();
            }
        }
        Site::Statistics { name, .. } => {
            if let (Some(old), Some(new)) = (from.statistics.get(name), to.statistics.get_mut(name))
            {
                new.definition = old.definition.clone();
            }
        }
    }
}

/// What a text's meaning depends on besides itself, for keys of cached probe results: the
/// site, the columns of its owner (or the inputs of a view, the base of a domain), and the
/// objects the text names.
pub fn context(catalog: &Catalog, site: &Site, text: &str) -> String {
    let columns = |name: &QualName| -> String {
        columns_of(catalog, name)
            .unwrap_or_default()
            .iter()
            .map(|c| {
                format!(
                    "{} {} {}",
                    c.name,
                    c.data_type,
                    c.collation.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let owner = match site {
        Site::Constraint { table, .. }
        | Site::Default { table, .. }
        | Site::Generated { table, .. }
        | Site::Index { table, .. }
        | Site::Policy { table, .. }
        | Site::Trigger { table, .. }
        | Site::Rule { table, .. } => format!("{table}({})", columns(table)),
        Site::View { name } => catalog
            .views
            .get(name)
            .map(|v| {
                v.depends_on
                    .iter()
                    .map(|n| format!("{n}({})", columns(n)))
                    .collect::<Vec<_>>()
                    .join(";")
            })
            .unwrap_or_default(),
        Site::DomainCheck { domain, .. } | Site::DomainDefault { domain } => {
            match catalog.types.get(domain).map(|t| &t.kind) {
                Some(TypeKind::Domain {
                    base, collation, ..
                }) => format!("{domain} {base} {}", collation.as_deref().unwrap_or("")),
                _ => domain.to_string(),
            }
        }
        Site::Function { key } => format!(
            "{key} {}",
            catalog.functions.get(key).map_or("", |f| f.result.as_str())
        ),
        Site::Statistics { table, .. } => format!("{table}({})", columns(table)),
    };
    let named: Vec<String> = objects_in(catalog, text)
        .iter()
        .map(ToString::to_string)
        .collect();
    let kind = serde_json::to_value(site)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_default();
    format!("{kind}\n{owner}\n{}", named.join(","))
}

/// The statements that parse `text` (the text of `site`, whose owner is described by
/// `catalog`) again on temporary objects, and the query that reads it back. `None` when the
/// site cannot be probed (its owner is not in `catalog`).
pub fn probe(catalog: &Catalog, site: &Site, text: &str) -> Option<Probe> {
    let like = |table: &QualName| format!("CREATE TEMP TABLE {PROBE} (LIKE {})", qualified(table));
    let temp = qualified(&probe_table());
    let temp_oid = format!("'{temp}'::regclass");
    match site {
        Site::Constraint { table, name } => Some(Probe {
            statements: format!(
                "{}; ALTER TABLE {temp} ADD CONSTRAINT {} {text}",
                like(table),
                quote_ident(name)
            ),
            read: format!(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = {temp_oid} AND conname = {}",
                quote_literal(name)
            ),
        }),
        Site::Default { table, column } => Some(Probe {
            statements: format!(
                "{}; ALTER TABLE {temp} ALTER COLUMN {} SET DEFAULT {text}",
                like(table),
                quote_ident(column)
            ),
            read: attribute_expression(&temp_oid, column),
        }),
        Site::Generated { table, column } => {
            let c = catalog
                .tables
                .get(table)?
                .columns
                .iter()
                .find(|c| &c.name == column)?;
            let collate = c
                .collation
                .as_deref()
                .map(|co| format!(" COLLATE {co}"))
                .unwrap_or_default();
            Some(Probe {
                statements: format!(
                    "{}; ALTER TABLE {temp} DROP COLUMN {col}, ADD COLUMN {col} {}{collate} GENERATED ALWAYS AS ({text}) {}",
                    like(table),
                    c.data_type,
                    if c.generated_virtual {
                        "VIRTUAL"
                    } else {
                        "STORED"
                    },
                    col = quote_ident(column),
                ),
                read: attribute_expression(&temp_oid, column),
            })
        }
        Site::Index { table, name } => Some(Probe {
            statements: format!(
                "{}; {}",
                like(table),
                replace_qualified(text, table, &probe_table())
            ),
            read: format!(
                "SELECT pg_get_indexdef(oid) FROM pg_class WHERE relnamespace = pg_my_temp_schema() AND relname = {}",
                quote_literal(name)
            ),
        }),
        Site::Policy { table, name } => {
            let parts = unpack(text)?;
            let command = &catalog.tables.get(table)?.policies.get(name)?.command;
            let permissive = catalog.tables.get(table)?.policies.get(name)?.permissive;
            let mut statement = format!(
                "{}; CREATE POLICY {} ON {temp} AS {} FOR {command}",
                like(table),
                quote_ident(name),
                if permissive {
                    "PERMISSIVE"
                } else {
                    "RESTRICTIVE"
                }
            );
            if let Some(Some(using)) = parts.first() {
                statement.push_str(&format!(" USING ({using})"));
            }
            if let Some(Some(check)) = parts.get(1) {
                statement.push_str(&format!(" WITH CHECK ({check})"));
            }
            Some(Probe {
                statements: statement,
                read: format!(
                    "SELECT json_build_array(pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid))::text FROM pg_policy WHERE polrelid = {temp_oid} AND polname = {}",
                    quote_literal(name)
                ),
            })
        }
        Site::Trigger { table, name } => {
            let owner = if catalog.views.contains_key(table) {
                format!(
                    "CREATE TEMP VIEW {PROBE} AS SELECT * FROM {}",
                    qualified(table)
                )
            } else {
                like(table)
            };
            Some(Probe {
                statements: format!(
                    "{owner}; {}",
                    replace_qualified(text, table, &probe_table())
                ),
                read: format!(
                    "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = {temp_oid} AND tgname = {}",
                    quote_literal(name)
                ),
            })
        }
        Site::Rule { table, name } => {
            let owner = if catalog.views.contains_key(table) {
                format!(
                    "CREATE TEMP VIEW {PROBE} AS SELECT * FROM {}",
                    qualified(table)
                )
            } else {
                like(table)
            };
            Some(Probe {
                statements: format!(
                    "{owner}; {}",
                    replace_qualified(text, table, &probe_table())
                ),
                read: format!(
                    "SELECT rtrim(pg_get_ruledef(oid), ';') FROM pg_rewrite WHERE ev_class = {temp_oid} AND rulename = {}",
                    quote_literal(name)
                ),
            })
        }
        Site::View { name } => {
            // A materialized view's query deparses as a view's would; temporary materialized
            // views do not exist.
            catalog.views.get(name)?;
            Some(Probe {
                statements: format!(
                    "CREATE TEMP VIEW {PROBE} AS {}",
                    text.trim_end().trim_end_matches(';')
                ),
                read: format!("SELECT pg_get_viewdef({temp_oid}, true)"),
            })
        }
        Site::DomainCheck { domain, name } => {
            let base = domain_base(catalog, domain)?;
            Some(Probe {
                statements: format!(
                    "CREATE DOMAIN {temp} AS {base}; ALTER DOMAIN {temp} ADD CONSTRAINT {} {text}",
                    quote_ident(name)
                ),
                read: format!(
                    "SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c JOIN pg_type t ON t.oid = c.contypid WHERE t.typnamespace = pg_my_temp_schema() AND t.typname = '{PROBE}' AND c.conname = {}",
                    quote_literal(name)
                ),
            })
        }
        Site::DomainDefault { domain } => {
            let base = domain_base(catalog, domain)?;
            Some(Probe {
                statements: format!("CREATE DOMAIN {temp} AS {base} DEFAULT {text}"),
                read: format!(
                    "SELECT pg_get_expr(typdefaultbin, 0) FROM pg_type WHERE typnamespace = pg_my_temp_schema() AND typname = '{PROBE}'"
                ),
            })
        }
        Site::Statistics { table, .. } => {
            columns_of(catalog, table)?;
            Some(Probe {
                statements: format!(
                    "{}; {}",
                    like(table),
                    statistics_text(
                        text,
                        &format!("pg_temp.{PROBE}"),
                        &format!("pg_temp.{PROBE}")
                    )?
                ),
                read: format!(
                    "SELECT pg_get_statisticsobjdef(oid) FROM pg_statistic_ext WHERE stxnamespace = pg_my_temp_schema() AND stxname = '{PROBE}'"
                ),
            })
        }
        Site::Function { key } => {
            let parts = unpack(text)?;
            let definition = parts.first()?.as_deref()?;
            Some(Probe {
                statements: replace_qualified(definition, &key.name, &probe_table()),
                read: format!(
                    "SELECT json_build_array(pg_get_functiondef(oid), pg_get_function_arguments(oid))::text FROM pg_proc WHERE pronamespace = pg_my_temp_schema() AND proname = '{PROBE}'"
                ),
            })
        }
    }
}

/// A `CREATE STATISTICS name … FROM table` text with its name and table replaced.
fn statistics_text(definition: &str, name: &str, table: &str) -> Option<String> {
    let rest = definition.strip_prefix("CREATE STATISTICS ")?;
    let (_, rest) = rest.split_once(' ')?;
    let from = rest.rfind(" FROM ")?;
    Some(format!(
        "CREATE STATISTICS {name} {} FROM {table}",
        &rest[..from]
    ))
}

fn attribute_expression(relation: &str, column: &str) -> String {
    format!(
        "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = {relation} AND a.attname = {}",
        quote_literal(column)
    )
}

fn domain_base(catalog: &Catalog, domain: &QualName) -> Option<String> {
    match &catalog.types.get(domain)?.kind {
        TypeKind::Domain {
            base, collation, ..
        } => Some(match collation {
            Some(c) => format!("{base} COLLATE {c}"),
            None => base.clone(),
        }),
        _ => None,
    }
}

/// The text a probe read back, in the form the site's text has in a catalog: the temporary
/// names put back, several parts packed as the catalog packs them.
pub fn read_back(site: &Site, result: &str) -> String {
    match site {
        Site::Index { table, .. } | Site::Trigger { table, .. } | Site::Rule { table, .. } => {
            replace_qualified(result, &probe_table(), table)
        }
        Site::Policy { .. } => match unpack(result) {
            Some(parts) => pack(&parts.iter().map(Option::as_deref).collect::<Vec<_>>()),
            None => result.to_owned(),
        },
        Site::Function { key } => match unpack(result) {
            Some(parts) => {
                let definition = parts
                    .first()
                    .cloned()
                    .flatten()
                    .map(|d| replace_qualified(&d, &probe_table(), &key.name));
                let arguments = parts.get(1).cloned().flatten();
                pack(&[definition.as_deref(), arguments.as_deref()])
            }
            None => result.to_owned(),
        },
        // The statistics object and its table are both the probe's: their names go back.
        Site::Statistics { name, table } => {
            statistics_text(result, &spelled(name), &spelled(table))
                .unwrap_or_else(|| result.to_owned())
        }
        _ => result.to_owned(),
    }
}

/// A name spelled as the deparsers print a qualified name.
fn spelled(name: &QualName) -> String {
    format!("{}.{}", spell(&name.schema), spell(&name.name))
}

/// One step of a text towards its fixed point, as cached: the text a probe read back, or why
/// the probe failed.
pub type Step = Result<String, String>;

/// Follows `step` from `text` until the text stops changing: the fixed point, or `None` when a
/// step is unknown, failed, or the chain does not settle within `limit` steps.
pub fn fixed_point(
    step: impl Fn(&str) -> Option<Step>,
    text: &str,
    limit: usize,
) -> Option<String> {
    let mut current = text.to_owned();
    for _ in 0..limit {
        match step(&current)? {
            Ok(next) if next == current => return Some(current),
            Ok(next) => current = next,
            Err(_) => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::catalog::{Constraint, Index, Policy, TypeDef};

    fn table_with_check(definition: &str) -> Catalog {
        let mut catalog = Catalog::default();
        let mut table = Table::default();
        table.columns.push(Column {
            name: "status".into(),
            data_type: "character varying(10)".into(),
            ..Column::default()
        });
        table.constraints.insert(
            "orders_status_check".into(),
            Constraint {
                kind: ConstraintKind::Check,
                definition: definition.into(),
                columns: vec!["status".into()],
                foreign_key: None,
                validated: true,
                deferrable: false,
                initially_deferred: false,
                index: None,
                comment: None,
            },
        );
        catalog.tables.insert(QualName::new("app", "orders"), table);
        catalog
    }

    const FIRST: &str = "CHECK (((status)::text = ANY ((ARRAY['pending'::character varying, 'shipped'::character varying])::text[])))";
    const SECOND: &str = "CHECK (((status)::text = ANY (ARRAY[('pending'::character varying)::text, ('shipped'::character varying)::text])))";

    #[test]
    fn finds_differing_texts_and_adopts_them() {
        let from = table_with_check(SECOND);
        let mut to = table_with_check(FIRST);
        let found = pairs(&from, &to);
        let site = Site::Constraint {
            table: QualName::new("app", "orders"),
            name: "orders_status_check".into(),
        };
        assert_eq!(
            found,
            [Pair {
                site: site.clone(),
                from: SECOND.into(),
                to: FIRST.into()
            }]
        );
        adopt(&mut to, &from, &site);
        assert_eq!(to, from);
        assert!(pairs(&from, &to).is_empty());
    }

    #[test]
    fn a_changed_column_type_leaves_the_text_to_the_diff() {
        let from = table_with_check(SECOND);
        let mut to = table_with_check(FIRST);
        to.tables
            .get_mut(&QualName::new("app", "orders"))
            .unwrap()
            .columns[0]
            .data_type = "text".into();
        assert!(pairs(&from, &to).is_empty());
    }

    #[test]
    fn probes_use_temporary_objects_only() {
        let catalog = table_with_check(FIRST);
        let site = Site::Constraint {
            table: QualName::new("app", "orders"),
            name: "orders_status_check".into(),
        };
        let probe = probe(&catalog, &site, FIRST).unwrap();
        assert_eq!(
            probe.statements,
            format!(
                "CREATE TEMP TABLE strata_probe (LIKE \"app\".\"orders\"); ALTER TABLE \"pg_temp\".\"strata_probe\" ADD CONSTRAINT \"orders_status_check\" {FIRST}"
            )
        );
        assert!(probe.read.contains("pg_get_constraintdef"));
    }

    #[test]
    fn index_and_trigger_texts_move_to_the_probe_table_and_back() {
        let mut catalog = table_with_check(FIRST);
        let name = QualName::new("app", "orders");
        let definition = "CREATE INDEX orders_open ON app.orders USING btree (status) WHERE ((status)::text = 'pending'::text)";
        catalog.tables.get_mut(&name).unwrap().indexes.insert(
            "orders_open".into(),
            Index {
                definition: definition.into(),
                ..Index::default()
            },
        );
        let site = Site::Index {
            table: name.clone(),
            name: "orders_open".into(),
        };
        let probe = probe(&catalog, &site, definition).unwrap();
        assert!(
            probe
                .statements
                .ends_with("CREATE INDEX orders_open ON pg_temp.strata_probe USING btree (status) WHERE ((status)::text = 'pending'::text)"),
            "{}",
            probe.statements
        );
        let back = read_back(
            &site,
            "CREATE INDEX orders_open ON pg_temp.strata_probe USING btree (status) WHERE ((status)::text = 'pending'::text)",
        );
        assert_eq!(back, definition);
    }

    #[test]
    fn policies_pack_both_expressions() {
        let mut catalog = table_with_check(FIRST);
        let name = QualName::new("app", "orders");
        catalog.tables.get_mut(&name).unwrap().policies.insert(
            "mine".into(),
            Policy {
                permissive: true,
                command: "SELECT".into(),
                roles: vec!["PUBLIC".into()],
                using: Some("(status IS NOT NULL)".into()),
                with_check: None,
                comment: None,
            },
        );
        let site = Site::Policy {
            table: name,
            name: "mine".into(),
        };
        let packed = text(&catalog, &site).unwrap();
        assert_eq!(packed, r#"["(status IS NOT NULL)",null]"#);
        let probe = probe(&catalog, &site, &packed).unwrap();
        assert!(
            probe
                .statements
                .ends_with("AS PERMISSIVE FOR SELECT USING ((status IS NOT NULL))")
        );
        // PostgreSQL's json has spaces; the catalog's packing has none.
        assert_eq!(
            read_back(&site, r#"["(status IS NOT NULL)", null]"#),
            packed
        );
    }

    #[test]
    fn domains_probe_on_a_temporary_domain_of_the_same_base() {
        let mut catalog = Catalog::default();
        let domain = QualName::new("app", "code");
        catalog.types.insert(
            domain.clone(),
            TypeDef {
                kind: TypeKind::Domain {
                    base: "character varying(3)".into(),
                    collation: None,
                    not_null: false,
                    default: None,
                    checks: BTreeMap::new(),
                },
                comment: None,
                privileges: Default::default(),
            },
        );
        let site = Site::DomainCheck {
            domain,
            name: "code_check".into(),
        };
        let probe = probe(&catalog, &site, "CHECK ((VALUE)::text <> ''::text)").unwrap();
        assert_eq!(
            probe.statements,
            "CREATE DOMAIN \"pg_temp\".\"strata_probe\" AS character varying(3); ALTER DOMAIN \"pg_temp\".\"strata_probe\" ADD CONSTRAINT \"code_check\" CHECK ((VALUE)::text <> ''::text)"
        );
    }

    #[test]
    fn view_defaults_are_sites_probed_on_a_table_like_the_view() {
        let mut from = Catalog::default();
        let name = QualName::new("app", "open_orders");
        let view = |default: &str| crate::catalog::View {
            kind: crate::catalog::ViewKind::View,
            definition: " SELECT orders.status FROM app.orders;".into(),
            columns: vec![Column {
                name: "status".into(),
                data_type: "character varying(10)".into(),
                default: Some(default.into()),
                ..Column::default()
            }],
            options: Vec::new(),
            indexes: BTreeMap::new(),
            triggers: BTreeMap::new(),
            rules: BTreeMap::new(),
            depends_on: Vec::new(),
            comment: None,
            privileges: Default::default(),
        };
        from.views
            .insert(name.clone(), view("'pending'::character varying"));
        let mut to = from.clone();
        to.views
            .insert(name.clone(), view("('pending'::character varying)::text"));
        let site = Site::Default {
            table: name.clone(),
            column: "status".into(),
        };
        let found = pairs(&from, &to);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].site, site);
        let probe = probe(&to, &site, &found[0].to).unwrap();
        assert_eq!(
            probe.statements,
            "CREATE TEMP TABLE strata_probe (LIKE \"app\".\"open_orders\"); ALTER TABLE \"pg_temp\".\"strata_probe\" ALTER COLUMN \"status\" SET DEFAULT ('pending'::character varying)::text"
        );
        adopt(&mut to, &from, &site);
        assert_eq!(to, from);
    }

    #[test]
    fn statistics_probe_on_a_temporary_table_and_read_back_their_names() {
        let mut from = table_with_check(FIRST);
        let table = QualName::new("app", "orders");
        let name = QualName::new("app", "orders_status");
        let stats = |definition: &str| crate::catalog::Statistics {
            table: table.clone(),
            definition: definition.into(),
            target: None,
            comment: None,
        };
        let old = "CREATE STATISTICS app.orders_status ON status, ((status)::text = 'x'::text) FROM app.orders";
        let new = "CREATE STATISTICS app.orders_status ON status, (((status)::text = 'x'::text)) FROM app.orders";
        from.statistics.insert(name.clone(), stats(old));
        let mut to = from.clone();
        to.statistics.insert(name.clone(), stats(new));
        let site = Site::Statistics {
            name: name.clone(),
            table: table.clone(),
        };
        assert_eq!(
            pairs(&from, &to),
            [Pair {
                site: site.clone(),
                from: old.into(),
                to: new.into()
            }]
        );
        let probe = probe(&to, &site, new).unwrap();
        assert_eq!(
            probe.statements,
            "CREATE TEMP TABLE strata_probe (LIKE \"app\".\"orders\"); CREATE STATISTICS pg_temp.strata_probe ON status, (((status)::text = 'x'::text)) FROM pg_temp.strata_probe"
        );
        assert!(probe.read.contains("pg_get_statisticsobjdef"));
        // As PostgreSQL prints it for the probe, the temporary table visible or not.
        for printed in [
            "CREATE STATISTICS pg_temp.strata_probe ON status, ((status)::text = 'x'::text) FROM strata_probe",
            "CREATE STATISTICS pg_temp.strata_probe ON status, ((status)::text = 'x'::text) FROM pg_temp.strata_probe",
        ] {
            assert_eq!(read_back(&site, printed), old);
        }
        adopt(&mut to, &from, &site);
        assert_eq!(to, from);
    }

    #[test]
    fn rules_probe_on_a_temporary_copy_of_their_table() {
        let mut catalog = table_with_check(FIRST);
        let table = QualName::new("app", "orders");
        let definition = "CREATE RULE keep AS\n    ON DELETE TO app.orders\n   WHERE ((old.status)::text = ANY ((ARRAY['new'::character varying])::text[])) DO INSTEAD NOTHING";
        catalog.tables.get_mut(&table).unwrap().rules.insert(
            "keep".into(),
            crate::catalog::Rule {
                definition: definition.into(),
                enabled: "O".into(),
                comment: None,
            },
        );
        let site = Site::Rule {
            table: table.clone(),
            name: "keep".into(),
        };
        assert_eq!(text(&catalog, &site).as_deref(), Some(definition));
        let probe = probe(&catalog, &site, definition).unwrap();
        assert!(
            probe.statements.starts_with(
                "CREATE TEMP TABLE strata_probe (LIKE \"app\".\"orders\"); CREATE RULE keep AS\n    ON DELETE TO pg_temp.strata_probe\n"
            ),
            "{}",
            probe.statements
        );
        assert!(probe.read.contains("pg_get_ruledef"));
        assert_eq!(
            read_back(
                &site,
                &definition.replace("TO app.orders", "TO pg_temp.strata_probe")
            ),
            definition
        );
        let mut other = catalog.clone();
        other
            .tables
            .get_mut(&table)
            .unwrap()
            .rules
            .get_mut("keep")
            .unwrap()
            .definition = "changed".into();
        assert_eq!(pairs(&catalog, &other).len(), 1);
        adopt(&mut other, &catalog, &site);
        assert_eq!(other, catalog);
    }

    #[test]
    fn fixed_points_follow_the_steps() {
        let mut steps: BTreeMap<String, Step> = BTreeMap::new();
        steps.insert(FIRST.to_owned(), Ok(SECOND.to_owned()));
        steps.insert(SECOND.to_owned(), Ok(SECOND.to_owned()));
        steps.insert("a".into(), Ok("b".into()));
        steps.insert("b".into(), Ok("a".into()));
        steps.insert("c".into(), Err("syntax error".into()));
        let step = |t: &str| steps.get(t).cloned();
        assert_eq!(fixed_point(step, FIRST, 5).as_deref(), Some(SECOND));
        assert_eq!(fixed_point(step, SECOND, 5).as_deref(), Some(SECOND));
        assert_eq!(fixed_point(step, "unknown", 5), None);
        assert_eq!(fixed_point(step, "a", 5), None);
        assert_eq!(fixed_point(step, "c", 5), None);
    }
}
