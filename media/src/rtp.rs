//! RTP packets (RFC 3550 §5.1): the fixed header, CSRCs and extension skipped on read, and the
//! sequence arithmetic that survives wrap-around.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// Parses a packet; returns the header and the payload, or `None` for anything that is not
/// RTP version 2 or is truncated.
pub fn parse(packet: &[u8]) -> Option<(Header, &[u8])> {
    if packet.len() < 12 || packet[0] >> 6 != 2 {
        return None;
    }
    let padding = packet[0] & 0x20 != 0;
    let extension = packet[0] & 0x10 != 0;
    let csrc_count = (packet[0] & 0x0f) as usize;
    let mut offset = 12 + 4 * csrc_count;
    if extension {
        let ext = packet.get(offset..offset + 4)?;
        let words = u16::from_be_bytes([ext[2], ext[3]]) as usize;
        offset += 4 + 4 * words;
    }
    let mut end = packet.len();
    if padding {
        let pad = *packet.last()? as usize;
        end = end.checked_sub(pad)?;
    }
    if offset > end {
        return None;
    }
    let header = Header {
        marker: packet[1] & 0x80 != 0,
        payload_type: packet[1] & 0x7f,
        sequence: u16::from_be_bytes([packet[2], packet[3]]),
        timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
        ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
    };
    Some((header, &packet[offset..end]))
}

/// Writes header and payload into `out`; returns the packet length.
pub fn write(header: &Header, payload: &[u8], out: &mut [u8]) -> usize {
    let len = 12 + payload.len();
    if out.len() < len {
        return 0;
    }
    out[0] = 0x80;
    out[1] = (header.payload_type & 0x7f) | if header.marker { 0x80 } else { 0 };
    out[2..4].copy_from_slice(&header.sequence.to_be_bytes());
    out[4..8].copy_from_slice(&header.timestamp.to_be_bytes());
    out[8..12].copy_from_slice(&header.ssrc.to_be_bytes());
    out[12..len].copy_from_slice(payload);
    len
}

/// `a - b` in sequence space: positive when `a` is newer, across the 16-bit wrap.
pub fn seq_diff(a: u16, b: u16) -> i32 {
    a.wrapping_sub(b) as i16 as i32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_reads_back_a_packet() {
        let h = Header {
            marker: true,
            payload_type: 111,
            sequence: 65535,
            timestamp: 0xdead_beef,
            ssrc: 42,
        };
        let mut buf = [0u8; 64];
        let n = write(&h, b"opus", &mut buf);
        let (back, payload) = parse(&buf[..n]).unwrap();
        assert_eq!(back, h);
        assert_eq!(payload, b"opus");
    }

    #[test]
    fn skips_csrcs_extensions_and_padding_and_refuses_junk() {
        let mut p = vec![0x80 | 0x20 | 0x10 | 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2];
        p.extend_from_slice(&[0, 0, 0, 3]); // one CSRC
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 1, 2, 3, 4]); // extension of one word
        p.extend_from_slice(b"hi");
        p.extend_from_slice(&[0, 2]); // two bytes of padding
        let (_, payload) = parse(&p).unwrap();
        assert_eq!(payload, b"hi");
        assert!(parse(&[0x40; 20]).is_none(), "version 1");
        assert!(parse(&[0x80; 5]).is_none(), "truncated");
        assert!(
            parse(&[0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]).is_none(),
            "CSRCs past the end"
        );
    }

    #[test]
    fn sequence_differences_wrap() {
        assert_eq!(seq_diff(1, 65535), 2);
        assert_eq!(seq_diff(65535, 1), -2);
        assert_eq!(seq_diff(100, 100), 0);
    }
}
