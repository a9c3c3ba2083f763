//! Progress of long steps: a bar on a terminal, a log line every few seconds elsewhere, nothing
//! when the output is for a machine (`--json`) or the user asked for quiet.
//!
//! Normalising thousands of declared statements, replaying a long history or applying a large
//! plan can take a minute; a silent minute looks like a hang.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How often progress is logged when standard error is not a terminal.
const LOG_EVERY: Duration = Duration::from_secs(5);

static QUIET: AtomicBool = AtomicBool::new(false);

/// Turns progress off for the rest of the process (`--json`, `-q`).
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Progress through `total` things of one step.
pub struct Progress {
    what: String,
    unit: &'static str,
    total: u64,
    done: u64,
    last_log: Instant,
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
}

impl Progress {
    /// Starts reporting progress of `what` through `total` `unit`s (`statements`).
    pub fn start(what: impl Into<String>, total: u64, unit: &'static str) -> Progress {
        let what = what.into();
        let quiet = QUIET.load(Ordering::Relaxed);
        let bar = (!quiet && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {msg} {bar:30} {pos}/{len} {elapsed}",
                )
                .expect("a valid template"),
            );
            bar.set_message(what.clone());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            what,
            unit,
            total,
            done: 0,
            last_log: Instant::now(),
            bar,
            quiet,
        }
    }

    /// One more done.
    pub fn inc(&mut self) {
        self.done += 1;
        match &self.bar {
            Some(bar) => bar.set_position(self.done),
            None if !self.quiet && self.last_log.elapsed() >= LOG_EVERY => {
                self.last_log = Instant::now();
                eprintln!(
                    "strata: {}: {} of {} {}",
                    self.what, self.done, self.total, self.unit
                );
            }
            None => {}
        }
    }

    /// Done: the bar goes away.
    pub fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Whether `STRATA_LOG` asks for debug lines.
pub fn debug_enabled() -> bool {
    static ENABLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    DEBUG.load(Ordering::Relaxed)
        || *ENABLED.get_or_init(|| std::env::var("STRATA_LOG").is_ok_and(|v| v.contains("debug")))
}

static DEBUG: AtomicBool = AtomicBool::new(false);

/// Turns debug lines on for the rest of the process (`-v`), as `STRATA_LOG=debug` does.
pub fn set_debug(debug: bool) {
    DEBUG.store(debug, Ordering::Relaxed);
}

/// A debug line (`STRATA_LOG=debug`): what was done and how long it took since `started`.
pub fn debug_timed(what: &str, started: Instant) {
    if debug_enabled() {
        eprintln!(
            "strata: debug: {what}: {:.3} s",
            started.elapsed().as_secs_f64()
        );
    }
}
