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

    #[test]
    fn malformed_bodies_are_errors() {
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
