//! The embedded development cluster: a project-local PostgreSQL that needs no set-up.
//!
//! With no database configured, strata runs its own cluster from the PostgreSQL server binaries
//! found on the machine: `initdb` into the project's `.strata/pg`, a server listening on a free
//! loopback port (and a unix socket in the data directory), trust authentication for local
//! connections only. It is also the server strata creates scratch databases on.
//!
//! PostgreSQL refuses to run as root. When strata runs as root, the server runs as an
//! unprivileged user (`postgres`, or `STRATA_PG_USER`) through `runuser`.

use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::Env;
use crate::postgres::url::DbUrl;
use crate::{Error, Result};

/// The superuser of a development cluster.
pub const SUPERUSER: &str = "postgres";

/// The configuration file strata owns inside the data directory (included by `postgresql.conf`).
const STRATA_CONF: &str = "strata.conf";

/// The server's log file inside the data directory.
const LOG_FILE: &str = "server.log";

/// PostgreSQL server binaries: the folder holding `initdb`, `pg_ctl` and `postgres`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBin {
    /// The folder.
    pub dir: PathBuf,
    /// The full version, e.g. `15.18`.
    pub version: String,
    /// The major version, e.g. `15`.
    pub major: u32,
}

const SERVER_PROGRAMS: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

impl PgBin {
    /// Finds the server binaries: `STRATA_PG_BIN`, then `pg_config --bindir`, then `PATH`, then
    /// the newest `/usr/lib/postgresql/<major>/bin`.
    pub fn find(env: &Env) -> Result<PgBin> {
        if let Some(dir) = env.get("STRATA_PG_BIN") {
            let dir = PathBuf::from(dir);
            return match missing_programs(&dir) {
                None => PgBin::at(dir),
                Some(missing) => Err(Error::PgBinaries(format!(
                    "STRATA_PG_BIN={} does not hold the PostgreSQL server programs ({missing} missing); \
                     point it at the folder that holds initdb, pg_ctl and postgres",
                    dir.display()
                ))),
            };
        }
        let mut candidates = Vec::new();
        let pg_config = env
            .get("PATH")
            .and_then(|path| find_in_path(path, "pg_config"));
        if let Some(pg_config) = pg_config
            && let Ok(out) = Command::new(pg_config)
                .arg("--bindir")
                .stderr(Stdio::null())
                .output()
            && out.status.success()
        {
            candidates.push(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
        if let Some(initdb) = env
            .get("PATH")
            .and_then(|path| find_in_path(path, "initdb"))
        {
            // Follow symbolic links so that the folder is the real one, with `postgres` beside it.
            let real = fs::canonicalize(&initdb).unwrap_or(initdb);
            candidates.extend(real.parent().map(Path::to_path_buf));
        }
        candidates.extend(debian_bin_dirs());
        for dir in candidates {
            if missing_programs(&dir).is_none() {
                return PgBin::at(dir);
            }
        }
        Err(Error::PgBinaries(
            "no PostgreSQL server binaries found (initdb, pg_ctl, postgres); strata needs them for its development \
             database. Install PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`; macOS: `brew install postgresql`), \
             or set STRATA_PG_BIN to the folder that holds them, or set DATABASE_URL to use a server you already have"
                .into(),
        ))
    }

    fn at(dir: PathBuf) -> Result<PgBin> {
        let postgres = dir.join("postgres");
        let out = Command::new(&postgres)
            .arg("--version")
            .output()
            .map_err(|e| Error::PgBinaries(format!("cannot run {}: {e}", postgres.display())))?;
        // "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
        let text = String::from_utf8_lossy(&out.stdout);
        let version = text
            .split_whitespace()
            .find(|word| word.starts_with(|c: char| c.is_ascii_digit()))
            .ok_or_else(|| {
                Error::PgBinaries(format!(
                    "{} --version printed {text:?}, not a version",
                    postgres.display()
                ))
            })?
            .to_owned();
        let major = version
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|m| m.parse().ok())
            .ok_or_else(|| {
                Error::PgBinaries(format!("cannot read the major version of {version}"))
            })?;
        Ok(PgBin {
            dir,
            version,
            major,
        })
    }

    fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

fn missing_programs(dir: &Path) -> Option<&'static str> {
    SERVER_PROGRAMS
        .into_iter()
        .find(|program| !is_executable(&dir.join(program)))
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn find_in_path(path: &str, program: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

/// `/usr/lib/postgresql/<major>/bin`, newest major first.
fn debian_bin_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            Some((
                entry.file_name().to_str()?.parse().ok()?,
                entry.path().join("bin"),
            ))
        })
        .collect();
    dirs.sort_by_key(|(major, _)| std::cmp::Reverse(*major));
    dirs.into_iter().map(|(_, dir)| dir).collect()
}

