//! The media engine's integration tests that share a process safely, in one binary: headless
//! engines over loopback, and media through the real PBX. `devices`, `hotplug` and `no_devices`
//! stay binaries of their own because they point the process's sound variables at a virtual or
//! missing sound card, and `realtime` because it counts every allocation in its process.

mod loopback;
mod pbx_echo;
