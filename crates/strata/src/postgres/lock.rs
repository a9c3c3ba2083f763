//! Session advisory locks, taken by polling.
//!
//! `pg_advisory_lock` blocks inside a transaction of the waiter, and a `CREATE INDEX
//! CONCURRENTLY` in the lock holder waits for every such transaction: a deadlock. Polling
//! `pg_try_advisory_lock` with backoff waits outside any transaction.

use std::time::{Duration, Instant};

use tokio_postgres::Client;

use crate::{Error, Result};

/// Takes the advisory lock `(class, hashtext(key))`, polling with backoff for at most `wait`;
/// `waiting` is called once when someone else holds it. `what` names the lock in errors.
pub async fn acquire(
    client: &Client,
    class: i32,
    key: &str,
    wait: Duration,
    waiting: impl FnOnce(),
    what: &str,
) -> Result<()> {
    let mut waiting = Some(waiting);
    acquire_watching(client, class, key, wait, what, async || {
        if let Some(waiting) = waiting.take() {
            waiting();
        }
        Ok(())
    })
    .await
}

/// As [`acquire`], calling `busy` after every attempt that found the lock held, so the caller can
/// look at who holds it (and say so, or act on it).
pub async fn acquire_watching(
    client: &Client,
    class: i32,
    key: &str,
    wait: Duration,
    what: &str,
    mut busy: impl AsyncFnMut() -> Result<()>,
) -> Result<()> {
    let started = Instant::now();
    let mut delay = Duration::from_millis(20);
    loop {
        let locked: bool = client
            .query_one(
                "SELECT pg_try_advisory_lock($1, hashtext($2))",
                &[&class, &key],
            )
            .await
            .map_err(|e| Error::db(format!("taking the {what}"), e))?
            .get(0);
        if locked {
            return Ok(());
        }
        if started.elapsed() >= wait {
            return Err(Error::Invalid(format!(
                "the {what} was held by another process for {} s; try again when it is done",
                wait.as_secs()
            )));
        }
        busy().await?;
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(1));
    }
}

/// Releases the lock (closing the session releases it too).
pub async fn release(client: &Client, class: i32, key: &str) {
    let _ = client
        .query_one(
            "SELECT pg_advisory_unlock($1, hashtext($2))",
            &[&class, &key],
        )
        .await;
}
