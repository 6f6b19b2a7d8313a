//! Speech quality through the real pipeline, scored with PESQ wideband.
//!
//! A sentence from espeak-ng goes 48 kHz → resampler → encoder → RTP packets with random loss
//! and 0–40 ms of random network delay → jitter buffer (ticked every 20 ms, as the media thread
//! does) → decoder with FEC/PLC → resampler → 48 kHz. The result is scored against the original
//! with the `pesq` Python package. Also prints the pipeline's added latency, measured by
//! cross-correlating output with input. Run: `cargo bench -p media --bench quality`.
//! Needs espeak-ng, sox, python3 with `pesq` and `numpy`; skips with a message otherwise.

use std::path::Path;
use std::process::Command;

use media::codec::{Codec, Decoder, Encoder, MAX_PAYLOAD};
use media::jitter_buffer::{JitterBuffer, Playout};
use media::resample::Resampler;

const TEXT: &str = "The quick brown fox jumps over the lazy dog. Please call me back on extension \
                    four one two, after the meeting at half past three. Thank you for holding; \
                    your call is important to us.";

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Reads a 16-bit mono WAV file (as sox writes it).
fn read_wav(path: &Path) -> Vec<f32> {
    let b = std::fs::read(path).expect("read wav");
    let mut i = 12;
    while i + 8 <= b.len() {
        let len = u32::from_le_bytes([b[i + 4], b[i + 5], b[i + 6], b[i + 7]]) as usize;
        if &b[i..i + 4] == b"data" {
            let data = &b[i + 8..(i + 8 + len).min(b.len())];
            return data
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]) as f32 / 32768.0)
                .collect();
        }
        i += 8 + len + (len & 1);
    }
    panic!("{} has no data chunk", path.display());
}

fn write_wav(path: &Path, rate: u32, samples: &[f32]) {
    let mut b = Vec::with_capacity(44 + samples.len() * 2);
    let data_len = (samples.len() * 2) as u32;
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data_len).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&rate.to_le_bytes());
    b.extend_from_slice(&(rate * 2).to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        b.extend_from_slice(&((s.clamp(-1.0, 1.0) * 32767.0) as i16).to_le_bytes());
    }
    std::fs::write(path, b).expect("write wav");
}

/// A small deterministic generator so every run sees the same loss pattern.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Runs the pipeline; returns the 48 kHz output.
fn pipeline(input: &[f32], codec: Codec, loss: f64, jitter_ms: f64, seed: u64) -> Vec<f32> {
    let frame = 960;
    let mut to_codec = Resampler::new(48_000, codec.pcm_rate(), 20).unwrap();
    let mut from_codec = Resampler::new(codec.pcm_rate(), 48_000, 20).unwrap();
    let mut enc = Encoder::new(&codec).unwrap();
    if loss > 0.0 {
        enc.set_expected_loss((loss * 100.0) as u8);
    }
    let mut dec = Decoder::new(&codec).unwrap();
    let n = codec.frame_samples();
    let mut rng = Lcg(seed);
    // Sender: one packet per 20 ms, with its arrival time after loss and jitter.
    let mut packets = Vec::new();
    let mut codec_f = vec![0.0f32; n];
    let mut pcm = vec![0i16; n];
    let mut payload = [0u8; MAX_PAYLOAD];
    let frames = input.len() / frame;
    for k in 0..frames + 10 {
        let src = input
            .get(k * frame..(k + 1) * frame)
            .unwrap_or(&[0.0; 960][..]);
        to_codec.process(src, &mut codec_f).unwrap();
        for (p, f) in pcm.iter_mut().zip(&codec_f) {
            *p = (f * 32767.0) as i16;
        }
        let len = enc.encode(&pcm, &mut payload).unwrap();
        let lost = rng.next() < loss;
        let arrival = k as f64 * 20.0 + 5.0 + rng.next() * jitter_ms;
        if !lost {
            packets.push((arrival, k as u16, payload[..len].to_vec()));
        }
    }
    packets.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Receiver: ticks every 20 ms like the media thread.
    let mut jb = JitterBuffer::new(20, codec.clock_rate);
    let mut out = Vec::with_capacity(input.len() + 20 * frame);
    let mut next = 0;
    let mut frame_out = vec![0.0f32; frame];
    for tick in 0..frames + 10 {
        let now = tick as f64 * 20.0;
        while next < packets.len() && packets[next].0 <= now {
            let (t, seq, p) = &packets[next];
            jb.push(*seq, *seq as u32 * codec.timestamp_step(), p, *t);
            next += 1;
        }
        let got = match jb.pop() {
            Playout::Packet(p) => dec.decode(p, &mut pcm).unwrap(),
            Playout::Lost { next: Some(p) } => match dec.decode_fec(p, &mut pcm) {
                Some(n) => n,
                None => dec.conceal(&mut pcm),
            },
            Playout::Lost { next: None } => dec.conceal(&mut pcm),
            Playout::Silence => {
                pcm.fill(0);
                n
            }
        };
        pcm[got.min(n)..].fill(0);
        for (f, p) in codec_f.iter_mut().zip(&pcm) {
            *f = *p as f32 / 32768.0;
        }
        from_codec.process(&codec_f, &mut frame_out).unwrap();
        out.extend_from_slice(&frame_out);
    }
    out
}

