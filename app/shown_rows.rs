//! The rows a long list shows for its search and filter, kept until the list or the search
//! changes: a frame of 10,000 contacts then touches only the rows on screen, instead of
//! matching (and lower-casing) every one of them again sixty times a second while scrolling.

/// Indices into a list of the rows that match, for the `key` (the list's revision, the search
/// text, a filter…) they were found for.
pub struct ShownRows<K> {
    key: Option<K>,
    rows: Vec<usize>,
}

impl<K> Default for ShownRows<K> {
    fn default() -> Self {
        Self {
            key: None,
            rows: Vec::new(),
        }
    }
}

impl<K: PartialEq> ShownRows<K> {
    /// The matching rows of a list of `len` for `key`, found again with `keep` only when the
    /// key is not the one they were found for.
    pub fn get(&mut self, key: K, len: usize, keep: impl Fn(usize) -> bool) -> &[usize] {
        if self.key.as_ref() != Some(&key) {
            self.rows.clear();
            self.rows.extend((0..len).filter(|i| keep(*i)));
            self.key = Some(key);
        }
        &self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_found_again_only_for_a_new_key() {
        let list = ["Ada", "Alan", "Grace"];
        let mut shown = ShownRows::default();
        let calls = std::cell::Cell::new(0);
        let starts_with = |p: &'static str| {
            let calls = &calls;
            move |i: usize| {
                calls.set(calls.get() + 1);
                list[i].starts_with(p)
            }
        };
        assert_eq!(shown.get((1, "A"), list.len(), starts_with("A")), [0, 1]);
        assert_eq!(shown.get((1, "A"), list.len(), starts_with("A")), [0, 1]);
        assert_eq!(calls.get(), 3, "the second frame matched nothing again");
        assert_eq!(shown.get((1, "G"), list.len(), starts_with("G")), [2]);
        assert_eq!(shown.get((2, "G"), list.len(), starts_with("G")), [2]);
        assert_eq!(calls.get(), 9);
    }
}
