//! SRTP keys in the session description (SDES, RFC 4568): the `a=crypto` attribute, the
//! account's policy, and the choice an offer and an answer make between them.
//!
//! * We offer both suites we speak under tags 1 and 2 (`AES_CM_128_HMAC_SHA1_80` first), with
//!   one fresh key per call from the OS-seeded CSPRNG. The answerer takes one by its tag and
//!   gives its own key under the same tag (§7.1.2).
//! * An attribute we cannot use is left out of the choice: an unknown suite, a key method other
//!   than `inline`, a key that is not 30 bytes of base64 (too long or too short), several keys
//!   or an MKI (we keep one key per direction), an unknown session parameter (§6.3: it must not
//!   be ignored). Two attributes with the same tag make the whole stream unusable (§9.1).
//! * The policy decides what is acceptable: [`SrtpPolicy::Off`] never offers keys and refuses
//!   `RTP/SAVP`; [`SrtpPolicy::Optional`] offers keys in `RTP/AVP` (best effort, as Asterisk's
//!   `media_encryption_optimistic` and most softphones do) and encrypts whenever the other side
//!   gives a key; [`SrtpPolicy::Required`] offers `RTP/SAVP` and refuses any stream without a
//!   usable key. An encrypted call never falls back to plain RTP in a re-INVITE.
//!
//! Keys travel in the SIP message: only TLS signalling keeps them private, which Settings says.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
pub use media::srtp::{Keys, MasterKey, Suite};

/// Whether calls are encrypted (a per-account setting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SrtpPolicy {
    #[default]
    Off,
    Optional,
    Required,
}

/// One usable `a=crypto` attribute.
#[derive(Clone, PartialEq, Eq)]
pub struct Crypto {
    pub tag: u32,
    pub suite: Suite,
    pub key: MasterKey,
}

impl std::fmt::Debug for Crypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crypto({} {:?})", self.tag, self.suite)
    }
}

/// Why an `a=crypto` attribute cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CryptoFault {
    #[error("malformed crypto attribute")]
    Malformed,
    #[error("unsupported crypto suite {0}")]
    Suite(String),
    #[error("unsupported key method (only inline)")]
    KeyMethod,
    #[error("the key is not valid base64")]
    Base64,
    #[error("the key is {0} bytes, not 30")]
    KeyLength(usize),
    #[error("several keys or an MKI, which we do not use")]
    Mki,
    #[error("the key lifetime is malformed")]
    Lifetime,
    #[error("unknown session parameter {0}")]
    SessionParameter(String),
}

/// The suite's name in SDP (RFC 4568 §6.2).
pub fn suite_name(suite: Suite) -> &'static str {
    match suite {
        Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
        Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
    }
}

fn suite_named(name: &str) -> Option<Suite> {
    [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32]
        .into_iter()
        .find(|s| suite_name(*s) == name)
}

/// The tag of an attribute, when there is one to read: duplicates are found even among
/// attributes that are otherwise unusable.
pub fn tag_of(value: &str) -> Option<u32> {
    value.split_whitespace().next()?.parse().ok()
}

/// Reads the value of `a=crypto:` (RFC 4568 §9.1):
/// `tag suite inline:key||salt[|lifetime][|MKI:length] [session-params]`.
pub fn parse(value: &str) -> Result<Crypto, CryptoFault> {
    let mut parts = value.split_whitespace();
    let tag = parts
        .next()
        .and_then(|t| t.parse::<u32>().ok())
        .filter(|t| t.to_string().len() <= 9)
        .ok_or(CryptoFault::Malformed)?;
    let suite = parts.next().ok_or(CryptoFault::Malformed)?;
    let suite = suite_named(suite).ok_or_else(|| CryptoFault::Suite(suite.to_string()))?;
    let params = parts.next().ok_or(CryptoFault::Malformed)?;
    if let Some(extra) = parts.next() {
        return Err(CryptoFault::SessionParameter(extra.to_string()));
    }
    if params.contains(';') {
        return Err(CryptoFault::Mki);
    }
    let inline = params
        .strip_prefix("inline:")
        .ok_or(CryptoFault::KeyMethod)?;
    let mut fields = inline.split('|');
    let key_b64 = fields.next().unwrap_or("");
    for field in fields {
        if field.contains(':') {
            return Err(CryptoFault::Mki);
        }
        lifetime(field).ok_or(CryptoFault::Lifetime)?;
    }
    let bytes = STANDARD.decode(key_b64).map_err(|_| CryptoFault::Base64)?;
    let key: MasterKey = bytes
        .as_slice()
        .try_into()
        .map_err(|_| CryptoFault::KeyLength(bytes.len()))?;
    Ok(Crypto { tag, suite, key })
}

