//! The test PBX's own certificate authority and server certificate, for SIP over TLS.
//!
//! Made once with rcgen into the PBX cache (`.cache/pbx/tls/`) and reused by every `up`, so a
//! test that read the CA keeps trusting the server Asterisk presents. The server certificate
//! names `127.0.0.1` and `localhost`; nothing else, so a client that checks another name fails.
//! The CA's private key is thrown away once the server certificate is signed: nothing else is
//! ever signed by it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The names the server certificate is valid for.
pub const SERVER_NAMES: &[&str] = &["127.0.0.1", "localhost"];

/// Where the PEM files are.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The test CA's certificate: what a client must trust to accept the PBX.
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
}

impl TlsFiles {
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            ca: dir.join("ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
        }
    }

    fn complete(&self) -> bool {
        [&self.ca, &self.server_cert, &self.server_key]
            .iter()
            .all(|p| p.is_file())
    }
}

/// Makes the CA and the server certificate in `dir` unless it holds them already.
///
/// Test processes call this at the same time (every health check does): each writes a complete
/// set into a directory of its own and renames it into place, and the first rename wins, so
/// nobody ever reads a key from one set and a certificate from another.
pub fn ensure(dir: &Path) -> anyhow::Result<TlsFiles> {
    let files = TlsFiles::in_dir(dir);
    if files.complete() {
        return Ok(files);
    }
    let parent = dir
        .parent()
        .context("the certificate folder has no parent")?;
    fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    let scratch = tempfile::Builder::new()
        .prefix(".tls-")
        .tempdir_in(parent)?;
    let fresh = TlsFiles::in_dir(scratch.path());
    let (ca_pem, cert_pem, key_pem) = generate().context("generating the test certificates")?;
    fs::write(&fresh.server_key, key_pem)?;
    fs::write(&fresh.server_cert, cert_pem)?;
    fs::write(&fresh.ca, ca_pem)?;
    let scratch = scratch.keep();
    if fs::rename(&scratch, dir).is_err() {
        // Someone else's set got there first (a non-empty folder is never replaced).
        let _ = fs::remove_dir_all(&scratch);
    }
    if !files.complete() {
        anyhow::bail!("{} holds no complete set of certificates", dir.display());
    }
    Ok(files)
}

/// (CA certificate, server certificate, server key), all PEM.
fn generate() -> Result<(String, String, String), rcgen::Error> {
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "Switchboard test PBX CA");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate()?;
    let names: Vec<String> = SERVER_NAMES.iter().map(|s| s.to_string()).collect();
    let mut server = CertificateParams::new(names)?;
    server
        .distinguished_name
        .push(DnType::CommonName, "Switchboard test PBX");
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server.signed_by(&server_key, &issuer)?;
    Ok((ca_cert.pem(), server_cert.pem(), server_key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_the_files_once_and_keeps_them() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("tls");
        let first = ensure(&dir).unwrap();
        let ca = fs::read_to_string(&first.ca).unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(
            fs::read_to_string(&first.server_key)
                .unwrap()
                .contains("PRIVATE KEY")
        );
        let again = ensure(&dir).unwrap();
        assert_eq!(fs::read_to_string(again.ca).unwrap(), ca);
    }
}
