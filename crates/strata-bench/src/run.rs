//! Runs a command as a child process: its wall time, its peak memory and an optional time limit.
//!
//! The peak memory is the `ru_maxrss` that `wait4(2)` reports for the child: the largest resident
//! set of the child or of any process it waited for (the figure `/usr/bin/time -f %M` prints),
//! read without a new dependency or an extra program, in a small process of its own between
//! this one and the command. A command that outlives its time limit is killed with its whole
//! process group.

use std::io::{Read as _, Seek as _};
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of a command did.
pub struct Run {
    /// Wall time from spawn to exit (or to the kill).
    pub time: Duration,
    /// Peak resident memory in KiB, when the platform reports it.
    pub peak_kib: Option<u64>,
    /// Killed at its time limit.
    pub stopped: bool,
    /// Exited with status 0.
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The run's output, for an error message: standard error, else standard output, on one
    /// line and cut short.
    pub fn complaint(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            &self.stdout
        } else {
            &self.stderr
        };
        let line = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
            .replace('|', "/");
        line.chars().take(200).collect()
    }
}

/// Runs `command` with no standard input, its output captured, for at most `limit`.
///
/// The command runs under this binary's `--peak-child` mode (see [`child`]), which reports the
/// command's own wall time and peak memory: a process started straight from this one would
/// inherit this process's high-water mark (Linux carries the old memory's peak over `exec`).
pub fn run(command: &mut Command, limit: Option<Duration>) -> Result<Run, String> {
    run_with(command, None, limit)
}

/// Runs `command` as [`run`] does, on a pseudo-terminal (`script`) whose keyboard types
/// `keys`: for a tool that asks its questions on a terminal only.
pub fn run_with_terminal_input(
    command: &mut Command,
    keys: &str,
    limit: Option<Duration>,
) -> Result<Run, String> {
    let line = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy().replace('\'', "'\\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut script = Command::new("script");
    script.args(["-qec", &line, "/dev/null"]);
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => script.env(key, value),
            None => script.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        script.current_dir(dir);
    }
    run_with(&mut script, Some(keys), limit)
}

fn run_with(
    command: &mut Command,
    keys: Option<&str>,
    limit: Option<Duration>,
) -> Result<Run, String> {
    let mut stdout = tempfile::tempfile().map_err(|e| format!("creating a temporary file: {e}"))?;
    let mut stderr = tempfile::tempfile().map_err(|e| format!("creating a temporary file: {e}"))?;
    let report =
        tempfile::NamedTempFile::new().map_err(|e| format!("creating a temporary file: {e}"))?;
    let name = command.get_program().to_string_lossy().into_owned();
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut wrapper = Command::new(exe);
    wrapper
        .arg("--peak-child")
        .arg(report.path())
        .arg(command.get_program())
        .args(command.get_args());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapper.env(key, value),
            None => wrapper.env_remove(key),
        };
    }
    if let Some(dir) = command.get_current_dir() {
        wrapper.current_dir(dir);
    }
    let stdin = match keys {
        Some(keys) => {
            let mut file =
                tempfile::tempfile().map_err(|e| format!("creating a temporary file: {e}"))?;
            std::io::Write::write_all(&mut file, keys.as_bytes()).map_err(|e| e.to_string())?;
            file.rewind().map_err(|e| e.to_string())?;
            Stdio::from(file)
        }
        None => Stdio::null(),
    };
    wrapper
        .stdin(stdin)
        .stdout(stdout.try_clone().map_err(|e| e.to_string())?)
        .stderr(stderr.try_clone().map_err(|e| e.to_string())?)
        .process_group(0);
    let started = Instant::now();
    let mut child = wrapper
        .spawn()
        .map_err(|e| format!("running {name}: {e}"))?;
    let mut stopped = false;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if !stopped && limit.is_some_and(|limit| started.elapsed() > limit) {
            stopped = true;
            kill_group(child.id());
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let reported = std::fs::read_to_string(report.path()).unwrap_or_default();
    let mut fields = reported.split_whitespace().map(|f| f.parse::<u64>().ok());
    let (nanos, peak_kib) = (fields.next().flatten(), fields.next().flatten());
    let read = |file: &mut std::fs::File| -> Result<String, String> {
        let mut text = String::new();
        file.rewind().map_err(|e| e.to_string())?;
        file.read_to_string(&mut text)
            .map_err(|e| format!("reading the output of {name}: {e}"))?;
        Ok(text)
    };
    Ok(Run {
        time: match nanos {
            Some(nanos) if !stopped => Duration::from_nanos(nanos),
            _ => elapsed,
        },
        peak_kib: peak_kib.filter(|kib| *kib > 0),
        stopped,
        success: status.success() && !stopped,
        stdout: read(&mut stdout)?,
        stderr: read(&mut stderr)?,
    })
}

