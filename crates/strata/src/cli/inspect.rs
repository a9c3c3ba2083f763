//! `strata inspect`: print the catalog of a database.

use std::fmt::Write as _;

use strata_core::catalog::{Catalog, ConstraintKind, FunctionKind, TableKind, TypeKind, ViewKind};

use crate::Result;
use crate::introspect;

use super::opt::{Global, InspectArgs};
use super::{Context, Outcome, census, say};

pub(super) async fn run(context: &Context, global: &Global, args: InspectArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let (client, url) = context.connect_target(&project, &args.target).await?;
    let scope = context.scope(&project, &args.schemas);
    let result =
        introspect::introspect_without(&client, &scope, &project.tracking_tables()?).await?;
    census::report(
        &project,
        args.strict,
        &[(&url.to_string(), &result.catalog.unmodeled)],
    )?;
    if super::json::on() {
        super::json::emit(serde_json::to_value(&result.catalog).expect("a catalog serialises"));
    } else {
        say(summary(&result.catalog).trim_end());
        say(format!("\ncatalog hash: {}", result.catalog.hash()));
    }
    Ok(Outcome::Done)
}

/// A readable overview: per schema, one line per object.
fn summary(catalog: &Catalog) -> String {
    let mut out = String::new();
    for (schema, info) in &catalog.schemas {
        let _ = writeln!(
            out,
            "schema {schema}{}",
            info.comment
                .as_ref()
                .map(|c| format!("  -- {c}"))
                .unwrap_or_default()
        );
        for (name, table) in catalog.tables.iter().filter(|(n, _)| &n.schema == schema) {
            let mut parts = vec![format!("{} columns", table.columns.len())];
            let count = |kind| {
                table
                    .constraints
                    .values()
                    .filter(|c| c.kind == kind)
                    .count()
            };
            if count(ConstraintKind::PrimaryKey) > 0 {
                parts.push("primary key".into());
            }
            for (n, one, many) in [
                (
                    count(ConstraintKind::ForeignKey),
                    "foreign key",
                    "foreign keys",
                ),
                (
                    count(ConstraintKind::Unique),
                    "unique constraint",
                    "unique constraints",
                ),
                (count(ConstraintKind::Check), "check", "checks"),
                (
                    count(ConstraintKind::Exclusion),
                    "exclusion constraint",
                    "exclusion constraints",
                ),
                (table.indexes.len(), "index", "indexes"),
                (table.triggers.len(), "trigger", "triggers"),
                (table.policies.len(), "policy", "policies"),
            ] {
                match n {
                    0 => {}
                    1 => parts.push(format!("1 {one}")),
                    n => parts.push(format!("{n} {many}")),
                }
            }
            if table.rls_enabled {
                parts.push("row-level security".into());
            }
            let what = match (&table.kind, &table.partition_of) {
                (_, Some(p)) => format!("partition of {} {}", p.parent, p.bound),
                (TableKind::Partitioned, None) => format!(
                    "table partitioned by {}",
                    table.partition_key.as_deref().unwrap_or("?")
                ),
                (TableKind::Ordinary, None) => "table".into(),
                (TableKind::Foreign, None) => format!(
                    "foreign table on {}",
                    table.foreign.as_ref().map_or("?", |f| f.server.as_str())
                ),
            };
            let _ = writeln!(out, "  {what} {}  ({})", name.name, parts.join(", "));
        }
        for (name, view) in catalog.views.iter().filter(|(n, _)| &n.schema == schema) {
            let kind = if view.kind == ViewKind::Materialized {
                "materialized view"
            } else {
                "view"
            };
            let _ = writeln!(
                out,
                "  {kind} {}  ({} columns)",
                name.name,
                view.columns.len()
            );
        }
        for (name, sequence) in catalog
            .sequences
            .iter()
            .filter(|(n, _)| &n.schema == schema)
        {
            let owner = sequence
                .owned_by
                .as_ref()
                .map(|(t, c)| format!("  (owned by {t}.{c})"))
                .unwrap_or_default();
            let _ = writeln!(out, "  sequence {}{owner}", name.name);
        }
        for (name, ty) in catalog.types.iter().filter(|(n, _)| &n.schema == schema) {
            let line = match &ty.kind {
                TypeKind::Enum { labels } => format!("enum {}  ({})", name.name, labels.join(", ")),
                TypeKind::Domain { base, .. } => format!("domain {}  ({base})", name.name),
                TypeKind::Composite { attributes } => {
                    format!("type {}  ({} attributes)", name.name, attributes.len())
                }
                TypeKind::Range { subtype, .. } => format!("range {}  ({subtype})", name.name),
            };
            let _ = writeln!(out, "  {line}");
        }
        for (key, function) in catalog
            .functions
            .iter()
            .filter(|(k, _)| &k.name.schema == schema)
        {
            let kind = match function.kind {
                FunctionKind::Function => "function",
                FunctionKind::Procedure => "procedure",
                FunctionKind::Aggregate => "aggregate",
                FunctionKind::Window => "window function",
            };
            let result = if function.result.is_empty() {
                String::new()
            } else {
                format!(" -> {}", function.result)
            };
            let _ = writeln!(out, "  {kind} {}({}){result}", key.name.name, key.arguments);
        }
    }
    if !catalog.extensions.is_empty() {
        let list: Vec<String> = catalog
            .extensions
            .iter()
            .map(|(n, e)| format!("{n} {}", e.version))
            .collect();
        let _ = writeln!(out, "extensions: {}", list.join(", "));
    }
    let _ = write!(out, "{} objects", catalog.object_count());
    out
}
