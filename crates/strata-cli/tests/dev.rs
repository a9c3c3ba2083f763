//! `strata dev …` end to end: the real binary, real PostgreSQL server binaries.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use common::{StopOnDrop, is_root, run, strata};

/// A project folder: the development database belongs to one.
fn project() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("strata-cli-dev-")
        .tempdir()
        .unwrap();
    fs::write(dir.path().join("strata.toml"), "").unwrap();
    dir
}

#[test]
fn lifecycle_start_twice_status_url_psql_stop_twice() {
    let dir = project();
    let _stop = StopOnDrop(dir.path().to_path_buf());

    let (code, out, err) = run(strata(dir.path()).args(["dev", "start"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("created a development database"), "{out}");
    assert!(
        out.contains("started the development database on 127.0.0.1:"),
        "{out}"
    );

    let (code, out, err) = run(strata(dir.path()).args(["dev", "start"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("already running"), "{out}");

    let (code, out, _) = run(strata(dir.path()).args(["dev", "status"]));
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("development database: running"), "{out}");
    assert!(
        out.contains("version:") && !out.contains("not accepting"),
        "{out}"
    );

    let (code, url, err) = run(strata(dir.path()).args(["dev", "url"]));
    assert_eq!(code, 0, "{err}");
    let url = url.trim();
    assert!(url.starts_with("postgresql://postgres@127.0.0.1:"), "{url}");
    let (code, out, err) = run(Command::new("psql").args([url, "-XAtc", "select 1"]));
    assert_eq!((code, out.trim()), (0, "1"), "{err}");

    let (code, out, _) = run(strata(dir.path()).args(["dev", "stop"]));
    assert_eq!(code, 0);
    assert!(out.contains("stopped the development database"), "{out}");
    let (code, out, _) = run(strata(dir.path()).args(["dev", "stop"]));
    assert_eq!(code, 0);
    assert!(out.contains("not running"), "{out}");

    let (code, out, _) = run(strata(dir.path()).args(["dev", "status"]));
    assert_eq!(code, 1, "a stopped cluster is reported with exit 1: {out}");
    assert!(out.contains("stopped"), "{out}");

    // Data survives a restart.
    let (code, url, _) = run(strata(dir.path()).args(["dev", "url"]));
    assert_eq!(code, 0);
    run(Command::new("psql").args([url.trim(), "-Xqc", "create table kept (id int)"]));
    run(strata(dir.path()).args(["dev", "stop"]));
    let (_, url, _) = run(strata(dir.path()).args(["dev", "url"]));
    let (code, out, err) =
        run(Command::new("psql").args([url.trim(), "-XAtc", "select count(*) from kept"]));
    assert_eq!((code, out.trim()), (0, "0"), "{err}");
}

#[test]
fn status_before_anything_exists() {
    let dir = project();
    let (code, out, _) = run(strata(dir.path()).args(["dev", "status"]));
    assert_eq!(code, 1);
    assert!(out.contains("not created yet"), "{out}");
    assert!(!dir.path().join(".strata/pg/PG_VERSION").exists());
}

#[test]
fn stale_pid_files_after_a_crash_or_restart() {
    let dir = project();
    let _stop = StopOnDrop(dir.path().to_path_buf());
    assert_eq!(run(strata(dir.path()).args(["dev", "start"])).0, 0);
    assert_eq!(run(strata(dir.path()).args(["dev", "stop"])).0, 0);
    let data = dir.path().join(".strata/pg");

    // After a restart the old pid may belong to another live process (here: this test), or to none.
    for pid in [std::process::id(), 4_000_000] {
        fs::write(
            data.join("postmaster.pid"),
            format!("{pid}\n{}\n0\n5432\n\n127.0.0.1\n\nready\n", data.display()),
        )
        .unwrap();
        let (code, out, _) = run(strata(dir.path()).args(["dev", "status"]));
        assert_eq!(code, 1, "status believed a stale pid file: {out}");
        assert!(out.contains("stopped") && out.contains("pid file"), "{out}");

        let (code, out, err) = run(strata(dir.path()).args(["dev", "start"]));
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("started the development database"), "{out}");
        assert_eq!(run(strata(dir.path()).args(["dev", "status"])).0, 0);
        assert_eq!(run(strata(dir.path()).args(["dev", "stop"])).0, 0);
    }
}

#[test]
fn port_taken_by_someone_else_is_replaced() {
    let dir = project();
    let _stop = StopOnDrop(dir.path().to_path_buf());
    let (_, out, _) = run(strata(dir.path()).args(["dev", "start"]));
    run(strata(dir.path()).args(["dev", "stop"]));
    let port: u16 = out
        .split("127.0.0.1:")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (code, out, err) = run(strata(dir.path()).args(["dev", "start"]));
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains(&format!("127.0.0.1:{port}")), "{out}");
}

#[test]
fn concurrent_starts_start_one_server() {
    let dir = project();
    let _stop = StopOnDrop(dir.path().to_path_buf());
    let children: Vec<_> = (0..4)
        .map(|_| {
            strata(dir.path())
                .args(["dev", "url"])
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let urls: Vec<String> = children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap()
        })
        .collect();
    assert!(urls.windows(2).all(|w| w[0] == w[1]), "{urls:?}");
}

#[test]
fn no_server_binaries_reachable_is_exit_2_with_advice() {
    // Hide every server binary on this machine: an empty folder over /usr/lib/postgresql in a
    // private mount namespace, and a PATH without initdb.
    let empty = tempfile::tempdir().unwrap();
    let dir = project();
    let script = format!(
        "mount --bind {empty} /usr/lib/postgresql 2>/dev/null || mount --bind {empty} /usr/lib; exec \"$0\" dev start",
        empty = empty.path().display()
    );
    let unshare_flags = if is_root() { "-m" } else { "-rm" };
    let (code, out, err) = run(Command::new("unshare")
        .args([unshare_flags, "sh", "-c", &script])
        .arg(common::strata_bin())
        .current_dir(dir.path())
        .env("PATH", "/usr/bin:/bin:/usr/sbin:/sbin")
        .env_remove("STRATA_PG_BIN"));
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("no PostgreSQL server binaries found"), "{err}");
    assert!(
        err.contains("apt-get install postgresql") && err.contains("STRATA_PG_BIN"),
        "{err}"
    );
}

