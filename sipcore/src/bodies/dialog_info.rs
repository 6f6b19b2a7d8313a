//! Dialog state documents (RFC 4235): the busy lamp. A watched extension is ringing while any
//! dialog is early, on the phone while any is confirmed, and idle otherwise.

use super::{BodyError, xml};

const NS: &str = "urn:ietf:params:xml:ns:dialog-info";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineState {
    Idle,
    Ringing,
    OnCall,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DialogInfo {
    /// The watched resource (`entity` attribute).
    pub entity: String,
    /// The document version; a NOTIFY with a lower version than the last one is stale.
    pub version: u64,
    /// `full` or `partial`.
    pub full: bool,
    pub state: LineState,
}

pub fn parse(body: &[u8]) -> Result<DialogInfo, BodyError> {
    let doc = xml(body)?;
    let root = doc.root_element();
    if root.tag_name().name() != "dialog-info" || root.tag_name().namespace() != Some(NS) {
        return Err(BodyError::Unexpected(format!(
            "root <{}> is not a <dialog-info>",
            root.tag_name().name()
        )));
    }
    let version = root
        .attribute("version")
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| BodyError::Unexpected("dialog-info without a numeric version".into()))?;
    let full = root.attribute("state") != Some("partial");
    let entity = root.attribute("entity").unwrap_or("").to_string();
    let states: Vec<&str> = root
        .children()
        .filter(|n| n.tag_name().name() == "dialog")
        .filter_map(|d| d.children().find(|c| c.tag_name().name() == "state"))
        .filter_map(|s| s.text())
        .map(str::trim)
        .collect();
    let state = if states.contains(&"confirmed") {
        LineState::OnCall
    } else if states
        .iter()
        .any(|s| matches!(*s, "early" | "proceeding" | "trying"))
    {
        LineState::Ringing
    } else {
        LineState::Idle
    };
    Ok(DialogInfo {
        entity,
        version,
        full,
        state,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4235 §5.1 (shortened): a confirmed dialog.
    const CONFIRMED: &str = r#"<?xml version="1.0"?>
     <dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info"
                  version="1" state="full" entity="sip:alice@example.com">
       <dialog id="as7d900as8" call-id="a84b4c76e66710" local-tag="1928301774" direction="initiator">
         <state>confirmed</state>
       </dialog>
     </dialog-info>"#;

    #[test]
    fn confirmed_is_on_a_call_early_is_ringing_and_none_is_idle() {
        let d = parse(CONFIRMED.as_bytes()).unwrap();
        assert_eq!((d.state, d.version, d.full), (LineState::OnCall, 1, true));
        assert_eq!(d.entity, "sip:alice@example.com");
        let early = CONFIRMED.replace("confirmed", "early");
        assert_eq!(parse(early.as_bytes()).unwrap().state, LineState::Ringing);
        // Asterisk's idle hint: a document with no dialog at all.
        let idle = r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="7" state="full" entity="sip:1002@127.0.0.1"/>"#;
        assert_eq!(parse(idle.as_bytes()).unwrap().state, LineState::Idle);
        let terminated = CONFIRMED.replace("confirmed", "terminated");
        assert_eq!(parse(terminated.as_bytes()).unwrap().state, LineState::Idle);
    }

    /// RFC 4235 §4.1's example: one dialog, terminated after a 486, with every optional part.
    const RFC4235: &str = r#"<?xml version="1.0"?>
     <dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info"
                  version="0"
                  state="full"
                  entity="sip:alice@example.com">
       <dialog id="as7d900as8" call-id="a84b4c76e66710"
               local-tag="1928301774" direction="initiator">
         <state event="rejected" code="486">terminated</state>
         <duration>274</duration>
         <local>
           <identity display="Alice">sip:alice@example.com</identity>
           <target uri="sip:alice@pc33.example.com"/>
         </local>
         <remote>
           <identity display="Bob">sip:bob@example.org</identity>
           <target uri="sip:bobster@phone21.example.org"/>
         </remote>
       </dialog>
     </dialog-info>"#;

    #[test]
    fn reads_the_rfc_4235_example_and_partial_updates() {
        let d = parse(RFC4235.as_bytes()).unwrap();
        assert_eq!(
            d,
            DialogInfo {
                entity: "sip:alice@example.com".into(),
                version: 0,
                full: true,
                state: LineState::Idle,
            }
        );
        // Two dialogs, one ringing and one talking: the phone is on a call.
        let two = RFC4235.replace(
            "</dialog-info>",
            r#"<dialog id="x2"><state>confirmed</state></dialog></dialog-info>"#,
        );
        let two = two.replace(
            r#"<state event="rejected" code="486">terminated</state>"#,
            "<state>early</state>",
        );
        assert_eq!(parse(two.as_bytes()).unwrap().state, LineState::OnCall);
        let partial = RFC4235.replace(r#"state="full""#, r#"state="partial""#);
        assert!(!parse(partial.as_bytes()).unwrap().full);
        // RFC 4235 §3.7.1: trying and proceeding are ringing too.
        for s in ["trying", "proceeding"] {
            let ringing = CONFIRMED.replace("confirmed", s);
            assert_eq!(parse(ringing.as_bytes()).unwrap().state, LineState::Ringing);
        }
    }

    /// What Asterisk 16's hints send (res_pjsip_dialog_info_body_generator), captured from the
    /// harness PBX: idle, on a call, and ringing with the caller.
    #[test]
    fn reads_what_asterisk_sends() {
        let idle = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"0\" state=\"full\" entity=\"sip:2002@127.0.0.1:25060\">\n <dialog id=\"2002\">\n  <state>terminated</state>\n </dialog>\n</dialog-info>\n";
        assert_eq!(parse(idle.as_bytes()).unwrap().state, LineState::Idle);
        let on_call = idle
            .replace("version=\"0\"", "version=\"1\"")
            .replace("terminated", "confirmed");
        let d = parse(on_call.as_bytes()).unwrap();
        assert_eq!((d.state, d.version), (LineState::OnCall, 1));
        let ringing = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"3\" state=\"full\" entity=\"sip:2002@127.0.0.1:25060\">\n <dialog id=\"2002\" direction=\"recipient\">\n  <remote>\n   <identity display=\"Test User 2003\">sip:2003@127.0.0.1</identity>\n   <target uri=\"sip:2003@127.0.0.1\" />\n  </remote>\n  <local>\n   <identity display=\"Test User 2002\">sip:2002@127.0.0.1</identity>\n   <target uri=\"sip:2002@127.0.0.1:25060\" />\n  </local>\n  <state>early</state>\n </dialog>\n</dialog-info>\n";
        assert_eq!(parse(ringing.as_bytes()).unwrap().state, LineState::Ringing);
    }

    #[test]
    fn malformed_bodies_are_errors() {
        assert_eq!(parse(&[0xff, 0xfe]), Err(BodyError::NotUtf8));
        assert!(matches!(parse(b""), Err(BodyError::Xml(_))));
        assert!(matches!(
            parse(
                RFC4235
                    .replace("version=\"0\"", "version=\"zero\"")
                    .as_bytes()
            ),
            Err(BodyError::Unexpected(_))
        ));
        assert!(matches!(
            parse(b"<dialog-info xmlns=\"urn:other\" version=\"1\"/>"),
            Err(BodyError::Unexpected(_))
        ));
        assert!(matches!(
            parse(&RFC4235.as_bytes()[..RFC4235.len() / 2]),
            Err(BodyError::Xml(_))
        ));
        assert!(parse(b"<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\">").is_err());
        let no_version =
            r#"<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" state="full" entity="x"/>"#;
        assert!(matches!(
            parse(no_version.as_bytes()),
            Err(BodyError::Unexpected(_))
        ));
        assert!(parse(br#"<presence xmlns="urn:ietf:params:xml:ns:pidf"/>"#).is_err());
    }
}
