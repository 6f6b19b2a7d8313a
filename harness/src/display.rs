//! A private X display (Xvfb) for running the real window in tests and benchmarks, stopped by
//! its PID when dropped.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::process::ChildGuard;

pub struct Xvfb {
    /// The value for `DISPLAY`, e.g. `:93`.
    pub display: String,
    _child: ChildGuard,
}

impl Xvfb {
    /// Starts Xvfb on the first free display number from 90, with a 24-bit screen of `size`.
    pub fn start(size: (u32, u32)) -> anyhow::Result<Self> {
        crate::host::ensure_packages(&["xvfb"])?;
        let n = (90..200)
            .find(|n| {
                !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists()
                    && !Path::new(&format!("/tmp/.X{n}-lock")).exists()
            })
            .ok_or_else(|| anyhow::anyhow!("no free X display number between :90 and :199"))?;
        let display = format!(":{n}");
        let mut cmd = Command::new("Xvfb");
        cmd.arg(&display)
            .args(["-screen", "0", &format!("{}x{}x24", size.0, size.1)])
            .args(["-nolisten", "tcp", "-noreset"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = ChildGuard::spawn("Xvfb", &mut cmd)?;
        let socket = format!("/tmp/.X11-unix/X{n}");
        crate::wait::wait_for("Xvfb's socket", Duration::from_secs(10), || {
            Path::new(&socket).exists().then_some(())
        })?;
        Ok(Self {
            display,
            _child: child,
        })
    }
}
