//! Call quality as one number: an estimated MOS from loss, jitter and delay with the ITU-T
//! G.107 E-model, simplified the way softphones commonly do (no echo or loudness terms).

/// Equipment impairment and robustness per codec (G.113 Appendix I values).
#[derive(Clone, Copy, Debug)]
pub struct CodecImpairment {
    pub ie: f64,
    pub bpl: f64,
}

pub const G711: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 25.1 };
pub const G722: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 25.0 };
pub const OPUS: CodecImpairment = CodecImpairment { ie: 0.0, bpl: 35.0 };

/// Estimated MOS (1.0 to 4.5) for one-way delay `delay_ms` (network plus jitter buffer) and
/// random packet loss `loss_pct`.
pub fn mos(delay_ms: f64, loss_pct: f64, codec: CodecImpairment) -> f64 {
    let d = delay_ms.max(0.0);
    // Delay impairment Id (G.107 simplified, Cole and Rosenbluth).
    let id = 0.024 * d + if d > 177.3 { 0.11 * (d - 177.3) } else { 0.0 };
    // Effective equipment impairment with random loss (G.107 §7.4).
    let ppl = loss_pct.clamp(0.0, 100.0);
    let ie_eff = codec.ie + (95.0 - codec.ie) * ppl / (ppl + codec.bpl);
    let r = 93.2 - id - ie_eff;
    if r <= 0.0 {
        1.0
    } else if r >= 100.0 {
        4.5
    } else {
        (1.0 + 0.035 * r + r * (r - 60.0) * (100.0 - r) * 7e-6).clamp(1.0, 4.5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_call_is_excellent_and_loss_and_delay_lower_it() {
        let clean = mos(20.0, 0.0, G711);
        assert!(clean > 4.3, "{clean}");
        let lossy = mos(20.0, 5.0, G711);
        assert!(lossy < clean && lossy > 3.0, "{lossy}");
        assert!(mos(20.0, 5.0, OPUS) > lossy, "Opus conceals loss better");
        assert!(mos(400.0, 0.0, G711) < 3.6);
        assert!(mos(20.0, 100.0, G711) < 1.5, "all lost is unusable");
    }
}
