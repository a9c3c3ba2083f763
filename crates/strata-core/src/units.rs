//! Units of declared files: statements grouped by the object they define or alter, so that an
//! edit is normalised again for the objects it touches only.
//!
//! `CREATE TABLE t`, `CREATE INDEX … ON t`, `ALTER TABLE t`, `COMMENT ON COLUMN t.c`,
//! `GRANT … ON t`, `CREATE TRIGGER … ON t` and `CREATE POLICY … ON t` all belong to the unit of
//! table `t`; a view, a sequence, a type or domain, and the overloads of a function name are
//! units of their own. When the statements of some units change, strata drops those units'
//! objects (with `CASCADE`) in a copy of the previous normalised state, applies the units'
//! statements again, and restores from the previous catalog whatever the cascade took from the
//! units that did not change ([`replace_units`]); the result is checked against the database
//! before it is trusted.
//!
//! Statements strata does not place on an object (`CREATE EXTENSION`, a schema's own
//! statements, a grant on several objects, …) are units of their own, by text: when one of those
//! comes or goes, or one names an object that runs again, the files are normalised from scratch.
//! So are files with statements whose effects strata cannot follow (`SET`, `DO`, `SELECT`,
//! `CALL`): [`unit_of`] returns `None` for them.

use std::collections::{BTreeMap, BTreeSet};

use crate::catalog::{Catalog, FunctionKind, QualName, TypeKind, ViewKind};
use crate::render::{function_signature, qualified};
use crate::words::{Token, tokens_up_to as tokens};

/// The object a statement belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Unit {
    /// A table, view, materialized view, sequence, type or domain.
    Relation(QualName),
    /// Every overload of a function, procedure or aggregate name.
    Function(QualName),
    /// A statement strata does not place on an object, by its text.
    Other(String),
}

impl std::fmt::Display for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unit::Relation(name) => write!(f, "{name}"),
            Unit::Function(name) => write!(f, "function {name}"),
            Unit::Other(text) => write!(f, "`{}`", text.lines().next().unwrap_or("")),
        }
    }
}

/// A cursor over a statement's tokens.
struct Head {
    tokens: Vec<Token>,
    at: usize,
}

impl Head {
    fn word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(_, w)) if w == word)
    }

    /// Consumes `words` if they come next.
    fn eat(&mut self, words: &[&str]) -> bool {
        let matches = words.iter().enumerate().all(
            |(k, w)| matches!(self.tokens.get(self.at + k), Some(Token::Word(_, x)) if x == w),
        );
        if matches {
            self.at += words.len();
        }
        matches
    }

    /// One identifier (bare or quoted).
    fn ident(&mut self) -> Option<String> {
        let name = match self.tokens.get(self.at)? {
            Token::Word(_, w) | Token::Quoted(w) => w.clone(),
            _ => return None,
        };
        self.at += 1;
        Some(name)
    }

    /// A possibly qualified name (`name`, `schema.name`); more parts give `None`.
    fn name(&mut self) -> Option<(Option<String>, String)> {
        let first = self.ident()?;
        if matches!(self.tokens.get(self.at), Some(Token::Punct('.'))) {
            self.at += 1;
            let second = self.ident()?;
            if matches!(self.tokens.get(self.at), Some(Token::Punct('.'))) {
                return None;
            }
            return Some((Some(first), second));
        }
        Some((None, first))
    }

    /// A dotted path of up to three parts (`COMMENT ON COLUMN s.t.c`).
    fn path(&mut self) -> Option<Vec<String>> {
        let mut parts = vec![self.ident()?];
        while matches!(self.tokens.get(self.at), Some(Token::Punct('.'))) {
            self.at += 1;
            parts.push(self.ident()?);
        }
        Some(parts)
    }

    /// Skips to the next bare word `word` (at any depth) and consumes it.
    fn skip_to(&mut self, word: &str) -> bool {
        while self.at < self.tokens.len() {
            if self.word(word) {
                self.at += 1;
                return true;
            }
            self.at += 1;
        }
        false
    }

    fn next_is(&self, token: &Token) -> bool {
        self.tokens.get(self.at) == Some(token)
    }
}

/// Where a statement's unit is named, before names are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Relation(Option<String>, String),
    Function(Option<String>, String),
    /// An index, whose unit is its table.
    Index(Option<String>, String),
}

