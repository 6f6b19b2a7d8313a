//! Other real SIP user agents on loopback: sipp (scenario-driven) and baresip (a softphone).

use std::fs;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::process::{ChildGuard, run_with_timeout};
use crate::users::User;

/// A UDP port that was free a moment ago on 127.0.0.1.
pub fn free_udp_port() -> anyhow::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The repo's sipp scenarios (`tests/sipp/NAME.xml`).
pub fn sipp_scenario(name: &str) -> PathBuf {
    crate::paths::workspace_root().join(format!("tests/sipp/{name}.xml"))
}

/// Data for sipp's `-inf` (`tests/sipp/NAME`).
pub fn sipp_data(name: &str) -> PathBuf {
    crate::paths::workspace_root().join(format!("tests/sipp/{name}"))
}

/// Runs one sipp scenario once against the PBX as `user`, to completion.
/// sipp exits 0 only if the scenario ran exactly as written.
pub fn run_sipp(
    scenario: &Path,
    user: &User,
    service: &str,
    timeout: Duration,
) -> anyhow::Result<String> {
    let dir = tempfile::tempdir()?;
    let port = free_udp_port()?;
    let mut cmd = Command::new("sipp");
    cmd.current_dir(dir.path())
        .arg(crate::pbx::sip_addr().to_string())
        .arg("-sf")
        .arg(scenario)
        .args(["-m", "1", "-nostdin", "-trace_err", "-i", "127.0.0.1"])
        .args(["-p", &port.to_string()])
        .args(["-s", service])
        .args(["-au", &user.extension, "-ap", &user.password])
        .args(["-timeout", &format!("{}s", timeout.as_secs().max(1))]);
    let out = run_with_timeout(&mut cmd, timeout + Duration::from_secs(5))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        let errors: String = fs::read_dir(dir.path())?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("errors"))
            .filter_map(|e| fs::read_to_string(e.path()).ok())
            .collect();
        bail!(
            "sipp {} failed ({}): {}\n{}",
            scenario.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim(),
            errors
        );
    }
    Ok(stdout)
}

/// sipp playing a phone that is called directly (no PBX), or one that calls an address
/// directly: it runs its scenario once in the background on a free port, and
/// [`SippServer::finish`] says whether it ran exactly as written.
pub struct SippServer {
    child: ChildGuard,
    pub addr: std::net::SocketAddr,
    scenario: PathBuf,
    dir: tempfile::TempDir,
}

impl SippServer {
    /// Waits for the scenario's first request, on `self.addr`.
    pub fn start(scenario: &Path) -> anyhow::Result<Self> {
        Self::spawn(scenario, &[])
    }

    /// Sends the scenario's first request to `target`, as `[service]`.
    pub fn calling(
        scenario: &Path,
        target: std::net::SocketAddr,
        service: &str,
    ) -> anyhow::Result<Self> {
        Self::spawn(scenario, &[&target.to_string(), "-s", service])
    }

    /// [`SippServer::calling`] with more of sipp's options (`-inf` data, `-m` calls).
    pub fn calling_with(
        scenario: &Path,
        target: std::net::SocketAddr,
        service: &str,
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        let mut args = vec![target.to_string(), "-s".into(), service.into()];
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Self::spawn(scenario, &args)
    }

    fn spawn(scenario: &Path, args: &[&str]) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = free_udp_port()?;
        let mut cmd = Command::new("sipp");
        cmd.current_dir(dir.path())
            .args(args)
            .arg("-sf")
            .arg(scenario)
            .args(if args.contains(&"-m") {
                &[][..]
            } else {
                &["-m", "1"][..]
            })
            .args(["-nostdin", "-trace_err", "-i", "127.0.0.1"])
            .args(["-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        let child = ChildGuard::spawn("sipp", &mut cmd)?;
        Ok(Self {
            child,
            addr: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            scenario: scenario.to_path_buf(),
            dir,
        })
    }

    /// Waits for the scenario to end; an error carries sipp's own account of what differed.
    pub fn finish(mut self, timeout: Duration) -> anyhow::Result<()> {
        let status = self.child.wait_exit(timeout);
        if status.is_some_and(|s| s.success()) {
            return Ok(());
        }
        let errors: String = fs::read_dir(self.dir.path())?
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains("errors"))
            .filter_map(|e| fs::read_to_string(e.path()).ok())
            .collect();
        bail!(
            "sipp {} {}\n{errors}",
            self.scenario.display(),
            match status {
                Some(s) => format!("failed ({s})"),
                None => "did not finish in time".into(),
            }
        )
    }
}

