//! A content-addressed cache of normalised catalogs, in the project's `.strata/cache`.
//!
//! Normalising declared files or replaying a migration history costs a scratch database; the
//! result depends only on the files' content, the managed schemas, the PostgreSQL version that
//! normalised them and strata's own version. Those are hashed into the key, so an unchanged
//! schema costs one file read, and a stale entry can never be hit: any change makes a new key.
//! A damaged entry is a miss, never an error.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};
use strata_core::catalog::Catalog;

use crate::introspect::Scope;

/// Bumped when the cached format or what normalisation produces changes.
const FORMAT: &str = "2";

/// How many entries of each kind are kept (the newest by modification time).
const KEEP: usize = 8;

/// The cache folder of a project.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// Builds a cache key from the inputs a result depends on.
#[derive(Clone)]
pub struct Key(Sha256);

impl Key {
    /// A key for results of one kind (`declared`, `history`), normalised by a server of
    /// `server_version`.
    pub fn new(kind: &str, server_version: u32) -> Key {
        Key::of_version(env!("CARGO_PKG_VERSION"), kind, server_version)
    }

    /// As [`Key::new`], for results of strata version `strata` (another version may normalise
    /// differently: its results are never taken).
    fn of_version(strata: &str, kind: &str, server_version: u32) -> Key {
        let mut key = Key(Sha256::new());
        key.add(FORMAT.as_bytes())
            .add(strata.as_bytes())
            .add(kind.as_bytes())
            .add(&(server_version / 100).to_le_bytes());
        key
    }

    /// Adds the managed schemas.
    pub fn add_scope(&mut self, scope: &Scope) -> &mut Key {
        match scope {
            Scope::AllUserSchemas => self.add(b"*"),
            Scope::Schemas(names) => self.add(names.join("\n").as_bytes()),
        }
    }

