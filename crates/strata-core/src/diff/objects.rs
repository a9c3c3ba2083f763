//! Schemas, extensions, types, sequences, functions, views and default privileges.

use std::collections::BTreeSet;

use super::{Differ, deps};
use crate::catalog::{
    Catalog, FunctionKey, FunctionKind, Index, Privileges, QualName, Sequence, Statistics, TypeDef,
    TypeKind, View, ViewKind,
};
use crate::plan::{Hazard, ObjectRef, Step};
use crate::render::{self, qualified};
use crate::sql::{quote_ident, quote_literal};

/// Functions and views whose own definition cannot be altered in place.
pub(super) fn own_recreations(d: &mut Differ) {
    for (key, old) in &d.from.functions {
        if let Some(new) = d.to.functions.get(key)
            && (old.kind != new.kind
                || old.result != new.result
                || old.arguments != new.arguments
                || old.aggregate != new.aggregate
                || (old.kind == FunctionKind::Aggregate && old != new))
        {
            d.recreated.functions.insert(key.clone());
        }
    }
    for (name, old) in &d.from.views {
        if let Some(new) = d.to.views.get(name)
            && view_changed(old, new)
            && !replaceable_in_place(old, new)
        {
            d.recreated.views.insert(name.clone());
        }
    }
}

/// Whether the view itself (its query, options or the columns it yields) changes. Column
/// defaults, comments, privileges and a materialized view's column settings are altered in
/// place.
fn view_changed(old: &View, new: &View) -> bool {
    old.kind != new.kind
        || old.definition != new.definition
        || old.options != new.options
        || old.columns.len() != new.columns.len()
        || old.columns.iter().zip(&new.columns).any(|(a, b)| {
            a.name != b.name || a.data_type != b.data_type || a.collation != b.collation
        })
}

/// `ALTER VIEW … SET (…), RESET (…)`: the options of `new` that differ, those of `old` gone.
fn view_options(name: &QualName, old: &View, new: &View) -> String {
    let key = |o: &String| o.split('=').next().unwrap_or(o).to_owned();
    let set: Vec<&String> = new
        .options
        .iter()
        .filter(|o| !old.options.contains(o))
        .collect();
    let reset: Vec<String> = old
        .options
        .iter()
        .map(key)
        .filter(|k| !new.options.iter().any(|o| key(o) == *k))
        .collect();
    let mut actions = Vec::new();
    if !set.is_empty() {
        let list: Vec<&str> = set.iter().map(|o| o.as_str()).collect();
        actions.push(format!("SET ({})", list.join(", ")));
    }
    if !reset.is_empty() {
        actions.push(format!("RESET ({})", reset.join(", ")));
    }
    format!("ALTER VIEW {} {}", qualified(name), actions.join(", "))
}

/// `CREATE OR REPLACE VIEW` keeps the old columns and may add new ones at the end; it sets the
/// view's options to the ones it names.
fn replaceable_in_place(old: &View, new: &View) -> bool {
    old.kind == ViewKind::View
        && new.kind == ViewKind::View
        && old.columns.len() <= new.columns.len()
        && old.columns.iter().zip(&new.columns).all(|(a, b)| {
            a.name == b.name && a.data_type == b.data_type && a.collation == b.collation
        })
}

/// Spreads re-creation to views and functions that depend on something gone. Returns whether
/// anything was added.
pub(super) fn spread(d: &mut Differ, gone: &BTreeSet<ObjectRef>) -> bool {
    let mut changed = false;
    for (name, view) in &d.from.views {
        if d.to.views.contains_key(name)
            && !d.recreated.views.contains(name)
            && deps::view(d.from, name, view)
                .iter()
                .any(|r| gone.contains(r))
        {
            d.recreated.views.insert(name.clone());
            changed = true;
        }
    }
    for (key, function) in &d.from.functions {
        if d.to.functions.contains_key(key)
            && !d.recreated.functions.contains(key)
            && deps::function(d.from, key, function)
                .iter()
                .any(|r| gone.contains(r))
        {
            d.recreated.functions.insert(key.clone());
            changed = true;
        }
    }
    changed
}

/// Whether a type must be replaced (renamed away, created anew, its columns converted) rather
/// than altered.
pub(super) fn type_is_recreated(old: Option<&TypeDef>, new: Option<&TypeDef>) -> bool {
    let (Some(old), Some(new)) = (old, new) else {
        return false;
    };
    match (&old.kind, &new.kind) {
        (TypeKind::Enum { labels: a }, TypeKind::Enum { labels: b }) => !is_subsequence(a, b),
        (
            TypeKind::Domain {
                base: a,
                collation: ca,
                ..
            },
            TypeKind::Domain {
                base: b,
                collation: cb,
                ..
            },
        ) => a != b || ca != cb,
        (TypeKind::Composite { .. }, TypeKind::Composite { .. }) => false,
        (a @ TypeKind::Range { .. }, b @ TypeKind::Range { .. }) => a != b,
        _ => true,
    }
}

fn is_subsequence(short: &[String], long: &[String]) -> bool {
    let mut it = long.iter();
    short.iter().all(|s| it.any(|l| l == s))
}

pub(super) fn drop_recreated(d: &mut Differ) {
    let views: Vec<QualName> = d.recreated.views.iter().cloned().collect();
    for name in views {
        let view = &d.from.views[&name];
        d.push(drop_view(d.from, &name, view));
    }
    let functions: Vec<FunctionKey> = d.recreated.functions.iter().cloned().collect();
    for key in functions {
        let function = &d.from.functions[&key];
        d.push(drop_function(d.from, &key, function));
    }
}

/// The keys of `old` that `new` lacks: what is gone.
pub(super) fn removed<K: Ord + Clone, V, W>(
    old: &std::collections::BTreeMap<K, V>,
    new: &std::collections::BTreeMap<K, W>,
) -> Vec<K> {
    old.keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect()
}

fn drop_function(
    catalog: &Catalog,
    key: &FunctionKey,
    function: &crate::catalog::Function,
) -> Step {
    Step::new(key.to_string(), render::drop_function(key, function))
        .removes([
            ObjectRef::Function { key: key.clone() },
            signature(key, function),
        ])
        .needs_old(deps::function(catalog, key, function))
}

/// A function's name and input types: a function created under another key with the same
/// signature (its parameters renamed) comes after the old one is dropped.
fn signature(key: &FunctionKey, function: &crate::catalog::Function) -> ObjectRef {
    ObjectRef::Signature {
        name: key.name.clone(),
        types: function.input_types.clone(),
    }
}

/// The plain views of `catalog` (those `view` selects) that read themselves through views
/// and functions (those `function` selects), each with the members of its cycle.
fn circular(
    catalog: &Catalog,
    view: &dyn Fn(&QualName) -> bool,
    function: &dyn Fn(&FunctionKey) -> bool,
) -> Vec<(QualName, BTreeSet<ObjectRef>)> {
    let in_scope = |r: &ObjectRef| match r {
        ObjectRef::Relation { name } => {
            catalog
                .views
                .get(name)
                .is_some_and(|v| v.kind == ViewKind::View)
                && view(name)
        }
        ObjectRef::Function { key } => catalog.functions.contains_key(key) && function(key),
        _ => false,
    };
    let successors = |node: &ObjectRef| -> Vec<ObjectRef> {
        let needs = match node {
            ObjectRef::Relation { name } => deps::view(catalog, name, &catalog.views[name]),
            ObjectRef::Function { key } => deps::function(catalog, key, &catalog.functions[key]),
            _ => Vec::new(),
        };
        needs.into_iter().filter(|r| in_scope(r)).collect()
    };
    let mut out = Vec::new();
    for name in catalog.views.keys() {
        let start = deps::relation(name);
        if !in_scope(&start) {
            continue;
        }
        // Everything reachable from the view; it is circular when it reaches itself, and its
        // cycle is what it reaches that reaches it back.
        let reach = |from: &ObjectRef| {
            let mut seen = BTreeSet::new();
            let mut stack = successors(from);
            while let Some(node) = stack.pop() {
                if seen.insert(node.clone()) {
                    stack.extend(successors(&node));
                }
            }
            seen
        };
        let reached = reach(&start);
        if reached.contains(&start) {
            let members = reached
                .into_iter()
                .filter(|n| reach(n).contains(&start))
                .collect();
            out.push((name.clone(), members));
        }
    }
    out
}