/// `2^31` or `1048576`: a number of packets (§6.1); the caller only checks it is one.
fn lifetime(field: &str) -> Option<u64> {
    match field.strip_prefix("2^") {
        Some(exp) => exp.parse::<u32>().ok().filter(|e| *e <= 48).map(|e| 1 << e),
        None => field.parse().ok(),
    }
}

/// The attribute's value as we write it.
pub fn render(c: &Crypto) -> String {
    format!(
        "{} {} inline:{}",
        c.tag,
        suite_name(c.suite),
        STANDARD.encode(c.key)
    )
}

/// A fresh master key and salt.
pub fn fresh_key() -> MasterKey {
    let mut key = [0u8; 30];
    rand::Rng::fill(&mut rand::rng(), &mut key[..]);
    key
}

/// What we offer: both suites under one key, or nothing when encryption is off.
pub fn offered(policy: SrtpPolicy, key: &MasterKey) -> Vec<Crypto> {
    if policy == SrtpPolicy::Off {
        return Vec::new();
    }
    [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32]
        .into_iter()
        .zip(1..)
        .map(|(suite, tag)| Crypto {
            tag,
            suite,
            key: *key,
        })
        .collect()
}

/// Why a stream's security is not acceptable; the answer to such an offer is port 0, or 488.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("encryption is off for this account and the stream is RTP/SAVP")]
    EncryptionOff,
    #[error("the stream offers no usable key ({0})")]
    NoUsableKey(String),
    #[error("this account requires encryption and the stream has no key")]
    Unencrypted,
}

/// The attribute an answerer takes from an offer, by policy: `Ok(None)` is plain RTP.
/// `secure_profile` is true for `RTP/SAVP`; `attrs` are the offer's attributes as read.
pub fn choose(
    policy: SrtpPolicy,
    secure_profile: bool,
    attrs: &[Result<Crypto, CryptoFault>],
) -> Result<Option<Crypto>, Refusal> {
    let usable = attrs.iter().find_map(|a| a.as_ref().ok()).cloned();
    let why = || {
        attrs
            .iter()
            .find_map(|a| a.as_ref().err())
            .map_or("no crypto attribute".to_string(), |f| f.to_string())
    };
    match (policy, secure_profile) {
        (SrtpPolicy::Off, true) => Err(Refusal::EncryptionOff),
        (SrtpPolicy::Off, false) => Ok(None),
        (_, true) => usable.map(Some).ok_or_else(|| Refusal::NoUsableKey(why())),
        (SrtpPolicy::Optional, false) => Ok(usable),
        (SrtpPolicy::Required, false) => match usable {
            Some(c) => Ok(Some(c)),
            None if attrs.is_empty() => Err(Refusal::Unencrypted),
            None => Err(Refusal::NoUsableKey(why())),
        },
    }
}

