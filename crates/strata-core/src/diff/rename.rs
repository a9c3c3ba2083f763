//! Renames: decided by the user (a prompt, a flag or an annotation), applied by the diff.
//!
//! A rename is applied to a copy of the old catalog, rewriting the references that PostgreSQL
//! itself would rewrite (index and constraint definitions, views, defaults, foreign keys), and
//! becomes one `RENAME` step. The rest of the diff then compares the renamed catalog with the new
//! one. A reference the rewriting misses only shows up as a change to re-create, which the
//! convergence check confirms.

use super::deps;
use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::catalog::{Catalog, Constraint, Index, QualName, TypeKind};
use crate::plan::{ObjectRef, Step};
use crate::refs::{replace_identifier, replace_qualified, replace_schema};
use crate::render::qualified;
use crate::sql::{quote_ident, quote_literal};

use super::DiffError;

/// A rename the diff should plan instead of a drop and a create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rename {
    /// `ALTER SCHEMA … RENAME TO …`
    Schema {
        /// The old name.
        from: String,
        /// The new name.
        to: String,
    },
    /// A table, view, materialized view, sequence or type, within its schema.
    Relation {
        /// The old name.
        from: QualName,
        /// The new name (same schema).
        to: String,
    },
    /// `ALTER TABLE … RENAME COLUMN …`
    Column {
        /// The table (its name after any relation rename).
        table: QualName,
        /// The old column name.
        from: String,
        /// The new column name.
        to: String,
    },
    /// `ALTER INDEX … RENAME TO …`
    Index {
        /// The table (its name after any relation rename).
        table: QualName,
        /// The old index name.
        from: String,
        /// The new index name.
        to: String,
    },
    /// `ALTER TABLE … RENAME CONSTRAINT …` (a key's index is renamed with it).
    Constraint {
        /// The table (its name after any relation rename).
        table: QualName,
        /// The old constraint name.
        from: String,
        /// The new constraint name.
        to: String,
    },
    /// `ALTER TYPE … RENAME VALUE …`
    EnumValue {
        /// The enum.
        type_name: QualName,
        /// The old label.
        from: String,
        /// The new label.
        to: String,
    },
}

impl Rename {
    /// The renames that undo `renames` (for the reverse plan of a migration): each the other
    /// way round, in reverse order. A column's, index's or constraint's table keeps its name:
    /// the diff reads it the same way in both directions.
    pub fn reversed(renames: &[Rename]) -> Vec<Rename> {
        renames
            .iter()
            .rev()
            .map(|r| match r {
                Rename::Relation { from, to } => Rename::Relation {
                    from: QualName::new(from.schema.clone(), to.clone()),
                    to: from.name.clone(),
                },
                Rename::Column { table, from, to } => Rename::Column {
                    table: table.clone(),
                    from: to.clone(),
                    to: from.clone(),
                },
                Rename::Schema { from, to } => Rename::Schema {
                    from: to.clone(),
                    to: from.clone(),
                },
                Rename::Index { table, from, to } => Rename::Index {
                    table: table.clone(),
                    from: to.clone(),
                    to: from.clone(),
                },
                Rename::Constraint { table, from, to } => Rename::Constraint {
                    table: table.clone(),
                    from: to.clone(),
                    to: from.clone(),
                },
                Rename::EnumValue {
                    type_name,
                    from,
                    to,
                } => Rename::EnumValue {
                    type_name: type_name.clone(),
                    from: to.clone(),
                    to: from.clone(),
                },
            })
            .collect()
    }

