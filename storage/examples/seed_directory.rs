//! Seeds a profile with a directory of made-up people, as a directory sync would, for benches
//! and demos that need a long contact list:
//! `cargo run -p storage --example seed_directory -- DATA_DIR USER SERVER COUNT`.
//!
//! It is an example of the storage crate rather than code in xtask so that xtask itself builds on
//! a fresh machine before the system libraries that storage needs (libdbus) are installed.

use std::path::Path;

use storage::{Contact, ContactSource, Store};

const FIRST: [&str; 20] = [
    "Ada", "Alan", "Barbara", "Claude", "Dennis", "Donald", "Edsger", "Frances", "Grace", "Hedy",
    "John", "Ken", "Leslie", "Margaret", "Niklaus", "Radia", "Shafi", "Sophie", "Tim", "Yukihiro",
];
const LAST: [&str; 25] = [
    "Allen",
    "Backus",
    "Cerf",
    "Dijkstra",
    "Engelbart",
    "Floyd",
    "Goldwasser",
    "Hamilton",
    "Hoare",
    "Iverson",
    "Kahn",
    "Knuth",
    "Lamport",
    "Liskov",
    "McCarthy",
    "Naur",
    "Perlman",
    "Ritchie",
    "Shannon",
    "Thompson",
    "Turing",
    "Wilson",
    "Wirth",
    "Wozniak",
    "Zuse",
];

/// `count` directory contacts, each with a different name, extension and number.
fn directory(count: usize) -> Vec<Contact> {
    (0..count)
        .map(|i| {
            let first = FIRST[i % FIRST.len()];
            let last = LAST[(i / FIRST.len()) % LAST.len()];
            let ext = 30_000 + i;
            Contact {
                id: 0,
                name: format!("{first} {last} {}", i / (FIRST.len() * LAST.len()) + 1),
                extension: Some(ext.to_string()),
                numbers: vec![format!("+1555{:07}", i)],
                email: Some(format!("{first}.{last}{i}@example.com").to_lowercase()),
                avatar: None,
                source: ContactSource::Directory,
                favourite: i % 97 == 0,
            }
        })
        .collect()
}

/// Writes the directory into the profile the app opens for `user@server` under `data_dir`.
fn seed(data_dir: &Path, user: &str, server: &str, count: usize) -> Result<(), String> {
    let dir = storage::paths::profile_dir(data_dir, user, server);
    let mut store = Store::open(&dir).map_err(|e| e.to_string())?;
    store
        .replace_contacts(ContactSource::Directory, &directory(count))
        .map_err(|e| e.to_string())?;
    let held = store.contacts().map_err(|e| e.to_string())?.len();
    if held != count {
        return Err(format!(
            "the seeded profile holds {held} contacts, not {count}"
        ));
    }
    Ok(())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [data_dir, user, server, count] = args.as_slice() else {
        eprintln!("usage: seed_directory DATA_DIR USER SERVER COUNT");
        std::process::exit(2);
    };
    let Ok(count) = count.parse::<usize>() else {
        eprintln!("COUNT must be a number, not {count:?}");
        std::process::exit(2);
    };
    if let Err(e) = seed(Path::new(data_dir), user, server, count) {
        eprintln!("seed_directory: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_a_profile_the_app_would_open() {
        let dir = tempfile::tempdir().unwrap();
        seed(dir.path(), "2001", "127.0.0.1:25060", 600).unwrap();
        let store = Store::open(&dir.path().join("profiles/2001@127.0.0.1_25060")).unwrap();
        let all = store.contacts().unwrap();
        assert_eq!(all.len(), 600);
        let mut names: Vec<_> = all.iter().map(|c| &c.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 600, "every name is different");
    }
}
