//! The PBX's users, read from `pbx/users.tsv`: one table feeds the Asterisk config, the demo bots
//! and the tests, so they never disagree about a password.

use std::path::Path;

use anyhow::Context;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub extension: String,
    pub name: String,
    pub password: String,
    pub email: String,
}

impl User {
    /// Demo users (1001-1010) are the office the demo shows; the rest form the test pools.
    pub fn is_demo(&self) -> bool {
        self.extension.starts_with("10")
    }

    /// Users 3001 and up require RFC 4028 session timers with a 90 s interval: a pool of their
    /// own, so that tests of anything else never meet a PBX that insists on timers.
    pub fn requires_session_timers(&self) -> bool {
        self.extension.starts_with("30")
    }

    /// Users 3101 and up have media encryption (SDES-SRTP) required by the PBX, and PCMU only,
    /// so that a capture can tell encrypted audio from plain.
    pub fn requires_srtp(&self) -> bool {
        self.extension.starts_with("31")
    }

    /// Users 4001 and up are mobile phones of the demo's users (07700904001 and so on): never
    /// leased to tests as lines of their own.
    pub fn is_mobile(&self) -> bool {
        self.extension.starts_with("40")
    }
}

pub fn parse(text: &str) -> anyhow::Result<Vec<User>> {
    let mut users = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [extension, name, password, email] = cols[..] else {
            anyhow::bail!("users.tsv line {}: expected 4 tab-separated columns", i + 1);
        };
        users.push(User {
            extension: extension.to_string(),
            name: name.to_string(),
            password: password.to_string(),
            email: email.to_string(),
        });
    }
    Ok(users)
}

pub fn load(path: &Path) -> anyhow::Result<Vec<User>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text)
}

/// The repo's own users table.
pub fn all() -> anyhow::Result<Vec<User>> {
    load(&crate::paths::workspace_root().join("pbx/users.tsv"))
}

/// One user by extension.
pub fn get(extension: &str) -> anyhow::Result<User> {
    all()?
        .into_iter()
        .find(|u| u.extension == extension)
        .with_context(|| format!("no user {extension} in pbx/users.tsv"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rows_and_skips_comments() {
        let users = parse("# c\n1001\tAda\tpw\ta@x\n\n2001\tT\tq\tt@x\n").unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].password, "pw");
        assert!(users[0].is_demo() && !users[1].is_demo());
    }

    #[test]
    fn rejects_a_short_row_with_its_line_number() {
        let err = parse("1001\tAda\n").unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn the_repo_table_has_the_demo_office_and_a_test_pool() {
        let users = all().unwrap();
        for ext in 1001..=1010 {
            assert!(users.iter().any(|u| u.extension == ext.to_string()));
        }
        assert!(users.iter().filter(|u| !u.is_demo()).count() >= 20);
        assert!(users.iter().filter(|u| u.requires_session_timers()).count() >= 2);
        let mut pws: Vec<_> = users.iter().map(|u| &u.password).collect();
        pws.sort();
        pws.dedup();
        assert_eq!(
            pws.len(),
            users.len(),
            "every extension has its own password"
        );
    }
}
