//! Property test: for random schema pairs, the plan converges in both directions.
//!
//! A seeded generator makes a random schema (enums, tables with columns of many types, keys,
//! foreign keys, checks, indexes, views, comments) and a random mutation of it; the plan between
//! them is applied to a real database, which must then re-diff to empty against the target, and
//! the same for the reverse plan. A failure prints its seed and both scripts: `STRATA_SEED=<seed>`
//! replays exactly that case.
//!
//! `STRATA_PROPERTY_CASES` sets the number of cases (default 500).

use std::fmt::Write as _;
use std::sync::Arc;

use strata::introspect::{Scope, introspect};
use strata_core::catalog::Catalog;
use strata_core::diff::diff;
use strata_testkit::TestDb;
use tokio::sync::Semaphore;

/// xorshift64*: small, seedable, good enough to pick schema shapes.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
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

#[derive(Clone, Debug)]
struct Column {
    name: String,
    ty: String,
    not_null: bool,
    default: Option<String>,
    identity: bool,
}

#[derive(Clone, Debug)]
struct Table {
    schema: String,
    name: String,
    columns: Vec<Column>,
    pk: bool,
    unique: Option<String>,
    check: Option<String>,
    fk: Option<(String, String)>, // (column, target table "schema.name")
    indexes: Vec<String>,
    comment: Option<String>,
}

#[derive(Clone, Debug)]
struct Schema {
    enums: Vec<(String, Vec<String>)>, // ("schema.name", labels)
    tables: Vec<Table>,
    views: Vec<(String, String, Vec<String>)>, // ("schema.name", source table, columns)
}

const SCHEMAS: [&str; 2] = ["p1", "p2"];
const LABELS: [&str; 5] = ["a", "b", "c", "d", "e"];

fn column_type(rng: &mut Rng, enums: &[(String, Vec<String>)]) -> String {
    let mut types = vec![
        "integer".to_owned(),
        "bigint".into(),
        "text".into(),
        format!("varchar({})", 10 + rng.below(50)),
        format!("numeric({},{})", 8 + rng.below(6), rng.below(4)),
        "boolean".into(),
        "timestamptz".into(),
        "jsonb".into(),
        "uuid".into(),
        "date".into(),
        "integer[]".into(),
    ];
    types.extend(enums.iter().map(|(name, _)| name.clone()));
    rng.pick(&types).clone()
}

fn default_for(rng: &mut Rng, ty: &str, enums: &[(String, Vec<String>)]) -> Option<String> {
    if !rng.chance(30) {
        return None;
    }
    let value = match ty {
        "integer" | "bigint" => format!("{}", rng.below(100)),
        "text" => "'x'".into(),
        t if t.starts_with("varchar") => "'v'".into(),
        t if t.starts_with("numeric") => "1.5".into(),
        "boolean" => "true".into(),
        "timestamptz" => "now()".into(),
        "jsonb" => "'{}'::jsonb".into(),
        "uuid" => "gen_random_uuid()".into(),
        "date" => "CURRENT_DATE".into(),
        "integer[]" => "'{1,2}'".into(),
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
        not_null: rng.chance(30),
        default,
        ty,
        identity: false,
    }
}

fn generate(rng: &mut Rng) -> Schema {
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
                not_null: false,
                default: None,
                identity: false,
            });
            Some((
                "ref_id".to_owned(),
                format!("{}.{}", target.schema, target.name),
            ))
        } else {
            None
        };
        let pick_column = |rng: &mut Rng, columns: &[Column]| {
            columns[1 + rng.below(columns.len() - 1)].name.clone()
        };
        let unique = rng.chance(30).then(|| pick_column(rng, &columns));
        let indexes = (0..rng.below(3))
            .map(|_| pick_column(rng, &columns))
            .collect::<Vec<_>>();
        tables.push(Table {
            schema: rng.pick(&SCHEMAS).to_string(),
            name: format!("t{t}"),
            pk: true,
            check: rng.chance(30).then(|| format!("id > {}", rng.below(10))),
            columns,
            unique,
            fk,
            indexes,
            comment: rng.chance(20).then(|| format!("table {t}")),
        });
    }
    let mut views = Vec::new();
    for v in 0..rng.below(3) {
        let table = rng.pick(&tables).clone();
        let columns: Vec<String> = table
            .columns
            .iter()
            .filter(|_| rng.chance(60))
            .map(|c| c.name.clone())
            .collect();
        if !columns.is_empty() {
            views.push((
                format!("{}.v{v}", rng.pick(&SCHEMAS)),
                format!("{}.{}", table.schema, table.name),
                columns,
            ));
        }
    }
    Schema {
        enums,
        tables,
        views,
    }
}

