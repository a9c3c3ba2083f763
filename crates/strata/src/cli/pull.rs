//! `strata pull`: a database's schema written as declared files, one folder per schema.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use strata_core::catalog::{Catalog, Grant, Privileges, Schema};
use strata_core::diff::diff;
use strata_core::plan::{ObjectRef, Step};

use crate::{Error, Result};

use super::opt::{Global, PullArgs};
use super::{Context, Outcome, census, say};

pub(super) async fn run(context: &Context, global: &Global, args: PullArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let (client, url) = context.connect_target(&project, &args.target).await?;
    let scope = context.scope(&project, &[]);
    let live = context.live_catalog(&project, &client, &scope).await?;
    census::report(
        &project,
        args.strict,
        &[(&url.to_string(), &live.unmodeled)],
    )?;

    // What every new database already has (the public schema, plpgsql) is not written; what
    // was changed on it (grants on public, its comment) is.
    let mut base = Catalog::default();
    if live.schemas.contains_key("public") {
        let version = crate::postgres::server_version(&client).await?;
        base.schemas.insert("public".into(), fresh_public(version));
    }
    if let Some(plpgsql) = live.extensions.get("plpgsql") {
        // As installed: a comment changed on it is written.
        let mut fresh = plpgsql.clone();
        fresh.comment = fresh.installed_comment.clone();
        base.extensions.insert("plpgsql".into(), fresh);
    }
    let plan =
        diff(&base, &live, &[]).map_err(|e| Error::Invalid(format!("cannot render {url}: {e}")))?;

    let mut files: BTreeMap<String, String> = BTreeMap::new();
    let schemas = file_schemas(&plan.steps);
    for (step, schema) in plan.steps.iter().zip(schemas) {
        let text = files.entry(schema).or_default();
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&step.sql);
        text.push_str(";\n");
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| project.config.schema.dir.clone());
    let out = project.root.join(out);
    // Check every file before writing any: local edits are never half overwritten.
    let mut writes = Vec::new();
    for (schema, body) in &files {
        let path = schema_file(&out, schema)?;
        let text = format!(
            "-- Written by strata pull. Edit freely: this is the declared schema of `{schema}`.\n\n{body}"
        );
        match std::fs::read_to_string(&path) {
            Ok(existing) if existing == text => continue,
            Ok(_) if !args.force => {
                return Err(Error::Invalid(format!(
                    "{} differs from the database (local edits?); nothing was written. Pass --force to overwrite it",
                    path.display()
                )));
            }
            _ => writes.push((path, text)),
        }
    }
    for (path, text) in &writes {
        write(path, text)?;
        say(format!("wrote {}", path.display()));
    }
    super::json::emit(serde_json::json!({
        "database": url.to_string(),
        "written": writes
            .iter()
            .map(|(path, _)| super::census::folder(&project, path))
            .collect::<Vec<_>>(),
    }));
    if writes.is_empty() {
        say(format!("{} already matches {url}", out.display()));
    }
    Ok(Outcome::Done)
}

/// `out/<folder>/schema.sql` for a schema, where the folder is the schema's name escaped (a
/// schema named `../../x` or `/etc` is written inside `out` like any other), and neither the
/// folder nor the file is a symbolic link that would lead elsewhere.
fn schema_file(out: &Path, schema: &str) -> Result<PathBuf> {
    let folder = crate::source::files::folder_name(schema);
    if !crate::source::files::is_one_folder(&folder) {
        return Err(Error::Invalid(format!(
            "schema `{schema}` has no safe folder name (`{folder}`); nothing was written"
        )));
    }
    let dir = out.join(&folder);
    let path = dir.join("schema.sql");
    for part in [&dir, &path] {
        if part
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return Err(Error::Invalid(format!(
                "{} is a symbolic link; pull writes only inside {}, so nothing was written (replace the link with a folder or file)",
                part.display(),
                out.display()
            )));
        }
    }
    Ok(path)
}

/// The `public` schema of a new database: its comment, and `USAGE` for everyone (and `CREATE`
/// before PostgreSQL 15).
fn fresh_public(server_version: u32) -> Schema {
    let grant = |privilege: &str| Grant {
        grantee: "PUBLIC".into(),
        privilege: privilege.into(),
        grantable: false,
    };
    let mut granted = vec![grant("USAGE")];
    if server_version < 150_000 {
        granted.insert(0, grant("CREATE"));
    }
    Schema {
        comment: Some("standard public schema".into()),
        privileges: Privileges {
            granted,
            revoked: Vec::new(),
        },
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    }
    std::fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

/// The schema whose file each step goes to. Database-wide objects (foreign data wrappers,
/// servers, user mappings) go with the first object that needs them, else with what they
/// need, else to `public`.
fn file_schemas(steps: &[Step]) -> Vec<String> {
    let mut schemas: Vec<Option<String>> = steps.iter().map(step_schema).collect();
    for i in (0..steps.len()).rev() {
        if schemas[i].is_none() {
            schemas[i] = (i + 1..steps.len())
                .filter(|&j| steps[j].needs.iter().any(|r| steps[i].creates.contains(r)))
                .find_map(|j| schemas[j].clone());
        }
    }
    for i in 0..steps.len() {
        if schemas[i].is_none() {
            schemas[i] = (0..i)
                .filter(|&k| steps[i].needs.iter().any(|r| steps[k].creates.contains(r)))
                .find_map(|k| schemas[k].clone());
        }
    }
    schemas
        .into_iter()
        .map(|s| s.unwrap_or_else(|| "public".to_owned()))
        .collect()
}

/// The schema a step belongs to: that of the first object it creates, else of what it needs.
fn step_schema(step: &Step) -> Option<String> {
    step.creates
        .iter()
        .chain(&step.needs)
        .find_map(|r| match r {
            ObjectRef::Schema { name } | ObjectRef::Extension { name } => {
                if matches!(r, ObjectRef::Schema { .. }) {
                    Some(name.clone())
                } else {
                    None
                }
            }
            ObjectRef::Relation { name }
            | ObjectRef::Index { name }
            | ObjectRef::Signature { name, .. }
            | ObjectRef::Collation { name }
            | ObjectRef::Statistics { name } => Some(name.schema.clone()),
            ObjectRef::Shape { table }
            | ObjectRef::Constraint { table, .. }
            | ObjectRef::Trigger { table, .. }
            | ObjectRef::Policy { table, .. }
            | ObjectRef::Rule { table, .. } => Some(table.schema.clone()),
            ObjectRef::Function { key } => Some(key.name.schema.clone()),
            ObjectRef::Operator { schema, .. } => Some(schema.clone()),
            // Database-wide objects go with the first schema object that needs them.
            ObjectRef::Cast { .. } | ObjectRef::Wrapper { .. } | ObjectRef::Server { .. } => None,
        })
}