/// The unprivileged user the server runs as when strata runs as root.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RunAs {
    user: String,
    uid: u32,
    gid: u32,
}

impl RunAs {
    /// `None` when strata does not run as root: the server then runs as the current user.
    fn for_current_user(env: &Env) -> Result<Option<RunAs>> {
        // SAFETY: geteuid has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } != 0 {
            return Ok(None);
        }
        let user = env.get("STRATA_PG_USER").unwrap_or("postgres");
        let (uid, gid) = lookup_user(user).ok_or_else(|| {
            Error::Cluster {
                message: format!(
                    "strata runs as root, and PostgreSQL refuses to run as root, so the development server runs as an \
                     unprivileged user; user `{user}` does not exist. Create it (`useradd --system {user}`), or set \
                     STRATA_PG_USER to an existing unprivileged user"
                ),
            }
        })?;
        if uid == 0 {
            return Err(Error::Cluster {
                message: format!("STRATA_PG_USER={user} is root; name an unprivileged user"),
            });
        }
        Ok(Some(RunAs {
            user: user.to_owned(),
            uid,
            gid,
        }))
    }
}

fn lookup_user(name: &str) -> Option<(u32, u32)> {
    let name = std::ffi::CString::new(name).ok()?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value to be overwritten by getpwnam_r.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the duration of the call and `buf` is as long as we say.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some((pwd.pw_uid, pwd.pw_gid))
}

/// What the cluster is doing, read from its data directory and the process table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// No cluster in the data directory yet.
    Uninitialised,
    /// Initialised and not running. `stale_pid` is set when a pid file was left by a server that
    /// is gone (a crash, a killed process, a machine restart).
    Stopped {
        /// A leftover `postmaster.pid` names a process that is not this cluster's server.
        stale_pid: bool,
    },
    /// The server is running.
    Running {
        /// Process id of the postmaster.
        pid: u32,
        /// Its TCP port on 127.0.0.1.
        port: u16,
    },
}

/// How `start` found the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// It was already running.
    AlreadyRunning {
        /// Its port.
        port: u16,
    },
    /// strata started it (after initialising it, when `initialised`).
    Started {
        /// Its port.
        port: u16,
        /// A new cluster was created first.
        initialised: bool,
    },
}

impl Started {
    /// The server's port.
    pub fn port(self) -> u16 {
        match self {
            Started::AlreadyRunning { port } | Started::Started { port, .. } => port,
        }
    }
}

/// Settings for a cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// Where the data directory should be.
    pub data_dir: PathBuf,
    /// `false` turns off fsync and friends: for throwaway clusters (tests), never for data that
    /// matters.
    pub durable: bool,
}

/// A PostgreSQL cluster that strata manages.
#[derive(Debug, Clone)]
pub struct Cluster {
    data_dir: PathBuf,
    durable: bool,
    run_as: Option<RunAs>,
    env: Env,
    /// Why the data directory is not the configured one, when it is not.
    relocated: Option<String>,
}

