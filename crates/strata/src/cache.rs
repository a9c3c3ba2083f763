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
        let mut key = Key(Sha256::new());
        key.add(FORMAT.as_bytes())
            .add(env!("CARGO_PKG_VERSION").as_bytes())
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

    fn hex(&self) -> String {
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
        self.dir.join(format!("{kind}-{}.json", key.hex()))
    }

    /// The catalog stored under `key`, if any.
    pub fn catalog(&self, kind: &str, key: &Key) -> Option<Catalog> {
        let bytes = std::fs::read(self.path(kind, key)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Stores a catalog under `key`. Failing to write the cache only costs speed: it is ignored.
    pub fn store(&self, kind: &str, key: &Key, catalog: &Catalog) {
        let _ = self.try_store(kind, key, catalog);
    }

    fn try_store(&self, kind: &str, key: &Key, catalog: &Catalog) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(kind, key);
        // Written aside and renamed: a reader never sees half a file.
        let partial = path.with_extension(format!("json.{}", std::process::id()));
        std::fs::write(&partial, serde_json::to_vec(catalog)?)?;
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
    fn inputs_do_not_run_into_each_other() {
        let mut a = Key::new("declared", 150_000);
        a.add(b"ab").add(b"c");
        let mut b = Key::new("declared", 150_000);
        b.add(b"a").add(b"bc");
        assert_ne!(a.hex(), b.hex());
    }
}
