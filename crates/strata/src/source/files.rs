//! The project's files as strata reads and writes them: text that must be UTF-8, and folder
//! names that stand for PostgreSQL schema names.
//!
//! A schema name may hold any character (`a/b`, `../../x`, `/etc`, quotes, a leading dot), so
//! the folder `schemas/<folder>/` of a schema is its name with the characters that a path gives a
//! meaning to percent-encoded: `/` and `\` (`%2F`, `%5C`), `%` itself, control characters, those
//! other systems refuse in file names (`<>:"|?*`), a leading dot (no `.`, `..` or hidden folder)
//! and a trailing dot or space. Reading a folder name decodes it, so `pull` then `push` recreates
//! the same names, and a folder written by hand with a plain name is that name.

use std::ffi::OsStr;
use std::path::{Component, Path};

use crate::{Error, Result};

/// The folder name of a schema: one path component, never `.` or `..`.
pub fn folder_name(schema: &str) -> String {
    let last = schema.chars().count().saturating_sub(1);
    let mut out = String::with_capacity(schema.len());
    for (i, c) in schema.chars().enumerate() {
        let escape = matches!(
            c,
            '/' | '\\' | '%' | '<' | '>' | ':' | '"' | '|' | '?' | '*'
        ) || c.is_control()
            || (i == 0 && c == '.')
            || (i == last && matches!(c, '.' | ' '));
        if escape {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The schema a folder stands for: the folder name, percent-decoded (a `%` not followed by two
/// hex digits stays as it is).
pub fn schema_name(folder: &str) -> String {
    let bytes = folder.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: Option<&u8>| b.and_then(|b| (*b as char).to_digit(16));
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    // Decoding escapes written by `folder_name` gives UTF-8 back; a folder made by hand with
    // escapes of broken UTF-8 keeps its name as written.
    String::from_utf8(out).unwrap_or_else(|_| folder.to_owned())
}

/// Whether `name` is exactly one normal path component (no separator, not `.` or `..`, not
/// absolute), so that `dir.join(name)` stays inside `dir`.
pub fn is_one_folder(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!(
        (components.next(), components.next()),
        (Some(Component::Normal(_)), None)
    ) && !name.contains(['/', '\\'])
}

/// The schemas whose folders are in `dir`, by name. A folder whose name is not UTF-8 is an
/// error naming it: skipping it would leave its schema unmanaged without a word.
pub fn schema_folders(dir: &Path) -> Result<Vec<String>> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(format!("reading {}", dir.display()), e))?;
        if !entry.path().is_dir() {
            continue;
        }
        let file_name = entry.file_name();
        names.push(schema_name(utf8_name(&entry.path(), &file_name)?));
    }
    names.sort();
    Ok(names)
}

/// A file or folder name as UTF-8, or an error that names the path and what to do.
pub fn utf8_name<'a>(path: &Path, name: &'a OsStr) -> Result<&'a str> {
    name.to_str().ok_or_else(|| {
        Error::Invalid(format!(
            "{}: the name is not UTF-8 text; rename it (strata names schemas and migrations after their files)",
            path.display()
        ))
    })
}

/// A text file, which must be UTF-8: an error names the file, and the line and column of the
/// first byte that is not.
pub fn read_text(path: &Path) -> Result<String> {
    let bytes =
        std::fs::read(path).map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let valid = std::str::from_utf8(valid).unwrap_or_default();
        let line = valid.matches('\n').count() + 1;
        let column = valid.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        let byte = e.as_bytes()[valid.len()];
        Error::Invalid(format!(
            "{}:{line}:{column}: not UTF-8 text (byte 0x{byte:02X}); save the file as UTF-8",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_one_safe_component_and_round_trip() {
        for schema in [
            "questions",
            "a/b",
            "../../x",
            "..",
            ".",
            "/etc",
            "C:\\temp",
            ".hidden",
            "trailing.",
            "trailing ",
            "we\"ird'name",
            "with space",
            "ünïcødé 表",
            "select",
            "100%",
            "%2F",
            "tab\there",
            &"x".repeat(63),
            &"é".repeat(31),
        ] {
            let folder = folder_name(schema);
            assert!(is_one_folder(&folder), "{schema:?} -> {folder:?}");
            assert!(!folder.starts_with('.'), "{folder}");
            assert_eq!(schema_name(&folder), schema, "{folder}");
        }
        assert_eq!(folder_name("questions"), "questions");
        assert_eq!(folder_name("a/b"), "a%2Fb");
        assert_eq!(folder_name(".."), "%2E%2E");
        assert_eq!(schema_name("plain-100%"), "plain-100%", "a lone % stays");
    }

    #[test]
    fn is_one_folder_refuses_paths() {
        for bad in ["", ".", "..", "a/b", "/abs", "a\\b"] {
            assert!(!is_one_folder(bad), "{bad}");
        }
        assert!(is_one_folder("a b"));
    }

    #[test]
    fn text_that_is_not_utf8_names_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("schema.sql");
        std::fs::write(&path, b"CREATE SCHEMA a;\n-- caf\xe9\n").unwrap();
        let err = read_text(&path).unwrap_err().to_string();
        assert!(
            err.contains("schema.sql:2:7: not UTF-8 text (byte 0xE9)"),
            "{err}"
        );
    }
}
