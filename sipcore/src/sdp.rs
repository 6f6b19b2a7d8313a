//! SDP offer and answer for one audio stream (RFC 4566, RFC 3264). We offer Opus, G.722, PCMU,
//! PCMA and telephone-event; the answer picks the first codec of the offer that both sides
//! support, and mirrors the direction (sendonly is answered recvonly, and so on).
//!
//! An offer may carry more streams than we take (video, a second audio, a stream over a
//! transport we do not speak). [`parse_offer`] picks the first plain-RTP audio stream with a
//! codec in common and keeps every m-line as a [`Layout`]: each SDP we write in that session
//! repeats the m-lines in their order, the ones we do not take with port 0 (RFC 3264 §6, §8).
//! An offer with nothing we can take is an [`SdpError`] whose [`SdpError::warning`] is the
//! `Warning` (RFC 3261 §20.43) that goes with the 488.
//!
//! SRTP keys (`a=crypto`, `RTP/SAVP`) are read and written here and judged in [`crate::sdes`]
//! by the account's policy, which [`Security`] carries with the call's own key.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use crate::sdes::{self, Crypto, CryptoFault, SrtpPolicy};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodecName {
    Opus,
    G722,
    Pcmu,
    Pcma,
}

impl CodecName {
    fn encoding(self) -> &'static str {
        match self {
            CodecName::Opus => "opus",
            CodecName::G722 => "G722",
            CodecName::Pcmu => "PCMU",
            CodecName::Pcma => "PCMA",
        }
    }

    /// The RTP clock rate written in SDP (G.722 says 8000 for historical reasons, RFC 3551).
    fn sdp_rate(self) -> u32 {
        match self {
            CodecName::Opus => 48000,
            _ => 8000,
        }
    }

    fn static_pt(self) -> Option<u8> {
        match self {
            CodecName::Pcmu => Some(0),
            CodecName::Pcma => Some(8),
            CodecName::G722 => Some(9),
            CodecName::Opus => None,
        }
    }

    fn from_encoding(name: &str, rate: u32) -> Option<Self> {
        match (name.to_ascii_lowercase().as_str(), rate) {
            ("opus", 48000) => Some(CodecName::Opus),
            ("g722", 8000) => Some(CodecName::G722),
            ("pcmu", 8000) => Some(CodecName::Pcmu),
            ("pcma", 8000) => Some(CodecName::Pcma),
            _ => None,
        }
    }
}

/// The negotiated codec for a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Codec {
    pub name: CodecName,
    pub payload_type: u8,
    /// The RTP clock rate written in SDP.
    pub clock_rate: u32,
    pub channels: u8,
    /// The `a=fmtp` parameters, as written.
    pub fmtp: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Direction {
    #[default]
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    fn attr(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// What we answer to a remote direction, capped by what we want ourselves.
    pub fn answer_to(remote: Direction, ours: Direction) -> Direction {
        let (they_send, they_recv) = remote.flows();
        let (we_send, we_recv) = ours.flows();
        Direction::from_flows(we_send && they_recv, we_recv && they_send)
    }

    /// (sends, receives)
    pub fn flows(self) -> (bool, bool) {
        match self {
            Direction::SendRecv => (true, true),
            Direction::SendOnly => (true, false),
            Direction::RecvOnly => (false, true),
            Direction::Inactive => (false, false),
        }
    }

    pub fn from_flows(send: bool, recv: bool) -> Direction {
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
}

/// What we can say about one side's audio stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaDescription {
    /// Where to send RTP (connection address and media port). Port 0 means the stream is
    /// rejected.
    pub rtp: SocketAddr,
    /// Where to send RTCP when the description says (`a=rtcp`, RFC 3605); otherwise the RTP
    /// port plus one, see [`MediaDescription::rtcp_addr`].
    pub rtcp: Option<SocketAddr>,
    /// Payload types in the order of preference given.
    pub codecs: Vec<Codec>,
    pub telephone_event: Option<u8>,
    pub direction: Direction,
    pub ptime: Option<u32>,
    /// `RTP/SAVP` rather than `RTP/AVP`.
    pub secure: bool,
    /// The `a=crypto` attributes in order, each usable or why not.
    pub crypto: Vec<Result<Crypto, CryptoFault>>,
    /// ICE credentials and candidates (RFC 8839), when the side runs ICE.
    pub ice: Option<IceAttributes>,
    /// `a=rtcp-mux` (RFC 5761): RTCP on the RTP port.
    pub rtcp_mux: bool,
}

/// A side's ICE attributes: `a=ice-ufrag`, `a=ice-pwd` and its `a=candidate` lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IceAttributes {
    pub ufrag: String,
    pub pwd: String,
    /// Each as written after `a=`, `candidate:` included.
    pub candidates: Vec<String>,
}

/// The account's encryption policy and this call's own master key (one per call, kept for
/// its re-INVITEs).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Security {
    pub policy: SrtpPolicy,
    pub key: sdes::MasterKey,
}

