//! The conference mixer: N remote parties plus the local microphone, on fixed 48 kHz frames.
//! Each remote hears the local user and every other remote of its conference, never itself
//! (mix-minus); the local user hears every remote. Sums are clipped softly only at the end.

/// Mixes one tick. `remotes[i]` is what party i sent us, `mic` is the local capture.
/// Writes what each party should hear into `to_remote[i]` and what we hear into `to_local`.
/// `in_conference[i]` says whether party i is merged; a party that is not merged hears only the
/// microphone and is heard by the local user only if `heard_locally[i]`.
pub fn mix(
    mic: &[f32],
    remotes: &[&[f32]],
    in_conference: &[bool],
    heard_locally: &[bool],
    to_remote: &mut [&mut [f32]],
    to_local: &mut [f32],
) {
    to_local.fill(0.0);
    for (i, r) in remotes.iter().enumerate() {
        if heard_locally[i] {
            for (o, s) in to_local.iter_mut().zip(r.iter()) {
                *o += s;
            }
        }
    }
    for (i, out) in to_remote.iter_mut().enumerate() {
        out.copy_from_slice(mic);
        if !in_conference[i] {
            continue;
        }
        for (j, r) in remotes.iter().enumerate() {
            if j != i && in_conference[j] {
                for (o, s) in out.iter_mut().zip(r.iter()) {
                    *o += s;
                }
            }
        }
        clip(out);
    }
    clip(to_local);
}

/// The same mix in O(N) for the media thread: `conference_sum` is the sum of what every merged
/// party sent; a merged party hears the microphone plus that sum minus its own audio.
pub fn mix_minus(mic: &[f32], conference_sum: &[f32], own: Option<&[f32]>, out: &mut [f32]) {
    out.copy_from_slice(mic);
    if let Some(own) = own {
        for ((o, s), x) in out.iter_mut().zip(conference_sum).zip(own) {
            *o += s - x;
        }
    }
    clip(out);
}

/// Keeps samples within [-1, 1]; sums of loud parties should saturate, not wrap.
pub fn clip(frame: &mut [f32]) {
    for s in frame {
        *s = s.clamp(-1.0, 1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_way_merge_is_mix_minus() {
        let mic = [0.1f32; 4];
        let a = [0.2f32; 4];
        let b = [0.3f32; 4];
        let (mut to_a, mut to_b, mut local) = ([0.0f32; 4], [0.0f32; 4], [0.0f32; 4]);
        mix(
            &mic,
            &[&a, &b],
            &[true, true],
            &[true, true],
            &mut [&mut to_a, &mut to_b],
            &mut local,
        );
        assert!((to_a[0] - 0.4).abs() < 1e-6, "A hears mic + B");
        assert!((to_b[0] - 0.3).abs() < 1e-6, "B hears mic + A");
        assert!((local[0] - 0.5).abs() < 1e-6, "we hear A + B");
    }

    #[test]
    fn a_party_on_hold_outside_the_conference_hears_only_the_mic() {
        let mic = [0.1f32; 2];
        let a = [0.2f32; 2];
        let b = [0.3f32; 2];
        let (mut to_a, mut to_b, mut local) = ([0.0f32; 2], [0.0f32; 2], [0.0f32; 2]);
        mix(
            &mic,
            &[&a, &b],
            &[false, false],
            &[true, false],
            &mut [&mut to_a, &mut to_b],
            &mut local,
        );
        assert_eq!(to_a[0], 0.1);
        assert_eq!(to_b[0], 0.1);
        assert_eq!(local[0], 0.2);
    }

    #[test]
    fn mix_minus_matches_the_reference_mix() {
        let mic = [0.1f32; 3];
        let parties = [[0.2f32; 3], [0.05; 3], [0.3; 3]];
        let sum: Vec<f32> = (0..3).map(|k| parties.iter().map(|p| p[k]).sum()).collect();
        let mut want = [[0.0f32; 3]; 3];
        let mut local = [0.0f32; 3];
        {
            let [w0, w1, w2] = &mut want;
            let refs: Vec<&[f32]> = parties.iter().map(|p| &p[..]).collect();
            mix(
                &mic,
                &refs,
                &[true; 3],
                &[true; 3],
                &mut [w0, w1, w2],
                &mut local,
            );
        }
        for (i, p) in parties.iter().enumerate() {
            let mut out = [0.0f32; 3];
            mix_minus(&mic, &sum, Some(p), &mut out);
            for k in 0..3 {
                assert!((out[k] - want[i][k]).abs() < 1e-6);
            }
        }
    }

    #[test]
    fn loud_sums_saturate() {
        let mic = [0.9f32; 1];
        let a = [0.9f32; 1];
        let b = [0.9f32; 1];
        let (mut to_a, mut to_b, mut local) = ([0.0f32; 1], [0.0f32; 1], [0.0f32; 1]);
        mix(
            &mic,
            &[&a, &b],
            &[true, true],
            &[true, true],
            &mut [&mut to_a, &mut to_b],
            &mut local,
        );
        assert_eq!(to_a[0], 1.0);
        assert_eq!(local[0], 1.0);
    }
}
