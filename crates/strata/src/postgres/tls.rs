//! TLS for PostgreSQL connections, checked as libpq checks it.
//!
//! `sslmode` follows libpq: `disable` never encrypts; `prefer` (the default) and `require`
//! encrypt without checking the server's certificate (as libpq does when no root certificate is
//! at hand); `verify-ca` and `verify-full` check the certificate against `sslrootcert` (or the
//! system's roots for `sslrootcert=system`), and `verify-full` also checks the host name (in the
//! subject alternative names, else the common name, as libpq does).
//!
//! A self-signed server certificate given as its own `sslrootcert` is trusted as libpq (OpenSSL)
//! trusts it: rustls refuses a certificate authority as the server's certificate
//! (`CaUsedAsEndEntity`), so a certificate that is byte for byte one of the roots is checked here
//! (validity period, and host name for `verify-full`) instead.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use x509_cert::der::Decode as _;

/// How much of the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verify {
    /// Encrypt, do not check the certificate (`prefer`, `require`).
    Nothing,
    /// Check the chain, not the host name (`verify-ca`).
    Chain,
    /// Check the chain and the host name (`verify-full`).
    Full,
}

/// Where the trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Roots {
    /// A PEM file (`sslrootcert=/path`).
    File(String),
    /// The system's store (`sslrootcert=system`).
    System,
}

/// The connector for a connection that checks `verify` against `roots`.
pub(crate) fn connector(
    verify: Verify,
    roots: &Roots,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS set-up failed: {e}"))?;
    let verifier: Arc<dyn ServerCertVerifier> = match verify {
        Verify::Nothing => Arc::new(NoCertificateCheck(provider)),
        Verify::Chain | Verify::Full => {
            let (store, pinned) = load_roots(roots)?;
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(store),
                provider,
            )
            .build()
            .map_err(|e| format!("TLS set-up failed: {e}"))?;
            Arc::new(LibpqVerifier {
                webpki,
                pinned,
                check_name: verify == Verify::Full,
            })
        }
    };
    let config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

/// The root store, and the roots themselves (a server certificate among them is pinned).
fn load_roots(
    roots: &Roots,
) -> Result<(rustls::RootCertStore, Vec<CertificateDer<'static>>), String> {
    let mut store = rustls::RootCertStore::empty();
    let mut pinned = Vec::new();
    match roots {
        Roots::File(path) => {
            let pem =
                std::fs::read(path).map_err(|e| format!("cannot read sslrootcert {path}: {e}"))?;
            for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
                let cert: CertificateDer<'static> =
                    cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
                store
                    .add(cert.clone())
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
                pinned.push(cert);
            }
        }
        Roots::System => {
            for cert in rustls_native_certs::load_native_certs().certs {
                // A system store may hold certificates rustls cannot parse; skip them as libpq does.
                let _ = store.add(cert);
            }
        }
    }
    if store.is_empty() {
        return Err("no root certificates to verify the server with; set sslrootcert".into());
    }
    Ok((store, pinned))
}

/// `verify-ca` and `verify-full` as libpq does them.
#[derive(Debug)]
struct LibpqVerifier {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    /// The roots of an `sslrootcert` file: a server certificate among them is trusted as itself.
    pinned: Vec<CertificateDer<'static>>,
    check_name: bool,
}

impl ServerCertVerifier for LibpqVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|root| root.as_ref() == end_entity.as_ref())
        {
            check_validity(end_entity, now)?;
            if self.check_name {
                check_name(end_entity, server_name)?;
            }
            return Ok(ServerCertVerified::assertion());
        }
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if common_name_matches(end_entity, server_name) => {
                Ok(ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

fn parse(cert: &CertificateDer<'_>) -> Result<x509_cert::Certificate, rustls::Error> {
    x509_cert::Certificate::from_der(cert.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))
}

/// A pinned certificate must be within its validity period, as OpenSSL requires of every
/// certificate of a chain.
fn check_validity(cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let validity = parse(cert)?.tbs_certificate.validity;
    let now = now.as_secs();
    if now < validity.not_before.to_unix_duration().as_secs() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    if now > validity.not_after.to_unix_duration().as_secs() {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    Ok(())
}

/// The host name check of `verify-full`: the alternative names, else the common name.
fn check_name(
    cert: &CertificateDer<'_>,
    server_name: &ServerName<'_>,
) -> Result<(), rustls::Error> {
    let parsed = rustls::server::ParsedCertificate::try_from(cert)?;
    match rustls::client::verify_server_name(&parsed, server_name) {
        Ok(()) => Ok(()),
        Err(_) if common_name_matches(cert, server_name) => Ok(()),
        Err(e) => Err(e),
    }
}

/// libpq's fallback: with no DNS name or IP address among the alternative names, the subject's
/// common name must match the host (`*.` matching one label).
fn common_name_matches(cert: &CertificateDer<'_>, server_name: &ServerName<'_>) -> bool {
    use x509_cert::ext::pkix::SubjectAltName;
    use x509_cert::ext::pkix::name::GeneralName;
    let Ok(cert) = parse(cert) else {
        return false;
    };
    let tbs = &cert.tbs_certificate;
    let has_names = tbs.extensions.iter().flatten().any(|ext| {
        ext.extn_id == x509_cert::der::oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME
            && SubjectAltName::from_der(ext.extn_value.as_bytes()).is_ok_and(|names| {
                names
                    .0
                    .iter()
                    .any(|n| matches!(n, GeneralName::DnsName(_) | GeneralName::IpAddress(_)))
            })
    });
    if has_names {
        return false;
    }
    let host = match server_name {
        ServerName::DnsName(name) => name.as_ref().to_ascii_lowercase(),
        ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => return false,
    };
    tbs.subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .filter(|atv| atv.oid == x509_cert::der::oid::db::rfc4519::CN)
        .filter_map(|atv| std::str::from_utf8(atv.value.value()).ok())
        .any(|cn| name_matches(&cn.to_ascii_lowercase(), &host))
}

fn name_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(domain) => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == domain),
        None => pattern == host,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_names_match_as_in_libpq() {
        assert!(name_matches("db.example.com", "db.example.com"));
        assert!(name_matches("*.example.com", "db.example.com"));
        assert!(!name_matches("*.example.com", "a.db.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("db.example.com", "other.example.com"));
    }
}
