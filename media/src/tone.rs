//! Call-progress tones, DTMF feedback and test sines, generated sample by sample at 48 kHz with
//! no allocation; and a Goertzel detector used by tests and by the level checks.

/// A tone the local user hears (North American cadences, ITU-T E.180 style).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tone {
    /// 440+480 Hz, 2 s on, 4 s off.
    Ringback,
    /// 480+620 Hz, 0.5 s on, 0.5 s off.
    Busy,
    /// 440 Hz, 300 ms once every 10 s.
    CallWaiting,
    /// The DTMF pair of a key, 150 ms once, as feedback for a pressed key.
    Dtmf(char),
    /// A continuous sine at this frequency.
    Sine(f32),
    /// The settings page's test tone: 1 kHz for one second, counted in samples, so a device
    /// that is slow to start still plays all of it.
    Test,
}

/// The two DTMF frequencies of a key (ITU-T Q.23), or `None` if it is not a DTMF key.
pub fn dtmf_frequencies(key: char) -> Option<(f32, f32)> {
    const ROWS: [f32; 4] = [697.0, 770.0, 852.0, 941.0];
    const COLS: [f32; 4] = [1209.0, 1336.0, 1477.0, 1633.0];
    let (r, c) = match key.to_ascii_uppercase() {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        'A' => (0, 3),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        'B' => (1, 3),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        'C' => (2, 3),
        '*' => (3, 0),
        '0' => (3, 1),
        '#' => (3, 2),
        'D' => (3, 3),
        _ => return None,
    };
    Some((ROWS[r], COLS[c]))
}

/// Generates a [`Tone`] at a fixed sample rate.
pub struct ToneGenerator {
    tone: Tone,
    rate: f32,
    /// Samples since the tone started; the cadence is derived from it.
    n: u64,
    phase: [f32; 2],
    amplitude: f32,
}

impl ToneGenerator {
    pub fn new(tone: Tone, rate: u32) -> Self {
        ToneGenerator {
            tone,
            rate: rate as f32,
            n: 0,
            phase: [0.0; 2],
            amplitude: 0.25,
        }
    }

    pub fn with_amplitude(mut self, amplitude: f32) -> Self {
        self.amplitude = amplitude;
        self
    }

    /// True once a one-shot tone (DTMF feedback, the test tone) has played out.
    pub fn finished(&self) -> bool {
        let length_s = match self.tone {
            Tone::Dtmf(_) => 0.15,
            Tone::Test => 1.0,
            _ => return false,
        };
        self.n as f32 > length_s * self.rate
    }

    /// Adds the tone to `out` (mixing, so a tone can play over call audio).
    pub fn add_to(&mut self, out: &mut [f32]) {
        let (f1, f2, on_s, period_s) = match self.tone {
            Tone::Ringback => (440.0, 480.0, 2.0, 6.0),
            Tone::Busy => (480.0, 620.0, 0.5, 1.0),
            Tone::CallWaiting => (440.0, 0.0, 0.3, 10.0),
            Tone::Dtmf(k) => {
                let (a, b) = dtmf_frequencies(k).unwrap_or((0.0, 0.0));
                (a, b, 0.15, f32::MAX)
            }
            Tone::Sine(f) => (f, 0.0, f32::MAX, f32::MAX),
            Tone::Test => (1000.0, 0.0, 1.0, f32::MAX),
        };
        let amp = if f2 > 0.0 {
            self.amplitude / 2.0
        } else {
            self.amplitude
        };
        let tau = 2.0 * std::f32::consts::PI;
        for s in out.iter_mut() {
            let t = (self.n as f64 / self.rate as f64) % period_s as f64;
            if (t as f32) < on_s {
                *s +=
                    amp * (self.phase[0].sin() + if f2 > 0.0 { self.phase[1].sin() } else { 0.0 });
            }
            // Phase accumulators, wrapped, so long tones do not lose precision.
            self.phase[0] = (self.phase[0] + tau * f1 / self.rate) % tau;
            self.phase[1] = (self.phase[1] + tau * f2 / self.rate) % tau;
            self.n += 1;
        }
    }
}

/// Power of `freq` in `samples` (Goertzel), normalised by length so different lengths compare.
pub fn goertzel_power(samples: &[f32], rate: u32, freq: f32) -> f32 {
    let w = 2.0 * std::f32::consts::PI * freq / rate as f32;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for x in samples {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (samples.len() as f32).powi(2)
}

/// RMS level of a frame in dBFS, floored at -100.
pub fn level_dbfs(samples: &[f32]) -> f32 {
    let ms = samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32;
    (10.0 * ms.max(1e-10).log10()).max(-100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dtmf_feedback_holds_both_frequencies_of_the_key() {
        let mut g = ToneGenerator::new(Tone::Dtmf('5'), 48_000);
        let mut buf = vec![0.0; 4800];
        g.add_to(&mut buf);
        for f in [770.0, 1336.0] {
            assert!(goertzel_power(&buf, 48_000, f) > 100.0 * goertzel_power(&buf, 48_000, 1000.0));
        }
        let mut rest = vec![0.0; 4800];
        g.add_to(&mut rest);
        assert!(g.finished());
        assert!(rest[2400..].iter().all(|s| *s == 0.0), "stops after 150 ms");
    }

    #[test]
    fn busy_tone_follows_its_cadence() {
        let mut g = ToneGenerator::new(Tone::Busy, 8000);
        let mut buf = vec![0.0; 8000];
        g.add_to(&mut buf);
        assert!(level_dbfs(&buf[..4000]) > -20.0);
        assert!(level_dbfs(&buf[4000..]) < -90.0);
    }

    #[test]
    fn the_test_tone_is_one_second_of_1_khz_however_it_is_read() {
        let mut g = ToneGenerator::new(Tone::Test, 48_000);
        // Read in device-sized pieces, as a slow-starting speaker would.
        let mut heard = Vec::new();
        for _ in 0..25 {
            let mut piece = vec![0.0; 2400];
            g.add_to(&mut piece);
            heard.extend(piece);
        }
        assert!(g.finished());
        assert!(level_dbfs(&heard[..48_000]) > -20.0);
        assert!(goertzel_power(&heard[..48_000], 48_000, 1000.0) > 0.01);
        assert!(
            level_dbfs(&heard[48_000..]) < -90.0,
            "silent after one second"
        );
    }
}
