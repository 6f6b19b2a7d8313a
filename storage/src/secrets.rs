//! Passwords and the call-center manager secret. They never go into the database. They go to the system keyring (the Secret
//! Service: GNOME Keyring, KWallet) when there is one. Without one (no D-Bus session, or no
//! Secret Service on it) the password goes to a file only the user can read (mode 0600) in the
//! profile folder, and the caller is told so, so the UI can show a visible warning.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::{Result, StorageError};

/// Where a password was kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretBackend {
    Keyring,
    /// A user-only file: weaker than a keyring, and the user should know.
    PrivateFile,
}

impl SecretBackend {
    pub fn warning(self) -> Option<&'static str> {
        match self {
            SecretBackend::Keyring => None,
            SecretBackend::PrivateFile => Some(
                "No system keyring is available: your password is kept in a file only you can read.",
            ),
        }
    }
}

/// The keyring item's service; its user is the profile folder, one per signed-in account.
const SERVICE: &str = "Switchboard";

/// Which secret of the profile: the SIP password, or the call-center manager secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Secret {
    Password,
    ManagerSecret,
    /// The password of the outgoing mail server voicemails are emailed through.
    SmtpPassword,
}

impl Secret {
    fn file_name(self) -> &'static str {
        match self {
            Secret::Password => "password",
            Secret::ManagerSecret => "manager-secret",
            Secret::SmtpPassword => "smtp-password",
        }
    }
}

fn entry(dir: &Path, which: Secret) -> keyring::Result<keyring::Entry> {
    let user = match which {
        Secret::Password => dir.to_string_lossy().into_owned(),
        Secret::ManagerSecret => format!("{}#manager", dir.to_string_lossy()),
        Secret::SmtpPassword => format!("{}#smtp", dir.to_string_lossy()),
    };
    keyring::Entry::new(SERVICE, &user)
}

/// Errors that mean "there is no usable keyring here", as opposed to a keyring that answered
/// and refused. The first kind falls back to the file; the second is reported.
fn no_keyring(e: &keyring::Error) -> bool {
    matches!(
        e,
        keyring::Error::PlatformFailure(_) | keyring::Error::NoStorageAccess(_)
    )
}

pub fn save_password(dir: &Path, password: &str) -> Result<SecretBackend> {
    save(dir, Secret::Password, password)
}

pub fn load_password(dir: &Path) -> Result<Option<(String, SecretBackend)>> {
    load(dir, Secret::Password)
}

/// Forgets the password wherever it is.
pub fn forget_password(dir: &Path) -> Result<()> {
    forget(dir, Secret::Password)
}

pub fn save(dir: &Path, which: Secret, password: &str) -> Result<SecretBackend> {
    match entry(dir, which).and_then(|e| e.set_password(password)) {
        Ok(()) => {
            // A file left from a time without a keyring would keep a second, weaker copy.
            remove_file(dir, which)?;
            Ok(SecretBackend::Keyring)
        }
        Err(e) if no_keyring(&e) => {
            tracing::warn!(reason = %e, "no system keyring; the password goes to a private file");
            save_to_file(dir, which, password)?;
            Ok(SecretBackend::PrivateFile)
        }
        Err(e) => Err(StorageError::Keyring(e.to_string())),
    }
}

pub fn load(dir: &Path, which: Secret) -> Result<Option<(String, SecretBackend)>> {
    match entry(dir, which).and_then(|e| e.get_password()) {
        Ok(p) => Ok(Some((p, SecretBackend::Keyring))),
        Err(e) if matches!(e, keyring::Error::NoEntry) || no_keyring(&e) => {
            Ok(load_from_file(dir, which)?.map(|p| (p, SecretBackend::PrivateFile)))
        }
        Err(e) => Err(StorageError::Keyring(e.to_string())),
    }
}

/// Forgets the secret wherever it is.
pub fn forget(dir: &Path, which: Secret) -> Result<()> {
    let keyring = match entry(dir, which).and_then(|e| e.delete_credential()) {
        Err(e) if !matches!(e, keyring::Error::NoEntry) && !no_keyring(&e) => {
            Err(StorageError::Keyring(e.to_string()))
        }
        _ => Ok(()),
    };
    remove_file(dir, which)?;
    keyring
}

fn file(dir: &Path, which: Secret) -> PathBuf {
    dir.join(which.file_name())
}

fn save_to_file(dir: &Path, which: Secret, password: &str) -> Result<()> {
    let path = file(dir, which);
    let io = |e| StorageError::Io {
        path: path.clone(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .map_err(io)?;
    f.write_all(password.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)?;
    Ok(())
}

fn load_from_file(dir: &Path, which: Secret) -> Result<Option<String>> {
    let path = file(dir, which);
    match std::fs::read_to_string(&path) {
        Ok(p) => Ok(Some(p)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StorageError::Io { path, source: e }),
    }
}

fn remove_file(dir: &Path, which: Secret) -> Result<()> {
    let path = file(dir, which);
    crate::file_refs::remove(&path)
        .map(|_| ())
        .map_err(|e| StorageError::Io { path, source: e })
}

// Which backend is chosen depends on the session the test runs in, so that is tested in
// tests/keyring.rs, which runs itself with and without a D-Bus session and a Secret Service.
#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_password_file_is_private_and_can_be_removed() {
        let dir = tempfile::tempdir().unwrap();
        let p = Secret::Password;
        save_to_file(dir.path(), p, "s3cret").unwrap();
        save_to_file(dir.path(), Secret::ManagerSecret, "other").unwrap();
        let mode = std::fs::metadata(file(dir.path(), p))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            load_from_file(dir.path(), p).unwrap().as_deref(),
            Some("s3cret")
        );
        remove_file(dir.path(), p).unwrap();
        remove_file(dir.path(), p).unwrap();
        assert_eq!(load_from_file(dir.path(), p).unwrap(), None);
        assert_eq!(
            load_from_file(dir.path(), Secret::ManagerSecret)
                .unwrap()
                .as_deref(),
            Some("other"),
            "each secret has its own file"
        );
    }

    #[test]
    fn only_the_file_backend_warns() {
        assert!(SecretBackend::PrivateFile.warning().is_some());
        assert!(SecretBackend::Keyring.warning().is_none());
    }
}
