//! CSV contact lists: the first row names the columns. Recognised names (any case): name,
//! full name, first name, last name, extension, ext, phone, number, mobile, telephone, email.
//! Commas, semicolons and tabs are all accepted as separators.

use super::{DirectoryError, Entry, Parsed, Skipped, add_number, finish};

pub fn parse(text: &str) -> Result<Parsed, DirectoryError> {
    let first = text.lines().next().unwrap_or("");
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| DirectoryError::Csv(e.to_string()))?
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let col = |names: &[&str]| headers.iter().position(|h| names.contains(&h.as_str()));
    let name = col(&["name", "full name", "display name"]);
    let first_name = col(&["first name", "given name", "firstname"]);
    let last_name = col(&["last name", "family name", "surname", "lastname"]);
    if name.is_none() && first_name.is_none() && last_name.is_none() {
        return Err(DirectoryError::CsvNoNameColumn);
    }
    let numbers: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            [
                "extension",
                "ext",
                "phone",
                "number",
                "mobile",
                "telephone",
                "work phone",
                "mobile phone",
            ]
            .contains(&h.as_str())
        })
        .map(|(i, _)| i)
        .collect();
    let email = col(&["email", "e-mail", "email address"]);
    let mut out = Parsed::default();
    for (i, row) in reader.records().enumerate() {
        let record = i + 1;
        let row = match row {
            Ok(r) => r,
            Err(e) => {
                out.skipped.push(Skipped {
                    record,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).unwrap_or("").to_string();
        let mut e = Entry {
            name: match name {
                Some(_) if !get(name).is_empty() => get(name),
                _ => format!("{} {}", get(first_name), get(last_name))
                    .trim()
                    .to_string(),
            },
            ..Entry::default()
        };
        for c in &numbers {
            add_number(&mut e, row.get(*c).unwrap_or(""));
        }
        let mail = get(email);
        e.email = (!mail.is_empty()).then_some(mail);
        finish(e, record, &mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rows_by_header_and_counts_the_skipped_ones() {
        let csv = "First Name;Last Name;Extension;Mobile;Email\n\
                   Ada;Lovelace;1001;+44 7700 900001;ada@example.com\n\
                   ;;;;\n\
                   Hedy;Lamarr;1006;;\n";
        let p = parse(csv).unwrap();
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[0].name, "Ada Lovelace");
        assert_eq!(p.entries[0].numbers, vec!["+447700900001"]);
        assert_eq!(p.entries[1].extension.as_deref(), Some("1006"));
        assert_eq!(
            p.skipped,
            vec![Skipped {
                record: 2,
                reason: "no name".into()
            }]
        );
    }

    #[test]
    fn a_file_without_a_name_column_is_refused_in_words() {
        let err = parse("a,b\n1,2\n").unwrap_err();
        assert_eq!(err, DirectoryError::CsvNoNameColumn);
    }
}
