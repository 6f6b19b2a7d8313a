//! The whole app's tests, one module per feature, in one binary: one link instead of one per
//! file. They share the harness PBX (each leases its own extensions) and each passes its own
//! data directory to the backend, so they run side by side. `audio_settings` and `ringing` are
//! binaries of their own: they point the process's PulseAudio variables at a virtual sound card.

#[path = "../support/mod.rs"]
mod support;

mod answering_machine;
mod call_center;
mod call_routing;
mod contact_status;
mod contacts;
mod demo;
mod desk_phone;
mod pbx_harness;
mod presence;
mod remembered_sign_in;
mod screenshots;
mod settings_kept;
mod sign_in_errors;
mod tls_sign_in;
mod visual_voicemail;
mod voicemail_count;
mod voicemail_email;
mod voicemail_playback;
mod window_calls;
