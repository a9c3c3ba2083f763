//! The bench schema: N tables over 10 schemas.
//!
//! Per table: a primary key that is in turn identity, serial, uuid and bigserial; a `parent_id`
//! foreign key to an earlier table of the same schema; `varchar(255)`, `numeric(12,2)`,
//! `boolean`, the schema's enum, `timestamptz DEFAULT now()`, `jsonb`; and one index.

use std::fmt::Write as _;

/// Number of PostgreSQL schemas the tables are spread over.
pub const SCHEMAS: usize = 10;

/// The DDL of the bench schema with `tables` tables, as one SQL script.
pub fn sql(tables: usize) -> String {
    let mut out = String::new();
    for s in 0..SCHEMAS {
        let _ = writeln!(out, "CREATE SCHEMA bench_{s};");
        let _ = writeln!(
            out,
            "CREATE TYPE bench_{s}.state AS ENUM ('new', 'active', 'archived');"
        );
    }
    for t in 0..tables {
        let s = t % SCHEMAS;
        let (pk, pk_type) = match key_kind(t) {
            0 => (
                "id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                "integer",
            ),
            1 => ("id serial PRIMARY KEY", "integer"),
            2 => ("id uuid PRIMARY KEY DEFAULT gen_random_uuid()", "uuid"),
            _ => ("id bigserial PRIMARY KEY", "bigint"),
        };
        let parent_column = match parent_of(t) {
            Some(p) => format!("parent_id {pk_type} REFERENCES bench_{s}.t{p} (id)"),
            None => format!("parent_id {pk_type}"),
        };
        let _ = writeln!(
            out,
            "CREATE TABLE bench_{s}.t{t} (\n  {pk},\n  {parent_column},\n  name varchar(255) NOT NULL,\n  \
             amount numeric(12,2),\n  active boolean NOT NULL DEFAULT true,\n  state bench_{s}.state NOT NULL DEFAULT 'new',\n  \
             created_at timestamptz NOT NULL DEFAULT now(),\n  data jsonb\n);"
        );
        let _ = writeln!(out, "CREATE INDEX t{t}_name_idx ON bench_{s}.t{t} (name);");
    }
    out
}

/// The same schema as declared files: (schema name, its SQL), each schema's tables in its own
/// file. Foreign keys stay within a schema, so each file stands on its own.
pub fn per_schema(tables: usize) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = (0..SCHEMAS)
        .map(|s| (format!("bench_{s}"), String::new()))
        .collect();
    let all = sql(tables);
    for statement in all.split_inclusive(";\n") {
        let s = statement
            .split("bench_")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|digits| digits.parse::<usize>().ok())
            .expect("every statement names its schema");
        files[s].1.push_str(statement);
    }
    files
}

/// The primary-key kind of table `t`: 0 identity, 1 serial, 2 uuid, 3 bigserial.
fn key_kind(t: usize) -> usize {
    t % 4
}

/// The earlier table of the same schema with the same key type that table `t` refers to.
fn parent_of(t: usize) -> Option<usize> {
    (0..t)
        .rev()
        .find(|p| p % SCHEMAS == t % SCHEMAS && key_kind(*p) == key_kind(t))
}

/// The same schema as a Drizzle schema in TypeScript: (file name, its source), one file per
/// PostgreSQL schema. Foreign keys carry PostgreSQL's default names (`tN_parent_id_fkey`) so
/// that the TypeScript and the SQL describe the same database.
pub fn drizzle(tables: usize) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = (0..SCHEMAS)
        .map(|s| {
            let mut source = String::from(
                "import { pgSchema, integer, serial, uuid, bigserial, bigint, varchar, numeric, \
                 boolean, timestamp, jsonb, index, foreignKey } from \"drizzle-orm/pg-core\";\n\n",
            );
            let _ = writeln!(source, "export const bench_{s} = pgSchema(\"bench_{s}\");");
            let _ = writeln!(
                source,
                "export const bench_{s}_state = bench_{s}.enum(\"state\", [\"new\", \"active\", \"archived\"]);\n"
            );
            (format!("bench_{s}.ts"), source)
        })
        .collect();
    for t in 0..tables {
        let s = t % SCHEMAS;
        let (pk, parent_type) = match key_kind(t) {
            0 => (
                "integer().generatedAlwaysAsIdentity().primaryKey()",
                "integer()",
            ),
            1 => ("serial().primaryKey()", "integer()"),
            2 => ("uuid().defaultRandom().primaryKey()", "uuid()"),
            _ => (
                "bigserial({ mode: \"number\" }).primaryKey()",
                "bigint({ mode: \"number\" })",
            ),
        };
        let extra = match parent_of(t) {
            Some(p) => format!(
                "(t) => [\n  index(\"t{t}_name_idx\").on(t.name),\n  \
                 foreignKey({{ name: \"t{t}_parent_id_fkey\", columns: [t.parent_id], foreignColumns: [t{p}.id] }}),\n]"
            ),
            None => format!("(t) => [index(\"t{t}_name_idx\").on(t.name)]"),
        };
        let _ = writeln!(
            files[s].1,
            "export const t{t} = bench_{s}.table(\"t{t}\", {{\n  id: {pk},\n  parent_id: {parent_type},\n  \
             name: varchar({{ length: 255 }}).notNull(),\n  amount: numeric({{ precision: 12, scale: 2 }}),\n  \
             active: boolean().notNull().default(true),\n  state: bench_{s}_state().notNull().default(\"new\"),\n  \
             created_at: timestamp({{ withTimezone: true }}).notNull().defaultNow(),\n  data: jsonb(),\n}}, {extra});\n"
        );
    }
    files
}

/// Writes the `tables`-table bench schema under `dir`: `bench.sql` (one script),
/// `schemas/bench_S/schema.sql` (strata's declared files) and `drizzle/bench_S.ts` (Drizzle's).
pub fn write_all(tables: usize, dir: &std::path::Path) -> Result<(), String> {
    let write = |path: std::path::PathBuf, text: &str| {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("writing {}: {e}", path.display()))
    };
    write(dir.join("bench.sql"), &sql(tables))?;
    for (schema, text) in per_schema(tables) {
        write(dir.join("schemas").join(schema).join("schema.sql"), &text)?;
    }
    for (file, text) in drizzle(tables) {
        write(dir.join("drizzle").join(file), &text)?;
    }
    Ok(())
}
