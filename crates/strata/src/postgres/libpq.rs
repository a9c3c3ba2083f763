//! Connection settings as libpq reads them, so that a URL, the `PG*` environment variables and
//! `~/.pgpass` mean for strata what they mean for `psql`.
//!
//! What the URL (or `key=value` string) leaves out comes from the environment: `PGHOST`,
//! `PGPORT`, `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`,
//! `PGCONNECT_TIMEOUT`, `PGAPPNAME`; then the password file (`passfile`, `PGPASSFILE`, or
//! `~/.pgpass`, ignored unless only its owner can read it); then libpq's defaults (the Unix
//! socket, port 5432, the operating-system user, a database named after the user).
//!
//! A string that is not a PostgreSQL connection string is refused with a message that says what
//! it looks like and what to write instead, without showing a password.

use std::path::{Path, PathBuf};
use std::str::FromStr as _;
use std::time::Duration;

use tokio_postgres::Config;
use tokio_postgres::config::{Host, SslMode};

use crate::config::Env;
use crate::postgres::tls::{Roots, Verify};
use crate::postgres::url::DbUrl;
use crate::{Error, Result};

/// libpq's default `connect_timeout` is none; strata's is 10 s, so that no connection hangs.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The value of `application_name` when neither the URL nor `PGAPPNAME` sets one.
pub const APPLICATION_NAME: &str = "strata";

/// Everything needed to open a connection.
#[derive(Debug)]
pub(crate) struct Settings {
    /// The driver's configuration, gaps filled.
    pub config: Config,
    /// Whether and how to use TLS.
    pub ssl: SslMode,
    /// How much of the certificate is checked.
    pub verify: Verify,
    /// The trusted roots (for `verify-ca` and `verify-full`).
    pub roots: Option<Roots>,
    /// How long connecting may take in all (`None`: `connect_timeout=0`, wait as long as it
    /// takes, as libpq does).
    pub timeout: Option<Duration>,
}

impl Settings {
    /// Reads `url`, filling what it leaves out from `env` and the password file.
    pub(crate) fn new(url: &DbUrl, env: &Env) -> Result<Settings> {
        diagnose(url)?;
        let (rest, removed) =
            url.remove_params(&["sslmode", "sslrootcert", "connect_timeout", "passfile"]);
        let param = |key: &str| {
            removed
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .or_else(|| env_key(key).and_then(|var| env.get(var)).map(str::to_owned))
        };
        let mut config = Config::from_str(rest.expose()).map_err(|e| {
            let why = std::error::Error::source(&e).map_or(e.to_string(), |s| format!("{e}: {s}"));
            Error::Invalid(format!(
                "{url}: cannot read the connection string ({why}); {FORMS}"
            ))
        })?;
        fill_from_env(&mut config, env);
        let (ssl, verify) = sslmode(url, param("sslmode").as_deref())?;
        let roots = match param("sslrootcert") {
            Some(system) if system == "system" => Some(Roots::System),
            Some(path) => Some(Roots::File(path)),
            None => home(env)
                .map(|home| home.join(".postgresql/root.crt"))
                .filter(|path| path.is_file())
                .map(|path| Roots::File(path.display().to_string())),
        };
        // libpq: "if a root CA file exists, sslmode=require behaves as verify-ca".
        let verify = match (verify, &roots) {
            (Verify::Nothing, Some(Roots::File(_))) if ssl == SslMode::Require => Verify::Chain,
            (verify, _) => verify,
        };
        let timeout = timeout(url, param("connect_timeout").as_deref())?;
        if config.get_password().is_none() {
            let passfile = param("passfile")
                .map(PathBuf::from)
                .or_else(|| home(env).map(|h| h.join(".pgpass")));
            if let Some(password) = passfile.and_then(|path| from_passfile(&path, &config)) {
                config.password(password);
            }
        }
        config.ssl_mode(ssl);
        Ok(Settings {
            config,
            ssl,
            verify,
            roots,
            timeout,
        })
    }

