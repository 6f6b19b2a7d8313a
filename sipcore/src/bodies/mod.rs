//! Parsers for the event bodies that NOTIFY carries: presence (PIDF, RFC 3863), dialog state
//! (dialog-info, RFC 4235) and message waiting (message-summary, RFC 3842); and the SDP part of a
//! multipart INVITE body (`multipart`). They take bytes from
//! the network and never panic; a malformed body is an error the caller logs and ignores, so a
//! bad NOTIFY never blanks what the user sees.

pub mod dialog_info;
pub mod message_summary;
pub mod multipart;
pub mod pidf;
pub mod sipfrag;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("not UTF-8")]
    NotUtf8,
    #[error("not well-formed XML: {0}")]
    Xml(String),
    #[error("unexpected document: {0}")]
    Unexpected(String),
}

fn xml(body: &[u8]) -> Result<roxmltree::Document<'_>, BodyError> {
    let text = std::str::from_utf8(body).map_err(|_| BodyError::NotUtf8)?;
    roxmltree::Document::parse(text).map_err(|e| BodyError::Xml(e.to_string()))
}
