//! The demo's cast, in one place: the bots `cargo xtask demo` starts next to the app, and the
//! app's command line signed in as 1001. xtask runs them from the release build; the whole-app
//! demo test from the test build, so that what the README promises is what gets tested.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use anyhow::Context;

use crate::process::ChildGuard;

/// The extension the app signs in as.
pub const ME: &str = "1001";

/// One of sipcore's `agent` examples on a demo extension.
pub struct Bot {
    pub extension: &'static str,
    pub args: Vec<String>,
    /// What it does, for the demo's greeting.
    pub what: &'static str,
}

/// Ada's mobile number, on the demo PBX's mobile network (0770090 and the bot's extension).
pub const MY_MOBILE: &str = "07700904001";

/// The five bots: an echo, music, a texter, a desk phone on the app's own line and Ada's
/// mobile.
pub fn bots() -> Vec<Bot> {
    let music = crate::paths::workspace_root().join("assets/sounds/hold-music.opus");
    vec![
        Bot {
            extension: "1002",
            args: vec!["--auto-answer".into(), "--echo".into()],
            what: "answers and echoes your audio",
        },
        Bot {
            extension: "1003",
            args: vec![
                "--auto-answer".into(),
                "--play".into(),
                music.display().to_string(),
            ],
            what: "answers and plays music",
        },
        Bot {
            extension: "1004",
            args: vec![
                "--reply-texts".into(),
                "Hi, this is the demo bot on 1004: your message arrived.".into(),
            ],
            what: "replies to texts",
        },
        // Ada's desk phone: it rings and nobody picks it up. The app, seeing a second device on
        // 1001, asks whether calls should be handled there or on the computer.
        Bot {
            extension: ME,
            args: vec![],
            what: "is Ada's desk phone (rings, never answers)",
        },
        // Ada's mobile: Settings → Call Strategy with 07700904001 as the mobile number makes
        // calls to 1001 reach it, before, after or with the desk, as chosen.
        Bot {
            extension: "4001",
            args: vec!["--auto-answer".into(), "--echo".into()],
            what: "is Ada's mobile, 07700904001 (answers and echoes your audio)",
        },
    ]
}

/// A started bot, and its JSON event lines as they come.
pub struct RunningBot {
    pub extension: &'static str,
    pub what: &'static str,
    pub name: String,
    pub process: ChildGuard,
    pub lines: Receiver<String>,
}

/// Starts every bot from the `agent` binary and waits for each to register.
pub fn start_bots(agent: &Path) -> anyhow::Result<Vec<RunningBot>> {
    let mut running = Vec::new();
    for bot in bots() {
        let user = crate::users::get(bot.extension)?;
        let mut cmd = Command::new(agent);
        cmd.args(["--server", &crate::pbx::sip_addr().to_string()])
            .args(["--user", bot.extension])
            .args(["--display-name", &user.name])
            .env("AGENT_PASSWORD", &user.password)
            .args(&bot.args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut process = ChildGuard::spawn(&format!("bot {}", bot.extension), &mut cmd)?;
        let stdout = process.take_stdout().context("bot output")?;
        let (tx, lines) = std::sync::mpsc::channel();
        let (registered_tx, registered) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains(r#""state":"registered""#) {
                    let _ = registered_tx.send(());
                }
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        registered
            .recv_timeout(Duration::from_secs(20))
            .with_context(|| format!("bot {} did not register", bot.extension))?;
        running.push(RunningBot {
            extension: bot.extension,
            what: bot.what,
            name: user.name,
            process,
            lines,
        });
    }
    Ok(running)
}

/// The app at `app`, told to sign in as 1001 with the demo PBX's directory and queues.
pub fn app_command(app: &Path) -> anyhow::Result<Command> {
    let me = crate::users::get(ME)?;
    let mut cmd = Command::new(app);
    cmd.args(["--server", &crate::pbx::sip_addr().to_string()])
        .args(["--user", ME])
        .env("SWITCHBOARD_PASSWORD", &me.password)
        .env(
            "SWITCHBOARD_DIRECTORY",
            crate::pbx::directory_url("phonebook.xml"),
        )
        .env(
            "SWITCHBOARD_MANAGER",
            format!(
                "{}:{}@{}",
                crate::pbx::DESK_AMI_USER,
                crate::pbx::DESK_AMI_SECRET,
                crate::pbx::ami_addr()
            ),
        )
        // 1001 is a member of sales; support is shown too, to log in to when it gets busy.
        .env("SWITCHBOARD_QUEUES", "support")
        .env(
            "SWITCHBOARD_VOICEMAIL",
            crate::voicemail_store::imap_addr().to_string(),
        )
        .env("SWITCHBOARD_SPEECH_MODEL", crate::paths::speech_model());
    Ok(cmd)
}
