//! Random schemas shaped like what applications declare, for property tests.
//!
//! A seeded generator makes a schema (enums, a domain, tables with columns of many types, keys,
//! foreign keys, indexes, views, comments) and a random mutation of it. Besides plain shapes it
//! writes what real schemas hold and PostgreSQL reads back in another form: `IN` lists over
//! `varchar`, `char`, `text` and enum columns, casts, `CASE`, row comparisons, `now() +
//! interval` and array and `jsonb` defaults, `COLLATE`, function calls in index expressions,
//! partial indexes, domains with `VALUE IN (…)`, policies, and triggers with `WHEN (ROW(OLD.…)
//! IS DISTINCT FROM ROW(NEW.…))`. Every expression remembers the columns (and their types) it
//! reads, so a mutation that drops or retypes a column drops the expressions on it too and the
//! SQL stays valid.

use std::fmt::Write as _;

/// xorshift64*: small, seedable, good enough to pick schema shapes.
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (every seed gives its own sequence).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A column.
#[derive(Clone, Debug)]
pub struct Column {
    name: String,
    ty: String,
    collate: bool,
    not_null: bool,
    default: Option<String>,
    identity: bool,
}

/// An expression of a table (a check, an index, a policy, a trigger) and the columns it reads,
/// with their types when it was written.
#[derive(Clone, Debug)]
struct Expression {
    reads: Vec<(String, String)>,
    sql: String,
}

/// A table.
#[derive(Clone, Debug)]
pub struct Table {
    schema: String,
    name: String,
    columns: Vec<Column>,
    unique: Option<String>,
    checks: Vec<Expression>,
    fk: Option<(String, String)>,
    indexes: Vec<Expression>,
    policies: Vec<Expression>,
    triggers: Vec<Expression>,
    comment: Option<String>,
}

/// A schema.
#[derive(Clone, Debug)]
pub struct Schema {
    enums: Vec<(String, Vec<String>)>,
    tables: Vec<Table>,
    views: Vec<(String, String, Vec<String>, Option<Expression>)>,
}

const SCHEMAS: [&str; 2] = ["p1", "p2"];
const LABELS: [&str; 5] = ["a", "b", "c", "d", "e"];
/// The domain every schema has: a code drawn from a list, as applications declare them.
const DOMAIN: &str = "p1.code";

fn column_type(rng: &mut Rng, enums: &[(String, Vec<String>)]) -> String {
    let mut types = vec![
        "integer".to_owned(),
        "bigint".into(),
        "text".into(),
        format!("varchar({})", 10 + rng.below(50)),
        format!("varchar({})", 10 + rng.below(50)),
        "char(3)".into(),
        format!("numeric({},{})", 8 + rng.below(6), rng.below(4)),
        "boolean".into(),
        "timestamptz".into(),
        "jsonb".into(),
        "uuid".into(),
        "date".into(),
        "integer[]".into(),
        "varchar(20)[]".into(),
        DOMAIN.into(),
    ];
    types.extend(enums.iter().map(|(name, _)| name.clone()));
    rng.pick(&types).clone()
}

fn is_stringy(ty: &str) -> bool {
    ty == "text" || ty.starts_with("varchar(") && !ty.ends_with("[]") || ty == "char(3)"
}