fn target(text: &str) -> Option<Target> {
    let mut h = Head {
        tokens: tokens(text, 64),
        at: 0,
    };
    let relation = |n: (Option<String>, String)| Target::Relation(n.0, n.1);
    if h.eat(&["create"]) {
        h.eat(&["or", "replace"]);
        for modifier in [
            "global",
            "local",
            "temporary",
            "temp",
            "unlogged",
            "recursive",
        ] {
            h.eat(&[modifier]);
        }
        if h.eat(&["table"])
            || h.eat(&["view"])
            || h.eat(&["materialized", "view"])
            || h.eat(&["foreign", "table"])
        {
            h.eat(&["if", "not", "exists"]);
            return h.name().map(relation);
        }
        if h.eat(&["sequence"]) {
            h.eat(&["if", "not", "exists"]);
            return h.name().map(relation);
        }
        if h.eat(&["type"]) || h.eat(&["domain"]) {
            return h.name().map(relation);
        }
        if h.eat(&["function"]) || h.eat(&["procedure"]) || h.eat(&["aggregate"]) {
            return h.name().map(|n| Target::Function(n.0, n.1));
        }
        h.eat(&["unique"]);
        if h.eat(&["index"]) {
            h.eat(&["concurrently"]);
            h.eat(&["if", "not", "exists"]);
            if !h.word("on") {
                h.ident()?;
            }
            if !h.eat(&["on"]) {
                return None;
            }
            h.eat(&["only"]);
            return h.name().map(relation);
        }
        h.eat(&["constraint"]);
        if h.eat(&["trigger"]) {
            h.ident()?;
            if !h.skip_to("on") {
                return None;
            }
            return h.name().map(relation);
        }
        if h.eat(&["policy"]) {
            h.ident()?;
            if !h.eat(&["on"]) {
                return None;
            }
            return h.name().map(relation);
        }
        if h.eat(&["rule"]) {
            h.ident()?;
            if !h.skip_to("to") {
                return None;
            }
            return h.name().map(relation);
        }
        return None;
    }
    if h.eat(&["alter"]) {
        if h.eat(&["table"])
            || h.eat(&["view"])
            || h.eat(&["materialized", "view"])
            || h.eat(&["sequence"])
            || h.eat(&["type"])
            || h.eat(&["domain"])
            || h.eat(&["foreign", "table"])
        {
            if h.word("all") {
                return None;
            }
            h.eat(&["if", "exists"]);
            h.eat(&["only"]);
            return h.name().map(relation);
        }
        if h.eat(&["index"]) {
            if h.word("all") {
                return None;
            }
            h.eat(&["if", "exists"]);
            return h.name().map(|n| Target::Index(n.0, n.1));
        }
        if h.eat(&["function"]) || h.eat(&["procedure"]) || h.eat(&["aggregate"]) {
            return h.name().map(|n| Target::Function(n.0, n.1));
        }
        return None;
    }
    if h.eat(&["comment", "on"]) {
        if h.eat(&["table"])
            || h.eat(&["view"])
            || h.eat(&["materialized", "view"])
            || h.eat(&["sequence"])
            || h.eat(&["type"])
            || h.eat(&["domain"])
        {
            return h.name().map(relation);
        }
        if h.eat(&["column"]) {
            let mut path = h.path()?;
            path.pop()?;
            return match path.as_slice() {
                [table] => Some(Target::Relation(None, table.clone())),
                [schema, table] => Some(Target::Relation(Some(schema.clone()), table.clone())),
                _ => None,
            };
        }
        if h.eat(&["index"]) {
            return h.name().map(|n| Target::Index(n.0, n.1));
        }
        if h.eat(&["function"]) || h.eat(&["procedure"]) || h.eat(&["aggregate"]) {
            return h.name().map(|n| Target::Function(n.0, n.1));
        }
        if h.eat(&["constraint"]) || h.eat(&["trigger"]) || h.eat(&["policy"]) || h.eat(&["rule"]) {
            h.ident()?;
            if !h.eat(&["on"]) {
                return None;
            }
            h.eat(&["domain"]);
            return h.name().map(relation);
        }
        return None;
    }
    if h.eat(&["grant"]) || h.eat(&["revoke"]) {
        // GRANT privileges [(columns)] ON [kind] object TO …: one object, or none of ours.
        if !h.skip_to("on") {
            return None;
        }
        if h.word("all") {
            return None;
        }
        let function = h.eat(&["function"]) || h.eat(&["procedure"]) || h.eat(&["routine"]);
        if !function {
            for kind in ["table", "sequence", "type", "domain"] {
                if h.eat(&[kind]) {
                    break;
                }
            }
            if h.word("schema")
                || h.word("database")
                || h.word("tablespace")
                || h.word("language")
                || h.word("foreign")
                || h.word("large")
                || h.word("parameter")
            {
                return None;
            }
        }
        let name = h.name()?;
        if function && h.next_is(&Token::Punct('(')) {
            // Skip the argument list.
            let mut depth = 0;
            while let Some(t) = h.tokens.get(h.at) {
                match t {
                    Token::Punct('(') => depth += 1,
                    Token::Punct(')') => depth -= 1,
                    _ => {}
                }
                h.at += 1;
                if depth == 0 {
                    break;
                }
            }
        }
        // Several objects in one grant are not placed.
        if h.next_is(&Token::Punct(',')) {
            return None;
        }
        if function {
            return Some(Target::Function(name.0, name.1));
        }
        return Some(Target::Relation(name.0, name.1));
    }
    None
}