impl Security {
    pub fn new(policy: SrtpPolicy) -> Self {
        Security {
            policy,
            key: sdes::fresh_key(),
        }
    }
}

impl std::fmt::Debug for Security {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Security({:?})", self.policy)
    }
}

impl MediaDescription {
    /// The RTCP address: the RTP address with rtcp-mux, else `a=rtcp` if given, else RTP port
    /// + 1 (RFC 3550 §11).
    pub fn rtcp_addr(&self) -> SocketAddr {
        if self.rtcp_mux {
            return self.rtp;
        }
        self.rtcp
            .unwrap_or_else(|| SocketAddr::new(self.rtp.ip(), self.rtp.port().wrapping_add(1)))
    }

    /// The usable `a=crypto` attributes.
    pub fn keys(&self) -> Vec<Crypto> {
        self.crypto.iter().filter_map(|c| c.clone().ok()).collect()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SdpError {
    #[error("the session description is not UTF-8")]
    NotUtf8,
    #[error("the session description has no audio stream")]
    NoAudio,
    #[error("the session description has no connection address")]
    NoConnection,
    #[error("malformed line `{0}`")]
    Malformed(String),
    #[error("no codec in common (offered: {0})")]
    NoCommonCodec(String),
    #[error("the audio is offered only over {0}, which is not plain RTP")]
    Transport(String),
    #[error("network type `{0}` is not IN")]
    NetworkType(String),
    #[error("address type `{0}` is neither IP4 nor IP6")]
    AddressType(String),
    #[error("{0}")]
    Security(#[from] sdes::Refusal),
    #[error("the crypto tag {0} appears twice")]
    DuplicateCryptoTag(u32),
}

impl SdpError {
    /// The `Warning` code and text for a 488 refusing an offer with this fault.
    pub fn warning(&self) -> (u16, &'static str) {
        match self {
            SdpError::NetworkType(_) => (300, "Incompatible network protocol"),
            SdpError::AddressType(_) | SdpError::NoConnection => {
                (301, "Incompatible network address formats")
            }
            SdpError::Transport(_) => (302, "Incompatible transport protocol"),
            SdpError::NoAudio => (304, "Media type not available"),
            SdpError::NoCommonCodec(_) => (305, "Incompatible media format"),
            SdpError::Security(sdes::Refusal::NoUsableKey(_)) | SdpError::DuplicateCryptoTag(_) => {
                (306, "Attribute not understood")
            }
            SdpError::Security(_) => (302, "Incompatible transport protocol"),
            SdpError::NotUtf8 | SdpError::Malformed(_) => (399, "Malformed session description"),
        }
    }
}

/// An m-line as the offer wrote it: what an answer repeats, with port 0, for a stream it does
/// not take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaLine {
    pub media: String,
    pub proto: String,
    /// The format list as written (payload types for RTP).
    pub formats: String,
}

/// The m-lines of a session in order and which one is our audio. Empty: our audio alone (a
/// session we offered).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub lines: Vec<MediaLine>,
    pub audio: usize,
}

/// A remote offer: the audio stream we take, and where it sits among the offer's m-lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    pub audio: MediaDescription,
    pub layout: Layout,
}

/// The transports we speak: RTP with the audio/video profile, plain or secure (RFC 3711).
const RTP_AVP: &str = "RTP/AVP";
const RTP_SAVP: &str = "RTP/SAVP";

/// Our offer's codecs, in order of preference.
pub fn local_codecs() -> Vec<Codec> {
    vec![
        Codec {
            name: CodecName::Opus,
            payload_type: 111,
            clock_rate: 48000,
            channels: 2,
            fmtp: Some("minptime=10;useinbandfec=1".into()),
        },
        Codec {
            name: CodecName::G722,
            payload_type: 9,
            clock_rate: 8000,
            channels: 1,
            fmtp: None,
        },
        Codec {
            name: CodecName::Pcmu,
            payload_type: 0,
            clock_rate: 8000,
            channels: 1,
            fmtp: None,
        },
        Codec {
            name: CodecName::Pcma,
            payload_type: 8,
            clock_rate: 8000,
            channels: 1,
            fmtp: None,
        },
    ]
}

pub const TELEPHONE_EVENT_PT: u8 = 101;

