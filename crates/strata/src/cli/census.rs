//! The census: objects of the managed schemas that strata does not model, named by every
//! command that reads a schema (`inspect`, `pull`, `diff`, `push`, `generate`, `check`).
//!
//! A plan neither creates, changes nor drops such an object, so a command that went on without a
//! word would lose it on the way (a pulled file without it, a pushed database without it). Each
//! one is a warning; `--strict` or `[schema] strict = true` makes them an error; an entry
//! `kind:name` in `[schema] ignore` acknowledges one. The kinds are [`crate::introspect::CENSUS`],
//! the same list the catalog queries use.

use std::collections::BTreeMap;

use strata_core::catalog::Unmodeled;

use crate::config::Project;
use crate::introspect::CENSUS;
use crate::{Error, Result};

/// Warns about (or, when strict, refuses) the unmodelled objects of `sources`, each a
/// description (a database's URL, a folder) and its catalog's census.
pub(super) fn report(
    project: &Project,
    strict: bool,
    sources: &[(&str, &[Unmodeled])],
) -> Result<()> {
    let ignore = ignored(project)?;
    let mut found: BTreeMap<&Unmodeled, Vec<&str>> = BTreeMap::new();
    for (label, census) in sources {
        for object in census.iter() {
            if !ignore.contains(&object.key()) {
                found.entry(object).or_default().push(label);
            }
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = found
        .iter()
        .map(|(object, labels)| format!("  {object} (in {})", labels.join(" and ")))
        .collect();
    let acknowledge = "acknowledge one with ignore = [\"kind:name\"] under [schema] in strata.toml, e.g. ignore = [\"";
    let example = found.keys().next().map(|o| o.key()).unwrap_or_default();
    if strict || project.config.schema.strict {
        return Err(Error::Invalid(format!(
            "objects strata does not model, so it would neither keep nor drop them:\n{}\n\
             move them out of the managed schemas, {acknowledge}{example}\"], or drop --strict (and [schema] strict) to make this a warning",
            list.join("\n")
        )));
    }
    eprintln!(
        "strata: warning: objects strata does not model are left alone (a plan neither creates, changes nor drops them):\n{}\n\
         {acknowledge}{example}\"]; --strict makes this an error",
        list.join("\n")
    );
    Ok(())
}

/// A folder as the warnings name it: relative to the project root when it is inside it.
pub(super) fn folder(project: &Project, dir: &std::path::Path) -> String {
    dir.strip_prefix(&project.root)
        .unwrap_or(dir)
        .display()
        .to_string()
}

/// The `[schema] ignore` entries, each checked to be `kind:name` with a kind of the census.
fn ignored(project: &Project) -> Result<Vec<String>> {
    let entries = &project.config.schema.ignore;
    for entry in entries {
        let known = entry
            .split_once(':')
            .is_some_and(|(kind, name)| !name.is_empty() && CENSUS.iter().any(|(k, _)| *k == kind));
        if !known {
            let kinds: Vec<&str> = CENSUS.iter().map(|(k, _)| *k).collect();
            let file = project.config_path.as_deref().map_or_else(
                || crate::config::FILE_NAME.to_owned(),
                |p| p.display().to_string(),
            );
            return Err(Error::Invalid(format!(
                "{file}: [schema] ignore entry \"{entry}\" is not `kind:name` (as the warnings name the object) with a kind strata does not model: {}",
                kinds.join(", ")
            )));
        }
    }
    Ok(entries.clone())
}