/// A view once its real query replaced its stand-in (see [`Differ::views`]).
fn complete_ref(view: &QualName) -> ObjectRef {
    ObjectRef::Constraint {
        table: view.clone(),
        name: "::complete".into(),
    }
}

fn drop_statistics(catalog: &Catalog, name: &QualName, stats: &Statistics) -> Step {
    Step::new(
        name.to_string(),
        format!("DROP STATISTICS {}", qualified(name)),
    )
    .removes([ObjectRef::Statistics { name: name.clone() }])
    .needs_old(deps::statistics(catalog, name, stats))
}

fn drop_view(catalog: &Catalog, name: &QualName, view: &View) -> Step {
    let mut step = Step::new(
        name.to_string(),
        format!(
            "DROP {} {}",
            Differ::view_kind_word(&view.kind),
            qualified(name)
        ),
    )
    .removes([deps::relation(name)])
    .needs_old(deps::view(catalog, name, view));
    for index in view.indexes.keys() {
        step = step.removes([ObjectRef::Index {
            name: QualName::new(name.schema.clone(), index.clone()),
        }]);
    }
    for trigger in view.triggers.keys() {
        step = step.removes([ObjectRef::Trigger {
            table: name.clone(),
            name: trigger.clone(),
        }]);
    }
    for rule in view.rules.keys() {
        step = step.removes([ObjectRef::Rule {
            table: name.clone(),
            name: rule.clone(),
        }]);
    }
    step
}

