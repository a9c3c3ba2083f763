//! Tables and their parts: columns, constraints, indexes, triggers, policies, row-level security,
//! comments and privileges.

use std::collections::{BTreeMap, BTreeSet};

use super::{Differ, deps};
use crate::catalog::{
    Catalog, Column, Constraint, ConstraintKind, Index, Policy, Privileges, QualName, Rule, Table,
    TableKind, Trigger,
};
use crate::plan::{Hazard, ObjectRef, RowCheck, Step};
use crate::render::{self, qualified};
use crate::sql::quote_ident;

/// Tables in both catalogs whose existing columns change type or disappear.
pub(super) fn reshaped_tables(from: &Catalog, to: &Catalog) -> BTreeSet<QualName> {
    let mut out = BTreeSet::new();
    for (name, old) in &from.tables {
        let Some(new) = to.tables.get(name) else {
            continue;
        };
        let reshaped =
            old.columns
                .iter()
                .any(|c| match new.columns.iter().find(|n| n.name == c.name) {
                    None => true,
                    Some(n) => {
                        n.data_type != c.data_type
                            || n.collation != c.collation
                            || n.generated != c.generated
                    }
                });
        if reshaped {
            out.insert(name.clone());
        }
    }
    out
}

fn index_ref(table: &QualName, name: &str) -> ObjectRef {
    ObjectRef::Index {
        name: QualName::new(table.schema.clone(), name.to_owned()),
    }
}

/// A table's persistence once `SET [UN]LOGGED` ran (which also changes the sequences it owns).
pub(super) fn persistence_ref(table: &QualName) -> ObjectRef {
    constraint_ref(table, "::persistence")
}

/// A table's columns once `NO INHERIT` made its inherited columns its own.
fn inheritance_ref(table: &QualName) -> ObjectRef {
    constraint_ref(table, "::inherit")
}

/// A column as `table` first has it when it takes it from `parents` (the first that has it):
/// type, collation, NOT NULL, default, expression, storage and compression are the parent's;
/// comments, grants and other settings are the table's own.
fn inherited_base(catalog: &Catalog, parents: &[QualName], column: &str) -> Option<Column> {
    let parent = parents
        .iter()
        .filter_map(|p| catalog.tables.get(p))
        .find_map(|t| t.columns.iter().find(|c| c.name == column))?;
    Some(Column {
        name: parent.name.clone(),
        data_type: parent.data_type.clone(),
        collation: parent.collation.clone(),
        not_null: parent.not_null,
        default: parent.default.clone(),
        identity: None,
        generated: parent.generated.clone(),
        generated_virtual: parent.generated_virtual,
        inherited: true,
        storage: parent.storage.clone(),
        compression: parent.compression.clone(),
        ..Column::default()
    })
}

/// A column's NOT NULL, once set on a table that existed (a primary key added with `USING
/// INDEX` waits for it, or PostgreSQL would scan the table itself to set it).
fn not_null_ref(table: &QualName, column: &str) -> ObjectRef {
    constraint_ref(table, &format!("{column} NOT NULL"))
}

fn constraint_ref(table: &QualName, name: &str) -> ObjectRef {
    ObjectRef::Constraint {
        table: table.clone(),
        name: name.to_owned(),
    }
}

/// Constraints, indexes, triggers and policies whose own definition changed.
pub(super) fn own_recreations(d: &mut Differ) {
    for (name, old) in &d.from.tables {
        let Some(new) = d.to.tables.get(name) else {
            continue;
        };
        for (c, old_c) in &old.constraints {
            if let Some(new_c) = new.constraints.get(c)
                && !same_constraint_but_validation(old_c, new_c)
            {
                d.recreated.constraints.insert((name.clone(), c.clone()));
            }
        }
        for (i, old_i) in &old.indexes {
            if let Some(new_i) = new.indexes.get(i)
                && old_i.constraint.is_none()
                && (old_i.definition != new_i.definition || !old_i.valid)
            {
                d.recreated.indexes.insert((name.clone(), i.clone()));
            }
        }
        for (t, old_t) in &old.triggers {
            if new.triggers.get(t).is_some_and(|n| {
                n.definition != old_t.definition || n.constraint != old_t.constraint
            }) {
                d.recreated.triggers.insert((name.clone(), t.clone()));
            }
        }
        for (p, old_p) in &old.policies {
            if new
                .policies
                .get(p)
                .is_some_and(|n| n.command != old_p.command || n.permissive != old_p.permissive)
            {
                d.recreated.policies.insert((name.clone(), p.clone()));
            }
        }
        // PostgreSQL refuses to change the type of a column that a trigger's condition or a
        // policy reads (it rebuilds indexes and constraints itself): they go first and come back.
        let changed: Vec<&str> = old
            .columns
            .iter()
            .filter(|c| {
                new.columns
                    .iter()
                    .find(|n| n.name == c.name)
                    .is_none_or(|n| n.data_type != c.data_type || n.collation != c.collation)
            })
            .map(|c| c.name.as_str())
            .collect();
        if changed.is_empty() {
            continue;
        }
        let reads = |text: &str| changed.iter().any(|c| crate::refs::mentions(text, c));
        for (t, trigger) in &old.triggers {
            if new.triggers.contains_key(t) && reads(&trigger.definition) {
                d.recreated.triggers.insert((name.clone(), t.clone()));
            }
        }
        for (p, policy) in &old.policies {
            let texts = policy.using.iter().chain(&policy.with_check);
            if new.policies.contains_key(p) && texts.into_iter().any(|t| reads(t)) {
                d.recreated.policies.insert((name.clone(), p.clone()));
            }
        }
    }
}

/// The same constraint, perhaps validated since: `VALIDATE CONSTRAINT` is enough.
fn same_constraint_but_validation(old: &Constraint, new: &Constraint) -> bool {
    if old == new {
        return true;
    }
    !old.validated
        && new.validated
        && old.definition.trim_end_matches(" NOT VALID") == new.definition
        && {
            let mut old = old.clone();
            old.validated = true;
            old.definition = new.definition.clone();
            old == *new
        }
}

/// Spreads re-creation to constraints, indexes, triggers and policies that depend on something
/// gone (a re-created function or key). Table shapes do not spread here: PostgreSQL rebuilds
/// a table's own indexes and constraints when a column's type changes.
pub(super) fn spread(d: &mut Differ, gone: &BTreeSet<ObjectRef>) -> bool {
    let mut gone = gone.clone();
    // Keys that are dropped: foreign keys on them must go first and come back after.
    for (name, old) in &d.from.tables {
        if let Some(new) = d.to.tables.get(name) {
            for c in old
                .constraints
                .keys()
                .filter(|c| !new.constraints.contains_key(*c))
            {
                gone.insert(constraint_ref(name, c));
            }
        }
    }
    let relevant = |r: &ObjectRef| !matches!(r, ObjectRef::Shape { .. }) && gone.contains(r);
    let mut changed = false;
    for (name, old) in &d.from.tables {
        let Some(new) = d.to.tables.get(name) else {
            continue;
        };
        for (c, constraint) in &old.constraints {
            let key = (name.clone(), c.clone());
            if new.constraints.contains_key(c)
                && !d.recreated.constraints.contains(&key)
                && deps::constraint(d.from, name, constraint)
                    .iter()
                    .any(relevant)
            {
                d.recreated.constraints.insert(key);
                changed = true;
            }
        }
        for (i, index) in &old.indexes {
            let key = (name.clone(), i.clone());
            if index.constraint.is_none()
                && new.indexes.contains_key(i)
                && !d.recreated.indexes.contains(&key)
                && deps::index(d.from, name, index).iter().any(relevant)
            {
                d.recreated.indexes.insert(key);
                changed = true;
            }
        }
        for (t, trigger) in &old.triggers {
            let key = (name.clone(), t.clone());
            if new.triggers.contains_key(t)
                && !d.recreated.triggers.contains(&key)
                && deps::trigger(d.from, name, trigger).iter().any(relevant)
            {
                d.recreated.triggers.insert(key);
                changed = true;
            }
        }
        for (p, policy) in &old.policies {
            let key = (name.clone(), p.clone());
            if new.policies.contains_key(p)
                && !d.recreated.policies.contains(&key)
                && deps::policy(d.from, name, policy).iter().any(relevant)
            {
                d.recreated.policies.insert(key);
                changed = true;
            }
        }
        // Columns converted to a re-created type: what reads them in a trigger condition or a
        // policy must go first, as for any type change (see `own_recreations`).
        let converted: Vec<&str> = old
            .columns
            .iter()
            .filter(|c| {
                crate::refs::type_refs(d.from, &c.data_type)
                    .iter()
                    .any(|r| gone.contains(r))
            })
            .map(|c| c.name.as_str())
            .collect();
        let reads = |text: &str| converted.iter().any(|c| crate::refs::mentions(text, c));
        for (t, trigger) in &old.triggers {
            let key = (name.clone(), t.clone());
            if new.triggers.contains_key(t)
                && !d.recreated.triggers.contains(&key)
                && reads(&trigger.definition)
            {
                d.recreated.triggers.insert(key);
                changed = true;
            }
        }
        for (p, policy) in &old.policies {
            let key = (name.clone(), p.clone());
            if new.policies.contains_key(p)
                && !d.recreated.policies.contains(&key)
                && policy
                    .using
                    .iter()
                    .chain(&policy.with_check)
                    .any(|t| reads(t))
            {
                d.recreated.policies.insert(key);
                changed = true;
            }
        }
        // A default that calls a function being dropped goes first and is set again after
        // (defaults of a re-created type's columns are converted with them).
        for column in &old.columns {
            let key = (name.clone(), column.name.clone());
            if let Some(default) = &column.default
                && new.columns.iter().any(|c| c.name == column.name)
                && !d.recreated.defaults.contains(&key)
                && deps::expression(d.from, default)
                    .iter()
                    .any(|r| matches!(r, ObjectRef::Function { .. }) && relevant(r))
            {
                d.recreated.defaults.insert(key);
                changed = true;
            }
        }
        changed |= spread_rules(d, name, &old.rules, &new.rules, &gone);
    }
    for (name, old) in &d.from.views {
        if let Some(new) = d.to.views.get(name)
            && !d.recreated.views.contains(name)
        {
            changed |= spread_rules(d, name, &old.rules, &new.rules, &gone);
        }
    }
    changed
}