fn default_for(rng: &mut Rng, ty: &str, enums: &[(String, Vec<String>)]) -> Option<String> {
    if !rng.chance(35) {
        return None;
    }
    let value = match ty {
        "integer" | "bigint" => format!("{}", rng.below(100)),
        "text" => rng.pick(&["'x'", "lower('X')", "''::text"]).to_string(),
        "char(3)" => "'abc'".into(),
        t if t.starts_with("varchar") && t.ends_with("[]") => rng
            .pick(&["ARRAY['a', 'b']::varchar[]", "'{}'"])
            .to_string(),
        t if t.starts_with("varchar") => rng.pick(&["'v'", "'v'::varchar"]).to_string(),
        t if t.starts_with("numeric") => "1.5".into(),
        "boolean" => "true".into(),
        "timestamptz" => rng
            .pick(&["now()", "now() + interval '7 days'", "CURRENT_TIMESTAMP"])
            .to_string(),
        "jsonb" => rng
            .pick(&[
                "'{}'::jsonb",
                "'{\"a\": [1, 2]}'::jsonb",
                "jsonb_build_object('k', 1)",
            ])
            .to_string(),
        "uuid" => "gen_random_uuid()".into(),
        "date" => "CURRENT_DATE".into(),
        "integer[]" => rng.pick(&["'{1,2}'", "ARRAY[1, 2]"]).to_string(),
        t if t == DOMAIN => "'x'".into(),
        t => {
            let (_, labels) = enums.iter().find(|(n, _)| n == t)?;
            format!("'{}'", labels.first()?)
        }
    };
    Some(value)
}

fn new_column(rng: &mut Rng, name: String, enums: &[(String, Vec<String>)]) -> Column {
    let ty = column_type(rng, enums);
    let default = default_for(rng, &ty, enums);
    Column {
        name,
        collate: is_stringy(&ty) && ty != "char(3)" && rng.chance(15),
        not_null: rng.chance(30),
        default,
        ty,
        identity: false,
    }
}

/// A check on one column, as applications write them.
fn check_on(rng: &mut Rng, column: &Column) -> Option<Expression> {
    let c = &column.name;
    let sql = match column.ty.as_str() {
        t if is_stringy(t) => rng
            .pick(&[
                format!("{c} IN ('a', 'b', 'c')"),
                format!("{c}::text <> ''"),
                format!("CASE WHEN {c} IN ('a', 'b') THEN true ELSE length({c}) > 0 END"),
                format!("{c} NOT IN ('x', 'y')"),
                format!("lower({c}) = {c}"),
            ])
            .clone(),
        "integer" | "bigint" => rng
            .pick(&[
                format!("{c} BETWEEN 0 AND 1000"),
                format!("{c} IN (1, 2, 3)"),
                format!("({c} > 0) IS NOT FALSE"),
                format!("(id, {c}) <> (0, 0)"),
            ])
            .clone(),
        "timestamptz" => format!("{c} > '2000-01-01'::timestamptz"),
        "jsonb" => format!("jsonb_typeof({c}) IN ('object', 'array')"),
        "integer[]" => format!("cardinality({c}) < 10"),
        t if t.contains('.') && t != DOMAIN => format!("{c}::text <> ''"),
        _ => return None,
    };
    Some(Expression {
        reads: vec![
            ("id".into(), "integer".into()),
            (c.clone(), column.ty.clone()),
        ],
        sql,
    })
}

/// An index on one column: plain, on an expression, partial, or on several columns.
fn index_on(rng: &mut Rng, table: &str, column: &Column, n: usize) -> Expression {
    let c = &column.name;
    let name = format!("{}_{c}_{n}_idx", table.replace('.', "_"));
    let on = table.to_owned();
    let sql = match column.ty.as_str() {
        t if is_stringy(t) => rng
            .pick(&[
                format!("CREATE INDEX {name} ON {on} ({c})"),
                format!("CREATE INDEX {name} ON {on} (lower({c}::text))"),
                format!("CREATE INDEX {name} ON {on} (id) WHERE {c} IN ('a', 'b')"),
                format!("CREATE INDEX {name} ON {on} ({c} DESC NULLS LAST, id)"),
            ])
            .clone(),
        "jsonb" => format!("CREATE INDEX {name} ON {on} USING gin ({c})"),
        "timestamptz" => format!("CREATE INDEX {name} ON {on} ({c}) WHERE {c} IS NOT NULL"),
        _ => format!("CREATE INDEX {name} ON {on} ({c})"),
    };
    Expression {
        reads: vec![
            ("id".into(), "integer".into()),
            (c.clone(), column.ty.clone()),
        ],
        sql,
    }
}

