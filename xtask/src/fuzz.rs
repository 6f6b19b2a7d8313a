//! `cargo xtask fuzz [--runs N] [TARGET…]`: the long, coverage-guided run of the fuzz targets
//! in `fuzz/` with cargo fuzz (libFuzzer), each from its seeds (written into the target's corpus
//! first) for N executions (10 million by default). cargo fuzz needs nightly compiler flags: the
//! nightly toolchain when installed, else the stable one with RUSTC_BOOTSTRAP. Findings land in
//! `fuzz/artifacts/TARGET/`; the corpus grows in `fuzz/corpus/TARGET/` (both git-ignored).

use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};

const TARGETS: &[&str] = &["sip_datagram", "sdp", "rtp", "bodies", "ami"];

pub fn run(args: &[&str]) -> anyhow::Result<i32> {
    let mut runs: u64 = 10_000_000;
    let mut targets = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match *a {
            "--runs" => runs = it.next().context("--runs N")?.parse()?,
            t if TARGETS.contains(&t) => targets.push(t),
            other => bail!("unknown target or option {other} (targets: {TARGETS:?})"),
        }
    }
    if targets.is_empty() {
        targets = TARGETS.to_vec();
    }
    let have = Command::new("cargo").args(["fuzz", "--version"]).output();
    if !have.is_ok_and(|o| o.status.success()) {
        let ok = Command::new("cargo")
            .args(["install", "--locked", "cargo-fuzz"])
            .status()?
            .success();
        if !ok {
            bail!("cargo-fuzz could not be installed (cargo install cargo-fuzz)");
        }
    }
    let nightly = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    let root = harness::paths::workspace_root();
    seed_corpora(&root.join("fuzz"))?;
    let mut failed = 0;
    for t in targets {
        let started = Instant::now();
        let mut cmd = Command::new("cargo");
        if nightly {
            cmd.arg("+nightly");
        } else {
            cmd.env("RUSTC_BOOTSTRAP", "1");
        }
        cmd.current_dir(&root)
            .args([
                "fuzz",
                "run",
                "--features",
                "libfuzzer",
                "--fuzz-dir",
                "fuzz",
                t,
            ])
            .arg("--")
            .arg(format!("-runs={runs}"))
            .args(["-max_len=4096", "-timeout=10", "-print_final_stats=1"]);
        let ok = cmd.status()?.success();
        println!(
            "fuzz {t}: {} after {:.0} s",
            if ok { "no crash" } else { "FAILED" },
            started.elapsed().as_secs_f64()
        );
        failed += usize::from(!ok);
    }
    Ok(i32::from(failed > 0))
}

/// Writes each target's seeds into its corpus folder, so that libFuzzer starts from them.
fn seed_corpora(fuzz_dir: &std::path::Path) -> anyhow::Result<()> {
    let all: [(&str, Vec<Vec<u8>>); 5] = [
        ("sip_datagram", fuzz::seeds::sip()),
        ("sdp", fuzz::seeds::sdp()),
        ("rtp", fuzz::seeds::rtp()),
        ("bodies", fuzz::seeds::bodies()),
        ("ami", fuzz::seeds::ami()),
    ];
    for (target, seeds) in all {
        let dir = fuzz_dir.join("corpus").join(target);
        std::fs::create_dir_all(&dir)?;
        for (i, s) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("seed-{i:03}")), s)?;
        }
    }
    Ok(())
}