/// Rules that read something gone (a column whose type changes, a re-created view or
/// function) are dropped first and made again: PostgreSQL refuses to change what a rule uses.
fn spread_rules(
    d: &mut Differ,
    table: &QualName,
    old: &BTreeMap<String, Rule>,
    new: &BTreeMap<String, Rule>,
    gone: &BTreeSet<ObjectRef>,
) -> bool {
    let mut changed = false;
    for (r, rule) in old {
        let key = (table.clone(), r.clone());
        if new.contains_key(r)
            && !d.recreated.rules.contains(&key)
            && deps::rule(d.from, table, rule)
                .iter()
                .any(|x| gone.contains(x))
        {
            d.recreated.rules.insert(key);
            changed = true;
        }
    }
    changed
}

fn drop_constraint(
    catalog: &Catalog,
    table: &QualName,
    name: &str,
    constraint: &Constraint,
) -> Step {
    Step::new(
        format!("{table}.{name}"),
        format!(
            "ALTER TABLE {} DROP CONSTRAINT {}",
            qualified(table),
            quote_ident(name)
        ),
    )
    .removes([constraint_ref(table, name)])
    .needs_old(deps::constraint(catalog, table, constraint))
    .removes(constraint.index.iter().map(|i| index_ref(table, i)))
}

fn drop_index(
    catalog: &Catalog,
    table: &QualName,
    name: &str,
    index: &Index,
    concurrently: bool,
) -> Step {
    let qualified_name = qualified(&QualName::new(table.schema.clone(), name.to_owned()));
    let step = if concurrently {
        Step::new(
            name.to_owned(),
            format!("DROP INDEX CONCURRENTLY {qualified_name}"),
        )
        .alone()
    } else {
        Step::new(name.to_owned(), format!("DROP INDEX {qualified_name}"))
    };
    step.removes([index_ref(table, name)])
        .needs_old(deps::index(catalog, table, index))
}

fn drop_trigger(catalog: &Catalog, table: &QualName, name: &str, trigger: &Trigger) -> Step {
    Step::new(
        format!("{table}.{name}"),
        format!("DROP TRIGGER {} ON {}", quote_ident(name), qualified(table)),
    )
    .removes([ObjectRef::Trigger {
        table: table.clone(),
        name: name.to_owned(),
    }])
    .needs_old(deps::trigger(catalog, table, trigger))
}

fn drop_policy(catalog: &Catalog, table: &QualName, name: &str, policy: &Policy) -> Step {
    Step::new(
        format!("{table}.{name}"),
        format!("DROP POLICY {} ON {}", quote_ident(name), qualified(table)),
    )
    .removes([ObjectRef::Policy {
        table: table.clone(),
        name: name.to_owned(),
    }])
    .needs_old(deps::policy(catalog, table, policy))
}

/// `DROP TABLE` or `DROP FOREIGN TABLE`.
fn drop_table_sql(name: &QualName, table: &Table) -> String {
    match table.kind {
        TableKind::Foreign => format!("DROP FOREIGN TABLE {}", qualified(name)),
        _ => format!("DROP TABLE {}", qualified(name)),
    }
}

/// A table's rows go with it; a foreign table's live on its server.
fn drop_table_hazards(table: &Table) -> Vec<Hazard> {
    match table.kind {
        TableKind::Foreign => Vec::new(),
        _ => vec![Hazard::DeletesData, Hazard::Irreversible],
    }
}

/// Whether indexes on this existing table are built (and dropped) concurrently.
fn concurrent(table: &Table) -> bool {
    table.kind == TableKind::Ordinary && table.partition_of.is_none()
}

pub(super) fn drop_recreated(d: &mut Differ) {
    let from = d.from;
    for (table, name) in d.recreated.constraints.clone() {
        d.push(drop_constraint(
            from,
            &table,
            &name,
            &from.tables[&table].constraints[&name],
        ));
    }
    for (table, name) in d.recreated.indexes.clone() {
        let t = &from.tables[&table];
        if d.swapped_index(&table, &name).is_some() {
            // Dropped once its replacement is built (see `swap_index`).
            continue;
        }
        d.push(drop_index(
            from,
            &table,
            &name,
            &t.indexes[&name],
            concurrent(t) && t.indexes[&name].valid,
        ));
    }
    for (table, name) in d.recreated.triggers.clone() {
        if d.replaces_trigger(&table, &name) {
            // CREATE OR REPLACE TRIGGER: no moment without it, a lighter lock.
            continue;
        }
        d.push(drop_trigger(
            from,
            &table,
            &name,
            &from.tables[&table].triggers[&name],
        ));
    }
    for (table, name) in d.recreated.policies.clone() {
        d.push(drop_policy(
            from,
            &table,
            &name,
            &from.tables[&table].policies[&name],
        ));
    }
    for (table, column) in d.recreated.defaults.clone() {
        let Some(default) = from.tables[&table]
            .columns
            .iter()
            .find(|c| c.name == column)
            .and_then(|c| c.default.as_deref())
        else {
            continue;
        };
        d.push(
            Step::new(
                format!("{table}.{column}"),
                format!(
                    "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
                    qualified(&table),
                    quote_ident(&column)
                ),
            )
            .needs_old(deps::expression(from, default)),
        );
    }
    for (table, name) in d.recreated.rules.clone() {
        let rule = match from.tables.get(&table) {
            Some(t) => &t.rules[&name],
            None => &from.views[&table].rules[&name],
        };
        d.push(drop_rule(from, &table, &name, rule));
    }
}

fn drop_rule(catalog: &Catalog, table: &QualName, name: &str, rule: &Rule) -> Step {
    Step::new(
        format!("{table}.{name}"),
        format!("DROP RULE {} ON {}", quote_ident(name), qualified(table)),
    )
    .removes([ObjectRef::Rule {
        table: table.clone(),
        name: name.to_owned(),
    }])
    .needs_old(deps::rule(catalog, table, rule))
}

/// Rule steps for a table or view: made, replaced, dropped, enabled (tables only) and
/// commented. `fresh` means the table or view was just created.
pub(super) fn diff_rules(
    d: &mut Differ,
    table: &QualName,
    old: &BTreeMap<String, Rule>,
    new: &BTreeMap<String, Rule>,
    fresh: bool,
) {
    let target = qualified(table);
    if !fresh {
        for (r, rule) in old.iter().filter(|(r, _)| !new.contains_key(*r)) {
            d.push(drop_rule(d.from, table, r, rule));
        }
    }
    for (r, rule) in new {
        let recreated = d.recreated.rules.contains(&(table.clone(), r.clone()));
        let old_rule = if fresh || recreated { None } else { old.get(r) };
        let reference = ObjectRef::Rule {
            table: table.clone(),
            name: r.clone(),
        };
        let needs = deps::rule(d.to, table, rule);
        match old_rule {
            None => d.push(
                Step::new(format!("{table}.{r}"), rule.definition.clone())
                    .needs(needs)
                    .creates([reference.clone()]),
            ),
            Some(o) if o.definition != rule.definition => {
                let sql = match rule.definition.strip_prefix("CREATE RULE ") {
                    Some(rest) => format!("CREATE OR REPLACE RULE {rest}"),
                    None => rule.definition.clone(),
                };
                d.push(
                    Step::new(format!("{table}.{r}"), sql)
                        .needs(needs)
                        .needs_old(deps::rule(d.from, table, o))
                        .removes([reference.clone()])
                        .creates([reference.clone()]),
                );
            }
            Some(_) => {}
        }
        let old_enabled = old_rule.map_or("O", |o| o.enabled.as_str());
        if old_enabled != rule.enabled {
            let action = match rule.enabled.as_str() {
                "D" => "DISABLE RULE",
                "R" => "ENABLE REPLICA RULE",
                "A" => "ENABLE ALWAYS RULE",
                _ => "ENABLE RULE",
            };
            d.push(
                Step::new(
                    format!("{table}.{r}"),
                    format!("ALTER TABLE {target} {action} {}", quote_ident(r)),
                )
                .needs([reference.clone()]),
            );
        }
        d.comment(
            &format!("RULE {} ON {target}", quote_ident(r)),
            old_rule.and_then(|o| o.comment.as_deref()),
            rule.comment.as_deref(),
            vec![reference],
            old_rule.is_none(),
        );
    }
}

