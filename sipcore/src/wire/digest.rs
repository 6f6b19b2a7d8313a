//! HTTP digest authentication for SIP, done here rather than by rsipstack: MD5 (RFC 3261 §22,
//! RFC 2617), SHA-256 and SHA-512-256 (RFC 8760, RFC 7616), `qop=auth`, reuse of a nonce with a
//! rising nonce count, and `stale=true`.
//!
//! Why not rsipstack's `handle_client_authenticate` (0.7.14): its `Algorithm` parser only knows
//! `SHA256`, not the registered name `SHA-256`, so a real SHA-256 challenge (Kamailio's) fails to
//! parse and the request is never retried; it writes `algorithm=SHA256` back, which servers do not
//! recognise; it prints `nc` in decimal where RFC 7616 §3.4 wants 8 hex digits, in a `u8`; it
//! cannot read `qop="auth,auth-int"`; and it starts from scratch with `nc=1` on every request, so
//! each REGISTER refresh costs an extra 401 round trip. [`DigestSession`] keeps the last
//! challenge and answers the next request with it at once.
//!
//! This is the one place a challenge is answered, for every request: the loops that send
//! REGISTER and requests outside a dialog call [`DigestSession::retry_after`], and the requests
//! rsipstack's dialogs send (INVITE, re-INVITE, BYE, in-dialog SUBSCRIBE, …) are answered from
//! here by [`super::dialog_auth`].

use std::fmt;

use md5::Md5;
use rsipstack::sip::{Header, Response, StatusCode};
use sha2::{Digest, Sha256, Sha512_256};