fn table_name(t: &Table) -> String {
    format!("{}.{}", t.schema, t.name)
}

/// A random schema.
pub fn generate(rng: &mut Rng) -> Schema {
    let mut enums = Vec::new();
    for schema in SCHEMAS {
        for i in 0..rng.below(2) {
            let mut labels: Vec<String> = LABELS
                .iter()
                .filter(|_| rng.chance(60))
                .map(|l| l.to_string())
                .collect();
            if labels.is_empty() {
                labels.push("a".into());
            }
            enums.push((format!("{schema}.e{i}"), labels));
        }
    }
    let mut tables: Vec<Table> = Vec::new();
    for t in 0..1 + rng.below(4) {
        let mut columns = vec![Column {
            name: "id".into(),
            ty: "integer".into(),
            collate: false,
            not_null: true,
            default: None,
            identity: rng.chance(40),
        }];
        for c in 0..1 + rng.below(5) {
            columns.push(new_column(rng, format!("c{c}"), &enums));
        }
        let fk = if !tables.is_empty() && rng.chance(50) {
            let target = rng.pick(&tables);
            columns.push(Column {
                name: "ref_id".into(),
                ty: "integer".into(),
                collate: false,
                not_null: false,
                default: None,
                identity: false,
            });
            Some(("ref_id".to_owned(), table_name(target)))
        } else {
            None
        };
        let schema = rng.pick(&SCHEMAS).to_string();
        let name = format!("t{t}");
        let mut table = Table {
            schema,
            name,
            unique: None,
            checks: Vec::new(),
            fk,
            indexes: Vec::new(),
            policies: Vec::new(),
            triggers: Vec::new(),
            comment: rng.chance(20).then(|| format!("table {t}")),
            columns,
        };
        decorate(rng, &mut table);
        tables.push(table);
    }
    let mut views = Vec::new();
    for v in 0..rng.below(3) {
        let table = rng.pick(&tables).clone();
        let name = format!("{}.v{v}", rng.pick(&SCHEMAS));
        if let Some(view) = new_view(rng, &table, name) {
            views.push(view);
        }
    }
    Schema {
        enums,
        tables,
        views,
    }
}

/// Checks, indexes, a unique key, policies and a trigger on some of the table's columns.
fn decorate(rng: &mut Rng, table: &mut Table) {
    let qualified = table_name(table);
    let others: Vec<Column> = table.columns[1..].to_vec();
    if others.is_empty() {
        return;
    }
    if rng.chance(30) {
        table.unique = Some(rng.pick(&others).name.clone());
    }
    for _ in 0..rng.below(3) {
        let column = rng.pick(&others).clone();
        if let Some(check) = check_on(rng, &column) {
            table.checks.push(check);
        }
    }
    for n in 0..rng.below(3) {
        let column = rng.pick(&others).clone();
        let index = index_on(rng, &qualified, &column, n);
        table.indexes.push(index);
    }
    if rng.chance(20) {
        let stringy: Vec<&Column> = others.iter().filter(|c| is_stringy(&c.ty)).collect();
        let using = match stringy.first() {
            Some(c) => Expression {
                reads: vec![(c.name.clone(), c.ty.clone())],
                sql: format!(
                    "CREATE POLICY visible ON {qualified} FOR SELECT USING ({} IN ('a', 'b'))",
                    c.name
                ),
            },
            None => Expression {
                reads: vec![("id".into(), "integer".into())],
                sql: format!(
                    "CREATE POLICY visible ON {qualified} USING (id > 0) WITH CHECK (id < 1000)"
                ),
            },
        };
        table.policies.push(using);
    }
    if rng.chance(25) {
        let watched: Vec<&Column> = table.columns.iter().take(3).collect();
        let old: Vec<String> = watched.iter().map(|c| format!("OLD.{}", c.name)).collect();
        let new: Vec<String> = watched.iter().map(|c| format!("NEW.{}", c.name)).collect();
        table.triggers.push(Expression {
            reads: watched
                .iter()
                .map(|c| (c.name.clone(), c.ty.clone()))
                .collect(),
            sql: format!(
                "CREATE TRIGGER {}_touch BEFORE UPDATE ON {qualified} FOR EACH ROW WHEN (ROW({}) IS DISTINCT FROM ROW({})) EXECUTE FUNCTION p1.touch()",
                table.name,
                old.join(", "),
                new.join(", ")
            ),
        });
    }
}