/// Drops tables that are gone.
pub(super) fn drop_removed(d: &mut Differ) {
    let from = d.from;
    let removed: BTreeSet<&QualName> = from
        .tables
        .keys()
        .filter(|n| !d.to.tables.contains_key(*n))
        .collect();
    for &name in &removed {
        let table = &from.tables[name];
        // A partition goes with its partitioned table.
        if table
            .partition_of
            .as_ref()
            .is_some_and(|p| removed.contains(&p.parent))
        {
            continue;
        }
        // Foreign keys between tables that both go are dropped first: the tables may refer to
        // each other.
        let mut own_fk_needs = Vec::new();
        for (c, constraint) in &table.constraints {
            let Some(fk) = &constraint.foreign_key else {
                continue;
            };
            if fk.table != *name && removed.contains(&fk.table) {
                d.push(drop_constraint(from, name, c, constraint));
            } else {
                own_fk_needs.extend(deps::constraint(from, name, constraint));
            }
        }
        // The triggers, policies and indexes go with the table: what they use (a trigger's
        // function) may only go after it.
        for trigger in table.triggers.values() {
            own_fk_needs.extend(deps::trigger(from, name, trigger));
        }
        for policy in table.policies.values() {
            own_fk_needs.extend(deps::policy(from, name, policy));
        }
        for index in table.indexes.values() {
            own_fk_needs.extend(deps::index(from, name, index));
        }
        let own = |r: &ObjectRef| match r {
            ObjectRef::Relation { name: n } | ObjectRef::Shape { table: n } => n == name,
            ObjectRef::Constraint { table, .. }
            | ObjectRef::Trigger { table, .. }
            | ObjectRef::Policy { table, .. } => table == name,
            ObjectRef::Index { name: n } => {
                table.indexes.contains_key(&n.name) && n.schema == name.schema
            }
            _ => false,
        };
        let mut step = Step::new(name.to_string(), drop_table_sql(name, table))
            .removes([deps::relation(name), deps::shape(name)])
            .needs_old(deps::table(from, name, table))
            .needs_old(own_fk_needs.into_iter().filter(|r| !own(r)))
            .hazards(drop_table_hazards(table));
        if table.kind != TableKind::Foreign {
            step = step.rows(RowCheck::Rows {
                table: name.clone(),
            });
        }
        for (other, t) in &from.tables {
            if t.partition_of.as_ref().is_some_and(|p| &p.parent == name) && removed.contains(other)
            {
                step = step.removes([deps::relation(other), deps::shape(other)]);
            }
        }
        step = step
            .removes(table.constraints.keys().map(|c| constraint_ref(name, c)))
            .removes(table.indexes.keys().map(|i| index_ref(name, i)))
            .removes(table.triggers.keys().map(|t| ObjectRef::Trigger {
                table: name.clone(),
                name: t.clone(),
            }))
            .removes(table.policies.keys().map(|p| ObjectRef::Policy {
                table: name.clone(),
                name: p.clone(),
            }))
            .removes(table.rules.keys().map(|r| ObjectRef::Rule {
                table: name.clone(),
                name: r.clone(),
            }));
        d.push(step);
    }
}

