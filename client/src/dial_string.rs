//! What the user typed into the dial field, turned into something to call. Pasted numbers come
//! with spaces, dashes, dots and brackets ("+1 (555) 010-2030"); SIP addresses pass through.

/// The dialable form of `input`, or `None` when there is nothing to call.
///
/// Keeps digits, `*`, `#` and a leading `+`; drops the usual visual separators. Input with
/// letters is a SIP address (`alice@example.com`, `sip:alice@example.com`) and is kept
/// as typed, trimmed; a bare name is not dialable (it is a contact search).
pub fn normalize(input: &str) -> Option<String> {
    let s = input.trim();
    if s.is_empty() {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    if lower.starts_with("sip:") || lower.starts_with("sips:") || lower.starts_with("tel:") {
        let rest = s.split_once(':').map(|(_, r)| r).unwrap_or("");
        return if lower.starts_with("tel:") {
            normalize(rest)
        } else {
            (!rest.is_empty()).then(|| s.to_string())
        };
    }
    if s.contains('@') {
        return (!s.contains(char::is_whitespace)).then(|| s.to_string());
    }
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        match c {
            '0'..='9' | '*' | '#' => out.push(c),
            '+' if i == 0 => out.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return None,
        }
    }
    (!out.is_empty() && out != "+").then_some(out)
}

/// True when the text looks like the start of a number rather than a name: the dial field then
/// offers to call it, otherwise it searches contacts.
pub fn looks_like_number(input: &str) -> bool {
    let s = input.trim();
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || "+*#-.() /".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_extensions_and_feature_codes() {
        assert_eq!(normalize("9196").as_deref(), Some("9196"));
        assert_eq!(normalize(" *97 ").as_deref(), Some("*97"));
        assert_eq!(normalize("1#").as_deref(), Some("1#"));
    }

    #[test]
    fn strips_separators_from_pasted_numbers() {
        assert_eq!(
            normalize("+1 (555) 010-2030").as_deref(),
            Some("+15550102030")
        );
        assert_eq!(normalize("555.010.2030").as_deref(), Some("5550102030"));
        assert_eq!(
            normalize("tel:+44-20-7946-0000").as_deref(),
            Some("+442079460000")
        );
    }

    #[test]
    fn passes_sip_addresses_through() {
        assert_eq!(
            normalize("alice@example.com").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(
            normalize("sip:1002@pbx.example").as_deref(),
            Some("sip:1002@pbx.example")
        );
    }

    #[test]
    fn refuses_names_and_empty_input() {
        assert_eq!(normalize(""), None);
        assert_eq!(normalize("   "), None);
        assert_eq!(normalize("Grace"), None);
        assert_eq!(normalize("+"), None);
        assert_eq!(normalize("12+3"), None);
        assert_eq!(normalize("sip:"), None);
    }

    #[test]
    fn tells_numbers_from_names() {
        assert!(looks_like_number("+1 555"));
        assert!(!looks_like_number("Grace"));
        assert!(!looks_like_number(""));
    }
}
