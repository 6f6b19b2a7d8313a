//! Switchboard's audio engine. It knows nothing of SIP: it is given codec parameters, a socket
//! and devices, and it moves audio.

pub mod codec;
pub mod devices;
pub mod dtmf;
pub mod engine;
pub mod g711;
pub mod jitter_buffer;
pub mod ogg_opus;
pub mod quality;
pub mod resample;
pub mod rtp;
pub mod stream;
pub mod tone;

pub use codec::CodecKind;
pub use devices::{DeviceChoice, DeviceInfo};
pub use engine::{Engine, EngineConfig, MediaError, MediaEvent, Sound};
pub use stream::{Codec, Direction, Route, Stats, StreamConfig};
pub use tone::Tone;