impl Differ<'_> {
    pub(super) fn tables(&mut self) {
        let to = self.to;
        for (name, table) in &to.tables {
            match self.from.tables.get(name) {
                None => self.create_table(name, table),
                Some(old) if self.table_replaced(old, table) => {
                    // The partitioning of a table, a foreign table's server, cannot change in
                    // place.
                    let from = self.from;
                    self.push(
                        Step::new(name.to_string(), drop_table_sql(name, old))
                            .removes([deps::relation(name), deps::shape(name)])
                            .needs_old(deps::table(from, name, old))
                            .hazards(drop_table_hazards(old)),
                    );
                    self.create_table(name, table);
                }
                Some(old) => self.alter_table(name, old, table),
            }
        }
    }

    /// Whether a table is dropped and made again rather than altered: its kind or partitioning
    /// changes, or a foreign table's server does (or is made anew).
    pub(super) fn table_replaced(&self, old: &Table, new: &Table) -> bool {
        let server = |t: &Table| t.foreign.as_ref().map(|f| f.server.clone());
        old.kind != new.kind
            || old.partition_key != new.partition_key
            || server(old) != server(new)
            || server(new).is_some_and(|s| self.server_replaced(&s))
    }

    /// Whether a foreign server is dropped and made again.
    pub(super) fn server_replaced(&self, name: &str) -> bool {
        self.from
            .servers
            .get(name)
            .zip(self.to.servers.get(name))
            .is_some_and(|(a, b)| a.is_replaced_by(b))
    }

    fn create_table(&mut self, name: &QualName, table: &Table) {
        let first_step = self.steps.len();
        let to = self.to;
        let inline = render::inline_constraints(table);
        let mut step = Step::new(name.to_string(), render::create_table(name, table))
            .needs(deps::table(to, name, table))
            .creates([deps::relation(name), deps::shape(name)])
            .creates(
                table
                    .columns
                    .iter()
                    .filter_map(|c| c.identity.as_ref())
                    .map(|i| deps::relation(&i.sequence_name)),
            )
            .creates(inline.iter().map(|c| constraint_ref(name, c)))
            .creates(
                table
                    .constraints
                    .iter()
                    .filter(|(n, _)| inline.contains(n))
                    .filter_map(|(_, c)| c.index.as_ref())
                    .map(|i| index_ref(name, i)),
            );
        if let Some(partition) = &table.partition_of {
            // A partition gets copies of its parent's indexes and keys as it is created.
            step = step.needs(
                to.tables
                    .get(&partition.parent)
                    .into_iter()
                    .flat_map(|p| {
                        p.indexes
                            .keys()
                            .map(|i| index_ref(&partition.parent, i))
                            .chain(
                                p.constraints
                                    .keys()
                                    .map(|c| constraint_ref(&partition.parent, c)),
                            )
                    })
                    .collect::<Vec<_>>(),
            );
        }
        self.push(step);
        for column in &table.columns {
            match inherited_base(to, &table.inherits, &column.name).filter(|_| column.inherited) {
                // What the table changed on a column it takes from its parent.
                Some(base) => self.alter_column(name, &base, column),
                None => self.column_settings("TABLE", name, None, column),
            }
        }
        for (c, constraint) in table
            .constraints
            .iter()
            .filter(|(n, _)| !inline.contains(n))
        {
            self.push(
                Step::new(
                    format!("{name}.{c}"),
                    render::add_constraint(name, c, constraint),
                )
                .needs(deps::constraint(to, name, constraint))
                .creates([constraint_ref(name, c)]),
            );
        }
        for (i, index) in table.indexes.iter().filter(|(_, i)| i.constraint.is_none()) {
            self.push(
                Step::new(i.clone(), index.definition.clone())
                    .needs(deps::index(to, name, index))
                    .creates([index_ref(name, i)]),
            );
        }
        let empty_table = Table {
            columns: table.columns.clone(),
            ..Table::default()
        };
        self.table_parts(name, &empty_table, table, true);
        self.foreign_alters(name, table, first_step);
    }

    fn alter_table(&mut self, name: &QualName, old: &Table, new: &Table) {
        let first_step = self.steps.len();
        let from = self.from;
        let to = self.to;
        let target = qualified(name);
        let alter = |sql: String| {
            Step::new(name.to_string(), format!("ALTER TABLE {target} {sql}"))
                .needs([deps::relation(name)])
        };

        // Partitioning and inheritance.
        fn place(t: &Table) -> Option<(&QualName, &String)> {
            t.partition_of.as_ref().map(|p| (&p.parent, &p.bound))
        }
        if let (Some(o), Some(n)) = (&old.partition_of, &new.partition_of)
            && place(old) == place(new)
        {
            // A partition's own NOT NULL columns (a name other than the parent's cannot be
            // given to a constraint it inherits: that takes a new partition).
            let parent_not_null = |column: &str| {
                self.to
                    .tables
                    .get(&n.parent)
                    .is_some_and(|p| p.columns.iter().any(|c| c.name == column && c.not_null))
            };
            for column in n.not_null.keys().filter(|c| !o.not_null.contains_key(*c)) {
                if !parent_not_null(column) {
                    self.push(
                        alter(format!("ALTER COLUMN {} SET NOT NULL", quote_ident(column)))
                            .hazards([Hazard::MayFailOnExistingData, Hazard::AccessExclusiveLock]),
                    );
                }
            }
            for column in o.not_null.keys().filter(|c| !n.not_null.contains_key(*c)) {
                if !parent_not_null(column) {
                    self.push(alter(format!(
                        "ALTER COLUMN {} DROP NOT NULL",
                        quote_ident(column)
                    )));
                }
            }
        }
        if place(old) != place(new) {
            if let Some(p) = &old.partition_of {
                self.push(
                    Step::new(
                        name.to_string(),
                        format!(
                            "ALTER TABLE {} DETACH PARTITION {target}",
                            qualified(&p.parent)
                        ),
                    )
                    .needs_old([deps::relation(&p.parent)]),
                );
            }
            if let Some(p) = &new.partition_of {
                self.push(
                    Step::new(
                        name.to_string(),
                        format!(
                            "ALTER TABLE {} ATTACH PARTITION {target} {}",
                            qualified(&p.parent),
                            p.bound
                        ),
                    )
                    .needs([deps::relation(&p.parent), deps::relation(name)])
                    .hazards([Hazard::MayFailOnExistingData]),
                );
            }
        }
        for parent in old.inherits.iter().filter(|p| !new.inherits.contains(p)) {
            // Its inherited columns become the table's own.
            self.push(
                alter(format!("NO INHERIT {}", qualified(parent)))
                    .needs_old([deps::relation(parent)])
                    .creates([inheritance_ref(name)]),
            );
        }
        for parent in new.inherits.iter().filter(|p| !old.inherits.contains(p)) {
            // After the columns it must share with the parent are added.
            self.push(alter(format!("INHERIT {}", qualified(parent))).needs([
                deps::relation(parent),
                deps::shape(parent),
                deps::shape(name),
            ]));
        }
        if old.unlogged != new.unlogged {
            let sql = if new.unlogged {
                "SET UNLOGGED"
            } else {
                "SET LOGGED"
            };
            self.push(
                alter(sql.to_owned())
                    .creates([persistence_ref(name)])
                    .hazards([Hazard::RewritesTable, Hazard::AccessExclusiveLock]),
            );
        }
        if let (Some(a), Some(b)) = (&old.foreign, &new.foreign)
            && let Some(changes) = render::options_changes(&a.options, &b.options)
        {
            self.push(
                Step::new(
                    name.to_string(),
                    format!("ALTER FOREIGN TABLE {target} {changes}"),
                )
                .needs([deps::relation(name)]),
            );
        }
        if old.options != new.options {
            let reset: Vec<&str> = old
                .options
                .iter()
                .filter_map(|o| o.split('=').next())
                .filter(|k| !new.options.iter().any(|n| n.split('=').next() == Some(k)))
                .collect();
            if !reset.is_empty() {
                self.push(alter(format!("RESET ({})", reset.join(", "))));
            }
            if !new.options.is_empty() {
                self.push(alter(format!("SET ({})", new.options.join(", "))));
            }
        }

        // What goes first: constraints, indexes, triggers and policies that are removed.
        for (c, constraint) in old
            .constraints
            .iter()
            .filter(|(c, _)| !new.constraints.contains_key(*c))
        {
            self.push(drop_constraint(from, name, c, constraint));
        }
        for (i, index) in old
            .indexes
            .iter()
            .filter(|(i, x)| x.constraint.is_none() && !new.indexes.contains_key(*i))
        {
            self.push(drop_index(
                from,
                name,
                i,
                index,
                concurrent(old) && index.valid,
            ));
        }
        for (t, trigger) in old
            .triggers
            .iter()
            .filter(|(t, _)| !new.triggers.contains_key(*t))
        {
            self.push(drop_trigger(from, name, t, trigger));
        }
        for (p, policy) in old
            .policies
            .iter()
            .filter(|(p, _)| !new.policies.contains_key(*p))
        {
            self.push(drop_policy(from, name, p, policy));
        }

        // Columns. A column a kept parent had goes with the parent's (PostgreSQL refuses to
        // drop an inherited column); one the table also declares goes after the parent's.
        let kept_parents: Vec<&QualName> = old
            .inherits
            .iter()
            .filter(|p| new.inherits.contains(p))
            .collect();
        let parents_with = |catalog: &Catalog, column: &str| -> Vec<QualName> {
            kept_parents
                .iter()
                .filter(|p| {
                    catalog
                        .tables
                        .get(**p)
                        .is_some_and(|t| t.columns.iter().any(|c| c.name == column))
                })
                .map(|p| (*p).clone())
                .collect()
        };
        for column in old
            .columns
            .iter()
            .filter(|c| !new.columns.iter().any(|n| n.name == c.name))
        {
            let parents = parents_with(from, &column.name);
            if column.inherited && !parents.is_empty() {
                continue;
            }
            self.push(
                alter(format!("DROP COLUMN {}", quote_ident(&column.name)))
                    .needs(parents.iter().map(deps::shape))
                    .needs([inheritance_ref(name)])
                    .rows(RowCheck::Values {
                        table: name.clone(),
                        column: column.name.clone(),
                    })
                    // Its type and collation may only go once the column is gone.
                    .needs_old(crate::refs::type_refs(from, &column.data_type))
                    .needs_old(crate::refs::collation_refs(from, column.collation.as_ref()))
                    .removes([deps::shape(name)])
                    .creates([deps::shape(name)])
                    .hazards([
                        Hazard::DeletesData,
                        Hazard::Irreversible,
                        Hazard::AccessExclusiveLock,
                    ]),
            );
        }
        let first = self.steps.len();
        for column in &new.columns {
            match old.columns.iter().find(|c| c.name == column.name) {
                // A kept parent's new column reaches the table by itself; what differs from
                // the parent's is altered once it is there.
                None if column.inherited && !parents_with(to, &column.name).is_empty() => {
                    let parents = parents_with(to, &column.name);
                    if let Some(base) = inherited_base(to, &parents, &column.name) {
                        let before = self.steps.len();
                        self.alter_column(name, &base, column);
                        for step in &mut self.steps[before..] {
                            step.needs.extend(parents.iter().map(deps::shape));
                        }
                    }
                }
                None => self.add_column(name, column, true),
                Some(old_column) => {
                    self.alter_column(name, old_column, column);
                    if let Some(changes) = render::options_changes(
                        &old_column.foreign_options,
                        &column.foreign_options,
                    ) {
                        self.push(
                            Step::new(
                                format!("{name}.{}", column.name),
                                format!(
                                    "ALTER FOREIGN TABLE {target} ALTER COLUMN {} {changes}",
                                    quote_ident(&column.name)
                                ),
                            )
                            .needs([deps::relation(name)]),
                        );
                    }
                }
            }
        }
        if new.kind == TableKind::Foreign {
            // Counting a foreign table's rows would query its server: nothing is counted.
            for step in &mut self.steps[first..] {
                step.rows = None;
            }
        }

        // Constraints and indexes that are new or re-created.
        for (c, constraint) in &new.constraints {
            let recreated = self
                .recreated
                .constraints
                .contains(&(name.clone(), c.clone()));
            match old.constraints.get(c) {
                Some(old_c) if !recreated => {
                    if !old_c.validated && constraint.validated {
                        self.push(
                            alter(format!("VALIDATE CONSTRAINT {}", quote_ident(c)))
                                .needs([constraint_ref(name, c)])
                                .hazards([Hazard::MayFailOnExistingData])
                                .apart(),
                        );
                    }
                }
                _ => self.add_constraint_to_existing(name, new, c, constraint),
            }
        }
        for (i, index) in new.indexes.iter().filter(|(_, i)| i.constraint.is_none()) {
            let recreated = self.recreated.indexes.contains(&(name.clone(), i.clone()));
            if recreated && let Some(temporary) = self.swapped_index(name, i) {
                self.swap_index(name, i, &temporary);
                continue;
            }
            // An index that belonged to a constraint which goes (a key made `USING INDEX`,
            // rolled back) goes with it: it is built again on its own.
            let freed = old.indexes.get(i).is_some_and(|o| o.constraint.is_some());
            if !old.indexes.contains_key(i) || recreated || freed {
                let mut step = Step::new(i.clone(), index.definition.clone())
                    .needs(deps::index(to, name, index))
                    .creates([index_ref(name, i)])
                    .hazards([Hazard::BuildsIndex]);
                if concurrent(new) {
                    step.sql = concurrently(&index.definition);
                    step = step.alone();
                } else if new.kind == TableKind::Partitioned {
                    // pg_get_indexdef prints ON ONLY for a partitioned table's index: on a table
                    // with partitions that leaves it invalid, unattached to theirs. Without
                    // ONLY the partitions get theirs too.
                    step.sql = index.definition.replacen(" ON ONLY ", " ON ", 1);
                }
                self.push(step);
            }
        }
        self.table_parts(name, old, new, false);
        self.foreign_alters(name, new, first_step);
    }

    /// A foreign table is altered with `ALTER FOREIGN TABLE` (`ALTER TABLE … TYPE` refuses it):
    /// the steps emitted for it since `first` say so.
    fn foreign_alters(&mut self, name: &QualName, table: &Table, first: usize) {
        if table.kind != TableKind::Foreign {
            return;
        }
        let plain = format!("ALTER TABLE {} ", qualified(name));
        let foreign = format!("ALTER FOREIGN TABLE {} ", qualified(name));
        for step in &mut self.steps[first..] {
            if let Some(rest) = step.sql.strip_prefix(&plain) {
                step.sql = format!("{foreign}{rest}");
            }
            // Its rows live on its server: nothing here is deleted or rewritten.
            step.hazards.retain(|h| {
                !matches!(
                    h,
                    Hazard::DeletesData | Hazard::Irreversible | Hazard::RewritesTable
                )
            });
        }
    }

    fn add_column(&mut self, table: &QualName, column: &Column, existing_table: bool) {
        let mut hazards = Vec::new();
        if existing_table {
            hazards.push(Hazard::AccessExclusiveLock);
            if column.not_null
                && column.default.is_none()
                && column.identity.is_none()
                && column.generated.is_none()
            {
                hazards.push(Hazard::MayFailOnExistingData);
            }
            let volatile = column.default.as_deref().is_some_and(is_volatile);
            if volatile
                || column.identity.is_some()
                || (column.generated.is_some() && !column.generated_virtual)
            {
                hazards.push(Hazard::RewritesTable);
            }
        }
        let mut needs = vec![deps::relation(table)];
        needs.extend(crate::refs::type_refs(self.to, &column.data_type));
        needs.extend(crate::refs::collation_refs(
            self.to,
            column.collation.as_ref(),
        ));
        for text in column.default.iter().chain(&column.generated) {
            needs.extend(deps::expression(self.to, text));
        }
        needs.retain(|r| !matches!(r, ObjectRef::Shape { table: t } if t == table));
        // A child that declares the same column adds it first: the parent's ADD COLUMN then
        // merges with it instead of failing on it.
        let added = |t: &QualName| constraint_ref(t, &format!("{}::added", column.name));
        needs.extend(
            self.to
                .tables
                .iter()
                .filter(|(_, t)| t.inherits.contains(table))
                .map(|(child, _)| added(child)),
        );
        self.push(
            Step::new(
                format!("{table}.{}", column.name),
                format!(
                    "ALTER TABLE {} ADD COLUMN {}",
                    qualified(table),
                    render::column_definition(table, column)
                ),
            )
            .needs(needs)
            .creates([deps::shape(table), added(table)])
            .creates(
                column
                    .identity
                    .iter()
                    .map(|i| deps::relation(&i.sequence_name)),
            )
            .hazards(hazards),
        );
        self.column_settings("TABLE", table, None, column);
    }

    fn alter_column(&mut self, table: &QualName, old: &Column, new: &Column) {
        let first = self.steps.len();
        self.alter_column_steps(table, old, new);
        // Every step on this column modifies its token, so they keep the order they are
        // written in, whatever else the ordering moves around them.
        let token = ObjectRef::Constraint {
            table: table.clone(),
            name: format!("{}::column", new.name),
        };
        for step in &mut self.steps[first..] {
            step.needs.push(token.clone());
            step.removes.push(token.clone());
            step.creates.push(token.clone());
        }
    }

    fn alter_column_steps(&mut self, table: &QualName, old: &Column, new: &Column) {
        let target = format!(
            "ALTER TABLE {} ALTER COLUMN {}",
            qualified(table),
            quote_ident(&new.name)
        );
        let object = format!("{table}.{}", new.name);
        let step = |sql: String| Step::new(object.clone(), sql).needs([deps::relation(table)]);

        if old.generated != new.generated || old.generated_virtual != new.generated_virtual {
            if old.generated.is_some() && new.generated.is_none() {
                // Keeps the values, stops computing them.
                self.push(step(format!("{target} DROP EXPRESSION")));
            } else if let (Some(_), Some(expression)) = (&old.generated, &new.generated)
                && self.version >= 170_000
                && old.generated_virtual == new.generated_virtual
                && old.data_type == new.data_type
            {
                // PostgreSQL 17: the column stays (its place, what reads it); a stored one is
                // computed anew.
                let hazards = if new.generated_virtual {
                    Vec::new()
                } else {
                    vec![Hazard::RewritesTable, Hazard::AccessExclusiveLock]
                };
                self.push(
                    step(format!("{target} SET EXPRESSION AS ({expression})"))
                        .removes([deps::shape(table)])
                        .creates([deps::shape(table)])
                        .hazards(hazards),
                );
            } else {
                // A generated expression cannot be changed in place on every supported version:
                // the column is dropped and added again (its values are computed anew).
                let mut hazards = vec![Hazard::RewritesTable, Hazard::AccessExclusiveLock];
                if old.generated.is_none() {
                    hazards.push(Hazard::DeletesData);
                }
                self.push(
                    step(format!(
                        "ALTER TABLE {} DROP COLUMN {}",
                        qualified(table),
                        quote_ident(&old.name)
                    ))
                    .removes([deps::shape(table)])
                    .creates([deps::shape(table)])
                    .hazards(hazards),
                );
                self.add_column(table, new, true);
                return;
            }
        }
        // A column of a collation that is made anew is converted to the new one.
        let type_changes = old.data_type != new.data_type
            || old.collation != new.collation
            || self.uses_recollated(new.collation.as_ref());
        // The sequence an old default draws from (a serial's) may only go once it is replaced.
        let old_default_refs: Vec<ObjectRef> = old
            .default
            .as_deref()
            .map(|d| {
                crate::refs::regclass_literals(d)
                    .iter()
                    .filter(|n| self.from.sequences.contains_key(*n))
                    .map(deps::relation)
                    .collect()
            })
            .unwrap_or_default();
        if type_changes && old.default.is_some() {
            // The old default may not cast to the new type: it is set again below.
            self.push(step(format!("{target} DROP DEFAULT")).needs_old(old_default_refs.clone()));
        }
        if let (Some(identity), None) = (&old.identity, &new.identity) {
            // Frees the name of its sequence, which a new sequence may take.
            self.push(
                step(format!("{target} DROP IDENTITY"))
                    .removes([deps::relation(&identity.sequence_name)]),
            );
        }
        if type_changes {
            let collation = new
                .collation
                .as_ref()
                .map(|c| format!(" COLLATE {c}"))
                .unwrap_or_default();
            let mut hazards = vec![Hazard::AccessExclusiveLock];
            if !is_binary_coercible(&old.data_type, &new.data_type)
                || old.collation != new.collation
            {
                hazards.extend([Hazard::RewritesTable, Hazard::MayFailOnExistingData]);
            }
            let mut needs = crate::refs::type_refs(self.to, &new.data_type);
            needs.extend(crate::refs::collation_refs(self.to, new.collation.as_ref()));
            needs.push(deps::relation(table));
            // PostgreSQL has no cast from an enum to another type but text: convert through
            // text (each value to the label of the same name).
            let from_text = matches!(old.data_type.as_str(), "text" | "text[]");
            let through_text = if !from_text
                && (is_enum(self.from, &old.data_type) || is_enum(self.to, &new.data_type))
            {
                if new.data_type.ends_with("[]") {
                    "::text[]"
                } else {
                    "::text"
                }
            } else {
                ""
            };
            // A foreign table holds no rows here to convert, and takes no USING.
            let foreign = self
                .to
                .tables
                .get(table)
                .is_some_and(|t| t.kind == TableKind::Foreign);
            let using = if foreign {
                String::new()
            } else {
                format!(
                    " USING {}{through_text}::{}",
                    quote_ident(&new.name),
                    new.data_type
                )
            };
            self.push(
                Step::new(
                    object.clone(),
                    format!("{target} TYPE {}{collation}{using}", new.data_type),
                )
                .needs(needs)
                .needs_old(crate::refs::type_refs(self.from, &old.data_type))
                .needs_old(
                    crate::refs::collation_refs(self.from, old.collation.as_ref())
                        .into_iter()
                        .filter(|r| !matches!(r, ObjectRef::Collation { name } if self.recollated.contains(name))),
                )
                .removes([deps::shape(table)])
                .creates([deps::shape(table)])
                .rows(RowCheck::Values {
                    table: table.clone(),
                    column: new.name.clone(),
                })
                .hazards(hazards),
            );
        }
        let retyped = self
            .retyped_columns
            .contains(&(table.clone(), new.name.clone()));
        let default_dropped = self
            .recreated
            .defaults
            .contains(&(table.clone(), new.name.clone()));
        if !retyped
            && (old.default != new.default
                || (type_changes && new.default.is_some())
                || (default_dropped && new.default.is_some()))
        {
            match &new.default {
                Some(default) => {
                    let mut needs = deps::expression(self.to, default);
                    needs.push(deps::relation(table));
                    needs.retain(|r| !matches!(r, ObjectRef::Shape { table: t } if t == table));
                    self.push(
                        Step::new(object.clone(), format!("{target} SET DEFAULT {default}"))
                            .needs(needs)
                            .needs_old(old_default_refs.clone()),
                    );
                }
                None if !type_changes => self.push(
                    step(format!("{target} DROP DEFAULT")).needs_old(old_default_refs.clone()),
                ),
                None => {}
            }
        }
        if old.not_null && new.not_null && !new.inherited {
            // PostgreSQL 18 keeps a NOT NULL constraint's name when the table or column is
            // renamed; a name declared apart is given by renaming it.
            if let (Some(from), Some(to)) = (&old.not_null_name, &new.not_null_name)
                && from != to
            {
                self.push(
                    Step::new(
                        object.clone(),
                        format!(
                            "ALTER TABLE {} RENAME CONSTRAINT {} TO {}",
                            qualified(table),
                            quote_ident(from),
                            quote_ident(to)
                        ),
                    )
                    .needs([deps::relation(table)]),
                );
            }
        }
        if old.not_null != new.not_null {
            let existing = self.from.tables.get(table).is_some_and(concurrent);
            if new.not_null && existing {
                self.set_not_null_online(table, new);
            } else if new.not_null
                && let Some(constraint) = render::named_not_null(table, new)
            {
                self.push(
                    Step::new(
                        object.clone(),
                        format!(
                            "ALTER TABLE {} ADD CONSTRAINT {} NOT NULL {}",
                            qualified(table),
                            quote_ident(constraint),
                            quote_ident(&new.name)
                        ),
                    )
                    .needs([deps::relation(table), deps::shape(table)])
                    .rows(RowCheck::Nulls {
                        table: table.clone(),
                        column: new.name.clone(),
                    })
                    .hazards([Hazard::MayFailOnExistingData, Hazard::AccessExclusiveLock]),
                );
            } else if new.not_null {
                self.push(
                    step(format!("{target} SET NOT NULL"))
                        .rows(RowCheck::Nulls {
                            table: table.clone(),
                            column: new.name.clone(),
                        })
                        .hazards([Hazard::MayFailOnExistingData, Hazard::AccessExclusiveLock]),
                );
            } else if new.identity.is_none() {
                self.push(step(format!("{target} DROP NOT NULL")));
            }
        }
        match (&old.identity, &new.identity) {
            (None, Some(identity)) => {
                let clause = render::identity_clause(table, &new.name, identity, &new.data_type);
                // The identity's sequence takes its name: a sequence of that name that goes (a
                // serial's) must be gone first.
                self.push(
                    step(format!("{target} ADD{clause}"))
                        .creates([deps::relation(&identity.sequence_name)]),
                );
            }
            (Some(a), Some(b)) if a.always != b.always || a.sequence != b.sequence => {
                let mut parts = Vec::new();
                if a.always != b.always {
                    parts.push(format!(
                        "SET GENERATED {}",
                        if b.always { "ALWAYS" } else { "BY DEFAULT" }
                    ));
                }
                if a.sequence != b.sequence {
                    let o = &b.sequence;
                    parts.push(format!(
                        "SET INCREMENT BY {} SET MINVALUE {} SET MAXVALUE {} SET START WITH {} SET CACHE {} SET {}",
                        o.increment,
                        o.min,
                        o.max,
                        o.start,
                        o.cache,
                        if o.cycle { "CYCLE" } else { "NO CYCLE" }
                    ));
                }
                self.push(step(format!("{target} {}", parts.join(" "))));
            }
            _ => {}
        }
        if let (Some(a), Some(b)) = (&old.identity, &new.identity)
            && a.sequence_name != b.sequence_name
        {
            // A table or column renamed after the identity was made keeps its sequence's name.
            let mut step = Step::new(
                object.clone(),
                format!(
                    "ALTER SEQUENCE {} RENAME TO {}",
                    qualified(&a.sequence_name),
                    quote_ident(&b.sequence_name.name)
                ),
            )
            .needs([deps::relation(table)])
            .removes([deps::relation(&a.sequence_name)])
            .creates([deps::relation(&b.sequence_name)]);
            if a.sequence_name.schema != b.sequence_name.schema {
                step.sql = format!(
                    "ALTER SEQUENCE {} SET SCHEMA {}",
                    qualified(&a.sequence_name),
                    quote_ident(&b.sequence_name.schema)
                );
            }
            self.push(step);
        }
        // ALTER COLUMN … TYPE gives the column its new type's storage and compression.
        let settled = if type_changes {
            Column {
                storage: None,
                compression: None,
                ..old.clone()
            }
        } else {
            old.clone()
        };
        self.column_settings("TABLE", table, Some(&settled), new);
    }

    /// Steps for a column's options, storage, compression and statistics target, from `old`
    /// (`None`: a column just made, with PostgreSQL's defaults) to `new`, on a table or
    /// materialized view (`keyword`).
    pub(super) fn column_settings(
        &mut self,
        keyword: &str,
        relation: &QualName,
        old: Option<&Column>,
        new: &Column,
    ) {
        let target = format!(
            "ALTER {keyword} {} ALTER COLUMN {}",
            qualified(relation),
            quote_ident(&new.name)
        );
        let mut sql = Vec::new();
        let old_options = old.map_or(&[][..], |o| &o.options[..]);
        let key = |o: &String| o.split('=').next().unwrap_or_default().to_owned();
        let reset: Vec<String> = old_options
            .iter()
            .map(key)
            .filter(|k| !new.options.iter().any(|n| &key(n) == k))
            .collect();
        if !reset.is_empty() {
            sql.push(format!("{target} RESET ({})", reset.join(", ")));
        }
        let set: Vec<&str> = new
            .options
            .iter()
            .filter(|o| !old_options.contains(o))
            .map(String::as_str)
            .collect();
        if !set.is_empty() {
            sql.push(format!("{target} SET ({})", set.join(", ")));
        }
        let old_storage = old.and_then(|o| o.storage.as_ref());
        if old_storage != new.storage.as_ref() {
            let mode = match (&new.storage, old_storage) {
                (Some(s), _) => Some(&s.mode),
                (None, Some(o)) => Some(&o.type_default),
                (None, None) => None,
            };
            if let Some(mode) = mode {
                sql.push(format!("{target} SET STORAGE {mode}"));
            }
        }
        if old.and_then(|o| o.compression.as_ref()) != new.compression.as_ref() {
            let method = new.compression.as_deref().unwrap_or("default");
            sql.push(format!("{target} SET COMPRESSION {method}"));
        }
        if old.and_then(|o| o.statistics) != new.statistics {
            sql.push(format!(
                "{target} SET STATISTICS {}",
                new.statistics.unwrap_or(-1)
            ));
        }
        for statement in sql {
            self.push(
                Step::new(format!("{relation}.{}", new.name), statement)
                    .needs([deps::relation(relation), deps::shape(relation)]),
            );
        }
    }

    /// Whether the table already has, on its own, the index a new key is made of (same name,
    /// same definition, valid, not re-created): `ADD CONSTRAINT … USING INDEX` adopts it.
    fn index_to_adopt(&self, table: &QualName, name: &str, index: &Index) -> bool {
        self.from
            .tables
            .get(table)
            .and_then(|t| t.indexes.get(name))
            .is_some_and(|old| {
                old.constraint.is_none()
                    && old.valid
                    && old.definition == index.definition
                    && !self
                        .recreated
                        .indexes
                        .contains(&(table.clone(), name.to_owned()))
            })
    }

    /// Whether a changed trigger of a table is replaced in place (`CREATE OR REPLACE
    /// TRIGGER`, PostgreSQL 14): its own definition changed, it is no constraint trigger,
    /// nothing it uses is re-created and no column of its table changes type.
    pub(super) fn replaces_trigger(&self, table: &QualName, name: &str) -> bool {
        let (Some(old), Some(new)) = (
            self.from
                .tables
                .get(table)
                .and_then(|t| t.triggers.get(name)),
            self.to.tables.get(table).and_then(|t| t.triggers.get(name)),
        ) else {
            return false;
        };
        if self.version < 140_000
            || old.constraint
            || new.constraint
            || old.definition == new.definition
            || !new.definition.starts_with("CREATE TRIGGER")
            || self.reshaped.contains(table)
        {
            return false;
        }
        let gone = &self.gone;
        !deps::trigger(self.from, table, old)
            .iter()
            .chain(&deps::trigger(self.to, table, new))
            .any(|r| !matches!(r, ObjectRef::Shape { .. }) && gone.contains(r))
    }

    /// The temporary name under which a changed index of a table that stays is built anew
    /// before the old one goes, when that is possible: its own definition changed (nothing it
    /// uses is re-created, no column it reads changes type), the table takes concurrent builds,
    /// and the name leaves room.
    pub(super) fn swapped_index(&self, table: &QualName, name: &str) -> Option<String> {
        let old_table = self.from.tables.get(table)?;
        let new_table = self.to.tables.get(table)?;
        let (old, new) = (old_table.indexes.get(name)?, new_table.indexes.get(name)?);
        let temporary = format!("{name}_strata_new");
        let possible = concurrent(old_table)
            && concurrent(new_table)
            && old.valid
            && old.constraint.is_none()
            && old.definition != new.definition
            && !self.reshaped.contains(table)
            && temporary.len() <= 63
            && !new_table.indexes.contains_key(&temporary)
            && index_name_in(&new.definition) == Some(name);
        if !possible {
            return None;
        }
        let gone = &self.gone;
        let uses_gone = deps::index(self.from, table, old)
            .iter()
            .chain(&deps::index(self.to, table, new))
            .any(|r| !matches!(r, ObjectRef::Shape { .. }) && gone.contains(r));
        (!uses_gone).then_some(temporary)
    }

    /// A changed index, replaced without a moment without it: the new one is built
    /// concurrently under a temporary name, the old one dropped concurrently, the new one
    /// renamed to the old name. Readers keep an index and writers are never blocked.
    fn swap_index(&mut self, table: &QualName, name: &str, temporary: &str) {
        let index = &self.to.tables[table].indexes[name];
        let old = &self.from.tables[table].indexes[name];
        let temporary_ref = index_ref(table, temporary);
        // `swapped_index` made sure the definition reads `CREATE [UNIQUE] INDEX name ON …`.
        let on = index.definition.find(" ON ").unwrap_or(0);
        let unique = if index.definition.starts_with("CREATE UNIQUE") {
            "UNIQUE "
        } else {
            ""
        };
        let definition = format!(
            "CREATE {unique}INDEX CONCURRENTLY {}{}",
            quote_ident(temporary),
            &index.definition[on..]
        );
        self.push(
            Step::new(name.to_owned(), definition)
                .needs(deps::index(self.to, table, index))
                .creates([temporary_ref.clone()])
                .hazards([Hazard::BuildsIndex])
                .alone(),
        );
        let mut drop = drop_index(self.from, table, name, old, true);
        drop.needs.push(temporary_ref.clone());
        self.push(drop);
        self.push(
            Step::new(
                name.to_owned(),
                format!(
                    "ALTER INDEX {} RENAME TO {}",
                    qualified(&QualName::new(table.schema.clone(), temporary.to_owned())),
                    quote_ident(name)
                ),
            )
            .needs([temporary_ref])
            .creates([index_ref(table, name)])
            .apart(),
        );
    }

    /// `SET NOT NULL` on a table that holds rows, without holding an ACCESS EXCLUSIVE lock for
    /// the scan: a `CHECK (c IS NOT NULL) NOT VALID` is added (a brief lock), validated on its
    /// own (SHARE UPDATE EXCLUSIVE: reads and writes go on), then `SET NOT NULL` finds it proven
    /// and skips the scan, and the helper goes. Each runs alone, committed before the next.
    fn set_not_null_online(&mut self, table: &QualName, column: &Column) {
        let object = format!("{table}.{}", column.name);
        let target = qualified(table);
        let helper = format!("{}_not_null_strata", column.name);
        let helper_ref = constraint_ref(table, &helper);
        let validated_ref = constraint_ref(table, &format!("{helper} validated"));
        let step = |sql: String| {
            Step::new(object.clone(), format!("ALTER TABLE {target} {sql}"))
                .needs([deps::relation(table), deps::shape(table)])
                .apart()
        };
        self.push(
            step(format!(
                "ADD CONSTRAINT {} CHECK ({} IS NOT NULL) NOT VALID",
                quote_ident(&helper),
                quote_ident(&column.name)
            ))
            .creates([helper_ref.clone()]),
        );
        self.push(
            step(format!("VALIDATE CONSTRAINT {}", quote_ident(&helper)))
                .needs([helper_ref])
                .creates([validated_ref.clone()])
                .rows(RowCheck::Nulls {
                    table: table.clone(),
                    column: column.name.clone(),
                })
                .hazards([Hazard::MayFailOnExistingData]),
        );
        let set = match render::named_not_null(table, column) {
            Some(name) => format!(
                "ADD CONSTRAINT {} NOT NULL {}",
                quote_ident(name),
                quote_ident(&column.name)
            ),
            None => format!("ALTER COLUMN {} SET NOT NULL", quote_ident(&column.name)),
        };
        self.push(
            step(set)
                .needs([validated_ref])
                .creates([not_null_ref(table, &column.name)]),
        );
        // Ordered after the SET by what it needs only: as a removal of the helper it would be
        // placed before the helper's creation.
        self.push(
            step(format!("DROP CONSTRAINT {}", quote_ident(&helper)))
                .needs([not_null_ref(table, &column.name)]),
        );
    }

    fn add_constraint_to_existing(
        &mut self,
        table: &QualName,
        new_table: &Table,
        name: &str,
        constraint: &Constraint,
    ) {
        let needs = deps::constraint(self.to, table, constraint);
        let target = qualified(table);
        let can_defer_validation = matches!(
            constraint.kind,
            ConstraintKind::Check | ConstraintKind::ForeignKey
        ) && constraint.validated
            && new_table.kind == TableKind::Ordinary
            && new_table.partition_of.is_none();
        if can_defer_validation {
            // Added without checking the rows (a brief lock), then validated under a lighter lock.
            self.push(
                Step::new(
                    format!("{table}.{name}"),
                    format!(
                        "{} NOT VALID",
                        render::add_constraint(table, name, constraint)
                    ),
                )
                .needs(needs)
                .creates([constraint_ref(table, name)]),
            );
            self.push(
                Step::new(
                    format!("{table}.{name}"),
                    format!(
                        "ALTER TABLE {target} VALIDATE CONSTRAINT {}",
                        quote_ident(name)
                    ),
                )
                .needs([constraint_ref(table, name)])
                .hazards([Hazard::MayFailOnExistingData])
                // Committed apart from the ADD: in one transaction the ADD's ACCESS EXCLUSIVE
                // lock would be held through the scan.
                .apart(),
            );
        } else if let Some(index) = constraint
            .index
            .as_ref()
            .and_then(|i| new_table.indexes.get(i).map(|x| (i, x)))
            .filter(|(i, index)| {
                matches!(
                    constraint.kind,
                    ConstraintKind::PrimaryKey | ConstraintKind::Unique
                ) && (concurrent(new_table) || self.index_to_adopt(table, i, index))
            })
        {
            // The unique index is built CONCURRENTLY (reads and writes go on), unless the table
            // has it already, then the key is made of it, a brief lock and no scan. A primary key
            // waits for its columns' NOT NULL.
            let (index_name, index) = index;
            if !self.index_to_adopt(table, index_name, index) {
                self.push(
                    Step::new(format!("{table}.{name}"), concurrently(&index.definition))
                        .needs(needs.clone())
                        .creates([index_ref(table, index_name)])
                        .rows(RowCheck::Duplicates {
                            table: table.clone(),
                            columns: constraint.columns.clone(),
                        })
                        .hazards([Hazard::BuildsIndex, Hazard::MayFailOnExistingData])
                        .alone(),
                );
            }
            let kind = if constraint.kind == ConstraintKind::PrimaryKey {
                "PRIMARY KEY"
            } else {
                "UNIQUE"
            };
            let mut sql = format!(
                "ALTER TABLE {target} ADD CONSTRAINT {} {kind} USING INDEX {}",
                quote_ident(name),
                quote_ident(index_name)
            );
            if constraint.deferrable {
                sql.push_str(" DEFERRABLE");
                if constraint.initially_deferred {
                    sql.push_str(" INITIALLY DEFERRED");
                }
            }
            let nulls_set = if constraint.kind == ConstraintKind::PrimaryKey {
                let old_table = self.from.tables.get(table);
                constraint
                    .columns
                    .iter()
                    .filter(|c| {
                        old_table.is_some_and(|t| {
                            t.columns.iter().any(|old| &old.name == *c && !old.not_null)
                        })
                    })
                    .map(|c| not_null_ref(table, c))
                    .collect()
            } else {
                Vec::new()
            };
            self.push(
                Step::new(format!("{table}.{name}"), sql)
                    .needs(needs)
                    .needs([index_ref(table, index_name)])
                    .needs(nulls_set)
                    .creates([constraint_ref(table, name)]),
            );
        } else {
            let mut hazards = vec![Hazard::AccessExclusiveLock];
            if constraint.validated {
                hazards.push(Hazard::MayFailOnExistingData);
            }
            if matches!(
                constraint.kind,
                ConstraintKind::PrimaryKey | ConstraintKind::Unique | ConstraintKind::Exclusion
            ) {
                hazards.push(Hazard::BuildsIndex);
            }
            self.push(
                Step::new(
                    format!("{table}.{name}"),
                    render::add_constraint(table, name, constraint),
                )
                .needs(needs)
                .creates([constraint_ref(table, name)])
                .creates(constraint.index.iter().map(|i| index_ref(table, i)))
                .hazards(hazards),
            );
            if matches!(
                constraint.kind,
                ConstraintKind::PrimaryKey | ConstraintKind::Unique
            ) && let Some(step) = self.steps.last_mut()
            {
                step.rows = Some(RowCheck::Duplicates {
                    table: table.clone(),
                    columns: constraint.columns.clone(),
                });
            }
        }
    }

    /// Triggers, policies, row-level security, comments and privileges. `fresh` means the table
    /// was just created: everything of `new` is set.
    fn table_parts(&mut self, name: &QualName, old: &Table, new: &Table, fresh: bool) {
        diff_triggers(self, name, &old.triggers, &new.triggers, fresh);
        diff_rules(self, name, &old.rules, &new.rules, fresh);
        let target = qualified(name);
        for (p, policy) in &new.policies {
            let recreated = self.recreated.policies.contains(&(name.clone(), p.clone()));
            match old.policies.get(p) {
                Some(old_p) if !recreated && !fresh => {
                    if old_p != policy {
                        let mut sql = format!(
                            "ALTER POLICY {} ON {target} TO {}",
                            quote_ident(p),
                            render::roles(&policy.roles)
                        );
                        if let Some(using) = &policy.using {
                            sql.push_str(&format!(" USING ({using})"));
                        }
                        if let Some(check) = &policy.with_check {
                            sql.push_str(&format!(" WITH CHECK ({check})"));
                        }
                        if old_p.using != policy.using && policy.using.is_none()
                            || old_p.with_check != policy.with_check && policy.with_check.is_none()
                        {
                            // ALTER POLICY cannot remove an expression: re-create it.
                            self.push(drop_policy(self.from, name, p, old_p));
                            self.push(self.create_policy_step(name, p, policy));
                        } else {
                            self.push(
                                Step::new(format!("{name}.{p}"), sql)
                                    .needs(deps::policy(self.to, name, policy)),
                            );
                        }
                    }
                }
                _ => {
                    let step = self.create_policy_step(name, p, policy);
                    self.push(step);
                }
            }
        }
        // CLUSTER ON: a dropped or re-created index is no longer the clustering one.
        let rebuilt = |i: &String| {
            !new.indexes.contains_key(i)
                || self.recreated.indexes.contains(&(name.clone(), i.clone()))
                || old.indexes[i].constraint.as_ref().is_some_and(|c| {
                    !new.constraints.contains_key(c)
                        || self
                            .recreated
                            .constraints
                            .contains(&(name.clone(), c.clone()))
                })
        };
        let was = clustered_index(&old.indexes)
            .filter(|_| !fresh)
            .filter(|i| !rebuilt(i))
            .cloned();
        self.cluster("TABLE", name, was.as_ref(), clustered_index(&new.indexes));
        if old.rls_enabled != new.rls_enabled {
            let sql = if new.rls_enabled { "ENABLE" } else { "DISABLE" };
            self.push(
                Step::new(
                    name.to_string(),
                    format!("ALTER TABLE {target} {sql} ROW LEVEL SECURITY"),
                )
                .needs([deps::relation(name)]),
            );
        }
        if old.rls_forced != new.rls_forced {
            let sql = if new.rls_forced { "FORCE" } else { "NO FORCE" };
            self.push(
                Step::new(
                    name.to_string(),
                    format!("ALTER TABLE {target} {sql} ROW LEVEL SECURITY"),
                )
                .needs([deps::relation(name)]),
            );
        }

        // Comments.
        let relation = vec![deps::relation(name)];
        let keyword = if new.kind == TableKind::Foreign {
            "FOREIGN TABLE"
        } else {
            "TABLE"
        };
        self.comment(
            &format!("{keyword} {target}"),
            old.comment.as_deref(),
            new.comment.as_deref(),
            relation.clone(),
            fresh,
        );
        for column in &new.columns {
            let old_comment = old
                .columns
                .iter()
                .find(|c| c.name == column.name)
                .and_then(|c| c.comment.as_deref());
            let column_target = format!("COLUMN {target}.{}", quote_ident(&column.name));
            self.comment(
                &column_target,
                old_comment,
                column.comment.as_deref(),
                vec![deps::relation(name), deps::shape(name)],
                fresh,
            );
        }
        for (c, constraint) in &new.constraints {
            let recreated = fresh
                || self
                    .recreated
                    .constraints
                    .contains(&(name.clone(), c.clone()));
            let old_comment = old.constraints.get(c).and_then(|o| o.comment.as_deref());
            let constraint_target = format!("CONSTRAINT {} ON {target}", quote_ident(c));
            self.comment(
                &constraint_target,
                old_comment,
                constraint.comment.as_deref(),
                vec![constraint_ref(name, c)],
                recreated || !old.constraints.contains_key(c),
            );
        }
        for (i, index) in &new.indexes {
            let recreated = fresh
                || self.recreated.indexes.contains(&(name.clone(), i.clone()))
                || old
                    .indexes
                    .get(i)
                    .is_none_or(|o| o.constraint.is_some() && index.constraint.is_none());
            let old_comment = old.indexes.get(i).and_then(|o| o.comment.as_deref());
            let index_target = format!(
                "INDEX {}",
                qualified(&QualName::new(name.schema.clone(), i.clone()))
            );
            self.comment(
                &index_target,
                old_comment,
                index.comment.as_deref(),
                vec![index_ref(name, i)],
                recreated,
            );
            self.index_statistics(
                &QualName::new(name.schema.clone(), i.clone()),
                old.indexes.get(i),
                index,
                recreated,
            );
        }

        // Privileges.
        self.privileges(
            &format!("TABLE {target}"),
            None,
            &old.privileges,
            &new.privileges,
            relation,
        );
        let default = Privileges::default();
        for column in &new.columns {
            let old_privileges = old
                .columns
                .iter()
                .find(|c| c.name == column.name)
                .map_or(&default, |c| &c.privileges);
            let old_privileges = if fresh { &default } else { old_privileges };
            self.privileges(
                &format!("TABLE {target}"),
                Some(&column.name),
                old_privileges,
                &column.privileges,
                vec![deps::relation(name), deps::shape(name)],
            );
            // The sequence of an identity column: its own comment and grants.
            if let Some(identity) = &column.identity {
                let old_identity = old
                    .columns
                    .iter()
                    .find(|c| c.name == column.name)
                    .and_then(|c| c.identity.as_ref())
                    .filter(|_| !fresh);
                let sequence = format!("SEQUENCE {}", qualified(&identity.sequence_name));
                let needs = vec![
                    deps::relation(name),
                    deps::shape(name),
                    deps::relation(&identity.sequence_name),
                ];
                self.describe(
                    &sequence,
                    &sequence,
                    old_identity.map(|i| (i.comment.as_deref(), &i.privileges)),
                    (identity.comment.as_deref(), &identity.privileges),
                    needs,
                );
            }
        }
    }

    /// `CLUSTER ON` (or `SET WITHOUT CLUSTER`) when the clustering index of a table or
    /// materialized view (`keyword`) changes from `was` to `now`.
    pub(super) fn cluster(
        &mut self,
        keyword: &str,
        relation: &QualName,
        was: Option<&String>,
        now: Option<&String>,
    ) {
        if was == now {
            return;
        }
        let target = format!("ALTER {keyword} {}", qualified(relation));
        let step = match now {
            Some(index) => Step::new(
                relation.to_string(),
                format!("{target} CLUSTER ON {}", quote_ident(index)),
            )
            .needs([deps::relation(relation), index_ref(relation, index)]),
            None => Step::new(
                relation.to_string(),
                format!("{target} SET WITHOUT CLUSTER"),
            )
            .needs([deps::relation(relation)]),
        };
        self.push(step);
    }

    fn create_policy_step(&self, table: &QualName, name: &str, policy: &Policy) -> Step {
        Step::new(
            format!("{table}.{name}"),
            render::create_policy(table, name, policy),
        )
        .needs(deps::policy(self.to, table, policy))
        .creates([ObjectRef::Policy {
            table: table.clone(),
            name: name.to_owned(),
        }])
    }
}