/// Writes an SDP body for one audio stream. `session_version` must grow with every new body
/// in the same session (RFC 3264 §8).
pub fn render(session_id: u64, session_version: u64, media: &MediaDescription) -> String {
    let ip = media.rtp.ip();
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut pts: Vec<String> = media
        .codecs
        .iter()
        .map(|c| c.payload_type.to_string())
        .collect();
    if let Some(te) = media.telephone_event {
        pts.push(te.to_string());
    }
    let mut s = String::new();
    let _ = write!(
        s,
        "v=0\r\no=switchboard {session_id} {session_version} IN {family} {ip}\r\ns=Switchboard\r\n\
         c=IN {family} {ip}\r\nt=0 0\r\nm=audio {} {} {}\r\n",
        media.rtp.port(),
        if media.secure { RTP_SAVP } else { RTP_AVP },
        pts.join(" ")
    );
    for c in &media.codecs {
        if c.channels > 1 {
            let _ = write!(
                s,
                "a=rtpmap:{} {}/{}/{}\r\n",
                c.payload_type,
                c.name.encoding(),
                c.clock_rate,
                c.channels
            );
        } else {
            let _ = write!(
                s,
                "a=rtpmap:{} {}/{}\r\n",
                c.payload_type,
                c.name.encoding(),
                c.clock_rate
            );
        }
        if let Some(f) = &c.fmtp {
            let _ = write!(s, "a=fmtp:{} {f}\r\n", c.payload_type);
        }
    }
    if let Some(te) = media.telephone_event {
        let _ = write!(
            s,
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
        );
    }
    for c in media.crypto.iter().flatten() {
        let _ = write!(s, "a=crypto:{}\r\n", sdes::render(c));
    }
    if let Some(ice) = &media.ice {
        let _ = write!(s, "a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n", ice.ufrag, ice.pwd);
        for c in &ice.candidates {
            let _ = write!(s, "a={c}\r\n");
        }
    }
    if media.rtcp_mux {
        s.push_str("a=rtcp-mux\r\n");
    }
    let _ = write!(
        s,
        "a=ptime:{}\r\na={}\r\n",
        media.ptime.unwrap_or(20),
        media.direction.attr()
    );
    s
}

