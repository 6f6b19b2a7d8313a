//! PIDF presence documents (RFC 3863), with the RPID activities (RFC 4480) that say "away" or
//! "on the phone". What we keep: is the person open (reachable) and what are they doing.

use super::{BodyError, xml};

const NS_PIDF: &str = "urn:ietf:params:xml:ns:pidf";

/// A person's presence as the availability dot shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    Online,
    Away,
    Busy,
    Offline,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presence {
    /// The `entity` attribute: whose presence this is.
    pub entity: String,
    pub availability: Availability,
    /// Free text from `<note>`, if any.
    pub note: Option<String>,
}

pub fn parse(body: &[u8]) -> Result<Presence, BodyError> {
    let doc = xml(body)?;
    let root = doc.root_element();
    if root.tag_name().name() != "presence" || root.tag_name().namespace() != Some(NS_PIDF) {
        return Err(BodyError::Unexpected(format!(
            "root <{}> is not a PIDF <presence>",
            root.tag_name().name()
        )));
    }
    let entity = root.attribute("entity").unwrap_or("").to_string();
    // Any tuple with basic=open makes the person reachable (RFC 3863 §4.1.4).
    let open = root
        .descendants()
        .filter(|n| n.tag_name().name() == "basic" && n.tag_name().namespace() == Some(NS_PIDF))
        .any(|n| n.text().map(str::trim) == Some("open"));
    let activities: Vec<&str> = root
        .descendants()
        .filter(|n| n.tag_name().name() == "activities")
        .flat_map(|a| {
            a.children()
                .filter(|c| c.is_element())
                .map(|c| c.tag_name().name())
        })
        .collect();
    let availability = if !open {
        Availability::Offline
    } else if activities
        .iter()
        .any(|a| matches!(*a, "on-the-phone" | "busy" | "meeting"))
    {
        Availability::Busy
    } else if activities
        .iter()
        .any(|a| matches!(*a, "away" | "vacation" | "sleeping" | "appointment"))
    {
        Availability::Away
    } else {
        Availability::Online
    };
    let note = root
        .descendants()
        .find(|n| n.tag_name().name() == "note")
        .and_then(|n| n.text())
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    Ok(Presence {
        entity,
        availability,
        note,
    })
}