/// A random change to every part of the schema, often several at once.
fn mutate(rng: &mut Rng, schema: &Schema) -> Schema {
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
    let table_names: Vec<String> = s
        .tables
        .iter()
        .map(|t| format!("{}.{}", t.schema, t.name))
        .collect();
    for table in &mut s.tables {
        if rng.chance(30) {
            let n = table.columns.len();
            table.columns.push(new_column(rng, format!("n{n}"), &enums));
        }
        if table.columns.len() > 2 && rng.chance(20) {
            let victim = 1 + rng.below(table.columns.len() - 1);
            let name = table.columns[victim].name.clone();
            if table.fk.as_ref().is_none_or(|(c, _)| *c != name) {
                table.columns.remove(victim);
                table.indexes.retain(|i| *i != name);
                if table.unique.as_ref() == Some(&name) {
                    table.unique = None;
                }
            }
        }
        for column in table.columns.iter_mut().skip(1) {
            if column.name == "ref_id" {
                continue;
            }
            if rng.chance(10)
                && let Some(ty) = castable_change(rng, &column.ty, &enums)
            {
                column.ty = ty;
                column.default = default_for(rng, &column.ty, &enums);
            }
            if rng.chance(10) {
                column.not_null = !column.not_null;
            }
            if rng.chance(10) {
                column.default = default_for(rng, &column.ty, &enums);
            }
        }
        if rng.chance(15) {
            table.columns[0].identity = !table.columns[0].identity;
        }
        if rng.chance(20) {
            table.indexes.clear();
        }
        if rng.chance(20) && table.columns.len() > 1 {
            let c = table.columns[1 + rng.below(table.columns.len() - 1)]
                .name
                .clone();
            table.indexes.push(c);
        }
        if rng.chance(15) {
            table.check = rng.chance(50).then(|| format!("id > {}", rng.below(10)));
        }
        if rng.chance(15) {
            table.comment = rng.chance(50).then(|| "changed".to_owned());
        }
        if rng.chance(10)
            && let Some((_, target)) = &table.fk
            && !table_names.is_empty()
        {
            let _ = target;
            table.fk = None;
            table.columns.retain(|c| c.name != "ref_id");
            table.indexes.retain(|i| i != "ref_id");
            if table.unique.as_deref() == Some("ref_id") {
                table.unique = None;
            }
        }
    }
    if rng.chance(20) && s.tables.len() > 1 {
        let victim = rng.below(s.tables.len());
        let gone = format!("{}.{}", s.tables[victim].schema, s.tables[victim].name);
        s.tables.remove(victim);
        for t in &mut s.tables {
            if t.fk.as_ref().is_some_and(|(_, target)| *target == gone) {
                t.fk = None;
                t.columns.retain(|c| c.name != "ref_id");
                t.indexes.retain(|i| i != "ref_id");
                if t.unique.as_deref() == Some("ref_id") {
                    t.unique = None;
                }
            }
        }
        s.views.retain(|(_, source, _)| *source != gone);
    }
    if rng.chance(20) {
        let extra = generate(rng);
        if let Some(mut table) = extra.tables.into_iter().find(|t| t.fk.is_none()) {
            table.name = format!("x{}", table.name);
            table.columns.retain(|c| !enums_missing(&c.ty, &s.enums));
            table
                .indexes
                .retain(|i| table.columns.iter().any(|c| c.name == *i));
            if table
                .unique
                .as_ref()
                .is_some_and(|u| !table.columns.iter().any(|c| c.name == *u))
            {
                table.unique = None;
            }
            s.tables.push(table);
        }
    }
    // Views follow their tables: drop those whose columns went, sometimes add or change one.
    s.views.retain(|(_, source, columns)| {
        s.tables.iter().any(|t| {
            format!("{}.{}", t.schema, t.name) == *source
                && columns
                    .iter()
                    .all(|c| t.columns.iter().any(|tc| tc.name == *c))
        })
    });
    if rng.chance(30) && !s.tables.is_empty() {
        let table = rng.pick(&s.tables).clone();
        let columns: Vec<String> = table
            .columns
            .iter()
            .filter(|_| rng.chance(60))
            .map(|c| c.name.clone())
            .collect();
        if !columns.is_empty() {
            let name = format!("{}.w{}", rng.pick(&SCHEMAS), rng.below(3));
            s.views.retain(|(n, _, _)| *n != name);
            s.views
                .push((name, format!("{}.{}", table.schema, table.name), columns));
        }
    }
    // Defaults and values must name labels the enum still has.
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
fn castable_change(rng: &mut Rng, from: &str, enums: &[(String, Vec<String>)]) -> Option<String> {
    let mut options: Vec<String> = match from {
        "integer" => vec!["bigint".into(), "numeric(12,2)".into(), "text".into()],
        "bigint" => vec!["integer".into(), "numeric(20,0)".into(), "text".into()],
        "text" => vec![format!("varchar({})", 20 + rng.below(40))],
        t if t.starts_with("varchar") => {
            vec!["text".into(), format!("varchar({})", 10 + rng.below(80))]
        }
        t if t.starts_with("numeric") => vec![
            format!("numeric({},{})", 10 + rng.below(6), rng.below(4)),
            "text".into(),
        ],
        "date" => vec!["timestamptz".into(), "text".into()],
        "timestamptz" => vec!["date".into(), "text".into()],
        "boolean" | "uuid" | "jsonb" | "integer[]" => vec!["text".into()],
        _ => vec!["text".into()],
    };
    // A text column can become one of the enums (text casts to an enum by its labels).
    if from == "text" {
        options.extend(enums.iter().map(|(n, _)| n.clone()));
    }
    Some(rng.pick(&options).clone())
}

fn enums_missing(ty: &str, enums: &[(String, Vec<String>)]) -> bool {
    ty.contains('.') && !enums.iter().any(|(n, _)| n == ty)
}

fn render(s: &Schema) -> String {
    let mut sql = String::new();
    for schema in SCHEMAS {
        let _ = writeln!(sql, "CREATE SCHEMA {schema};");
    }
    for (name, labels) in &s.enums {
        let labels: Vec<String> = labels.iter().map(|l| format!("'{l}'")).collect();
        let _ = writeln!(sql, "CREATE TYPE {name} AS ENUM ({});", labels.join(", "));
    }
    for t in &s.tables {
        let mut parts = Vec::new();
        for c in &t.columns {
            let mut def = format!("{} {}", c.name, c.ty);
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
        if t.pk {
            parts.push("PRIMARY KEY (id)".into());
        }
        if let Some(u) = &t.unique {
            parts.push(format!("UNIQUE ({u})"));
        }
        if let Some(check) = &t.check {
            parts.push(format!("CHECK ({check})"));
        }
        let _ = writeln!(
            sql,
            "CREATE TABLE {}.{} ({});",
            t.schema,
            t.name,
            parts.join(", ")
        );
    }
    for t in &s.tables {
        if let Some((column, target)) = &t.fk {
            let _ = writeln!(
                sql,
                "ALTER TABLE {}.{} ADD FOREIGN KEY ({column}) REFERENCES {target} (id);",
                t.schema, t.name
            );
        }
        let mut seen = Vec::new();
        for i in &t.indexes {
            if !seen.contains(i) {
                seen.push(i.clone());
                let _ = writeln!(
                    sql,
                    "CREATE INDEX {}_{}_{i}_idx ON {}.{} ({i});",
                    t.schema, t.name, t.schema, t.name
                );
            }
        }
        if let Some(comment) = &t.comment {
            let _ = writeln!(
                sql,
                "COMMENT ON TABLE {}.{} IS '{comment}';",
                t.schema, t.name
            );
        }
    }
    for (name, source, columns) in &s.views {
        let _ = writeln!(
            sql,
            "CREATE VIEW {name} AS SELECT {} FROM {source};",
            columns.join(", ")
        );
    }
    sql
}

async fn build(sql: &str) -> Result<(TestDb, Catalog), String> {
    let db = TestDb::new().await;
    let client = db.client().await;
    client
        .batch_execute(sql)
        .await
        .map_err(|e| format!("the generated SQL is invalid: {e:?}"))?;
    let catalog = introspect(&client, &Scope::AllUserSchemas)
        .await
        .map_err(|e| e.to_string())?
        .catalog;
    Ok((db, catalog))
}

async fn converges(db: &TestDb, from: &Catalog, to: &Catalog) -> Result<(), String> {
    let plan = diff(from, to, &[]).map_err(|e| e.to_string())?;
    let client = db.client().await;
    strata::apply::apply(&client, &plan)
        .await
        .map_err(|f| format!("the plan failed: {f}\n{}", plan.to_sql()))?;
    let got = introspect(&client, &Scope::AllUserSchemas)
        .await
        .map_err(|e| e.to_string())?
        .catalog;
    let left = diff(&got, to, &[]).map_err(|e| e.to_string())?;
    if !left.is_empty() {
        return Err(format!(
            "no convergence; a second diff finds:\n{}\nplan:\n{}",
            left.to_sql(),
            plan.to_sql()
        ));
    }
    Ok(())
}

async fn run_seed(seed: u64) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let from = generate(&mut rng);
    let to = mutate(&mut rng, &from);
    let (from_sql, to_sql) = (render(&from), render(&to));
    let context = |e: String| format!("seed {seed}: {e}\n--- from\n{from_sql}--- to\n{to_sql}");
    let (from_db, from_catalog) = build(&from_sql).await.map_err(context)?;
    let (to_db, to_catalog) = build(&to_sql).await.map_err(context)?;
    converges(&from_db, &from_catalog, &to_catalog)
        .await
        .map_err(|e| context(format!("forward: {e}")))?;
    converges(&to_db, &to_catalog, &from_catalog)
        .await
        .map_err(|e| context(format!("reverse: {e}")))?;
    Ok(())
}

#[test]
fn random_schema_pairs_converge_both_ways() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let seeds: Vec<u64> = match std::env::var("STRATA_SEED") {
            Ok(seed) => vec![seed.parse().unwrap()],
            Err(_) => {
                let cases: u64 = std::env::var("STRATA_PROPERTY_CASES")
                    .ok()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(500);
                let base: u64 = std::env::var("STRATA_PROPERTY_BASE")
                    .ok()
                    .and_then(|c| c.parse().ok())
                    .unwrap_or(0);
                (base..base + cases).collect()
            }
        };
        let total = seeds.len();
        let limit = Arc::new(Semaphore::new(6));
        let tasks: Vec<_> = seeds
            .into_iter()
            .map(|seed| {
                let limit = limit.clone();
                tokio::spawn(async move {
                    let _permit = limit.acquire().await.unwrap();
                    run_seed(seed).await
                })
            })
            .collect();
        let mut failures = Vec::new();
        for task in tasks {
            if let Err(e) = task.await.unwrap() {
                failures.push(e);
            }
        }
        eprintln!(
            "property test: {} of {total} random schema pairs converged both ways",
            total - failures.len()
        );
        let shown: Vec<&String> = failures.iter().take(3).collect();
        assert!(
            failures.is_empty(),
            "{} of {total} cases failed; the first:\n{}",
            failures.len(),
            shown
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n\n")
        );
    });
}
