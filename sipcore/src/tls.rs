//! SIP over TLS: which certificate authorities we trust, the name a server's certificate must
//! carry, and a first handshake with the server before any SIP is sent.
//!
//! rsipstack makes its TLS connections on demand and, when one fails, only logs it and lets the
//! transaction time out after 32 s, so the user would learn nothing about a certificate problem.
//! The engine therefore shakes hands here first with the very same trust and name, and reports a
//! refusal at once, in words ([`TlsError`]). Nothing leaves in clear text either way: a refused
//! handshake ends the attempt before a byte of SIP is written.
//!
//! Trust is the system's roots plus, optionally, one extra CA file per account, for company PBXs
//! with a private CA. The name checked is the account's server (without its port), even when the
//! connection goes to an outbound proxy (RFC 5922 §4: the domain we asked for is the identity).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio_util::sync::CancellationToken;

/// The SIPS port when the account names none (RFC 3261 §26.2.3).
pub const DEFAULT_PORT: u16 = 5061;

/// How long a first handshake may take, connection included.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// What went wrong with a secure connection, in the words the sign-in screen shows.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TlsError {
    #[error("The trusted CA certificate file {} could not be used: {reason}.", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error(
        "The certificate of {server} is not trusted: no certificate authority this computer or the \
         account trusts signed it. If your company uses its own, add its CA certificate to the account."
    )]
    NotTrusted { server: String },
    #[error(
        "The certificate of {server} is for another name: it does not name “{name}”, the server \
         this account signs in to."
    )]
    WrongName { server: String, name: String },
    #[error(
        "The certificate of {server} is out of date (expired or not valid yet); check this \
         computer's clock, or ask for the server's certificate to be renewed."
    )]
    Expired { server: String },
    #[error("The certificate of {server} was refused: {reason}.")]
    BadCertificate { server: String, reason: String },
    #[error("The server {server} is not reachable over TLS ({reason}).")]
    Unreachable { server: String, reason: String },
    #[error("A secure connection to {server} could not be set up ({reason}).")]
    Handshake { server: String, reason: String },
    #[error("“{0}” is not a server name a certificate can be checked against.")]
    BadName(String),
}

impl TlsError {
    /// Whether trying again later could help: a network problem may pass, a certificate that
    /// is not trusted or names another server will not.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            TlsError::Unreachable { .. } | TlsError::Handshake { .. }
        )
    }
}

/// Installs rustls's ring provider as the process default, once. rsipstack builds its client
/// configs with the process default, which rustls cannot pick by itself if another crate ever
/// links a second backend (aws-lc-rs); ring is what every TLS user in this tree is built with.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The certificate authorities one account trusts.
#[derive(Clone)]
pub struct TrustAnchors {
    roots: Arc<RootCertStore>,
    /// The same anchors as PEM, the form rsipstack takes them in.
    pem: Vec<u8>,
}

impl TrustAnchors {
    /// The system's roots, plus every certificate in `extra_ca` (PEM) when given.
    pub fn load(extra_ca: Option<&Path>) -> Result<Self, TlsError> {
        let mut roots = RootCertStore::empty();
        let mut pem = Vec::new();
        // A system store that cannot be read leaves only the account's own CA, which is what
        // a private-CA PBX needs anyway; public-CA servers then fail as "not trusted".
        let native = rustls_native_certs::load_native_certs();
        for e in &native.errors {
            tracing::debug!("a system certificate could not be read: {e}");
        }
        for cert in native.certs {
            add(&mut roots, &mut pem, cert);
        }
        if let Some(path) = extra_ca {
            let ca_error = |reason: String| TlsError::CaFile {
                path: path.to_path_buf(),
                reason,
            };
            let bytes = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
            let certs = CertificateDer::pem_slice_iter(&bytes)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ca_error(format!("it is not a PEM certificate ({e})")))?;
            if certs.is_empty() {
                return Err(ca_error("it holds no PEM certificate".into()));
            }
            for cert in certs {
                if !add(&mut roots, &mut pem, cert) {
                    return Err(ca_error(
                        "a certificate in it cannot be a trust anchor".into(),
                    ));
                }
            }
        }
        Ok(Self {
            roots: Arc::new(roots),
            pem,
        })
    }

    /// A rustls client configuration trusting these anchors, for other TLS connections of the
    /// account (the call-center manager interface).
    pub fn client_config(&self) -> Arc<ClientConfig> {
        install_crypto_provider();
        Arc::new(
            ClientConfig::builder()
                .with_root_certificates(self.roots.clone())
                .with_no_client_auth(),
        )
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.roots.len()
    }
}

