//! A short run of every fuzz target on the stable toolchain, in `cargo xtask test`: each seed,
//! then mutations of the seeds (bit flips, cuts, repeats, splices, random bytes) from a fixed
//! generator, so that a failure reproduces. The coverage-guided long run is `cargo xtask fuzz`.

const MUTATIONS: usize = 20_000;

/// xorshift64*: reproducible and enough to pick mutations.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let len = v.len();
        match rng.below(6) {
            0 if len > 0 => {
                let i = rng.below(len);
                v[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => v.truncate(rng.below(len)),
            2 if len > 0 => {
                let (a, b) = (rng.below(len), rng.below(len));
                let chunk = v[a.min(b)..a.max(b)].to_vec();
                let at = rng.below(len);
                v.splice(at..at, chunk);
            }
            3 => {
                let other = &seeds[rng.below(seeds.len())];
                let at = rng.below(len + 1);
                v.truncate(at);
                v.extend_from_slice(&other[rng.below(other.len() + 1)..]);
            }
            4 if len > 0 => {
                let i = rng.below(len);
                v[i] = [b'\r', b'\n', b':', b';', b' ', 0, 0xff, b'=', b'<', b'|'][rng.below(10)];
            }
            _ => {
                let at = rng.below(len + 1);
                let n = rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                v.splice(at..at, bytes);
            }
        }
    }
    v
}

fn run(name: &str, target: fn(&[u8]), seeds: Vec<Vec<u8>>) {
    assert!(!seeds.is_empty(), "{name}: no seeds");
    for s in &seeds {
        target(s);
    }
    let mut rng = Rng(0x5eed_0000 ^ name.len() as u64);
    for _ in 0..MUTATIONS {
        target(&mutate(&mut rng, &seeds));
    }
    println!(
        "{name}: {} seeds and {MUTATIONS} mutations, no crash",
        seeds.len()
    );
}

#[test]
fn sip_datagram() {
    let seeds = fuzz::seeds::sip();
    assert!(
        seeds.len() > 60,
        "the RFC 4475 messages and the sipp scenarios are there"
    );
    run("sip_datagram", fuzz::sip_datagram, seeds);
}

#[test]
fn sdp() {
    run("sdp", fuzz::sdp, fuzz::seeds::sdp());
}

#[test]
fn rtp() {
    run("rtp", fuzz::rtp, fuzz::seeds::rtp());
}

#[test]
fn bodies() {
    run("bodies", fuzz::bodies, fuzz::seeds::bodies());
}

#[test]
fn ami() {
    run("ami", fuzz::ami, fuzz::seeds::ami());
}
