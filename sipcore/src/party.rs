//! Who a request comes from: name and number from P-Asserted-Identity (RFC 3325) when the PBX
//! asserts one, else from the From header.

use rsipstack::sip::{HeadersExt, Request};

use crate::event::Party;

pub fn from_request(req: &Request) -> Party {
    if let Some(pai) = req.header_value("P-Asserted-Identity")
        && let Some(p) = parse_name_addr(&pai)
    {
        return p;
    }
    req.from_header()
        .ok()
        .map(|f| f.value().to_string())
        .and_then(|v| parse_name_addr(&v))
        .unwrap_or_default()
}

/// A party from a URI alone.
pub fn from_uri(uri: &str) -> Party {
    parse_name_addr(uri).unwrap_or_else(|| Party {
        name: None,
        number: uri.to_string(),
        uri: uri.to_string(),
    })
}

/// Parses `"Display Name" <sip:user@host;params>;tag=x`, `Name <sip:…>` or a bare URI.
pub fn parse_name_addr(value: &str) -> Option<Party> {
    let value = value.split(',').next()?.trim();
    let (name, uri) = match value.find('<') {
        Some(open) => {
            let close = value[open..].find('>')? + open;
            let name = value[..open].trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then(|| name.replace("\\\"", "\"")),
                value[open + 1..close].trim().to_string(),
            )
        }
        None => (None, value.split(';').next()?.trim().to_string()),
    };
    let rest = uri.split_once(':').map(|(_, r)| r).unwrap_or(&uri);
    let number = match rest.split_once('@') {
        Some((user, _)) => user.split(';').next().unwrap_or(user).to_string(),
        None => rest.split(';').next().unwrap_or(rest).to_string(),
    };
    // A telephone number (tel:, or sip: with user=phone) may carry visual separators that mean
    // nothing (RFC 3966 §5.1.1): the number called back is the digits.
    let phone = uri.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("tel:"))
        || uri.to_ascii_lowercase().contains(";user=phone");
    let number = if phone {
        number.replace(['-', '.', '(', ')'], "")
    } else {
        number
    };
    if number.is_empty() {
        return None;
    }
    Some(Party { name, number, uri })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_display_names_numbers_and_uris() {
        let p = parse_name_addr("\"Grace Hopper\" <sip:1002@127.0.0.1:25060>;tag=as12").unwrap();
        assert_eq!(p.name.as_deref(), Some("Grace Hopper"));
        assert_eq!(p.number, "1002");
        assert_eq!(p.uri, "sip:1002@127.0.0.1:25060");
        let p = parse_name_addr("sip:9196@pbx;user=phone").unwrap();
        assert_eq!((p.name, p.number.as_str()), (None, "9196"));
        let p = parse_name_addr("Alan Turing <tel:+15550103>").unwrap();
        assert_eq!(p.number, "+15550103");
        let p = parse_name_addr("<tel:+1-555-(010).3;isub=12>;tag=x").unwrap();
        assert_eq!(p.number, "+15550103");
        let p = parse_name_addr("<sip:+1-555-0103@gw;user=phone>").unwrap();
        assert_eq!(p.number, "+15550103");
        let p = parse_name_addr("<sip:ada.lovelace@example.com>").unwrap();
        assert_eq!(p.number, "ada.lovelace", "a name is not a phone number");
        assert!(parse_name_addr("<sip:@host>").is_none());
        assert!(parse_name_addr("<unterminated").is_none());
    }
}
