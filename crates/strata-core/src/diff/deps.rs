//! What each object needs to exist: the edges of the dependency graph that orders a plan.

use crate::catalog::{
    Cast, Catalog, Constraint, ConstraintKind, Function, FunctionKey, Index, Policy, QualName,
    Rule, Statistics, Table, Trigger, TypeDef, TypeKind, View,
};
use crate::plan::ObjectRef;
use crate::refs::{collation_refs, objects_in, regclass_literals, type_refs};

pub(super) fn schema(name: &str) -> ObjectRef {
    ObjectRef::Schema {
        name: name.to_owned(),
    }
}

pub(super) fn collation(name: &QualName) -> ObjectRef {
    ObjectRef::Collation { name: name.clone() }
}

pub(super) fn relation(name: &QualName) -> ObjectRef {
    ObjectRef::Relation { name: name.clone() }
}

pub(super) fn shape(table: &QualName) -> ObjectRef {
    ObjectRef::Shape {
        table: table.clone(),
    }
}

/// Relations, functions and sequences an expression mentions.
pub(super) fn expression(catalog: &Catalog, text: &str) -> Vec<ObjectRef> {
    let mut out = objects_in(catalog, text);
    out.extend(
        regclass_literals(text)
            .iter()
            .filter(|n| catalog.sequences.contains_key(n))
            .map(relation),
    );
    // A table named in an expression is read for its columns.
    let tables: Vec<ObjectRef> = out
        .iter()
        .filter_map(|r| match r {
            ObjectRef::Relation { name } if catalog.tables.contains_key(name) => Some(shape(name)),
            _ => None,
        })
        .collect();
    out.extend(tables);
    out
}

/// A table's own needs: its schema, parents, column types, and what defaults, generated
/// expressions and inline constraints mention.
pub(super) fn table(catalog: &Catalog, name: &QualName, table: &Table) -> Vec<ObjectRef> {
    let mut out = vec![schema(&name.schema)];
    let parents = table
        .partition_of
        .iter()
        .map(|p| &p.parent)
        .chain(&table.inherits);
    for parent in parents {
        out.push(relation(parent));
        out.push(shape(parent));
    }
    if let Some(foreign) = &table.foreign {
        out.push(ObjectRef::Server {
            name: foreign.server.clone(),
        });
    }
    for column in &table.columns {
        out.extend(type_refs(catalog, &column.data_type));
        out.extend(collation_refs(catalog, column.collation.as_ref()));
        for text in column.default.iter().chain(&column.generated) {
            out.extend(expression(catalog, text));
        }
    }
    for name in crate::render::inline_constraints(table) {
        out.extend(expression(catalog, &table.constraints[name].definition));
    }
    without_self(out, name)
}

/// A constraint's needs: its table, what its definition mentions and, for a foreign key, the
/// referenced table's primary key or unique constraint on the referenced columns.
pub(super) fn constraint(
    catalog: &Catalog,
    table: &QualName,
    constraint: &Constraint,
) -> Vec<ObjectRef> {
    let mut out = vec![relation(table), shape(table)];
    out.extend(expression(catalog, &constraint.definition));
    if let (ConstraintKind::ForeignKey, Some(fk)) = (constraint.kind, &constraint.foreign_key)
        && let Some(target) = catalog.tables.get(&fk.table)
    {
        for (name, key) in &target.constraints {
            if matches!(
                key.kind,
                ConstraintKind::PrimaryKey | ConstraintKind::Unique
            ) && same_set(&key.columns, &fk.columns)
            {
                out.push(ObjectRef::Constraint {
                    table: fk.table.clone(),
                    name: name.clone(),
                });
            }
        }
        for (name, index) in &target.indexes {
            if index.unique
                && index.constraint.is_none()
                && index.predicate.is_none()
                && same_set(&index.keys, &fk.columns)
            {
                out.push(ObjectRef::Index {
                    name: QualName::new(fk.table.schema.clone(), name.clone()),
                });
            }
        }
    }
    out
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&String> = a.iter().collect();
    let mut b: Vec<&String> = b.iter().collect();
    a.sort();
    b.sort();
    a == b
}

/// An index's needs: its table (or materialized view) and what its definition mentions.
pub(super) fn index(catalog: &Catalog, table: &QualName, index: &Index) -> Vec<ObjectRef> {
    let mut out = vec![relation(table)];
    if catalog.tables.contains_key(table) {
        out.push(shape(table));
    }
    out.extend(expression(catalog, &index.definition));
    out
}

/// A view's needs: its schema, what it reads, and the functions and types it mentions.
pub(super) fn view(catalog: &Catalog, name: &QualName, view: &View) -> Vec<ObjectRef> {
    let mut out = vec![schema(&name.schema)];
    for dependency in &view.depends_on {
        out.push(relation(dependency));
        if catalog.tables.contains_key(dependency) {
            out.push(shape(dependency));
        }
    }
    out.extend(expression(catalog, &view.definition));
    for column in &view.columns {
        out.extend(type_refs(catalog, &column.data_type));
        out.extend(collation_refs(catalog, column.collation.as_ref()));
    }
    without_self(out, name)
}

/// An extended statistics object's needs: its schema, its table's columns and what its
/// expressions mention.
pub(super) fn statistics(catalog: &Catalog, name: &QualName, stats: &Statistics) -> Vec<ObjectRef> {
    let mut out = vec![schema(&name.schema), relation(&stats.table)];
    if catalog.tables.contains_key(&stats.table) {
        out.push(shape(&stats.table));
    }
    out.extend(expression(catalog, &stats.definition));
    out.retain(|r| !matches!(r, ObjectRef::Statistics { name: n } if n == name));
    out
}