impl Cluster {
    /// The cluster for these options. Nothing is created or started yet.
    ///
    /// When strata runs as root and the server's user cannot reach the configured folder (a
    /// project under `/root`, say), the cluster lives in a folder of its own under `/var/tmp`,
    /// named after the project; [`Cluster::relocation`] says so.
    pub fn new(options: ClusterOptions, env: &Env) -> Result<Cluster> {
        let run_as = RunAs::for_current_user(env)?;
        let configured = absolute(&options.data_dir);
        let (data_dir, relocated) = match &run_as {
            Some(user)
                if !configured.join("PG_VERSION").exists() && !reachable_by(user, &configured) =>
            {
                let fallback = relocated_dir(&configured);
                let why = format!(
                    "{} is not reachable by user {}, so the cluster lives in {}",
                    configured.display(),
                    user.user,
                    fallback.display()
                );
                (fallback, Some(why))
            }
            _ => (configured, None),
        };
        Ok(Cluster {
            data_dir,
            durable: options.durable,
            run_as,
            env: env.clone(),
            relocated,
        })
    }

    /// A throwaway cluster (fsync off) in a new folder under the temporary directory, started,
    /// with a watcher that stops it and deletes the folder once this process has exited,
    /// however it exits. For test runs and benchmarks. Returns the cluster and its port.
    pub fn throwaway(prefix: &str, env: &Env) -> Result<(Cluster, u16)> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let root =
            std::env::temp_dir().join(format!("{prefix}-{}-{nanos:08x}", std::process::id()));
        fs::create_dir_all(&root)
            .map_err(|e| Error::io(format!("creating {}", root.display()), e))?;
        let cluster = Cluster::new(
            ClusterOptions {
                data_dir: root.join("pg"),
                durable: false,
            },
            env,
        )?;
        // Armed first, so that even a failed start leaves nothing behind.
        cluster.stop_and_remove_when_gone(std::process::id(), &root)?;
        let port = cluster.start()?.port();
        Ok((cluster, port))
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Why the data directory differs from the configured one, when it does.
    pub fn relocation(&self) -> Option<&str> {
        self.relocated.as_deref()
    }

    /// The server's log file.
    pub fn log_file(&self) -> PathBuf {
        self.data_dir.join(LOG_FILE)
    }

