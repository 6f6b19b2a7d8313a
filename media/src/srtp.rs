//! SRTP and SRTCP (RFC 3711) through Debian's libsrtp2, the implementation Asterisk, baresip
//! and most of the industry use. The binding is the eight functions a call needs; the keys come
//! from SDES (RFC 4568), negotiated by sipcore.
//!
//! A [`Session`] is one direction of one stream: [`Session::outbound`] protects what we send,
//! [`Session::inbound`] checks and decrypts what arrives from any SSRC. Both work in place on
//! the stream's packet buffer, so the per-tick path still allocates nothing: protecting adds
//! the authentication tag (10 or 4 bytes for RTP, 4 + 10 for RTCP) after the packet, which the
//! buffer must have room for ([`MAX_TRAILER`]).

use std::ffi::{c_int, c_uint, c_ulong, c_void};
use std::sync::Once;

/// What protecting may add after a packet (the SRTCP index and the longest tag).
pub const MAX_TRAILER: usize = 4 + 16;

/// The SDES crypto suites we speak (RFC 4568 §6.2). SRTCP always uses the 80-bit tag, as RFC
/// 4568 §6.2.2 says for `_32`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Suite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

/// The master key and salt of one direction: 16 + 14 bytes for both suites.
pub type MasterKey = [u8; 30];

/// The keys of one stream: ours protects what we send, theirs checks what we receive.
#[derive(Clone, PartialEq, Eq)]
pub struct Keys {
    pub suite: Suite,
    pub send: MasterKey,
    pub receive: MasterKey,
}

impl std::fmt::Debug for Keys {
    // Keys never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keys({:?}, …)", self.suite)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    #[error("the packet failed authentication")]
    Authentication,
    #[error("the packet was a replay")]
    Replay,
    #[error("libsrtp2 error {0}")]
    Library(i32),
}

fn check(status: c_int) -> Result<(), SrtpError> {
    match status {
        0 => Ok(()),
        7 => Err(SrtpError::Authentication),
        9 | 10 => Err(SrtpError::Replay),
        other => Err(SrtpError::Library(other)),
    }
}

/// One direction's libsrtp2 context.
pub struct Session {
    ctx: ffi::srtp_t,
}

// A context is used by one thread at a time (built on the caller's thread, then moved to the
// media thread); libsrtp2 keeps no thread-local state for it.
unsafe impl Send for Session {}

impl Session {
    /// Protects packets we send, from whatever SSRC we use.
    pub fn outbound(suite: Suite, key: &MasterKey) -> Result<Self, SrtpError> {
        Self::new(suite, key, ffi::SSRC_ANY_OUTBOUND)
    }

    /// Checks and decrypts packets from any SSRC the far end uses.
    pub fn inbound(suite: Suite, key: &MasterKey) -> Result<Self, SrtpError> {
        Self::new(suite, key, ffi::SSRC_ANY_INBOUND)
    }