impl Differ<'_> {
    pub(super) fn schemas_and_extensions(&mut self) {
        for (name, schema) in &self.to.schemas {
            let old = self.from.schemas.get(name);
            if old.is_none() {
                self.push(
                    Step::new(
                        format!("schema {name}"),
                        format!("CREATE SCHEMA {}", quote_ident(name)),
                    )
                    .creates([deps::schema(name)]),
                );
            }
            let target = format!("SCHEMA {}", quote_ident(name));
            self.describe(
                &target,
                &target,
                old.map(|s| (s.comment.as_deref(), &s.privileges)),
                (schema.comment.as_deref(), &schema.privileges),
                vec![deps::schema(name)],
            );
        }
        for (name, extension) in &self.to.extensions {
            let old = self.from.extensions.get(name);
            // A new extension starts with the comment its control file gives it.
            let old_comment = old.map_or(extension.installed_comment.as_deref(), |o| {
                o.comment.as_deref()
            });
            self.comment(
                &format!("EXTENSION {}", quote_ident(name)),
                old_comment,
                extension.comment.as_deref(),
                vec![ObjectRef::Extension { name: name.clone() }],
                false,
            );
            if old.is_none() {
                self.push(
                    Step::new(
                        format!("extension {name}"),
                        format!(
                            "CREATE EXTENSION IF NOT EXISTS {} WITH SCHEMA {}",
                            quote_ident(name),
                            quote_ident(&extension.schema)
                        ),
                    )
                    .needs([deps::schema(&extension.schema)])
                    .creates([ObjectRef::Extension { name: name.clone() }]),
                );
            }
            // Its members' privileges, from what the extension installs.
            let none = std::collections::BTreeMap::new();
            let old_members = old.map_or(&none, |o| &o.member_privileges);
            let default = Privileges::default();
            let targets: BTreeSet<&String> = old_members
                .keys()
                .chain(extension.member_privileges.keys())
                .collect();
            for target in targets {
                self.privileges(
                    target,
                    None,
                    old_members.get(target).unwrap_or(&default),
                    extension.member_privileges.get(target).unwrap_or(&default),
                    vec![ObjectRef::Extension { name: name.clone() }],
                );
            }
        }
    }

    /// Foreign data wrappers, servers and their user mappings.
    pub(super) fn foreign_data(&mut self) {
        // A wrapper or server may come from an extension made in this plan.
        let extensions: Vec<ObjectRef> = self
            .to
            .extensions
            .keys()
            .map(|name| ObjectRef::Extension { name: name.clone() })
            .collect();
        for (name, wrapper) in &self.to.wrappers {
            let reference = ObjectRef::Wrapper { name: name.clone() };
            let target = format!("FOREIGN DATA WRAPPER {}", quote_ident(name));
            let old = self.from.wrappers.get(name);
            let mut needs: Vec<ObjectRef> = wrapper
                .handler
                .iter()
                .chain(&wrapper.validator)
                .flat_map(|f| crate::refs::objects_in(self.to, f))
                .collect();
            needs.extend(extensions.iter().cloned());
            match old {
                None => self.push(
                    Step::new(name.clone(), render::create_wrapper(name, wrapper))
                        .needs(needs)
                        .creates([reference.clone()]),
                ),
                Some(old) => {
                    let mut parts = Vec::new();
                    if old.handler != wrapper.handler {
                        parts.push(match &wrapper.handler {
                            Some(h) => format!("HANDLER {h}"),
                            None => "NO HANDLER".into(),
                        });
                    }
                    if old.validator != wrapper.validator {
                        parts.push(match &wrapper.validator {
                            Some(v) => format!("VALIDATOR {v}"),
                            None => "NO VALIDATOR".into(),
                        });
                    }
                    if let Some(changes) = render::options_changes(&old.options, &wrapper.options) {
                        parts.push(changes);
                    }
                    if !parts.is_empty() {
                        self.push(
                            Step::new(name.clone(), format!("ALTER {target} {}", parts.join(" ")))
                                .needs(needs)
                                .needs([reference.clone()]),
                        );
                    }
                }
            }
            self.describe(
                &target,
                &target,
                old.map(|o| (o.comment.as_deref(), &o.privileges)),
                (wrapper.comment.as_deref(), &wrapper.privileges),
                vec![reference],
            );
        }
        for (name, server) in &self.to.servers {
            let reference = ObjectRef::Server { name: name.clone() };
            let target = format!("SERVER {}", quote_ident(name));
            let previous = self.from.servers.get(name);
            let old = previous.filter(|o| !o.is_replaced_by(server));
            if let (Some(previous), None) = (previous, old) {
                self.drop_server(name, previous);
            }
            let mut needs = vec![ObjectRef::Wrapper {
                name: server.wrapper.clone(),
            }];
            needs.extend(extensions.iter().cloned());
            match old {
                None => self.push(
                    Step::new(name.clone(), render::create_server(name, server))
                        .needs(needs)
                        .creates([reference.clone()]),
                ),
                Some(old) => {
                    let mut parts = Vec::new();
                    if old.version != server.version {
                        parts.push(format!(
                            "VERSION {}",
                            server
                                .version
                                .as_deref()
                                .map_or_else(|| "NULL".to_owned(), quote_literal)
                        ));
                    }
                    if let Some(changes) = render::options_changes(&old.options, &server.options) {
                        parts.push(changes);
                    }
                    if !parts.is_empty() {
                        self.push(
                            Step::new(name.clone(), format!("ALTER {target} {}", parts.join(" ")))
                                .needs([reference.clone()]),
                        );
                    }
                }
            }
            let no_mappings = std::collections::BTreeMap::new();
            let old_mappings = old.map_or(&no_mappings, |o| &o.user_mappings);
            for role in old_mappings
                .keys()
                .filter(|r| !server.user_mappings.contains_key(*r))
            {
                self.push(
                    Step::new(
                        name.clone(),
                        format!(
                            "DROP USER MAPPING FOR {} SERVER {}",
                            render::mapping_role(role),
                            quote_ident(name)
                        ),
                    )
                    .needs([reference.clone()]),
                );
            }
            for (role, options) in &server.user_mappings {
                let mapping = format!(
                    "USER MAPPING FOR {} SERVER {}",
                    render::mapping_role(role),
                    quote_ident(name)
                );
                let sql = match old_mappings.get(role) {
                    None => Some(format!(
                        "CREATE {mapping}{}",
                        render::options_clause(options)
                    )),
                    Some(old) => render::options_changes(old, options)
                        .map(|changes| format!("ALTER {mapping} {changes}")),
                };
                if let Some(sql) = sql {
                    self.push(Step::new(name.clone(), sql).needs([reference.clone()]));
                }
            }
            self.describe(
                &target,
                &format!("FOREIGN SERVER {}", quote_ident(name)),
                old.map(|o| (o.comment.as_deref(), &o.privileges)),
                (server.comment.as_deref(), &server.privileges),
                vec![reference],
            );
        }
    }

    /// Drops a server, its user mappings first (PostgreSQL refuses otherwise).
    fn drop_server(&mut self, name: &str, server: &crate::catalog::Server) {
        let reference = ObjectRef::Server {
            name: name.to_owned(),
        };
        for role in server.user_mappings.keys() {
            self.push(
                Step::new(
                    name.to_owned(),
                    format!(
                        "DROP USER MAPPING FOR {} SERVER {}",
                        render::mapping_role(role),
                        quote_ident(name)
                    ),
                )
                .needs_old([reference.clone()]),
            );
        }
        self.push(
            Step::new(
                name.to_owned(),
                format!("DROP SERVER {}", quote_ident(name)),
            )
            .removes([reference])
            .needs_old([ObjectRef::Wrapper {
                name: server.wrapper.clone(),
            }])
            // Its wrapper may be an extension's.
            .needs_old(
                self.from
                    .extensions
                    .keys()
                    .map(|name| ObjectRef::Extension { name: name.clone() }),
            ),
        );
    }

    pub(super) fn collations(&mut self) {
        for (name, collation) in &self.to.collations {
            let old = self.from.collations.get(name);
            let target = format!("COLLATION {}", qualified(name));
            let create = |sql: String| {
                Step::new(name.to_string(), sql)
                    .needs([deps::schema(&name.schema)])
                    .creates([deps::collation(name)])
            };
            match old {
                None => self.push(create(render::create_collation(name, collation))),
                Some(old) if !old.same_definition(collation) => {
                    // There is no ALTER for a collation's definition: the old one is renamed
                    // away, the new one made, the columns using it converted (tables' steps),
                    // and the old one dropped once nothing uses it.
                    let away =
                        QualName::new(name.schema.clone(), format!("{}__strata_old", name.name));
                    self.push(
                        Step::new(
                            name.to_string(),
                            format!("ALTER {target} RENAME TO {}", quote_ident(&away.name)),
                        )
                        .needs([deps::schema(&name.schema)])
                        .removes([deps::collation(name)])
                        .creates([deps::collation(&away)]),
                    );
                    self.push(create(render::create_collation(name, collation)));
                    let users: Vec<ObjectRef> = self
                        .from
                        .tables
                        .iter()
                        .filter(|(_, t)| {
                            t.columns
                                .iter()
                                .any(|c| self.uses_recollated(c.collation.as_ref()))
                        })
                        .map(|(n, _)| deps::shape(n))
                        .collect();
                    self.push(
                        Step::new(
                            name.to_string(),
                            format!("DROP COLLATION {}", qualified(&away)),
                        )
                        .needs([deps::collation(&away), deps::collation(name)])
                        .needs(users)
                        .removes([deps::collation(&away)]),
                    );
                }
                Some(_) => {}
            }
            let fresh = old.is_none_or(|o| !o.same_definition(collation));
            self.comment(
                &target,
                old.and_then(|o| o.comment.as_deref()),
                collation.comment.as_deref(),
                vec![deps::collation(name)],
                fresh,
            );
        }
    }

    pub(super) fn types(&mut self) {
        for (name, ty) in &self.to.types {
            let old = self.from.types.get(name);
            let needs = deps::type_def(self.to, name, ty);
            match old {
                None => self.create_type(name, ty, needs),
                Some(old) if type_is_recreated(Some(old), Some(ty)) => {
                    self.retype(name, old, ty, needs)
                }
                Some(old) => self.alter_type(name, old, ty),
            }
            let keyword = if matches!(ty.kind, TypeKind::Domain { .. }) {
                "DOMAIN"
            } else {
                "TYPE"
            };
            let target = format!("{keyword} {}", qualified(name));
            // A re-created type starts from PostgreSQL's defaults.
            let kept = old.filter(|o| !type_is_recreated(Some(o), Some(ty)));
            self.describe(
                &target,
                &format!("TYPE {}", qualified(name)),
                kept.map(|o| (o.comment.as_deref(), &o.privileges)),
                (ty.comment.as_deref(), &ty.privileges),
                vec![deps::relation(name)],
            );
        }
    }

    fn create_type(&mut self, name: &QualName, ty: &TypeDef, needs: Vec<ObjectRef>) {
        self.push(
            Step::new(name.to_string(), render::create_type(name, ty))
                .needs(needs)
                .creates([deps::relation(name)]),
        );
        if let TypeKind::Domain { checks, .. } = &ty.kind {
            for (check_name, check) in checks.iter().filter(|(_, c)| !c.validated) {
                self.push(
                    Step::new(
                        name.to_string(),
                        format!(
                            "ALTER DOMAIN {} ADD CONSTRAINT {} {}",
                            qualified(name),
                            quote_ident(check_name),
                            check.definition
                        ),
                    )
                    .needs([deps::relation(name)]),
                );
            }
        }
        if let TypeKind::Composite { attributes } = &ty.kind {
            for attr in attributes {
                let target = format!("COLUMN {}.{}", qualified(name), quote_ident(&attr.name));
                self.comment(
                    &target,
                    None,
                    attr.comment.as_deref(),
                    vec![deps::relation(name)],
                    true,
                );
            }
        }
    }

    /// A type that cannot be altered: the old one is renamed away, the new one created, every
    /// column that uses it converted through its text form, and the old one dropped.
    fn retype(&mut self, name: &QualName, old: &TypeDef, new: &TypeDef, needs: Vec<ObjectRef>) {
        let old_name = QualName::new(name.schema.clone(), format!("{}__strata_old", name.name));
        self.push(
            Step::new(
                name.to_string(),
                format!(
                    "ALTER TYPE {} RENAME TO {}",
                    qualified(name),
                    quote_ident(&old_name.name)
                ),
            )
            .removes([deps::relation(name)])
            .creates([deps::relation(&old_name)]),
        );
        self.create_type(name, new, needs);
        let mut converted = Vec::new();
        for (table_name, table) in &self.to.tables {
            let Some(old_table) = self.from.tables.get(table_name) else {
                continue;
            };
            for column in &table.columns {
                let Some(old_column) = old_table.columns.iter().find(|c| c.name == column.name)
                else {
                    continue;
                };
                // Columns that keep the type are converted here; a column that changes to
                // another type is altered with the rest of its table.
                let uses = |catalog, ty: &str| {
                    crate::refs::type_refs(catalog, ty).contains(&deps::relation(name))
                };
                if !uses(self.from, &old_column.data_type) || !uses(self.to, &column.data_type) {
                    continue;
                }
                self.retyped_columns
                    .insert((table_name.clone(), column.name.clone()));
                let target = qualified(table_name);
                let col = quote_ident(&column.name);
                // One ordering token per stage: default dropped, type converted, default set again.
                let stage = |n: &str| ObjectRef::Constraint {
                    table: table_name.clone(),
                    name: format!("{}::retype::{n}", column.name),
                };
                let (defaultless, converted_type, done) =
                    (stage("defaultless"), stage("converted"), stage("done"));
                // Rows holding a value the new type lacks make the conversion fail: nothing is
                // silently lost.
                let hazards = vec![
                    Hazard::RewritesTable,
                    Hazard::AccessExclusiveLock,
                    Hazard::MayFailOnExistingData,
                ];
                let mut convert_needs = vec![deps::relation(name), deps::relation(&old_name)];
                if old_column.default.is_some() {
                    self.push(
                        Step::new(
                            format!("{table_name}.{}", column.name),
                            format!("ALTER TABLE {target} ALTER COLUMN {col} DROP DEFAULT"),
                        )
                        .needs([deps::relation(&old_name)])
                        .creates([defaultless.clone()]),
                    );
                    convert_needs.push(defaultless);
                }
                let array = if column.data_type.ends_with("[]") {
                    "[]"
                } else {
                    ""
                };
                self.push(
                    Step::new(
                        format!("{table_name}.{}", column.name),
                        format!(
                            "ALTER TABLE {target} ALTER COLUMN {col} TYPE {} USING {col}::text{array}::{}",
                            column.data_type, column.data_type
                        ),
                    )
                    .needs(convert_needs)
                    .removes([deps::shape(table_name)])
                    .creates([deps::shape(table_name), converted_type.clone()])
                    .hazards(hazards),
                );
                let token = match &column.default {
                    Some(default) => {
                        self.push(
                            Step::new(
                                format!("{table_name}.{}", column.name),
                                format!(
                                    "ALTER TABLE {target} ALTER COLUMN {col} SET DEFAULT {default}"
                                ),
                            )
                            .needs([deps::relation(name), converted_type])
                            .creates([done.clone()]),
                        );
                        done
                    }
                    None => converted_type,
                };
                converted.push(token);
            }
        }
        let keyword = if matches!(old.kind, TypeKind::Domain { .. }) {
            "DOMAIN"
        } else {
            "TYPE"
        };
        // Every table that used the old type must be done changing (columns converted, dropped
        // or retyped) before it can go.
        let users: Vec<ObjectRef> = self
            .from
            .tables
            .iter()
            .filter(|(_, t)| {
                t.columns.iter().any(|c| {
                    crate::refs::type_refs(self.from, &c.data_type).contains(&deps::relation(name))
                })
            })
            .map(|(table_name, _)| deps::shape(table_name))
            .collect();
        self.push(
            Step::new(
                name.to_string(),
                format!("DROP {keyword} {}", qualified(&old_name)),
            )
            .needs(converted)
            .needs(users)
            .needs([deps::relation(&old_name)])
            .removes([deps::relation(&old_name)]),
        );
    }

    fn alter_type(&mut self, name: &QualName, old: &TypeDef, new: &TypeDef) {
        let target = qualified(name);
        match (&old.kind, &new.kind) {
            (TypeKind::Enum { labels: old_labels }, TypeKind::Enum { labels: new_labels }) => {
                let mut present: Vec<&String> = old_labels.iter().collect();
                for (i, label) in new_labels.iter().enumerate() {
                    if present.contains(&label) {
                        continue;
                    }
                    // Placed after the label before it, or before the first one.
                    let position = match i {
                        0 => format!(" BEFORE {}", quote_literal(&new_labels[1])),
                        _ => format!(" AFTER {}", quote_literal(&new_labels[i - 1])),
                    };
                    let used_later = self.value_used_by_others(name, label);
                    let mut step = Step::new(
                        name.to_string(),
                        format!(
                            "ALTER TYPE {target} ADD VALUE {}{position}",
                            quote_literal(label)
                        ),
                    )
                    .needs([deps::relation(name)])
                    .removes([deps::relation(name)])
                    .creates([deps::relation(name)]);
                    if used_later {
                        // A new enum value cannot be used in the transaction that adds it.
                        step = step.alone();
                    }
                    self.push(step);
                    present.insert(i.min(present.len()), label);
                }
            }
            (
                TypeKind::Domain {
                    not_null: old_nn,
                    default: old_default,
                    checks: old_checks,
                    ..
                },
                TypeKind::Domain {
                    not_null: new_nn,
                    default: new_default,
                    checks: new_checks,
                    ..
                },
            ) => {
                let domain = |sql: String, hazards: Vec<Hazard>| {
                    Step::new(name.to_string(), sql)
                        .needs([deps::relation(name)])
                        .removes([deps::relation(name)])
                        .creates([deps::relation(name)])
                        .hazards(hazards)
                };
                for (check_name, check) in old_checks {
                    if new_checks.get(check_name) != Some(check)
                        && !(new_checks.get(check_name).is_some_and(|c| {
                            c.definition.replace(" NOT VALID", "")
                                == check.definition.replace(" NOT VALID", "")
                                && c.validated
                        }))
                    {
                        self.push(domain(
                            format!(
                                "ALTER DOMAIN {target} DROP CONSTRAINT {}",
                                quote_ident(check_name)
                            ),
                            vec![],
                        ));
                    }
                }
                if old_default != new_default {
                    let sql = match new_default {
                        Some(default) => format!("ALTER DOMAIN {target} SET DEFAULT {default}"),
                        None => format!("ALTER DOMAIN {target} DROP DEFAULT"),
                    };
                    self.push(domain(sql, vec![]));
                }
                if old_nn != new_nn {
                    let (sql, hazards) = if *new_nn {
                        (
                            format!("ALTER DOMAIN {target} SET NOT NULL"),
                            vec![Hazard::MayFailOnExistingData],
                        )
                    } else {
                        (format!("ALTER DOMAIN {target} DROP NOT NULL"), vec![])
                    };
                    self.push(domain(sql, hazards));
                }
                for (check_name, check) in new_checks {
                    match old_checks.get(check_name) {
                        Some(old) if old == check => {}
                        Some(old)
                            if old.definition.replace(" NOT VALID", "")
                                == check.definition.replace(" NOT VALID", "")
                                && check.validated =>
                        {
                            self.push(domain(
                                format!(
                                    "ALTER DOMAIN {target} VALIDATE CONSTRAINT {}",
                                    quote_ident(check_name)
                                ),
                                vec![Hazard::MayFailOnExistingData],
                            ));
                        }
                        _ => self.push(domain(
                            format!(
                                "ALTER DOMAIN {target} ADD CONSTRAINT {} {}",
                                quote_ident(check_name),
                                check.definition
                            ),
                            vec![Hazard::MayFailOnExistingData],
                        )),
                    }
                }
            }
            (
                TypeKind::Composite {
                    attributes: old_attrs,
                },
                TypeKind::Composite {
                    attributes: new_attrs,
                },
            ) => {
                let alter = |sql: String, hazards: Vec<Hazard>| {
                    Step::new(name.to_string(), sql)
                        .needs([deps::relation(name)])
                        .removes([deps::relation(name)])
                        .creates([deps::relation(name)])
                        .hazards(hazards)
                };
                for attr in old_attrs
                    .iter()
                    .filter(|a| !new_attrs.iter().any(|n| n.name == a.name))
                {
                    self.push(alter(
                        format!(
                            "ALTER TYPE {target} DROP ATTRIBUTE {} CASCADE",
                            quote_ident(&attr.name)
                        ),
                        vec![Hazard::DeletesData],
                    ));
                }
                for attr in new_attrs {
                    match old_attrs.iter().find(|o| o.name == attr.name) {
                        None => {
                            let collation = attr
                                .collation
                                .as_ref()
                                .map(|c| format!(" COLLATE {c}"))
                                .unwrap_or_default();
                            let mut step = alter(
                                format!(
                                    "ALTER TYPE {target} ADD ATTRIBUTE {} {}{collation} CASCADE",
                                    quote_ident(&attr.name),
                                    attr.data_type
                                ),
                                vec![],
                            );
                            step.needs
                                .extend(crate::refs::type_refs(self.to, &attr.data_type));
                            self.push(step);
                        }
                        Some(o)
                            if o.data_type != attr.data_type || o.collation != attr.collation =>
                        {
                            let collation = attr
                                .collation
                                .as_ref()
                                .map(|c| format!(" COLLATE {c}"))
                                .unwrap_or_default();
                            let mut step = alter(
                                format!(
                                    "ALTER TYPE {target} ALTER ATTRIBUTE {} TYPE {}{collation} CASCADE",
                                    quote_ident(&attr.name),
                                    attr.data_type
                                ),
                                vec![Hazard::MayFailOnExistingData],
                            );
                            step.needs
                                .extend(crate::refs::type_refs(self.to, &attr.data_type));
                            self.push(step);
                        }
                        Some(_) => {}
                    }
                }
                for attr in new_attrs {
                    let old_comment = old_attrs
                        .iter()
                        .find(|o| o.name == attr.name)
                        .and_then(|o| o.comment.as_deref());
                    let target = format!("COLUMN {}.{}", qualified(name), quote_ident(&attr.name));
                    self.comment(
                        &target,
                        old_comment,
                        attr.comment.as_deref(),
                        vec![deps::relation(name)],
                        false,
                    );
                }
            }
            _ => {}
        }
    }

    /// Whether a label added to an enum appears in another step of the plan (a default, a
    /// check), which then needs the value committed first.
    fn value_used_by_others(&self, name: &QualName, label: &str) -> bool {
        let literal = format!("{}::{}", quote_literal(label), name);
        let mentions = |text: &str| text.contains(&literal);
        self.to.tables.values().any(|t| {
            t.columns
                .iter()
                .any(|c| c.default.as_deref().is_some_and(mentions))
                || t.constraints.values().any(|c| mentions(&c.definition))
                || t.indexes.values().any(|i| mentions(&i.definition))
        }) || self.to.views.values().any(|v| mentions(&v.definition))
            || self.to.functions.values().any(|f| mentions(&f.definition))
    }

    pub(super) fn sequences(&mut self) {
        for (name, sequence) in &self.to.sequences {
            let old = self.from.sequences.get(name);
            let target = qualified(name);
            match old {
                None => self.push(
                    Step::new(name.to_string(), render::create_sequence(name, sequence))
                        .needs([deps::schema(&name.schema)])
                        .creates([deps::relation(name)]),
                ),
                Some(old) if old.options != sequence.options => {
                    let o = &sequence.options;
                    let mut sql = format!("ALTER SEQUENCE {target}");
                    if old.options.data_type != o.data_type {
                        sql.push_str(&format!(" AS {}", o.data_type));
                    }
                    sql.push_str(&format!(
                        " INCREMENT BY {} MINVALUE {} MAXVALUE {} START WITH {} CACHE {} {}",
                        o.increment,
                        o.min,
                        o.max,
                        o.start,
                        o.cache,
                        if o.cycle { "CYCLE" } else { "NO CYCLE" }
                    ));
                    self.push(
                        Step::new(name.to_string(), sql)
                            .needs([deps::relation(name)])
                            .removes([deps::relation(name)])
                            .creates([deps::relation(name)]),
                    );
                }
                Some(_) => {}
            }
            if let Some(old) = old.filter(|o| o.unlogged != sequence.unlogged) {
                let mut needs = vec![deps::relation(name)];
                // `ALTER TABLE … SET [UN]LOGGED` changes the sequences the table owns: this
                // step comes after it.
                for owner in old.owned_by.iter().chain(&sequence.owned_by) {
                    needs.push(super::tables::persistence_ref(&owner.0));
                }
                self.push(
                    Step::new(
                        name.to_string(),
                        format!(
                            "ALTER SEQUENCE {target} SET {}",
                            if sequence.unlogged {
                                "UNLOGGED"
                            } else {
                                "LOGGED"
                            }
                        ),
                    )
                    .needs(needs),
                );
            }
            self.sequence_ownership(name, old, sequence);
            let target = format!("SEQUENCE {target}");
            self.describe(
                &target,
                &target,
                old.map(|s| (s.comment.as_deref(), &s.privileges)),
                (sequence.comment.as_deref(), &sequence.privileges),
                vec![deps::relation(name)],
            );
        }
    }

    fn sequence_ownership(&mut self, name: &QualName, old: Option<&Sequence>, new: &Sequence) {
        let old_owner = old.and_then(|s| s.owned_by.as_ref());
        if old_owner == new.owned_by.as_ref() {
            return;
        }
        let (sql, needs) = match &new.owned_by {
            Some((table, column)) => (
                format!(
                    "ALTER SEQUENCE {} OWNED BY {}.{}",
                    qualified(name),
                    qualified(table),
                    quote_ident(column)
                ),
                vec![
                    deps::relation(name),
                    deps::relation(table),
                    deps::shape(table),
                ],
            ),
            None => (
                format!("ALTER SEQUENCE {} OWNED BY NONE", qualified(name)),
                vec![deps::relation(name)],
            ),
        };
        let mut step = Step::new(name.to_string(), sql).needs(needs);
        if let Some((table, _)) = old_owner {
            // Before the old owner goes: dropping it would take the sequence along.
            step = step.needs_old([deps::relation(table)]);
        }
        self.push(step);
    }

    pub(super) fn functions(&mut self) {
        for (key, function) in &self.to.functions {
            let old = self.from.functions.get(key);
            let fresh = old.is_none() || self.recreated.functions.contains(key);
            let reference = ObjectRef::Function { key: key.clone() };
            if fresh {
                self.push(
                    Step::new(key.to_string(), render::create_function(key, function))
                        .needs(deps::function(self.to, key, function))
                        .creates([reference.clone(), signature(key, function)]),
                );
            } else if old.is_some_and(|o| o.definition != function.definition) {
                self.push(
                    Step::new(key.to_string(), render::create_function(key, function))
                        .needs(deps::function(self.to, key, function))
                        .removes([reference.clone()])
                        .creates([reference.clone()]),
                );
            }
            let target = match function.kind {
                FunctionKind::Procedure => {
                    format!("PROCEDURE {}", render::function_signature(key))
                }
                FunctionKind::Aggregate => {
                    format!("AGGREGATE {}", render::aggregate_signature(key))
                }
                _ => format!("FUNCTION {}", render::function_signature(key)),
            };
            let privilege_target = if function.kind == FunctionKind::Procedure {
                target.clone()
            } else {
                format!("FUNCTION {}", render::function_signature(key))
            };
            self.describe(
                &target,
                &privilege_target,
                old.filter(|_| !fresh)
                    .map(|o| (o.comment.as_deref(), &o.privileges)),
                (function.comment.as_deref(), &function.privileges),
                vec![reference],
            );
        }
    }

    pub(super) fn views(&mut self) {
        let circular = self.circular_views();
        for (name, view) in &self.to.views {
            let old = self.from.views.get(name);
            let fresh = old.is_none() || self.is_view_recreated(name);
            let reference = deps::relation(name);
            let mut needs = deps::view(self.to, name, view);
            if fresh && circular.contains(name) {
                // A view that reads itself through a function or another view cannot be made
                // in one statement: a stand-in with its columns first (what reads it can then
                // be made), its query once those exist — as pg_dump does.
                let mut stand_in_needs = vec![deps::schema(&name.schema)];
                for column in &view.columns {
                    stand_in_needs.extend(crate::refs::type_refs(self.to, &column.data_type));
                    stand_in_needs.extend(crate::refs::collation_refs(
                        self.to,
                        column.collation.as_ref(),
                    ));
                }
                self.push(
                    Step::new(name.to_string(), render::stand_in_view(name, view))
                        .needs(stand_in_needs)
                        .creates([reference.clone()]),
                );
                self.push(
                    Step::new(name.to_string(), render::create_view(name, view, true))
                        .needs(needs)
                        .creates([complete_ref(name)]),
                );
            } else if fresh {
                if view.kind == ViewKind::Materialized {
                    // Its rows are computed now: from the views' real queries, not stand-ins.
                    needs.extend(view.depends_on.iter().map(complete_ref));
                }
                let mut step = Step::new(name.to_string(), render::create_view(name, view, false))
                    .needs(needs)
                    .creates([reference.clone()]);
                if view.kind == ViewKind::Materialized {
                    step = step.hazards([Hazard::BuildsIndex]);
                }
                self.push(step);
            } else if let Some(old) = old
                && view_changed(old, view)
            {
                if old.definition == view.definition
                    && old.columns == view.columns
                    && view.kind == ViewKind::View
                {
                    // Only its options (security_invoker, check_option, …): set in place.
                    self.push(
                        Step::new(name.to_string(), view_options(name, old, view))
                            .needs([reference.clone()]),
                    );
                    let base = if fresh { None } else { Some(old) };
                    self.view_parts(name, base, view);
                    continue;
                }
                self.push(
                    Step::new(name.to_string(), render::create_view(name, view, true))
                        .needs(needs)
                        .removes([reference.clone()])
                        .creates([reference.clone()]),
                );
            }
            let base = if fresh { None } else { old };
            self.view_parts(name, base, view);
        }
    }

    /// Views made in this plan that read themselves, through a function made in this plan
    /// (whose SQL-standard body reads the view) or through other such views.
    fn circular_views(&self) -> BTreeSet<QualName> {
        let made = |n: &QualName| !self.from.views.contains_key(n) || self.is_view_recreated(n);
        let made_function = |k: &FunctionKey| {
            !self.from.functions.contains_key(k) || self.recreated.functions.contains(k)
        };
        circular(self.to, &made, &made_function)
            .into_iter()
            .map(|(view, _)| view)
            .collect()
    }

    /// Views dropped in this plan that read themselves through functions or views dropped
    /// too: neither can be dropped first. Each is first replaced by a stand-in that reads
    /// nothing; the drops then go in any order that respects the rest.
    pub(super) fn break_drop_cycles(&mut self) {
        let gone = |n: &QualName| !self.to.views.contains_key(n) || self.is_view_recreated(n);
        let gone_function = |k: &FunctionKey| {
            !self.to.functions.contains_key(k) || self.recreated.functions.contains(k)
        };
        let cycles = circular(self.from, &gone, &gone_function);
        for (view, members) in cycles {
            let stand_in = ObjectRef::Constraint {
                table: view.clone(),
                name: "::stand-in".into(),
            };
            for step in &mut self.steps {
                let drops_member = step.sql.starts_with("DROP ")
                    && step.removes.iter().any(|r| members.contains(r));
                if drops_member {
                    step.needs.push(stand_in.clone());
                    if step.removes.contains(&deps::relation(&view)) {
                        // The stand-in reads nothing: the view no longer holds on to the others.
                        step.needs_old.retain(|r| !members.contains(r));
                    }
                }
            }
            let old = &self.from.views[&view];
            let sql = render::stand_in_view(&view, old).replacen(
                "CREATE VIEW",
                "CREATE OR REPLACE VIEW",
                1,
            );
            self.push(
                Step::new(view.to_string(), sql)
                    .needs_old([deps::relation(&view)])
                    .creates([stand_in]),
            );
        }
    }

    /// Indexes, triggers, comments and privileges of a view (all of them when `old` is `None`).
    fn view_parts(&mut self, name: &QualName, old: Option<&View>, view: &View) {
        let reference = deps::relation(name);
        for (index_name, index) in &view.indexes {
            let old_index = old.and_then(|o| o.indexes.get(index_name));
            let index_ref = ObjectRef::Index {
                name: QualName::new(name.schema.clone(), index_name.clone()),
            };
            // On a materialized view that stays, readers go on while its indexes are built and
            // dropped concurrently.
            let concurrent = old.is_some();
            if old_index.is_some_and(|o| o.definition != index.definition) {
                let keyword = if concurrent { "CONCURRENTLY " } else { "" };
                let mut step = Step::new(
                    index_name.clone(),
                    format!(
                        "DROP INDEX {keyword}{}",
                        qualified(&QualName::new(name.schema.clone(), index_name.clone()))
                    ),
                )
                .removes([index_ref.clone()])
                .needs_old([reference.clone()]);
                if concurrent {
                    step = step.alone();
                }
                self.push(step);
            }
            if old_index.is_none_or(|o| o.definition != index.definition) {
                let mut step = Step::new(index_name.clone(), index.definition.clone())
                    .needs(deps::index(self.to, name, index))
                    .creates([index_ref.clone()])
                    .hazards([Hazard::BuildsIndex]);
                if concurrent {
                    step.sql = super::tables::concurrently(&index.definition);
                    step = step.alone();
                }
                self.push(step);
            }
            let target = format!(
                "INDEX {}",
                qualified(&QualName::new(name.schema.clone(), index_name.clone()))
            );
            self.comment(
                &target,
                old_index.and_then(|o| o.comment.as_deref()),
                index.comment.as_deref(),
                vec![index_ref],
                old_index.is_none(),
            );
            let rebuilt = old_index.is_none_or(|o| o.definition != index.definition);
            self.index_statistics(
                &QualName::new(name.schema.clone(), index_name.clone()),
                old_index,
                index,
                rebuilt,
            );
        }
        if let Some(old) = old {
            for index_name in old
                .indexes
                .keys()
                .filter(|i| !view.indexes.contains_key(*i))
            {
                let index_ref = ObjectRef::Index {
                    name: QualName::new(name.schema.clone(), index_name.clone()),
                };
                self.push(
                    Step::new(
                        index_name.clone(),
                        format!(
                            "DROP INDEX {}",
                            qualified(&QualName::new(name.schema.clone(), index_name.clone()))
                        ),
                    )
                    .removes([index_ref])
                    .needs_old([reference.clone()]),
                );
            }
        }
        if view.kind == ViewKind::Materialized {
            // An index built again (its definition changed) no longer clusters the view.
            let was = old
                .and_then(|o| {
                    super::tables::clustered_index(&o.indexes).filter(|i| {
                        view.indexes
                            .get(*i)
                            .is_some_and(|n| n.definition == o.indexes[*i].definition)
                    })
                })
                .cloned();
            self.cluster(
                "MATERIALIZED VIEW",
                name,
                was.as_ref(),
                super::tables::clustered_index(&view.indexes),
            );
        }
        let empty = std::collections::BTreeMap::new();
        super::tables::diff_triggers(
            self,
            name,
            old.map_or(&empty, |o| &o.triggers),
            &view.triggers,
            old.is_none(),
        );
        let no_rules = std::collections::BTreeMap::new();
        super::tables::diff_rules(
            self,
            name,
            old.map_or(&no_rules, |o| &o.rules),
            &view.rules,
            old.is_none(),
        );
        let keyword = Differ::view_kind_word(&view.kind);
        let target = format!("{keyword} {}", qualified(name));
        self.comment(
            &target,
            old.and_then(|o| o.comment.as_deref()),
            view.comment.as_deref(),
            vec![reference.clone()],
            old.is_none(),
        );
        let default = Privileges::default();
        for column in &view.columns {
            let old_column = old.and_then(|o| o.columns.iter().find(|c| c.name == column.name));
            let target = format!("COLUMN {}.{}", qualified(name), quote_ident(&column.name));
            self.comment(
                &target,
                old_column.and_then(|c| c.comment.as_deref()),
                column.comment.as_deref(),
                vec![reference.clone()],
                old.is_none(),
            );
            // A view's column default applies to INSERTs through the view.
            let old_default = old_column.and_then(|c| c.default.as_ref());
            if old_default != column.default.as_ref() {
                let alter = format!(
                    "ALTER VIEW {} ALTER COLUMN {}",
                    qualified(name),
                    quote_ident(&column.name)
                );
                let (sql, mut needs) = match &column.default {
                    Some(text) => (
                        format!("{alter} SET DEFAULT {text}"),
                        deps::expression(self.to, text),
                    ),
                    None => (format!("{alter} DROP DEFAULT"), Vec::new()),
                };
                needs.push(reference.clone());
                self.push(Step::new(format!("{name}.{}", column.name), sql).needs(needs));
            }
            self.privileges(
                &format!("TABLE {}", qualified(name)),
                Some(&column.name),
                old_column.map_or(&default, |c| &c.privileges),
                &column.privileges,
                vec![reference.clone()],
            );
            if view.kind == ViewKind::Materialized {
                self.column_settings("MATERIALIZED VIEW", name, old_column, column);
            }
        }
        self.privileges(
            &format!("TABLE {}", qualified(name)),
            None,
            old.map_or(&default, |o| &o.privileges),
            &view.privileges,
            vec![reference],
        );
    }

    pub(super) fn statistics(&mut self) {
        for (name, stats) in &self.to.statistics {
            let old = self.from.statistics.get(name);
            // A table dropped and made again (its partitioning changed) loses its statistics.
            let owner_recreated = self.is_view_recreated(&stats.table)
                || self
                    .from
                    .tables
                    .get(&stats.table)
                    .zip(self.to.tables.get(&stats.table))
                    .is_some_and(|(a, b)| self.table_replaced(a, b));
            let kept = old.filter(|o| {
                o.table == stats.table && o.definition == stats.definition && !owner_recreated
            });
            let reference = ObjectRef::Statistics { name: name.clone() };
            if let (Some(old), None) = (old, kept) {
                self.push(drop_statistics(self.from, name, old));
            }
            if kept.is_none() {
                self.push(
                    Step::new(name.to_string(), stats.definition.clone())
                        .needs(deps::statistics(self.to, name, stats))
                        .creates([reference.clone()]),
                );
            }
            let target = format!("STATISTICS {}", qualified(name));
            if kept.and_then(|o| o.target) != stats.target {
                self.push(
                    Step::new(
                        name.to_string(),
                        format!(
                            "ALTER {target} SET STATISTICS {}",
                            stats.target.unwrap_or(-1)
                        ),
                    )
                    .needs([reference.clone()]),
                );
            }
            self.comment(
                &target,
                kept.and_then(|o| o.comment.as_deref()),
                stats.comment.as_deref(),
                vec![reference],
                kept.is_none(),
            );
        }
        let removed: Vec<QualName> = removed(&self.from.statistics, &self.to.statistics);
        for name in removed {
            let old = &self.from.statistics[&name];
            self.push(drop_statistics(self.from, &name, old));
        }
    }

    pub(super) fn operators(&mut self) {
        // An operator whose function is made anew goes and comes back; any other change too
        // (ALTER OPERATOR sets only some options, and not before PostgreSQL 17).
        let gone = self.gone_objects();
        let reference = operator_ref;
        let drop = drop_operator;
        for (signature, operator) in &self.to.operators {
            let old = self.from.operators.get(signature).filter(|old| {
                old.same_definition(operator)
                    && !deps::operator(self.from, old)
                        .iter()
                        .any(|r| gone.contains(r))
            });
            if old.is_none() {
                if let Some(previous) = self.from.operators.get(signature) {
                    self.push(drop(self.from, previous));
                }
                self.push(
                    Step::new(
                        format!("operator {signature}"),
                        render::create_operator(operator),
                    )
                    .needs(deps::operator(self.to, operator))
                    .creates([reference(operator)]),
                );
            }
            self.comment(
                &format!("OPERATOR {signature}"),
                old.and_then(|o| o.comment.as_deref()),
                operator.comment.as_deref(),
                vec![reference(operator)],
                old.is_none(),
            );
        }
        // Removed operators go after what uses them (drop_removed).
    }

    pub(super) fn casts(&mut self) {
        // A cast through a function or of a type that is made anew goes and comes back.
        let gone = self.gone_objects();
        let drop = |catalog: &Catalog, cast: &crate::catalog::Cast| {
            Step::new(
                format!("cast ({})", cast.name()),
                format!("DROP CAST ({})", cast.name()),
            )
            .removes([ObjectRef::Cast { name: cast.name() }])
            .needs_old(deps::cast(catalog, cast))
        };
        for (name, cast) in &self.to.casts {
            let reference = ObjectRef::Cast { name: name.clone() };
            let old = self.from.casts.get(name).filter(|old| {
                old.same_definition(cast)
                    && !deps::cast(self.from, old).iter().any(|r| gone.contains(r))
            });
            if old.is_none() {
                if let Some(previous) = self.from.casts.get(name) {
                    self.push(drop(self.from, previous));
                }
                self.push(
                    Step::new(format!("cast ({name})"), render::create_cast(cast))
                        .needs(deps::cast(self.to, cast))
                        .creates([reference.clone()]),
                );
            }
            self.comment(
                &format!("CAST ({name})"),
                old.and_then(|o| o.comment.as_deref()),
                cast.comment.as_deref(),
                vec![reference],
                old.is_none(),
            );
        }
        for name in removed(&self.from.casts, &self.to.casts) {
            self.push(drop(self.from, &self.from.casts[&name]));
        }
    }

    pub(super) fn default_privileges(&mut self) {
        let key = |d: &crate::catalog::DefaultPrivilege| {
            (d.role.clone(), d.schema.clone(), d.object_type.clone())
        };
        let empty = Privileges::default();
        let mut keys: Vec<_> = self
            .from
            .default_privileges
            .iter()
            .chain(&self.to.default_privileges)
            .map(key)
            .collect();
        keys.sort();
        keys.dedup();
        for (role, schema, object_type) in keys {
            let find = |c: &Catalog| {
                c.default_privileges
                    .iter()
                    .find(|d| d.role == role && d.schema == schema && d.object_type == object_type)
                    .map(|d| d.privileges.clone())
            };
            let old = find(self.from).unwrap_or_else(|| empty.clone());
            let new = find(self.to).unwrap_or_else(|| empty.clone());
            let prefix = match &schema {
                Some(s) => format!(
                    "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} ",
                    render::role(&role),
                    quote_ident(s)
                ),
                None => format!("ALTER DEFAULT PRIVILEGES FOR ROLE {} ", render::role(&role)),
            };
            let needs: Vec<ObjectRef> = schema.iter().map(|s| deps::schema(s)).collect();
            for statement in render::privilege_changes(&object_type, None, &old, &new) {
                self.push(
                    Step::new(
                        format!("default privileges of {role}"),
                        format!("{prefix}{statement}"),
                    )
                    .needs(needs.clone()),
                );
            }
        }
    }

    /// The comment and privileges of an object, from `old` (`None` for a new or re-created
    /// object, which starts from PostgreSQL's defaults) to `new`.
    pub(super) fn describe(
        &mut self,
        target: &str,
        privilege_target: &str,
        old: Option<(Option<&str>, &Privileges)>,
        new: (Option<&str>, &Privileges),
        needs: Vec<ObjectRef>,
    ) {
        let default = Privileges::default();
        let (old_comment, old_privileges) = old.unwrap_or((None, &default));
        self.comment(target, old_comment, new.0, needs.clone(), old.is_none());
        self.privileges(privilege_target, None, old_privileges, new.1, needs);
    }

    /// A `COMMENT ON` step when the comment changes (or is set on a new object).
    pub(super) fn comment(
        &mut self,
        target: &str,
        old: Option<&str>,
        new: Option<&str>,
        needs: Vec<ObjectRef>,
        fresh: bool,
    ) {
        let old = if fresh { None } else { old };
        if old != new {
            self.push(Step::new(target.to_owned(), render::comment(target, new)).needs(needs));
        }
    }

    /// `ALTER INDEX … ALTER COLUMN n SET STATISTICS` steps when an index's statistics targets
    /// change (or are set on an index built in this plan).
    pub(super) fn index_statistics(
        &mut self,
        index: &QualName,
        old: Option<&Index>,
        new: &Index,
        fresh: bool,
    ) {
        let none = std::collections::BTreeMap::new();
        let old = match old {
            Some(o) if !fresh => &o.statistics,
            _ => &none,
        };
        let columns: std::collections::BTreeSet<u16> =
            old.keys().chain(new.statistics.keys()).copied().collect();
        for column in columns {
            let target = new.statistics.get(&column);
            if old.get(&column) != target {
                self.push(
                    Step::new(
                        index.name.clone(),
                        format!(
                            "ALTER INDEX {} ALTER COLUMN {column} SET STATISTICS {}",
                            qualified(index),
                            target.copied().unwrap_or(-1)
                        ),
                    )
                    .needs([ObjectRef::Index {
                        name: index.clone(),
                    }]),
                );
            }
        }
    }

    /// GRANT and REVOKE steps from `old` to `new` privileges.
    pub(super) fn privileges(
        &mut self,
        target: &str,
        column: Option<&str>,
        old: &Privileges,
        new: &Privileges,
        needs: Vec<ObjectRef>,
    ) {
        for statement in render::privilege_changes(target, column, old, new) {
            self.push(Step::new(target.to_owned(), statement).needs(needs.clone()));
        }
    }
}

