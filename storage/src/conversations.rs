//! Conversations: direct (one other party, at most one conversation per peer), group (members
//! fixed when it is made) and room (a name and an owner; members join and leave over time, and
//! every stay is kept with its times). Each can be muted, hidden or archived.

use rusqlite::{OptionalExtension, Row, Transaction};

use crate::{Result, StorageError, Store};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConversationKind {
    /// With one other party: their address (extension, number or SIP URI).
    Direct {
        peer: String,
    },
    Group,
    Room {
        owner: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversation {
    pub id: i64,
    pub kind: ConversationKind,
    /// A room's name, or a group's title if it was given one.
    pub name: String,
    /// Unix milliseconds.
    pub created_at: i64,
    pub archived: bool,
    pub muted: bool,
    pub hidden: bool,
    /// The newest message's id, for ordering the list; `None` before the first message.
    pub last_message_id: Option<i64>,
}

/// One stay of a member: a room member who leaves and comes back has two.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub address: String,
    pub joined_at: i64,
    /// `None` while still a member.
    pub left_at: Option<i64>,
}

const COLUMNS: &str =
    "c.id, c.kind, c.peer, c.name, c.owner, c.created_at, c.archived, c.muted, c.hidden,
    (SELECT max(m.id) FROM message m WHERE m.conversation_id = c.id)";

fn from_row(r: &Row) -> rusqlite::Result<Conversation> {
    let kind: String = r.get(1)?;
    let kind = match kind.as_str() {
        "direct" => ConversationKind::Direct { peer: r.get(2)? },
        "room" => ConversationKind::Room {
            owner: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
        },
        _ => ConversationKind::Group,
    };
    Ok(Conversation {
        id: r.get(0)?,
        kind,
        name: r.get(3)?,
        created_at: r.get(5)?,
        archived: r.get(6)?,
        muted: r.get(7)?,
        hidden: r.get(8)?,
        last_message_id: r.get(9)?,
    })
}

fn add_member(tx: &Transaction, id: i64, address: &str, at: i64) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "INSERT INTO conversation_member(conversation_id, member, joined_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(conversation_id, member) WHERE left_at IS NULL DO NOTHING",
    )?
    .execute((id, address, at))
}

fn not_found(id: i64) -> StorageError {
    StorageError::NotFound {
        what: "conversation",
        id,
    }
}

impl Store {
    /// The direct conversation with `peer`, made (at `at`) if there is none yet.
    pub fn direct_conversation(&mut self, peer: &str, at: i64) -> Result<i64> {
        let tx = self.conn.transaction()?;
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM conversation WHERE kind = 'direct' AND peer = ?1",
                [peer],
                |r| r.get(0),
            )
            .optional()?;
        let id = match existing {
            Some(id) => id,
            None => {
                tx.execute(
                    "INSERT INTO conversation(kind, peer, created_at) VALUES ('direct', ?1, ?2)",
                    (peer, at),
                )?;
                let id = tx.last_insert_rowid();
                add_member(&tx, id, peer, at)?;
                id
            }
        };
        tx.commit()?;
        Ok(id)
    }

    /// A group with these members for good.
    pub fn create_group(&mut self, name: &str, members: &[&str], at: i64) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO conversation(kind, name, created_at) VALUES ('group', ?1, ?2)",
            (name, at),
        )?;
        let id = tx.last_insert_rowid();
        for m in members {
            add_member(&tx, id, m, at)?;
        }
        tx.commit()?;
        Ok(id)
    }

    /// A room named `name`, owned by (and at first holding only) `owner`.
    pub fn create_room(&mut self, name: &str, owner: &str, at: i64) -> Result<i64> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO conversation(kind, name, owner, created_at) VALUES ('room', ?1, ?2, ?3)",
            (name, owner, at),
        )?;
        let id = tx.last_insert_rowid();
        add_member(&tx, id, owner, at)?;
        tx.commit()?;
        Ok(id)
    }

    pub fn conversation(&self, id: i64) -> Result<Option<Conversation>> {
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM conversation c WHERE c.id = ?1"
            ))?
            .query_row([id], from_row)
            .optional()?)
    }

    /// The conversation list, most recently active first; hidden ones only when asked for.
    pub fn conversations(&self, include_hidden: bool) -> Result<Vec<Conversation>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM conversation c WHERE ?1 OR NOT c.hidden
             ORDER BY coalesce((SELECT m.sent_at FROM message m WHERE m.conversation_id = c.id
                                ORDER BY m.id DESC LIMIT 1), c.created_at) DESC, c.id DESC"
        ))?;
        let rows = stmt.query_map([include_hidden], from_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Someone joins a room; joining while already in it changes nothing.
    pub fn join_room(&mut self, id: i64, member: &str, at: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        room_only(&tx, id)?;
        add_member(&tx, id, member, at)?;
        tx.commit()?;
        Ok(())
    }

    /// Someone leaves a room; their stay is kept with its end.
    pub fn leave_room(&mut self, id: i64, member: &str, at: i64) -> Result<()> {
        let tx = self.conn.transaction()?;
        room_only(&tx, id)?;
        tx.execute(
            "UPDATE conversation_member SET left_at = max(?3, joined_at)
             WHERE conversation_id = ?1 AND member = ?2 AND left_at IS NULL",
            (id, member, at),
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Who is in the conversation now, in the order they joined.
    pub fn members(&self, id: i64) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT member FROM conversation_member WHERE conversation_id = ?1 AND left_at IS NULL
             ORDER BY joined_at, id",
        )?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every stay, past and present, in the order they began.
    pub fn membership_history(&self, id: i64) -> Result<Vec<Member>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT member, joined_at, left_at FROM conversation_member WHERE conversation_id = ?1
             ORDER BY joined_at, id",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok(Member {
                address: r.get(0)?,
                joined_at: r.get(1)?,
                left_at: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn set_conversation_muted(&mut self, id: i64, muted: bool) -> Result<()> {
        self.set_flag(id, "muted", muted)
    }

    pub fn set_conversation_hidden(&mut self, id: i64, hidden: bool) -> Result<()> {
        self.set_flag(id, "hidden", hidden)
    }

    pub fn set_conversation_archived(&mut self, id: i64, archived: bool) -> Result<()> {
        self.set_flag(id, "archived", archived)
    }

    /// `column` is one of our own names above, never the caller's text.
    fn set_flag(&mut self, id: i64, column: &'static str, on: bool) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            &format!("UPDATE conversation SET {column} = ?2 WHERE id = ?1"),
            (id, on),
        )?;
        if n == 0 {
            return Err(not_found(id));
        }
        tx.commit()?;
        Ok(())
    }
}