/// Kills the process group `pid` leads (the `--peak-child` process and the command).
fn kill_group(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The `--peak-child REPORT PROGRAM ARGS…` mode: runs the program (standard streams inherited),
/// writes "WALL_NANOS PEAK_KIB" to REPORT and exits as the program did.
pub fn child(report: &str, program: &str, args: &[String]) -> std::process::ExitCode {
    let started = Instant::now();
    let child = match Command::new(program).args(args).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("strata-bench: running {program}: {e}");
            return std::process::ExitCode::from(127);
        }
    };
    let (code, peak_kib) = wait(child);
    let nanos = started.elapsed().as_nanos();
    let _ = std::fs::write(report, format!("{nanos} {}\n", peak_kib.unwrap_or(0)));
    std::process::ExitCode::from(code)
}

/// Runs `command` as [`run`] does and fails unless it exits with status 0.
pub fn run_ok(command: &mut Command) -> Result<Run, String> {
    let name = command.get_program().to_string_lossy().into_owned();
    let args = command
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let run = run(command, None)?;
    if !run.success {
        return Err(format!("{name} {args} failed: {}", run.complaint()));
    }
    Ok(run)
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
mod sys {
    /// `struct rusage` of 64-bit Linux: two `timeval`s, then 14 `long`s of which `ru_maxrss`
    /// (in KiB) is the first.
    #[repr(C)]
    pub struct Rusage {
        pub times: [i64; 4],
        pub maxrss: i64,
        pub rest: [i64; 13],
    }

    unsafe extern "C" {
        pub fn wait4(pid: i32, status: *mut i32, options: i32, rusage: *mut Rusage) -> i32;
    }
}

/// Waits for `child`: its exit code (128 + the signal when a signal ended it) and its peak
/// memory in KiB (`ru_maxrss` of `wait4`).
#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn wait(child: std::process::Child) -> (u8, Option<u64>) {
    let Ok(pid) = i32::try_from(child.id()) else {
        return (1, None);
    };
    let mut status = 0;
    let mut usage = sys::Rusage {
        times: [0; 4],
        maxrss: 0,
        rest: [0; 13],
    };
    let waited = loop {
        // SAFETY: `status` and `usage` are valid for writes and match the C layout.
        let waited = unsafe { sys::wait4(pid, &mut status, 0, &mut usage) };
        if waited != -1 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
        {
            break waited;
        }
    };
    // Reaped by wait4 above: dropping the handle does not wait again.
    drop(child);
    if waited != pid {
        return (1, None);
    }
    let code = if status & 0x7f == 0 {
        (status >> 8) & 0xff
    } else {
        128 + (status & 0x7f)
    };
    (
        u8::try_from(code).unwrap_or(1),
        u64::try_from(usage.maxrss).ok(),
    )
}

/// Waits for `child`: its exit code; no peak memory on this platform.
#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn wait(mut child: std::process::Child) -> (u8, Option<u64>) {
    let code = child.wait().ok().and_then(|s| s.code()).unwrap_or(1);
    (u8::try_from(code).unwrap_or(1), None)
}
