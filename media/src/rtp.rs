//! RTP and RTCP packets (RFC 3550) and the receive statistics they carry: loss (A.3),
//! interarrival jitter (A.8), round-trip time from SR/RR (section 6.4.1), and an estimated
//! MOS from the ITU-T G.107 E-model. Parsing never panics on malformed input.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The fixed RTP header fields we use. CSRCs and extensions are skipped on receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// Writes a 12-byte RTP header followed by `payload` into `out`; returns the packet length.
pub fn write_rtp(h: &RtpHeader, payload: &[u8], out: &mut [u8]) -> usize {
    out[0] = 0x80;
    out[1] = (h.payload_type & 0x7F) | if h.marker { 0x80 } else { 0 };
    out[2..4].copy_from_slice(&h.sequence.to_be_bytes());
    out[4..8].copy_from_slice(&h.timestamp.to_be_bytes());
    out[8..12].copy_from_slice(&h.ssrc.to_be_bytes());
    out[12..12 + payload.len()].copy_from_slice(payload);
    12 + payload.len()
}

/// Parses an RTP packet, returning the header and the payload (padding removed).
pub fn parse_rtp(buf: &[u8]) -> Option<(RtpHeader, &[u8])> {
    if buf.len() < 12 || buf[0] >> 6 != 2 {
        return None;
    }
    let csrc = (buf[0] & 0x0F) as usize;
    let mut start = 12 + 4 * csrc;
    if buf[0] & 0x10 != 0 {
        let ext = buf.get(start + 2..start + 4)?;
        start += 4 + 4 * u16::from_be_bytes([ext[0], ext[1]]) as usize;
    }
    let mut end = buf.len();
    if buf[0] & 0x20 != 0 {
        end = end.checked_sub(*buf.last()? as usize)?;
    }
    if start > end {
        return None;
    }
    let h = RtpHeader {
        marker: buf[1] & 0x80 != 0,
        payload_type: buf[1] & 0x7F,
        sequence: u16::from_be_bytes([buf[2], buf[3]]),
        timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
    };
    Some((h, &buf[start..end]))
}

/// With rtcp-mux (RFC 5761 section 4) RTCP is told apart by its packet type 192..=223.
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 8 && (192..=223).contains(&buf[1])
}

/// The middle 32 bits of an NTP timestamp, as used by LSR/DLSR.
pub fn ntp_middle(t: SystemTime) -> u32 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs() + 2_208_988_800; // 1900 to 1970
    let frac = ((d.subsec_nanos() as u64) << 32) / 1_000_000_000;
    ((secs << 16) as u32) | (frac >> 16) as u32
}

/// A report block (RFC 3550 section 6.4.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportBlock {
    pub ssrc: u32,
    pub fraction_lost: u8,
    pub cumulative_lost: i32,
    pub highest_seq: u32,
    pub jitter: u32,
    pub lsr: u32,
    pub dlsr: u32,
}

/// Writes an SR (when `sender` is given: NTP middle, RTP timestamp, packets, octets) or an RR,
/// with at most one report block. Returns the length.
pub fn write_rtcp(
    ssrc: u32,
    sender: Option<(SystemTime, u32, u32, u32)>,
    block: Option<&ReportBlock>,
    out: &mut [u8],
) -> usize {
    let rc = block.is_some() as u8;
    let mut n = 8;
    out[0] = 0x80 | rc;
    out[4..8].copy_from_slice(&ssrc.to_be_bytes());
    if let Some((now, rtp_ts, packets, octets)) = sender {
        out[1] = 200;
        let d = now.duration_since(UNIX_EPOCH).unwrap_or_default();
        let secs = (d.as_secs() + 2_208_988_800) as u32;
        let frac = (((d.subsec_nanos() as u64) << 32) / 1_000_000_000) as u32;
        for v in [secs, frac, rtp_ts, packets, octets] {
            out[n..n + 4].copy_from_slice(&v.to_be_bytes());
            n += 4;
        }
    } else {
        out[1] = 201;
    }
    if let Some(b) = block {
        let lost = (b.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0xFF_FFFF;
        for v in [
            b.ssrc,
            (b.fraction_lost as u32) << 24 | lost,
            b.highest_seq,
            b.jitter,
            b.lsr,
            b.dlsr,
        ] {
            out[n..n + 4].copy_from_slice(&v.to_be_bytes());
            n += 4;
        }
    }
    let words = (n / 4 - 1) as u16;
    out[2..4].copy_from_slice(&words.to_be_bytes());
    n
}

/// What we learn from one incoming RTCP compound packet.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RtcpInfo {
    /// NTP middle 32 bits of the peer's last SR, to echo back as LSR.
    pub sr_ntp_middle: Option<u32>,
    /// The peer's report about our stream.
    pub block: Option<ReportBlock>,
}

