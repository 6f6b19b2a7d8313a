//! Contacts: the company directory and the user's own. A contact has any number of phone
//! numbers, an optional email and avatar, and can be a favourite; a favourite stays one when the
//! directory it came from is refreshed.

use std::collections::HashSet;

use rusqlite::Row;

use crate::{Result, StorageError, Store};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContactSource {
    Local,
    Directory,
    Integration,
}

impl ContactSource {
    fn as_str(self) -> &'static str {
        match self {
            ContactSource::Local => "local",
            ContactSource::Directory => "directory",
            ContactSource::Integration => "integration",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "directory" => ContactSource::Directory,
            "integration" => ContactSource::Integration,
            _ => ContactSource::Local,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Contact {
    pub id: i64,
    pub name: String,
    pub extension: Option<String>,
    pub numbers: Vec<String>,
    pub email: Option<String>,
    pub avatar: Option<Vec<u8>>,
    pub source: ContactSource,
    pub favourite: bool,
}

const COLUMNS: &str = "id, name, extension, numbers, email, avatar, source, favourite";

fn from_row(r: &Row) -> rusqlite::Result<Contact> {
    let numbers: String = r.get(3)?;
    let source: String = r.get(6)?;
    Ok(Contact {
        id: r.get(0)?,
        name: r.get(1)?,
        extension: r.get(2)?,
        numbers: serde_json::from_str(&numbers).unwrap_or_default(),
        email: r.get(4)?,
        avatar: r.get(5)?,
        source: ContactSource::parse(&source),
        favourite: r.get(7)?,
    })
}

fn numbers_json(numbers: &[String]) -> String {
    serde_json::to_string(numbers).unwrap_or_else(|_| "[]".into())
}

impl Store {
    /// Every contact, by name.
    pub fn contacts(&self) -> Result<Vec<Contact>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM contact ORDER BY name COLLATE NOCASE"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The contact whose extension or one of whose numbers is `number`, to name a call; the
    /// user's own contact first when the directory has one too.
    pub fn contact_for_number(&self, number: &str) -> Result<Option<Contact>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM contact \
             WHERE extension = ?1 OR EXISTS (SELECT 1 FROM json_each(contact.numbers) WHERE value = ?1) \
             ORDER BY source = 'local' DESC, name COLLATE NOCASE LIMIT 1"
        ))?;
        Ok(stmt.query_map([number], from_row)?.next().transpose()?)
    }

    /// The favourites, by name.
    pub fn favourite_contacts(&self) -> Result<Vec<Contact>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM contact WHERE favourite ORDER BY name COLLATE NOCASE"
        ))?;
        let rows = stmt.query_map([], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replaces every contact of `source` with `contacts`, in one transaction. A contact that
    /// was a favourite (same name and extension) stays one.
    pub fn replace_contacts(&mut self, source: ContactSource, contacts: &[Contact]) -> Result<()> {
        let tx = self.conn.transaction()?;
        let favourites: HashSet<(String, Option<String>)> = tx
            .prepare("SELECT name, extension FROM contact WHERE source = ?1 AND favourite")?
            .query_map([source.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        tx.execute("DELETE FROM contact WHERE source = ?1", [source.as_str()])?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO contact(name, extension, numbers, email, avatar, source, favourite) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for c in contacts {
                let favourite =
                    c.favourite || favourites.contains(&(c.name.clone(), c.extension.clone()));
                ins.execute((
                    &c.name,
                    &c.extension,
                    numbers_json(&c.numbers),
                    &c.email,
                    &c.avatar,
                    source.as_str(),
                    favourite,
                ))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds one contact (its `id` is ignored) and returns its id.
    pub fn add_contact(&mut self, c: &Contact) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO contact(name, extension, numbers, email, avatar, source, favourite) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            (
                &c.name,
                &c.extension,
                numbers_json(&c.numbers),
                &c.email,
                &c.avatar,
                c.source.as_str(),
                c.favourite,
            ),
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(id)
    }

    /// Saves every field of the contact with `c.id`.
    pub fn update_contact(&mut self, c: &Contact) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE contact SET name = ?2, extension = ?3, numbers = ?4, email = ?5, avatar = ?6,
               source = ?7, favourite = ?8 WHERE id = ?1",
            (
                c.id,
                &c.name,
                &c.extension,
                numbers_json(&c.numbers),
                &c.email,
                &c.avatar,
                c.source.as_str(),
                c.favourite,
            ),
        )?;
        found(n, c.id)?;
        tx.commit()?;
        Ok(())
    }

    pub fn delete_contact(&mut self, id: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        found(tx.execute("DELETE FROM contact WHERE id = ?1", [id])?, id)?;
        tx.commit()?;
        Ok(())
    }

    pub fn set_favourite(&mut self, id: i64, favourite: bool) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "UPDATE contact SET favourite = ?2 WHERE id = ?1",
            (id, favourite),
        )?;
        found(n, id)?;
        tx.commit()?;
        Ok(())
    }

    /// Sets or clears the contact's picture (a square PNG).
    pub fn set_contact_avatar(&mut self, id: i64, png: Option<&[u8]>) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute("UPDATE contact SET avatar = ?2 WHERE id = ?1", (id, png))?;
        found(n, id)?;
        tx.commit()?;
        Ok(())
    }
}