/// Our own presence as a PIDF body for PUBLISH.
pub fn render(entity: &str, availability: Availability, note: Option<&str>) -> String {
    let basic = if availability == Availability::Offline {
        "closed"
    } else {
        "open"
    };
    let activity = match availability {
        Availability::Away => "<rpid:activities><rpid:away/></rpid:activities>",
        Availability::Busy => "<rpid:activities><rpid:on-the-phone/></rpid:activities>",
        _ => "",
    };
    let note = note
        .map(|n| format!("<note>{}</note>", escape(n)))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <presence xmlns=\"urn:ietf:params:xml:ns:pidf\" \
         xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" \
         xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\" entity=\"{}\">\
         <tuple id=\"switchboard\"><status><basic>{basic}</basic></status></tuple>\
         <dm:person id=\"p1\">{activity}</dm:person>{note}</presence>",
        escape(entity)
    )
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3863 §6, the basic example.
    const RFC3863: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
   <presence xmlns="urn:ietf:params:xml:ns:pidf"
       xmlns:im="urn:ietf:params:xml:ns:pidf:im"
       xmlns:myex="http://id.example.com/presence/"
       entity="pres:someone@example.com">
     <tuple id="bs35r9">
       <status>
         <basic>open</basic>
         <im:im>busy</im:im>
         <myex:location>home</myex:location>
       </status>
       <contact priority="0.8">im:someone@mobilecarrier.net</contact>
       <note xml:lang="en">Don't Disturb Please!</note>
       <note xml:lang="fr">Ne derangez pas, s'il vous plait</note>
       <timestamp>2001-10-27T16:49:29Z</timestamp>
     </tuple>
     <tuple id="eg92n8">
       <status>
         <basic>open</basic>
       </status>
       <contact priority="1.0">mailto:someone@example.com</contact>
     </tuple>
     <note>I'll be in Tokyo next week</note>
   </presence>"#;

    #[test]
    fn reads_the_rfc_3863_example() {
        let p = parse(RFC3863.as_bytes()).unwrap();
        assert_eq!(p.entity, "pres:someone@example.com");
        assert_eq!(p.availability, Availability::Online);
        assert_eq!(p.note.as_deref(), Some("Don't Disturb Please!"));
    }

    #[test]
    fn closed_is_offline_and_rpid_activities_mean_away_or_busy() {
        let closed = RFC3863.replace("<basic>open</basic>", "<basic>closed</basic>");
        assert_eq!(
            parse(closed.as_bytes()).unwrap().availability,
            Availability::Offline
        );
        let away = render("sip:1002@pbx", Availability::Away, None);
        assert_eq!(
            parse(away.as_bytes()).unwrap().availability,
            Availability::Away
        );
        let busy = render("sip:1002@pbx", Availability::Busy, Some("in a <meeting>"));
        let p = parse(busy.as_bytes()).unwrap();
        assert_eq!(p.availability, Availability::Busy);
        assert_eq!(p.note.as_deref(), Some("in a <meeting>"));
    }

    /// What Asterisk 16 sends for a hint (res_pjsip_pidf_body_generator), captured from the
    /// harness PBX: registered and idle, on the phone, and not registered.
    #[test]
    fn reads_what_asterisk_sends() {
        let ready = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence entity=\"sip:2002@127.0.0.1:25060\" xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" xmlns:rpid=\"urn:ietf:params:xml:ns:pidf:rpid\">\n <note>Ready</note>\n <tuple id=\"2002\">\n  <status>\n   <basic>open</basic>\n  </status>\n  <contact priority=\"1\">sip:2001@127.0.0.1</contact>\n </tuple>\n <dm:person />\n</presence>\n";
        let p = parse(ready.as_bytes()).unwrap();
        assert_eq!(
            (p.availability, p.note.as_deref()),
            (Availability::Online, Some("Ready"))
        );
        let on_the_phone = ready.replace("Ready", "On the phone").replace(
            "<dm:person />",
            "<dm:person>\n  <rpid:activities>\n   <rpid:on-the-phone />\n  </rpid:activities>\n </dm:person>",
        );
        assert_eq!(
            parse(on_the_phone.as_bytes()).unwrap().availability,
            Availability::Busy
        );
        let unavailable = ready
            .replace("Ready", "Unavailable")
            .replace("<basic>open</basic>", "<basic>closed</basic>");
        assert_eq!(
            parse(unavailable.as_bytes()).unwrap().availability,
            Availability::Offline
        );
    }

    #[test]
    fn a_document_without_an_open_tuple_is_offline() {
        let empty =
            r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="pres:x@example.com"/>"#;
        assert_eq!(
            parse(empty.as_bytes()).unwrap().availability,
            Availability::Offline
        );
        // A <basic> outside the PIDF namespace does not count.
        let foreign = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:x="urn:x" entity="e"><tuple id="t"><status><x:basic>open</x:basic></status></tuple></presence>"#;
        assert_eq!(
            parse(foreign.as_bytes()).unwrap().availability,
            Availability::Offline
        );
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        assert!(matches!(
            parse(&RFC3863.as_bytes()[..RFC3863.len() / 2]),
            Err(BodyError::Xml(_))
        ));
        assert!(matches!(
            parse(b"<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\"><tuple></presence>"),
            Err(BodyError::Xml(_))
        ));
        assert!(matches!(parse(b"<presence"), Err(BodyError::Xml(_))));
        assert_eq!(parse(&[0xff, 0xfe]), Err(BodyError::NotUtf8));
        assert!(matches!(
            parse(b"<dialog-info/>"),
            Err(BodyError::Unexpected(_))
        ));
        assert!(matches!(
            parse(b"<presence xmlns=\"urn:other\"/>"),
            Err(BodyError::Unexpected(_))
        ));
        assert!(parse(b"").is_err());
    }
}