    fn new(suite: Suite, key: &MasterKey, ssrc_type: c_int) -> Result<Self, SrtpError> {
        static INIT: Once = Once::new();
        let mut init = 0;
        INIT.call_once(|| init = unsafe { ffi::srtp_init() });
        check(init)?;
        // libsrtp2 copies the key into the context; ours is not kept beyond this call.
        let mut key = *key;
        let mut policy = ffi::srtp_policy_t::zeroed();
        unsafe {
            match suite {
                Suite::AesCm128HmacSha1_80 => {
                    ffi::srtp_crypto_policy_set_rtp_default(&mut policy.rtp)
                }
                Suite::AesCm128HmacSha1_32 => {
                    ffi::srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&mut policy.rtp)
                }
            }
            ffi::srtp_crypto_policy_set_rtp_default(&mut policy.rtcp);
        }
        policy.ssrc.type_ = ssrc_type;
        policy.key = key.as_mut_ptr();
        // A reordered burst on a jittery network must not be taken for a replay.
        policy.window_size = 1024;
        let mut ctx: ffi::srtp_t = std::ptr::null_mut();
        check(unsafe { ffi::srtp_create(&mut ctx, &policy) })?;
        key.fill(0);
        Ok(Session { ctx })
    }

    /// Encrypts and authenticates the RTP packet in `buf[..len]`; returns the new length.
    /// `buf` needs [`MAX_TRAILER`] bytes of room after the packet.
    pub fn protect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        self.apply(buf, len, ffi::srtp_protect, true)
    }

    /// Checks and decrypts the SRTP packet in `buf[..len]`; returns the plain length.
    pub fn unprotect_rtp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        self.apply(buf, len, ffi::srtp_unprotect, false)
    }

    pub fn protect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        self.apply(buf, len, ffi::srtp_protect_rtcp, true)
    }

    pub fn unprotect_rtcp(&mut self, buf: &mut [u8], len: usize) -> Result<usize, SrtpError> {
        self.apply(buf, len, ffi::srtp_unprotect_rtcp, false)
    }

    fn apply(
        &mut self,
        buf: &mut [u8],
        len: usize,
        f: unsafe extern "C" fn(ffi::srtp_t, *mut c_void, *mut c_int) -> c_int,
        grows: bool,
    ) -> Result<usize, SrtpError> {
        // libsrtp2 reads and writes within `len` (+ the trailer when protecting) and trusts
        // us for the room: the checks here are what keeps it inside `buf`.
        let room = if grows { len + MAX_TRAILER } else { len };
        if room > buf.len() || len > c_int::MAX as usize {
            return Err(SrtpError::Library(2));
        }
        let mut n = len as c_int;
        check(unsafe { f(self.ctx, buf.as_mut_ptr().cast(), &mut n) })?;
        Ok(n.max(0) as usize)
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        unsafe {
            ffi::srtp_dealloc(self.ctx);
        }
    }
}

/// The part of libsrtp2's API (2.x, `srtp2/srtp.h`) that a call uses.
#[allow(non_camel_case_types)]
mod ffi {
    use super::*;

    pub type srtp_t = *mut c_void;

    pub const SSRC_ANY_INBOUND: c_int = 2;
    pub const SSRC_ANY_OUTBOUND: c_int = 3;

    #[repr(C)]
    pub struct srtp_crypto_policy_t {
        pub cipher_type: u32,
        pub cipher_key_len: c_int,
        pub auth_type: u32,
        pub auth_key_len: c_int,
        pub auth_tag_len: c_int,
        pub sec_serv: c_int,
    }

    #[repr(C)]
    pub struct srtp_ssrc_t {
        pub type_: c_int,
        pub value: c_uint,
    }

    #[repr(C)]
    pub struct srtp_policy_t {
        pub ssrc: srtp_ssrc_t,
        pub rtp: srtp_crypto_policy_t,
        pub rtcp: srtp_crypto_policy_t,
        pub key: *mut u8,
        pub keys: *mut c_void,
        pub num_master_keys: c_ulong,
        pub deprecated_ekt: *mut c_void,
        pub window_size: c_ulong,
        pub allow_repeat_tx: c_int,
        pub enc_xtn_hdr: *mut c_int,
        pub enc_xtn_hdr_count: c_int,
        pub next: *mut srtp_policy_t,
    }

    impl srtp_policy_t {
        pub fn zeroed() -> Self {
            // All fields are integers or pointers, for which zero is "none".
            unsafe { std::mem::zeroed() }
        }
    }

