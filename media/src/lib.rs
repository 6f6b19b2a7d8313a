//! Switchboard's audio engine. It knows nothing of SIP: it is given codec parameters, a socket
//! and devices, and it moves audio.

pub mod codec;
pub mod g711;
pub mod tone;
