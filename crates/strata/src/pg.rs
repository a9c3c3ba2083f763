//! Connections to PostgreSQL, with TLS as libpq users expect it.
//!
//! `sslmode` follows libpq: `disable` never encrypts; `prefer` (the default) and `require`
//! encrypt without checking the server's certificate (as libpq does when no root certificate is
//! given); `verify-ca` and `verify-full` check the certificate against `sslrootcert` or the
//! system's roots, and `verify-full` also checks the host name.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres::config::SslMode;
use tokio_postgres::{Client, Config, NoTls};

use crate::url::DbUrl;
use crate::{Error, Result};

/// The value of `application_name` when the URL does not set one.
pub const APPLICATION_NAME: &str = "strata";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verify {
    /// Encrypt, do not check the certificate (`prefer`, `require`).
    Nothing,
    /// Check the chain, not the host name (`verify-ca`).
    Chain,
    /// Check the chain and the host name (`verify-full`).
    Full,
}

/// Whether a table exists (`to_regclass`).
pub async fn table_exists(client: &Client, table: &strata_core::catalog::QualName) -> Result<bool> {
    let row = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&strata_core::render::qualified(table)],
        )
        .await
        .map_err(|e| Error::db(format!("looking for {table}"), e))?;
    Ok(row.get(0))
}

/// The server's `server_version_num` (e.g. 150018).
pub async fn server_version(client: &Client) -> Result<u32> {
    let row = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .await
        .map_err(|e| Error::db("reading the server version", e))?;
    Ok(row.get::<_, i32>(0) as u32)
}

/// Opens a connection and drives it on the current tokio runtime.
pub async fn connect(url: &DbUrl) -> Result<Client> {
    let connect_error = |error| Error::Connect {
        url: url.to_string(),
        error,
    };
    let (rest, removed) = url.remove_params(&["sslmode", "sslrootcert"]);
    let mut config = Config::from_str(rest.expose()).map_err(connect_error)?;
    let mut verify = Verify::Nothing;
    let mut root_cert = None;
    for (key, value) in removed {
        match (key.as_str(), value.as_str()) {
            ("sslmode", "disable") => config.ssl_mode(SslMode::Disable),
            ("sslmode", "allow" | "prefer") => config.ssl_mode(SslMode::Prefer),
            ("sslmode", "require") => config.ssl_mode(SslMode::Require),
            ("sslmode", "verify-ca") => {
                verify = Verify::Chain;
                config.ssl_mode(SslMode::Require)
            }
            ("sslmode", "verify-full") => {
                verify = Verify::Full;
                config.ssl_mode(SslMode::Require)
            }
            ("sslmode", other) => {
                return Err(Error::Invalid(format!(
                    "{url}: sslmode={other} is not a libpq sslmode; use disable, prefer, require, verify-ca or verify-full"
                )));
            }
            _ => {
                root_cert = Some(value);
                &mut config
            }
        };
    }
    if config.get_application_name().is_none() {
        config.application_name(APPLICATION_NAME);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(15));
    }

    let client = if config.get_ssl_mode() == SslMode::Disable {
        let (client, connection) = config.connect(NoTls).await.map_err(connect_error)?;
        tokio::spawn(connection);
        client
    } else {
        let tls = tls_connector(verify, root_cert.as_deref())
            .map_err(|message| Error::Invalid(format!("{url}: {message}")))?;
        let (client, connection) = config.connect(tls).await.map_err(connect_error)?;
        tokio::spawn(connection);
        client
    };
    Ok(client)
}

