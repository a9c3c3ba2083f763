//! `strata codegen`: the Rust types of the declared schema, for typed data migrations; also
//! refreshed by `generate` and `push`, and compared by `check`.

use std::path::{Path, PathBuf};

use serde_json::json;
use strata_core::catalog::Catalog;

use super::opt::{CodegenArgs, Global};
use super::{Context, Outcome, json, note, say};
use crate::config::Project;
use crate::normalise::state::States;
use crate::source::cache::Cache;
use crate::source::migrations::Finding;
use crate::{Error, Result};

pub(super) async fn run(context: &Context, global: &Global, args: CodegenArgs) -> Result<Outcome> {
    let project = context.project(global)?;
    let Some(path) = target(&project) else {
        return Err(Error::Invalid(format!(
            "no [codegen] rust file in {}; add\n\n[codegen]\nrust = \"src/schema.rs\"\n\nto it",
            project
                .config_path
                .as_deref()
                .map_or_else(|| "strata.toml".into(), |p| p.display().to_string())
        )));
    };
    let declared = context.declared(&project)?;
    let scope = declared.scope();
    let server = context.scratch_server(&project).await?;
    let cache = Cache::new(&project.root);
    let states = States::new(&server, &project.root);
    let (wanted, _) = states
        .declared(&declared, &scope, &cache, context.fixpoint(&project))
        .await?;
    let file = super::census::folder(&project, &path);
    if args.check {
        let stale = stale(&project, &wanted);
        json::emit(json!({ "file": file, "stale": stale.is_some() }));
        return Ok(match stale {
            Some(finding) => {
                say(format!("{}: {}", finding.kind, finding.message));
                Outcome::Found
            }
            None => {
                say(format!("ok: {file} is up to date"));
                Outcome::Done
            }
        });
    }
    let written = write(&path, &wanted)?;
    json::emit(json!({ "file": file, "written": written }));
    say(if written {
        format!("wrote {file}")
    } else {
        format!("{file} is up to date")
    });
    Ok(Outcome::Done)
}

/// The configured file, as a path under the project root.
fn target(project: &Project) -> Option<PathBuf> {
    project
        .config
        .codegen
        .rust
        .as_ref()
        .map(|rust| project.root.join(rust))
}

/// Writes the generated code when it differs from the file; returns whether it wrote.
fn write(path: &Path, catalog: &Catalog) -> Result<bool> {
    let code = strata_core::codegen::rust(catalog);
    if std::fs::read_to_string(path).is_ok_and(|old| old == code) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
    }
    std::fs::write(path, code).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
    Ok(true)
}

/// After `generate` or `push`: rewrites the configured file from the declared catalog, if any.
pub(super) fn refresh(project: &Project, wanted: &Catalog) -> Result<()> {
    if let Some(path) = target(project)
        && write(&path, wanted)?
    {
        note(format!(
            "wrote {} (the Rust types of the declared schema)",
            super::census::folder(project, &path)
        ));
    }
    Ok(())
}

/// For `check`: a finding when the configured file is not what `codegen` would write.
pub(super) fn stale(project: &Project, wanted: &Catalog) -> Option<Finding> {
    let path = target(project)?;
    let code = strata_core::codegen::rust(wanted);
    let file = super::census::folder(project, &path);
    match std::fs::read_to_string(&path) {
        Ok(old) if old == code => None,
        Ok(_) => Some(Finding {
            kind: "codegen",
            message: format!("{file} is not what the declared schema gives; run `strata codegen`"),
        }),
        Err(_) => Some(Finding {
            kind: "codegen",
            message: format!("{file} is missing; run `strata codegen`"),
        }),
    }
}