/// The index a table or materialized view is clustered on.
pub(super) fn clustered_index(indexes: &BTreeMap<String, Index>) -> Option<&String> {
    indexes.iter().find(|(_, i)| i.clustered).map(|(n, _)| n)
}

/// Trigger steps for a table or view.
pub(super) fn diff_triggers(
    d: &mut Differ,
    table: &QualName,
    old: &BTreeMap<String, Trigger>,
    new: &BTreeMap<String, Trigger>,
    fresh: bool,
) {
    let target = qualified(table);
    for (t, trigger) in new {
        let recreated = d.recreated.triggers.contains(&(table.clone(), t.clone()));
        let replaced = recreated && !fresh && d.replaces_trigger(table, t);
        let old_trigger = if fresh || recreated && !replaced {
            None
        } else {
            old.get(t)
        };
        let reference = ObjectRef::Trigger {
            table: table.clone(),
            name: t.clone(),
        };
        if old_trigger.is_none() {
            d.push(
                Step::new(format!("{table}.{t}"), trigger.definition.clone())
                    .needs(deps::trigger(d.to, table, trigger))
                    .creates([reference.clone()]),
            );
        } else if replaced {
            d.push(
                Step::new(
                    format!("{table}.{t}"),
                    trigger
                        .definition
                        .replacen("CREATE TRIGGER", "CREATE OR REPLACE TRIGGER", 1),
                )
                .needs(deps::trigger(d.to, table, trigger))
                .needs_old(deps::trigger(d.from, table, &old[t]))
                .creates([reference.clone()]),
            );
        }
        // A replaced trigger is enabled again (as CREATE TRIGGER leaves it); its comment stays.
        let old_enabled = if replaced {
            "O"
        } else {
            old_trigger.map_or("O", |o| o.enabled.as_str())
        };
        if old_enabled != trigger.enabled {
            let action = match trigger.enabled.as_str() {
                "D" => "DISABLE TRIGGER",
                "R" => "ENABLE REPLICA TRIGGER",
                "A" => "ENABLE ALWAYS TRIGGER",
                _ => "ENABLE TRIGGER",
            };
            d.push(
                Step::new(
                    format!("{table}.{t}"),
                    format!("ALTER TABLE {target} {action} {}", quote_ident(t)),
                )
                .needs([reference.clone()]),
            );
        }
        let trigger_target = format!("TRIGGER {} ON {target}", quote_ident(t));
        d.comment(
            &trigger_target,
            old_trigger.and_then(|o| o.comment.as_deref()),
            trigger.comment.as_deref(),
            vec![reference],
            old_trigger.is_none(),
        );
    }
    if !fresh {
        for (t, trigger) in old.iter().filter(|(t, _)| !new.contains_key(*t)) {
            // Triggers of tables are dropped with the table's other removals; a view's here.
            if d.from.views.contains_key(table) {
                d.push(drop_trigger(d.from, table, t, trigger));
            }
        }
    }
}

