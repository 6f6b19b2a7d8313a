//! Contacts: the company directory and the user's own.

use crate::{Result, Store};

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

impl Store {
    /// Every contact, by name.
    pub fn contacts(&self) -> Result<Vec<Contact>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, name, extension, numbers, email, avatar, source, favourite FROM contact ORDER BY name COLLATE NOCASE",
        )?;
        let rows = stmt.query_map([], |r| {
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
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replaces every contact of `source` with `contacts`, in one transaction.
    pub fn replace_contacts(&mut self, source: ContactSource, contacts: &[Contact]) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM contact WHERE source = ?1", [source.as_str()])?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO contact(name, extension, numbers, email, avatar, source, favourite) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for c in contacts {
                let numbers = serde_json::to_string(&c.numbers).unwrap_or_else(|_| "[]".into());
                ins.execute((
                    &c.name,
                    &c.extension,
                    numbers,
                    &c.email,
                    &c.avatar,
                    source.as_str(),
                    c.favourite,
                ))?;
            }
        }
        tx.commit()?;
        Ok(())
    }
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
}
