//! Tone generation and detection: sines for ringback, busy and DTMF feedback, and a Goertzel
//! filter that tells how strong one frequency is in a block of samples.

use std::f32::consts::TAU;

/// A sine oscillator that keeps its phase across frames.
pub struct Sine {
    phase: f32,
    step: f32,
    amplitude: f32,
}

impl Sine {
    pub fn new(freq: f32, rate: u32, amplitude: f32) -> Self {
        Self {
            phase: 0.0,
            step: TAU * freq / rate as f32,
            amplitude,
        }
    }

    pub fn fill(&mut self, out: &mut [i16]) {
        for s in out {
            *s = (self.phase.sin() * self.amplitude) as i16;
            self.phase = (self.phase + self.step) % TAU;
        }
    }

    /// Adds this tone to what is already in `out`, saturating.
    pub fn add(&mut self, out: &mut [i16]) {
        for s in out {
            let v = (self.phase.sin() * self.amplitude) as i32 + *s as i32;
            *s = v.clamp(i16::MIN as i32, i16::MAX as i32) as i16;
            self.phase = (self.phase + self.step) % TAU;
        }
    }
}

/// The amplitude of `freq` in `samples`, as a fraction of full scale (0.0 to about 1.0).
pub fn goertzel_level(samples: &[i16], freq: f32, rate: u32) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let n = samples.len() as f32;
    let k = (0.5 + n * freq / rate as f32).floor();
    let w = TAU * k / n;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s0 = x as f32 / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / n
}

/// The call-progress tones a caller hears (North American plan).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// 440+480 Hz, 2 s on, 4 s off.
    Ringback,
    /// 480+620 Hz, 0.5 s on, 0.5 s off.
    Busy,
    /// 440 Hz, 0.3 s, every 10 s: a second call is waiting.
    CallWaiting,
    /// The DTMF pair for a key, 0.1 s.
    Dtmf(char),
}

/// The two frequencies of a DTMF key (ITU-T Q.23).
pub fn dtmf_pair(digit: char) -> Option<(f32, f32)> {
    let (row, col) = match digit.to_ascii_uppercase() {
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
    Some((
        [697.0, 770.0, 852.0, 941.0][row],
        [1209.0, 1336.0, 1477.0, 1633.0][col],
    ))
}

/// Plays a [`Tone`] frame by frame at 48 kHz.
pub struct TonePlayer {
    tone: Tone,
    a: Sine,
    b: Sine,
    elapsed_ms: u32,
}

impl TonePlayer {
    pub fn new(tone: Tone) -> Self {
        let (fa, fb) = match tone {
            Tone::Ringback => (440.0, 480.0),
            Tone::Busy => (480.0, 620.0),
            Tone::CallWaiting => (440.0, 0.0),
            Tone::Dtmf(d) => dtmf_pair(d).unwrap_or((0.0, 0.0)),
        };
        Self {
            tone,
            a: Sine::new(fa, 48000, 4000.0),
            b: Sine::new(fb, 48000, 4000.0),
            elapsed_ms: 0,
        }
    }

    /// Adds the next 20 ms into `out` (48 kHz); returns false once a one-shot tone is over.
    pub fn next_frame(&mut self, out: &mut [i16]) -> bool {
        let t = self.elapsed_ms;
        self.elapsed_ms += 20;
        let (on, alive) = match self.tone {
            Tone::Ringback => (t % 6000 < 2000, true),
            Tone::Busy => (t % 1000 < 500, true),
            Tone::CallWaiting => (t % 10000 < 300, true),
            Tone::Dtmf(_) => (t < 100, t < 100),
        };
        if on {
            self.a.add(out);
            self.b.add(out);
        }
        alive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goertzel_finds_the_tone_that_is_there_and_not_others() {
        let mut s = Sine::new(1000.0, 8000, 16384.0);
        let mut buf = vec![0i16; 800];
        s.fill(&mut buf);
        let on = goertzel_level(&buf, 1000.0, 8000);
        let off = goertzel_level(&buf, 1400.0, 8000);
        assert!((on - 0.5).abs() < 0.05, "half scale: {on}");
        assert!(off < 0.02, "{off}");
    }

    #[test]
    fn dtmf_keys_have_their_pairs() {
        assert_eq!(dtmf_pair('5'), Some((770.0, 1336.0)));
        assert_eq!(dtmf_pair('#'), Some((941.0, 1477.0)));
        assert_eq!(dtmf_pair('x'), None);
        let mut p = TonePlayer::new(Tone::Dtmf('1'));
        let mut frame = vec![0i16; 960];
        assert!(p.next_frame(&mut frame));
        assert!(goertzel_level(&frame, 697.0, 48000) > 0.05);
        assert!(goertzel_level(&frame, 1209.0, 48000) > 0.05);
        for _ in 0..5 {
            frame.fill(0);
            p.next_frame(&mut frame);
        }
        assert!(!p.next_frame(&mut frame), "a key press is 100 ms");
    }

    #[test]
    fn ringback_is_two_seconds_on_four_off() {
        let mut p = TonePlayer::new(Tone::Ringback);
        let mut on = 0;
        for _ in 0..300 {
            let mut f = vec![0i16; 960];
            p.next_frame(&mut f);
            if f.iter().any(|s| *s != 0) {
                on += 1;
            }
        }
        assert_eq!(on, 100, "100 of 300 frames (2 s of each 6 s)");
    }
}
