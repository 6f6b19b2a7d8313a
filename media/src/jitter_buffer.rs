//! An adaptive jitter buffer for one RTP stream. Packets are put in sequence order into a fixed
//! ring of slots allocated once; one frame is taken out per tick. The playout depth follows the
//! measured delay variation (a decaying peak, like WebRTC NetEq's), so latency stays low on a
//! clean network and grows when the network is jittery. Missing frames are reported as lost so
//! the decoder can use FEC from the next packet or conceal; clock drift and bursts are absorbed
//! by dropping a frame when the buffer runs deeper than its target, and by concealing without
//! advancing when it runs dry.

use crate::codec::MAX_PAYLOAD;

/// Slots in the ring: 64 frames of 20 ms is 1.28 s, far beyond any useful depth.
const SLOTS: usize = 64;

struct Slot {
    filled: bool,
    seq: u16,
    len: usize,
    data: Box<[u8; MAX_PAYLOAD]>,
}

/// What the decoder should do for this tick.
#[derive(Debug, PartialEq, Eq)]
pub enum Playout<'a> {
    /// Decode this payload.
    Packet(&'a [u8]),
    /// The frame is lost; `next` is the following payload if it has arrived (for Opus FEC).
    Lost { next: Option<&'a [u8]> },
    /// Nothing to play yet (before the first packet, or while filling up): play silence.
    Silence,
}

/// Counters a call-quality view may show.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JitterStats {
    pub played: u64,
    pub concealed: u64,
    pub late_dropped: u64,
    pub drift_dropped: u64,
    /// Current target depth in frames.
    pub target_frames: u32,
}

pub struct JitterBuffer {
    slots: Vec<Slot>,
    frame_ms: u32,
    clock_rate: u32,
    /// Next sequence number to play; `None` until the first packet.
    next_seq: Option<u16>,
    /// Highest sequence number received.
    highest: u16,
    filling: bool,
    /// Smallest transit (arrival − media time) seen, the reference for "on time".
    min_transit_ms: f64,
    /// Peak of delay beyond the reference, decaying slowly.
    peak_delay_ms: f64,
    over_target_ticks: u32,
    /// Frames concealed in a row because nothing at all had arrived.
    dry: u32,
    /// A packet far from the expected sequence starts a new one only if the next packet
    /// follows it (RFC 3550 A.1's probation): this is the sequence number that would confirm.
    restart_at: Option<u16>,
    /// The last packet's sequence number and timestamp, to tell a jump of the media clock
    /// from network delay.
    last: Option<(u16, u32)>,
    stats: JitterStats,
}

/// Packets this far behind the next one to play are a reordering, not a new sequence.
const MAX_MISORDER: u16 = 100;
/// A media clock this far (in ms) from where the sequence numbers put it has jumped.
const MAX_CLOCK_JUMP_MS: f64 = 1000.0;