    /// The hosts and ports, for messages (`db.example:5432`).
    pub(crate) fn hosts(&self) -> String {
        let ports = self.config.get_ports();
        self.config
            .get_hosts()
            .iter()
            .enumerate()
            .map(|(i, host)| {
                let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
                match host {
                    Host::Tcp(name) => format!("{name}:{port}"),
                    Host::Unix(dir) => format!("{}/.s.PGSQL.{port}", dir.display()),
                }
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

const FORMS: &str = "write postgres://user:password@host:port/database, or key=value pairs such as `host=db.example dbname=app`";

/// The environment variable behind a parameter strata reads itself.
fn env_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "sslmode" => "PGSSLMODE",
        "sslrootcert" => "PGSSLROOTCERT",
        "connect_timeout" => "PGCONNECT_TIMEOUT",
        "passfile" => "PGPASSFILE",
        _ => return None,
    })
}

/// Refuses what is not a PostgreSQL connection string before the driver misreads it.
fn diagnose(url: &DbUrl) -> Result<()> {
    let text = url.expose().trim();
    if let Some((scheme, rest)) = text.split_once("://") {
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "postgres" && scheme != "postgresql" {
            let what = match scheme.as_str() {
                "mysql" | "mysqlx" => "a MySQL URL",
                "mariadb" => "a MariaDB URL",
                "sqlite" | "file" => "an SQLite URL",
                "mongodb" | "mongodb+srv" => "a MongoDB URL",
                "redis" | "rediss" => "a Redis URL",
                "mssql" | "sqlserver" => "a SQL Server URL",
                "jdbc:postgresql" => "a JDBC URL (drop the `jdbc:` prefix)",
                "http" | "https" => "a web address",
                _ => "not a PostgreSQL URL",
            };
            return Err(Error::Invalid(format!(
                "{url} is {what} (`{scheme}://`); strata works with PostgreSQL: {FORMS}"
            )));
        }
        if rest.matches('@').count() > 1 {
            return Err(Error::Invalid(format!(
                "{url}: the URL holds more than one `@`, so the host cannot be told from the password; \
                 characters that are special in a URL must be percent-encoded in the user name and password: \
                 write `@` as %40, `:` as %3A, `/` as %2F, `?` as %3F, `#` as %23, `%` as %25 and a space as %20 \
                 (or leave the password out of the URL and set PGPASSWORD, or use ~/.pgpass)"
            )));
        }
        return Ok(());
    }
    if !text.contains('=') {
        return Err(Error::Invalid(format!(
            "the database URL {url} is not a PostgreSQL connection string; {FORMS}"
        )));
    }
    Ok(())
}

/// Fills what the connection string left out, as libpq does.
fn fill_from_env(config: &mut Config, env: &Env) {
    if config.get_hosts().is_empty() {
        match env.get("PGHOST") {
            Some(hosts) => {
                for host in hosts.split(',') {
                    config.host(host.trim());
                }
            }
            None => {
                config.host(default_socket_dir());
            }
        }
    }
    if config.get_ports().is_empty()
        && let Some(ports) = env.get("PGPORT")
    {
        for port in ports.split(',').filter_map(|p| p.trim().parse().ok()) {
            config.port(port);
        }
    }
    if config.get_user().is_none()
        && let Some(user) = env.get("PGUSER").map(str::to_owned).or_else(os_user)
    {
        config.user(user);
    }
    if config.get_password().is_none()
        && let Some(password) = env.get("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_dbname().is_none()
        && let Some(dbname) = env.get("PGDATABASE")
    {
        config.dbname(dbname);
    }
    if config.get_application_name().is_none() {
        config.application_name(env.get("PGAPPNAME").unwrap_or(APPLICATION_NAME));
    }
}

/// libpq's compiled-in socket folder: Debian's, else the upstream default.
fn default_socket_dir() -> &'static str {
    if Path::new("/var/run/postgresql").is_dir() {
        "/var/run/postgresql"
    } else {
        "/tmp"
    }
}

fn sslmode(url: &DbUrl, mode: Option<&str>) -> Result<(SslMode, Verify)> {
    Ok(match mode.unwrap_or("prefer") {
        "disable" => (SslMode::Disable, Verify::Nothing),
        "allow" | "prefer" => (SslMode::Prefer, Verify::Nothing),
        "require" => (SslMode::Require, Verify::Nothing),
        "verify-ca" => (SslMode::Require, Verify::Chain),
        "verify-full" => (SslMode::Require, Verify::Full),
        other => {
            return Err(Error::Invalid(format!(
                "{url}: sslmode={other} is not a libpq sslmode; use disable, prefer, require, verify-ca or verify-full"
            )));
        }
    })
}

/// `connect_timeout` in seconds: 0 (or less) waits for ever, as in libpq, and less than 2 counts
/// as 2 (libpq's minimum).
fn timeout(url: &DbUrl, value: Option<&str>) -> Result<Option<Duration>> {
    let Some(value) = value else {
        return Ok(Some(DEFAULT_CONNECT_TIMEOUT));
    };
    let seconds: i64 = value.trim().parse().map_err(|_| {
        Error::Invalid(format!(
            "{url}: connect_timeout={value} is not a whole number of seconds"
        ))
    })?;
    Ok((seconds > 0).then(|| Duration::from_secs(seconds.max(2) as u64)))
}

fn home(env: &Env) -> Option<PathBuf> {
    env.get("HOME").map(PathBuf::from)
}

/// The operating system's name for the current user (libpq's default user).
fn os_user() -> Option<String> {
    // SAFETY: getpwuid_r writes into the buffers given and nothing else; the result points into
    // `buffer`, read before it goes out of scope.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut buffer = vec![0 as libc::c_char; 4096];
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let status = libc::getpwuid_r(
            libc::geteuid(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut result,
        );
        if status != 0 || result.is_null() || entry.pw_name.is_null() {
            return None;
        }
        std::ffi::CStr::from_ptr(entry.pw_name)
            .to_str()
            .ok()
            .map(str::to_owned)
    }
}

/// The password for the first host from a password file (`host:port:database:user:password`,
/// `*` matching anything, `\` escaping `:` and `\`). A file others can read is ignored, as libpq
/// ignores it.
fn from_passfile(path: &Path, config: &Config) -> Option<Vec<u8>> {
    use std::os::unix::fs::PermissionsExt as _;
    let metadata = std::fs::metadata(path).ok()?;
    if !metadata.is_file() || metadata.permissions().mode() & 0o077 != 0 {
        return None;
    }
    let text = std::fs::read_to_string(path).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        // libpq matches a Unix-socket connection with `localhost`.
        Some(Host::Unix(_)) | None => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user()?.to_owned();
    let database = config.get_dbname().unwrap_or(&user).to_owned();
    let wanted = [host, port, database, user];
    text.lines()
        .filter(|line| !line.trim_start().starts_with('#') && !line.trim().is_empty())
        .map(passfile_fields)
        .find(|fields| {
            fields.len() == 5
                && fields[..4]
                    .iter()
                    .zip(&wanted)
                    .all(|(field, value)| field == "*" || field == value)
        })
        .map(|fields| fields[4].clone().into_bytes())
}

fn passfile_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut().unwrap().extend(chars.next()),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(url: &str, env: &[(&str, &str)]) -> Result<Settings> {
        Settings::new(&DbUrl::new(url), &Env::from_pairs(env.iter().copied()))
    }