fn new_view(
    rng: &mut Rng,
    table: &Table,
    name: String,
) -> Option<(String, String, Vec<String>, Option<Expression>)> {
    let columns: Vec<String> = table
        .columns
        .iter()
        .filter(|_| rng.chance(60))
        .map(|c| c.name.clone())
        .collect();
    if columns.is_empty() {
        return None;
    }
    let filter = table
        .columns
        .iter()
        .find(|c| is_stringy(&c.ty))
        .filter(|_| rng.chance(50))
        .map(|c| Expression {
            reads: vec![(c.name.clone(), c.ty.clone())],
            sql: format!("{} IN ('a', 'b')", c.name),
        });
    Some((name, table_name(table), columns, filter))
}

/// A random change to every part of the schema, often several at once.
pub fn mutate(rng: &mut Rng, schema: &Schema) -> Schema {
    let mut s = schema.clone();
    for (_, labels) in &mut s.enums {
        if rng.chance(30) {
            let label = rng.pick(&LABELS).to_string();
            if !labels.contains(&label) {
                let at = rng.below(labels.len() + 1);
                labels.insert(at, label);
            } else if labels.len() > 1 && rng.chance(50) {
                labels.retain(|l| *l != label);
            }
        }
    }
    let enums = s.enums.clone();
    for table in &mut s.tables {
        if rng.chance(30) {
            let name = (0..)
                .map(|n| format!("n{n}"))
                .find(|n| !table.columns.iter().any(|c| c.name == *n))
                .expect("a free name");
            table.columns.push(new_column(rng, name, &enums));
        }
        if table.columns.len() > 2 && rng.chance(20) {
            let victim = 1 + rng.below(table.columns.len() - 1);
            let name = table.columns[victim].name.clone();
            if table.fk.as_ref().is_none_or(|(c, _)| *c != name) {
                table.columns.remove(victim);
            }
        }
        for column in table.columns.iter_mut().skip(1) {
            if column.name == "ref_id" {
                continue;
            }
            if rng.chance(10) {
                column.ty = castable_change(rng, &column.ty, &enums);
                column.default = default_for(rng, &column.ty, &enums);
                column.collate = column.collate && is_stringy(&column.ty) && column.ty != "char(3)";
            }
            if rng.chance(10) {
                column.not_null = !column.not_null;
            }
            if rng.chance(10) {
                column.default = default_for(rng, &column.ty, &enums);
            }
            if rng.chance(5) && is_stringy(&column.ty) && column.ty != "char(3)" {
                column.collate = !column.collate;
            }
        }
        if rng.chance(15) {
            table.columns[0].identity = !table.columns[0].identity;
        }
        if rng.chance(20) {
            table.indexes.clear();
        }
        if rng.chance(15) {
            table.checks.clear();
        }
        if rng.chance(10) {
            table.policies.clear();
        }
        if rng.chance(10) {
            table.triggers.clear();
        }
        if rng.chance(25) {
            decorate(rng, table);
        }
        if rng.chance(15) {
            table.comment = rng.chance(50).then(|| "changed".to_owned());
        }
        if rng.chance(10) && table.fk.is_some() {
            table.fk = None;
            table.columns.retain(|c| c.name != "ref_id");
        }
    }
    if rng.chance(20) && s.tables.len() > 1 {
        let victim = rng.below(s.tables.len());
        let gone = table_name(&s.tables[victim]);
        s.tables.remove(victim);
        for t in &mut s.tables {
            if t.fk.as_ref().is_some_and(|(_, target)| *target == gone) {
                t.fk = None;
                t.columns.retain(|c| c.name != "ref_id");
            }
        }
    }
    if rng.chance(20) {
        let extra = generate(rng);
        if let Some(mut table) = extra.tables.into_iter().find(|t| t.fk.is_none()) {
            // A new table under a new name, with expressions written for that name.
            table.name = format!("x{}", table.name);
            table.columns.retain(|c| !enums_missing(&c.ty, &s.enums));
            table.unique = None;
            table.checks.clear();
            table.indexes.clear();
            table.policies.clear();
            table.triggers.clear();
            decorate(rng, &mut table);
            if !s.tables.iter().any(|t| table_name(t) == table_name(&table)) {
                s.tables.push(table);
            }
        }
    }
    // What reads a column that went or changed type goes too.
    for table in &mut s.tables {
        let columns = table.columns.clone();
        let holds = |e: &Expression| {
            e.reads
                .iter()
                .all(|(n, ty)| columns.iter().any(|c| c.name == *n && c.ty == *ty))
        };
        table.checks.retain(holds);
        table.indexes.retain(holds);
        table.policies.retain(holds);
        table.triggers.retain(holds);
        if table
            .unique
            .as_ref()
            .is_some_and(|u| !columns.iter().any(|c| c.name == *u))
        {
            table.unique = None;
        }
    }
    // Views follow their tables: drop those whose columns went, sometimes add or change one.
    let tables = s.tables.clone();
    s.views.retain(|(_, source, columns, filter)| {
        tables.iter().any(|t| {
            table_name(t) == *source
                && columns
                    .iter()
                    .all(|c| t.columns.iter().any(|tc| tc.name == *c))
                && filter.as_ref().is_none_or(|f| {
                    f.reads
                        .iter()
                        .all(|(n, ty)| t.columns.iter().any(|c| c.name == *n && c.ty == *ty))
                })
        })
    });
    if rng.chance(30) && !s.tables.is_empty() {
        let table = rng.pick(&s.tables).clone();
        let name = format!("{}.w{}", rng.pick(&SCHEMAS), rng.below(3));
        if let Some(view) = new_view(rng, &table, name.clone()) {
            s.views.retain(|(n, _, _, _)| *n != name);
            s.views.push(view);
        }
    }
    // Defaults must name labels the enum still has.
    for table in &mut s.tables {
        for column in &mut table.columns {
            if let Some((_, labels)) = s.enums.iter().find(|(n, _)| *n == column.ty)
                && column
                    .default
                    .as_ref()
                    .is_some_and(|d| !labels.iter().any(|l| *d == format!("'{l}'")))
            {
                column.default = Some(format!("'{}'", labels[0]));
            }
        }
    }
    s
}