impl JitterBuffer {
    pub fn new(frame_ms: u32, clock_rate: u32) -> Self {
        let slots = (0..SLOTS)
            .map(|_| Slot {
                filled: false,
                seq: 0,
                len: 0,
                data: Box::new([0; MAX_PAYLOAD]),
            })
            .collect();
        JitterBuffer {
            slots,
            frame_ms,
            clock_rate,
            next_seq: None,
            highest: 0,
            filling: true,
            min_transit_ms: f64::MAX,
            peak_delay_ms: 0.0,
            over_target_ticks: 0,
            dry: 0,
            restart_at: None,
            last: None,
            stats: JitterStats {
                target_frames: 1,
                ..JitterStats::default()
            },
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Frames the buffer aims to hold: the delay peak plus one frame of margin.
    pub fn target_frames(&self) -> u32 {
        ((self.peak_delay_ms / self.frame_ms as f64).ceil() as u32 + 1).clamp(1, 15)
    }

    /// Frames from the next one to play up to the highest received.
    pub fn depth(&self) -> u32 {
        match self.next_seq {
            Some(n) => {
                let d = self.highest.wrapping_sub(n);
                if d < 0x8000 { d as u32 + 1 } else { 0 }
            }
            None => 0,
        }
    }

    /// Adds a received packet. `arrival_ms` is the local receive time on any monotonic clock.
    pub fn push(&mut self, seq: u16, timestamp: u32, payload: &[u8], arrival_ms: f64) {
        if payload.len() > MAX_PAYLOAD {
            return;
        }
        if let Some(next) = self.next_seq {
            let ahead = seq.wrapping_sub(next);
            let behind = next.wrapping_sub(seq);
            let near = (ahead as usize) < SLOTS || (1..=MAX_MISORDER).contains(&behind);
            if !near {
                // Far from the sequence we play: one stray packet, or a sender that started
                // over (a PBX switching from its music on hold back to the bridged call).
                // Two in a row decide.
                if self.restart_at != Some(seq) {
                    self.restart_at = Some(seq.wrapping_add(1));
                    self.stats.late_dropped += 1;
                    return;
                }
                self.restart(seq.wrapping_sub(1));
            } else if ahead >= 0x8000 {
                self.stats.late_dropped += 1;
                return;
            }
        }
        self.restart_at = None;
        self.measure_delay(seq, timestamp, arrival_ms);
        match self.next_seq {
            None => {
                self.next_seq = Some(seq);
                self.highest = seq;
            }
            Some(_) if seq.wrapping_sub(self.highest) < 0x8000 => self.highest = seq,
            Some(_) => {}
        }
        let slot = &mut self.slots[seq as usize % SLOTS];
        slot.filled = true;
        slot.seq = seq;
        slot.len = payload.len();
        slot.data[..payload.len()].copy_from_slice(payload);
    }

    /// Follows the delay of packets beyond the quickest one seen, which sets the depth.
    fn measure_delay(&mut self, seq: u16, timestamp: u32, arrival_ms: f64) {
        let media_ms = timestamp as f64 * 1000.0 / self.clock_rate as f64;
        let transit = arrival_ms - media_ms;
        if let Some((last_seq, last_ts)) = self.last {
            // Where the sequence numbers say this packet's media time should be.
            let frames = seq.wrapping_sub(last_seq) as i16 as f64;
            let expected =
                last_ts as f64 * 1000.0 / self.clock_rate as f64 + frames * self.frame_ms as f64;
            let jump = media_ms - expected;
            // The media clock wraps at 2^32 samples; a jump of more than a second is a new
            // clock, not a late packet: measure from here.
            let wrap = u32::MAX as f64 * 1000.0 / self.clock_rate as f64;
            if jump.abs() > MAX_CLOCK_JUMP_MS && (jump.abs() - wrap).abs() > MAX_CLOCK_JUMP_MS {
                self.min_transit_ms = transit;
            }
        }
        self.last = Some((seq, timestamp));
        if transit < self.min_transit_ms {
            self.min_transit_ms = transit;
        }
        // The reference creeps up slowly so a clock that drifts does not inflate the estimate.
        self.min_transit_ms += 0.0005 * self.frame_ms as f64;
        let delay = (transit - self.min_transit_ms).max(0.0);
        self.peak_delay_ms = delay.max(self.peak_delay_ms * 0.998);
        self.stats.target_frames = self.target_frames();
    }

    /// Starts over from a new sequence, whose first packet is `before + 1`.
    fn restart(&mut self, before: u16) {
        self.reset();
        self.next_seq = Some(before.wrapping_add(1));
        self.highest = before.wrapping_add(1);
        self.dry = 0;
    }

    fn reset(&mut self) {
        for s in &mut self.slots {
            s.filled = false;
        }
        self.filling = true;
    }

    fn payload(&self, seq: u16) -> Option<&[u8]> {
        let s = &self.slots[seq as usize % SLOTS];
        (s.filled && s.seq == seq).then(|| &s.data[..s.len])
    }

    /// Takes the frame for this tick.
    pub fn pop(&mut self) -> Playout<'_> {
        let Some(mut next) = self.next_seq else {
            return Playout::Silence;
        };
        let target = self.target_frames();
        if self.filling {
            if self.depth() < target {
                return Playout::Silence;
            }
            self.filling = false;
        }
        // Too deep for a while (the sender's clock is faster, or a burst arrived): drop one
        // frame to bring latency back, at most every 5 ticks so it stays inaudible.
        if self.depth() > target + 2 {
            self.over_target_ticks += 1;
            if self.over_target_ticks >= 5 {
                self.over_target_ticks = 0;
                self.slots[next as usize % SLOTS].filled = false;
                next = next.wrapping_add(1);
                self.stats.drift_dropped += 1;
            }
        } else {
            self.over_target_ticks = 0;
        }
        if self.dry > 0 && self.depth_from(next) > 0 {
            // The frames we concealed while nothing arrived already stood in for the sequence
            // numbers missing before the first packet that did arrive (a telephone-event takes
            // sequence numbers; so do gaps in a sender). Concealing them again would add their
            // duration to the latency.
            while self.dry > 0 && self.depth_from(next) > 1 && self.payload(next).is_none() {
                next = next.wrapping_add(1);
                self.dry -= 1;
            }
            self.dry = 0;
        }
        if self.depth_from(next) == 0 {
            // Dry: conceal without advancing, so the stream is delayed by one frame rather
            // than the late packet thrown away. This is how the buffer grows.
            self.next_seq = Some(next);
            self.stats.concealed += 1;
            self.dry += 1;
            return Playout::Lost { next: None };
        }
        self.next_seq = Some(next.wrapping_add(1));
        let idx = next as usize % SLOTS;
        if self.slots[idx].filled && self.slots[idx].seq == next {
            self.slots[idx].filled = false;
            self.stats.played += 1;
            let s = &self.slots[idx];
            Playout::Packet(&s.data[..s.len])
        } else {
            self.stats.concealed += 1;
            Playout::Lost {
                next: self.payload(next.wrapping_add(1)),
            }
        }
    }

    fn depth_from(&self, next: u16) -> u32 {
        let d = self.highest.wrapping_sub(next);
        if d < 0x8000 { d as u32 + 1 } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(seq: u16) -> [u8; 2] {
        seq.to_be_bytes()
    }

    /// Plays `ticks` frames, returning the sequence numbers played (`None` for concealed).
    fn drain(jb: &mut JitterBuffer, ticks: usize) -> Vec<Option<u16>> {
        (0..ticks)
            .filter_map(|_| match jb.pop() {
                Playout::Packet(p) => Some(Some(u16::from_be_bytes([p[0], p[1]]))),
                Playout::Lost { .. } => Some(None),
                Playout::Silence => None,
            })
            .collect()
    }

    #[test]
    fn reordered_packets_play_in_order() {
        let mut jb = JitterBuffer::new(20, 8000);
        let order = [0u16, 2, 1, 3, 5, 4, 6, 7];
        for (i, seq) in order.iter().enumerate() {
            jb.push(*seq, *seq as u32 * 160, &payload(*seq), i as f64 * 20.0);
        }
        let played: Vec<_> = drain(&mut jb, 8).into_iter().flatten().collect();
        assert_eq!(played, (0..played.len() as u16).collect::<Vec<_>>());
        assert!(played.len() >= 6);
    }

    #[test]
    fn a_lost_packet_is_reported_with_the_next_one_for_fec() {
        let mut jb = JitterBuffer::new(20, 8000);
        for seq in [0u16, 1, 3, 4] {
            jb.push(seq, seq as u32 * 160, &payload(seq), seq as f64 * 20.0);
        }
        let mut saw_fec = false;
        for _ in 0..4 {
            if let Playout::Lost { next: Some(p) } = jb.pop() {
                assert_eq!(p, payload(3));
                saw_fec = true;
            }
        }
        assert!(saw_fec);
        assert_eq!(jb.stats().concealed, 1);
    }

    #[test]
    fn a_gap_already_concealed_while_dry_is_not_concealed_twice() {
        // Sequence numbers 5..=12 never carry audio (a DTMF event used them).
        let mut jb = JitterBuffer::new(20, 8000);
        let mut played = Vec::new();
        for seq in 0..5u16 {
            jb.push(seq, seq as u32 * 160, &payload(seq), seq as f64 * 20.0);
            played.extend(drain(&mut jb, 1));
        }
        played.extend(drain(&mut jb, 8));
        for seq in 13..16u16 {
            jb.push(seq, seq as u32 * 160, &payload(seq), seq as f64 * 20.0);
            played.extend(drain(&mut jb, 1));
        }
        let after_gap: Vec<_> = played.iter().rev().take(3).rev().copied().collect();
        assert_eq!(after_gap, vec![Some(13), Some(14), Some(15)], "{played:?}");
    }

    #[test]
    fn a_sender_whose_sequence_restarts_behind_is_followed() {
        // A PBX switching from its own music on hold back to the bridged call sends the other
        // party's sequence numbers: here far behind the ones it used so far.
        let mut jb = JitterBuffer::new(20, 8000);
        let mut played = Vec::new();
        for i in 0..50u16 {
            let seq = 40_000 + i;
            jb.push(seq, i as u32 * 160, &payload(seq), i as f64 * 20.0);
            played.extend(drain(&mut jb, 1));
        }
        for i in 0..50u16 {
            let seq = 30_000 + i;
            let t = 50 + i as u32;
            jb.push(seq, t * 160, &payload(seq), t as f64 * 20.0);
            played.extend(drain(&mut jb, 1));
        }
        let tail: Vec<_> = played.iter().rev().take(40).flatten().copied().collect();
        assert!(
            tail.len() >= 38 && tail.iter().all(|s| (30_000..30_050).contains(s)),
            "the new sequence is not played: {tail:?}"
        );
    }

    #[test]
    fn one_stray_old_packet_is_dropped_without_a_restart() {
        let mut jb = JitterBuffer::new(20, 8000);
        let mut played = Vec::new();
        for i in 0..30u16 {
            let seq = 40_000 + i;
            jb.push(seq, i as u32 * 160, &payload(seq), i as f64 * 20.0);
            if i == 15 {
                jb.push(100, 0, &payload(100), i as f64 * 20.0);
            }
            played.extend(drain(&mut jb, 1));
        }
        assert!(!played.contains(&Some(100)));
        assert_eq!(played.last(), Some(&Some(40_029)), "{played:?}");
    }

    #[test]
    fn a_timestamp_jump_does_not_inflate_the_depth() {
        // The same sender, but its media clock jumps 10 s back (a new source behind a PBX):
        // the packets are no later than before and must not be taken for 10 s of jitter.
        let mut jb = JitterBuffer::new(20, 8000);
        for i in 0..200u32 {
            let ts = if i < 100 { 800_000 + i * 160 } else { i * 160 };
            jb.push(i as u16, ts, &payload(i as u16), i as f64 * 20.0);
            jb.pop();
        }
        assert!(jb.target_frames() <= 2, "target {}", jb.target_frames());
    }

    #[test]
    fn sequence_wrap_is_seamless() {
        let mut jb = JitterBuffer::new(20, 8000);
        let mut played = Vec::new();
        for i in 0..10u16 {
            let seq = 65530u16.wrapping_add(i);
            jb.push(seq, i as u32 * 160, &payload(seq), i as f64 * 20.0);
            played.extend(drain(&mut jb, 1));
        }
        assert!(played.iter().all(Option::is_some), "{played:?}");
        assert_eq!(played.last().unwrap().unwrap(), 65530u16.wrapping_add(9));
    }

    #[test]
    fn depth_grows_with_jitter_and_stays_small_without() {
        let mut calm = JitterBuffer::new(20, 8000);
        let mut rough = JitterBuffer::new(20, 8000);
        for i in 0..200u32 {
            calm.push(i as u16, i * 160, &[0], i as f64 * 20.0);
            // Every fourth packet is 60 ms late.
            let late = if i % 4 == 0 { 60.0 } else { 0.0 };
            rough.push(i as u16, i * 160, &[0], i as f64 * 20.0 + late);
        }
        assert!(
            calm.target_frames() <= 2,
            "calm target {}",
            calm.target_frames()
        );
        assert!(
            rough.target_frames() >= 4,
            "rough target {}",
            rough.target_frames()
        );
    }

    #[test]
    fn a_faster_sender_clock_is_absorbed_without_growing_latency() {
        // The sender's clock runs 1 % fast: 101 packets arrive per 100 of our ticks.
        let mut jb = JitterBuffer::new(20, 8000);
        let mut sent = 0u32;
        for tick in 0..5000u32 {
            while (sent as f64) < tick as f64 * 1.01 {
                jb.push(
                    sent as u16,
                    sent * 160,
                    &payload(sent as u16),
                    tick as f64 * 20.0,
                );
                sent += 1;
            }
            jb.pop();
        }
        assert!(
            jb.depth() <= jb.target_frames() + 3,
            "depth {} target {}",
            jb.depth(),
            jb.target_frames()
        );
        assert!(jb.stats().drift_dropped >= 40);
    }

    #[test]
    fn a_slower_sender_clock_is_concealed_not_dropped() {
        let mut jb = JitterBuffer::new(20, 8000);
        let mut sent = 0u32;
        for tick in 0..5000u32 {
            while (sent as f64) < tick as f64 * 0.99 {
                jb.push(
                    sent as u16,
                    sent * 160,
                    &payload(sent as u16),
                    tick as f64 * 20.0,
                );
                sent += 1;
            }
            jb.pop();
        }
        let s = jb.stats();
        assert_eq!(s.late_dropped, 0);
        assert!(s.played + 3 >= sent as u64, "played {} of {sent}", s.played);
    }
}