fn room_only(tx: &Transaction, id: i64) -> Result<()> {
    let kind: Option<String> = tx
        .query_row("SELECT kind FROM conversation WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    match kind.as_deref() {
        None => Err(not_found(id)),
        Some("room") => Ok(()),
        Some("direct") => Err(StorageError::FixedMembers { kind: "direct" }),
        Some(_) => Err(StorageError::FixedMembers { kind: "group" }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_direct_conversation_per_peer() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let a = s.direct_conversation("1002", 10).unwrap();
        assert_eq!(s.direct_conversation("1002", 20).unwrap(), a);
        assert_ne!(s.direct_conversation("1003", 30).unwrap(), a);
        let c = s.conversation(a).unwrap().unwrap();
        assert_eq!(
            c.kind,
            ConversationKind::Direct {
                peer: "1002".into()
            }
        );
        assert_eq!(c.created_at, 10);
        assert_eq!(s.members(a).unwrap(), vec!["1002"]);
    }

    #[test]
    fn a_group_keeps_its_members_and_refuses_new_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let g = s.create_group("Launch", &["1002", "1003"], 5).unwrap();
        assert_eq!(s.members(g).unwrap(), vec!["1002", "1003"]);
        let err = s.join_room(g, "1004", 6).unwrap_err();
        assert!(matches!(err, StorageError::FixedMembers { kind: "group" }));
        assert!(err.to_string().contains("only rooms"), "{err}");
        assert!(matches!(
            s.leave_room(9999, "1002", 6),
            Err(StorageError::NotFound { .. })
        ));
    }

    #[test]
    fn a_room_keeps_every_stay_with_its_times() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let r = s.create_room("Support", "1001", 100).unwrap();
        s.join_room(r, "1002", 200).unwrap();
        s.join_room(r, "1002", 250).unwrap(); // already in: no second stay
        s.leave_room(r, "1002", 300).unwrap();
        s.join_room(r, "1002", 400).unwrap();
        s.join_room(r, "1003", 500).unwrap();
        assert_eq!(s.members(r).unwrap(), vec!["1001", "1002", "1003"]);
        let stays = s.membership_history(r).unwrap();
        let of_1002: Vec<_> = stays
            .iter()
            .filter(|m| m.address == "1002")
            .map(|m| (m.joined_at, m.left_at))
            .collect();
        assert_eq!(of_1002, vec![(200, Some(300)), (400, None)]);
        let room = s.conversation(r).unwrap().unwrap();
        assert_eq!(room.name, "Support");
        assert_eq!(
            room.kind,
            ConversationKind::Room {
                owner: "1001".into()
            }
        );
    }

    #[test]
    fn muted_hidden_and_archived_are_kept_per_conversation() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let a = s.direct_conversation("1002", 1).unwrap();
        let b = s.create_room("Ops", "1001", 2).unwrap();
        s.set_conversation_muted(a, true).unwrap();
        s.set_conversation_hidden(b, true).unwrap();
        s.set_conversation_archived(b, true).unwrap();
        let shown = s.conversations(false).unwrap();
        assert_eq!(shown.len(), 1);
        assert!(shown[0].muted && !shown[0].hidden);
        let all = s.conversations(true).unwrap();
        assert_eq!(all.len(), 2);
        let room = all.iter().find(|c| c.id == b).unwrap();
        assert!(room.hidden && room.archived && !room.muted);
        assert!(matches!(
            s.set_conversation_muted(9999, true),
            Err(StorageError::NotFound { .. })
        ));
    }
}