    /// The URL of the cluster's `postgres` database on `port` (no password: trust auth).
    pub fn url(port: u16) -> DbUrl {
        DbUrl::new(format!(
            "postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        ))
    }

    /// Reads the state from the data directory and the process table. Needs no binaries.
    pub fn state(&self) -> State {
        if !self.data_dir.join("PG_VERSION").exists() {
            return State::Uninitialised;
        }
        match read_pid_file(&self.data_dir) {
            None => State::Stopped { stale_pid: false },
            Some(pid_file) if is_postmaster_of(pid_file.pid, &self.data_dir) => State::Running {
                pid: pid_file.pid,
                port: pid_file.port,
            },
            Some(_) => State::Stopped { stale_pid: true },
        }
    }

    /// Initialises the cluster if needed and starts it; safe to call when it already runs and
    /// from several processes at once.
    pub fn start(&self) -> Result<Started> {
        let _lock = self.lock()?;
        if let State::Running { port, .. } = self.state() {
            return Ok(Started::AlreadyRunning { port });
        }
        let bin = PgBin::find(&self.env)?;
        let initialised = match self.state() {
            State::Uninitialised => {
                self.init(&bin)?;
                true
            }
            State::Stopped { stale_pid: true } => {
                // A server that is gone left its pid file. PostgreSQL removes such a file itself
                // unless the pid now belongs to another process (after a restart, say); strata has
                // checked that the pid is not this cluster's server, so the file can go.
                let _ = fs::remove_file(self.data_dir.join("postmaster.pid"));
                false
            }
            _ => false,
        };
        self.check_version(&bin)?;
        let port = self.choose_port()?;
        let log = self.log_file();
        let out = self
            .command(&bin.program("pg_ctl"))
            .arg("start")
            .arg("-D")
            .arg(&self.data_dir)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "120", "-s"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::io(format!("running {}", bin.program("pg_ctl").display()), e))?;
        if !out.status.success() {
            return Err(Error::Cluster {
                message: format!(
                    "the development server in {} did not start: {}\n{}",
                    self.data_dir.display(),
                    String::from_utf8_lossy(&out.stderr).trim(),
                    log_tail(&log)
                ),
            });
        }
        Ok(Started::Started { port, initialised })
    }

    /// Stops the server (fast shutdown: sessions are ended, data is safe). `Ok(false)` when it
    /// was not running.
    pub fn stop(&self) -> Result<bool> {
        let _lock = self.lock()?;
        match self.state() {
            State::Running { .. } => {}
            State::Stopped { stale_pid: true } => {
                let _ = fs::remove_file(self.data_dir.join("postmaster.pid"));
                return Ok(false);
            }
            State::Uninitialised | State::Stopped { .. } => return Ok(false),
        }
        let bin = PgBin::find(&self.env)?;
        let out = self
            .command(&bin.program("pg_ctl"))
            .arg("stop")
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-m", "fast", "-w", "-t", "120", "-s"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Error::io(format!("running {}", bin.program("pg_ctl").display()), e))?;
        if !out.status.success() && matches!(self.state(), State::Running { .. }) {
            return Err(Error::Cluster {
                message: format!(
                    "the development server in {} did not stop: {}",
                    self.data_dir.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        Ok(true)
    }

    /// Starts a detached watcher that stops this cluster (immediately) and deletes `remove` (its
    /// data directory or a folder holding it) once process `pid` has exited. Throwaway clusters
    /// use it so that no server outlives the test run that started it, even when that run is
    /// killed.
    pub fn stop_and_remove_when_gone(&self, pid: u32, remove: &Path) -> Result<()> {
        let bin = PgBin::find(&self.env)?;
        let mut stop: Vec<OsString> = Vec::new();
        if let Some(user) = &self.run_as {
            stop.extend([
                "runuser".into(),
                "-u".into(),
                user.user.clone().into(),
                "--".into(),
            ]);
        }
        stop.push(bin.program("pg_ctl").into());
        stop.extend([
            "stop".into(),
            "-D".into(),
            self.data_dir.clone().into(),
            "-m".into(),
            "immediate".into(),
        ]);
        let script = "pid=$1; dir=$2; shift 2; while kill -0 \"$pid\" 2>/dev/null; do sleep 0.5; done; \
                      \"$@\" >/dev/null 2>&1; rm -rf \"$dir\"";
        use std::os::unix::process::CommandExt as _;
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("strata-watchdog")
            .arg(pid.to_string())
            .arg(remove)
            .args(stop)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group: Ctrl-C on the test run must not kill the watcher too.
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io("starting the cluster watcher (sh)", e))?;
        Ok(())
    }

    fn init(&self, bin: &PgBin) -> Result<()> {
        let dir = &self.data_dir;
        fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(format!("setting permissions of {}", dir.display()), e))?;
        self.chown(dir)?;
        let mut initdb = self.command(&bin.program("initdb"));
        initdb
            .arg("-D")
            .arg(dir)
            .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale"])
            .stdin(Stdio::null());
        if !self.durable {
            initdb.arg("--no-sync");
        }
        let out = initdb
            .output()
            .map_err(|e| Error::io(format!("running {}", bin.program("initdb").display()), e))?;
        if !out.status.success() {
            return Err(Error::Cluster {
                message: format!(
                    "initdb failed for {}:\n{}{}",
                    dir.display(),
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ),
            });
        }
        let conf = dir.join("postgresql.conf");
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(|e| Error::io(format!("opening {}", conf.display()), e))?;
        writeln!(
            file,
            "\n# Settings of strata's development cluster.\ninclude_if_exists = '{STRATA_CONF}'"
        )
        .map_err(|e| Error::io(format!("writing {}", conf.display()), e))?;
        Ok(())
    }

    /// Writes `strata.conf` (port, listen address, socket folder, durability).
    fn write_conf(&self, port: u16) -> Result<()> {
        // A unix socket path is limited to 107 bytes; past that, TCP on loopback only.
        let socket_dir = if self.data_dir.as_os_str().len() + ".s.PGSQL.65535".len() < 100 {
            self.data_dir.display().to_string().replace('\'', "''")
        } else {
            String::new()
        };
        // strata applies whole schemas in one transaction (normalising declared files, checking
        // plans); a 10,000-table schema takes about 50,000 locks, beyond the default lock table
        // (64 per connection). 1,024 per connection costs some 30 MB of shared memory.
        let mut text = format!(
            "# Written by strata. It picks a free port on start when the last one is taken.\n\
             listen_addresses = '127.0.0.1'\n\
             port = {port}\n\
             unix_socket_directories = '{socket_dir}'\n\
             max_locks_per_transaction = 1024\n"
        );
        if !self.durable {
            text.push_str("fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
        }
        let path = self.data_dir.join(STRATA_CONF);
        fs::write(&path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))?;
        self.chown(&path)
    }

    /// The port of the last start when it is free, else a new free one. strata.conf is written
    /// anew on every start, so that a cluster made by an older strata gets today's settings.
    fn choose_port(&self) -> Result<u16> {
        let path = self.data_dir.join(STRATA_CONF);
        let previous = fs::read_to_string(&path).ok().and_then(|text| {
            text.lines()
                .find_map(|line| line.strip_prefix("port = ")?.trim().parse::<u16>().ok())
        });
        let port = match previous {
            Some(port) if TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() => port,
            _ => TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                .and_then(|listener| listener.local_addr())
                .map_err(|e| Error::io("finding a free port on 127.0.0.1", e))?
                .port(),
        };
        self.write_conf(port)?;
        Ok(port)
    }

    fn check_version(&self, bin: &PgBin) -> Result<()> {
        let path = self.data_dir.join("PG_VERSION");
        let text = fs::read_to_string(&path)
            .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
        let major: u32 = text.trim().parse().unwrap_or(0);
        if major != bin.major {
            return Err(Error::Cluster {
                message: format!(
                    "the development cluster in {} was created by PostgreSQL {major}, but the server binaries found \
                     ({}) are PostgreSQL {}. Point STRATA_PG_BIN at PostgreSQL {major} binaries, or remove {} to \
                     start afresh (its data is lost)",
                    self.data_dir.display(),
                    bin.dir.display(),
                    bin.major,
                    self.data_dir.display()
                ),
            });
        }
        Ok(())
    }

    /// A command that runs as the server's user.
    fn command(&self, program: &Path) -> Command {
        let mut command = match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", &user.user, "--"]).arg(program);
                // The server user may not be able to enter the caller's working directory.
                command.current_dir("/");
                command
            }
            None => Command::new(program),
        };
        // A relocatable build (binaries fetched as a package) ships its own libpq beside its
        // programs; the server's modules (postgres_fdw, dblink) must load that one, not an older
        // system copy that lacks its newer functions.
        if let Some(lib) = program
            .parent()
            .and_then(Path::parent)
            .map(|p| p.join("lib"))
            && lib.join("libpq.so.5").exists()
        {
            let mut path = lib.into_os_string();
            if let Some(existing) = std::env::var_os("LD_LIBRARY_PATH") {
                path.push(":");
                path.push(existing);
            }
            command.env("LD_LIBRARY_PATH", path);
        }
        // libpq and server variables of the caller's shell must not redirect the cluster.
        for var in [
            "PGDATA",
            "PGPORT",
            "PGHOST",
            "PGOPTIONS",
            "PGUSER",
            "PGDATABASE",
        ] {
            command.env_remove(var);
        }
        command
    }

    fn chown(&self, path: &Path) -> Result<()> {
        if let Some(user) = &self.run_as {
            std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid)).map_err(|e| {
                Error::io(
                    format!("giving {} to user {}", path.display(), user.user),
                    e,
                )
            })?;
        }
        Ok(())
    }

    /// An exclusive lock on `<data dir>.lock` for the duration of a start or stop, so that
    /// commands started together do not race to initialise or start the same cluster.
    fn lock(&self) -> Result<FileLock> {
        let path = self.data_dir.with_extension("lock");
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        }
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        // Blocks until the lock is ours (flock on Unix); closing the file releases it.
        file.lock()
            .map_err(|e| Error::io(format!("locking {}", path.display()), e))?;
        Ok(FileLock(file))
    }
}

