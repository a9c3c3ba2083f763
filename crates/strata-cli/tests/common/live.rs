//! strata processes watched while they run: standard error read line by line as it comes, a
//! SIGKILL at the moment a test chooses, and waits for a condition in the database.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use strata_testkit::{TestDb, server};

use super::strata;

/// A running `strata`.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    stderr: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Starts `strata <args>` in `dir` against `db` (scratch databases on the test server).
    pub fn start(dir: &Path, db: &TestDb, args: &[&str]) -> Running {
        Running::start_with(dir, db, args, &[])
    }

    /// As [`Running::start`], with more environment variables.
    pub fn start_with(dir: &Path, db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Running {
        let mut command = strata(dir);
        command
            .args(args)
            .env("DATABASE_URL", db.url().expose())
            .env("STRATA_DEV_URL", server().url().expose())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("starting strata");
        let pipe = child.stderr.take().expect("stderr is piped");
        let (send, lines) = channel();
        let stderr = Arc::new(Mutex::new(String::new()));
        let all = stderr.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { break };
                let mut all = all.lock().unwrap();
                all.push_str(&line);
                all.push('\n');
                let _ = send.send(line);
            }
        });
        Running {
            child,
            lines,
            stderr,
            reader: Some(reader),
        }
    }

    /// Waits until a line of standard error contains `needle`; the line, or everything the
    /// process said when it ended or `timeout` passed first.
    pub fn wait_for_line(&self, needle: &str, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return Ok(line),
                Ok(_) => {}
                Err(_) => return Err(self.stderr.lock().unwrap().clone()),
            }
        }
    }

    /// Waits at most `timeout` for the end: its exit code, or `None` when it still runs.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Everything it wrote to standard error so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reaps it.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }

    /// Waits for the end: the exit code and everything it wrote to standard error.
    pub fn finish(mut self) -> (i32, String) {
        let status = self.child.wait().expect("waiting for strata");
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        let stderr = self.stderr.lock().unwrap().clone();
        (status.code().unwrap_or(-1), stderr)
    }
}

/// Polls `sql` (one boolean) on `db` until it is true; `false` when `timeout` passed first.
pub async fn wait_until(db: &TestDb, sql: &str, timeout: Duration) -> bool {
    let client = db.client().await;
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if client.query_one(sql, &[]).await.unwrap().get::<_, bool>(0) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// A backend of `db` running a statement that holds `text` (after the comments that may lead
/// it), waiting for a lock.
pub fn waiting_on_lock(db: &TestDb, text: &str) -> String {
    format!(
        "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid() \
         AND wait_event_type = 'Lock' AND query LIKE '%{}%')",
        db.name(),
        text.replace('\'', "''")
    )
}

/// No backend of `db` runs a statement that holds `text`.
pub fn none_running(db: &TestDb, text: &str) -> String {
    format!(
        "SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE datname = '{}' AND pid <> pg_backend_pid() \
         AND state = 'active' AND query LIKE '%{}%')",
        db.name(),
        text.replace('\'', "''")
    )
}
