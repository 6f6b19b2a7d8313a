//! Whose phone status and presence the app subscribes to. Every colleague watched costs two
//! subscriptions that the PBX keeps and that are refreshed for as long as the app runs, so the
//! list must stay small whatever the size of the directory:
//!
//! - A company that fits in sipcore's most watched ([`WATCH_EVERYONE_UP_TO`]) is watched
//!   whole, as a busy-lamp panel is: every contact's dot is live wherever it shows.
//! - A larger directory (the bench's 10,000 people would need 20,000 subscriptions, refreshed
//!   33 times a second at 600 s each, and the engine would never rest) is watched as Cisco
//!   Jabber watches directory search results: the contacts on screen first, then the people
//!   the user keeps (own contacts and favourites). A contact that leaves the list goes back to
//!   "not known" rather than keep a status nobody updates.
//!
//! [`Watching`] only decides; the backend sends what it returns to sipcore.

use std::collections::HashSet;

/// sipcore watches at most this many extensions; a directory up to this size is watched whole.
pub const WATCH_EVERYONE_UP_TO: usize = 200;

/// The watch list of one signed-in session.
#[derive(Debug, Default)]
pub struct Watching {
    /// Every contact's extension, in list order.
    everyone: Vec<String>,
    /// Own contacts and favourites.
    kept: Vec<String>,
    /// What the window shows now.
    on_screen: Vec<String>,
    /// The list sipcore was last given.
    sent: Vec<String>,
}

/// What changed: the new list for sipcore, and who is no longer watched.
#[derive(Debug, PartialEq, Eq)]
pub struct Change {
    pub watch: Vec<String>,
    pub dropped: Vec<String>,
}

impl Watching {
    /// The contact list is (again) these `(extension, kept)` pairs.
    pub fn contacts<'a>(
        &mut self,
        contacts: impl IntoIterator<Item = (&'a str, bool)>,
    ) -> Option<Change> {
        self.everyone.clear();
        self.kept.clear();
        for (extension, kept) in contacts {
            self.everyone.push(extension.to_string());
            if kept {
                self.kept.push(extension.to_string());
            }
        }
        self.update()
    }

    /// The window now shows the contacts with these extensions.
    pub fn on_screen(&mut self, extensions: Vec<String>) -> Option<Change> {
        self.on_screen = extensions;
        self.update()
    }

    /// The list to give sipcore, or `None` when it already has it.
    fn update(&mut self) -> Option<Change> {
        let watch = self.list();
        if watch == self.sent {
            return None;
        }
        let now: HashSet<&String> = watch.iter().collect();
        let dropped = self
            .sent
            .iter()
            .filter(|e| !now.contains(e))
            .cloned()
            .collect();
        self.sent = watch.clone();
        Some(Change { watch, dropped })
    }

    fn list(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        let candidates: Box<dyn Iterator<Item = &String>> =
            if self.everyone.len() <= WATCH_EVERYONE_UP_TO {
                Box::new(self.everyone.iter())
            } else {
                Box::new(self.on_screen.iter().chain(self.kept.iter()))
            };
        candidates
            .filter(|e| seen.insert(e.as_str()))
            .take(WATCH_EVERYONE_UP_TO)
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ext(n: usize) -> String {
        format!("{}", 2000 + n)
    }

    #[test]
    fn a_small_company_is_watched_whole_and_scrolling_changes_nothing() {
        let mut w = Watching::default();
        let all: Vec<String> = (0..WATCH_EVERYONE_UP_TO).map(ext).collect();
        let first = w.contacts(all.iter().map(|e| (e.as_str(), false))).unwrap();
        assert_eq!(first.watch, all);
        assert!(first.dropped.is_empty());
        assert_eq!(w.on_screen(vec![ext(5), ext(6)]), None);
        // The same list again (a directory refresh) sends nothing.
        assert_eq!(w.contacts(all.iter().map(|e| (e.as_str(), false))), None);
    }

    #[test]
    fn a_large_directory_watches_the_screen_first_then_the_kept_ones() {
        let mut w = Watching::default();
        let all: Vec<String> = (0..10_000).map(ext).collect();
        let kept = |e: &str| e == ext(9_000) || e == ext(3);
        let first = w
            .contacts(all.iter().map(|e| (e.as_str(), kept(e))))
            .unwrap();
        assert_eq!(first.watch, [ext(3), ext(9_000)], "nothing on screen yet");

        let shown: Vec<String> = (0..12).map(ext).collect();
        let change = w.on_screen(shown.clone()).unwrap();
        let mut expected = shown.clone();
        expected.push(ext(9_000));
        assert_eq!(change.watch, expected, "the kept one on screen counts once");
        assert!(change.dropped.is_empty());

        // Scrolling on: the rows that left are dropped, the kept ones stay.
        let change = w.on_screen((500..512).map(ext).collect()).unwrap();
        assert_eq!(
            change.dropped,
            (0..12).filter(|n| *n != 3).map(ext).collect::<Vec<_>>()
        );
        assert!(change.watch.contains(&ext(3)) && change.watch.contains(&ext(9_000)));
        assert_eq!(change.watch.len(), 14);
    }

    #[test]
    fn never_more_than_sipcore_watches() {
        let mut w = Watching::default();
        let all: Vec<String> = (0..5_000).map(ext).collect();
        let change = w.contacts(all.iter().map(|e| (e.as_str(), true))).unwrap();
        assert_eq!(change.watch.len(), WATCH_EVERYONE_UP_TO);
        assert_eq!(
            WATCH_EVERYONE_UP_TO,
            sipcore::Pacing::default().most_watched,
            "the two limits are one"
        );
    }
}
