//! The remembered account ("Remember me"): who signs in, where, how, and the profile facts and
//! photo. The password is never here: see [`crate::secrets`].

use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::{Result, StorageError, Store};

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SavedAccount {
    pub server: String,
    /// The extension; it is also the SIP user name.
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub number: String,
    /// "udp", "tcp" or "tls".
    pub transport: String,
    /// The cropped square PNG.
    pub photo: Option<Vec<u8>>,
    /// An IANA zone name ("Europe/Paris"); empty means the computer's own.
    pub time_zone: String,
    pub transport_options: TransportOptions,
}

/// How to reach the server beyond the transport itself. Kept as JSON, so an option added later
/// needs no migration and older databases read it as its default.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TransportOptions {
    /// `host[:port]` to send every request through, when the PBX sits behind one.
    pub outbound_proxy: Option<String>,
    /// The local SIP port; `None` picks a free one.
    pub local_port: Option<u16>,
    /// Seconds between keep-alives that hold a NAT binding open; `None` uses the default.
    pub keep_alive_secs: Option<u32>,
    /// Requested registration lifetime; `None` lets the server choose.
    pub register_expiry_secs: Option<u32>,
    /// Refuse a TLS server whose certificate does not check out (off only for lab PBXs).
    pub skip_tls_verification: bool,
    /// A CA certificate file (PEM) trusted over TLS besides the system's, for a PBX whose
    /// certificate comes from a company's own CA.
    pub trusted_ca_file: Option<String>,
}

impl Store {
    pub fn account(&self) -> Result<Option<SavedAccount>> {
        let row = self
            .conn
            .query_row(
                "SELECT server, username, display_name, email, number, transport, photo,
                        time_zone, transport_options
                 FROM account WHERE id = 1",
                [],
                |r| {
                    Ok((
                        SavedAccount {
                            server: r.get(0)?,
                            username: r.get(1)?,
                            display_name: r.get(2)?,
                            email: r.get(3)?,
                            number: r.get(4)?,
                            transport: r.get(5)?,
                            photo: r.get(6)?,
                            time_zone: r.get(7)?,
                            transport_options: TransportOptions::default(),
                        },
                        r.get::<_, String>(8)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(mut account, options)| {
            account.transport_options = serde_json::from_str(&options)
                .map_err(|e| StorageError::Decode(format!("transport options: {e}")))?;
            Ok(account)
        })
        .transpose()
    }

    pub fn save_account(&mut self, a: &SavedAccount) -> Result<()> {
        let options = serde_json::to_string(&a.transport_options)
            .map_err(|e| StorageError::Decode(e.to_string()))?;
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO account(id, server, username, display_name, email, number, transport, photo,
                                 time_zone, transport_options)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(id) DO UPDATE SET server = excluded.server, username = excluded.username,
               display_name = excluded.display_name, email = excluded.email, number = excluded.number,
               transport = excluded.transport, photo = excluded.photo,
               time_zone = excluded.time_zone, transport_options = excluded.transport_options",
            (
                &a.server,
                &a.username,
                &a.display_name,
                &a.email,
                &a.number,
                &a.transport,
                &a.photo,
                &a.time_zone,
                options,
            ),
        )?;
        tx.commit()?;
        Ok(())
    }

    pub fn set_photo(&mut self, png: Option<&[u8]>) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("UPDATE account SET photo = ?1 WHERE id = 1", [png])?;
        tx.commit()?;
        Ok(())
    }

    /// Forgets the remembered account (sign out and forget me). The rest of the profile stays.
    pub fn forget_account(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM account", [])?;
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_and_its_photo_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        assert_eq!(s.account().unwrap(), None);
        let a = SavedAccount {
            server: "pbx:5060".into(),
            username: "1001".into(),
            transport: "udp".into(),
            ..Default::default()
        };
        s.save_account(&a).unwrap();
        s.set_photo(Some(&[1, 2, 3])).unwrap();
        let back = s.account().unwrap().unwrap();
        assert_eq!(back.username, "1001");
        assert_eq!(back.photo, Some(vec![1, 2, 3]));
    }

    #[test]
    fn time_zone_and_transport_options_round_trip_and_can_be_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let a = SavedAccount {
            server: "pbx.example.com".into(),
            username: "1001".into(),
            display_name: "Ada Lovelace".into(),
            email: "ada@example.com".into(),
            number: "+15550101".into(),
            transport: "tls".into(),
            photo: None,
            time_zone: "Europe/London".into(),
            transport_options: TransportOptions {
                outbound_proxy: Some("sbc.example.com:5061".into()),
                local_port: Some(5070),
                keep_alive_secs: Some(25),
                register_expiry_secs: Some(600),
                skip_tls_verification: false,
                trusted_ca_file: Some("/etc/company/pbx-ca.pem".into()),
            },
        };
        s.save_account(&a).unwrap();
        drop(s);
        let mut s = Store::open(dir.path()).unwrap();
        assert_eq!(s.account().unwrap(), Some(a));
        s.forget_account().unwrap();
        assert_eq!(s.account().unwrap(), None);
    }

    #[test]
    fn transport_options_from_an_older_app_read_as_defaults() {
        // An option this version no longer has is ignored; those it has take their defaults.
        let options: TransportOptions =
            serde_json::from_str(r#"{"require_srtp":true,"keep_alive_secs":25}"#).unwrap();
        assert_eq!(options.keep_alive_secs, Some(25));
        assert_eq!(options.outbound_proxy, None);
    }
}