/// The unit of a statement, its names resolved against `catalog` (the previous normalised
/// state, for the table an index belongs to) with `public` for unqualified names, or `None`
/// when strata cannot place it.
pub fn unit_of(text: &str, catalog: &Catalog) -> Option<Unit> {
    let qualify = |schema: Option<String>, name: String| {
        QualName::new(schema.unwrap_or_else(|| "public".to_owned()), name)
    };
    let Some(target) = target(text) else {
        // Statements that change the session or run code: what they do cannot be followed.
        let first = tokens(text, 1);
        let unsafe_head = matches!(
            first.first(),
            Some(Token::Word(_, w)) if ["set", "reset", "do", "select", "call", "begin", "commit", "rollback", "start", "end", "savepoint", "release", "abort", "with", "execute", "perform", "load", "discard", "listen", "notify", "lock", "copy"].contains(&w.as_str())
        ) || first.is_empty();
        return (!unsafe_head).then(|| Unit::Other(text.trim().to_owned()));
    };
    match target {
        Target::Relation(schema, name) => {
            Some(Unit::Relation(owner(qualify(schema, name), catalog)))
        }
        Target::Function(schema, name) => Some(Unit::Function(qualify(schema, name))),
        Target::Index(schema, name) => {
            let schema = schema.unwrap_or_else(|| "public".to_owned());
            catalog
                .tables
                .iter()
                .map(|(t, table)| (t, &table.indexes))
                .chain(catalog.views.iter().map(|(v, view)| (v, &view.indexes)))
                .find(|(t, indexes)| t.schema == schema && indexes.contains_key(&name))
                .map(|(t, _)| Unit::Relation(t.clone()))
        }
    }
}

/// The unit of a relation named in a statement: a sequence a table owns (`serial`, `OWNED BY`, an
/// identity column's) belongs to its table, which creates it and whose drop takes it along.
fn owner(name: QualName, catalog: &Catalog) -> QualName {
    if let Some((table, _)) = catalog
        .sequences
        .get(&name)
        .and_then(|s| s.owned_by.as_ref())
    {
        return table.clone();
    }
    catalog
        .tables
        .iter()
        .find(|(_, t)| {
            t.columns
                .iter()
                .any(|c| c.identity.as_ref().is_some_and(|i| i.sequence_name == name))
        })
        .map_or(name, |(table, _)| table.clone())
}

/// The statements of each unit, in order; `None` when a statement cannot be placed.
pub fn group<'a>(
    statements: impl IntoIterator<Item = &'a str>,
    catalog: &Catalog,
) -> Option<BTreeMap<Unit, Vec<&'a str>>> {
    let mut units: BTreeMap<Unit, Vec<&str>> = BTreeMap::new();
    for text in statements {
        units.entry(unit_of(text, catalog)?).or_default().push(text);
    }
    Some(units)
}