/// The user's secret, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The digest `username` (the auth ID when it differs from the extension).
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl Credentials {
    pub fn of(account: &crate::Account) -> Self {
        Self {
            username: account
                .auth_username
                .clone()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| account.username.clone()),
            password: account.password.clone(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Md5Sess,
    Sha256,
    Sha256Sess,
    Sha512_256,
    Sha512_256Sess,
}

impl Algorithm {
    /// The registered token (RFC 7616 §6.1, RFC 8760 §2.2); an absent parameter means MD5.
    pub fn parse(token: &str) -> Option<Self> {
        let t = token.trim().trim_matches('"').to_ascii_uppercase();
        Some(match t.as_str() {
            "MD5" => Self::Md5,
            "MD5-SESS" => Self::Md5Sess,
            "SHA-256" => Self::Sha256,
            "SHA-256-SESS" => Self::Sha256Sess,
            "SHA-512-256" => Self::Sha512_256,
            "SHA-512-256-SESS" => Self::Sha512_256Sess,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Md5Sess => "MD5-sess",
            Self::Sha256 => "SHA-256",
            Self::Sha256Sess => "SHA-256-sess",
            Self::Sha512_256 => "SHA-512-256",
            Self::Sha512_256Sess => "SHA-512-256-sess",
        }
    }

    fn is_session(self) -> bool {
        matches!(
            self,
            Self::Md5Sess | Self::Sha256Sess | Self::Sha512_256Sess
        )
    }

    fn hash(self, text: &str) -> String {
        let bytes: Vec<u8> = match self {
            Self::Md5 | Self::Md5Sess => Md5::digest(text.as_bytes()).to_vec(),
            Self::Sha256 | Self::Sha256Sess => Sha256::digest(text.as_bytes()).to_vec(),
            Self::Sha512_256 | Self::Sha512_256Sess => Sha512_256::digest(text.as_bytes()).to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Which header the challenge came in, and so which one answers it (RFC 3261 §22.2, §22.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeKind {
    /// 401, `WWW-Authenticate`, answered with `Authorization`.
    Www,
    /// 407, `Proxy-Authenticate`, answered with `Proxy-Authorization`.
    Proxy,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub kind: ChallengeKind,
    pub realm: String,
    pub nonce: String,
    pub opaque: Option<String>,
    pub algorithm: Algorithm,
    /// The server offered `qop=auth`; we then send `qop`, `nc` and `cnonce`.
    pub qop_auth: bool,
    /// The server says the credentials were right and only the nonce was too old.
    pub stale: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("the server's challenge is not a digest challenge")]
    NotDigest,
    #[error("the server's challenge has no {0}")]
    Missing(&'static str),
    #[error("the server asks for digest algorithm {0}, which Switchboard does not support")]
    UnsupportedAlgorithm(String),
    #[error("the server asks for qop {0}, which Switchboard does not support")]
    UnsupportedQop(String),
    #[error("the server's 401/407 carries no challenge")]
    NoChallenge,
}

impl Challenge {
    /// Reads one `Digest realm="…", nonce="…", …` header value.
    pub fn parse(kind: ChallengeKind, value: &str) -> Result<Self, DigestError> {
        let value = value.trim();
        let (scheme, rest) = value.split_once(char::is_whitespace).unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("digest") {
            return Err(DigestError::NotDigest);
        }
        let params = parse_params(rest);
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let algorithm = match get("algorithm") {
            None => Algorithm::Md5,
            Some(a) => Algorithm::parse(&a).ok_or(DigestError::UnsupportedAlgorithm(a))?,
        };
        // RFC 7616 §3.3: qop is a list; we speak `auth`. A server that offers only auth-int is
        // one we cannot answer (we would need to hash the body for each request).
        let qop_auth = match get("qop") {
            None => false,
            Some(q) => {
                if q.split(',').any(|t| t.trim().eq_ignore_ascii_case("auth")) {
                    true
                } else {
                    return Err(DigestError::UnsupportedQop(q));
                }
            }
        };
        Ok(Self {
            kind,
            realm: get("realm").ok_or(DigestError::Missing("realm"))?,
            nonce: get("nonce").ok_or(DigestError::Missing("nonce"))?,
            opaque: get("opaque"),
            algorithm,
            qop_auth,
            stale: get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }

    /// The challenge of a 401 or 407 to answer. A server may offer several, most preferred
    /// first (RFC 8760 §2.4): we take the topmost one we support.
    pub fn from_response(resp: &Response) -> Result<Self, DigestError> {
        let (kind, name) = if resp.status_code == StatusCode::ProxyAuthenticationRequired {
            (ChallengeKind::Proxy, "Proxy-Authenticate")
        } else {
            (ChallengeKind::Www, "WWW-Authenticate")
        };
        let mut first_error = None;
        for h in resp.headers.iter() {
            if !h.name().eq_ignore_ascii_case(name) {
                continue;
            }
            match Self::parse(kind, h.value()) {
                Ok(c) => return Ok(c),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        Err(first_error.unwrap_or(DigestError::NoChallenge))
    }
}

/// `k=v, k="quoted, with commas"` → pairs, with quotes and backslash escapes removed.
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.trim().is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                value.push(n);
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
            }
        }
        out.push((key.trim().to_string(), value.trim().to_string()));
    }
    out
}

/// One answer to a challenge, ready to be a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    pub kind: ChallengeKind,
    pub value: String,
    /// The nonce count it used (1 for a fresh challenge).
    pub nc: u32,
}

impl Authorization {
    pub fn header(&self) -> Header {
        match self.kind {
            ChallengeKind::Www => Header::Authorization(self.value.clone().into()),
            ChallengeKind::Proxy => Header::ProxyAuthorization(self.value.clone().into()),
        }
    }
}

/// The response to `challenge` for one request (RFC 7616 §3.4.1), with nonce count `nc` and
/// client nonce `cnonce`.
pub fn answer(
    challenge: &Challenge,
    credentials: &Credentials,
    method: &str,
    uri: &str,
    nc: u32,
    cnonce: &str,
) -> Authorization {
    let alg = challenge.algorithm;
    let mut ha1 = alg.hash(&format!(
        "{}:{}:{}",
        credentials.username, challenge.realm, credentials.password
    ));
    if alg.is_session() {
        ha1 = alg.hash(&format!("{ha1}:{}:{cnonce}", challenge.nonce));
    }
    let ha2 = alg.hash(&format!("{method}:{uri}"));
    let nc_text = format!("{nc:08x}");
    let response = if challenge.qop_auth {
        alg.hash(&format!(
            "{ha1}:{}:{nc_text}:{cnonce}:auth:{ha2}",
            challenge.nonce
        ))
    } else {
        alg.hash(&format!("{ha1}:{}:{ha2}", challenge.nonce))
    };
    let q = quote;
    let mut value = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response={}, algorithm={}",
        q(&credentials.username),
        q(&challenge.realm),
        q(&challenge.nonce),
        q(uri),
        q(&response),
        alg.name()
    );
    if let Some(o) = &challenge.opaque {
        value.push_str(&format!(", opaque={}", q(o)));
    }
    if challenge.qop_auth {
        // qop and nc are tokens, not quoted strings (RFC 7616 §3.4).
        value.push_str(&format!(", qop=auth, nc={nc_text}, cnonce={}", q(cnonce)));
    }
    Authorization {
        kind: challenge.kind,
        value,
        nc,
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The digest state of one kind of request to one server (REGISTER, or PUBLISH): the last
/// challenge and how many times its nonce has been used, so the next request carries credentials
/// straight away (RFC 7616 §3.4: the client reuses the nonce with a higher nc) instead of waiting
/// for another 401.
#[derive(Debug, Default)]
pub struct DigestSession {
    challenge: Option<Challenge>,
    nc: u32,
}

impl DigestSession {
    pub fn new() -> Self {
        Self::default()
    }

    /// Credentials for a new request on the nonce we hold, or `None` before the first challenge.
    pub fn preemptive(
        &mut self,
        credentials: &Credentials,
        method: &str,
        uri: &str,
    ) -> Option<Authorization> {
        let challenge = self.challenge.as_ref()?;
        self.nc += 1;
        Some(answer(
            challenge,
            credentials,
            method,
            uri,
            self.nc,
            &cnonce(),
        ))
    }

    /// Adopts a fresh challenge and answers it (`nc=1`).
    pub fn answer_challenge(
        &mut self,
        challenge: Challenge,
        credentials: &Credentials,
        method: &str,
        uri: &str,
    ) -> Authorization {
        self.nc = 1;
        let auth = answer(&challenge, credentials, method, uri, 1, &cnonce());
        self.challenge = Some(challenge);
        auth
    }

    /// Forgets the nonce (signed out, or the server changed).
    pub fn reset(&mut self) {
        self.challenge = None;
        self.nc = 0;
    }

    pub fn nonce(&self) -> Option<&str> {
        self.challenge.as_ref().map(|c| c.nonce.as_str())
    }

    /// The credentials to send `method` to `uri` again with, after `response` (a 401 or 407)
    /// refused it; `None` when the refusal proves the password wrong, and the nonce is then
    /// forgotten. `sent` and `retries` are as for [`judge`].
    pub fn retry_after(
        &mut self,
        response: &Response,
        credentials: &Credentials,
        request: (&str, &str),
        sent: Option<u32>,
        retries: u32,
    ) -> Result<Option<Authorization>, DigestError> {
        let (method, uri) = request;
        let challenge = Challenge::from_response(response)?;
        if judge(&challenge, sent, retries) == Verdict::Rejected {
            self.reset();
            return Ok(None);
        }
        tracing::debug!(
            method,
            stale = challenge.stale,
            algorithm = challenge.algorithm.name(),
            sent_nc = sent,
            "challenged; answering"
        );
        Ok(Some(self.answer_challenge(
            challenge,
            credentials,
            method,
            uri,
        )))
    }
}

/// What to do with a 401/407, given what the request carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Answer the challenge and send the request again.
    Retry,
    /// The server refused these credentials: the password (or user) is wrong.
    Rejected,
}

/// Decides whether a 401/407 means "try again" or "wrong password", so that a stale or
/// merely reused nonce never reaches the user as a rejected password.
///
/// `sent` is the nc of the credentials the refused request carried: `None` when it carried
/// none, 1 when it answered a fresh challenge, more when it reused a nonce. `retries` counts the
/// challenges already answered for this request, bounding a server that always says stale.
pub fn judge(challenge: &Challenge, sent: Option<u32>, retries: u32) -> Verdict {
    const MAX_RETRIES: u32 = 3;
    if retries >= MAX_RETRIES {
        return Verdict::Rejected;
    }
    match sent {
        None => Verdict::Retry,
        // A reused nonce refused: some servers (Asterisk) forget nonces or ignore nc without
        // saying stale. Only an answer to a fresh challenge can prove the password wrong.
        Some(nc) if nc > 1 => Verdict::Retry,
        Some(_) if challenge.stale => Verdict::Retry,
        Some(_) => Verdict::Rejected,
    }
}

fn cnonce() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..16)
        .map(|_| format!("{:x}", rng.random_range(0..16u8)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(user: &str, pw: &str) -> Credentials {
        Credentials {
            username: user.into(),
            password: pw.into(),
        }
    }

    /// RFC 7616 §3.9.1's example, carried to SIP: MD5 and SHA-256 responses for user Mufasa.
    #[test]
    fn matches_the_rfc_7616_examples() {
        let base = |alg| Challenge {
            kind: ChallengeKind::Www,
            realm: "http-auth@example.org".into(),
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v".into(),
            opaque: Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS".into()),
            algorithm: alg,
            qop_auth: true,
            stale: false,
        };
        let cn = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        let md5 = answer(
            &base(Algorithm::Md5),
            &creds("Mufasa", "Circle of Life"),
            "GET",
            "/dir/index.html",
            1,
            cn,
        );
        assert!(
            md5.value
                .contains("response=\"8ca523f5e9506fed4657c9700eebdbec\""),
            "{}",
            md5.value
        );
        let sha = answer(
            &base(Algorithm::Sha256),
            &creds("Mufasa", "Circle of Life"),
            "GET",
            "/dir/index.html",
            1,
            cn,
        );
        assert!(
            sha.value.contains(
                "response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\""
            ),
            "{}",
            sha.value
        );
        assert!(sha.value.contains("algorithm=SHA-256"));
        assert!(sha.value.contains("qop=auth, nc=00000001,"));
    }

    #[test]
    fn reads_challenges_with_quoted_lists_and_stale() {
        let c = Challenge::parse(
            ChallengeKind::Proxy,
            r#"Digest realm="pbx, inc", nonce="a=b+c/", qop="auth,auth-int", algorithm=SHA-256, stale=TRUE, opaque="o""#,
        )
        .unwrap();
        assert_eq!(c.realm, "pbx, inc");
        assert_eq!(c.nonce, "a=b+c/");
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert!(c.qop_auth && c.stale);
        assert_eq!(c.opaque.as_deref(), Some("o"));
        let plain = Challenge::parse(ChallengeKind::Www, r#"Digest realm="r",nonce="n""#).unwrap();
        assert_eq!(plain.algorithm, Algorithm::Md5);
        assert!(!plain.qop_auth && !plain.stale);
        assert_eq!(
            Challenge::parse(
                ChallengeKind::Www,
                r#"Digest realm="r", nonce="n", algorithm=SHA-1"#
            ),
            Err(DigestError::UnsupportedAlgorithm("SHA-1".into()))
        );
        assert_eq!(
            Challenge::parse(ChallengeKind::Www, "Basic realm=\"r\""),
            Err(DigestError::NotDigest)
        );
    }

    #[test]
    fn a_session_reuses_the_nonce_with_a_hex_nonce_count() {
        let c = Challenge::parse(
            ChallengeKind::Www,
            r#"Digest realm="r", nonce="n", qop="auth""#,
        )
        .unwrap();
        let me = creds("2001", "pw");
        let mut s = DigestSession::new();
        assert!(s.preemptive(&me, "REGISTER", "sip:r").is_none());
        assert_eq!(s.answer_challenge(c, &me, "REGISTER", "sip:r").nc, 1);
        for _ in 2..=16 {
            s.preemptive(&me, "REGISTER", "sip:r").unwrap();
        }
        let a = s.preemptive(&me, "REGISTER", "sip:r").unwrap();
        assert_eq!(a.nc, 17);
        assert!(a.value.contains("nc=00000011"), "{}", a.value);
        s.reset();
        assert!(s.preemptive(&me, "REGISTER", "sip:r").is_none());
    }

    #[test]
    fn only_a_fresh_answer_refused_without_stale_is_a_wrong_password() {
        let mut c = Challenge::parse(ChallengeKind::Www, r#"Digest realm="r", nonce="n""#).unwrap();
        assert_eq!(judge(&c, None, 0), Verdict::Retry);
        assert_eq!(judge(&c, Some(1), 1), Verdict::Rejected);
        assert_eq!(judge(&c, Some(4), 0), Verdict::Retry);
        c.stale = true;
        assert_eq!(judge(&c, Some(1), 1), Verdict::Retry);
        assert_eq!(judge(&c, Some(1), 3), Verdict::Rejected);
    }

    /// Why this module exists: rsipstack 0.7.14 cannot read the algorithm name RFC 8760 registers,
    /// so it cannot answer Kamailio's SHA-256 challenge. When this fails, rsipstack has learnt
    /// `SHA-256` and its own digest code may be worth another look.
    #[test]
    fn rsipstack_still_cannot_read_an_rfc_8760_challenge() {
        let kamailio = r#"Digest realm="127.0.0.1", nonce="n", qop="auth", algorithm=SHA-256"#;
        assert!(rsipstack::sip::typed::WwwAuthenticate::parse(kamailio).is_err());
        assert!(Challenge::parse(ChallengeKind::Www, kamailio).is_ok());
    }

    #[test]
    fn the_password_stays_out_of_debug_output() {
        assert!(!format!("{:?}", creds("u", "hunter2")).contains("hunter2"));
    }
}