/// The lag (in samples) at which `out` best matches `input`, searched up to 500 ms.
fn lag(input: &[f32], out: &[f32]) -> usize {
    let len = input
        .len()
        .min(out.len())
        .saturating_sub(24_000)
        .min(48_000 * 4);
    (0..24_000)
        .step_by(48)
        .max_by(|&a, &b| {
            let c = |l: usize| -> f64 {
                (0..len)
                    .step_by(4)
                    .map(|i| (input[i] * out[i + l]) as f64)
                    .sum()
            };
            c(a).total_cmp(&c(b))
        })
        .unwrap_or(0)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("speech-raw.wav");
    let ref48 = dir.path().join("ref48.wav");
    let ref16 = dir.path().join("ref16.wav");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/support/pesq_wb.py");
    let prepared = run(Command::new("espeak-ng")
        .args(["-s", "150", "-w"])
        .arg(&raw)
        .arg(TEXT))
    .and_then(|_| {
        run(Command::new("sox")
            .arg(&raw)
            .args(["-r", "48000", "-c", "1", "-b", "16"])
            .arg(&ref48))
    })
    .and_then(|_| {
        run(Command::new("sox")
            .arg(&ref48)
            .args(["-r", "16000"])
            .arg(&ref16))
    })
    .and_then(|_| run(Command::new("python3").args(["-c", "import pesq, numpy"])));
    if let Err(e) = prepared {
        println!(
            "quality bench skipped: {e}\n(needs espeak-ng, sox, and `pip install pesq numpy`)"
        );
        return;
    }
    let input = read_wav(&ref48);
    println!(
        "speech sample: {:.1} s from espeak-ng; network: 5 ms + uniform 0..40 ms delay",
        input.len() as f32 / 48_000.0
    );
    println!("\nPESQ wideband (MOS-LQO), median of 3 seeds; loss columns have the jitter too\n");
    println!("| codec          | clean network | 0 % loss | 5 % loss | 10 % loss |");
    println!("|----------------|---------------|----------|----------|-----------|");
    let codecs = [
        ("Opus 24 kbit/s", Codec::opus(111, 24_000)),
        ("Opus 32 kbit/s", Codec::opus(111, 32_000)),
        ("G.722", Codec::g722()),
        ("G.711 µ-law", Codec::pcmu()),
    ];
    let mut latencies = Vec::new();
    let mut clean = Vec::new();
    for (name, codec) in codecs {
        let mut row = format!("| {name:<14} |");
        // The first column has neither loss nor jitter: the codec alone.
        for (loss, jitter) in [(0.0, 0.0), (0.0, 40.0), (0.05, 40.0), (0.10, 40.0)] {
            let mut scores = Vec::new();
            for seed in 1..=3u64 {
                let out = pipeline(&input, codec, loss, jitter, seed);
                if loss == 0.0 && jitter > 0.0 {
                    latencies.push((name, lag(&input, &out) as f32 / 48.0));
                }
                // Remove the pipeline delay so PESQ compares like with like.
                let l = lag(&input, &out);
                let deg48 = dir.path().join("deg48.wav");
                let deg16 = dir.path().join("deg16.wav");
                write_wav(&deg48, 48_000, &out[l..(l + input.len()).min(out.len())]);
                let score = run(Command::new("sox")
                    .arg(&deg48)
                    .args(["-r", "16000"])
                    .arg(&deg16))
                .and_then(|_| run(Command::new("python3").arg(&script).arg(&ref16).arg(&deg16)));
                match score.map(|s| s.parse::<f32>()) {
                    Ok(Ok(s)) => scores.push(s),
                    other => println!("scoring failed: {other:?}"),
                }
            }
            scores.sort_by(|a, b| a.total_cmp(b));
            if jitter == 0.0
                && let Some(s) = scores.get(scores.len() / 2)
            {
                clean.push((name, *s));
            }
            let cell = scores
                .get(scores.len() / 2)
                .map_or("-".to_string(), |s| format!("{s:.2}"));
            let width = if jitter == 0.0 {
                13
            } else if loss < 0.1 {
                8
            } else {
                9
            };
            row.push_str(&format!(" {cell:>width$} |"));
        }
        println!("{row}");
    }
    println!(
        "\nAdded latency, input to output of the pipeline at 0 % loss (jitter buffer + codec +"
    );
    println!("resamplers; network delay 5–45 ms included, sound-device buffers not):\n");
    println!("| codec          | median latency |");
    println!("|----------------|----------------|");
    for (name, _) in codecs {
        let mut l: Vec<f32> = latencies
            .iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, l)| *l)
            .collect();
        l.sort_by(|a, b| a.total_cmp(b));
        println!("| {name:<14} | {:>11.0} ms |", l[l.len() / 2]);
    }
    reference_rows(dir.path(), &ref48, &ref16, &script, &clean);
}

