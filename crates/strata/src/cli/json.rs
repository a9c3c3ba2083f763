//! `--json`: one JSON document on standard output per command, errors included. The shapes
//! are documented in docs/json.md; tests parse them.
//!
//! In JSON mode the human lines (`say`) are not printed: each command builds its document and
//! hands it to [`emit`]. Notes and progress stay on standard error.

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};
use strata_core::plan::{Plan, RunMode, Step};

use crate::Error;

static ON: AtomicBool = AtomicBool::new(false);
/// Set while a command runs another one (`import --pull` runs `pull`): one document per run.
static INNER: AtomicBool = AtomicBool::new(false);

/// Runs `inner` (another command's code) without its document.
pub(super) async fn without_document<T>(inner: impl std::future::Future<Output = T>) -> T {
    INNER.store(true, Ordering::Relaxed);
    let result = inner.await;
    INNER.store(false, Ordering::Relaxed);
    result
}

/// Turns JSON output on for the rest of the process.
pub(super) fn set(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// Whether the output is JSON.
pub(super) fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Prints the command's document, in JSON mode only.
pub(super) fn emit(value: Value) {
    if on() && !INNER.load(Ordering::Relaxed) {
        use std::io::Write as _;
        let text = serde_json::to_string_pretty(&value).expect("a JSON value serialises");
        let text = super::named(&text);
        let _ = writeln!(std::io::stdout().lock(), "{text}");
    }
}

/// A plan's steps, each with its full statement.
pub(super) fn steps(plan: &Plan) -> Value {
    Value::Array(plan.steps.iter().map(step).collect())
}

/// One step: the object it changes, the full statement, whether it runs in the transaction, and
/// its hazards (stable snake_case names).
pub(super) fn step(step: &Step) -> Value {
    json!({
        "object": step.object,
        "sql": step.sql,
        "transactional": step.run == RunMode::InTransaction,
        "hazards": step.hazards,
    })
}

/// The document of an error: `{"error": {"kind", "message", "file", "line"}}`.
pub(super) fn error(error: &Error) -> Value {
    let (file, line) = match error {
        Error::Config { path, line, .. } => (Some(path.display().to_string()), Some(*line)),
        _ => (None, None),
    };
    json!({
        "error": {
            "kind": kind(error),
            "message": error.to_string(),
            "file": file,
            "line": line,
        }
    })
}

/// A stable name for each kind of error.
fn kind(error: &Error) -> &'static str {
    match error {
        Error::Config { .. } => "config",
        Error::Invalid(_) => "invalid",
        Error::PgBinaries(_) => "pg_binaries",
        Error::Cluster { .. } => "cluster",
        Error::Connect { .. } => "connect",
        Error::ConnectTimeout { .. } => "connect_timeout",
        Error::Db { .. } => "database",
        Error::Io { .. } => "io",
        Error::NotConverged { .. } => "not_converged",
        Error::NoProject => "no_project",
        Error::Interrupted => "interrupted",
    }
}

/// A usage error (unknown flag, missing argument) under `--json`.
pub(super) fn usage(message: &str) -> Value {
    json!({
        "error": {
            "kind": "usage",
            "message": message.trim_end(),
            "file": null,
            "line": null,
        }
    })
}
