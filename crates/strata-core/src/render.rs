//! SQL text for catalog objects: the statements that create them, and the small clauses that
//! alter them. Every identifier strata writes is quoted; expressions and definitions are
//! PostgreSQL's own deparsed text.

use crate::catalog::{
    Cast, Collation, Column, Constraint, ConstraintKind, Function, FunctionKey, FunctionKind,
    Grant, Identity, Policy, Privileges, QualName, Sequence, SequenceOptions, Server, Table,
    TableKind, TypeDef, TypeKind, View, ViewKind, Wrapper,
};
use crate::sql::{quote_ident, quote_literal};

/// `"schema"."name"`.
pub fn qualified(name: &QualName) -> String {
    format!("{}.{}", quote_ident(&name.schema), quote_ident(&name.name))
}

/// `"schema"."name"(argument types)` for a function's identity.
pub fn function_signature(key: &FunctionKey) -> String {
    format!("{}({})", qualified(&key.name), key.arguments)
}

/// The signature an aggregate is named by in `DROP AGGREGATE` and `COMMENT ON AGGREGATE`: an
/// aggregate without arguments is written `(*)` (as `count(*)`); `()` does not parse there.
pub fn aggregate_signature(key: &FunctionKey) -> String {
    let arguments = if key.arguments.is_empty() {
        "*"
    } else {
        &key.arguments
    };
    format!("{}({arguments})", qualified(&key.name))
}

/// A column of `table` as it appears in `CREATE TABLE` or `ADD COLUMN`.
pub fn column_definition(table: &QualName, column: &Column) -> String {
    let mut sql = format!("{} {}", quote_ident(&column.name), column.data_type);
    sql.push_str(&options_clause(&column.foreign_options));
    if let Some(collation) = &column.collation {
        sql.push_str(&format!(" COLLATE {collation}"));
    }
    if let Some(expression) = &column.generated {
        let kind = if column.generated_virtual {
            "VIRTUAL"
        } else {
            "STORED"
        };
        sql.push_str(&format!(" GENERATED ALWAYS AS ({expression}) {kind}"));
    }
    if let Some(identity) = &column.identity {
        sql.push_str(&identity_clause(
            table,
            &column.name,
            identity,
            &column.data_type,
        ));
    }
    if let Some(default) = &column.default {
        sql.push_str(&format!(" DEFAULT {default}"));
    }
    if column.not_null {
        if let Some(constraint) = named_not_null(table, column) {
            sql.push_str(&format!(" CONSTRAINT {}", quote_ident(constraint)));
        }
        sql.push_str(" NOT NULL");
    }
    sql
}

/// The name of a column's `NOT NULL` constraint when it is not the one PostgreSQL 18 gives it
/// (`<table>_<column>_not_null`) or is shared with another table, so that it must be written.
pub fn named_not_null<'a>(table: &QualName, column: &'a Column) -> Option<&'a str> {
    column.not_null_name.as_deref().filter(|n| {
        column.not_null_name_shared || *n != format!("{}_{}_not_null", table.name, column.name)
    })
}

/// ` OPTIONS (key 'value', …)` of a foreign object (wrapper, server, user mapping, foreign
/// table or column), from PostgreSQL's `key=value` list; empty when there are none.
pub fn options_clause(options: &[String]) -> String {
    if options.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = options
        .iter()
        .map(|o| {
            let (key, value) = o.split_once('=').unwrap_or((o, ""));
            format!("{} {}", quote_ident(key), quote_literal(value))
        })
        .collect();
    format!(" OPTIONS ({})", parts.join(", "))
}