/// Parses SR and RR packets from a compound RTCP packet; other types are skipped.
pub fn parse_rtcp(mut buf: &[u8]) -> RtcpInfo {
    let mut info = RtcpInfo::default();
    while buf.len() >= 8 {
        let len = (u16::from_be_bytes([buf[2], buf[3]]) as usize + 1) * 4;
        let Some(pkt) = buf.get(..len) else { break };
        let rc = (pkt[0] & 0x1F) as usize;
        let word = |i: usize| {
            pkt.get(i..i + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        let blocks_at = match pkt[1] {
            200 => {
                if let (Some(s), Some(f)) = (word(8), word(12)) {
                    info.sr_ntp_middle = Some((s << 16) | (f >> 16));
                }
                Some(28)
            }
            201 => Some(8),
            _ => None,
        };
        if let (Some(at), true) = (blocks_at, rc > 0)
            && let (Some(ssrc), Some(l), Some(h), Some(j), Some(lsr), Some(dlsr)) = (
                word(at),
                word(at + 4),
                word(at + 8),
                word(at + 12),
                word(at + 16),
                word(at + 20),
            )
        {
            // Cumulative loss is a signed 24-bit field.
            let cum = ((l & 0xFF_FFFF) << 8) as i32 >> 8;
            info.block = Some(ReportBlock {
                ssrc,
                fraction_lost: (l >> 24) as u8,
                cumulative_lost: cum,
                highest_seq: h,
                jitter: j,
                lsr,
                dlsr,
            });
        }
        buf = &buf[len..];
    }
    info
}

/// Receive-side statistics of one source (RFC 3550 appendix A.1, A.3, A.8).
#[derive(Debug, Default, Clone)]
pub struct ReceiveStats {
    started: bool,
    base_seq: u32,
    max_seq: u16,
    cycles: u32,
    received: u32,
    expected_prior: u32,
    received_prior: u32,
    /// Interarrival jitter in timestamp units, times 16 as in A.8.
    jitter_q4: u32,
    last_transit: i64,
}

impl ReceiveStats {
    /// Records one packet: its sequence number, RTP timestamp and arrival in timestamp units.
    pub fn on_packet(&mut self, seq: u16, timestamp: u32, arrival: u32) {
        if !self.started {
            self.started = true;
            self.base_seq = seq as u32;
            self.max_seq = seq;
        } else {
            let delta = seq.wrapping_sub(self.max_seq);
            if delta != 0 && delta < 0x8000 {
                if seq < self.max_seq {
                    self.cycles += 1 << 16;
                }
                self.max_seq = seq;
            }
        }
        self.received += 1;
        let transit = arrival.wrapping_sub(timestamp) as i32 as i64;
        if self.received > 1 {
            let d = (transit - self.last_transit).unsigned_abs() as u32;
            // J += (|D| - J) / 16, kept scaled by 16 to stay in integers.
            self.jitter_q4 = self
                .jitter_q4
                .wrapping_add(d)
                .wrapping_sub((self.jitter_q4 + 8) >> 4);
        }
        self.last_transit = transit;
    }

    pub fn extended_max(&self) -> u32 {
        self.cycles + self.max_seq as u32
    }
    pub fn jitter(&self) -> u32 {
        self.jitter_q4 >> 4
    }
    pub fn cumulative_lost(&self) -> i32 {
        let expected = self
            .extended_max()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1);
        expected as i32 - self.received as i32
    }

    /// Builds a report block and starts a new interval for `fraction_lost`.
    pub fn report(&mut self, ssrc: u32, lsr: u32, dlsr: u32) -> ReportBlock {
        let expected = self
            .extended_max()
            .wrapping_sub(self.base_seq)
            .wrapping_add(1);
        let expected_interval = expected.wrapping_sub(self.expected_prior);
        let received_interval = self.received.wrapping_sub(self.received_prior);
        self.expected_prior = expected;
        self.received_prior = self.received;
        let lost_interval = expected_interval as i64 - received_interval as i64;
        let fraction_lost = if expected_interval == 0 || lost_interval <= 0 {
            0
        } else {
            ((lost_interval << 8) / expected_interval as i64).min(255) as u8
        };
        ReportBlock {
            ssrc,
            fraction_lost,
            cumulative_lost: self.cumulative_lost(),
            highest_seq: self.extended_max(),
            jitter: self.jitter(),
            lsr,
            dlsr,
        }
    }
}

/// Round-trip time from a report block about our stream (RFC 3550 section 6.4.1):
/// arrival − LSR − DLSR, all in 1/65536 s.
pub fn round_trip(block: &ReportBlock, arrival_ntp_middle: u32) -> Option<Duration> {
    if block.lsr == 0 {
        return None;
    }
    let rtt = arrival_ntp_middle
        .wrapping_sub(block.lsr)
        .wrapping_sub(block.dlsr);
    if rtt > 0x8000_0000 {
        return None;
    }
    Some(Duration::from_micros(rtt as u64 * 1_000_000 / 65_536))
}

/// Estimated MOS from the ITU-T G.107 E-model with default values, so R starts at 93.2.
/// `ie` and `bpl` are the codec's equipment impairment and loss robustness (G.113 Appendix I),
/// `one_way_ms` the mouth-to-ear delay and `loss_pct` the random packet loss.
pub fn mos_estimate(one_way_ms: f32, loss_pct: f32, ie: f32, bpl: f32) -> f32 {
    let d = one_way_ms.max(0.0);
    // Delay impairment Id, the common simplification of G.107 (Cole & Rosenbluth).
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    let ppl = loss_pct.clamp(0.0, 100.0);
    let ie_eff = ie + (95.0 - ie) * ppl / (ppl + bpl);
    let r = (93.2 - id - ie_eff).clamp(0.0, 100.0);
    if r <= 0.0 {
        1.0
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).clamp(1.0, 4.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rtp_header_round_trips() {
        let h = RtpHeader {
            marker: true,
            payload_type: 111,
            sequence: 65535,
            timestamp: 0xDEAD_BEEF,
            ssrc: 42,
        };
        let mut buf = [0u8; 64];
        let n = write_rtp(&h, b"abc", &mut buf);
        let (back, payload) = parse_rtp(&buf[..n]).unwrap();
        assert_eq!(back, h);
        assert_eq!(payload, b"abc");
        assert!(!is_rtcp(&buf[..n]));
    }

    #[test]
    fn malformed_packets_are_rejected_not_panicked_on() {
        assert!(parse_rtp(&[0x80; 5]).is_none());
        assert!(parse_rtp(&[0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200]).is_none());
        assert!(parse_rtp(&[0x9F, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_none());
        assert_eq!(parse_rtcp(&[0x81, 200, 0, 40, 1, 2]), RtcpInfo::default());
    }

    #[test]
    fn loss_and_wrap_are_counted_per_rfc3550() {
        let mut s = ReceiveStats::default();
        // 65530..=65535, 0..=9 with 3 packets missing, across the wrap.
        for seq in (65530u32..65546).map(|v| (v & 0xFFFF) as u16) {
            if [65533, 2, 3].contains(&seq) {
                continue;
            }
            s.on_packet(seq, 0, 0);
        }
        assert_eq!(s.extended_max(), 65536 + 9);
        assert_eq!(s.cumulative_lost(), 3);
        let b = s.report(1, 0, 0);
        assert_eq!(b.fraction_lost, (3 * 256 / 16) as u8);
    }

    #[test]
    fn jitter_converges_to_the_mean_deviation() {
        let mut s = ReceiveStats::default();
        // Packets every 160 ts units that arrive alternately 0 and 80 units late: |D| = 80.
        for i in 0..2000u32 {
            s.on_packet(i as u16, i * 160, i * 160 + if i % 2 == 0 { 0 } else { 80 });
        }
        assert!((s.jitter() as i32 - 80).abs() <= 2, "jitter {}", s.jitter());
    }

    #[test]
    fn sr_and_rr_round_trip_and_give_rtt() {
        let mut buf = [0u8; 128];
        let block = ReportBlock {
            ssrc: 7,
            fraction_lost: 12,
            cumulative_lost: -3,
            highest_seq: 99,
            jitter: 5,
            lsr: 0x1234_0000,
            dlsr: 0x0001_0000,
        };
        let n = write_rtcp(
            9,
            Some((SystemTime::now(), 1, 2, 3)),
            Some(&block),
            &mut buf,
        );
        assert!(is_rtcp(&buf[..n]));
        let info = parse_rtcp(&buf[..n]);
        assert_eq!(info.block, Some(block));
        assert!(info.sr_ntp_middle.is_some());
        // Arrival 1.5 s after LSR, 1 s of which the peer held it: 0.5 s RTT.
        let rtt = round_trip(&block, 0x1234_0000 + 0x0001_8000).unwrap();
        assert_eq!(rtt.as_millis(), 500);
    }

    #[test]
    fn mos_falls_with_loss_and_delay() {
        let perfect = mos_estimate(20.0, 0.0, 0.0, 4.3);
        assert!(perfect > 4.3, "G.711 with no loss scores {perfect}");
        let lossy = mos_estimate(20.0, 10.0, 0.0, 4.3);
        assert!(lossy < 3.0, "10 % loss scores {lossy}");
        assert!(mos_estimate(400.0, 0.0, 0.0, 4.3) < perfect - 0.5);
    }
}