    #[test]
    fn the_environment_fills_what_the_url_leaves_out() {
        let env = [
            ("PGHOST", "db.example"),
            ("PGPORT", "6543"),
            ("PGUSER", "app"),
            ("PGPASSWORD", "from-env"),
            ("PGDATABASE", "appdb"),
            ("PGAPPNAME", "deploy"),
            ("PGCONNECT_TIMEOUT", "3"),
            ("PGSSLMODE", "require"),
        ];
        let s = settings("postgres://", &env).unwrap();
        assert_eq!(s.hosts(), "db.example:6543");
        assert_eq!(s.config.get_user(), Some("app"));
        assert_eq!(s.config.get_password(), Some(&b"from-env"[..]));
        assert_eq!(s.config.get_dbname(), Some("appdb"));
        assert_eq!(s.config.get_application_name(), Some("deploy"));
        assert_eq!(s.timeout, Some(Duration::from_secs(3)));
        assert_eq!(s.ssl, SslMode::Require);

        let s = settings(
            "postgres://u:p@h:1/d?application_name=x&sslmode=disable&connect_timeout=0",
            &env,
        )
        .unwrap();
        assert_eq!(s.hosts(), "h:1");
        assert_eq!(s.config.get_user(), Some("u"));
        assert_eq!(s.config.get_password(), Some(&b"p"[..]));
        assert_eq!(s.config.get_dbname(), Some("d"));
        assert_eq!(s.config.get_application_name(), Some("x"));
        assert_eq!(s.timeout, None);
        assert_eq!(s.ssl, SslMode::Disable);
    }

    #[test]
    fn defaults_when_nothing_is_set() {
        let s = settings("postgres://h/d", &[]).unwrap();
        assert_eq!(s.timeout, Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(s.config.get_application_name(), Some(APPLICATION_NAME));
        assert_eq!(s.ssl, SslMode::Prefer);
        assert!(s.config.get_user().is_some(), "the operating-system user");
        let s = settings("postgres://h/d?connect_timeout=1", &[]).unwrap();
        assert_eq!(s.timeout, Some(Duration::from_secs(2)), "libpq's minimum");
    }

    #[test]
    fn the_password_file_as_libpq_reads_it() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(
            &file,
            "# comment\nother:*:*:*:no\nh:5432:d:u:first\\:pw\\\\\n*:*:*:u:second\n",
        )
        .unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let env = [("PGPASSFILE", file.to_str().unwrap())];
        let s = settings("postgres://u@h/d", &env).unwrap();
        assert_eq!(s.config.get_password(), Some(&b"first:pw\\"[..]));
        let s = settings("postgres://u@h/other", &env).unwrap();
        assert_eq!(s.config.get_password(), Some(&b"second"[..]));
        let s = settings("postgres://u:given@h/d", &env).unwrap();
        assert_eq!(s.config.get_password(), Some(&b"given"[..]));

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let s = settings("postgres://u@h/d", &env).unwrap();
        assert_eq!(s.config.get_password(), None, "readable by others: ignored");
    }

    #[test]
    fn other_databases_and_garbage_are_named() {
        let err = settings("mysql://root:hunter2@db/app", &[])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a MySQL URL") && err.contains("postgres://"),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        let err = settings("not a url", &[]).unwrap_err().to_string();
        assert!(err.contains("not a PostgreSQL connection string"), "{err}");
    }

    #[test]
    fn an_unencoded_at_sign_in_a_password_is_explained() {
        let err = settings("postgres://app:p@ss:w@rd@db:5432/app", &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("%40"), "{err}");
        assert!(!err.contains("ss:w"), "{err}");
    }
}
