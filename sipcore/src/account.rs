//! A SIP account: who we are, where the server is, and how to reach it.

use std::fmt;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Transport {
    #[default]
    Udp,
    Tcp,
    Tls,
}

#[derive(Clone, PartialEq, Eq)]
pub struct Account {
    /// The SIP user (extension), e.g. "1001".
    pub username: String,
    /// The digest user when it differs from `username`.
    pub auth_username: Option<String>,
    pub password: String,
    /// The registrar / domain, as `host` or `host:port`.
    pub server: String,
    pub display_name: Option<String>,
    pub transport: Transport,
    /// Send everything to this `host:port` instead of the server.
    pub outbound_proxy: Option<String>,
    /// Registration lifetime asked for, in seconds.
    pub expires: u32,
    /// Over TLS: a PEM file of certificate authorities to trust besides the system's, for a
    /// PBX whose certificate comes from a company's own CA.
    pub trusted_ca: Option<PathBuf>,
    /// Whether calls are encrypted (SDES-SRTP); see [`crate::sdes`].
    pub srtp: crate::sdes::SrtpPolicy,
    /// A STUN server (`host[:port]`): calls then run ICE for NAT traversal; see `ice.rs`.
    pub stun_server: Option<String>,
}

impl Account {
    pub fn new(username: &str, password: &str, server: &str) -> Self {
        Self {
            username: username.to_string(),
            auth_username: None,
            password: password.to_string(),
            server: server.to_string(),
            display_name: None,
            transport: Transport::Udp,
            outbound_proxy: None,
            expires: 300,
            trusted_ca: None,
            srtp: Default::default(),
            stun_server: None,
        }
    }

    /// `sip:user@server` — our address of record.
    pub fn aor(&self) -> String {
        format!("sip:{}@{}", self.username, self.server)
    }

    /// The URI parameter that makes requests to the server use the account's transport.
    fn transport_param(&self) -> &'static str {
        match self.transport {
            Transport::Udp => "",
            Transport::Tcp => ";transport=tcp",
            Transport::Tls => ";transport=tls",
        }
    }

    /// The registrar's URI, e.g. `sip:pbx.example.com;transport=tcp`.
    pub fn server_uri(&self) -> String {
        format!("sip:{}{}", self.server, self.transport_param())
    }

    /// The Request-URI for a number or address typed by the user. Numbers go to the server
    /// over the account's transport; a full address is used as typed.
    pub fn target_uri(&self, target: &str) -> String {
        let t = target.trim();
        if t.starts_with("sip:") || t.starts_with("sips:") {
            t.to_string()
        } else if t.contains('@') {
            format!("sip:{t}")
        } else {
            format!("sip:{t}@{}{}", self.server, self.transport_param())
        }
    }
}

impl fmt::Debug for Account {
    // The password never appears in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Account")
            .field("username", &self.username)
            .field("server", &self.server)
            .field("transport", &self.transport)
            .field("outbound_proxy", &self.outbound_proxy)
            .field("trusted_ca", &self.trusted_ca)
            .field("srtp", &self.srtp)
            .field("stun_server", &self.stun_server)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_uris_and_hides_the_password() {
        let a = Account::new("1001", "secret", "127.0.0.1:25060");
        assert_eq!(a.aor(), "sip:1001@127.0.0.1:25060");
        assert_eq!(a.target_uri("9196"), "sip:9196@127.0.0.1:25060");
        assert_eq!(a.target_uri("bob@example.com"), "sip:bob@example.com");
        assert_eq!(a.target_uri("sip:bob@example.com"), "sip:bob@example.com");
        let mut tcp = a.clone();
        tcp.transport = Transport::Tcp;
        assert_eq!(
            tcp.target_uri("9196"),
            "sip:9196@127.0.0.1:25060;transport=tcp"
        );
        assert_eq!(tcp.server_uri(), "sip:127.0.0.1:25060;transport=tcp");
        assert!(!format!("{a:?}").contains("secret"));
    }
}