/// A running baresip registered as one user, answering calls automatically, controlled through
/// its UDP console. Stopped by PID when dropped.
pub struct Baresip {
    child: ChildGuard,
    console: UdpSocket,
    console_addr: std::net::SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// Where a [`Baresip`]'s audio comes from and goes to.
#[derive(Clone, Debug, Default)]
pub enum BaresipAudio {
    /// A 440 Hz sine source and a bridge sink, so no sound device is needed. Offers G.711 and
    /// Opus.
    #[default]
    Sine,
    /// ALSA's `default` device, which the `pulse` plugin routes to the PulseAudio server named
    /// in `env` (a [`crate::audio::VirtualSoundCard`]'s). Offers Opus only, mono at 32 kbit/s
    /// with in-band FEC: the settings Switchboard's own engine uses.
    SoundCard { env: Vec<(String, String)> },
}

impl Baresip {
    /// Starts baresip for `user` against the harness PBX. Audio is a 440 Hz sine source and a
    /// bridge sink, so no sound device is needed.
    pub fn start(user: &User) -> anyhow::Result<Self> {
        Self::start_with(user, BaresipAudio::Sine)
    }

    /// Starts baresip for `user` against the harness PBX with the given audio.
    pub fn start_with(user: &User, audio: BaresipAudio) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let sip_port = free_udp_port()?;
        let cons_port = free_udp_port()?;
        let (audio_config, codecs, env) = match audio {
            BaresipAudio::Sine => (
                "audio_player\taubridge,sb\n\
                 audio_source\tausine,440\n\
                 audio_alert\taubridge,sb\n\
                 module\tg711.so\n\
                 module\topus.so\n\
                 module\tausine.so\n\
                 module\taubridge.so\n",
                "",
                Vec::new(),
            ),
            BaresipAudio::SoundCard { env } => (
                "audio_player\talsa,default\n\
                 audio_source\talsa,default\n\
                 audio_alert\talsa,default\n\
                 module\topus.so\n\
                 module\talsa.so\n\
                 opus_bitrate\t32000\n\
                 opus_stereo\tno\n\
                 opus_sprop_stereo\tno\n\
                 opus_inbandfec\tyes\n",
                ";audio_codecs=opus",
                env,
            ),
        };
        let config = format!(
            "poll_method\tepoll\n\
             sip_listen\t127.0.0.1:{sip_port}\n\
             net_interface\t127.0.0.1\n\
             module_path\t/usr/lib/baresip/modules\n\
             {audio_config}\
             module\tcons.so\n\
             module_app\taccount.so\n\
             module_app\tmenu.so\n\
             cons_listen\t127.0.0.1:{cons_port}\n"
        );
        fs::write(dir.path().join("config"), config)?;
        fs::write(
            dir.path().join("accounts"),
            format!(
                "<sip:{ext}@{host}:{port};transport=udp>;auth_pass={pw};answermode=auto;regint=300{codecs}\n",
                ext = user.extension,
                host = crate::pbx::DOMAIN,
                port = crate::pbx::SIP_PORT,
                pw = user.password,
            ),
        )?;
        let log = dir.path().join("baresip.log");
        let logfile = fs::File::create(&log)?;
        let mut cmd = Command::new("baresip");
        cmd.arg("-f")
            .arg(dir.path())
            .envs(env)
            .stdin(Stdio::null())
            .stdout(logfile.try_clone()?)
            .stderr(logfile);
        let child = ChildGuard::spawn("baresip", &mut cmd)?;
        let console = UdpSocket::bind("127.0.0.1:0")?;
        Ok(Self {
            child,
            console,
            console_addr: ([127, 0, 0, 1], cons_port).into(),
            log,
            _dir: dir,
        })
    }

    /// Everything baresip has printed so far.
    pub fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until baresip's output contains `text`.
    pub fn wait_for_output(&mut self, text: &str, timeout: Duration) -> anyhow::Result<()> {
        let res = crate::wait::wait_for(&format!("baresip to print {text:?}"), timeout, || {
            self.output().contains(text).then_some(())
        });
        if res.is_err() && !self.child.is_running() {
            bail!("baresip exited early:\n{}", self.output());
        }
        res.with_context(|| format!("baresip output so far:\n{}", self.output()))
    }

    /// Sends a console command such as `/dial 9196` or `/hangup`.
    pub fn command(&self, line: &str) -> anyhow::Result<()> {
        self.console
            .send_to(format!("{line}\n").as_bytes(), self.console_addr)
            .context("sending a command to baresip's console")?;
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.pid()
    }
}
