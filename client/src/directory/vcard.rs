//! vCard lists (RFC 6350, and the 3.0 files most address books still export), read with the
//! `ical` crate: FN (or N), TEL and EMAIL.

use super::{DirectoryError, Entry, Parsed, add_number, finish};

pub fn parse(text: &str) -> Result<Parsed, DirectoryError> {
    let mut out = Parsed::default();
    for (i, card) in ical::VcardParser::new(std::io::BufReader::new(text.as_bytes())).enumerate() {
        let record = i + 1;
        let card = match card {
            Ok(c) => c,
            Err(e) => {
                // A damaged card ends the file for the parser; report it and keep what came before.
                out.skipped.push(super::Skipped {
                    record,
                    reason: format!("damaged card: {e}"),
                });
                break;
            }
        };
        let mut e = Entry::default();
        let mut structured = String::new();
        for p in &card.properties {
            let value = p.value.as_deref().unwrap_or("").trim();
            match p.name.to_ascii_uppercase().as_str() {
                "FN" => e.name = value.to_string(),
                "N" => {
                    // Family;Given;Additional;Prefix;Suffix
                    let parts: Vec<&str> = value.split(';').collect();
                    structured = format!(
                        "{} {}",
                        parts.get(1).unwrap_or(&""),
                        parts.first().unwrap_or(&"")
                    )
                    .trim()
                    .to_string();
                }
                "TEL" => add_number(&mut e, value.trim_start_matches("tel:")),
                "EMAIL" if e.email.is_none() && !value.is_empty() => {
                    e.email = Some(value.to_string())
                }
                _ => {}
            }
        }
        if e.name.is_empty() {
            e.name = structured;
        }
        finish(e, record, &mut out);
    }
    if out.entries.is_empty() && out.skipped.is_empty() && !text.trim().is_empty() {
        return Err(DirectoryError::Vcard("no cards found".into()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cards_with_fn_or_n_and_folded_lines() {
        let vcf = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Grace Hopper\r\nTEL;TYPE=work:1002\r\nEMAIL:grace@example.com\r\nEND:VCARD\r\n\
                   BEGIN:VCARD\r\nVERSION:3.0\r\nN:Turing;Alan;;;\r\nTEL;TYPE=cell:+44 20 7946\r\n 0000\r\nEND:VCARD\r\n\
                   BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Nobody Reachable\r\nEND:VCARD\r\n";
        let p = parse(vcf).unwrap();
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[0].email.as_deref(), Some("grace@example.com"));
        assert_eq!(p.entries[1].name, "Alan Turing");
        assert_eq!(p.entries[1].numbers, vec!["+442079460000"]);
        assert_eq!(p.skipped.len(), 1);
        assert!(p.skipped[0].reason.contains("no number"));
    }
}
