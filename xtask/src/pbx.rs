//! `cargo xtask pbx up | down | status | logs`.

use harness::Pbx;

pub fn run(sub: &str) -> anyhow::Result<i32> {
    let pbx = Pbx::new();
    match sub {
        "up" => {
            up(&pbx)?;
            Ok(0)
        }
        "down" => {
            pbx.down()?;
            println!("PBX stopped");
            Ok(0)
        }
        "status" => match pbx.status() {
            Ok(s) => {
                println!("PBX healthy: pid {}, {}", s.pid, s.version);
                println!("  SIP  udp+tcp 127.0.0.1:{}", harness::pbx::SIP_PORT);
                println!("  AMI  127.0.0.1:{}", harness::pbx::AMI_PORT);
                Ok(0)
            }
            Err(e) => {
                println!("PBX not healthy: {e:#}");
                Ok(1)
            }
        },
        "logs" => {
            println!("{}", pbx.log_tail(200));
            eprintln!("(full log: {})", pbx.log_path().display());
            Ok(0)
        }
        other => anyhow::bail!("unknown pbx command `{other}`; use up, down, status or logs"),
    }
}

/// Brings the PBX up and prints how long the chroot and the boot took.
pub fn up(pbx: &Pbx) -> anyhow::Result<()> {
    let report = pbx.up()?;
    match report.setup {
        Some(d) => println!("PBX chroot built in {:.1} s", d.as_secs_f64()),
        None => println!("PBX chroot reused ({})", pbx.rootfs().display()),
    }
    match report.boot {
        Some(d) => println!("Asterisk booted and healthy in {:.1} s", d.as_secs_f64()),
        None => println!("Asterisk was already running"),
    }
    println!(
        "PBX up: {} (pid {}), SIP 127.0.0.1:{}, AMI 127.0.0.1:{}",
        report.status.version,
        report.status.pid,
        harness::pbx::SIP_PORT,
        harness::pbx::AMI_PORT
    );
    Ok(())
}