/// A type the column can change to with a cast PostgreSQL has (the changes people make:
/// widening, narrowing, to and from text, between numeric precisions, dates and timestamps).
fn castable_change(rng: &mut Rng, from: &str, enums: &[(String, Vec<String>)]) -> String {
    let mut options: Vec<String> = match from {
        "integer" => vec!["bigint".into(), "numeric(12,2)".into(), "text".into()],
        "bigint" => vec!["integer".into(), "numeric(20,0)".into(), "text".into()],
        "text" => vec![format!("varchar({})", 20 + rng.below(40))],
        "char(3)" => vec!["text".into(), "varchar(10)".into()],
        t if t.starts_with("varchar") && t.ends_with("[]") => vec!["text[]".into()],
        t if t.starts_with("varchar") => {
            vec!["text".into(), format!("varchar({})", 10 + rng.below(80))]
        }
        t if t.starts_with("numeric") => vec![
            format!("numeric({},{})", 10 + rng.below(6), rng.below(4)),
            "text".into(),
        ],
        "date" => vec!["timestamptz".into(), "text".into()],
        "timestamptz" => vec!["date".into(), "text".into()],
        _ => vec!["text".into()],
    };
    // A text column can become one of the enums (text casts to an enum by its labels), and an
    // enum column another enum (through text).
    if from == "text" || enums.iter().any(|(n, _)| n == from) {
        options.extend(enums.iter().map(|(n, _)| n.clone()).filter(|n| n != from));
    }
    rng.pick(&options).clone()
}

