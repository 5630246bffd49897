//! SSL_GET's TLS client, built once from the global `SSL { ca certificate
//! key password }` block and shared by every SSL_GET checker.
//!
//! keepalived loads the CA file but never sets `SSL_VERIFY_PEER`
//! (`check_ssl.c:build_ssl_ctx`), so it accepts any server certificate,
//! self-signed or not, CA given or not. We do the same by default; a
//! kalive-only `verify_server` checks the chain against `ca` (and the name,
//! the SNI name or else the address). rustls speaks TLS 1.2 and 1.3 only,
//! where keepalived's OpenSSL would also accept 1.0/1.1.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_rustls::TlsConnector;

use crate::Error;

/// The files of keepalived's global `SSL` block.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsFiles {
    /// `ca`: trusted CAs (PEM); used only with `verify_server`, as keepalived
    /// never verifies the server.
    pub ca: Option<PathBuf>,
    /// `certificate`: the client certificate chain (PEM).
    pub certificate: Option<PathBuf>,
    /// `key`: the client's private key (PEM, unencrypted).
    pub key: Option<PathBuf>,
    /// `password`: for an encrypted key; such keys are refused with a clear
    /// error (rustls cannot decrypt them).
    pub password: Option<String>,
    /// kalive extension: verify the server's chain against `ca`.
    pub verify_server: bool,
}

/// A ready TLS client context.
#[derive(Clone)]
pub struct TlsClient {
    pub(crate) connector: TlsConnector,
}

impl std::fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsClient")
    }
}

impl TlsClient {
    /// A client that trusts any server and sends no certificate: keepalived
    /// without an `SSL` block.
    pub fn insecure() -> Result<Self, Error> {
        Self::new(&TlsFiles::default())
    }

    pub fn new(files: &TlsFiles) -> Result<Self, Error> {
        // ring, not aws-lc (which does not build here, rust-ecosystem.md §13);
        // rustls 0.23.48 deprecates ring's provider only for its lack of
        // post-quantum key exchange, which a health check does not need.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = if files.verify_server {
            let ca = files.ca.as_deref().ok_or(Error::VerifyWithoutCa)?;
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca)? {
                roots.add(cert)?;
            }
            let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| Error::Verifier(e.to_string()))?;
            builder.with_webpki_verifier(verifier)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
        };
        let config = match (&files.certificate, &files.key) {
            (Some(cert), Some(key)) => {
                builder.with_client_auth_cert(read_certs(cert)?, read_key(key)?)?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err(Error::IncompleteClientCert),
        };
        Ok(TlsClient {
            connector: TlsConnector::from(Arc::new(config)),
        })
    }

    pub(crate) async fn connect(
        &self,
        name: ServerName<'static>,
        tcp: tokio::net::TcpStream,
    ) -> std::io::Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        self.connector.connect(name, tcp).await
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|source| Error::ReadFile {
        path: path.to_owned(),
        source,
    })
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let pem = read_file(path)?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&pem)
        .filter_map(Result::ok)
        .collect();
    if certs.is_empty() {
        return Err(Error::Pem {
            what: "certificate",
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, Error> {
    let pem = read_file(path)?;
    if pem.windows(9).any(|w| w == b"ENCRYPTED") {
        return Err(Error::EncryptedKey(path.to_owned()));
    }
    PrivateKeyDer::from_pem_slice(&pem).map_err(|_| Error::Pem {
        what: "private key",
        path: path.to_owned(),
    })
}

/// Accepts any certificate (keepalived's `SSL_VERIFY_NONE`) but still checks
/// the handshake signatures, so the peer must hold the certificate's key.
#[derive(Debug)]
struct AnyServer(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
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
        verify_tls12_signature(
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
        verify_tls13_signature(
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