/// The index name in `CREATE [UNIQUE] INDEX name ON …` as PostgreSQL prints it, unquoted.
fn index_name_in(definition: &str) -> Option<&str> {
    let rest = definition
        .strip_prefix("CREATE UNIQUE INDEX ")
        .or_else(|| definition.strip_prefix("CREATE INDEX "))?;
    let name = &rest[..rest.find(" ON ")?];
    Some(
        name.strip_prefix('"')
            .and_then(|n| n.strip_suffix('"'))
            .unwrap_or(name),
    )
    .filter(|n| !n.contains('"'))
}

/// `CREATE [UNIQUE] INDEX CONCURRENTLY …` from an index definition.
pub(super) fn concurrently(definition: &str) -> String {
    for prefix in ["CREATE UNIQUE INDEX ", "CREATE INDEX "] {
        if let Some(rest) = definition.strip_prefix(prefix) {
            return format!("{prefix}CONCURRENTLY {rest}");
        }
    }
    definition.to_owned()
}

/// Defaults that are evaluated per row, which makes `ADD COLUMN … DEFAULT` rewrite the table.
fn is_volatile(default: &str) -> bool {
    [
        "random()",
        "gen_random_uuid()",
        "clock_timestamp()",
        "nextval(",
        "uuid_generate",
        "timeofday()",
    ]
    .iter()
    .any(|f| default.contains(f))
}

