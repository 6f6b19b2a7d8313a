//! The AMI wire format: a message is `Key: Value` lines ended by an empty line (CRLF, though
//! a bare LF is accepted). [`Decoder`] turns a byte stream into [`Message`]s and skips what it
//! cannot read (a line with no colon, a message grown past [`MAX_MESSAGE`]) instead of failing
//! the connection: one bad event must not cost the user their tiles.

/// Larger than any queue event Asterisk sends; a peer that never ends a message is cut here.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// One AMI packet: a response, an event, or the fields of a list entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    fields: Vec<(String, String)>,
}

impl Message {
    pub fn new(fields: &[(&str, &str)]) -> Self {
        Self {
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The first value of `key`, compared without case as Asterisk does.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    pub fn event(&self) -> Option<&str> {
        self.get("Event")
    }

    pub fn response(&self) -> Option<&str> {
        self.get("Response")
    }

    pub fn action_id(&self) -> Option<&str> {
        self.get("ActionID")
    }

    /// The message as it goes on the wire. Values cannot carry line breaks: they are cut there,
    /// so a reason typed by the user cannot inject a header.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::new();
        for (k, v) in &self.fields {
            let v = v.split(['\r', '\n']).next().unwrap_or("");
            out.push_str(k);
            out.push_str(": ");
            out.push_str(v);
            out.push_str("\r\n");
        }
        out.push_str("\r\n");
        out.into_bytes()
    }
}

/// Splits a byte stream into messages.
#[derive(Debug, Default)]
pub struct Decoder {
    buf: Vec<u8>,
    /// Bytes past a message that grew too long, skipped until its end.
    skipping: bool,
}

impl Decoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole message, if one has arrived. Empty messages (blank lines between
    /// packets) are skipped.
    pub fn next_message(&mut self) -> Option<Message> {
        loop {
            let Some(end) = message_end(&self.buf) else {
                if self.buf.len() > MAX_MESSAGE {
                    tracing::warn!(len = self.buf.len(), "AMI message too long; skipped");
                    self.buf.clear();
                    self.skipping = true;
                }
                return None;
            };
            let raw: Vec<u8> = self.buf.drain(..end.after).collect();
            if std::mem::take(&mut self.skipping) {
                continue;
            }
            let message = parse(&raw[..end.body]);
            if !message.fields.is_empty() {
                return Some(message);
            }
        }
    }
}

struct End {
    /// Where the message's text stops.
    body: usize,
    /// Where the next message starts.
    after: usize,
}

/// The first blank line: "\n\n" or "\n\r\n".
fn message_end(buf: &[u8]) -> Option<End> {
    let mut i = 0;
    while let Some(nl) = buf[i..].iter().position(|&b| b == b'\n') {
        let line_end = i + nl;
        let next = line_end + 1;
        match buf.get(next) {
            Some(b'\n') => {
                return Some(End {
                    body: line_end,
                    after: next + 1,
                });
            }
            Some(b'\r') if buf.get(next + 1) == Some(&b'\n') => {
                return Some(End {
                    body: line_end,
                    after: next + 2,
                });
            }
            None => return None,
            _ => i = next,
        }
    }
    None
}

fn parse(raw: &[u8]) -> Message {
    let text = String::from_utf8_lossy(raw);
    let fields = text
        .lines()
        .filter_map(|line| {
            let line = line.trim_end_matches('\r');
            let (k, v) = line.split_once(':')?;
            let k = k.trim();
            (!k.is_empty() && !k.contains(' ')).then(|| (k.to_string(), v.trim().to_string()))
        })
        .collect();
    Message { fields }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(d: &mut Decoder) -> Vec<Message> {
        std::iter::from_fn(|| d.next_message()).collect()
    }

    #[test]
    fn messages_split_at_blank_lines_in_any_chunking() {
        let wire = b"Response: Success\r\nActionID: 1\r\nMessage: Authentication accepted\r\n\r\nEvent: FullyBooted\r\nStatus: Fully Booted\r\n\r\n";
        for chunk in 1..wire.len() {
            let mut d = Decoder::default();
            let mut got = Vec::new();
            for part in wire.chunks(chunk) {
                d.push(part);
                got.extend(all(&mut d));
            }
            assert_eq!(got.len(), 2, "chunk {chunk}");
            assert_eq!(got[0].response(), Some("Success"));
            assert_eq!(got[0].get("message"), Some("Authentication accepted"));
            assert_eq!(got[1].event(), Some("FullyBooted"));
        }
    }

    #[test]
    fn garbage_and_truncated_frames_are_skipped_and_the_stream_goes_on() {
        let mut d = Decoder::default();
        d.push(b"\x00\xff\xfe not a header at all\r\n\r\n");
        d.push(b"Event: QueueCallerJoin\r\nQueue\r\n: no key\r\nCount: 1\r\n\r\n");
        let got = all(&mut d);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event(), Some("QueueCallerJoin"));
        assert_eq!(got[0].get("Count"), Some("1"));
        assert_eq!(got[0].get("Queue"), None);

        // A peer that never ends its message: cut at the limit, and the next one is read.
        d.push(&vec![b'x'; MAX_MESSAGE + 10]);
        assert!(d.next_message().is_none());
        d.push(b"yyy\r\n\r\nEvent: Ping\n\n");
        let got = all(&mut d);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].event(), Some("Ping"));

        // Half a message waits for the rest.
        d.push(b"Event: QueueMemberPause\r\nPaused: 1");
        assert!(d.next_message().is_none());
        d.push(b"\r\n\r\n");
        assert_eq!(d.next_message().unwrap().get("Paused"), Some("1"));
    }

    #[test]
    fn values_cannot_carry_a_line_break_onto_the_wire() {
        let m = Message::new(&[
            ("Action", "QueuePause"),
            ("Reason", "Lunch\r\nAction: Logoff"),
        ]);
        assert_eq!(
            String::from_utf8(m.encode()).unwrap(),
            "Action: QueuePause\r\nReason: Lunch\r\n\r\n"
        );
    }
}