/// The units to apply again when the files' statements go from `old` to `new`, or `None` when
/// the files must be normalised from scratch (a statement of no unit came or went, or names an
/// object that runs again).
///
/// The units whose statements differ are widened to the units that lose columns when those are
/// dropped (a table with a column of a changed type or domain, or with a generated column that
/// calls a changed function: a cascade would drop the column, and a column added back lands at
/// the end), and to the views that read a changed relation.
pub fn changed(
    old: &BTreeMap<Unit, Vec<&str>>,
    new: &BTreeMap<Unit, Vec<&str>>,
    catalog: &Catalog,
) -> Option<BTreeSet<Unit>> {
    let mut changed: BTreeSet<Unit> = old
        .keys()
        .chain(new.keys())
        .filter(|u| old.get(*u) != new.get(*u))
        .cloned()
        .collect();
    if changed.iter().any(|u| matches!(u, Unit::Other(_))) {
        return None;
    }
    loop {
        let mut more = Vec::new();
        for (name, table) in &catalog.tables {
            let unit = Unit::Relation(name.clone());
            if changed.contains(&unit) {
                continue;
            }
            let loses_column = table.columns.iter().any(|c| {
                crate::refs::type_refs(catalog, &c.data_type)
                    .iter()
                    .any(|r| matches!(r, crate::plan::ObjectRef::Relation { name } if changed.contains(&Unit::Relation(name.clone()))))
                    || c.generated.as_deref().is_some_and(|g| {
                        crate::refs::objects_in(catalog, g).iter().any(|r| {
                            matches!(r, crate::plan::ObjectRef::Function { key } if changed.contains(&Unit::Function(key.name.clone())))
                        })
                    })
            });
            // A child of a changed table goes with it (`DROP TABLE parent CASCADE` drops its
            // inheritance children and partitions) and takes its inherited columns from it.
            let child = table
                .inherits
                .iter()
                .any(|p| changed.contains(&Unit::Relation(p.clone())))
                || table
                    .partition_of
                    .as_ref()
                    .is_some_and(|p| changed.contains(&Unit::Relation(p.parent.clone())));
            if loses_column || child {
                more.push(unit);
            }
        }
        // What reads a changed object is dropped by the cascade and may mean something else
        // now (`SELECT *`, a column's or a function's new type): it runs again from its own
        // statements, not from the previous catalog. A view on a changed relation or naming a
        // changed function or type; a table whose defaults, checks, indexes, triggers or
        // policies name a changed function or type (or whose policies read a changed
        // relation); a function whose definition names a changed object; a domain whose
        // checks or default name one. (A foreign key to a changed table only names it: it is
        // restored as it was.)
        let touched = |text: &str, relations: bool| {
            crate::refs::objects_in(catalog, text)
                .iter()
                .any(|r| match r {
                    crate::plan::ObjectRef::Function { key } => {
                        changed.contains(&Unit::Function(key.name.clone()))
                    }
                    crate::plan::ObjectRef::Relation { name } => {
                        changed.contains(&Unit::Relation(name.clone()))
                            && (relations || catalog.types.contains_key(name))
                    }
                    _ => false,
                })
        };
        let widen = |unit: Unit, more: &mut Vec<Unit>| {
            if !changed.contains(&unit) && !more.contains(&unit) {
                more.push(unit);
            }
        };
        for (name, view) in &catalog.views {
            if view
                .depends_on
                .iter()
                .any(|d| changed.contains(&Unit::Relation(d.clone())))
                || touched(&view.definition, true)
            {
                widen(Unit::Relation(name.clone()), &mut more);
            }
        }
        for (name, table) in &catalog.tables {
            let texts = table
                .columns
                .iter()
                .filter_map(|c| c.default.as_deref())
                .chain(
                    table
                        .constraints
                        .values()
                        .filter(|c| c.foreign_key.is_none())
                        .map(|c| c.definition.as_str()),
                )
                .chain(table.indexes.values().map(|i| i.definition.as_str()))
                .chain(table.triggers.values().map(|t| t.definition.as_str()));
            let policies = table
                .policies
                .values()
                .flat_map(|p| p.using.iter().chain(&p.with_check));
            if texts.into_iter().any(|t| touched(t, false))
                || policies.into_iter().any(|t| touched(t, true))
            {
                widen(Unit::Relation(name.clone()), &mut more);
            }
        }
        for (key, function) in &catalog.functions {
            if touched(&function.definition, true) {
                widen(Unit::Function(key.name.clone()), &mut more);
            }
        }
        for (name, ty) in &catalog.types {
            if let TypeKind::Domain {
                default, checks, ..
            } = &ty.kind
                && default
                    .iter()
                    .chain(checks.values().map(|c| &c.definition))
                    .any(|t| touched(t, true))
            {
                widen(Unit::Relation(name.clone()), &mut more);
            }
        }
        if more.is_empty() {
            break;
        }
        changed.extend(more);
    }
    // A statement of no unit that names an object running again (`CREATE STATISTICS … FROM t`)
    // would lose what it made when the cascade goes through.
    let names: BTreeSet<&QualName> = changed
        .iter()
        .filter_map(|u| match u {
            Unit::Relation(n) | Unit::Function(n) => Some(n),
            Unit::Other(_) => None,
        })
        .collect();
    let touches = new.keys().any(|u| {
        matches!(u, Unit::Other(text) if crate::refs::qualified_names(text).iter().any(|n| names.contains(n)))
    });
    (!touches).then_some(changed)
}

