//! The session description inside a request body: the body itself when it is
//! `application/sdp`, or its `application/sdp` part when it is `multipart/*` (RFC 2046), as
//! PSTN gateways send SDP beside ISUP (RFC 3204) or a location object.

/// The SDP in a body of `content_type`, or `None` when there is none (another type, or a
/// multipart body without an SDP part or with a broken structure).
pub fn sdp_part<'a>(content_type: &str, body: &'a [u8]) -> Option<&'a [u8]> {
    let mut params = content_type.split(';');
    let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
    if media == "application/sdp" {
        return Some(body);
    }
    if !media.starts_with("multipart/") {
        return None;
    }
    let boundary = params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })?;
    if boundary.is_empty() {
        return None;
    }
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    // Positions of the delimiter lines: at the start of the body or after a line break.
    let starts: Vec<usize> = (0..body.len().saturating_sub(delimiter.len() - 1))
        .filter(|&i| body[i..].starts_with(delimiter) && (i == 0 || body[i - 1] == b'\n'))
        .collect();
    for pair in starts.windows(2) {
        let (from, to) = (pair[0] + delimiter.len(), pair[1]);
        let part = &body[from..to];
        // The delimiter's own line ends here; the part's headers follow, then a blank line.
        let part = part
            .strip_prefix(b"\r\n")
            .or_else(|| part.strip_prefix(b"\n"))?;
        let (headers, content) = split_head(part)?;
        let headers = String::from_utf8_lossy(headers);
        let is_sdp = headers.lines().any(|l| {
            l.split_once(':').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("Content-Type")
                    && v.split(';')
                        .next()
                        .unwrap_or("")
                        .trim()
                        .eq_ignore_ascii_case("application/sdp")
            })
        });
        if is_sdp {
            // The line break before the next delimiter belongs to the delimiter.
            let content = content
                .strip_suffix(b"\r\n")
                .or_else(|| content.strip_suffix(b"\n"))
                .unwrap_or(content);
            return Some(content);
        }
    }
    None
}

/// The offer in a request: its SDP, or nothing (no body, or none we can find in it).
pub fn offer_in(req: &rsipstack::sip::Request) -> &[u8] {
    let ctype = req
        .headers
        .iter()
        .find(|h| h.name().eq_ignore_ascii_case("Content-Type"))
        .map(|h| h.value().to_string())
        .unwrap_or_default();
    sdp_part(&ctype, &req.body).unwrap_or_default()
}

/// A part's headers and content, split at the first blank line.
fn split_head(part: &[u8]) -> Option<(&[u8], &[u8])> {
    if part.starts_with(b"\r\n") {
        return Some((&[], &part[2..]));
    }
    if part.starts_with(b"\n") {
        return Some((&[], &part[1..]));
    }
    let crlf = part
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4));
    let lf = part.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2));
    let (at, len) = match (crlf, lf) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    Some((&part[..at], &part[at + len..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

    #[test]
    fn plain_sdp_is_the_body_and_other_types_have_none() {
        assert_eq!(
            sdp_part("application/sdp", SDP.as_bytes()),
            Some(SDP.as_bytes())
        );
        assert_eq!(
            sdp_part("Application/SDP; charset=x", b"x"),
            Some(&b"x"[..])
        );
        assert_eq!(sdp_part("text/plain", b"x"), None);
    }

    #[test]
    fn the_sdp_part_of_a_gateway_s_multipart_body_is_found() {
        let body = format!(
            "--unique-boundary-1\r\nContent-Type: application/ISUP;version=nxv3;base=etsi121\r\n\
             Content-Disposition: signal;handling=optional\r\n\r\n\x01\x00\x49\x00\x00\x03\r\n\
             --unique-boundary-1\r\nContent-Type: application/sdp\r\n\r\n{SDP}\r\n\
             --unique-boundary-1--\r\n"
        );
        let part = sdp_part(
            "multipart/mixed; boundary=\"unique-boundary-1\"",
            body.as_bytes(),
        );
        assert_eq!(part, Some(SDP.as_bytes()));
        assert_eq!(
            sdp_part(
                "multipart/mixed;boundary=unique-boundary-1",
                body.as_bytes()
            ),
            Some(SDP.as_bytes())
        );
    }

    #[test]
    fn broken_or_sdp_less_multipart_bodies_have_none() {
        let no_sdp = "--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n";
        assert_eq!(
            sdp_part("multipart/mixed; boundary=b", no_sdp.as_bytes()),
            None
        );
        assert_eq!(sdp_part("multipart/mixed", no_sdp.as_bytes()), None);
        assert_eq!(
            sdp_part("multipart/mixed; boundary=zz", no_sdp.as_bytes()),
            None
        );
        let unterminated = "--b\r\nContent-Type: application/sdp\r\n\r\nv=0";
        assert_eq!(
            sdp_part("multipart/mixed; boundary=b", unterminated.as_bytes()),
            None
        );
        assert_eq!(sdp_part("multipart/mixed; boundary=b", b""), None);
    }
}
