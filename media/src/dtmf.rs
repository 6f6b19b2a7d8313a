//! telephone-event (RFC 4733): building the packets of one key press, with the end packet sent
//! three times (section 2.5.1.4), and detecting key presses on receipt exactly once even when
//! end packets repeat or arrive without a start.

/// The event code of a DTMF key (RFC 4733 section 3.2), or `None`.
pub fn event_code(key: char) -> Option<u8> {
    Some(match key.to_ascii_uppercase() {
        '0'..='9' => key as u8 - b'0',
        '*' => 10,
        '#' => 11,
        'A'..='D' => 12 + (key.to_ascii_uppercase() as u8 - b'A'),
        _ => return None,
    })
}

/// The key of an event code, or `None` for codes that are not DTMF.
pub fn event_key(code: u8) -> Option<char> {
    Some(match code {
        0..=9 => (b'0' + code) as char,
        10 => '*',
        11 => '#',
        12..=15 => (b'A' + code - 12) as char,
        _ => return None,
    })
}

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    pub code: u8,
    pub end: bool,
    /// Attenuation in dBm0, 0..=63, carried positive.
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

impl EventPayload {
    pub fn write(&self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.code,
            (self.end as u8) << 7 | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }
    pub fn parse(b: &[u8]) -> Option<Self> {
        (b.len() >= 4).then(|| EventPayload {
            code: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }
}

/// Sends one key press as a sequence of packets, one per packet time.
#[derive(Debug)]
pub struct DtmfSender {
    code: u8,
    /// Packets sent so far.
    sent: u32,
    /// Packets of tone before the end packets.
    tone_packets: u32,
    step: u16,
}

impl DtmfSender {
    /// A 100 ms key press (the common default) sent every `ptime_ms` at `clock_rate`.
    pub fn new(key: char, clock_rate: u32, ptime_ms: u32) -> Option<Self> {
        let code = event_code(key)?;
        Some(DtmfSender {
            code,
            sent: 0,
            tone_packets: (100 / ptime_ms).max(1),
            step: (clock_rate * ptime_ms / 1000) as u16,
        })
    }

    /// The next packet: (payload, marker bit), or `None` once all three end packets are out.
    /// All packets of the event share the event's start timestamp.
    pub fn next_packet(&mut self) -> Option<(EventPayload, bool)> {
        if self.sent >= self.tone_packets + 3 {
            return None;
        }
        let end = self.sent >= self.tone_packets;
        let duration = self
            .step
            .saturating_mul((self.sent + 1).min(self.tone_packets) as u16);
        let marker = self.sent == 0;
        self.sent += 1;
        Some((
            EventPayload {
                code: self.code,
                end,
                volume: 10,
                duration,
            },
            marker,
        ))
    }
}

/// Turns received telephone-event packets into key presses, once per event.
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    /// Timestamp of the last event reported, so repeated end packets are ignored.
    last_reported: Option<u32>,
}

impl DtmfReceiver {
    /// Returns the key when this packet completes a new event. RFC 4733 section 2.5.2.2: an
    /// event is identified by its timestamp; its end packets may repeat.
    pub fn on_packet(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        let ev = EventPayload::parse(payload)?;
        if !ev.end || self.last_reported == Some(timestamp) {
            return None;
        }
        self.last_reported = Some(timestamp);
        event_key(ev.code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_press_is_tone_packets_then_three_identical_ends() {
        let mut s = DtmfSender::new('#', 8000, 20).unwrap();
        let packets: Vec<_> = std::iter::from_fn(|| s.next_packet()).collect();
        assert_eq!(packets.len(), 5 + 3);
        assert!(packets[0].1, "marker on the first packet");
        assert!(packets[1..].iter().all(|p| !p.1));
        assert_eq!(packets[0].0.duration, 160);
        let ends: Vec<_> = packets.iter().filter(|p| p.0.end).collect();
        assert_eq!(ends.len(), 3);
        assert!(ends.iter().all(|p| p.0.duration == 800 && p.0.code == 11));
    }

    #[test]
    fn the_receiver_reports_each_event_once() {
        let mut tx = DtmfSender::new('7', 8000, 20).unwrap();
        let mut rx = DtmfReceiver::default();
        let mut got = Vec::new();
        while let Some((p, _)) = tx.next_packet() {
            got.extend(rx.on_packet(1000, &p.write()));
        }
        let mut tx = DtmfSender::new('7', 8000, 20).unwrap();
        while let Some((p, _)) = tx.next_packet() {
            got.extend(rx.on_packet(5000, &p.write()));
        }
        assert_eq!(got, vec!['7', '7']);
    }

    #[test]
    fn codes_map_both_ways() {
        for k in "0123456789*#ABCD".chars() {
            assert_eq!(event_key(event_code(k).unwrap()), Some(k));
        }
        assert_eq!(event_code('x'), None);
    }
}