/// The statements that drop the objects of `units` that `catalog` holds, with `CASCADE` (and
/// `IF EXISTS`: a cascade may have taken one already).
pub fn drops(units: &BTreeSet<Unit>, catalog: &Catalog) -> Vec<String> {
    let mut out = Vec::new();
    for unit in units {
        match unit {
            Unit::Relation(name) => {
                let q = qualified(name);
                if let Some(table) = catalog.tables.get(name) {
                    let kind = if table.kind == crate::catalog::TableKind::Foreign {
                        "FOREIGN TABLE"
                    } else {
                        "TABLE"
                    };
                    out.push(format!("DROP {kind} IF EXISTS {q} CASCADE"));
                } else if let Some(view) = catalog.views.get(name) {
                    let kind = match view.kind {
                        ViewKind::View => "VIEW",
                        ViewKind::Materialized => "MATERIALIZED VIEW",
                    };
                    out.push(format!("DROP {kind} IF EXISTS {q} CASCADE"));
                } else if catalog.sequences.contains_key(name) {
                    out.push(format!("DROP SEQUENCE IF EXISTS {q} CASCADE"));
                } else if let Some(ty) = catalog.types.get(name) {
                    let kind = if matches!(ty.kind, TypeKind::Domain { .. }) {
                        "DOMAIN"
                    } else {
                        "TYPE"
                    };
                    out.push(format!("DROP {kind} IF EXISTS {q} CASCADE"));
                }
            }
            Unit::Other(_) => {}
            Unit::Function(name) => {
                for (key, function) in catalog.functions.iter().filter(|(k, _)| k.name == *name) {
                    let kind = match function.kind {
                        FunctionKind::Procedure => "PROCEDURE",
                        FunctionKind::Aggregate => "AGGREGATE",
                        _ => "FUNCTION",
                    };
                    out.push(format!(
                        "DROP {kind} IF EXISTS {} CASCADE",
                        function_signature(key)
                    ));
                }
            }
        }
    }
    out
}