fn found(changed: usize, id: i64) -> Result<()> {
    if changed == 0 {
        return Err(StorageError::NotFound {
            what: "contact",
            id,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(name: &str, ext: &str) -> Contact {
        Contact {
            id: 0,
            name: name.into(),
            extension: Some(ext.into()),
            numbers: vec!["+15550100".into()],
            email: None,
            avatar: None,
            source: ContactSource::Directory,
            favourite: false,
        }
    }

    #[test]
    fn a_call_finds_its_contact_by_extension_or_any_number_the_users_own_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let mut grace = c("Grace Hopper", "1002");
        grace.numbers = vec!["+15550102".into(), "+15550199".into()];
        s.replace_contacts(ContactSource::Directory, &[grace, c("Alan Turing", "1003")])
            .unwrap();
        let name = |s: &Store, n: &str| s.contact_for_number(n).unwrap().map(|c| c.name);
        assert_eq!(name(&s, "1002").as_deref(), Some("Grace Hopper"));
        assert_eq!(name(&s, "+15550199").as_deref(), Some("Grace Hopper"));
        assert_eq!(name(&s, "100"), None, "whole numbers only");
        assert_eq!(name(&s, "5550000"), None);
        let mut mine = c("Amazing Grace", "1002");
        mine.source = ContactSource::Local;
        s.add_contact(&mine).unwrap();
        assert_eq!(name(&s, "1002").as_deref(), Some("Amazing Grace"));
    }

    #[test]
    fn the_directory_is_replaced_whole_and_local_contacts_stay() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.replace_contacts(ContactSource::Local, &[c("Zed Local", "1099")])
            .unwrap();
        s.replace_contacts(
            ContactSource::Directory,
            &[c("Grace Hopper", "1002"), c("alan Turing", "1003")],
        )
        .unwrap();
        s.replace_contacts(ContactSource::Directory, &[c("Grace Hopper", "1002")])
            .unwrap();
        let all = s.contacts().unwrap();
        let names: Vec<_> = all.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, vec!["Grace Hopper", "Zed Local"]);
        assert_eq!(all[0].numbers, vec!["+15550100"]);
    }

    #[test]
    fn a_favourite_with_numbers_email_and_avatar_survives_a_directory_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.replace_contacts(ContactSource::Directory, &[c("Grace Hopper", "1002")])
            .unwrap();
        let grace = s.contacts().unwrap()[0].id;
        s.set_favourite(grace, true).unwrap();
        s.set_contact_avatar(grace, Some(&[9, 9])).unwrap();
        s.replace_contacts(ContactSource::Directory, &[c("Grace Hopper", "1002")])
            .unwrap();
        let favs = s.favourite_contacts().unwrap();
        assert_eq!(favs.len(), 1);
        assert_eq!(favs[0].name, "Grace Hopper");

        let mut mine = Contact {
            numbers: vec!["+15550111".into(), "+15550112".into()],
            email: Some("zed@example.com".into()),
            avatar: Some(vec![1, 2, 3]),
            source: ContactSource::Local,
            favourite: true,
            ..c("Zed", "1099")
        };
        mine.id = s.add_contact(&mine).unwrap();
        assert!(s.contacts().unwrap().contains(&mine));
        mine.numbers.pop();
        mine.favourite = false;
        s.update_contact(&mine).unwrap();
        assert!(s.contacts().unwrap().contains(&mine));
        s.delete_contact(mine.id).unwrap();
        assert!(matches!(
            s.delete_contact(mine.id),
            Err(StorageError::NotFound { .. })
        ));
        assert_eq!(s.contacts().unwrap().len(), 1);
    }
}