/// Adds `cert` to both forms; false when rustls does not accept it as an anchor.
fn add(roots: &mut RootCertStore, pem: &mut Vec<u8>, cert: CertificateDer<'static>) -> bool {
    if roots.add(cert.clone()).is_err() {
        return false;
    }
    use base64::Engine;
    let text = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    pem.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n");
    for line in text.as_bytes().chunks(64) {
        pem.extend_from_slice(line);
        pem.push(b'\n');
    }
    pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    true
}

/// The host part of an account's server: `pbx.example.com:5061` → `pbx.example.com`,
/// `[2001:db8::1]:5061` → `2001:db8::1`.
pub fn host_of(server: &str) -> &str {
    let s = server.trim();
    if let Some(rest) = s.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match s.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => host,
        _ => s,
    }
}

/// Everything the engine needs to talk TLS for one account.
#[derive(Clone)]
pub struct TlsSetup {
    anchors: TrustAnchors,
    /// The name the server's certificate must carry.
    name: ServerName<'static>,
    /// Where the first hop is, for the probe: the outbound proxy or the server itself.
    next_hop: String,
}

impl TlsSetup {
    /// Trust for an account whose server is `server` (`host[:port]`), reached through
    /// `proxy` when given.
    pub fn new(
        server: &str,
        proxy: Option<SocketAddr>,
        extra_ca: Option<&Path>,
    ) -> Result<Self, TlsError> {
        let host = host_of(server);
        let name = ServerName::try_from(host.to_string())
            .map_err(|_| TlsError::BadName(host.to_string()))?;
        let next_hop = match proxy {
            Some(p) => p.to_string(),
            None if host_of(server) == server.trim() => {
                if host.contains(':') {
                    format!("[{host}]:{DEFAULT_PORT}")
                } else {
                    format!("{host}:{DEFAULT_PORT}")
                }
            }
            None => server.trim().to_string(),
        };
        Ok(Self {
            anchors: TrustAnchors::load(extra_ca)?,
            name,
            next_hop,
        })
    }

    /// The configuration rsipstack makes its own TLS connections with: the same anchors, and
    /// the same name to check.
    pub fn stack_config(&self) -> rsipstack::transport::tls::TlsConfig {
        rsipstack::transport::tls::TlsConfig {
            ca_certs: Some(self.anchors.pem.clone()),
            sni_hostname: Some(self.name.to_str().into_owned()),
            ..Default::default()
        }
    }

