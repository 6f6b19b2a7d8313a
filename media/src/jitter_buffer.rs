//! An adaptive jitter buffer: packets are kept in sequence order in a fixed ring, and played
//! out one 20 ms frame per tick once the buffer holds its target depth. The target follows the
//! measured jitter (RFC 3550 §6.4.1) between 40 and 200 ms, so it stays low on a clean network
//! and grows when packets bunch up. Lost packets come out as gaps for the decoder to conceal;
//! late and duplicate packets are dropped; clock drift is absorbed by dropping a frame when the
//! buffer runs persistently deep.

use crate::rtp::seq_diff;

const SLOTS: usize = 64;
const MAX_PAYLOAD: usize = 1500;
const MIN_TARGET: usize = 2;
const MAX_TARGET: usize = 10;

/// What to play this tick.
#[derive(Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// The packet's payload, in order.
    Packet(&'a [u8]),
    /// The packet is missing; `next` is the following one if it already arrived (Opus FEC).
    Lost { next: Option<&'a [u8]> },
    /// Nothing buffered yet (start of the call, or after a long gap).
    Empty,
}

struct Slot {
    sequence: u16,
    len: usize,
    data: [u8; MAX_PAYLOAD],
    full: bool,
}

pub struct JitterBuffer {
    slots: Box<[Slot]>,
    /// The sequence number to play next; `None` until the first packet.
    next: Option<u16>,
    buffering: bool,
    /// Interarrival jitter in RTP ticks, RFC 3550 estimator.
    jitter: f64,
    last_transit: Option<i64>,
    ticks_per_frame: u32,
    clock_rate: u32,
    deep_ticks: u32,
    pub received: u64,
    pub lost: u64,
    pub late: u64,
}

impl JitterBuffer {
    pub fn new(ticks_per_frame: u32, clock_rate: u32) -> Self {
        let slots = (0..SLOTS)
            .map(|_| Slot {
                sequence: 0,
                len: 0,
                data: [0; MAX_PAYLOAD],
                full: false,
            })
            .collect::<Vec<_>>()
            .into_boxed_slice();
        Self {
            slots,
            next: None,
            buffering: true,
            jitter: 0.0,
            last_transit: None,
            ticks_per_frame,
            clock_rate,
            deep_ticks: 0,
            received: 0,
            lost: 0,
            late: 0,
        }
    }

    /// Interarrival jitter in milliseconds.
    pub fn jitter_ms(&self) -> f64 {
        self.jitter * 1000.0 / self.clock_rate as f64
    }

    /// Frames the buffer waits for before playing, from the measured jitter.
    pub fn target_depth(&self) -> usize {
        let frame_ms = self.ticks_per_frame as f64 * 1000.0 / self.clock_rate as f64;
        let frames = (3.0 * self.jitter_ms() / frame_ms).ceil() as usize + 1;
        frames.clamp(MIN_TARGET, MAX_TARGET)
    }

    fn depth(&self) -> usize {
        self.slots.iter().filter(|s| s.full).count()
    }

    /// Adds a packet. `arrival_ticks` is the local arrival time in RTP clock units.
    pub fn push(&mut self, sequence: u16, timestamp: u32, arrival_ticks: i64, payload: &[u8]) {
        if payload.len() > MAX_PAYLOAD {
            return;
        }
        let transit = arrival_ticks - timestamp as i64;
        if let Some(last) = self.last_transit {
            let d = (transit - last).abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
        match self.next {
            Some(next) if seq_diff(sequence, next) < 0 => {
                self.late += 1;
                return;
            }
            Some(next) if seq_diff(sequence, next) >= SLOTS as i32 => {
                // A jump far ahead (the sender restarted): start over from here.
                self.reset();
                self.next = Some(sequence);
            }
            None => self.next = Some(sequence),
            _ => {}
        }
        let slot = &mut self.slots[sequence as usize % SLOTS];
        if slot.full && slot.sequence == sequence {
            return; // duplicate
        }
        slot.sequence = sequence;
        slot.len = payload.len();
        slot.data[..payload.len()].copy_from_slice(payload);
        slot.full = true;
        self.received += 1;
    }

    fn reset(&mut self) {
        for s in self.slots.iter_mut() {
            s.full = false;
        }
        self.buffering = true;
    }

    /// The frame to play for this 20 ms tick.
    pub fn pop(&mut self) -> Playout<'_> {
        let Some(next) = self.next else {
            return Playout::Empty;
        };
        let depth = self.depth();
        if self.buffering {
            if depth < self.target_depth() {
                return Playout::Empty;
            }
            self.buffering = false;
        }
        if depth == 0 {
            // Ran dry: wait for the buffer to fill again rather than conceal forever.
            self.buffering = true;
            return Playout::Empty;
        }
        // Drift: the sender's clock runs fast, so the buffer creeps deeper. Drop one frame
        // once it has stayed well over target for a second.
        if depth > self.target_depth() + 3 {
            self.deep_ticks += 1;
            if self.deep_ticks >= 50 {
                self.deep_ticks = 0;
                let idx = next as usize % SLOTS;
                self.slots[idx].full = false;
                self.next = Some(next.wrapping_add(1));
                return self.pop();
            }
        } else {
            self.deep_ticks = 0;
        }
        let idx = next as usize % SLOTS;
        self.next = Some(next.wrapping_add(1));
        if self.slots[idx].full && self.slots[idx].sequence == next {
            self.slots[idx].full = false;
            let len = self.slots[idx].len;
            return Playout::Packet(&self.slots[idx].data[..len]);
        }
        self.lost += 1;
        let n = next.wrapping_add(1);
        let nidx = n as usize % SLOTS;
        let following = self.slots[nidx].full && self.slots[nidx].sequence == n;
        Playout::Lost {
            next: following.then(|| &self.slots[nidx].data[..self.slots[nidx].len]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(seq: u16) -> [u8; 2] {
        seq.to_be_bytes()
    }

    fn played(p: Playout<'_>) -> Option<u16> {
        match p {
            Playout::Packet(d) => Some(u16::from_be_bytes([d[0], d[1]])),
            _ => None,
        }
    }

    #[test]
    fn reorders_packets_and_waits_for_its_target_depth() {
        let mut jb = JitterBuffer::new(160, 8000);
        for seq in [10u16, 12, 11, 13] {
            jb.push(seq, seq as u32 * 160, seq as i64 * 160, &payload(seq));
        }
        let out: Vec<_> = (0..4).map(|_| played(jb.pop())).collect();
        assert_eq!(out, vec![Some(10), Some(11), Some(12), Some(13)]);
    }

    #[test]
    fn a_missing_packet_is_reported_lost_with_the_next_one_for_fec() {
        let mut jb = JitterBuffer::new(160, 8000);
        for seq in [1u16, 2, 4, 5] {
            jb.push(seq, seq as u32 * 160, seq as i64 * 160, &payload(seq));
        }
        assert_eq!(played(jb.pop()), Some(1));
        assert_eq!(played(jb.pop()), Some(2));
        assert_eq!(
            jb.pop(),
            Playout::Lost {
                next: Some(&payload(4)[..])
            }
        );
        assert_eq!(played(jb.pop()), Some(4));
        assert_eq!(jb.lost, 1);
    }

    #[test]
    fn late_and_duplicate_packets_are_dropped_and_sequence_wraps() {
        let mut jb = JitterBuffer::new(160, 8000);
        for seq in [65534u16, 65535, 0, 1] {
            jb.push(seq, 0, 0, &payload(seq));
        }
        jb.push(65535, 0, 0, &payload(65535));
        assert_eq!(played(jb.pop()), Some(65534));
        assert_eq!(played(jb.pop()), Some(65535));
        jb.push(65534, 0, 0, &payload(65534));
        assert_eq!(jb.late, 1);
        assert_eq!(played(jb.pop()), Some(0));
        assert_eq!(played(jb.pop()), Some(1));
        assert_eq!(jb.received, 4);
    }

    #[test]
    fn jitter_raises_the_target_depth() {
        let mut calm = JitterBuffer::new(160, 8000);
        let mut rough = JitterBuffer::new(160, 8000);
        for seq in 0..200u16 {
            let ts = seq as u32 * 160;
            calm.push(seq, ts, ts as i64, &payload(seq));
            // Arrivals swing by ±40 ms (±320 ticks).
            let swing = if seq % 2 == 0 { 320 } else { -320 };
            rough.push(seq, ts, ts as i64 + swing, &payload(seq));
            calm.pop();
            rough.pop();
        }
        assert_eq!(calm.target_depth(), MIN_TARGET);
        assert!(rough.target_depth() > 4, "{}", rough.target_depth());
        assert!(rough.jitter_ms() > 30.0, "{}", rough.jitter_ms());
    }

    #[test]
    fn a_fast_sender_clock_is_absorbed_by_dropping_frames() {
        let mut jb = JitterBuffer::new(160, 8000);
        let mut seq = 0u16;
        // The sender delivers 51 frames per 50 ticks of ours: 2 % fast.
        for tick in 0..1000u32 {
            let n = if tick % 50 == 0 { 2 } else { 1 };
            for _ in 0..n {
                jb.push(seq, seq as u32 * 160, seq as i64 * 160, &payload(seq));
                seq = seq.wrapping_add(1);
            }
            jb.pop();
        }
        assert!(
            jb.depth() <= jb.target_depth() + 4,
            "depth {} stays bounded",
            jb.depth()
        );
    }
}