#[test]
fn strata_pg_bin_is_used_and_checked() {
    let dir = project();
    let (code, _, err) = run(strata(dir.path())
        .args(["dev", "start"])
        .env("STRATA_PG_BIN", dir.path()));
    assert_eq!(code, 2);
    assert!(
        err.contains("STRATA_PG_BIN=") && err.contains("initdb missing"),
        "{err}"
    );
}

#[test]
fn runs_as_a_non_root_user() {
    // As root, run strata itself as the unprivileged `postgres` user; as anyone else, the caller
    // already is one. Either way the server runs as the calling user, without runuser.
    let dir = project();
    let bin_dir = tempfile::tempdir().unwrap();
    let bin = bin_dir.path().join("strata");
    fs::copy(common::strata_bin(), &bin).unwrap();
    for path in [bin_dir.path(), dir.path()] {
        fs::set_permissions(path, fs::Permissions::from_mode(0o777)).unwrap();
    }
    let command = |args: &[&str]| {
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&bin);
            c
        } else {
            Command::new(&bin)
        };
        command
            .args(args)
            .current_dir(dir.path())
            .env_remove("DATABASE_URL");
        command
    };
    let (code, out, err) = run(&mut command(&["dev", "start"]));
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = run(&mut command(&["dev", "status"]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!(
            "data dir:  {}",
            dir.path().join(".strata/pg").display()
        )),
        "{out}"
    );
    let (code, out, err) = run(&mut command(&["dev", "stop"]));
    assert_eq!(code, 0, "{out}{err}");
}

#[test]
fn project_folder_the_server_user_cannot_reach() {
    // A project inside a folder only its owner may enter (a home directory, say).
    let outer = project();
    fs::set_permissions(outer.path(), fs::Permissions::from_mode(0o700)).unwrap();
    let dir = outer.path().join("project");
    fs::create_dir(&dir).unwrap();
    fs::write(dir.join("strata.toml"), "").unwrap();
    let _stop = StopOnDrop(dir.clone());
    let (code, out, err) = run(strata(&dir).args(["dev", "start"]));
    assert_eq!(code, 0, "{out}{err}");
    let (_, status, _) = run(strata(&dir).args(["dev", "status"]));
    if is_root() {
        // The server runs as `postgres`, which cannot enter the folder: the cluster moves, and says so.
        assert!(err.contains("not reachable by user postgres"), "{err}");
        assert!(!status.contains(&dir.display().to_string()), "{status}");
    } else {
        // The server runs as the caller, who owns the folder: the cluster stays in the project.
        assert!(
            status.contains(&dir.join(".strata/pg").display().to_string()),
            "{status}"
        );
    }
    assert!(status.contains("running"), "{status}");
}

#[test]
fn config_errors_name_file_line_and_column() {
    let dir = project();
    fs::write(
        dir.path().join("strata.toml"),
        "[dev]\ndata_dir = \".strata/pg\"\nport = 5\n",
    )
    .unwrap();
    let (code, _, err) = run(strata(dir.path()).args(["dev", "status"]));
    assert_eq!(code, 2);
    assert!(
        err.contains("strata.toml:3:1") && err.contains("unknown field `port`"),
        "{err}"
    );
}

#[test]
fn configured_data_dir_is_used() {
    let dir = project();
    fs::write(
        dir.path().join("strata.toml"),
        "[dev]\ndata_dir = \"var/cluster\"\n",
    )
    .unwrap();
    let (code, out, _) = run(strata(dir.path()).args(["dev", "status"]));
    assert_eq!(code, 1);
    assert!(
        out.contains(&dir.path().join("var/cluster").display().to_string()),
        "{out}"
    );
}

#[test]
fn help_lists_only_working_commands() {
    let (code, out, _) = run(strata(std::path::Path::new("/")).arg("--help"));
    assert_eq!(code, 0);
    let commands: Vec<&str> = out
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("Options:")
        .next()
        .unwrap()
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(
        commands,
        [
            "init",
            "generate",
            "migrate",
            "rollback",
            "baseline",
            "up",
            "push",
            "pull",
            "diff",
            "check",
            "lint",
            "status",
            "codegen",
            "sum",
            "data",
            "aws",
            "inspect",
            "import",
            "completions",
            "man",
            "dev",
            "help"
        ],
        "{out}"
    );
    let (_, out, _) = run(strata(std::path::Path::new("/")).args(["dev", "--help"]));
    assert!(!out.contains("hold-scratch"), "{out}");
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, err) = run(strata(std::path::Path::new("/")).arg("no-such-command"));
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand"), "{err}");
}