/// The keys of a call from the attribute in the answer and the offer's attribute with the
/// same tag and suite. `None`: the answer took no key (or one we never offered).
pub fn keys(offer: &[Crypto], answer: &[Crypto], we_offered: bool) -> Option<Keys> {
    let a = answer.first()?;
    let o = offer
        .iter()
        .find(|o| o.tag == a.tag && o.suite == a.suite)?;
    let (ours, theirs) = if we_offered { (o, a) } else { (a, o) };
    Some(Keys {
        suite: a.suite,
        send: ours.key,
        receive: theirs.key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    #[test]
    fn reads_the_rfc_example_and_writes_it_back() {
        let c = parse(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^20")).unwrap();
        assert_eq!((c.tag, c.suite), (1, Suite::AesCm128HmacSha1_80));
        assert_eq!(
            render(&c),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")
        );
        assert_eq!(parse(&render(&c)).unwrap(), c);
    }

    #[test]
    fn unusable_attributes_say_why() {
        let cases = [
            ("1 AES_CM_128_HMAC_SHA1_80", CryptoFault::Malformed),
            (
                "1 F8_128_HMAC_SHA1_80 inline:{K}",
                CryptoFault::Suite("F8_128_HMAC_SHA1_80".into()),
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 uri:https://example.com/key",
                CryptoFault::KeyMethod,
            ),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:@@@@", CryptoFault::Base64),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:{K}AAAA",
                CryptoFault::KeyLength(33),
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:QUJD",
                CryptoFault::KeyLength(3),
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:{K}|2^20|1:4",
                CryptoFault::Mki,
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:{K};inline:{K}",
                CryptoFault::Mki,
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:{K}|forever",
                CryptoFault::Lifetime,
            ),
            (
                "1 AES_CM_128_HMAC_SHA1_80 inline:{K} UNENCRYPTED_SRTP",
                CryptoFault::SessionParameter("UNENCRYPTED_SRTP".into()),
            ),
            (
                "x AES_CM_128_HMAC_SHA1_80 inline:{K}",
                CryptoFault::Malformed,
            ),
        ];
        for (line, fault) in cases {
            assert_eq!(parse(&line.replace("{K}", KEY)), Err(fault), "{line}");
        }
    }

    #[test]
    fn the_policy_decides_what_an_offer_gets() {
        let good = Ok(parse(&format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}")).unwrap());
        let bad = Err(CryptoFault::Base64);
        use SrtpPolicy::*;
        assert_eq!(
            choose(Off, true, std::slice::from_ref(&good)),
            Err(Refusal::EncryptionOff)
        );
        assert_eq!(choose(Off, false, std::slice::from_ref(&good)), Ok(None));
        assert_eq!(choose(Optional, false, &[]), Ok(None));
        assert_eq!(
            choose(Optional, false, std::slice::from_ref(&bad)),
            Ok(None)
        );
        assert_eq!(
            choose(Optional, true, &[bad.clone(), good.clone()])
                .unwrap()
                .unwrap()
                .tag,
            2
        );
        assert_eq!(
            choose(Optional, true, std::slice::from_ref(&bad)),
            Err(Refusal::NoUsableKey("the key is not valid base64".into()))
        );
        assert_eq!(choose(Required, false, &[]), Err(Refusal::Unencrypted));
        assert!(choose(Required, false, &[good]).unwrap().is_some());
    }

    #[test]
    fn keys_pair_our_key_with_theirs_under_the_answered_tag() {
        let ours = offered(SrtpPolicy::Optional, &[1; 30]);
        assert_eq!(ours.len(), 2);
        let answer = [Crypto {
            tag: 2,
            suite: Suite::AesCm128HmacSha1_32,
            key: [2; 30],
        }];
        let k = keys(&ours, &answer, true).unwrap();
        assert_eq!(
            (k.suite, k.send, k.receive),
            (Suite::AesCm128HmacSha1_32, [1; 30], [2; 30])
        );
        let k = keys(&ours, &answer, false).unwrap();
        assert_eq!((k.send, k.receive), ([2; 30], [1; 30]));
        assert!(keys(&ours, &[], true).is_none());
        assert!(offered(SrtpPolicy::Off, &[1; 30]).is_empty());
        assert_ne!(fresh_key(), fresh_key());
    }
}
