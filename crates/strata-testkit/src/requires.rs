//! What a fixture needs of the server under test: its `requires.txt`, a line each, the lowest
//! `server_version_num` (e.g. `150000`) or `icu` for a server built with ICU.

use crate::TestDb;

/// What the server under test is.
#[derive(Debug, Clone, Copy)]
pub struct Capabilities {
    /// `server_version_num`.
    pub version: u32,
    /// Built with ICU (its `*-x-icu` collations exist).
    pub icu: bool,
}

impl Capabilities {
    /// Asks the test server.
    pub async fn of_server() -> Capabilities {
        let db = TestDb::new().await;
        let row = db
            .client()
            .await
            .query_one(
                "SELECT current_setting('server_version_num')::int,
                        EXISTS (SELECT 1 FROM pg_collation WHERE collprovider = 'i' AND collname LIKE '%-x-icu')",
                &[],
            )
            .await
            .expect("the server's version and ICU support");
        Capabilities {
            version: row.get::<_, i32>(0) as u32,
            icu: row.get(1),
        }
    }

    /// Whether a fixture whose `requires.txt` says `requires` runs on this server.
    pub fn allow(&self, requires: &str) -> bool {
        requires
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .all(|line| match line {
                "icu" => self.icu,
                version => version
                    .parse::<u32>()
                    .map(|v| self.version >= v)
                    .unwrap_or_else(|_| {
                        panic!("requires.txt: `{line}` is neither a version nor `icu`")
                    }),
            })
    }
}
