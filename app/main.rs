//! The Switchboard desktop client.

use switchboard::version;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--version") | Some("-V") => {
            println!("{}", version::long());
            Ok(())
        }
        Some(other) => anyhow::bail!("unknown argument `{other}`; try `switchboard --version`"),
        None => anyhow::bail!(
            "the window is not built yet in {}; only `--version` works",
            version::long()
        ),
    }
}