/// A function's needs: its schema and the types of its signature; a body in SQL-standard form
/// (`BEGIN ATOMIC`, `RETURN`) is parsed when created, so what it mentions too. Other bodies are
/// not checked at creation (strata runs plans with `check_function_bodies` off, as pg_dump does).
pub(super) fn function(
    catalog: &Catalog,
    key: &FunctionKey,
    function: &Function,
) -> Vec<ObjectRef> {
    let mut out = vec![schema(&key.name.schema)];
    out.extend(type_refs(catalog, &function.arguments));
    out.extend(type_refs(catalog, &function.result));
    if let Some(aggregate) = &function.aggregate {
        let moving = aggregate.moving.as_ref();
        let parts = [
            Some(&aggregate.transition),
            aggregate.final_function.as_ref(),
            aggregate.combine_function.as_ref(),
            aggregate.serial_function.as_ref(),
            aggregate.deserial_function.as_ref(),
            moving.map(|m| &m.transition),
            moving.map(|m| &m.inverse),
            moving.and_then(|m| m.final_function.as_ref()),
        ];
        for part in parts.into_iter().flatten() {
            out.extend(objects_in(catalog, part));
        }
        out.extend(type_refs(catalog, &aggregate.state_type));
        if let Some(moving) = moving {
            out.extend(type_refs(catalog, &moving.state_type));
        }
    } else if is_sql_standard_body(&function.definition) {
        out.extend(expression(catalog, &function.definition));
    }
    out.retain(|r| !matches!(r, ObjectRef::Function { key: k } if k == key));
    out
}

fn is_sql_standard_body(definition: &str) -> bool {
    definition
        .lines()
        .any(|line| line.starts_with("BEGIN ATOMIC") || line.starts_with("RETURN "))
}

/// A trigger's needs: its table or view and its function.
pub(super) fn trigger(catalog: &Catalog, table: &QualName, trigger: &Trigger) -> Vec<ObjectRef> {
    let mut out = vec![relation(table)];
    // Its condition reads the table's columns: after their types change, before they go.
    if catalog.tables.contains_key(table) {
        out.push(shape(table));
    }
    out.extend(expression(catalog, &trigger.definition));
    out
}

/// A cast's needs: its types and its function.
pub(super) fn cast(catalog: &Catalog, cast: &Cast) -> Vec<ObjectRef> {
    let mut out = type_refs(catalog, &cast.source);
    out.extend(type_refs(catalog, &cast.target));
    if let Some(function) = &cast.function {
        out.extend(objects_in(catalog, function));
    }
    out
}

/// An operator's needs: its schema, types and functions, and the operators it names.
pub(super) fn operator(catalog: &Catalog, operator: &crate::catalog::Operator) -> Vec<ObjectRef> {
    let mut out = vec![ObjectRef::Schema {
        name: operator.schema.clone(),
    }];
    for ty in operator.left.iter().chain([&operator.right]) {
        out.extend(type_refs(catalog, ty));
    }
    for function in [
        Some(&operator.function),
        operator.restrict.as_ref(),
        operator.join.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        out.extend(objects_in(catalog, &format!("{function}()")));
    }
    out
}

/// A rule's needs: its table or view and what its condition and actions mention.
pub(super) fn rule(catalog: &Catalog, table: &QualName, rule: &Rule) -> Vec<ObjectRef> {
    let mut out = vec![relation(table)];
    out.extend(expression(catalog, &rule.definition));
    out
}

/// A policy's needs: its table and what its expressions mention.
pub(super) fn policy(catalog: &Catalog, table: &QualName, policy: &Policy) -> Vec<ObjectRef> {
    let mut out = vec![relation(table), shape(table)];
    for text in policy.using.iter().chain(&policy.with_check) {
        out.extend(expression(catalog, text));
    }
    out
}

/// A type's needs: its schema and the types and functions its definition uses.
pub(super) fn type_def(catalog: &Catalog, name: &QualName, ty: &TypeDef) -> Vec<ObjectRef> {
    let mut out = vec![schema(&name.schema)];
    match &ty.kind {
        TypeKind::Enum { .. } => {}
        TypeKind::Domain {
            base,
            collation,
            default,
            checks,
            ..
        } => {
            out.extend(type_refs(catalog, base));
            out.extend(collation_refs(catalog, collation.as_ref()));
            for text in default.iter().chain(checks.values().map(|c| &c.definition)) {
                out.extend(expression(catalog, text));
            }
        }
        TypeKind::Composite { attributes } => {
            for attribute in attributes {
                out.extend(type_refs(catalog, &attribute.data_type));
                out.extend(collation_refs(catalog, attribute.collation.as_ref()));
            }
        }
        TypeKind::Range {
            subtype,
            collation,
            canonical,
            subtype_diff,
            ..
        } => {
            out.extend(type_refs(catalog, subtype));
            out.extend(collation_refs(catalog, collation.as_ref()));
            for function in canonical.iter().chain(subtype_diff) {
                out.extend(objects_in(catalog, function));
            }
        }
    }
    without_self(out, name)
}

fn without_self(mut refs: Vec<ObjectRef>, name: &QualName) -> Vec<ObjectRef> {
    refs.retain(|r| !matches!(r, ObjectRef::Relation { name: n } | ObjectRef::Shape { table: n } if n == name));
    refs
}
