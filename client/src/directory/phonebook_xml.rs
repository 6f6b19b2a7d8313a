//! XML phonebooks as PBXs serve them to desk phones:
//! - Cisco and Yealink: `<*IPPhoneDirectory><DirectoryEntry><Name/><Telephone/>…`
//! - Grandstream: `<AddressBook><Contact><FirstName/><LastName/><Phone><phonenumber/>…`

use super::{DirectoryError, Entry, Parsed, add_number, finish};

pub fn parse(text: &str) -> Result<Parsed, DirectoryError> {
    let doc = roxmltree::Document::parse(text).map_err(|e| DirectoryError::Xml(e.to_string()))?;
    let mut out = Parsed::default();
    let root = doc.root_element();
    let mut record = 0;
    for node in root.descendants().filter(|n| n.is_element()) {
        let tag = node.tag_name().name();
        if tag.eq_ignore_ascii_case("DirectoryEntry") {
            record += 1;
            let mut e = Entry::default();
            for child in node.children().filter(|n| n.is_element()) {
                let text = child.text().unwrap_or("").trim();
                match child.tag_name().name().to_ascii_lowercase().as_str() {
                    "name" => e.name = text.to_string(),
                    "telephone" => add_number(&mut e, text),
                    "email" => e.email = Some(text.to_string()).filter(|s| !s.is_empty()),
                    _ => {}
                }
            }
            finish(e, record, &mut out);
        } else if tag == "Contact" && root.tag_name().name() == "AddressBook" {
            record += 1;
            let field = |name: &str| {
                node.children()
                    .find(|c| c.tag_name().name() == name)
                    .and_then(|c| c.text())
                    .map(str::trim)
                    .unwrap_or("")
                    .to_string()
            };
            let mut e = Entry {
                name: format!("{} {}", field("FirstName"), field("LastName"))
                    .trim()
                    .to_string(),
                ..Entry::default()
            };
            for phone in node.children().filter(|c| c.tag_name().name() == "Phone") {
                if let Some(n) = phone
                    .children()
                    .find(|c| c.tag_name().name() == "phonenumber")
                {
                    add_number(&mut e, n.text().unwrap_or(""));
                }
            }
            let email = field("Mail");
            e.email = (!email.is_empty()).then_some(email);
            finish(e, record, &mut out);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_yealink_phonebook_and_skips_nameless_entries() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<YealinkIPPhoneDirectory>
  <DirectoryEntry><Name>Grace Hopper</Name><Telephone>1002</Telephone><Telephone>+1 555 0102</Telephone></DirectoryEntry>
  <DirectoryEntry><Name></Name><Telephone>1099</Telephone></DirectoryEntry>
  <DirectoryEntry><Name>Alan Turing</Name><Telephone>1003</Telephone></DirectoryEntry>
</YealinkIPPhoneDirectory>"#;
        let p = parse(xml).unwrap();
        assert_eq!(p.entries.len(), 2);
        assert_eq!(p.entries[0].extension.as_deref(), Some("1002"));
        assert_eq!(p.entries[0].numbers, vec!["+15550102"]);
        assert_eq!(p.skipped.len(), 1);
        assert_eq!(p.skipped[0].record, 2);
    }

    #[test]
    fn reads_a_grandstream_address_book() {
        let xml = r#"<AddressBook><Contact><FirstName>Ada</FirstName><LastName>Lovelace</LastName>
            <Phone><phonenumber>1001</phonenumber><accountindex>1</accountindex></Phone></Contact></AddressBook>"#;
        let p = parse(xml).unwrap();
        assert_eq!(p.entries[0].name, "Ada Lovelace");
        assert_eq!(p.entries[0].extension.as_deref(), Some("1001"));
    }

    #[test]
    fn broken_xml_is_an_error_in_words() {
        let err = parse("<YealinkIPPhoneDirectory><DirectoryEntry>").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("The phonebook is not valid XML"),
            "{err}"
        );
    }
}
