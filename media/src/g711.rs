//! G.711 µ-law and A-law companding (ITU-T G.711), sample by sample, with no state.

/// Encodes one linear 16-bit sample as µ-law.
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = sample as i32;
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    let exponent = (7 - ((s as u32) << 17).leading_zeros().min(7)) as i32;
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// Decodes one µ-law byte to a linear 16-bit sample.
pub fn ulaw_to_linear(byte: u8) -> i16 {
    let u = !byte;
    let sign = u & 0x80;
    let exponent = ((u >> 4) & 0x07) as i32;
    let mantissa = (u & 0x0F) as i32;
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    (if sign != 0 { -magnitude } else { magnitude }) as i16
}

/// Encodes one linear 16-bit sample as A-law.
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut s = sample as i32 >> 3; // A-law works on 13-bit magnitudes.
    let mask = if s >= 0 {
        0xD5
    } else {
        s = -s - 1;
        0x55
    };
    let s = s.min(0x0FFF);
    let byte = if s < 32 {
        (s >> 1) as u8
    } else {
        let exponent = 31 - (s as u32).leading_zeros() - 4; // 1..=7
        ((exponent << 4) as u8) | ((s >> exponent) & 0x0F) as u8
    };
    byte ^ mask
}

/// Decodes one A-law byte to a linear 16-bit sample.
pub fn alaw_to_linear(byte: u8) -> i16 {
    let a = byte ^ 0x55;
    let exponent = ((a >> 4) & 0x07) as i32;
    let mantissa = (a & 0x0F) as i32;
    let magnitude = if exponent == 0 {
        (mantissa << 4) + 8
    } else {
        ((mantissa << 4) + 0x108) << (exponent - 1)
    };
    (if a & 0x80 != 0 { magnitude } else { -magnitude }) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_round_trip_error_is_within_one_quantisation_step() {
        for s in (-32000i32..32000).step_by(7) {
            let back = ulaw_to_linear(linear_to_ulaw(s as i16)) as i32;
            // µ-law steps grow with magnitude: 1/16 of the segment is a generous bound.
            let bound = (s.abs() / 16).max(8);
            assert!((back - s).abs() <= bound, "{s} -> {back}");
        }
    }

    #[test]
    fn alaw_round_trip_error_is_within_one_quantisation_step() {
        for s in (-32000i32..32000).step_by(7) {
            let back = alaw_to_linear(linear_to_alaw(s as i16)) as i32;
            let bound = (s.abs() / 16).max(16);
            assert!((back - s).abs() <= bound, "{s} -> {back}");
        }
    }

    #[test]
    fn known_code_points_match_the_standard() {
        assert_eq!(linear_to_ulaw(0), 0xFF);
        assert_eq!(linear_to_alaw(0), 0xD5);
        assert_eq!(ulaw_to_linear(0xFF), 0);
    }
}