/// Holds an flock until dropped (closing the file releases it).
struct FileLock(#[allow(dead_code)] fs::File);

struct PidFile {
    pid: u32,
    port: u16,
}

/// Reads `postmaster.pid`: line 1 is the pid, line 4 the port.
fn read_pid_file(data_dir: &Path) -> Option<PidFile> {
    let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let port = lines.nth(2)?.trim().parse().ok()?;
    Some(PidFile { pid, port })
}

/// Whether `pid` is the postmaster of `data_dir`. On Linux the postmaster's working directory is
/// its data directory, which tells it apart from an unrelated process that reuses the pid after a
/// restart; elsewhere, a live process is taken as the server.
fn is_postmaster_of(pid: u32, data_dir: &Path) -> bool {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if Path::new("/proc/self").exists() {
        if !proc_dir.exists() {
            return false;
        }
        if let Ok(cwd) = fs::read_link(proc_dir.join("cwd")) {
            let ours = fs::canonicalize(data_dir).unwrap_or_else(|_| data_dir.to_path_buf());
            return cwd == ours;
        }
        // Not allowed to look (another user's process): fall back to the program's name.
        return fs::read_to_string(proc_dir.join("comm"))
            .is_ok_and(|comm| comm.trim() == "postgres");
    }
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid as libc::pid_t, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Whether `user` can reach (search) the deepest existing folder on the way to `path`.
fn reachable_by(user: &RunAs, path: &Path) -> bool {
    let existing = path
        .ancestors()
        .find(|dir| dir.exists())
        .unwrap_or(Path::new("/"));
    Command::new("runuser")
        .args(["-u", &user.user, "--", "test", "-x"])
        .arg(existing)
        .current_dir("/")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A folder for the cluster of a project the server's user cannot reach, stable per project.
fn relocated_dir(configured: &Path) -> PathBuf {
    // FNV-1a: stable across runs and platforms, which std's hasher does not promise.
    let hash = configured
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
        });
    let base = if Path::new("/var/tmp").is_dir() {
        PathBuf::from("/var/tmp")
    } else {
        std::env::temp_dir()
    };
    base.join(format!("strata-{hash:016x}")).join("pg")
}

fn log_tail(log: &Path) -> String {
    match fs::read_to_string(log) {
        Ok(text) => {
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(15)..].join("\n");
            format!("last lines of {}:\n{tail}", log.display())
        }
        Err(_) => format!("(no server log at {})", log.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_binaries_is_a_clear_error() {
        let empty = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("PATH", empty.path().to_str().unwrap())]);
        // Only the Debian folder could still be found; without it the error must say what to do.
        if debian_bin_dirs()
            .iter()
            .any(|dir| missing_programs(dir).is_none())
        {
            let bin = PgBin::find(&env).unwrap();
            assert!(bin.major >= 13, "{bin:?}");
        } else {
            let err = PgBin::find(&env).unwrap_err().to_string();
            assert!(
                err.contains("apt-get install postgresql") && err.contains("STRATA_PG_BIN"),
                "{err}"
            );
        }
    }

    #[test]
    fn strata_pg_bin_must_hold_the_server_programs() {
        let empty = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("STRATA_PG_BIN", empty.path().to_str().unwrap())]);
        let err = PgBin::find(&env).unwrap_err().to_string();
        assert!(
            err.contains("STRATA_PG_BIN=") && err.contains("initdb missing"),
            "{err}"
        );
    }

    #[test]
    fn pid_file_is_parsed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join("postmaster.pid"),
            "4242\n/data\n1700000000\n54321\n/data\n127.0.0.1\n  1 2\nready\n",
        )
        .unwrap();
        let pid_file = read_pid_file(dir.path()).unwrap();
        assert_eq!((pid_file.pid, pid_file.port), (4242, 54321));
    }

    #[test]
    fn a_live_process_elsewhere_is_not_our_postmaster() {
        let dir = tempfile::tempdir().unwrap();
        // This test process is alive, but its working directory is not the data directory.
        assert!(!is_postmaster_of(std::process::id(), dir.path()));
    }

    #[test]
    fn relocated_dir_is_stable_per_project() {
        let a = relocated_dir(Path::new("/root/one/.strata/pg"));
        assert_eq!(a, relocated_dir(Path::new("/root/one/.strata/pg")));
        assert_ne!(a, relocated_dir(Path::new("/root/two/.strata/pg")));
    }
}