    /// Adds one input, length-prefixed so that inputs cannot run into each other.
    pub fn add(&mut self, bytes: &[u8]) -> &mut Key {
        self.0.update((bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
        self
    }

    /// The key as 64 hex digits.
    pub fn hex(&self) -> String {
        self.0
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl Cache {
    /// The cache of the project whose root is `root`.
    pub fn new(root: &Path) -> Cache {
        Cache {
            dir: root.join(".strata").join("cache"),
        }
    }

    fn path(&self, kind: &str, key: &Key) -> PathBuf {
        self.path_hex(kind, &key.hex())
    }

    fn path_hex(&self, kind: &str, hex: &str) -> PathBuf {
        self.dir.join(format!("{kind}-{hex}.json"))
    }

    /// The catalog stored under `key`, if any.
    pub fn catalog(&self, kind: &str, key: &Key) -> Option<Catalog> {
        self.json(kind, key)
    }

    /// Stores a catalog under `key`. Failing to write the cache only costs speed: it is ignored.
    pub fn store(&self, kind: &str, key: &Key, catalog: &Catalog) {
        self.store_json(kind, key, catalog);
    }

    /// Any value stored under `key` as JSON, if it is there and reads back.
    pub fn json<T: serde::de::DeserializeOwned>(&self, kind: &str, key: &Key) -> Option<T> {
        let bytes = std::fs::read(self.path(kind, key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// As [`Cache::json`], for a key known by its hex digits (as a kept database records it).
    pub fn json_hex<T: serde::de::DeserializeOwned>(&self, kind: &str, hex: &str) -> Option<T> {
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let bytes = std::fs::read(self.path_hex(kind, hex)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores a value under `key` as JSON (ignoring failures, like [`Cache::store`]).
    pub fn store_json<T: serde::Serialize + ?Sized>(&self, kind: &str, key: &Key, value: &T) {
        let _ = self.try_store(kind, key, value);
    }

    fn try_store<T: serde::Serialize + ?Sized>(
        &self,
        kind: &str,
        key: &Key,
        value: &T,
    ) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(kind, key);
        // Written aside and renamed: a reader never sees half a file.
        let partial = path.with_extension(format!("json.{}", std::process::id()));
        std::fs::write(&partial, serde_json::to_vec(value)?)?;
        std::fs::rename(&partial, &path)?;
        self.prune(kind);
        Ok(())
    }

    /// Keeps the newest entries of a kind.
    fn prune(&self, kind: &str) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let prefix = format!("{kind}-");
        let mut files: Vec<(std::time::SystemTime, PathBuf)> = entries
            .flatten()
            .filter(|e| {
                e.file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".json"))
            })
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        files.sort_by_key(|f| std::cmp::Reverse(f.0));
        for (_, path) in files.into_iter().skip(KEEP) {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_catalog_comes_back_under_its_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let mut catalog = Catalog::default();
        catalog
            .schemas
            .insert("questions".into(), Default::default());
        let mut key = Key::new("declared", 150_004);
        key.add(b"CREATE SCHEMA questions;");
        assert_eq!(cache.catalog("declared", &key), None);
        cache.store("declared", &key, &catalog);
        assert_eq!(cache.catalog("declared", &key), Some(catalog.clone()));

        // Another input, another kind or another major version: a miss.
        let mut other = Key::new("declared", 150_004);
        other.add(b"CREATE SCHEMA questions; ");
        assert_eq!(cache.catalog("declared", &other), None);
        assert_eq!(cache.catalog("history", &key), None);
        let mut newer = Key::new("declared", 160_000);
        newer.add(b"CREATE SCHEMA questions;");
        assert_eq!(cache.catalog("declared", &newer), None);
        // A minor release normalises the same way.
        let mut minor = Key::new("declared", 150_010);
        minor.add(b"CREATE SCHEMA questions;");
        assert_eq!(cache.catalog("declared", &minor), Some(catalog));

        // A damaged entry is a miss.
        std::fs::write(cache.path("declared", &key), b"{not json").unwrap();
        assert_eq!(cache.catalog("declared", &key), None);
    }

    #[test]
    fn every_input_of_a_result_is_in_its_key() {
        let base = || {
            let mut key = Key::of_version("0.1.0", "declared", 150_004);
            key.add_scope(&Scope::Schemas(vec!["app".into()]));
            key.add(b"schemas/app/schema.sql")
                .add(b"CREATE SCHEMA app;");
            key
        };
        let same = base().hex();
        assert_eq!(same, base().hex());
        let mut other_strata = Key::of_version("0.2.0", "declared", 150_004);
        other_strata.add_scope(&Scope::Schemas(vec!["app".into()]));
        other_strata
            .add(b"schemas/app/schema.sql")
            .add(b"CREATE SCHEMA app;");
        let mut other_server = Key::of_version("0.1.0", "declared", 160_002);
        other_server.add_scope(&Scope::Schemas(vec!["app".into()]));
        other_server
            .add(b"schemas/app/schema.sql")
            .add(b"CREATE SCHEMA app;");
        let mut other_scope = Key::of_version("0.1.0", "declared", 150_004);
        other_scope.add_scope(&Scope::Schemas(vec!["app".into(), "core".into()]));
        other_scope
            .add(b"schemas/app/schema.sql")
            .add(b"CREATE SCHEMA app;");
        let mut other_path = Key::of_version("0.1.0", "declared", 150_004);
        other_path.add_scope(&Scope::Schemas(vec!["app".into()]));
        other_path
            .add(b"schemas/core/schema.sql")
            .add(b"CREATE SCHEMA app;");
        let mut other_text = Key::of_version("0.1.0", "declared", 150_004);
        other_text.add_scope(&Scope::Schemas(vec!["app".into()]));
        other_text
            .add(b"schemas/app/schema.sql")
            .add(b"CREATE SCHEMA app ;");
        for other in [
            other_strata,
            other_server,
            other_scope,
            other_path,
            other_text,
        ] {
            assert_ne!(other.hex(), same);
        }
    }

    #[test]
    fn inputs_do_not_run_into_each_other() {
        let mut a = Key::new("declared", 150_000);
        a.add(b"ab").add(b"c");
        let mut b = Key::new("declared", 150_000);
        b.add(b"a").add(b"bc");
        assert_ne!(a.hex(), b.hex());
    }
}
