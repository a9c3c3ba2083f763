//! TLS as libpq users expect it, against a real server with a self-signed certificate.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::process::Command;

use strata::config::Env;
use strata::dev::Cluster;
use strata::postgres::url::DbUrl;

struct TlsServer {
    port: u16,
    cert: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

/// Runs openssl in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let status = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl is needed for the TLS tests");
    assert!(status.success(), "openssl {args:?}");
}

/// A server with a certificate authority, and a server certificate for 127.0.0.1 only that it
/// signs; the client is given the authority.
async fn tls_server() -> TlsServer {
    let dir = cert_dir();
    let run = |args: &[&str]| openssl(dir.path(), args);
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=strata-test-ca",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
    ]);
    run(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=strata-test",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        dir.path().join("san.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
    ]);
    let cert = dir.path().join("ca.crt");
    serve(dir, cert).await
}

/// A server with a self-signed certificate (a certificate authority of itself, as `openssl req
/// -x509` makes it, and as the PostgreSQL documentation suggests), given to the client as its
/// own root. `extra` adds arguments to the request (an alternative name).
async fn self_signed_server(subject: &str, extra: &[&str]) -> TlsServer {
    let dir = cert_dir();
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        subject,
        "-keyout",
        "server.key",
        "-out",
        "server.crt",
    ];
    args.extend(extra);
    openssl(dir.path(), &args);
    let cert = dir.path().join("server.crt");
    serve(dir, cert).await
}

