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
        let (pk, pk_type) = match t % 4 {
            0 => (
                "id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
                "integer",
            ),
            1 => ("id serial PRIMARY KEY", "integer"),
            2 => ("id uuid PRIMARY KEY DEFAULT gen_random_uuid()", "uuid"),
            _ => ("id bigserial PRIMARY KEY", "bigint"),
        };
        // An earlier table of the same schema with the same key type, when there is one.
        let parent = (0..t).rev().find(|p| p % SCHEMAS == s && p % 4 == t % 4);
        let parent_column = match parent {
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
