//! A small network of the test's own, for calls through NAT: three network namespaces made
//! with `ip netns` and veth pairs (root), removed again when dropped.
//!
//! ```text
//!  [a] 10.77.0.2 ──── 10.77.0.1 [nat] 198.51.100.1 ──── 198.51.100.2 [b]
//!      private              MASQUERADE                    public, STUN server (coturn)
//! ```
//!
//! `a` reaches `b` through the NAT (iptables masquerade); `b` has no route to `a`'s network,
//! so only what `a` opened through the NAT comes back. A thread joins a side with
//! [`NatLab::enter`]; threads it starts afterwards (an engine's) live there too.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::process::ChildGuard;

pub const A_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 2));
pub const NAT_PUBLIC_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
pub const B_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));
pub const STUN: SocketAddr = SocketAddr::new(B_IP, 3478);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Behind the NAT.
    A,
    /// On the public side, with the STUN server.
    B,
}

pub struct NatLab {
    prefix: String,
    stun: Option<ChildGuard>,
}

/// Runs a command given as words (none of these needs quoting).
fn run(command: &str) -> anyhow::Result<()> {
    let words: Vec<&str> = command.split_whitespace().collect();
    let out = Command::new(words[0])
        .args(&words[1..])
        .output()
        .with_context(|| format!("running {command}"))?;
    if !out.status.success() {
        bail!(
            "{command} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl NatLab {
    pub fn start() -> anyhow::Result<NatLab> {
        let prefix = format!("sb{}", std::process::id() % 100_000);
        let mut lab = NatLab {
            prefix: prefix.clone(),
            stun: None,
        };
        let (a, nat, b) = (lab.ns("a"), lab.ns("n"), lab.ns("b"));
        for ns in [&a, &nat, &b] {
            run(&format!("ip netns add {ns}"))?;
            run(&format!("ip -n {ns} link set lo up"))?;
        }
        let (va, vn0, vn1, vb) = (
            format!("{prefix}a0"),
            format!("{prefix}n0"),
            format!("{prefix}n1"),
            format!("{prefix}b0"),
        );
        for (one, in_one, other, in_other) in [(&va, &a, &vn0, &nat), (&vn1, &nat, &vb, &b)] {
            run(&format!(
                "ip link add {one} netns {in_one} type veth peer name {other} netns {in_other}"
            ))?;
        }
        for (ns, dev, addr) in [
            (&a, &va, "10.77.0.2/24"),
            (&nat, &vn0, "10.77.0.1/24"),
            (&nat, &vn1, "198.51.100.1/24"),
            (&b, &vb, "198.51.100.2/24"),
        ] {
            run(&format!("ip -n {ns} addr add {addr} dev {dev}"))?;
            run(&format!("ip -n {ns} link set {dev} up"))?;
        }
        run(&format!("ip -n {a} route add default via 10.77.0.1"))?;
        run(&format!(
            "ip netns exec {nat} sysctl -q -w net.ipv4.ip_forward=1"
        ))?;
        run(&format!(
            "ip netns exec {nat} iptables -t nat -A POSTROUTING -s 10.77.0.0/24 -o {vn1} -j MASQUERADE"
        ))?;
        let mut cmd = Command::new("ip");
        cmd.args([
            "netns",
            "exec",
            &b,
            "turnserver",
            "-n",
            "--stun-only",
            "--no-cli",
        ])
        .args([
            "--listening-ip",
            &B_IP.to_string(),
            "--listening-port",
            "3478",
        ])
        .args(["--no-tls", "--no-dtls", "--log-file", "stdout"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        lab.stun = Some(ChildGuard::spawn("turnserver", &mut cmd)?);
        lab.wait_for_stun()?;
        Ok(lab)
    }

    fn ns(&self, side: &str) -> String {
        format!("{}{side}", self.prefix)
    }

    /// Waits until the STUN server answers a Binding request from the public side.
    fn wait_for_stun(&self) -> anyhow::Result<()> {
        let probe = |_: ()| -> Option<()> {
            // The client waits for ever for an answer that was sent before the server listened.
            let out = Command::new("ip")
                .args(["netns", "exec", &self.ns("b"), "timeout", "2"])
                .arg("turnutils_stunclient")
                .arg(B_IP.to_string())
                .output()
                .ok()?;
            String::from_utf8_lossy(&out.stdout)
                .contains("UDP reflexive addr")
                .then_some(())
        };
        crate::wait::wait_for("the STUN server", Duration::from_secs(10), || probe(()))
    }

    /// Moves the calling thread into `side`'s network namespace.
    pub fn enter(&self, side: Side) -> anyhow::Result<()> {
        use std::os::fd::AsRawFd;
        let name = self.ns(match side {
            Side::A => "a",
            Side::B => "b",
        });
        let f = std::fs::File::open(format!("/run/netns/{name}"))
            .with_context(|| format!("opening network namespace {name}"))?;
        if unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            bail!("setns {name}: {}", std::io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for NatLab {
    fn drop(&mut self) {
        self.stun.take();
        for side in ["a", "n", "b"] {
            // Deleting a namespace removes its veth ends and the NAT rule with it.
            let _ = run(&format!("ip netns del {}", self.ns(side)));
        }
    }
}
