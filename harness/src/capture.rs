//! A packet capture of loopback UDP for a test (tcpdump from Debian, stopped by its PID), read
//! back as datagrams: what actually crossed the wire, for checks such as "no audio in clear".

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::process::ChildGuard;

/// One UDP datagram seen on the wire.
#[derive(Clone, Debug)]
pub struct Datagram {
    pub from: SocketAddrV4,
    pub to: SocketAddrV4,
    pub payload: Vec<u8>,
}

pub struct Capture {
    child: ChildGuard,
    file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Capture {
    /// Starts capturing loopback UDP that matches a pcap `filter` (e.g. `udp portrange
    /// 31000-31999`); returns once tcpdump is listening.
    pub fn start(filter: &str) -> anyhow::Result<Capture> {
        let dir = tempfile::tempdir()?;
        let file = dir.path().join("capture.pcap");
        let mut cmd = Command::new("tcpdump");
        cmd.args(["-i", "lo", "-U", "-n", "-s", "0", "-w"])
            .arg(&file)
            .arg(filter)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = ChildGuard::spawn("tcpdump", &mut cmd)?;
        let mut capture = Capture {
            child,
            file,
            _dir: dir,
        };
        // tcpdump writes the file header once it listens.
        crate::wait::wait_for("tcpdump to listen", Duration::from_secs(10), || {
            if !capture.child.is_running() {
                return Some(false);
            }
            std::fs::metadata(&capture.file)
                .is_ok_and(|m| m.len() >= 24)
                .then_some(true)
        })?
        .then_some(())
        .context("tcpdump exited at start (is it installed, and are we root?)")?;
        // A moment for the filter to be attached before the test sends anything.
        std::thread::sleep(Duration::from_millis(200));
        Ok(capture)
    }

    /// Stops the capture and returns its UDP datagrams in order.
    pub fn finish(mut self) -> anyhow::Result<Vec<Datagram>> {
        std::thread::sleep(Duration::from_millis(200));
        self.child.stop();
        let bytes = std::fs::read(&self.file)?;
        parse_pcap(&bytes)
    }
}

/// Reads a classic pcap file of Ethernet (loopback) frames: the IPv4 UDP datagrams in it.
pub fn parse_pcap(bytes: &[u8]) -> anyhow::Result<Vec<Datagram>> {
    let u32_at = |b: &[u8], at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
    };
    if bytes.len() < 24 || u32_at(bytes, 0) != Some(0xa1b2_c3d4) {
        bail!("not a little-endian microsecond pcap file");
    }
    let link = u32_at(bytes, 20).unwrap_or(0);
    let link_header = match link {
        1 => 14,   // Ethernet, as Linux shows lo
        113 => 16, // Linux cooked capture
        other => bail!("unexpected link type {other}"),
    };
    let mut out = Vec::new();
    let mut at = 24;
    while let Some(caplen) = u32_at(bytes, at + 8) {
        let start = at + 16;
        let Some(frame) = bytes.get(start..start + caplen as usize) else {
            break;
        };
        at = start + caplen as usize;
        let Some(ip) = frame.get(link_header..) else {
            continue;
        };
        if ip.len() < 20 || ip[0] >> 4 != 4 || ip[9] != 17 {
            continue;
        }
        let ihl = (ip[0] & 0x0f) as usize * 4;
        let Some(udp) = ip.get(ihl..) else { continue };
        if udp.len() < 8 {
            continue;
        }
        let addr = |a: &[u8], port: &[u8]| {
            SocketAddrV4::new(
                Ipv4Addr::new(a[0], a[1], a[2], a[3]),
                u16::from_be_bytes([port[0], port[1]]),
            )
        };
        out.push(Datagram {
            from: addr(&ip[12..16], &udp[0..2]),
            to: addr(&ip[16..20], &udp[2..4]),
            payload: udp[8..].to_vec(),
        });
    }
    Ok(out)
}
