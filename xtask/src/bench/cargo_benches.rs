//! The crates' own benchmarks, run with `cargo bench` and summarised as table rows: media's
//! criterion bench `frames` (median per 20 ms frame), media's speech-quality bench `quality`
//! (its PESQ and latency tables), storage's benchmarks when that crate has any, and the `row:`
//! lines of the app's call-center bench `queue_tiles` and of transcribe's `transcription`.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

/// `(figure, value)` rows for the report, in the order they ran.
pub type Rows = Vec<(String, String)>;

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs `cargo bench ARGS` and returns its standard output; its progress goes to our stderr.
fn cargo_bench(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    eprintln!("bench: cargo bench {}", args.join(" "));
    let out = Command::new(cargo())
        .current_dir(root)
        .arg("bench")
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("running cargo bench")?;
    anyhow::ensure!(
        out.status.success(),
        "cargo bench {} failed ({})",
        args.join(" "),
        out.status
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Criterion's `--output-format bencher` lines: `test NAME ... bench: 1,234 ns/iter (+/- 5)`.
pub fn parse_bencher(text: &str) -> Rows {
    text.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("test ")?;
            let (name, result) = rest.split_once(" ... bench:")?;
            let mut words = result.split_whitespace();
            let value: f64 = words.next()?.replace(',', "").parse().ok()?;
            let unit = words.next()?.strip_suffix("/iter")?;
            let ns = match unit {
                "ns" => value,
                "us" | "µs" => value * 1e3,
                "ms" => value * 1e6,
                _ => return None,
            };
            Some((name.trim().to_string(), format_ns(ns)))
        })
        .collect()
}

fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn criterion_args(full: bool) -> Vec<&'static str> {
    let mut args = vec!["--output-format", "bencher"];
    if !full {
        args.extend(["--warm-up-time", "1", "--measurement-time", "2"]);
    }
    args
}

pub fn media_frames(root: &Path, full: bool) -> anyhow::Result<Rows> {
    let mut args = vec!["-p", "media", "--bench", "frames", "--"];
    args.extend(criterion_args(full));
    let rows = parse_bencher(&cargo_bench(root, &args)?);
    anyhow::ensure!(!rows.is_empty(), "media's frames bench printed no results");
    Ok(rows
        .into_iter()
        .map(|(name, v)| (format!("media: {name}"), format!("{v} (median)")))
        .collect())
}

/// The quality bench's table rows, one per codec: PESQ in four network conditions, then the
/// pipeline's added latency; or the reason it skipped.
pub fn media_quality(root: &Path) -> anyhow::Result<Rows> {
    let text = cargo_bench(root, &["-p", "media", "--bench", "quality"])?;
    if let Some(skip) = text.lines().find(|l| l.contains("skipped")) {
        return Ok(vec![(
            "media: speech quality".into(),
            skip.trim().to_string(),
        )]);
    }
    Ok(parse_quality(&text))
}

pub fn parse_quality(text: &str) -> Rows {
    let cells = |l: &str| -> Vec<String> {
        l.trim()
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    let mut rows = Vec::new();
    for l in text.lines().filter(|l| l.starts_with("| ")) {
        let c = cells(l);
        if c.first().is_some_and(|h| h == "codec") {
            continue;
        }
        match c.len() {
            5 => rows.push((
                format!("media: PESQ {} (clean / 0 / 5 / 10 % loss)", c[0]),
                format!("{} / {} / {} / {}", c[1], c[2], c[3], c[4]),
            )),
            2 => rows.push((format!("media: added latency {}", c[0]), c[1].clone())),
            4 => rows.push((
                format!(
                    "media: PESQ-WB {}, our pipeline / opusenc+opusdec (codec's limit)",
                    c[0]
                ),
                format!("{} / {} = {}", c[1], c[2], c[3]),
            )),
            _ => {}
        }
    }
    rows
}

/// The `row: NAME = VALUE` lines of `package`'s bench `bench` (the call-center tiles, the
/// transcription).
pub fn rows_of(root: &Path, package: &str, bench: &str) -> anyhow::Result<Rows> {
    let text = cargo_bench(root, &["-p", package, "--bench", bench])?;
    let rows = parse_rows(&text);
    anyhow::ensure!(!rows.is_empty(), "the {bench} bench printed no rows");
    Ok(rows)
}

pub fn parse_rows(text: &str) -> Rows {
    text.lines()
        .filter_map(|l| l.strip_prefix("row: ")?.split_once(" = "))
        .map(|(name, value)| (name.trim().to_string(), value.trim().to_string()))
        .collect()
}

/// Storage's benchmarks, or a row saying there are none on this branch.
pub fn storage(root: &Path, full: bool) -> anyhow::Result<Rows> {
    if !root.join("storage/benches").is_dir() {
        return Ok(vec![("storage benchmarks".into(), "not available".into())]);
    }
    let mut args = vec!["-p", "storage", "--bench", "store", "--"];
    args.extend(criterion_args(full));
    let rows = parse_bencher(&cargo_bench(root, &args)?);
    if rows.is_empty() {
        return Ok(vec![(
            "storage benchmarks".into(),
            "ran, but printed no criterion results".into(),
        )]);
    }
    Ok(rows
        .into_iter()
        .map(|(name, v)| (format!("storage: {name}"), format!("{v} (median)")))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_lines_become_rows() {
        let text = "Compiling…\nrow: call center frame = 0.80 / 1.20 ms\nrow: broken line\n";
        assert_eq!(
            parse_rows(text),
            [(
                "call center frame".to_string(),
                "0.80 / 1.20 ms".to_string()
            )]
        );
    }

    #[test]
    fn reads_bencher_lines_in_any_unit() {
        let text = "Gnuplot not found\n\
                    test opus 24k encode 20 ms ... bench:      91,234 ns/iter (+/- 1,200)\n\
                    test mixer, mic + 3 parties, 20 ms ... bench:         812 ns/iter (+/- 3)\n\
                    test slow ... bench:           2 ms/iter (+/- 0)\n";
        assert_eq!(
            parse_bencher(text),
            vec![
                ("opus 24k encode 20 ms".into(), "91.2 µs".into()),
                ("mixer, mic + 3 parties, 20 ms".into(), "812 ns".into()),
                ("slow".into(), "2.00 ms".into()),
            ]
        );
    }

    #[test]
    fn reads_the_quality_tables() {
        let text = "| codec          | clean network | 0 % loss | 5 % loss | 10 % loss |\n\
                    |----------------|---------------|----------|----------|-----------|\n\
                    | Opus 24 kbit/s |          4.31 |     4.30 |     3.90 |      3.41 |\n\
                    \n\
                    | codec          | median latency |\n\
                    |----------------|----------------|\n\
                    | Opus 24 kbit/s |          61 ms |\n\
                    \n\
                    | codec          | pipeline | opusenc/opusdec | pipeline / reference |\n\
                    |----------------|----------|-----------------|----------------------|\n\
                    | Opus 24 kbit/s |     4.31 |            4.40 |                 0.98 |\n";
        let rows = parse_quality(text);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[2].1, "4.31 / 4.40 = 0.98");
        assert_eq!(rows[0].1, "4.31 / 4.30 / 3.90 / 3.41");
        assert_eq!(
            rows[1],
            ("media: added latency Opus 24 kbit/s".into(), "61 ms".into())
        );
    }
}
