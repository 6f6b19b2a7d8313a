//! The remembered account ("Remember me"): who signs in, where, and the profile facts and photo.
//! The password is never here: see [`crate::secrets`].

use rusqlite::OptionalExtension;

use crate::{Result, Store};

#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct SavedAccount {
    pub server: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub number: String,
    /// "udp", "tcp" or "tls".
    pub transport: String,
    /// The cropped square PNG.
    pub photo: Option<Vec<u8>>,
}

impl Store {
    pub fn account(&self) -> Result<Option<SavedAccount>> {
        Ok(self
            .conn
            .query_row(
                "SELECT server, username, display_name, email, number, transport, photo FROM account WHERE id = 1",
                [],
                |r| {
                    Ok(SavedAccount {
                        server: r.get(0)?,
                        username: r.get(1)?,
                        display_name: r.get(2)?,
                        email: r.get(3)?,
                        number: r.get(4)?,
                        transport: r.get(5)?,
                        photo: r.get(6)?,
                    })
                },
            )
            .optional()?)
    }

    pub fn save_account(&mut self, a: &SavedAccount) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO account(id, server, username, display_name, email, number, transport, photo)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(id) DO UPDATE SET server = excluded.server, username = excluded.username,
               display_name = excluded.display_name, email = excluded.email, number = excluded.number,
               transport = excluded.transport, photo = excluded.photo",
            (&a.server, &a.username, &a.display_name, &a.email, &a.number, &a.transport, &a.photo),
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
}
