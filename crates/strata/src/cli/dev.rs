//! `strata dev start | stop | status | url`.

use crate::Result;
use crate::dev::{Cluster, Started, State};
use crate::postgres;

use super::opt::{DevAction, Global};
use super::{Context, Outcome, json, say};
use serde_json::json;

pub(super) async fn run(context: &Context, global: &Global, action: DevAction) -> Result<Outcome> {
    let project = context.project(global)?;
    if let DevAction::HoldScratch = action {
        // Scratch databases on STRATA_DEV_URL need no project's cluster.
        let server = context.scratch_server(&project).await?;
        let db = server.create(None).await?;
        say(db.name());
        // Held until the process is interrupted or killed; the CLI's Ctrl-C path drops it.
        std::future::pending::<()>().await;
        unreachable!("pending() never completes")
    }
    let cluster = context.cluster(&project)?;
    if let Some(note) = cluster.relocation() {
        super::note(format!("note: {note}"));
    }
    match action {
        DevAction::Start => {
            match cluster.start()? {
                Started::AlreadyRunning { port } => say(format!(
                    "the development database is already running on 127.0.0.1:{port}"
                )),
                Started::Started { port, initialised } => {
                    if initialised {
                        say(format!(
                            "created a development database in {}",
                            cluster.data_dir().display()
                        ));
                    }
                    say(format!(
                        "started the development database on 127.0.0.1:{port}"
                    ));
                }
            }
            let url = Cluster::url(cluster_port(&cluster));
            say(format!("url: {url}"));
            json::emit(json!({ "running": true, "url": url.to_string() }));
            Ok(Outcome::Done)
        }
        DevAction::Stop => {
            let stopped = cluster.stop()?;
            if stopped {
                say("stopped the development database");
            } else {
                say("the development database is not running");
            }
            json::emit(json!({ "running": false, "stopped": stopped }));
            Ok(Outcome::Done)
        }
        DevAction::Status => status(&cluster).await,
        DevAction::Url => {
            let (_, started) = context.running_cluster(&project)?;
            say(Cluster::url(started.port()));
            json::emit(json!({ "running": true, "url": Cluster::url(started.port()).to_string() }));
            Ok(Outcome::Done)
        }
        DevAction::HoldScratch => unreachable!("handled above"),
    }
}

fn cluster_port(cluster: &Cluster) -> u16 {
    match cluster.state() {
        State::Running { port, .. } => port,
        _ => 0,
    }
}

async fn status(cluster: &Cluster) -> Result<Outcome> {
    let dir = cluster.data_dir().display();
    match cluster.state() {
        State::Uninitialised => {
            say(format!(
                "development database: not created yet (`strata dev start` creates it in {dir})"
            ));
            json::emit(json!({ "state": "uninitialised", "data_dir": dir.to_string() }));
            Ok(Outcome::Found)
        }
        State::Stopped { stale_pid } => {
            say(format!("development database: stopped (data in {dir})"));
            if stale_pid {
                say("  a pid file left by a server that is gone will be cleared on the next start");
            }
            json::emit(json!({ "state": "stopped", "data_dir": dir.to_string() }));
            Ok(Outcome::Found)
        }
        State::Running { pid, port } => {
            let url = Cluster::url(port);
            // The process is there; ask the server itself, so that the answer is the truth.
            let version = match postgres::connect(&url).await {
                Ok(client) => match client.query_one("SHOW server_version", &[]).await {
                    Ok(row) => row.get::<_, String>(0),
                    Err(e) => format!("not answering queries: {e}"),
                },
                Err(e) => format!("not accepting connections: {e}"),
            };
            say("development database: running");
            say(format!("  url:       {url}"));
            say(format!("  version:   {version}"));
            say(format!("  pid:       {pid}"));
            say(format!("  data dir:  {dir}"));
            say(format!("  log:       {}", cluster.log_file().display()));
            json::emit(json!({
                "state": "running",
                "url": url.to_string(),
                "version": version,
                "pid": pid,
                "data_dir": dir.to_string(),
                "log": cluster.log_file().display().to_string(),
            }));
            Ok(Outcome::Done)
        }
    }
}
