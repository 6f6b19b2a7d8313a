//! Per-frame cost of the media thread's stages (20 ms frames). Prints numbers; asserts nothing.

use criterion::{Criterion, criterion_group, criterion_main};
use media::codec::{Codec, Decoder, Encoder, MAX_PAYLOAD};
use media::jitter_buffer::JitterBuffer;
use media::mixer;
use media::resample::Resampler;
use std::hint::black_box;

fn speechlike(n: usize, rate: u32) -> Vec<f32> {
    // A few harmonics with a slow envelope, closer to voice than a pure sine.
    (0..n)
        .map(|i| {
            let t = i as f32 / rate as f32;
            let env = 0.5 + 0.5 * (2.0 * std::f32::consts::PI * 3.0 * t).sin();
            env * [180.0f32, 360.0, 720.0, 1500.0, 2900.0]
                .iter()
                .map(|f| 0.1 * (2.0 * std::f32::consts::PI * f * t).sin())
                .sum::<f32>()
        })
        .collect()
}

fn resampling(c: &mut Criterion) {
    for (from, to) in [(44_100, 48_000), (48_000, 16_000), (48_000, 8000)] {
        let mut r = Resampler::new(from, to, 20).unwrap();
        let input = speechlike(r.input_len(), from);
        let mut out = vec![0.0; r.output_len()];
        c.bench_function(&format!("resample {from}->{to} Hz, 20 ms"), |b| {
            b.iter(|| r.process(black_box(&input), &mut out).unwrap())
        });
    }
}

fn codecs(c: &mut Criterion) {
    for (name, codec) in [
        ("opus 24k", Codec::opus(111, 24_000)),
        ("opus 32k", Codec::opus(111, 32_000)),
        ("g722", Codec::g722()),
        ("pcmu", Codec::pcmu()),
    ] {
        let n = codec.frame_samples();
        let pcm: Vec<i16> = speechlike(n * 50, codec.pcm_rate())
            .iter()
            .map(|s| (s * 32767.0) as i16)
            .collect();
        let mut enc = Encoder::new(&codec).unwrap();
        let mut payload = [0u8; MAX_PAYLOAD];
        let mut k = 0;
        c.bench_function(&format!("{name} encode 20 ms"), |b| {
            b.iter(|| {
                k = (k + 1) % 50;
                enc.encode(black_box(&pcm[k * n..(k + 1) * n]), &mut payload)
                    .unwrap()
            })
        });
        let packets: Vec<Vec<u8>> = (0..50)
            .map(|k| {
                let len = enc.encode(&pcm[k * n..(k + 1) * n], &mut payload).unwrap();
                payload[..len].to_vec()
            })
            .collect();
        let mut dec = Decoder::new(&codec).unwrap();
        let mut out = vec![0i16; n];
        c.bench_function(&format!("{name} decode 20 ms"), |b| {
            b.iter(|| {
                k = (k + 1) % 50;
                dec.decode(black_box(&packets[k]), &mut out).unwrap()
            })
        });
        if let Decoder::Opus(_) = dec {
            c.bench_function(&format!("{name} PLC 20 ms"), |b| {
                b.iter(|| dec.conceal(&mut out))
            });
        }
    }
}

fn jitter_buffer(c: &mut Criterion) {
    let mut jb = JitterBuffer::new(20, 48_000);
    let payload = [0u8; 80];
    let mut seq = 0u16;
    c.bench_function("jitter buffer push+pop, 20 ms", |b| {
        b.iter(|| {
            jb.push(
                seq,
                seq as u32 * 960,
                black_box(&payload),
                seq as f64 * 20.0,
            );
            seq = seq.wrapping_add(1);
            black_box(jb.pop());
        })
    });
}

fn mixing(c: &mut Criterion) {
    let mic = speechlike(960, 48_000);
    let parties: Vec<Vec<f32>> = (0..3).map(|_| speechlike(960, 48_000)).collect();
    let mut sum = vec![0.0f32; 960];
    let mut outs = vec![vec![0.0f32; 960]; 3];
    c.bench_function("mixer, mic + 3 parties, 20 ms", |b| {
        b.iter(|| {
            sum.fill(0.0);
            for p in &parties {
                for (o, x) in sum.iter_mut().zip(p) {
                    *o += x;
                }
            }
            for (p, out) in parties.iter().zip(outs.iter_mut()) {
                mixer::mix_minus(black_box(&mic), &sum, Some(p), out);
            }
        })
    });
}

criterion_group!(benches, resampling, codecs, jitter_buffer, mixing);
criterion_main!(benches);