/// The catalog the files give once `units` were applied again: `previous` (the catalog before),
/// with the objects of `units` (and sequences their tables own) taken from `applied` (the
/// database after the units' statements ran), and objects `applied` has that `previous` lacks
/// added (a unit may create a new object). Objects of other units stay as `previous` has them,
/// whatever a cascade did to the database: the caller restores them there.
pub fn replace_units(previous: &Catalog, applied: &Catalog, units: &BTreeSet<Unit>) -> Catalog {
    let mut out = previous.clone();
    let relation_changed = |name: &QualName| units.contains(&Unit::Relation(name.clone()));
    let owned_by_changed = |owner: &Option<(QualName, String)>| {
        owner.as_ref().is_some_and(|(t, _)| relation_changed(t))
    };
    out.tables.retain(|n, _| !relation_changed(n));
    out.views.retain(|n, _| !relation_changed(n));
    out.types.retain(|n, _| !relation_changed(n));
    out.sequences
        .retain(|n, s| !relation_changed(n) && !owned_by_changed(&s.owned_by));
    out.functions
        .retain(|k, _| !units.contains(&Unit::Function(k.name.clone())));
    let take = |name: &QualName, in_previous: bool| relation_changed(name) || !in_previous;
    for (n, t) in &applied.tables {
        if take(n, previous.tables.contains_key(n)) {
            out.tables.insert(n.clone(), t.clone());
        }
    }
    for (n, v) in &applied.views {
        if take(n, previous.views.contains_key(n)) {
            out.views.insert(n.clone(), v.clone());
        }
    }
    for (n, t) in &applied.types {
        if take(n, previous.types.contains_key(n)) {
            out.types.insert(n.clone(), t.clone());
        }
    }
    for (n, s) in &applied.sequences {
        if take(n, previous.sequences.contains_key(n)) || owned_by_changed(&s.owned_by) {
            out.sequences.insert(n.clone(), s.clone());
        }
    }
    for (k, f) in &applied.functions {
        if units.contains(&Unit::Function(k.name.clone())) || !previous.functions.contains_key(k) {
            out.functions.insert(k.clone(), f.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Index, Table};

    fn unit(text: &str) -> Option<Unit> {
        let mut catalog = Catalog::default();
        let mut table = Table::default();
        table.indexes.insert("users_email".into(), Index::default());
        catalog.tables.insert(QualName::new("app", "users"), table);
        unit_of(text, &catalog)
    }

    fn rel(schema: &str, name: &str) -> Option<Unit> {
        Some(Unit::Relation(QualName::new(schema, name)))
    }

    #[test]
    fn statements_find_their_unit() {
        let users = rel("app", "users");
        for text in [
            "CREATE TABLE app.users (id int)",
            "create unlogged table if not exists app.users (id int)",
            "-- the users\nCREATE TABLE \"app\".\"users\" (id int)",
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS users_email ON ONLY app.users (email)",
            "CREATE INDEX ON app.users (email)",
            "ALTER TABLE ONLY app.users ADD CONSTRAINT users_pkey PRIMARY KEY (id)",
            "ALTER TABLE IF EXISTS app.users ENABLE ROW LEVEL SECURITY",
            "COMMENT ON TABLE app.users IS 'people'",
            "COMMENT ON COLUMN app.users.email IS 'where to write'",
            "COMMENT ON CONSTRAINT users_pkey ON app.users IS 'key'",
            "COMMENT ON INDEX app.users_email IS 'lookup'",
            "ALTER INDEX app.users_email SET (fillfactor = 70)",
            "GRANT SELECT, UPDATE (email) ON app.users TO web",
            "GRANT ALL ON TABLE app.users TO web",
            "REVOKE ALL ON app.users FROM PUBLIC",
            "CREATE TRIGGER users_touch BEFORE UPDATE OF email, \"on\" ON app.users FOR EACH ROW EXECUTE FUNCTION app.touch()",
            "CREATE POLICY mine ON app.users USING (true)",
            "CREATE RULE r AS ON INSERT TO app.users DO INSTEAD NOTHING",
        ] {
            assert_eq!(unit(text), users, "{text}");
        }
        assert_eq!(unit("CREATE VIEW app.v AS SELECT 1"), rel("app", "v"));
        assert_eq!(
            unit("CREATE MATERIALIZED VIEW app.mv AS SELECT 1"),
            rel("app", "mv")
        );
        assert_eq!(
            unit("CREATE TYPE app.kind AS ENUM ('a')"),
            rel("app", "kind")
        );
        assert_eq!(unit("CREATE DOMAIN app.code AS text"), rel("app", "code"));
        assert_eq!(unit("CREATE SEQUENCE app.s"), rel("app", "s"));
        assert_eq!(
            unit("ALTER SEQUENCE app.s OWNED BY app.users.id"),
            rel("app", "s")
        );
        assert_eq!(unit("CREATE TABLE users (id int)"), rel("public", "users"));
        let f = Some(Unit::Function(QualName::new("app", "touch")));
        assert_eq!(
            unit("CREATE OR REPLACE FUNCTION app.touch() RETURNS trigger AS $$ $$ LANGUAGE sql"),
            f
        );
        assert_eq!(unit("COMMENT ON FUNCTION app.touch() IS 'x'"), f);
        assert_eq!(
            unit("REVOKE EXECUTE ON FUNCTION app.touch() FROM PUBLIC"),
            f
        );
        assert_eq!(unit("ALTER FUNCTION app.touch() OWNER TO x"), f);
    }

    #[test]
    fn sequences_a_table_owns_belong_to_the_table() {
        use crate::catalog::{Column, Identity, Sequence};
        let mut catalog = Catalog::default();
        let t = QualName::new("app", "t");
        let mut table = Table::default();
        table.columns.push(Column {
            name: "id".into(),
            identity: Some(Identity {
                always: true,
                sequence: Default::default(),
                sequence_name: QualName::new("app", "t_ids"),
                comment: None,
                privileges: Default::default(),
            }),
            ..Default::default()
        });
        catalog.tables.insert(t.clone(), table);
        catalog.sequences.insert(
            QualName::new("app", "t_n_seq"),
            Sequence {
                owned_by: Some((t.clone(), "n".into())),
                ..Default::default()
            },
        );
        catalog
            .sequences
            .insert(QualName::new("app", "free"), Sequence::default());
        for text in [
            "GRANT USAGE ON SEQUENCE app.t_ids TO web",
            "COMMENT ON SEQUENCE app.t_ids IS 'ids'",
            "GRANT USAGE ON SEQUENCE app.t_n_seq TO web",
            "ALTER SEQUENCE app.t_n_seq RESTART WITH 10",
        ] {
            assert_eq!(
                unit_of(text, &catalog),
                Some(Unit::Relation(t.clone())),
                "{text}"
            );
        }
        assert_eq!(
            unit_of("GRANT USAGE ON SEQUENCE app.free TO web", &catalog),
            Some(Unit::Relation(QualName::new("app", "free")))
        );
    }

    #[test]
    fn statements_strata_does_not_place_are_units_of_their_own() {
        for text in [
            "CREATE SCHEMA app",
            "CREATE EXTENSION citext",
            "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO web",
            "GRANT SELECT ON ALL TABLES IN SCHEMA app TO web",
            "GRANT SELECT ON app.a, app.b TO web",
            "GRANT USAGE ON SCHEMA app TO web",
            "COMMENT ON SCHEMA app IS 'x'",
            "INSERT INTO app.users VALUES (1)",
        ] {
            assert_eq!(unit(text), Some(Unit::Other(text.to_owned())), "{text}");
        }
    }

    #[test]
    fn statements_whose_effects_cannot_be_followed() {
        for text in [
            "SET search_path = app",
            "DO $$ BEGIN END $$",
            "SELECT pg_catalog.set_config('search_path', '', false)",
            "RESET ALL",
        ] {
            assert_eq!(unit(text), None, "{text}");
        }
        // An index strata does not know yet cannot be placed on its table.
        assert_eq!(unit("COMMENT ON INDEX app.unknown IS 'x'"), None);
    }

    #[test]
    fn changes_to_statements_of_no_unit_normalise_from_scratch() {
        let catalog = Catalog::default();
        let old = group(
            ["CREATE SCHEMA app", "CREATE TABLE app.t (a int)"],
            &catalog,
        )
        .unwrap();
        let edited = group(
            ["CREATE SCHEMA app", "CREATE TABLE app.t (a int, b int)"],
            &catalog,
        )
        .unwrap();
        assert_eq!(
            changed(&old, &edited, &catalog),
            Some(BTreeSet::from([Unit::Relation(QualName::new("app", "t"))]))
        );
        let renamed = group(
            ["CREATE SCHEMA core", "CREATE TABLE app.t (a int)"],
            &catalog,
        )
        .unwrap();
        assert_eq!(changed(&old, &renamed, &catalog), None);
        let statistics = group(
            [
                "CREATE SCHEMA app",
                "CREATE TABLE app.t (a int, b int)",
                "CREATE STATISTICS app.s ON a, b FROM app.t",
            ],
            &catalog,
        )
        .unwrap();
        let with_statistics = group(
            [
                "CREATE SCHEMA app",
                "CREATE TABLE app.t (a int)",
                "CREATE STATISTICS app.s ON a, b FROM app.t",
            ],
            &catalog,
        )
        .unwrap();
        assert_eq!(changed(&with_statistics, &statistics, &catalog), None);
    }
}
