//! Switchboard's audio engine. It knows nothing of SIP: it is given codec parameters, a socket
//! and devices, and it moves audio.

pub mod codec;
pub mod dtmf;
pub mod g711;
pub mod jitter_buffer;
pub mod ogg_opus;
pub mod quality;
pub mod resample;
pub mod rtp;
pub mod tone;