fn tls_connector(
    verify: Verify,
    root_cert: Option<&str>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?;
    let config = match verify {
        Verify::Nothing => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoCertificateCheck(provider)))
            .with_no_client_auth(),
        Verify::Chain | Verify::Full => {
            let mut roots = rustls::RootCertStore::empty();
            match root_cert {
                Some(path) => {
                    let pem = std::fs::read(path)
                        .map_err(|e| format!("cannot read sslrootcert {path}: {e}"))?;
                    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
                        let cert: CertificateDer<'static> =
                            cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
                        roots
                            .add(cert)
                            .map_err(|e| format!("sslrootcert {path}: {e}"))?;
                    }
                }
                None => {
                    for cert in rustls_native_certs::load_native_certs().certs {
                        // A system store may hold certificates rustls cannot parse; skip them as libpq does.
                        let _ = roots.add(cert);
                    }
                }
            }
            if roots.is_empty() {
                return Err(
                    "no root certificates to verify the server with; set sslrootcert".into(),
                );
            }
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| format!("TLS set-up failed: {e}"))?;
            let verifier: Arc<dyn ServerCertVerifier> = if verify == Verify::Full {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            };
            builder
                .dangerous()
                .with_custom_certificate_verifier(verifier)
                .with_no_client_auth()
        }
    };
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// `sslmode=require`: encrypted, but any certificate is accepted (libpq's behaviour without a
/// root certificate). Handshake signatures are still checked.
#[derive(Debug)]
struct NoCertificateCheck(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoCertificateCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the chain must lead to a trusted root; the host name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<rustls::client::WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Where in `text` a failed statement's error points: the line and column of the server's error
/// position, else of the statement's start.
pub fn error_location(
    text: &str,
    statement: &strata_core::split::Statement,
    error: &tokio_postgres::Error,
) -> (usize, usize) {
    match error.as_db_error().and_then(|d| d.position()) {
        Some(tokio_postgres::error::ErrorPosition::Original(position)) => {
            statement.position(text, *position as usize)
        }
        _ => (statement.line, statement.column),
    }
}

/// Runs statements one after the other without waiting for each answer before sending the next
/// (pipelined on the one connection, in order, at most a few hundred in flight), calling
/// `done` as each completes. Stops at the first failure: its index and error. Inside a
/// transaction the statements after a failure fail too ("transaction is aborted"); those are
/// not the failure reported.
///
/// One round trip per statement is what makes applying thousands of statements slow when each
/// waits for the last; PostgreSQL runs them in the order sent either way.
pub async fn run_pipelined<'t>(
    client: &Client,
    statements: impl IntoIterator<Item = &'t str>,
    mut done: impl FnMut(),
) -> std::result::Result<(), (usize, tokio_postgres::Error)> {
    use futures_util::StreamExt as _;
    const IN_FLIGHT: usize = 256;
    let mut first_failure: Option<(usize, tokio_postgres::Error)> = None;
    let statements: Vec<&str> = statements.into_iter().collect();
    for (chunk_index, chunk) in statements.chunks(IN_FLIGHT).enumerate() {
        let mut running: futures_util::stream::FuturesOrdered<_> = chunk
            .iter()
            .enumerate()
            .map(|(i, sql)| async move {
                (chunk_index * IN_FLIGHT + i, client.batch_execute(sql).await)
            })
            .collect();
        while let Some((index, result)) = running.next().await {
            match result {
                Ok(()) => done(),
                Err(error) => {
                    let aborted = error.code()
                        == Some(&tokio_postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION);
                    if first_failure.is_none()
                        || (!aborted
                            && first_failure.as_ref().is_some_and(|(_, e)| {
                                e.code()
                                    == Some(
                                        &tokio_postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION,
                                    )
                            }))
                    {
                        first_failure = Some((index, error));
                    }
                }
            }
        }
        if first_failure.is_some() {
            break;
        }
    }
    first_failure.map_or(Ok(()), Err)
}

/// Runs `body` inside a transaction opened with `begin` (`BEGIN`, with options or `SET LOCAL`s):
/// commits when it succeeds, rolls back when it fails. `what` names the work in errors.
pub async fn in_transaction<T>(
    client: &Client,
    begin: &str,
    what: &str,
    body: impl AsyncFnOnce() -> Result<T>,
) -> Result<T> {
    client
        .batch_execute(begin)
        .await
        .map_err(|e| Error::db(format!("starting {what}"), e))?;
    match body().await {
        Ok(value) => {
            client
                .batch_execute("COMMIT")
                .await
                .map_err(|e| Error::db(format!("committing {what}"), e))?;
            Ok(value)
        }
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            Err(e)
        }
    }
}
