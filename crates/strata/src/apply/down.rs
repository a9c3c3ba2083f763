//! Down files verified by replay: each must take the schema from the state after its migration
//! back to the state before it.
//!
//! `generate` verifies the down files it writes on the kept history (see
//! [`crate::normalise::state::States::verify_on_history`]). The files in a folder may have been written by
//! hand or edited since, so `check` replays the whole history once in a scratch database and,
//! after each migration that has a down file, runs the down file and compares the catalog with
//! the one before the migration (texts at their fixed point). A transactional down file runs
//! inside a transaction that is then rolled back; a `no-transaction` one runs for real and its
//! migration runs again after it. The verdict is cached by the files' content.

use serde::{Deserialize, Serialize};
use strata_core::catalog::Catalog;
use tokio_postgres::Client;

use crate::apply::verify;
use crate::introspect::{Scope, introspect, introspect_within};
use crate::normalise::fixpoint::{Fixpoint, Probes};
use crate::normalise::scratch::ScratchServer;
use crate::source::cache::Cache;
use crate::source::migrations::{Finding, Migration, history_key, run_script};
use crate::{Error, Result};

/// What the replay found about the down files, as cached.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Verdict {
    /// `(kind, message)` of each finding.
    findings: Vec<(String, String)>,
}

/// Verifies every down file of `migrations` by replaying the history in a scratch database on
/// `server`; one finding (`down`) per down file that does not give back the state before its
/// migration, or does not run. A migration without a down file is not a finding.
pub async fn verify_downs(
    server: &ScratchServer,
    migrations: &[Migration],
    scope: &Scope,
    cache: &Cache,
    fixpoint: &Fixpoint,
) -> Result<Vec<Finding>> {
    if migrations.iter().all(|m| m.down.is_none()) {
        return Ok(Vec::new());
    }
    let mut key = history_key(migrations, server.server_version(), scope);
    key.add(b"downs");
    for migration in migrations {
        if let Some(down) = &migration.down {
            key.add(down.file_name.as_bytes())
                .add(down.checksum.as_bytes());
        }
    }
    let started = std::time::Instant::now();
    let verdict = match cache.json::<Verdict>("downs", &key) {
        Some(verdict) => verdict,
        None => {
            let verdict = replay(server, migrations, scope, fixpoint).await?;
            cache.store_json("downs", &key, &verdict);
            verdict
        }
    };
    crate::progress::debug_timed("verified the down files", started);
    Ok(verdict
        .findings
        .into_iter()
        .map(|(kind, message)| Finding {
            kind: if kind == "empty" { "empty" } else { "down" },
            message,
        })
        .collect())
}

async fn replay(
    server: &ScratchServer,
    migrations: &[Migration],
    scope: &Scope,
    fixpoint: &Fixpoint,
) -> Result<Verdict> {
    let db = server.create(None).await?;
    let result = async {
        let client = crate::postgres::connect(db.url()).await?;
        client
            .batch_execute("SET check_function_bodies = false")
            .await
            .map_err(|e| Error::db("preparing the scratch database", e))?;
        let mut verdict = Verdict::default();
        let mut before = introspect(&client, scope).await?.catalog;
        let mut progress = crate::progress::Progress::start(
            "verifying the down files",
            migrations.len() as u64,
            "migrations",
        );
        for (i, migration) in migrations.iter().enumerate() {
            progress.inc();
            run_script(&client, migration).await.map_err(|e| {
                Error::Invalid(format!(
                    "replaying the migration history in a scratch database: {e}\nfix {} (or the migration before it) and run again",
                    migration.file_name
                ))
            })?;
            if let Some(down) = &migration.down {
                if let Some(message) = down.emptiness() {
                    verdict.findings.push(("empty".into(), message));
                } else if let Err(e) =
                    check_one(&client, migration, down, &before, scope, fixpoint).await
                {
                    verdict.findings.push((
                        "down".into(),
                        format!(
                            "{} does not undo {}: {e}; fix it (or delete it and `strata generate --down-for {}`), then run `strata sum`",
                            down.file_name, migration.file_name, migration.version
                        ),
                    ));
                    // The state is unknown now: the rest is judged on a fresh replay.
                    return Ok(verdict);
                }
            }
            // The state before the next migration, read only when it has a down file.
            if migrations.get(i + 1).is_some_and(|m| m.down.is_some()) {
                before = introspect(&client, scope).await?.catalog;
            }
        }
        progress.finish();
        Ok(verdict)
    }
    .await;
    let dropped = server.drop_db(db).await;
    let verdict = result?;
    dropped?;
    Ok(verdict)
}

/// Runs `down` on a database just after `migration` and requires `before` back; the database
/// then holds the state after `migration` again.
async fn check_one(
    client: &Client,
    migration: &Migration,
    down: &Migration,
    before: &Catalog,
    scope: &Scope,
    fixpoint: &Fixpoint,
) -> Result<()> {
    let version = crate::postgres::server_version(client).await?;
    if !down.no_transaction {
        client
            .batch_execute("BEGIN")
            .await
            .map_err(|e| Error::db("starting a transaction", e))?;
        let checked = async {
            client
                .batch_execute(&down.text)
                .await
                .map_err(|e| crate::source::migrations::script_error(down, e))?;
            let back = introspect_within(client, scope, &[]).await?.catalog;
            let probes = Probes::in_transaction(client, version);
            verify::converged(fixpoint, &back, before, &probes, &down.file_name).await
        }
        .await;
        let _ = client.batch_execute("ROLLBACK").await;
        return checked;
    }
    run_script(client, down).await?;
    let back = introspect(client, scope).await?.catalog;
    verify::converged(
        fixpoint,
        &back,
        before,
        &Probes::on(client, version),
        &down.file_name,
    )
    .await?;
    run_script(client, migration).await
}