pub(super) fn drop_removed_views(d: &mut Differ) {
    let views: Vec<QualName> = removed(&d.from.views, &d.to.views);
    for name in views {
        let view = &d.from.views[&name];
        let mut step = drop_view(d.from, &name, view);
        if view.kind == ViewKind::Materialized {
            step = step.hazards([Hazard::DeletesData]);
        }
        d.push(step);
    }
}

/// Drops functions, sequences, types, extensions and schemas that are gone.
fn operator_ref(operator: &crate::catalog::Operator) -> ObjectRef {
    ObjectRef::Operator {
        schema: operator.schema.clone(),
        signature: operator.signature(),
    }
}

fn drop_operator(catalog: &Catalog, operator: &crate::catalog::Operator) -> Step {
    Step::new(
        format!("operator {}", operator.signature()),
        format!("DROP OPERATOR {}", operator.signature()),
    )
    .removes([operator_ref(operator)])
    .needs_old(deps::operator(catalog, operator))
}

pub(super) fn drop_removed(d: &mut Differ) {
    for signature in removed(&d.from.operators, &d.to.operators) {
        d.push(drop_operator(d.from, &d.from.operators[&signature]));
    }
    let functions: Vec<FunctionKey> = removed(&d.from.functions, &d.to.functions);
    for key in functions {
        let function = &d.from.functions[&key];
        d.push(drop_function(d.from, &key, function));
    }
    let sequences: Vec<QualName> = removed(&d.from.sequences, &d.to.sequences);
    for name in sequences {
        let sequence = &d.from.sequences[&name];
        // A sequence owned by a column that goes is dropped with it.
        if let Some((table, column)) = &sequence.owned_by {
            let column_goes =
                d.to.tables
                    .get(table)
                    .is_none_or(|t| !t.columns.iter().any(|c| &c.name == column));
            if column_goes {
                continue;
            }
        }
        d.push(
            Step::new(
                name.to_string(),
                format!("DROP SEQUENCE {}", qualified(&name)),
            )
            .removes([deps::relation(&name)])
            .needs_old([deps::schema(&name.schema)])
            .hazards([Hazard::DeletesData]),
        );
    }
    let types: Vec<QualName> = removed(&d.from.types, &d.to.types);
    for name in types {
        let ty = &d.from.types[&name];
        let keyword = if matches!(ty.kind, TypeKind::Domain { .. }) {
            "DOMAIN"
        } else {
            "TYPE"
        };
        d.push(
            Step::new(
                name.to_string(),
                format!("DROP {keyword} {}", qualified(&name)),
            )
            .removes([deps::relation(&name)])
            .needs_old(deps::type_def(d.from, &name, ty)),
        );
    }
    let servers: Vec<String> = removed(&d.from.servers, &d.to.servers);
    for name in servers {
        d.drop_server(&name, &d.from.servers[&name]);
    }
    let wrappers: Vec<String> = removed(&d.from.wrappers, &d.to.wrappers);
    for name in wrappers {
        d.push(
            Step::new(
                name.clone(),
                format!("DROP FOREIGN DATA WRAPPER {}", quote_ident(&name)),
            )
            .removes([ObjectRef::Wrapper { name: name.clone() }]),
        );
    }
    let collations: Vec<QualName> = removed(&d.from.collations, &d.to.collations);
    for name in collations {
        d.push(
            Step::new(
                name.to_string(),
                format!("DROP COLLATION {}", qualified(&name)),
            )
            .removes([deps::collation(&name)])
            .needs_old([deps::schema(&name.schema)]),
        );
    }
    let extensions: Vec<String> = removed(&d.from.extensions, &d.to.extensions);
    for name in extensions {
        d.push(
            Step::new(
                format!("extension {name}"),
                format!("DROP EXTENSION {}", quote_ident(&name)),
            )
            .removes([ObjectRef::Extension { name: name.clone() }])
            .needs_old([deps::schema(&d.from.extensions[&name].schema)])
            .hazards([Hazard::DeletesData]),
        );
    }
    let schemas: Vec<String> = removed(&d.from.schemas, &d.to.schemas);
    for name in schemas {
        d.push(
            Step::new(
                format!("schema {name}"),
                format!("DROP SCHEMA {}", quote_ident(&name)),
            )
            .removes([deps::schema(&name)]),
        );
    }
}