fn enums_missing(ty: &str, enums: &[(String, Vec<String>)]) -> bool {
    ty.contains('.') && ty != DOMAIN && !enums.iter().any(|(n, _)| n == ty)
}

/// The schema as SQL, as a user would declare it.
pub fn render(s: &Schema) -> String {
    let mut sql = String::new();
    for schema in SCHEMAS {
        let _ = writeln!(sql, "CREATE SCHEMA {schema};");
    }
    let _ = writeln!(
        sql,
        "CREATE DOMAIN {DOMAIN} AS varchar(20) CHECK (VALUE IN ('x', 'y', 'z'));"
    );
    let _ = writeln!(
        sql,
        "CREATE FUNCTION p1.touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;"
    );
    for (name, labels) in &s.enums {
        let labels: Vec<String> = labels.iter().map(|l| format!("'{l}'")).collect();
        let _ = writeln!(sql, "CREATE TYPE {name} AS ENUM ({});", labels.join(", "));
    }
    for t in &s.tables {
        let mut parts = Vec::new();
        for c in &t.columns {
            let mut def = format!("{} {}", c.name, c.ty);
            if c.collate {
                def.push_str(" COLLATE \"C\"");
            }
            if c.identity {
                def.push_str(" GENERATED BY DEFAULT AS IDENTITY");
            } else if let Some(d) = &c.default {
                def.push_str(&format!(" DEFAULT {d}"));
            }
            if c.not_null || c.identity {
                def.push_str(" NOT NULL");
            }
            parts.push(def);
        }
        parts.push("PRIMARY KEY (id)".into());
        if let Some(u) = &t.unique {
            parts.push(format!("UNIQUE ({u})"));
        }
        for check in &t.checks {
            parts.push(format!("CHECK ({})", check.sql));
        }
        let _ = writeln!(
            sql,
            "CREATE TABLE {} ({});",
            table_name(t),
            parts.join(", ")
        );
    }
    for t in &s.tables {
        if let Some((column, target)) = &t.fk {
            let _ = writeln!(
                sql,
                "ALTER TABLE {} ADD FOREIGN KEY ({column}) REFERENCES {target} (id);",
                table_name(t)
            );
        }
        let mut seen = Vec::new();
        for i in &t.indexes {
            // Two indexes of the same name: the first one stays.
            let name = i
                .sql
                .split_whitespace()
                .nth(2)
                .unwrap_or_default()
                .to_owned();
            if !seen.contains(&name) {
                seen.push(name);
                let _ = writeln!(sql, "{};", i.sql);
            }
        }
        if !t.policies.is_empty() {
            let _ = writeln!(
                sql,
                "ALTER TABLE {} ENABLE ROW LEVEL SECURITY;",
                table_name(t)
            );
        }
        for p in t.policies.iter().take(1) {
            let _ = writeln!(sql, "{};", p.sql);
        }
        for trigger in t.triggers.iter().take(1) {
            let _ = writeln!(sql, "{};", trigger.sql);
        }
        if let Some(comment) = &t.comment {
            let _ = writeln!(sql, "COMMENT ON TABLE {} IS '{comment}';", table_name(t));
        }
    }
    for (name, source, columns, filter) in &s.views {
        let filter = filter
            .as_ref()
            .map(|f| format!(" WHERE {}", f.sql))
            .unwrap_or_default();
        let _ = writeln!(
            sql,
            "CREATE VIEW {name} AS SELECT {} FROM {source}{filter};",
            columns.join(", ")
        );
    }
    sql
}