    /// Reads a rename written as `OLD=NEW`, where OLD names the object in `catalog` (the old
    /// state) and NEW is its new name alone:
    ///
    /// - `schema=new` renames a schema;
    /// - `schema.name=new` a table, view, sequence or type;
    /// - `schema.table.name=new` a column, constraint or index of the table (looked up in that
    ///   order), or `schema.enum.value=new` a value of an enum.
    pub fn parse(text: &str, catalog: &Catalog) -> Result<Rename, String> {
        let usage = || {
            format!("`{text}` is not a rename; write OLD=NEW, e.g. questions.batteries.label=name")
        };
        let (old, new) = text.split_once('=').ok_or_else(usage)?;
        let new = new.trim();
        if new.is_empty() || new.contains('.') {
            return Err(format!(
                "`{text}`: the new name is a single name (`{}`), without its schema or table",
                new.rsplit('.').next().unwrap_or(new)
            ));
        }
        let parts = split_path(old.trim()).ok_or_else(usage)?;
        match parts.as_slice() {
            [schema] => Ok(Rename::Schema {
                from: schema.clone(),
                to: new.to_owned(),
            }),
            [schema, name] => Ok(Rename::Relation {
                from: QualName::new(schema.clone(), name.clone()),
                to: new.to_owned(),
            }),
            [schema, parent, name] => {
                let parent = QualName::new(schema.clone(), parent.clone());
                if let Some(table) = catalog.tables.get(&parent) {
                    if table.columns.iter().any(|c| &c.name == name) {
                        return Ok(Rename::Column {
                            table: parent,
                            from: name.clone(),
                            to: new.to_owned(),
                        });
                    }
                    if table.constraints.contains_key(name) {
                        return Ok(Rename::Constraint {
                            table: parent,
                            from: name.clone(),
                            to: new.to_owned(),
                        });
                    }
                    if table.indexes.contains_key(name) {
                        return Ok(Rename::Index {
                            table: parent,
                            from: name.clone(),
                            to: new.to_owned(),
                        });
                    }
                    return Err(format!(
                        "`{text}`: {parent} has no column, constraint or index named {name}"
                    ));
                }
                if let Some(ty) = catalog.types.get(&parent)
                    && matches!(ty.kind, TypeKind::Enum { .. })
                {
                    return Ok(Rename::EnumValue {
                        type_name: parent,
                        from: name.clone(),
                        to: new.to_owned(),
                    });
                }
                Err(format!("`{text}`: there is no table or enum {parent}"))
            }
            _ => Err(usage()),
        }
    }
}

/// Reads several renames in order, each against the old catalog with the ones before it
/// applied (so a column rename may name its table by its new name).
pub fn parse_renames(texts: &[String], catalog: &Catalog) -> Result<Vec<Rename>, String> {
    let mut renames = Vec::new();
    let mut renamed = Cow::Borrowed(catalog);
    for text in texts {
        let rename = Rename::parse(text, &renamed)?;
        renamed = apply(renamed, std::slice::from_ref(&rename))
            .map_err(|e| e.to_string())?
            .0;
        renames.push(rename);
    }
    Ok(renames)
}

/// Splits `a.b."C.d"` into its names (quoted parts keep their case and dots).
fn split_path(text: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut rest = text;
    loop {
        let (part, tail) = if let Some(quoted) = rest.strip_prefix('"') {
            let mut name = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '"' {
                    if quoted[i + 1..].starts_with('"') {
                        name.push('"');
                        chars.next();
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                } else {
                    name.push(c);
                }
            }
            (name, &quoted[end?..])
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            (rest[..end].to_lowercase(), &rest[end..])
        };
        if part.is_empty() {
            return None;
        }
        parts.push(part);
        match tail.strip_prefix('.') {
            Some(next) => rest = next,
            None if tail.is_empty() => return Some(parts),
            None => return None,
        }
    }
}

/// The catalog with the renames done, and their steps. Without renames the catalog is passed
/// through: a copy of a 10,000-table catalog costs more than the rest of a diff with no change.
pub(super) fn apply<'a>(
    catalog: Cow<'a, Catalog>,
    renames: &[Rename],
) -> Result<(Cow<'a, Catalog>, Vec<Step>), DiffError> {
    if renames.is_empty() {
        return Ok((catalog, Vec::new()));
    }
    let mut catalog = catalog.into_owned();
    let mut steps = Vec::new();
    for rename in renames {
        steps.push(apply_one(&mut catalog, rename)?);
    }
    Ok((Cow::Owned(catalog), steps))
}

fn missing(what: &str) -> DiffError {
    DiffError::Rename(format!("cannot rename {what}: it does not exist"))
}

fn taken(what: &str) -> DiffError {
    DiffError::Rename(format!("cannot rename to {what}: that name is taken"))
}