/// Reads the first audio stream of an SDP body.
pub fn parse(body: &[u8]) -> Result<MediaDescription, SdpError> {
    let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
    let mut session_ip: Option<IpAddr> = None;
    let mut media_ip: Option<IpAddr> = None;
    let mut session_dir: Option<Direction> = None;
    let mut in_audio = false;
    let mut seen_audio = false;
    let mut port: Option<u16> = None;
    let mut pts: Vec<u8> = Vec::new();
    let mut rtpmaps: Vec<(u8, String, u32, u8)> = Vec::new();
    let mut fmtps: Vec<(u8, String)> = Vec::new();
    let mut direction: Option<Direction> = None;
    let mut ptime = None;
    let mut rtcp: Option<(u16, Option<IpAddr>)> = None;
    let mut secure = false;
    let mut crypto = Vec::new();
    let mut tags = Vec::new();
    let (mut ufrag, mut pwd, mut candidates) = (None, None, Vec::new());
    let mut rtcp_mux = false;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind {
            "m" => {
                if seen_audio {
                    // Only the first audio stream; later streams end its section.
                    in_audio = false;
                    continue;
                }
                let mut parts = value.split_whitespace();
                let media = parts.next().unwrap_or("");
                in_audio = media == "audio";
                if in_audio {
                    seen_audio = true;
                    port = Some(
                        parts
                            .next()
                            .and_then(|p| p.split('/').next())
                            .and_then(|p| p.parse().ok())
                            .ok_or_else(|| SdpError::Malformed(line.to_string()))?,
                    );
                    secure = parts.next() == Some(RTP_SAVP);
                    pts = parts.filter_map(|p| p.parse().ok()).collect();
                }
            }
            "c" => {
                let ip = connection_address(value, line)?;
                if in_audio {
                    media_ip = Some(ip);
                } else if !seen_audio {
                    session_ip = Some(ip);
                }
            }
            "a" if in_audio || !seen_audio => {
                let (name, arg) = value.split_once(':').unwrap_or((value, ""));
                let dir = match name {
                    "sendrecv" => Some(Direction::SendRecv),
                    "sendonly" => Some(Direction::SendOnly),
                    "recvonly" => Some(Direction::RecvOnly),
                    "inactive" => Some(Direction::Inactive),
                    _ => None,
                };
                if let Some(d) = dir {
                    if in_audio {
                        direction = Some(d);
                    } else {
                        session_dir = Some(d);
                    }
                    continue;
                }
                if name == "ice-ufrag" || name == "ice-pwd" {
                    // Media level overrides the session level (RFC 8839 §5.4).
                    let slot = if name == "ice-ufrag" {
                        &mut ufrag
                    } else {
                        &mut pwd
                    };
                    if in_audio || slot.is_none() {
                        *slot = Some(arg.trim().to_string());
                    }
                    continue;
                }
                if !in_audio {
                    continue;
                }
                match name {
                    "candidate" => candidates.push(value.trim().to_string()),
                    "rtcp-mux" => rtcp_mux = true,
                    "rtpmap" => {
                        let (pt, enc) = arg
                            .split_once(' ')
                            .ok_or_else(|| SdpError::Malformed(line.to_string()))?;
                        let mut e = enc.split('/');
                        let enc_name = e.next().unwrap_or("").to_string();
                        let rate = e.next().and_then(|r| r.parse().ok()).unwrap_or(8000);
                        let ch = e.next().and_then(|r| r.parse().ok()).unwrap_or(1);
                        if let Ok(pt) = pt.parse() {
                            rtpmaps.push((pt, enc_name, rate, ch));
                        }
                    }
                    "fmtp" => {
                        if let Some((pt, params)) = arg.split_once(' ')
                            && let Ok(pt) = pt.parse()
                        {
                            fmtps.push((pt, params.trim().to_string()));
                        }
                    }
                    "ptime" => ptime = arg.trim().parse().ok(),
                    "crypto" => {
                        if let Some(tag) = sdes::tag_of(arg) {
                            if tags.contains(&tag) {
                                return Err(SdpError::DuplicateCryptoTag(tag));
                            }
                            tags.push(tag);
                        }
                        crypto.push(sdes::parse(arg));
                    }
                    "rtcp" => {
                        // `a=rtcp:53020` or `a=rtcp:53020 IN IP4 126.16.64.4` (RFC 3605).
                        let mut parts = arg.split_whitespace();
                        let port = parts
                            .next()
                            .and_then(|p| p.parse().ok())
                            .ok_or_else(|| SdpError::Malformed(line.to_string()))?;
                        let ip = parts.nth(2).and_then(|a| a.parse().ok());
                        rtcp = Some((port, ip));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let port = port.ok_or(SdpError::NoAudio)?;
    let ip = media_ip.or(session_ip).ok_or(SdpError::NoConnection)?;
    let mut codecs = Vec::new();
    let mut telephone_event = None;
    for pt in &pts {
        let map = rtpmaps.iter().find(|(p, ..)| p == pt);
        let (name, rate, ch) = match map {
            Some((_, n, r, c)) => (n.clone(), *r, *c),
            None => match pt {
                0 => ("PCMU".into(), 8000, 1),
                8 => ("PCMA".into(), 8000, 1),
                9 => ("G722".into(), 8000, 1),
                _ => continue,
            },
        };
        if name.eq_ignore_ascii_case("telephone-event") {
            telephone_event.get_or_insert(*pt);
            continue;
        }
        if let Some(codec) = CodecName::from_encoding(&name, rate) {
            codecs.push(Codec {
                name: codec,
                payload_type: *pt,
                clock_rate: rate,
                channels: ch,
                fmtp: fmtps.iter().find(|(p, _)| p == pt).map(|(_, f)| f.clone()),
            });
        }
    }
    Ok(MediaDescription {
        rtp: SocketAddr::new(ip, port),
        rtcp: rtcp.map(|(p, rtcp_ip)| SocketAddr::new(rtcp_ip.unwrap_or(ip), p)),
        codecs,
        telephone_event,
        direction: direction.or(session_dir).unwrap_or_default(),
        ptime,
        secure,
        crypto,
        ice: match (ufrag, pwd) {
            (Some(ufrag), Some(pwd)) if !candidates.is_empty() => Some(IceAttributes {
                ufrag,
                pwd,
                candidates,
            }),
            _ => None,
        },
        rtcp_mux,
    })
}

/// `IN IP4 192.0.2.1` (also on `o=` after the user, id and version): the address, or why not.
fn connection_address(value: &str, line: &str) -> Result<IpAddr, SdpError> {
    let mut parts = value.split_whitespace();
    let (net, kind, addr) = (parts.next(), parts.next(), parts.next());
    let (Some(net), Some(kind), Some(addr)) = (net, kind, addr) else {
        return Err(SdpError::Malformed(line.to_string()));
    };
    if net != "IN" {
        return Err(SdpError::NetworkType(net.to_string()));
    }
    if kind != "IP4" && kind != "IP6" {
        return Err(SdpError::AddressType(kind.to_string()));
    }
    let ip = addr
        .split('/')
        .next()
        .and_then(|a| a.parse::<IpAddr>().ok())
        .ok_or_else(|| SdpError::Malformed(line.to_string()))?;
    if ip.is_ipv4() != (kind == "IP4") {
        return Err(SdpError::AddressType(format!("{kind} with {addr}")));
    }
    Ok(ip)
}

/// Reads a remote offer: the first RTP audio stream, with a port, that has a codec in common
/// and keys the policy accepts, and the layout of all its m-lines. A stream we cannot take
/// costs nothing; only an offer with none is an error, the most telling one (security or
/// codecs, then transport, then no audio).
pub fn parse_offer(body: &[u8], policy: SrtpPolicy) -> Result<Offer, SdpError> {
    let text = std::str::from_utf8(body).map_err(|_| SdpError::NotUtf8)?;
    let starts: Vec<usize> = text
        .match_indices("m=")
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || text.as_bytes()[i - 1] == b'\n')
        .collect();
    let session = &text[..starts.first().copied().unwrap_or(text.len())];
    for line in session.lines() {
        if let Some(origin) = line.trim_end_matches('\r').strip_prefix("o=") {
            // user, session id, version, then the same three as `c=`.
            let rest: Vec<&str> = origin.split_whitespace().skip(3).collect();
            connection_address(&rest.join(" "), line)?;
        }
    }
    let mut lines = Vec::new();
    let mut chosen: Option<(usize, MediaDescription)> = None;
    let mut worst = SdpError::NoAudio;
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let section = &text[start..end];
        let m_line = section.lines().next().unwrap_or("").trim_end_matches('\r');
        let mut parts = m_line[2..].split_whitespace();
        let media = parts.next().unwrap_or("").to_string();
        let port = parts
            .next()
            .and_then(|p| p.split('/').next()?.parse::<u16>().ok());
        let proto = parts.next().unwrap_or("").to_string();
        let formats = parts.collect::<Vec<_>>().join(" ");
        if media.is_empty() || port.is_none() || proto.is_empty() {
            return Err(SdpError::Malformed(m_line.to_string()));
        }
        lines.push(MediaLine {
            media: media.clone(),
            proto: proto.clone(),
            formats,
        });
        if chosen.is_some() || media != "audio" || port == Some(0) {
            continue;
        }
        if proto != RTP_AVP && proto != RTP_SAVP {
            if worst == SdpError::NoAudio {
                worst = SdpError::Transport(proto);
            }
            continue;
        }
        let alone = format!("{session}{section}");
        let desc = match parse(alone.as_bytes()) {
            Ok(d) => d,
            Err(e @ SdpError::DuplicateCryptoTag(_)) => {
                worst = e;
                continue;
            }
            Err(e) => return Err(e),
        };
        match answer(&desc, desc.rtp, Direction::SendRecv, &Security::new(policy)) {
            Ok(_) => chosen = Some((i, desc)),
            Err(e) => worst = e,
        }
    }
    let (audio, desc) = chosen.ok_or(worst)?;
    Ok(Offer {
        audio: desc,
        layout: Layout { lines, audio },
    })
}

/// [`render`], with the session's other m-lines around our audio, rejected (port 0) in their
/// places.
pub fn render_in(
    layout: &Layout,
    session_id: u64,
    session_version: u64,
    media: &MediaDescription,
) -> String {
    let ours = render(session_id, session_version, media);
    if layout.lines.len() <= 1 {
        return ours;
    }
    let split = ours.find("m=audio").unwrap_or(ours.len());
    let (head, audio) = ours.split_at(split);
    let mut s = head.to_string();
    for (i, line) in layout.lines.iter().enumerate() {
        if i == layout.audio {
            s.push_str(audio);
        } else {
            let _ = write!(s, "m={} 0 {}", line.media, line.proto);
            if !line.formats.is_empty() {
                let _ = write!(s, " {}", line.formats);
            }
            s.push_str("\r\n");
        }
    }
    s
}

/// Our answer to a remote offer: the first offered codec we support, under the offer's payload
/// type, and the mirrored direction.
pub fn answer(
    offer: &MediaDescription,
    local_rtp: SocketAddr,
    ours: Direction,
    security: &Security,
) -> Result<MediaDescription, SdpError> {
    let supported = local_codecs();
    let chosen = offer
        .codecs
        .iter()
        .find(|c| supported.iter().any(|s| s.name == c.name))
        .cloned()
        .ok_or_else(|| {
            SdpError::NoCommonCodec(
                offer
                    .codecs
                    .iter()
                    .map(|c| c.name.encoding())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })?;
    let chosen = if chosen.name == CodecName::Opus {
        Codec {
            fmtp: Some("minptime=10;useinbandfec=1".into()),
            ..chosen
        }
    } else {
        chosen
    };
    let crypto = sdes::choose(security.policy, offer.secure, &offer.crypto)?;
    Ok(MediaDescription {
        rtp: local_rtp,
        rtcp: None,
        codecs: vec![chosen],
        telephone_event: offer.telephone_event,
        direction: Direction::answer_to(offer.direction, ours),
        ptime: offer.ptime.or(Some(20)),
        secure: offer.secure,
        // ICE and rtcp-mux are the engine's to add: it knows its candidates.
        ice: None,
        rtcp_mux: false,
        crypto: crypto
            .map(|c| Crypto {
                key: security.key,
                ..c
            })
            .into_iter()
            .map(Ok)
            .collect(),
    })
}

/// Our offer for a local RTP address and direction, with keys when the policy wants them.
pub fn offer(local_rtp: SocketAddr, direction: Direction, security: &Security) -> MediaDescription {
    MediaDescription {
        rtp: local_rtp,
        rtcp: None,
        codecs: local_codecs(),
        telephone_event: Some(TELEPHONE_EVENT_PT),
        direction,
        ptime: Some(20),
        secure: security.policy == SrtpPolicy::Required,
        ice: None,
        rtcp_mux: false,
        crypto: sdes::offered(security.policy, &security.key)
            .into_iter()
            .map(Ok)
            .collect(),
    }
}

/// The SRTP keys from the answer to our offer, or why the answer is not acceptable: the
/// policy requires keys and it gave none, or it answered a key we never offered.
pub fn keys_from_answer(
    answer: &MediaDescription,
    security: &Security,
) -> Result<Option<sdes::Keys>, SdpError> {
    let ours = sdes::offered(security.policy, &security.key);
    let theirs = answer.keys();
    match sdes::keys(&ours, &theirs, true) {
        Some(k) => Ok(Some(k)),
        None if security.policy == SrtpPolicy::Required || answer.secure => {
            Err(sdes::Refusal::Unencrypted.into())
        }
        None => Ok(None),
    }
}

/// The SRTP keys of a call after we answered `offer` with `answer`.
pub fn keys_from_our_answer(
    offer: &MediaDescription,
    answer: &MediaDescription,
) -> Option<sdes::Keys> {
    sdes::keys(&offer.keys(), &answer.keys(), false)
}

/// The codec to use from the remote answer to our offer: its first codec that we offered.
pub fn chosen_from_answer(answer: &MediaDescription) -> Result<Codec, SdpError> {
    let ours = local_codecs();
    answer
        .codecs
        .iter()
        .find(|c| ours.iter().any(|o| o.name == c.name))
        .cloned()
        .ok_or_else(|| {
            SdpError::NoCommonCodec(
                answer
                    .codecs
                    .iter()
                    .map(|c| c.name.encoding())
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        })
}

impl CodecName {
    pub fn static_payload_type(self) -> Option<u8> {
        self.static_pt()
    }
    pub fn sdp_clock_rate(self) -> u32 {
        self.sdp_rate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain() -> Security {
        Security::new(SrtpPolicy::Off)
    }

    const ASTERISK_ANSWER: &str = "v=0\r\no=- 1948 1950 IN IP4 127.0.0.1\r\ns=Asterisk\r\nc=IN IP4 127.0.0.1\r\n\
        t=0 0\r\nm=audio 31234 RTP/AVP 111 101\r\na=rtpmap:111 opus/48000/2\r\n\
        a=fmtp:111 useinbandfec=1\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n\
        a=ptime:20\r\na=maxptime:60\r\na=sendrecv\r\n";

    /// A video phone's offer: video first, then a secure audio line, then plain audio.
    const VIDEO_PHONE_OFFER: &str = "v=0\r\no=linphone 7 7 IN IP4 127.0.0.1\r\ns=Talk\r\n\
        c=IN IP4 127.0.0.1\r\nt=0 0\r\n\
        m=video 40010 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 H264/90000\r\n\
        m=audio 40020 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\n\
        m=audio 40000 RTP/AVP 9 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n\
        m=application 40030 UDP/BFCP *\r\n";

    #[test]
    fn every_offered_m_line_is_answered_in_its_place_and_only_plain_audio_is_taken() {
        let o = parse_offer(VIDEO_PHONE_OFFER.as_bytes(), SrtpPolicy::Off).unwrap();
        assert_eq!(o.layout.audio, 2);
        assert_eq!(o.layout.lines.len(), 4);
        assert_eq!(o.audio.rtp, "127.0.0.1:40000".parse().unwrap());
        assert_eq!(o.audio.codecs[0].name, CodecName::G722);
        let ours = answer(
            &o.audio,
            "127.0.0.1:50000".parse().unwrap(),
            Direction::SendRecv,
            &plain(),
        )
        .unwrap();
        let text = render_in(&o.layout, 5, 1, &ours);
        let m_lines: Vec<&str> = text.lines().filter(|l| l.starts_with("m=")).collect();
        assert_eq!(
            m_lines,
            [
                "m=video 0 RTP/AVP 96 97",
                "m=audio 0 RTP/SAVP 0",
                "m=audio 50000 RTP/AVP 9 101",
                "m=application 0 UDP/BFCP *",
            ]
        );
        // The audio's attributes stay with its own m-line, not after the last one.
        let audio_at = text.find("m=audio 50000").unwrap();
        let app_at = text.find("m=application").unwrap();
        assert!(text.find("a=rtpmap:9 G722").unwrap() > audio_at);
        assert!(text.find("a=rtpmap:9 G722").unwrap() < app_at);
        // Our own session (an empty layout) is our audio alone.
        assert_eq!(
            render_in(&Layout::default(), 5, 1, &ours),
            render(5, 1, &ours)
        );
    }

    #[test]
    fn an_offer_with_nothing_to_take_says_why_in_its_warning() {
        let only = |lines: &str| {
            format!(
                "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n{lines}"
            )
        };
        let cases = [
            (only("m=audio 4000 RTP/SAVP 0\r\n"), 302),
            (only("m=audio 4000 XYZ/AVP 0\r\n"), 302),
            (only("m=video 4000 RTP/AVP 96\r\n"), 304),
            (only("m=audio 0 RTP/AVP 0\r\n"), 304),
            (
                only("m=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"),
                305,
            ),
            (
                only("m=audio 4000 RTP/AVP 0\r\n").replace("c=IN IP4", "c=XX IP4"),
                300,
            ),
            (
                only("m=audio 4000 RTP/AVP 0\r\n").replace("c=IN IP4", "c=IN IP5"),
                301,
            ),
            (
                only("m=audio 4000 RTP/AVP 0\r\n").replace("o=- 1 1 IN IP4", "o=- 1 1 IN IP7"),
                301,
            ),
            (
                only("m=audio 4000 RTP/AVP 0\r\n")
                    .replace("c=IN IP4 127.0.0.1", "c=IN IP6 127.0.0.1"),
                301,
            ),
            (String::new(), 304),
        ];
        for (offer, code) in cases {
            let e = parse_offer(offer.as_bytes(), SrtpPolicy::Off).expect_err(&offer);
            assert_eq!(e.warning().0, code, "{offer:?}: {e}");
        }
    }

    #[test]
    fn rtcp_goes_to_port_plus_one_unless_the_description_names_it() {
        let plain = parse(ASTERISK_ANSWER.as_bytes()).unwrap();
        assert_eq!(plain.rtcp_addr(), "127.0.0.1:31235".parse().unwrap());
        let named =
            ASTERISK_ANSWER.replace("a=ptime:20", "a=rtcp:40001 IN IP4 10.0.0.9\r\na=ptime:20");
        let named = parse(named.as_bytes()).unwrap();
        assert_eq!(named.rtcp_addr(), "10.0.0.9:40001".parse().unwrap());
        let port_only = ASTERISK_ANSWER.replace("a=ptime:20", "a=rtcp:40001\r\na=ptime:20");
        let port_only = parse(port_only.as_bytes()).unwrap();
        assert_eq!(port_only.rtcp_addr(), "127.0.0.1:40001".parse().unwrap());
        let broken = ASTERISK_ANSWER.replace("a=ptime:20", "a=rtcp:x\r\na=ptime:20");
        assert!(matches!(
            parse(broken.as_bytes()),
            Err(SdpError::Malformed(_))
        ));
    }

    #[test]
    fn our_offer_round_trips_through_the_parser() {
        let o = offer(
            "127.0.0.1:40000".parse().unwrap(),
            Direction::SendRecv,
            &plain(),
        );
        let text = render(42, 1, &o);
        assert!(
            text.contains("m=audio 40000 RTP/AVP 111 9 0 8 101\r\n"),
            "{text}"
        );
        assert!(text.contains("a=rtpmap:111 opus/48000/2\r\n"));
        let back = parse(text.as_bytes()).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn reads_what_asterisk_answers() {
        let a = parse(ASTERISK_ANSWER.as_bytes()).unwrap();
        assert_eq!(a.rtp, "127.0.0.1:31234".parse().unwrap());
        assert_eq!(a.telephone_event, Some(101));
        let c = chosen_from_answer(&a).unwrap();
        assert_eq!(
            (c.name, c.payload_type, c.channels),
            (CodecName::Opus, 111, 2)
        );
        assert_eq!(a.direction, Direction::SendRecv);
    }

    #[test]
    fn answers_with_the_first_common_codec_and_mirrors_hold() {
        let remote = "v=0\r\no=x 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n\
                      m=audio 5004 RTP/AVP 18 8 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=sendonly\r\n";
        let o = parse(remote.as_bytes()).unwrap();
        let a = answer(
            &o,
            "127.0.0.1:40002".parse().unwrap(),
            Direction::SendRecv,
            &plain(),
        )
        .unwrap();
        assert_eq!(
            a.codecs[0].name,
            CodecName::Pcma,
            "G.729 (18) is skipped, PCMA is first"
        );
        assert_eq!(
            a.direction,
            Direction::RecvOnly,
            "sendonly from them is recvonly from us"
        );
        assert_eq!(a.telephone_event, Some(101));
        let inactive = remote.replace("sendonly", "inactive");
        let a = answer(
            &parse(inactive.as_bytes()).unwrap(),
            "127.0.0.1:1".parse().unwrap(),
            Direction::SendRecv,
            &plain(),
        )
        .unwrap();
        assert_eq!(a.direction, Direction::Inactive);
    }

    #[test]
    fn session_level_direction_and_static_types_without_rtpmap() {
        let remote = "v=0\r\no=x 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\na=sendonly\r\nm=audio 6000 RTP/AVP 0\r\n";
        let o = parse(remote.as_bytes()).unwrap();
        assert_eq!(o.direction, Direction::SendOnly);
        assert_eq!(o.codecs[0].name, CodecName::Pcmu);
    }

    #[test]
    fn refuses_bodies_without_audio_or_common_codecs() {
        assert_eq!(
            parse(b"v=0\r\nm=video 5000 RTP/AVP 96\r\n"),
            Err(SdpError::NoAudio)
        );
        assert_eq!(
            parse(b"v=0\r\nm=audio 5000 RTP/AVP 0\r\n"),
            Err(SdpError::NoConnection)
        );
        assert!(matches!(
            parse(b"v=0\r\nm=audio x RTP/AVP 0\r\n"),
            Err(SdpError::Malformed(_))
        ));
        let g729 = "v=0\r\nc=IN IP4 1.2.3.4\r\nm=audio 6000 RTP/AVP 18\r\n";
        let o = parse(g729.as_bytes()).unwrap();
        assert!(matches!(
            answer(
                &o,
                "127.0.0.1:1".parse().unwrap(),
                Direction::SendRecv,
                &plain()
            ),
            Err(SdpError::NoCommonCodec(_))
        ));
        assert_eq!(parse(&[0xff, 0x00]), Err(SdpError::NotUtf8));
    }

    #[test]
    fn an_encrypting_account_takes_the_secure_audio_line_and_answers_its_tag_with_its_own_key() {
        let o = parse_offer(VIDEO_PHONE_OFFER.as_bytes(), SrtpPolicy::Optional).unwrap();
        assert_eq!(
            o.layout.audio, 1,
            "the RTP/SAVP line, first audio we can take"
        );
        assert!(o.audio.secure);
        let ours = Security::new(SrtpPolicy::Optional);
        let a = answer(
            &o.audio,
            "127.0.0.1:50000".parse().unwrap(),
            Direction::SendRecv,
            &ours,
        )
        .unwrap();
        let text = render_in(&o.layout, 5, 1, &a);
        assert!(text.contains("m=audio 50000 RTP/SAVP 0\r\n"), "{text}");
        let back = parse_offer(text.as_bytes(), SrtpPolicy::Required).unwrap();
        let keys = keys_from_our_answer(&o.audio, &back.audio).unwrap();
        assert_eq!(keys.send, ours.key);
        assert_eq!(keys.receive, o.audio.keys()[0].key);
        // Required: a plain offer is refused, with the transport warning.
        let plain_only = VIDEO_PHONE_OFFER.replace("m=audio 40020 RTP/SAVP", "m=audio 0 RTP/SAVP");
        let e = parse_offer(plain_only.as_bytes(), SrtpPolicy::Required).unwrap_err();
        assert_eq!(
            (e.warning().0, e),
            (302, SdpError::Security(sdes::Refusal::Unencrypted))
        );
    }

    #[test]
    fn a_secure_offer_with_a_bad_or_doubled_key_is_refused_not_answered_in_the_clear() {
        let with = |crypto: &str| {
            format!(
                "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
                 m=audio 4000 RTP/SAVP 0\r\n{crypto}"
            )
        };
        let key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
        let cases = [
            String::new(),
            format!("a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}AAAA\r\n"),
            format!(
                "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{}\r\n",
                &key[..20]
            ),
            "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:!!!\r\n".to_string(),
            format!("a=crypto:1 AES_256_CM_HMAC_SHA1_80 inline:{key}\r\n"),
            format!(
                "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}\r\n\
                 a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:{key}\r\n"
            ),
        ];
        for crypto in cases {
            let e = parse_offer(with(&crypto).as_bytes(), SrtpPolicy::Optional).unwrap_err();
            assert_eq!(e.warning().0, 306, "{crypto}: {e}");
        }
        let good = format!("a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:{key}\r\n");
        let o = parse_offer(with(&good).as_bytes(), SrtpPolicy::Optional).unwrap();
        assert_eq!(o.audio.keys()[0].tag, 7);
    }

    #[test]
    fn our_encrypted_offer_needs_a_key_in_the_answer_when_required() {
        let required = Security::new(SrtpPolicy::Required);
        let o = offer(
            "127.0.0.1:40000".parse().unwrap(),
            Direction::SendRecv,
            &required,
        );
        let text = render(1, 1, &o);
        assert!(text.contains("RTP/SAVP"), "{text}");
        assert_eq!(text.matches("a=crypto:").count(), 2);
        let plain_answer = parse(ASTERISK_ANSWER.as_bytes()).unwrap();
        assert!(keys_from_answer(&plain_answer, &required).is_err());
        let optional = Security::new(SrtpPolicy::Optional);
        let o = offer(
            "127.0.0.1:40000".parse().unwrap(),
            Direction::SendRecv,
            &optional,
        );
        assert!(!o.secure);
        assert_eq!(keys_from_answer(&plain_answer, &optional), Ok(None));
        let theirs = ASTERISK_ANSWER.replace(
            "a=ptime:20",
            "a=crypto:2 AES_CM_128_HMAC_SHA1_32 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR\r\na=ptime:20",
        );
        let k = keys_from_answer(&parse(theirs.as_bytes()).unwrap(), &optional)
            .unwrap()
            .unwrap();
        assert_eq!(
            (k.suite, k.send),
            (sdes::Suite::AesCm128HmacSha1_32, optional.key)
        );
    }

    #[test]
    fn direction_answers_follow_rfc_3264() {
        use Direction::*;
        assert_eq!(Direction::answer_to(SendRecv, SendRecv), SendRecv);
        assert_eq!(Direction::answer_to(SendOnly, SendRecv), RecvOnly);
        assert_eq!(Direction::answer_to(RecvOnly, SendRecv), SendOnly);
        assert_eq!(Direction::answer_to(SendRecv, SendOnly), SendOnly);
        assert_eq!(Direction::answer_to(SendOnly, SendOnly), Inactive);
    }
}
