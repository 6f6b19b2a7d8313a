//! `cargo xtask demo`: the PBX, its bots, and (once the window exists) the app as 1001.

pub fn run() -> anyhow::Result<i32> {
    crate::pbx::up(&harness::Pbx::new())?;
    anyhow::bail!("demo bots come with the SIP core; the PBX is up")
}
