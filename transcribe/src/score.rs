//! How well a transcript matches what was said: the word error rate (substitutions, deletions
//! and insertions over the words said), after case and punctuation are set aside.

/// The word-level edit distance between what was said and what was heard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WordErrors {
    pub substitutions: usize,
    pub deletions: usize,
    pub insertions: usize,
    /// Words in the reference.
    pub words: usize,
}

impl WordErrors {
    /// Errors over words said, 0.0 for a perfect transcript (can pass 1.0 with insertions).
    pub fn rate(&self) -> f64 {
        (self.substitutions + self.deletions + self.insertions) as f64 / self.words.max(1) as f64
    }
}

/// Lower-case words, apostrophes kept, other punctuation dropped.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '\''))
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// Levenshtein over words, keeping which kind of edit each step was.
pub fn word_errors(reference: &str, heard: &str) -> WordErrors {
    let (r, h) = (words(reference), words(heard));
    // cost[j] = (total, subs, dels, ins) to turn r[..i] into h[..j].
    type Cost = (usize, usize, usize, usize);
    let mut prev: Vec<Cost> = (0..=h.len()).map(|j| (j, 0, 0, j)).collect();
    for i in 1..=r.len() {
        let mut row: Vec<Cost> = vec![(i, 0, i, 0)];
        for j in 1..=h.len() {
            let same = r[i - 1] == h[j - 1];
            let (t, s, d, n) = prev[j - 1];
            let diagonal = if same {
                (t, s, d, n)
            } else {
                (t + 1, s + 1, d, n)
            };
            let (t, s, d, n) = prev[j];
            let deletion = (t + 1, s, d + 1, n);
            let (t, s, d, n) = row[j - 1];
            let insertion = (t + 1, s, d, n + 1);
            row.push(
                *[diagonal, deletion, insertion]
                    .iter()
                    .min_by_key(|c| c.0)
                    .expect("three candidates"),
            );
        }
        prev = row;
    }
    let (_, substitutions, deletions, insertions) = prev[h.len()];
    WordErrors {
        substitutions,
        deletions,
        insertions,
        words: r.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_and_punctuation_are_not_errors() {
        let e = word_errors(
            "Hi, it's Grace. Call me back!",
            "hi it's grace call me back",
        );
        assert_eq!(e.rate(), 0.0);
        assert_eq!(e.words, 6);
    }

    #[test]
    fn each_kind_of_error_is_counted() {
        // "the" dropped, "blue" heard as "new", "please" added.
        let e = word_errors("send the blue report today", "send new report today please");
        assert_eq!(
            (e.substitutions, e.deletions, e.insertions, e.words),
            (1, 1, 1, 5)
        );
        assert!((e.rate() - 0.6).abs() < 1e-9);
        assert_eq!(word_errors("two words", "").rate(), 1.0);
    }
}