/// The codec's own limit: the same speech through Debian's `opusenc`/`opusdec` (libopus with
/// its defaults) at the same bitrate, beside the pipeline on a clean network, so that what
/// the pipeline loses is a ratio rather than a guess.
fn reference_rows(dir: &Path, ref48: &Path, ref16: &Path, script: &Path, clean: &[(&str, f32)]) {
    println!("\nOpus alone, PESQ wideband: our pipeline on a clean network beside `opusenc` and");
    println!("`opusdec` from opus-tools on the same speech at the same bitrate\n");
    println!("| codec          | pipeline | opusenc/opusdec | pipeline / reference |");
    println!("|----------------|----------|-----------------|----------------------|");
    for (name, kbits) in [("Opus 24 kbit/s", 24), ("Opus 32 kbit/s", 32)] {
        let Some((_, ours)) = clean.iter().find(|(n, _)| *n == name) else {
            continue;
        };
        let encoded = dir.join("reference.opus");
        let decoded48 = dir.join("reference48.wav");
        let decoded16 = dir.join("reference16.wav");
        let score = run(Command::new("opusenc")
            .args(["--quiet", "--bitrate", &kbits.to_string()])
            .arg(ref48)
            .arg(&encoded))
        .and_then(|_| {
            run(Command::new("opusdec")
                .args(["--quiet", "--rate", "48000"])
                .arg(&encoded)
                .arg(&decoded48))
        })
        .and_then(|_| {
            run(Command::new("sox")
                .arg(&decoded48)
                .args(["-b", "16", "-r", "16000"])
                .arg(&decoded16))
        })
        .and_then(|_| {
            run(Command::new("python3")
                .arg(script)
                .arg(ref16)
                .arg(&decoded16))
        })
        .and_then(|s| s.parse::<f32>().map_err(|e| format!("{s:?}: {e}")));
        match score {
            Ok(reference) => println!(
                "| {name:<14} | {ours:>8.2} | {reference:>15.2} | {:>20.2} |",
                ours / reference
            ),
            Err(e) => println!("| {name:<14} | {ours:>8.2} | failed: {e} | - |"),
        }
    }
}