/// Rewrites every deparsed text of the catalog.
fn rewrite_texts(catalog: &mut Catalog, f: &dyn Fn(&str) -> String) {
    for table in catalog.tables.values_mut() {
        for column in &mut table.columns {
            rewrite_opt(&mut column.default, f);
            rewrite_opt(&mut column.generated, f);
            rewrite_opt(&mut column.collation, f);
            column.data_type = f(&column.data_type);
        }
        for constraint in table.constraints.values_mut() {
            constraint.definition = f(&constraint.definition);
        }
        for index in table.indexes.values_mut() {
            index.definition = f(&index.definition);
            rewrite_opt(&mut index.predicate, f);
            for key in &mut index.keys {
                *key = f(key);
            }
        }
        for trigger in table.triggers.values_mut() {
            trigger.definition = f(&trigger.definition);
        }
        for policy in table.policies.values_mut() {
            rewrite_opt(&mut policy.using, f);
            rewrite_opt(&mut policy.with_check, f);
        }
        for rule in table.rules.values_mut() {
            rule.definition = f(&rule.definition);
        }
    }
    for view in catalog.views.values_mut() {
        view.definition = f(&view.definition);
        for column in &mut view.columns {
            column.data_type = f(&column.data_type);
            rewrite_opt(&mut column.default, f);
        }
        for index in view.indexes.values_mut() {
            index.definition = f(&index.definition);
        }
        for trigger in view.triggers.values_mut() {
            trigger.definition = f(&trigger.definition);
        }
        for rule in view.rules.values_mut() {
            rule.definition = f(&rule.definition);
        }
    }
    for stats in catalog.statistics.values_mut() {
        stats.definition = f(&stats.definition);
    }
    for ty in catalog.types.values_mut() {
        match &mut ty.kind {
            TypeKind::Domain {
                base,
                default,
                checks,
                ..
            } => {
                *base = f(base);
                rewrite_opt(default, f);
                for check in checks.values_mut() {
                    check.definition = f(&check.definition);
                }
            }
            TypeKind::Composite { attributes } => {
                for attribute in attributes {
                    attribute.data_type = f(&attribute.data_type);
                }
            }
            _ => {}
        }
    }
}

fn rewrite_opt(text: &mut Option<String>, f: &dyn Fn(&str) -> String) {
    if let Some(t) = text {
        *t = f(t);
    }
}

/// Replaces a qualified name in structured references.
fn rename_references(catalog: &mut Catalog, old: &QualName, new: &QualName) {
    let swap = |name: &mut QualName| {
        if name == old {
            *name = new.clone();
        }
    };
    for table in catalog.tables.values_mut() {
        if let Some(p) = &mut table.partition_of {
            swap(&mut p.parent);
        }
        table.inherits.iter_mut().for_each(swap);
        for constraint in table.constraints.values_mut() {
            if let Some(fk) = &mut constraint.foreign_key {
                swap(&mut fk.table);
            }
        }
    }
    for view in catalog.views.values_mut() {
        view.depends_on.iter_mut().for_each(swap);
        view.depends_on.sort();
    }
    for sequence in catalog.sequences.values_mut() {
        if let Some((table, _)) = &mut sequence.owned_by {
            swap(table);
        }
    }
    for stats in catalog.statistics.values_mut() {
        swap(&mut stats.table);
    }
}