fn cert_dir() -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("strata-tls-")
        .tempdir()
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// Starts a server with `server.crt` and `server.key` of `dir`, TLS on.
async fn serve(dir: tempfile::TempDir, cert: std::path::PathBuf) -> TlsServer {
    let (cluster, port) = Cluster::throwaway("strata-tls", &Env::from_process()).unwrap();
    let data = cluster.data_dir();
    let key = data.join("server.key");
    std::fs::copy(dir.path().join("server.key"), &key).unwrap();
    std::fs::copy(dir.path().join("server.crt"), data.join("server.crt")).unwrap();
    let owner = std::fs::metadata(data).unwrap();
    for file in [data.join("server.crt"), key] {
        std::os::unix::fs::chown(&file, Some(owner.uid()), Some(owner.gid())).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let admin = strata::postgres::connect(&Cluster::url(port))
        .await
        .unwrap();
    // One statement per call: a multi-statement string is one implicit transaction, which
    // ALTER SYSTEM refuses.
    admin
        .batch_execute("ALTER SYSTEM SET ssl = on")
        .await
        .unwrap();
    admin
        .batch_execute("SELECT pg_reload_conf()")
        .await
        .unwrap();
    // The reload is asynchronous: wait until new sessions can use TLS.
    for _ in 0..50 {
        let on: String = admin.query_one("SHOW ssl", &[]).await.unwrap().get(0);
        if on == "on" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    TlsServer {
        port,
        cert,
        _dir: dir,
    }
}

async fn uses_tls(url: &str) -> Result<bool, String> {
    let client = strata::postgres::connect(&DbUrl::new(url))
        .await
        .map_err(|e| e.to_string())?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    Ok(row.get(0))
}

#[tokio::test]
async fn sslmodes_behave_as_in_libpq() {
    let server = tls_server().await;
    let base = format!("postgresql://postgres@127.0.0.1:{}/postgres", server.port);
    let localhost = format!("postgresql://postgres@localhost:{}/postgres", server.port);
    let ca = server.cert.display();

    assert_eq!(
        uses_tls(&format!("{base}?sslmode=disable")).await,
        Ok(false)
    );
    assert_eq!(uses_tls(&format!("{base}?sslmode=prefer")).await, Ok(true));
    assert_eq!(uses_tls(&base).await, Ok(true), "prefer is the default");
    // require encrypts without checking the (self-signed) certificate, as libpq does.
    assert_eq!(uses_tls(&format!("{base}?sslmode=require")).await, Ok(true));
    assert_eq!(
        uses_tls(&format!(
            "host=127.0.0.1 port={} user=postgres sslmode=require",
            server.port
        ))
        .await,
        Ok(true)
    );

    // verify-full: the certificate must chain to the given root and name the host.
    assert_eq!(
        uses_tls(&format!("{base}?sslmode=verify-full&sslrootcert={ca}")).await,
        Ok(true)
    );
    let wrong_host = uses_tls(&format!("{localhost}?sslmode=verify-full&sslrootcert={ca}")).await;
    assert!(
        wrong_host.is_err(),
        "verify-full accepted a certificate for another host"
    );
    // verify-ca: the chain is checked, the host name is not.
    assert_eq!(
        uses_tls(&format!("{localhost}?sslmode=verify-ca&sslrootcert={ca}")).await,
        Ok(true)
    );
    // Against the system's roots, a self-signed certificate is refused.
    let untrusted = uses_tls(&format!("{base}?sslmode=verify-full")).await;
    assert!(
        untrusted.is_err(),
        "a self-signed certificate passed verification against the system roots"
    );

    let err = uses_tls(&format!("{base}?sslmode=sometimes"))
        .await
        .unwrap_err();
    assert!(
        err.contains("sslmode=sometimes is not a libpq sslmode"),
        "{err}"
    );
}

#[tokio::test]
async fn a_self_signed_certificate_is_its_own_root_as_in_libpq() {
    // Common name only, as the PostgreSQL documentation's recipe makes it.
    let server = self_signed_server("/CN=127.0.0.1", &[]).await;
    let base = format!("postgresql://postgres@127.0.0.1:{}/postgres", server.port);
    let localhost = format!("postgresql://postgres@localhost:{}/postgres", server.port);
    let cert = server.cert.display();
    assert_eq!(
        uses_tls(&format!("{base}?sslmode=verify-full&sslrootcert={cert}")).await,
        Ok(true)
    );
    assert_eq!(
        uses_tls(&format!("{localhost}?sslmode=verify-ca&sslrootcert={cert}")).await,
        Ok(true)
    );
    let wrong_host = uses_tls(&format!(
        "{localhost}?sslmode=verify-full&sslrootcert={cert}"
    ))
    .await;
    assert!(
        wrong_host.is_err(),
        "the common name is 127.0.0.1, not localhost"
    );

    // With an alternative name, the name comes from it.
    let server = self_signed_server(
        "/CN=strata-self-signed",
        &["-addext", "subjectAltName=IP:127.0.0.1"],
    )
    .await;
    let base = format!("postgresql://postgres@127.0.0.1:{}/postgres", server.port);
    let cert = server.cert.display();
    assert_eq!(
        uses_tls(&format!("{base}?sslmode=verify-full&sslrootcert={cert}")).await,
        Ok(true)
    );
}

#[tokio::test]
async fn pgsslmode_and_pgsslrootcert_are_read_from_the_environment() {
    let server = tls_server().await;
    let cert = server.cert.display().to_string();
    let env = |mode: &str| Env::from_pairs([("PGSSLMODE", mode), ("PGSSLROOTCERT", cert.as_str())]);
    let connect = async |url: String, mode: &str| {
        strata::postgres::connect_with(&DbUrl::new(url), &env(mode))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    let ip = format!("postgresql://postgres@127.0.0.1:{}/postgres", server.port);
    let localhost = format!("postgresql://postgres@localhost:{}/postgres", server.port);
    assert_eq!(connect(ip.clone(), "verify-full").await, Ok(()));
    assert!(
        connect(localhost.clone(), "verify-full").await.is_err(),
        "PGSSLMODE=verify-full was not applied"
    );
    assert_eq!(connect(localhost.clone(), "verify-ca").await, Ok(()));
    // The URL's own sslmode wins over the environment's.
    assert_eq!(
        connect(format!("{localhost}?sslmode=require"), "verify-full").await,
        Ok(())
    );
}
