//! `cargo xtask <command>`: the project's developer commands. They need nothing but cargo to
//! start, and install the system packages they need on Debian or Ubuntu when run as root.

mod assets;
mod bench;
mod demo;
mod fuzz;
mod pbx;
mod test;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  demo [APP OPTIONS]        the local demo PBX, its bots, and the app logged in as 1001;
                            options go to the app (e.g. --dial 1002 calls the echo bot)
  test                      install what the suite needs, bring the PBX up, run every test
  bench [--full|--app-only] [--runs N]
                            measure the release app against the PBX and baresip; one table
  fuzz [--runs N] [TARGET…] the fuzz targets in fuzz/ with cargo fuzz, 10 million runs each
  pbx up|down|status|logs   the local Asterisk on 127.0.0.1 (SIP 25060, AMI 5038)
  assets                    synthesise the ringtones and hold music under assets/ again";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["demo", rest @ ..] => demo::run(rest),
        ["test", rest @ ..] => test::run(rest),
        ["bench", rest @ ..] => bench::run(rest),
        ["fuzz", rest @ ..] => fuzz::run(rest),
        ["pbx", sub] => pbx::run(sub),
        ["assets"] => assets::run(),
        _ => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