fn apply_one(catalog: &mut Catalog, rename: &Rename) -> Result<Step, DiffError> {
    match rename {
        Rename::Schema { from, to } => {
            let schema = catalog
                .schemas
                .remove(from)
                .ok_or_else(|| missing(&format!("schema {from}")))?;
            if catalog.schemas.contains_key(to) {
                return Err(taken(&format!("schema {to}")));
            }
            catalog.schemas.insert(to.clone(), schema);
            let move_key = |name: &QualName| {
                if &name.schema == from {
                    QualName::new(to.clone(), name.name.clone())
                } else {
                    name.clone()
                }
            };
            let old_names: Vec<QualName> = catalog
                .tables
                .keys()
                .chain(catalog.views.keys())
                .chain(catalog.sequences.keys())
                .chain(catalog.types.keys())
                .filter(|n| &n.schema == from)
                .cloned()
                .collect();
            catalog.tables = std::mem::take(&mut catalog.tables)
                .into_iter()
                .map(|(k, v)| (move_key(&k), v))
                .collect();
            catalog.views = std::mem::take(&mut catalog.views)
                .into_iter()
                .map(|(k, v)| (move_key(&k), v))
                .collect();
            catalog.sequences = std::mem::take(&mut catalog.sequences)
                .into_iter()
                .map(|(k, v)| (move_key(&k), v))
                .collect();
            catalog.types = std::mem::take(&mut catalog.types)
                .into_iter()
                .map(|(k, v)| (move_key(&k), v))
                .collect();
            catalog.collations = std::mem::take(&mut catalog.collations)
                .into_iter()
                .map(|(k, v)| (move_key(&k), v))
                .collect();
            catalog.statistics = std::mem::take(&mut catalog.statistics)
                .into_iter()
                .map(|(k, v)| (move_key(&k), v))
                .collect();
            catalog.operators = std::mem::take(&mut catalog.operators)
                .into_values()
                .map(|mut o| {
                    if &o.schema == from {
                        o.schema = to.clone();
                    }
                    (o.signature(), o)
                })
                .collect();
            catalog.functions = std::mem::take(&mut catalog.functions)
                .into_iter()
                .map(|(mut k, mut v)| {
                    if &k.name.schema == from {
                        k.name.schema = to.clone();
                    }
                    v.definition = replace_schema(&v.definition, from, to);
                    (k, v)
                })
                .collect();
            for name in &old_names {
                rename_references(catalog, name, &move_key(name));
            }
            // Identity sequences move with the schema too.
            for table in catalog.tables.values_mut() {
                for identity in table.columns.iter_mut().filter_map(|c| c.identity.as_mut()) {
                    identity.sequence_name = move_key(&identity.sequence_name);
                }
            }
            let (from_s, to_s) = (from.clone(), to.clone());
            rewrite_texts(catalog, &move |text| replace_schema(text, &from_s, &to_s));
            for d in &mut catalog.default_privileges {
                if d.schema.as_ref() == Some(from) {
                    d.schema = Some(to.clone());
                }
            }
            Ok(Step::new(
                format!("schema {from}"),
                format!(
                    "ALTER SCHEMA {} RENAME TO {}",
                    quote_ident(from),
                    quote_ident(to)
                ),
            )
            .needs([deps::schema(from)])
            .removes([deps::schema(from)])
            .creates([deps::schema(to)]))
        }
        Rename::Relation { from, to } => {
            let new = QualName::new(from.schema.clone(), to.clone());
            let exists = |c: &Catalog, n: &QualName| {
                c.tables.contains_key(n)
                    || c.views.contains_key(n)
                    || c.sequences.contains_key(n)
                    || c.types.contains_key(n)
            };
            if exists(catalog, &new) {
                return Err(taken(&new.to_string()));
            }
            let keyword = if let Some(t) = catalog.tables.remove(from) {
                catalog.tables.insert(new.clone(), t);
                "TABLE"
            } else if let Some(v) = catalog.views.remove(from) {
                let keyword = if v.kind == crate::catalog::ViewKind::Materialized {
                    "MATERIALIZED VIEW"
                } else {
                    "VIEW"
                };
                catalog.views.insert(new.clone(), v);
                keyword
            } else if let Some(s) = catalog.sequences.remove(from) {
                catalog.sequences.insert(new.clone(), s);
                "SEQUENCE"
            } else if let Some(t) = catalog.types.remove(from) {
                let keyword = if matches!(t.kind, TypeKind::Domain { .. }) {
                    "DOMAIN"
                } else {
                    "TYPE"
                };
                catalog.types.insert(new.clone(), t);
                keyword
            } else {
                return Err(missing(&from.to_string()));
            };
            rename_references(catalog, from, &new);
            let (old_name, new_name) = (from.clone(), new.clone());
            rewrite_texts(catalog, &move |text| {
                replace_qualified(text, &old_name, &new_name)
            });
            let mut step = Step::new(
                from.to_string(),
                format!(
                    "ALTER {keyword} {} RENAME TO {}",
                    qualified(from),
                    quote_ident(to)
                ),
            )
            .needs([deps::relation(from)])
            .removes([deps::relation(from), deps::shape(from)])
            .creates([deps::relation(&new), deps::shape(&new)]);
            if keyword == "TABLE" {
                // Its parts keep their names but now hang off the new table name.
                let table = &catalog.tables[&new];
                step = step
                    .removes(table.constraints.keys().map(|c| ObjectRef::Constraint {
                        table: from.clone(),
                        name: c.clone(),
                    }))
                    .creates(table.constraints.keys().map(|c| ObjectRef::Constraint {
                        table: new.clone(),
                        name: c.clone(),
                    }));
            }
            Ok(step)
        }
        Rename::Column { table, from, to } => {
            let t = catalog
                .tables
                .get_mut(table)
                .ok_or_else(|| missing(&table.to_string()))?;
            if t.columns.iter().any(|c| &c.name == to) {
                return Err(taken(&format!("column {to} of {table}")));
            }
            let column = t
                .columns
                .iter_mut()
                .find(|c| &c.name == from)
                .ok_or_else(|| missing(&format!("column {from} of {table}")))?;
            column.name = to.clone();
            let rw = |text: &str| replace_identifier(text, from, to);
            for other in &mut t.columns {
                rewrite_opt(&mut other.generated, &rw);
            }
            for constraint in t.constraints.values_mut() {
                constraint.definition = rw(&constraint.definition);
                for c in &mut constraint.columns {
                    if c == from {
                        *c = to.clone();
                    }
                }
            }
            for index in t.indexes.values_mut() {
                index.definition = rw(&index.definition);
                rewrite_opt(&mut index.predicate, &rw);
                for key in index.keys.iter_mut().chain(index.include.iter_mut()) {
                    *key = rw(key);
                }
            }
            for trigger in t.triggers.values_mut() {
                trigger.definition = rw(&trigger.definition);
            }
            for policy in t.policies.values_mut() {
                rewrite_opt(&mut policy.using, &rw);
                rewrite_opt(&mut policy.with_check, &rw);
            }
            for rule in t.rules.values_mut() {
                rule.definition = rw(&rule.definition);
            }
            // Foreign keys elsewhere that reference the column.
            let target = format!("{}(", table);
            for other in catalog.tables.values_mut() {
                for constraint in other.constraints.values_mut() {
                    let Some(fk) = &mut constraint.foreign_key else {
                        continue;
                    };
                    if &fk.table == table {
                        for c in &mut fk.columns {
                            if c == from {
                                *c = to.clone();
                            }
                        }
                        if let Some(at) = constraint.definition.find(&target) {
                            let (head, tail) = constraint.definition.split_at(at + target.len());
                            let end = tail.find(')').unwrap_or(tail.len());
                            constraint.definition =
                                format!("{head}{}{}", rw(&tail[..end]), &tail[end..]);
                        }
                    }
                }
            }
            for sequence in catalog.sequences.values_mut() {
                if let Some((owner, column)) = &mut sequence.owned_by
                    && owner == table
                    && column == from
                {
                    *column = to.clone();
                }
            }
            Ok(Step::new(
                format!("{table}.{from}"),
                format!(
                    "ALTER TABLE {} RENAME COLUMN {} TO {}",
                    qualified(table),
                    quote_ident(from),
                    quote_ident(to)
                ),
            )
            .needs([deps::relation(table)])
            .removes([deps::shape(table)])
            .creates([deps::shape(table)]))
        }
        Rename::Index { table, from, to } => {
            let t = catalog
                .tables
                .get_mut(table)
                .ok_or_else(|| missing(&table.to_string()))?;
            if t.indexes.contains_key(to) {
                return Err(taken(&format!("index {to}")));
            }
            let mut index = t
                .indexes
                .remove(from)
                .ok_or_else(|| missing(&format!("index {from}")))?;
            index.definition = index.definition.replacen(
                &format!("INDEX {} ON", crate::refs::spell(from)),
                &format!("INDEX {} ON", crate::refs::spell(to)),
                1,
            );
            if let Some(c) = index
                .constraint
                .as_ref()
                .and_then(|c| t.constraints.get_mut(c))
            {
                c.index = Some(to.clone());
            }
            t.indexes.insert(to.clone(), index);
            let schema = table.schema.clone();
            Ok(Step::new(
                from.clone(),
                format!(
                    "ALTER INDEX {} RENAME TO {}",
                    qualified(&QualName::new(schema.clone(), from.clone())),
                    quote_ident(to)
                ),
            )
            .needs([ObjectRef::Index {
                name: QualName::new(schema.clone(), from.clone()),
            }])
            .removes([ObjectRef::Index {
                name: QualName::new(schema.clone(), from.clone()),
            }])
            .creates([ObjectRef::Index {
                name: QualName::new(schema, to.clone()),
            }]))
        }
        Rename::Constraint { table, from, to } => {
            let t = catalog
                .tables
                .get_mut(table)
                .ok_or_else(|| missing(&table.to_string()))?;
            if t.constraints.contains_key(to) {
                return Err(taken(&format!("constraint {to}")));
            }
            let mut constraint = t
                .constraints
                .remove(from)
                .ok_or_else(|| missing(&format!("constraint {from}")))?;
            // A key's index carries the key's name, and is renamed with it.
            if let Some(index_name) = constraint.index.clone()
                && let Some(mut index) = t.indexes.remove(&index_name)
            {
                index.definition = index.definition.replacen(
                    &format!("INDEX {} ON", crate::refs::spell(&index_name)),
                    &format!("INDEX {} ON", crate::refs::spell(to)),
                    1,
                );
                index.constraint = Some(to.clone());
                t.indexes.insert(to.clone(), index);
                constraint.index = Some(to.clone());
            }
            t.constraints.insert(to.clone(), constraint);
            Ok(Step::new(
                format!("{table}.{from}"),
                format!(
                    "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                    qualified(table),
                    quote_ident(from),
                    quote_ident(to)
                ),
            )
            .needs([ObjectRef::Constraint {
                table: table.clone(),
                name: from.clone(),
            }])
            .removes([ObjectRef::Constraint {
                table: table.clone(),
                name: from.clone(),
            }])
            .creates([ObjectRef::Constraint {
                table: table.clone(),
                name: to.clone(),
            }]))
        }
        Rename::EnumValue {
            type_name,
            from,
            to,
        } => {
            let ty = catalog
                .types
                .get_mut(type_name)
                .ok_or_else(|| missing(&type_name.to_string()))?;
            let TypeKind::Enum { labels } = &mut ty.kind else {
                return Err(DiffError::Rename(format!(
                    "cannot rename a value of {type_name}: it is not an enum"
                )));
            };
            if labels.contains(to) {
                return Err(taken(&format!("value {to} of {type_name}")));
            }
            let label = labels
                .iter_mut()
                .find(|l| *l == from)
                .ok_or_else(|| missing(&format!("value {from} of {type_name}")))?;
            *label = to.clone();
            let (old_literal, new_literal) = (quote_literal(from), quote_literal(to));
            let suffix = format!("::{type_name}");
            rewrite_texts(catalog, &move |text| {
                text.replace(
                    &format!("{old_literal}{suffix}"),
                    &format!("{new_literal}{suffix}"),
                )
            });
            Ok(Step::new(
                type_name.to_string(),
                format!(
                    "ALTER TYPE {} RENAME VALUE {} TO {}",
                    qualified(type_name),
                    quote_literal(from),
                    quote_literal(to)
                ),
            )
            .needs([deps::relation(type_name)])
            .removes([deps::relation(type_name)])
            .creates([deps::relation(type_name)]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Column, Table, TypeDef};

    #[test]
    fn parses_renames_against_the_old_catalog() {
        let mut catalog = Catalog::default();
        let table = Table {
            columns: vec![Column {
                name: "label".into(),
                data_type: "text".into(),
                ..Column::default()
            }],
            ..Table::default()
        };
        catalog
            .tables
            .insert(QualName::new("questions", "batteries"), table);
        catalog.types.insert(
            QualName::new("questions", "kind"),
            TypeDef {
                kind: TypeKind::Enum {
                    labels: vec!["a".into()],
                },
                comment: None,
                privileges: Default::default(),
            },
        );
        let t = QualName::new("questions", "batteries");
        assert_eq!(
            Rename::parse("questions.batteries.label=name", &catalog),
            Ok(Rename::Column {
                table: t.clone(),
                from: "label".into(),
                to: "name".into()
            })
        );
        assert_eq!(
            Rename::parse("questions.batteries=sets", &catalog),
            Ok(Rename::Relation {
                from: t,
                to: "sets".into()
            })
        );
        assert_eq!(
            Rename::parse("questions=q", &catalog),
            Ok(Rename::Schema {
                from: "questions".into(),
                to: "q".into()
            })
        );
        assert!(matches!(
            Rename::parse("questions.kind.a=b", &catalog),
            Ok(Rename::EnumValue { .. })
        ));
        assert!(
            Rename::parse("questions.batteries.nope=x", &catalog)
                .unwrap_err()
                .contains("no column")
        );
        assert!(
            Rename::parse("questions.batteries.label=other.name", &catalog)
                .unwrap_err()
                .contains("single name")
        );
        assert!(
            Rename::parse("no-equals", &catalog)
                .unwrap_err()
                .contains("OLD=NEW")
        );
        assert_eq!(
            split_path("\"My S\".t"),
            Some(vec!["My S".into(), "t".into()])
        );
    }
}

/// A dropped and an added object of the same kind in the same parent: perhaps a rename. The
/// user decides (a prompt, `--rename`, or a `-- strata:renamed-from` annotation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenameCandidate {
    /// What the old object is called in `--rename` syntax (`schema.table.column`).
    pub old_path: String,
    /// The new name alone.
    pub new_name: String,
    /// "column", "table", …
    pub kind: &'static str,
}

impl RenameCandidate {
    /// The flag that says it is a rename.
    pub fn flag(&self) -> String {
        format!(
            "--rename {}={}",
            self.old_path,
            crate::refs::spell(&self.new_name)
        )
    }
}

/// Possible renames between two catalogs, so that a rename never becomes a silent drop and
/// create: in each table present in both, every column that goes paired with every column of a
/// compatible type that comes (however many others come too); in each schema, every table that
/// goes paired with every table that comes and shares a column with it (or the only one that
/// comes, when one goes and one comes).
pub fn rename_candidates(from: &Catalog, to: &Catalog) -> Vec<RenameCandidate> {
    let mut out = Vec::new();
    for (name, old) in &from.tables {
        let Some(new) = to.tables.get(name) else {
            continue;
        };
        let came: Vec<_> = new
            .columns
            .iter()
            .filter(|c| !old.columns.iter().any(|o| o.name == c.name))
            .collect();
        for gone in old
            .columns
            .iter()
            .filter(|c| !new.columns.iter().any(|n| n.name == c.name))
        {
            for came in came
                .iter()
                .filter(|c| compatible_types(&gone.data_type, &c.data_type))
            {
                out.push(RenameCandidate {
                    old_path: format!("{name}.{}", crate::refs::spell(&gone.name)),
                    new_name: came.name.clone(),
                    kind: "column",
                });
            }
        }
    }
    let schemas: std::collections::BTreeSet<&String> =
        from.tables.keys().map(|n| &n.schema).collect();
    for schema in schemas {
        let gone: Vec<_> = from
            .tables
            .iter()
            .filter(|(n, _)| &n.schema == schema && !to.tables.contains_key(*n))
            .collect();
        let came: Vec<_> = to
            .tables
            .iter()
            .filter(|(n, _)| &n.schema == schema && !from.tables.contains_key(*n))
            .collect();
        let one_to_one = gone.len() == 1 && came.len() == 1;
        for (g, old) in &gone {
            for (c, new) in &came {
                let shared = old.columns.iter().any(|o| {
                    new.columns
                        .iter()
                        .any(|n| n.name == o.name && n.data_type == o.data_type)
                });
                if one_to_one || shared {
                    out.push(RenameCandidate {
                        old_path: g.to_string(),
                        new_name: c.name.clone(),
                        kind: "table",
                    });
                }
            }
        }
    }
    out
}

/// Whether a column of type `from` may have become one of type `to` by a rename: the same type,
/// or one PostgreSQL converts to without loss (a longer `varchar`, `text`, a wider integer).
fn compatible_types(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    let family = |t: &str| -> Option<u8> {
        let base = t.split('(').next().unwrap_or(t);
        match base {
            "character varying" | "text" | "character" => Some(0),
            "smallint" | "integer" | "bigint" | "numeric" => Some(1),
            "timestamp without time zone" | "timestamp with time zone" => Some(2),
            "json" | "jsonb" => Some(3),
            _ => None,
        }
    };
    !from.ends_with("[]")
        && !to.ends_with("[]")
        && family(from).is_some()
        && family(from) == family(to)
}

/// Renames that need no decision: a constraint or an index of a table that is gone under one
/// name and present under another, identical otherwise (after a column rename, the key
/// `t_label_key` that the declared files now call `t_name_key`). A rename keeps the index
/// instead of building it again. Only one-to-one matches count.
pub(super) fn implied(from: &Catalog, to: &Catalog) -> Vec<Rename> {
    let mut out = Vec::new();
    for (name, old) in &from.tables {
        let Some(new) = to.tables.get(name) else {
            continue;
        };
        let pairs = one_to_one(
            &old.constraints,
            &new.constraints,
            |a: &Constraint, b: &Constraint| {
                let mut a = a.clone();
                a.index.clone_from(&b.index);
                a.comment.clone_from(&b.comment);
                a == *b
            },
        );
        for (from_name, to_name) in pairs {
            // The key's index is renamed with it: its new name must be free too.
            if !old.indexes.contains_key(&to_name) {
                out.push(Rename::Constraint {
                    table: name.clone(),
                    from: from_name,
                    to: to_name,
                });
            }
        }
        let standalone = |indexes: &BTreeMap<String, Index>| -> BTreeMap<String, Index> {
            indexes
                .iter()
                .filter(|(_, i)| i.constraint.is_none())
                .map(|(n, i)| {
                    let mut i = i.clone();
                    i.definition = i.definition.replacen(
                        &format!("INDEX {} ON", crate::refs::spell(n)),
                        "INDEX ON",
                        1,
                    );
                    i.comment = None;
                    (n.clone(), i)
                })
                .collect()
        };
        let pairs = one_to_one(
            &standalone(&old.indexes),
            &standalone(&new.indexes),
            |a: &Index, b: &Index| a == b,
        );
        for (from_name, to_name) in pairs {
            if !old.constraints.contains_key(&to_name) {
                out.push(Rename::Index {
                    table: name.clone(),
                    from: from_name,
                    to: to_name,
                });
            }
        }
    }
    out
}

/// Names gone from `old` and new in `new` whose values are `same`, each matching exactly one.
fn one_to_one<T>(
    old: &BTreeMap<String, T>,
    new: &BTreeMap<String, T>,
    same: impl Fn(&T, &T) -> bool,
) -> Vec<(String, String)> {
    let gone: Vec<(&String, &T)> = old.iter().filter(|(n, _)| !new.contains_key(*n)).collect();
    let came: Vec<(&String, &T)> = new.iter().filter(|(n, _)| !old.contains_key(*n)).collect();
    let mut out = Vec::new();
    for (gone_name, gone_value) in &gone {
        let matches: Vec<&(&String, &T)> =
            came.iter().filter(|(_, v)| same(gone_value, v)).collect();
        if let [(came_name, came_value)] = matches.as_slice()
            && gone.iter().filter(|(_, v)| same(v, came_value)).count() == 1
        {
            out.push(((*gone_name).clone(), (*came_name).clone()));
        }
    }
    out
}

/// Renames declared in SQL comments: `-- strata:renamed-from OLD` on the line of a column
/// definition (the column was called OLD) or of `CREATE TABLE` (the table was). Returned in
/// `--rename` syntax, e.g. `questions.batteries.label=name`.
pub fn annotated_renames(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut table: Option<QualName> = None;
    for line in sql.lines() {
        let (code, comment) = match line.find("--") {
            Some(i) => (&line[..i], Some(&line[i + 2..])),
            None => (line, None),
        };
        let words: Vec<&str> = code.split_whitespace().collect();
        let lower: Vec<String> = words.iter().map(|w| w.to_ascii_lowercase()).collect();
        if let Some(i) = lower.iter().position(|w| w == "table")
            && lower.first().is_some_and(|w| w == "create")
            && let Some(name) = words.get(i + 1)
        {
            let name = name.trim_end_matches('(');
            let name = if lower
                .get(i + 1..i + 4)
                .is_some_and(|w| w == ["if", "not", "exists"])
            {
                words.get(i + 4).copied().unwrap_or(name)
            } else {
                name
            };
            table = name
                .trim_end_matches('(')
                .parse::<QualName>()
                .ok()
                .map(|q| QualName::new(q.schema.to_lowercase(), q.name.to_lowercase()));
        }
        // The first word after the marker, without trailing punctuation.
        let Some(old) = comment
            .and_then(|c| c.trim().strip_prefix("strata:renamed-from"))
            .and_then(|rest| rest.split_whitespace().next())
            .map(|word| word.trim_end_matches([',', ';', ')']))
        else {
            continue;
        };
        let Some(current) = &table else { continue };
        if lower.first().is_some_and(|w| w == "create") {
            out.push(format!("{}.{old}={}", current.schema, current.name));
        } else if let Some(column) = words.first() {
            out.push(format!("{current}.{old}={}", column.trim_matches('"')));
        }
    }
    out
}

#[cfg(test)]
mod candidate_tests {
    use super::*;

    fn table(columns: &[(&str, &str)]) -> crate::catalog::Table {
        crate::catalog::Table {
            columns: columns
                .iter()
                .map(|(n, t)| crate::catalog::Column {
                    name: (*n).into(),
                    data_type: (*t).into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_dropped_and_an_added_column_are_a_candidate_even_beside_other_additions() {
        let name = QualName::new("app", "users");
        let mut from = Catalog::default();
        from.tables.insert(
            name.clone(),
            table(&[("id", "integer"), ("label", "character varying(50)")]),
        );
        let mut to = Catalog::default();
        to.tables.insert(
            name.clone(),
            table(&[
                ("id", "integer"),
                ("name", "text"),
                ("created", "timestamp with time zone"),
                ("score", "integer"),
            ]),
        );
        let found: Vec<String> = rename_candidates(&from, &to)
            .iter()
            .map(RenameCandidate::flag)
            .collect();
        assert_eq!(found, ["--rename app.users.label=name"]);

        // Two compatible newcomers: both are asked about.
        to.tables
            .get_mut(&name)
            .unwrap()
            .columns
            .push(crate::catalog::Column {
                name: "title".into(),
                data_type: "character varying(80)".into(),
                ..Default::default()
            });
        assert_eq!(rename_candidates(&from, &to).len(), 2);
    }

    #[test]
    fn tables_that_share_columns_are_candidates() {
        let mut from = Catalog::default();
        from.tables.insert(
            QualName::new("app", "people"),
            table(&[("id", "integer"), ("email", "text")]),
        );
        let mut to = Catalog::default();
        to.tables.insert(
            QualName::new("app", "users"),
            table(&[("id", "integer"), ("email", "text")]),
        );
        to.tables.insert(
            QualName::new("app", "audit"),
            table(&[("at", "timestamp with time zone")]),
        );
        let found: Vec<String> = rename_candidates(&from, &to)
            .iter()
            .map(RenameCandidate::flag)
            .collect();
        assert_eq!(found, ["--rename app.people=users"]);
    }

    #[test]
    fn annotations_in_declared_sql() {
        let sql = "CREATE TABLE questions.sets ( -- strata:renamed-from batteries\n  id int,\n  name text, -- strata:renamed-from label, was\n  other int\n);";
        assert_eq!(
            annotated_renames(sql),
            ["questions.batteries=sets", "questions.sets.label=name"]
        );
    }
}
