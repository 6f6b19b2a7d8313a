//! RFC 4733 telephone-events: a key press sent as event packets (the same timestamp, growing
//! duration, the end bit set on the last three), and received ones reported once per press.

/// Event codes 0-15 for the keys (RFC 4733 §3.2).
pub fn event_code(digit: char) -> Option<u8> {
    Some(match digit.to_ascii_uppercase() {
        '0'..='9' => digit as u8 - b'0',
        '*' => 10,
        '#' => 11,
        'A' => 12,
        'B' => 13,
        'C' => 14,
        'D' => 15,
        _ => return None,
    })
}

pub fn event_digit(code: u8) -> Option<char> {
    Some(match code {
        0..=9 => (b'0' + code) as char,
        10 => '*',
        11 => '#',
        12..=15 => (b'A' + code - 12) as char,
        _ => return None,
    })
}

/// One payload: event, end bit, volume, duration in timestamp units.
pub fn payload(code: u8, end: bool, duration: u16) -> [u8; 4] {
    let d = duration.to_be_bytes();
    [code, if end { 0x80 } else { 0 } | 10, d[0], d[1]]
}

/// Sends one key press as a sequence of packets, one per 20 ms tick.
pub struct Sender {
    code: u8,
    /// Ticks sent so far; the press lasts `TOTAL` ticks and ends with three end packets.
    tick: u32,
    ticks_per_frame: u16,
}

const PRESS_TICKS: u32 = 5; // 100 ms
const END_REPEATS: u32 = 3;

impl Sender {
    pub fn new(digit: char, ticks_per_frame: u16) -> Option<Self> {
        Some(Self {
            code: event_code(digit)?,
            tick: 0,
            ticks_per_frame,
        })
    }

    /// The next packet's payload and whether it starts the event (marker bit), or `None`
    /// when the press is fully sent.
    pub fn next_packet(&mut self) -> Option<([u8; 4], bool)> {
        if self.tick >= PRESS_TICKS + END_REPEATS - 1 {
            return None;
        }
        let first = self.tick == 0;
        let end = self.tick >= PRESS_TICKS - 1;
        let ticks = (self.tick.min(PRESS_TICKS - 1) + 1) as u16;
        self.tick += 1;
        Some((payload(self.code, end, ticks * self.ticks_per_frame), first))
    }
}

/// Reports each received key press once, however many packets and repeats carry it.
#[derive(Default)]
pub struct Receiver {
    last_timestamp: Option<u32>,
}

impl Receiver {
    pub fn on_packet(&mut self, timestamp: u32, payload: &[u8]) -> Option<char> {
        if payload.len() < 4 {
            return None;
        }
        // A new event has a new timestamp; its repeats and end packets share it.
        if self.last_timestamp == Some(timestamp) {
            return None;
        }
        self.last_timestamp = Some(timestamp);
        event_digit(payload[0])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_press_is_five_packets_then_three_end_packets_with_one_marker() {
        let mut s = Sender::new('5', 160).unwrap();
        let mut packets = Vec::new();
        while let Some(p) = s.next_packet() {
            packets.push(p);
        }
        assert_eq!(
            packets.len(),
            7,
            "4 running + 3 end (the 5th tick is the first end)"
        );
        assert!(packets[0].1 && packets.iter().skip(1).all(|p| !p.1));
        let ends: Vec<_> = packets.iter().filter(|p| p.0[1] & 0x80 != 0).collect();
        assert_eq!(ends.len(), 3);
        assert!(
            ends.iter()
                .all(|p| u16::from_be_bytes([p.0[2], p.0[3]]) == 800)
        );
        assert_eq!(packets[0].0[0], 5);
    }

    #[test]
    fn the_receiver_reports_each_press_once() {
        let mut r = Receiver::default();
        let mut s = Sender::new('#', 160).unwrap();
        let mut got = Vec::new();
        while let Some((p, _)) = s.next_packet() {
            got.extend(r.on_packet(1000, &p));
        }
        let mut s = Sender::new('#', 160).unwrap();
        while let Some((p, _)) = s.next_packet() {
            got.extend(r.on_packet(2000, &p));
        }
        assert_eq!(got, vec!['#', '#']);
        assert_eq!(event_code('x'), None);
        assert_eq!(event_digit(12), Some('A'));
    }
}
