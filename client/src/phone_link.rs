//! Phone links from other applications — `tel:` (RFC 3966), `sip:`/`sips:` (RFC 3261) and
//! `callto:` — as what the dial pad calls. A browser or a mail client hands the link over as
//! it was written: `tel:+1-555-0100;ext=12`, `tel:%2B15550100`, `callto://+15550100`,
//! `sip:alice@example.com?subject=Hi`.

/// What a link asks to call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneLink {
    /// A dialable number (`+15550100`, `1002`) or a SIP address, as `dial_string::normalize`
    /// gives for the same text typed into the dial pad.
    pub target: String,
    /// The extension to key in once the call is answered (`;ext=` of a `tel:` link).
    pub extension: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("“{0}” is not a phone link (tel:, sip: or callto:).")]
    NotAPhoneLink(String),
    #[error("The link “{0}” has no number or address to call.")]
    NothingToCall(String),
}

/// The call `link` asks for.
pub fn parse(link: &str) -> Result<PhoneLink, LinkError> {
    let link = link.trim();
    let not_a_link = || LinkError::NotAPhoneLink(link.to_string());
    let nothing = || LinkError::NothingToCall(link.to_string());
    let (scheme, rest) = link.split_once(':').ok_or_else(not_a_link)?;
    let rest = percent_decode(rest);
    match scheme.to_ascii_lowercase().as_str() {
        "tel" => {
            // Parameters follow the number: only the extension matters to a caller
            // (phone-context names where a local number is local, isub is for ISDN).
            let mut parts = rest.split(';');
            let number = parts.next().unwrap_or_default();
            let extension = parts
                .filter_map(|p| p.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("ext"))
                .and_then(|(_, v)| crate::dial_string::normalize(v));
            let target = crate::dial_string::normalize(number).ok_or_else(nothing)?;
            Ok(PhoneLink { target, extension })
        }
        "sip" | "sips" => {
            // Headers (`?subject=…`) are for the request, not for whom to call.
            let address = rest.split('?').next().unwrap_or_default().trim();
            if address.is_empty() {
                return Err(nothing());
            }
            let target = format!("{}:{address}", scheme.to_ascii_lowercase());
            Ok(PhoneLink {
                target: crate::dial_string::normalize(&target).ok_or_else(nothing)?,
                extension: None,
            })
        }
        "callto" => {
            // Written `callto:+1555…` or, as Skype taught browsers, `callto://+1555…`.
            let what = rest.trim_start_matches('/');
            let target = if what.contains('@') {
                crate::dial_string::normalize(&format!("sip:{what}"))
            } else {
                crate::dial_string::normalize(what)
            };
            Ok(PhoneLink {
                target: target.ok_or_else(nothing)?,
                extension: None,
            })
        }
        _ => Err(not_a_link()),
    }
}

/// `%XX` escapes as the bytes they stand for; a malformed escape is kept as written.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(link: &str) -> String {
        parse(link).unwrap().target
    }

    #[test]
    fn tel_links_give_the_number_and_its_extension() {
        assert_eq!(
            parse("tel:+1-555-0100;ext=12").unwrap(),
            PhoneLink {
                target: "+15550100".into(),
                extension: Some("12".into())
            }
        );
        assert_eq!(target("tel:1002"), "1002");
        assert_eq!(target("TEL:+44 20 7946 0000"), "+442079460000");
        assert_eq!(target("tel:%2B1%20(555)%20010-2030"), "+15550102030");
        assert_eq!(target("tel:7042;phone-context=example.com"), "7042");
        assert_eq!(target("tel:+1-555-0123;isub=1234"), "+15550123");
    }

    #[test]
    fn sip_and_callto_links_are_called_as_written() {
        assert_eq!(target("sip:1002@pbx.example"), "sip:1002@pbx.example");
        assert_eq!(
            target("sip:alice@example.com?subject=Hello%20there"),
            "sip:alice@example.com"
        );
        assert_eq!(target("SIPS:bob@example.com"), "sips:bob@example.com");
        assert_eq!(target("callto:+15550100"), "+15550100");
        assert_eq!(target("callto://+1-555-0100"), "+15550100");
        assert_eq!(target("callto:alice@example.com"), "sip:alice@example.com");
    }

    #[test]
    fn what_is_not_a_phone_link_is_said_in_words() {
        assert_eq!(
            parse("mailto:ada@example.com").unwrap_err().to_string(),
            "“mailto:ada@example.com” is not a phone link (tel:, sip: or callto:)."
        );
        assert!(matches!(
            parse("no scheme at all"),
            Err(LinkError::NotAPhoneLink(_))
        ));
        assert_eq!(
            parse("tel:").unwrap_err().to_string(),
            "The link “tel:” has no number or address to call."
        );
        assert!(matches!(
            parse("tel:call-me"),
            Err(LinkError::NothingToCall(_))
        ));
        assert!(matches!(
            parse("sip:?subject=x"),
            Err(LinkError::NothingToCall(_))
        ));
        // A malformed escape is kept, and then is not a number.
        assert!(parse("tel:%zz12").is_err());
    }
}