/// Whether `data_type` (or its element type) is an enum of `catalog`.
fn is_enum(catalog: &Catalog, data_type: &str) -> bool {
    crate::refs::type_refs(catalog, data_type).iter().any(|r| {
        matches!(r, ObjectRef::Relation { name } if matches!(
            catalog.types.get(name).map(|t| &t.kind),
            Some(crate::catalog::TypeKind::Enum { .. })
        ))
    })
}

/// Type changes PostgreSQL makes without rewriting the table.
fn is_binary_coercible(from: &str, to: &str) -> bool {
    let varchar_len = |t: &str| {
        t.strip_prefix("character varying(")
            .and_then(|r| r.strip_suffix(')'))
            .and_then(|n| n.parse::<u32>().ok())
    };
    match (from, to) {
        (f, "text") if f.starts_with("character varying") => true,
        (f, "character varying") if f.starts_with("character varying") => true,
        (f, t) => matches!((varchar_len(f), varchar_len(t)), (Some(a), Some(b)) if b >= a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_index_definitions() {
        assert_eq!(
            concurrently("CREATE INDEX i ON s.t USING btree (a)"),
            "CREATE INDEX CONCURRENTLY i ON s.t USING btree (a)"
        );
        assert_eq!(
            concurrently("CREATE UNIQUE INDEX i ON s.t USING btree (a)"),
            "CREATE UNIQUE INDEX CONCURRENTLY i ON s.t USING btree (a)"
        );
    }

    #[test]
    fn binary_coercible_widening() {
        assert!(is_binary_coercible(
            "character varying(10)",
            "character varying(20)"
        ));
        assert!(is_binary_coercible("character varying(10)", "text"));
        assert!(!is_binary_coercible(
            "character varying(20)",
            "character varying(10)"
        ));
        assert!(!is_binary_coercible("integer", "bigint"));
    }
}
