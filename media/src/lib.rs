//! Switchboard's audio engine. It knows nothing of SIP: it is given codec parameters, a socket and
//! devices, and it moves audio.