/// `OPTIONS (DROP …, SET …, ADD …)` that takes a foreign object's options from `old` to `new`,
/// or `None` when they are the same.
pub fn options_changes(old: &[String], new: &[String]) -> Option<String> {
    if old == new {
        return None;
    }
    let split = |o: &String| {
        let (key, value) = o.split_once('=').unwrap_or((o, ""));
        (key.to_owned(), value.to_owned())
    };
    let old: Vec<(String, String)> = old.iter().map(split).collect();
    let new: Vec<(String, String)> = new.iter().map(split).collect();
    let mut parts = Vec::new();
    for (key, _) in old.iter().filter(|(k, _)| !new.iter().any(|(n, _)| n == k)) {
        parts.push(format!("DROP {}", quote_ident(key)));
    }
    for (key, value) in &new {
        match old.iter().find(|(k, _)| k == key) {
            Some((_, v)) if v == value => {}
            Some(_) => parts.push(format!("SET {} {}", quote_ident(key), quote_literal(value))),
            None => parts.push(format!("ADD {} {}", quote_ident(key), quote_literal(value))),
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(format!("OPTIONS ({})", parts.join(", ")))
}

/// `CREATE FOREIGN DATA WRAPPER …`.
pub fn create_wrapper(name: &str, wrapper: &Wrapper) -> String {
    let mut sql = format!("CREATE FOREIGN DATA WRAPPER {}", quote_ident(name));
    if let Some(handler) = &wrapper.handler {
        sql.push_str(&format!(" HANDLER {handler}"));
    }
    if let Some(validator) = &wrapper.validator {
        sql.push_str(&format!(" VALIDATOR {validator}"));
    }
    sql.push_str(&options_clause(&wrapper.options));
    sql
}

/// `CREATE SERVER …`.
pub fn create_server(name: &str, server: &Server) -> String {
    let mut sql = format!("CREATE SERVER {}", quote_ident(name));
    if let Some(server_type) = &server.server_type {
        sql.push_str(&format!(" TYPE {}", quote_literal(server_type)));
    }
    if let Some(version) = &server.version {
        sql.push_str(&format!(" VERSION {}", quote_literal(version)));
    }
    sql.push_str(&format!(
        " FOREIGN DATA WRAPPER {}",
        quote_ident(&server.wrapper)
    ));
    sql.push_str(&options_clause(&server.options));
    sql
}

/// The role of a user mapping: `PUBLIC` bare, a role quoted.
pub fn mapping_role(role: &str) -> String {
    self::role(role)
}

/// ` GENERATED {ALWAYS|BY DEFAULT} AS IDENTITY [(options)]` for `table.column`; the sequence's
/// name is written when it is not the one PostgreSQL would choose.
pub fn identity_clause(
    table: &QualName,
    column: &str,
    identity: &Identity,
    data_type: &str,
) -> String {
    let mode = if identity.always {
        "ALWAYS"
    } else {
        "BY DEFAULT"
    };
    let mut options = sequence_options(&identity.sequence, data_type, false);
    if identity.sequence_name != Identity::default_sequence_name(table, column) {
        let name = format!("SEQUENCE NAME {}", qualified(&identity.sequence_name));
        options = if options.is_empty() {
            name
        } else {
            format!("{name} {options}")
        };
    }
    if options.is_empty() {
        format!(" GENERATED {mode} AS IDENTITY")
    } else {
        format!(" GENERATED {mode} AS IDENTITY ({options})")
    }
}

/// The bounds PostgreSQL gives a sequence of `data_type` by default.
fn type_bounds(data_type: &str) -> (i64, i64) {
    match data_type {
        "smallint" => (i64::from(i16::MIN), i64::from(i16::MAX)),
        "integer" => (i64::from(i32::MIN), i64::from(i32::MAX)),
        _ => (i64::MIN, i64::MAX),
    }
}

/// The options that differ from PostgreSQL's defaults, space-separated (`START WITH 10 …`).
/// With `with_type`, an `AS type` clause too (for `CREATE SEQUENCE`).
pub fn sequence_options(options: &SequenceOptions, data_type: &str, with_type: bool) -> String {
    let mut parts = Vec::new();
    if with_type && options.data_type != "bigint" {
        parts.push(format!("AS {}", options.data_type));
    }
    let (type_min, type_max) = type_bounds(data_type);
    let ascending = options.increment > 0;
    let (default_min, default_max) = if ascending {
        (1, type_max)
    } else {
        (type_min, -1)
    };
    let default_start = if ascending { options.min } else { options.max };
    if options.increment != 1 {
        parts.push(format!("INCREMENT BY {}", options.increment));
    }
    if options.min != default_min {
        parts.push(format!("MINVALUE {}", options.min));
    }
    if options.max != default_max {
        parts.push(format!("MAXVALUE {}", options.max));
    }
    if options.start != default_start {
        parts.push(format!("START WITH {}", options.start));
    }
    if options.cache != 1 {
        parts.push(format!("CACHE {}", options.cache));
    }
    if options.cycle {
        parts.push("CYCLE".into());
    }
    parts.join(" ")
}

/// Whether a constraint can be written inside `CREATE TABLE` (foreign keys and `NOT VALID`
/// constraints are added afterwards).
pub fn is_inline(constraint: &Constraint) -> bool {
    constraint.kind != ConstraintKind::ForeignKey && constraint.validated
}

/// The constraints of `table` written inside its `CREATE TABLE`, by name. A key that repeats
/// another key's columns is added afterwards: inside one `CREATE TABLE`, PostgreSQL keeps only
/// one of two keys on the same columns (the primary key).
pub fn inline_constraints(table: &Table) -> Vec<&String> {
    let mut keys: Vec<&Vec<String>> = table
        .constraints
        .values()
        .filter(|c| c.kind == ConstraintKind::PrimaryKey && is_inline(c))
        .map(|c| &c.columns)
        .collect();
    let mut out = Vec::new();
    for (name, constraint) in &table.constraints {
        if !is_inline(constraint) {
            continue;
        }
        if constraint.kind == ConstraintKind::Unique {
            let mut columns = constraint.columns.clone();
            columns.sort();
            let repeats = keys.iter().any(|k| {
                let mut k = (*k).clone();
                k.sort();
                k == columns
            });
            if repeats {
                continue;
            }
            keys.push(&constraint.columns);
        }
        out.push(name);
    }
    out
}

/// `CREATE TABLE …` with columns and the inline constraints.
pub fn create_table(name: &QualName, table: &Table) -> String {
    let unlogged = if table.unlogged { "UNLOGGED " } else { "" };
    // Columns taken from the parents are theirs: PostgreSQL adds them.
    let mut parts: Vec<String> = table
        .columns
        .iter()
        .filter(|c| !c.inherited)
        .map(|c| column_definition(name, c))
        .collect();
    if let Some(partition) = &table.partition_of {
        for (column, constraint) in &partition.not_null {
            let constraint = constraint
                .as_ref()
                .map(|c| format!("CONSTRAINT {} ", quote_ident(c)))
                .unwrap_or_default();
            parts.push(format!(
                "{} WITH OPTIONS {constraint}NOT NULL",
                quote_ident(column)
            ));
        }
    }
    for constraint_name in inline_constraints(table) {
        parts.push(format!(
            "CONSTRAINT {} {}",
            quote_ident(constraint_name),
            table.constraints[constraint_name].definition
        ));
    }
    let kind = if table.kind == TableKind::Foreign {
        "FOREIGN TABLE"
    } else {
        "TABLE"
    };
    let mut sql = match &table.partition_of {
        Some(partition) => {
            let mut sql = format!(
                "CREATE {unlogged}{kind} {} PARTITION OF {}",
                qualified(name),
                qualified(&partition.parent)
            );
            if !parts.is_empty() {
                sql.push_str(&format!(" (\n    {}\n)", parts.join(",\n    ")));
            }
            sql.push_str(&format!(" {}", partition.bound));
            sql
        }
        None if parts.is_empty() => format!("CREATE {unlogged}{kind} {} ()", qualified(name)),
        None => format!(
            "CREATE {unlogged}{kind} {} (\n    {}\n)",
            qualified(name),
            parts.join(",\n    ")
        ),
    };
    if !table.inherits.is_empty() {
        let parents: Vec<String> = table.inherits.iter().map(qualified).collect();
        sql.push_str(&format!(" INHERITS ({})", parents.join(", ")));
    }
    if let Some(foreign) = &table.foreign {
        sql.push_str(&format!(" SERVER {}", quote_ident(&foreign.server)));
        sql.push_str(&options_clause(&foreign.options));
    }
    if let Some(key) = &table.partition_key {
        sql.push_str(&format!(" PARTITION BY {key}"));
    }
    if !table.options.is_empty() {
        sql.push_str(&format!(" WITH ({})", table.options.join(", ")));
    }
    sql
}

/// `ALTER TABLE … ADD CONSTRAINT …`.
pub fn add_constraint(table: &QualName, name: &str, constraint: &Constraint) -> String {
    format!(
        "ALTER TABLE {} ADD CONSTRAINT {} {}",
        qualified(table),
        quote_ident(name),
        constraint.definition
    )
}

/// `CREATE [UNLOGGED] SEQUENCE …`.
pub fn create_sequence(name: &QualName, sequence: &Sequence) -> String {
    let options = sequence_options(&sequence.options, &sequence.options.data_type, true);
    let unlogged = if sequence.unlogged { "UNLOGGED " } else { "" };
    if options.is_empty() {
        format!("CREATE {unlogged}SEQUENCE {}", qualified(name))
    } else {
        format!("CREATE {unlogged}SEQUENCE {} {options}", qualified(name))
    }
}

/// `CREATE OPERATOR …`.
pub fn create_operator(operator: &crate::catalog::Operator) -> String {
    let mut options = vec![format!("FUNCTION = {}", operator.function)];
    if let Some(left) = &operator.left {
        options.push(format!("LEFTARG = {left}"));
    }
    options.push(format!("RIGHTARG = {}", operator.right));
    for (key, value) in [
        ("COMMUTATOR", &operator.commutator),
        ("NEGATOR", &operator.negator),
        ("RESTRICT", &operator.restrict),
        ("JOIN", &operator.join),
    ] {
        if let Some(value) = value {
            options.push(format!("{key} = {value}"));
        }
    }
    if operator.hashes {
        options.push("HASHES".into());
    }
    if operator.merges {
        options.push("MERGES".into());
    }
    format!(
        "CREATE OPERATOR {}.{} (\n    {}\n)",
        quote_ident(&operator.schema),
        operator.name,
        options.join(",\n    ")
    )
}

/// `CREATE CAST …`.
pub fn create_cast(cast: &Cast) -> String {
    let how = match (&cast.function, cast.binary) {
        (Some(function), _) => format!("WITH FUNCTION {function}"),
        (None, true) => "WITHOUT FUNCTION".to_owned(),
        (None, false) => "WITH INOUT".to_owned(),
    };
    let context = cast
        .context
        .as_ref()
        .map(|c| format!(" AS {c}"))
        .unwrap_or_default();
    format!("CREATE CAST ({}) {how}{context}", cast.name())
}

/// `CREATE COLLATION …`.
pub fn create_collation(name: &QualName, collation: &Collation) -> String {
    let mut options = vec![format!("provider = {}", collation.provider)];
    for (key, value) in [
        ("locale", &collation.locale),
        ("lc_collate", &collation.lc_collate),
        ("lc_ctype", &collation.lc_ctype),
    ] {
        if let Some(value) = value {
            options.push(format!("{key} = {}", quote_literal(value)));
        }
    }
    if !collation.deterministic {
        options.push("deterministic = false".into());
    }
    if let Some(rules) = &collation.rules {
        options.push(format!("rules = {}", quote_literal(rules)));
    }
    format!(
        "CREATE COLLATION {} ({})",
        qualified(name),
        options.join(", ")
    )
}

/// `CREATE TYPE …` / `CREATE DOMAIN …`.
pub fn create_type(name: &QualName, ty: &TypeDef) -> String {
    match &ty.kind {
        TypeKind::Enum { labels } => {
            let labels: Vec<String> = labels.iter().map(|l| quote_literal(l)).collect();
            format!(
                "CREATE TYPE {} AS ENUM ({})",
                qualified(name),
                labels.join(", ")
            )
        }
        TypeKind::Domain {
            base,
            collation,
            not_null,
            default,
            checks,
        } => {
            let mut sql = format!("CREATE DOMAIN {} AS {base}", qualified(name));
            if let Some(collation) = collation {
                sql.push_str(&format!(" COLLATE {collation}"));
            }
            if let Some(default) = default {
                sql.push_str(&format!(" DEFAULT {default}"));
            }
            if *not_null {
                sql.push_str(" NOT NULL");
            }
            for (check_name, check) in checks {
                if check.validated {
                    sql.push_str(&format!(
                        " CONSTRAINT {} {}",
                        quote_ident(check_name),
                        check.definition
                    ));
                }
            }
            sql
        }
        TypeKind::Composite { attributes } => {
            let attributes: Vec<String> = attributes
                .iter()
                .map(|a| {
                    let collation = a
                        .collation
                        .as_ref()
                        .map(|c| format!(" COLLATE {c}"))
                        .unwrap_or_default();
                    format!("{} {}{collation}", quote_ident(&a.name), a.data_type)
                })
                .collect();
            format!(
                "CREATE TYPE {} AS (\n    {}\n)",
                qualified(name),
                attributes.join(",\n    ")
            )
        }
        TypeKind::Range {
            subtype,
            subtype_opclass,
            collation,
            canonical,
            subtype_diff,
            multirange,
        } => {
            let mut options = vec![format!("SUBTYPE = {subtype}")];
            if let Some(opclass) = subtype_opclass {
                options.push(format!("SUBTYPE_OPCLASS = {opclass}"));
            }
            if let Some(collation) = collation {
                options.push(format!("COLLATION = {collation}"));
            }
            if let Some(canonical) = canonical {
                options.push(format!("CANONICAL = {canonical}"));
            }
            if let Some(diff) = subtype_diff {
                options.push(format!("SUBTYPE_DIFF = {diff}"));
            }
            if let Some(multirange) = multirange {
                // The default name is derived from the range's; only a different one is written.
                let default = default_multirange_name(&name.name);
                let multirange_name = multirange
                    .parse::<QualName>()
                    .map(|q| q.name)
                    .unwrap_or_default();
                if multirange_name != default {
                    options.push(format!("MULTIRANGE_TYPE_NAME = {multirange}"));
                }
            }
            format!(
                "CREATE TYPE {} AS RANGE ({})",
                qualified(name),
                options.join(", ")
            )
        }
    }
}

/// PostgreSQL's default multirange name: `range` in the name becomes `multirange`, else
/// `_multirange` is appended.
fn default_multirange_name(range: &str) -> String {
    match range.find("range") {
        Some(i) => format!("{}multirange{}", &range[..i], &range[i + 5..]),
        None => format!("{range}_multirange"),
    }
}

/// `CREATE [MATERIALIZED] VIEW …`.
pub fn create_view(name: &QualName, view: &View, or_replace: bool) -> String {
    let definition = view.definition.trim().trim_end_matches(';');
    let options = if view.options.is_empty() {
        String::new()
    } else {
        format!(" WITH ({})", view.options.join(", "))
    };
    match view.kind {
        ViewKind::View => {
            let replace = if or_replace { "OR REPLACE " } else { "" };
            format!(
                "CREATE {replace}VIEW {}{options} AS\n{definition}",
                qualified(name)
            )
        }
        ViewKind::Materialized => format!(
            "CREATE MATERIALIZED VIEW {}{options} AS\n{definition}\nWITH DATA",
            qualified(name)
        ),
    }
}

/// `CREATE VIEW … AS SELECT NULL::type AS column, …`: a stand-in with the view's columns, for
/// a view that reads itself through other objects (they are made in between; `CREATE OR
/// REPLACE VIEW` then gives it its query).
pub fn stand_in_view(name: &QualName, view: &View) -> String {
    let columns: Vec<String> = view
        .columns
        .iter()
        .map(|c| {
            let collation = c
                .collation
                .as_ref()
                .map(|co| format!(" COLLATE {co}"))
                .unwrap_or_default();
            format!(
                "NULL::{}{collation} AS {}",
                c.data_type,
                quote_ident(&c.name)
            )
        })
        .collect();
    format!(
        "CREATE VIEW {} AS\nSELECT {}",
        qualified(name),
        columns.join(",\n    ")
    )
}

/// The statement that creates a function, procedure or aggregate.
pub fn create_function(key: &FunctionKey, function: &Function) -> String {
    match (&function.kind, &function.aggregate) {
        (FunctionKind::Aggregate, Some(aggregate)) => {
            let mut options = vec![
                format!("SFUNC = {}", aggregate.transition),
                format!("STYPE = {}", aggregate.state_type),
            ];
            if let Some(f) = &aggregate.final_function {
                options.push(format!("FINALFUNC = {f}"));
            }
            if let Some(f) = &aggregate.combine_function {
                options.push(format!("COMBINEFUNC = {f}"));
            }
            if let Some(init) = &aggregate.initial_condition {
                options.push(format!("INITCOND = {}", quote_literal(init)));
            }
            if let Some(op) = &aggregate.sort_operator {
                options.push(format!("SORTOP = {}", op.split('(').next().unwrap_or(op)));
            }
            if aggregate.final_extra {
                options.push("FINALFUNC_EXTRA".into());
            }
            if let Some(modify) = &aggregate.final_modify {
                options.push(format!("FINALFUNC_MODIFY = {modify}"));
            }
            if let Some(f) = &aggregate.serial_function {
                options.push(format!("SERIALFUNC = {f}"));
            }
            if let Some(f) = &aggregate.deserial_function {
                options.push(format!("DESERIALFUNC = {f}"));
            }
            if let Some(space) = aggregate.state_space {
                options.push(format!("SSPACE = {space}"));
            }
            if let Some(moving) = &aggregate.moving {
                options.push(format!("MSFUNC = {}", moving.transition));
                options.push(format!("MINVFUNC = {}", moving.inverse));
                options.push(format!("MSTYPE = {}", moving.state_type));
                if let Some(space) = moving.state_space {
                    options.push(format!("MSSPACE = {space}"));
                }
                if let Some(f) = &moving.final_function {
                    options.push(format!("MFINALFUNC = {f}"));
                }
                if moving.final_extra {
                    options.push("MFINALFUNC_EXTRA".into());
                }
                if let Some(modify) = &moving.final_modify {
                    options.push(format!("MFINALFUNC_MODIFY = {modify}"));
                }
                if let Some(init) = &moving.initial_condition {
                    options.push(format!("MINITCOND = {}", quote_literal(init)));
                }
            }
            if aggregate.hypothetical {
                options.push("HYPOTHETICAL".into());
            }
            if let Some(parallel) = &aggregate.parallel {
                options.push(format!("PARALLEL = {parallel}"));
            }
            // An aggregate over no argument is `(*)`: `()` is a syntax error.
            let arguments = if function.arguments.is_empty() {
                "*"
            } else {
                &function.arguments
            };
            format!(
                "CREATE AGGREGATE {}({arguments}) (\n    {}\n)",
                qualified(&key.name),
                options.join(",\n    ")
            )
        }
        _ => function
            .definition
            .trim_end()
            .trim_end_matches(';')
            .to_owned(),
    }
}

/// `DROP FUNCTION|PROCEDURE|AGGREGATE …`.
pub fn drop_function(key: &FunctionKey, function: &Function) -> String {
    match function.kind {
        FunctionKind::Procedure => format!("DROP PROCEDURE {}", function_signature(key)),
        FunctionKind::Aggregate => format!("DROP AGGREGATE {}", aggregate_signature(key)),
        FunctionKind::Function | FunctionKind::Window => {
            format!("DROP FUNCTION {}", function_signature(key))
        }
    }
}

/// `CREATE POLICY …`.
pub fn create_policy(table: &QualName, name: &str, policy: &Policy) -> String {
    let mut sql = format!(
        "CREATE POLICY {} ON {} AS {} FOR {}",
        quote_ident(name),
        qualified(table),
        if policy.permissive {
            "PERMISSIVE"
        } else {
            "RESTRICTIVE"
        },
        policy.command
    );
    sql.push_str(&format!(" TO {}", roles(&policy.roles)));
    if let Some(using) = &policy.using {
        sql.push_str(&format!(" USING ({using})"));
    }
    if let Some(check) = &policy.with_check {
        sql.push_str(&format!(" WITH CHECK ({check})"));
    }
    sql
}

/// A role list: `PUBLIC` bare, names quoted.
pub fn roles(roles: &[String]) -> String {
    roles.iter().map(|r| role(r)).collect::<Vec<_>>().join(", ")
}

/// A role: `PUBLIC` bare, a name quoted.
pub fn role(role: &str) -> String {
    if role == "PUBLIC" {
        "PUBLIC".to_owned()
    } else {
        quote_ident(role)
    }
}

/// `COMMENT ON <target> IS …` (or `IS NULL` to remove it).
pub fn comment(target: &str, comment: Option<&str>) -> String {
    match comment {
        Some(text) => format!("COMMENT ON {target} IS {}", quote_literal(text)),
        None => format!("COMMENT ON {target} IS NULL"),
    }
}

/// GRANT and REVOKE statements that take `object` (e.g. `TABLE "s"."t"`, `SCHEMA "s"`) from
/// the privileges `from` to `to`. `columns` restricts them to a column (`SELECT ("c")`).
pub fn privilege_changes(
    object: &str,
    column: Option<&str>,
    from: &Privileges,
    to: &Privileges,
) -> Vec<String> {
    let mut statements = Vec::new();
    let column = column
        .map(|c| format!(" ({})", quote_ident(c)))
        .unwrap_or_default();
    // Grants beyond the defaults: revoke what goes, grant what comes.
    for grant in from.granted.iter().filter(|g| !to.granted.contains(g)) {
        statements.push(revoke(object, &column, grant));
    }
    // Defaults that were revoked and are back: grant them again.
    for grant in from.revoked.iter().filter(|g| !to.revoked.contains(g)) {
        statements.push(give(object, &column, grant));
    }
    for grant in to.granted.iter().filter(|g| !from.granted.contains(g)) {
        statements.push(give(object, &column, grant));
    }
    for grant in to.revoked.iter().filter(|g| !from.revoked.contains(g)) {
        statements.push(revoke(object, &column, grant));
    }
    statements
}

fn give(object: &str, column: &str, grant: &Grant) -> String {
    let option = if grant.grantable {
        " WITH GRANT OPTION"
    } else {
        ""
    };
    format!(
        "GRANT {}{column} ON {object} TO {}{option}",
        grant.privilege,
        role(&grant.grantee)
    )
}

fn revoke(object: &str, column: &str, grant: &Grant) -> String {
    // Revoking the grant option alone keeps the privilege.
    format!(
        "REVOKE {}{column} ON {object} FROM {}",
        grant.privilege,
        role(&grant.grantee)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_options_leave_out_defaults() {
        let defaults = SequenceOptions {
            data_type: "integer".into(),
            start: 1,
            increment: 1,
            min: 1,
            max: i64::from(i32::MAX),
            cache: 1,
            cycle: false,
        };
        assert_eq!(sequence_options(&defaults, "integer", false), "");
        assert_eq!(sequence_options(&defaults, "integer", true), "AS integer");
        let down = SequenceOptions {
            start: -1,
            increment: -1,
            min: i64::from(i32::MIN),
            max: -1,
            ..defaults.clone()
        };
        assert_eq!(sequence_options(&down, "integer", false), "INCREMENT BY -1");
        let custom = SequenceOptions {
            start: 10,
            increment: 5,
            cache: 20,
            cycle: true,
            ..defaults
        };
        assert_eq!(
            sequence_options(&custom, "integer", false),
            "INCREMENT BY 5 START WITH 10 CACHE 20 CYCLE"
        );
    }

    #[test]
    fn aggregates_without_arguments_are_star() {
        let key = FunctionKey {
            name: QualName::new("app", "tally"),
            arguments: String::new(),
        };
        let function = Function {
            kind: FunctionKind::Aggregate,
            definition: String::new(),
            arguments: String::new(),
            result: "bigint".into(),
            input_types: String::new(),
            language: "internal".into(),
            aggregate: Some(crate::catalog::Aggregate {
                transition: "int8inc".into(),
                state_type: "bigint".into(),
                final_function: None,
                combine_function: None,
                initial_condition: Some("0".into()),
                sort_operator: None,
                final_extra: false,
                final_modify: None,
                serial_function: None,
                deserial_function: None,
                state_space: None,
                hypothetical: false,
                parallel: None,
                moving: None,
            }),
            comment: None,
            privileges: Privileges::default(),
        };
        assert!(
            create_function(&key, &function).starts_with("CREATE AGGREGATE \"app\".\"tally\"(*) (")
        );
        assert_eq!(
            drop_function(&key, &function),
            "DROP AGGREGATE \"app\".\"tally\"(*)"
        );
    }

    #[test]
    fn multirange_default_names() {
        assert_eq!(default_multirange_name("floatrange"), "floatmultirange");
        assert_eq!(default_multirange_name("span"), "span_multirange");
    }
}
