//! Deciding renames: a dropped and an added object of the same kind in the same parent may be
//! one object renamed. Flags decide, then `-- strata:renamed-from` annotations in the declared
//! files, then the user on a terminal; off a terminal an undecided case stops the command with
//! the flags that would decide it.

use strata_core::catalog::Catalog;
use strata_core::diff::{Rename, annotated_renames, parse_renames, rename_candidates};

use crate::source::declared::Declared;
use crate::{Error, Result};

use super::{ask, interactive};

/// The renames to plan from `from` to `to`, or `None` when some are undecided off a terminal
/// (the flags that decide them are printed). `force` treats undecided cases as drop and create.
pub(super) fn resolve(
    flags: &[String],
    declared: &Declared,
    from: &Catalog,
    to: &Catalog,
    force: bool,
) -> Result<Option<Vec<Rename>>> {
    // Annotations count while their old object is still there (an annotation outlives the
    // change that applied it).
    let mut texts = flags.to_vec();
    for file in &declared.files {
        for text in annotated_renames(&file.text) {
            if parse_renames(&[texts.clone(), vec![text.clone()]].concat(), from).is_ok() {
                texts.push(text);
            }
        }
    }
    let renames = parse_renames(&texts, from).map_err(Error::Invalid)?;
    let decided: Vec<String> = texts
        .iter()
        .filter_map(|t| t.split_once('=').map(|(old, _)| old.trim().to_owned()))
        .collect();
    let undecided: Vec<_> = rename_candidates(from, to)
        .into_iter()
        .filter(|c| !decided.contains(&c.old_path))
        .collect();
    if undecided.is_empty() || force {
        return Ok(Some(renames));
    }
    if !interactive() {
        let flags: Vec<String> = undecided
            .iter()
            .map(|c| format!("  {}", c.flag()))
            .collect();
        eprintln!(
            "strata: these may be renames; say which with\n{}\nor pass --force to drop and create them (or add `-- strata:renamed-from OLD` in the declared file)",
            flags.join("\n")
        );
        return Ok(None);
    }
    for candidate in &undecided {
        // One answer per object: once it is renamed, other pairings of either name are moot.
        let taken = texts.iter().any(|t| {
            t.split_once('=').is_some_and(|(old, new)| {
                old.trim() == candidate.old_path
                    || (new.trim() == candidate.new_name && same_parent(old, &candidate.old_path))
            })
        });
        if taken {
            continue;
        }
        if ask(&format!(
            "is {} {} renamed to {}? [y/N] ",
            candidate.kind, candidate.old_path, candidate.new_name
        ))? {
            texts.push(format!("{}={}", candidate.old_path, candidate.new_name));
        }
    }
    parse_renames(&texts, from)
        .map(Some)
        .map_err(Error::Invalid)
}

/// Whether two `--rename` paths name objects of the same parent (`s.t.a` and `s.t.b`).
fn same_parent(a: &str, b: &str) -> bool {
    let parent = |p: &str| {
        p.trim()
            .rsplit_once('.')
            .map(|(parent, _)| parent.to_owned())
    };
    parent(a) == parent(b)
}
