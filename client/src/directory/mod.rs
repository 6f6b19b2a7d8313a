//! The company directory: where interoffice contacts come from. It reads the XML phonebooks
//! PBXs serve to IP phones (Cisco/Yealink and Grandstream shapes), vCard lists and CSV files,
//! into one entry type, counting what it had to skip and why. Fetching and storing are the
//! backend's; these are plain parsers.

mod csv_import;
mod phonebook_xml;
mod vcard;

/// One person from a directory source.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Entry {
    pub name: String,
    /// An internal extension (a short number without a `+`).
    pub extension: Option<String>,
    /// Other numbers (mobile, external), in the order the source gave them.
    pub numbers: Vec<String>,
    pub email: Option<String>,
}

/// What a source yielded: the entries, and each skipped record with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Parsed {
    pub entries: Vec<Entry>,
    pub skipped: Vec<Skipped>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based record number in the source (row, card or entry).
    pub record: usize,
    pub reason: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DirectoryError {
    #[error("The file is not a phonebook Switchboard knows (XML phonebook, vCard or CSV).")]
    UnknownFormat,
    #[error("The phonebook is not valid XML: {0}")]
    Xml(String),
    #[error("The vCard file is damaged: {0}")]
    Vcard(String),
    #[error(
        "The CSV file has no column with names; the first row should name the columns (for example Name, Extension, Phone, Email)."
    )]
    CsvNoNameColumn,
    #[error("The CSV file could not be read: {0}")]
    Csv(String),
}

/// The formats by content, not by file name: servers often mislabel them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    PhonebookXml,
    Vcard,
    Csv,
}

pub fn sniff(text: &str) -> Option<Format> {
    let t = text.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('<') {
        Some(Format::PhonebookXml)
    } else if t
        .as_bytes()
        .get(..11)
        .is_some_and(|b| b.eq_ignore_ascii_case(b"BEGIN:VCARD"))
    {
        Some(Format::Vcard)
    } else if t
        .lines()
        .next()
        .is_some_and(|l| l.contains(',') || l.contains(';') || l.contains('\t'))
    {
        Some(Format::Csv)
    } else {
        None
    }
}

/// Parses any supported source.
pub fn parse(text: &str) -> Result<Parsed, DirectoryError> {
    let text = text.trim_start_matches('\u{feff}');
    match sniff(text) {
        Some(Format::PhonebookXml) => phonebook_xml::parse(text),
        Some(Format::Vcard) => vcard::parse(text),
        Some(Format::Csv) => csv_import::parse(text),
        None => Err(DirectoryError::UnknownFormat),
    }
}

/// True for an internal extension: 2 to 6 digits, no `+`.
pub fn is_extension(number: &str) -> bool {
    (2..=6).contains(&number.len()) && number.chars().all(|c| c.is_ascii_digit())
}

/// Puts numbers into an entry: the first extension-like one becomes the extension.
fn add_number(entry: &mut Entry, raw: &str) {
    let n: String = raw
        .trim()
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '+' || *c == '*' || *c == '#')
        .collect();
    if n.is_empty() {
        return;
    }
    if entry.extension.is_none() && is_extension(&n) {
        entry.extension = Some(n);
    } else if !entry.numbers.contains(&n) && entry.extension.as_deref() != Some(&n) {
        entry.numbers.push(n);
    }
}

/// Keeps an entry only if it has a name and something to call or write to.
fn finish(entry: Entry, record: usize, out: &mut Parsed) {
    if entry.name.trim().is_empty() {
        out.skipped.push(Skipped {
            record,
            reason: "no name".into(),
        });
    } else if entry.extension.is_none() && entry.numbers.is_empty() && entry.email.is_none() {
        out.skipped.push(Skipped {
            record,
            reason: format!("{} has no number or email", entry.name),
        });
    } else {
        out.entries.push(Entry {
            name: entry.name.trim().to_string(),
            ..entry
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_or_non_ascii_text_is_not_a_phonebook_and_does_not_panic() {
        assert_eq!(sniff("\u{fffd}\u{fffd}\u{fffd}\u{fffd} \u{10}"), None);
        assert_eq!(sniff("ÄÖÜ-BEGIN:VCARD"), None);
        assert!(parse("ÉÉÉÉÉÉÉÉÉÉÉÉ").is_err());
    }

    #[test]
    fn sniffs_by_content() {
        assert_eq!(
            sniff("<?xml version=\"1.0\"?><x/>"),
            Some(Format::PhonebookXml)
        );
        assert_eq!(sniff("\u{feff}BEGIN:VCARD\r\n"), Some(Format::Vcard));
        assert_eq!(sniff("Name,Extension\nAda,1001"), Some(Format::Csv));
        assert_eq!(sniff("hello"), None);
        assert_eq!(parse("hello"), Err(DirectoryError::UnknownFormat));
    }

    #[test]
    fn short_numbers_are_extensions() {
        assert!(is_extension("1002"));
        assert!(!is_extension("+15550100"));
        assert!(!is_extension("5550102030"));
        let mut e = Entry::default();
        add_number(&mut e, "1002");
        add_number(&mut e, "+1 (555) 010-2030");
        add_number(&mut e, "1003");
        assert_eq!(e.extension.as_deref(), Some("1002"));
        assert_eq!(e.numbers, vec!["+15550102030", "1003"]);
    }
}