    #[link(name = "srtp2")]
    unsafe extern "C" {
        pub fn srtp_init() -> c_int;
        pub fn srtp_create(session: *mut srtp_t, policy: *const srtp_policy_t) -> c_int;
        pub fn srtp_dealloc(session: srtp_t) -> c_int;
        pub fn srtp_protect(ctx: srtp_t, hdr: *mut c_void, len: *mut c_int) -> c_int;
        pub fn srtp_unprotect(ctx: srtp_t, hdr: *mut c_void, len: *mut c_int) -> c_int;
        pub fn srtp_protect_rtcp(ctx: srtp_t, hdr: *mut c_void, len: *mut c_int) -> c_int;
        pub fn srtp_unprotect_rtcp(ctx: srtp_t, hdr: *mut c_void, len: *mut c_int) -> c_int;
        pub fn srtp_crypto_policy_set_rtp_default(p: *mut srtp_crypto_policy_t);
        pub fn srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(p: *mut srtp_crypto_policy_t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{RtpHeader, parse_rtp, write_rtp};

    fn packet(seq: u16, payload: &[u8], buf: &mut [u8]) -> usize {
        let h = RtpHeader {
            marker: false,
            payload_type: 0,
            sequence: seq,
            timestamp: seq as u32 * 160,
            ssrc: 0x1234_5678,
        };
        write_rtp(&h, payload, buf)
    }

    #[test]
    fn a_protected_packet_hides_its_payload_and_comes_back_whole() {
        for (suite, tag) in [
            (Suite::AesCm128HmacSha1_80, 10),
            (Suite::AesCm128HmacSha1_32, 4),
        ] {
            let key: MasterKey = std::array::from_fn(|i| i as u8 * 7);
            let mut tx = Session::outbound(suite, &key).unwrap();
            let mut rx = Session::inbound(suite, &key).unwrap();
            let payload = [0x55u8; 160];
            let mut buf = [0u8; 400];
            let n = packet(1, &payload, &mut buf);
            let sent = tx.protect_rtp(&mut buf, n).unwrap();
            assert_eq!(sent, n + tag);
            assert_ne!(&buf[12..n], &payload[..], "the payload is encrypted");
            let got = rx.unprotect_rtp(&mut buf, sent).unwrap();
            let (h, p) = parse_rtp(&buf[..got]).unwrap();
            assert_eq!((h.sequence, p), (1, &payload[..]));
        }
    }

    #[test]
    fn a_wrong_key_a_changed_byte_and_a_replay_are_refused() {
        let key: MasterKey = [3; 30];
        let mut tx = Session::outbound(Suite::AesCm128HmacSha1_80, &key).unwrap();
        let mut rx = Session::inbound(Suite::AesCm128HmacSha1_80, &key).unwrap();
        let mut other = Session::inbound(Suite::AesCm128HmacSha1_80, &[4; 30]).unwrap();
        let mut buf = [0u8; 400];
        let n = packet(7, &[1; 160], &mut buf);
        let sent = tx.protect_rtp(&mut buf, n).unwrap();
        let wire = buf;
        assert_eq!(
            other.unprotect_rtp(&mut buf.clone(), sent),
            Err(SrtpError::Authentication)
        );
        let mut tampered = wire;
        tampered[20] ^= 1;
        assert_eq!(
            rx.unprotect_rtp(&mut tampered, sent),
            Err(SrtpError::Authentication)
        );
        assert!(rx.unprotect_rtp(&mut wire.clone(), sent).is_ok());
        assert_eq!(
            rx.unprotect_rtp(&mut wire.clone(), sent),
            Err(SrtpError::Replay)
        );
    }

    #[test]
    fn rtcp_round_trips_and_a_short_buffer_is_an_error_not_an_overrun() {
        let key: MasterKey = [9; 30];
        let mut tx = Session::outbound(Suite::AesCm128HmacSha1_32, &key).unwrap();
        let mut rx = Session::inbound(Suite::AesCm128HmacSha1_32, &key).unwrap();
        let mut buf = [0u8; 200];
        let n = crate::rtp::write_rtcp(0x1234_5678, None, None, &mut buf);
        let plain = buf[..n].to_vec();
        let sent = tx.protect_rtcp(&mut buf, n).unwrap();
        assert_eq!(sent, n + 4 + 10, "SRTCP index and an 80-bit tag");
        let got = rx.unprotect_rtcp(&mut buf, sent).unwrap();
        assert_eq!(&buf[..got], &plain[..]);
        let mut small = [0u8; 20];
        assert!(tx.protect_rtp(&mut small, 12).is_err());
    }
}