    /// One handshake with the first hop, closed again at once.
    pub async fn check(&self) -> Result<(), TlsError> {
        let server = self.next_hop.clone();
        let unreachable = |reason: String| TlsError::Unreachable {
            server: server.clone(),
            reason,
        };
        let addr = tokio::net::lookup_host(&self.next_hop)
            .await
            .map_err(|e| unreachable(e.to_string()))?
            .next()
            .ok_or_else(|| unreachable("the name has no address".into()))?;
        let config =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| TlsError::Handshake {
                    server: server.clone(),
                    reason: e.to_string(),
                })?
                .with_root_certificates(self.anchors.roots.clone())
                .with_no_client_auth();
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let attempt = async {
            let tcp = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| unreachable(e.to_string()))?;
            let mut tls = connector
                .connect(self.name.clone(), tcp)
                .await
                .map_err(|e| self.refusal(&server, e))?;
            use tokio::io::AsyncWriteExt;
            let _ = tls.shutdown().await;
            Ok(())
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, attempt).await {
            Ok(result) => result,
            Err(_) => Err(unreachable("no answer".into())),
        }
    }

    /// Handshakes until one succeeds (true), a refusal that no retry can fix comes (false), or
    /// `cancel` fires (false). Every failure goes to `report` first.
    pub async fn check_until_ok(
        &self,
        cancel: &CancellationToken,
        mut report: impl FnMut(&TlsError),
    ) -> bool {
        let mut wait = Duration::from_secs(5);
        loop {
            let result = tokio::select! {
                _ = cancel.cancelled() => return false,
                r = self.check() => r,
            };
            match result {
                Ok(()) => return true,
                Err(e) => {
                    report(&e);
                    if !e.is_transient() {
                        return false;
                    }
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => return false,
                _ = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(Duration::from_secs(60));
        }
    }

    /// A failed handshake in words: rustls's own reason when there is one.
    fn refusal(&self, server: &str, e: std::io::Error) -> TlsError {
        let server = server.to_string();
        let Some(tls) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        else {
            return TlsError::Handshake {
                server,
                reason: e.to_string(),
            };
        };
        match tls {
            rustls::Error::InvalidCertificate(c) => match c {
                CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                    TlsError::NotTrusted { server }
                }
                CertificateError::NotValidForName
                | CertificateError::NotValidForNameContext { .. } => TlsError::WrongName {
                    server,
                    name: self.name.to_str().into_owned(),
                },
                CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. } => TlsError::Expired { server },
                other => TlsError::BadCertificate {
                    server,
                    reason: format!("{other:?}"),
                },
            },
            other => TlsError::Handshake {
                server,
                reason: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_checked_is_the_server_without_its_port() {
        assert_eq!(host_of("pbx.example.com:5061"), "pbx.example.com");
        assert_eq!(host_of("pbx.example.com"), "pbx.example.com");
        assert_eq!(host_of("127.0.0.1:25061"), "127.0.0.1");
        assert_eq!(host_of("[2001:db8::1]:5061"), "2001:db8::1");
        assert_eq!(host_of("2001:db8::1"), "2001:db8::1");
    }

    #[test]
    fn the_first_hop_defaults_to_the_sips_port() {
        install_crypto_provider();
        let s = TlsSetup::new("pbx.example.com", None, None).unwrap();
        assert_eq!(s.next_hop, "pbx.example.com:5061");
        let s = TlsSetup::new("pbx.example.com:5071", None, None).unwrap();
        assert_eq!(s.next_hop, "pbx.example.com:5071");
        let proxy = SocketAddr::from(([127, 0, 0, 1], 25061));
        let s = TlsSetup::new("pbx.example.com", Some(proxy), None).unwrap();
        assert_eq!(s.next_hop, "127.0.0.1:25061");
        assert_eq!(
            s.stack_config().sni_hostname.as_deref(),
            Some("pbx.example.com")
        );
    }

    #[test]
    fn a_ca_file_that_is_not_a_certificate_is_refused_in_words() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "hello").unwrap();
        let e = TrustAnchors::load(Some(&path)).err().unwrap();
        assert!(e.to_string().contains("holds no PEM certificate"), "{e}");
        let missing = dir.path().join("none.pem");
        let e = TrustAnchors::load(Some(&missing)).err().unwrap();
        assert!(
            e.to_string().starts_with("The trusted CA certificate file"),
            "{e}"
        );
    }

    #[test]
    fn anchors_round_trip_through_pem() {
        // Whatever the system store holds comes back from our PEM exactly.
        let anchors = TrustAnchors::load(None).unwrap();
        let parsed = CertificateDer::pem_slice_iter(&anchors.pem)
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(parsed.len(), anchors.len());
    }
}
