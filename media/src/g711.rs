//! G.711 µ-law and A-law (ITU-T G.711), sample by sample. Pure arithmetic: no tables to load,
//! no allocation.

const BIAS: i32 = 0x84;
const CLIP: i32 = 32635;

pub fn linear_to_ulaw(sample: i16) -> u8 {
    let mut s = sample as i32;
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    // The segment: position of the highest set bit above bit 7, as 0..=7.
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) | mantissa) as u8
}

pub fn ulaw_to_linear(byte: u8) -> i16 {
    let u = !byte as i32;
    let sign = u & 0x80;
    let exponent = (u >> 4) & 0x07;
    let mantissa = u & 0x0f;
    let magnitude = (((mantissa << 3) + BIAS) << exponent) - BIAS;
    (if sign != 0 { -magnitude } else { magnitude }) as i16
}

pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut s = sample as i32;
    let sign = if s >= 0 { 0xD5 } else { 0x55 };
    if s < 0 {
        s = -s - 1;
    }
    s = s.min(32767);
    let out = if s < 256 {
        s >> 4
    } else {
        let mut exponent = 7;
        let mut mask = 0x4000;
        while s & mask == 0 {
            exponent -= 1;
            mask >>= 1;
        }
        (exponent << 4) | ((s >> (exponent + 3)) & 0x0f)
    };
    (out ^ sign) as u8
}

pub fn alaw_to_linear(byte: u8) -> i16 {
    let a = (byte ^ 0x55) as i32;
    let sign = a & 0x80;
    let exponent = (a >> 4) & 0x07;
    let mantissa = a & 0x0f;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    (if sign != 0 { magnitude } else { -magnitude }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_round_trip_stays_within_its_quantisation_step() {
        for s in (-32768i32..=32767).step_by(7) {
            let s = s as i16;
            let back = ulaw_to_linear(linear_to_ulaw(s)) as i32;
            let err = (back - s as i32).abs();
            // µ-law's step doubles with each segment; the error is at most half a step.
            let allowed = ((s as i32).abs() / 16).max(8) + 8;
            assert!(
                err <= allowed,
                "{s} -> {back} (err {err}, allowed {allowed})"
            );
        }
    }

    #[test]
    fn alaw_round_trip_stays_within_its_quantisation_step() {
        for s in (-32768i32..=32767).step_by(7) {
            let s = s as i16;
            let back = alaw_to_linear(linear_to_alaw(s)) as i32;
            let err = (back - s as i32).abs();
            let allowed = ((s as i32).abs() / 16).max(16) + 16;
            assert!(
                err <= allowed,
                "{s} -> {back} (err {err}, allowed {allowed})"
            );
        }
    }

    #[test]
    fn known_code_points() {
        // Silence encodes to the standard idle patterns.
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(ulaw_to_linear(0xFF), 0);
        assert_eq!(ulaw_to_linear(0x00), -32124);
        assert_eq!(alaw_to_linear(0xD5), 8);
    }
}
