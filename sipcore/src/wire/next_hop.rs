//! Where a request goes first. One decision for every request the engine starts: REGISTER,
//! INVITE, SUBSCRIBE, PUBLISH, MESSAGE and the keepalive go to the account's outbound proxy
//! when it has one, over the account's transport (UDP, TCP or TLS); otherwise to the
//! Request-URI's host, port and `transport` (RFC 3261 §8.1.2, §18.1.1). Requests inside a
//! dialog follow the dialog's route set and remote target instead, which rsipstack keeps.
//!
//! Guarantees: a proxy is resolved once, at sign-in; the transport of the hop is always the
//! account's, so a TLS account never sends a request to its proxy over UDP.

use std::net::{SocketAddr, ToSocketAddrs};

use rsipstack::sip::Uri;
use rsipstack::sip::transport::Transport as StackTransport;
use rsipstack::transport::SipAddr;

use crate::account::{Account, Transport};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NextHopError {
    #[error("The outbound proxy “{0}” could not be found.")]
    ProxyNotFound(String),
}

/// The first hop of one account's requests, fixed at sign-in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NextHop {
    proxy: Option<SocketAddr>,
    transport: Transport,
}

impl NextHop {
    /// Resolves the account's outbound proxy (blocking; once per sign-in).
    pub fn for_account(account: &Account) -> Result<Self, NextHopError> {
        let proxy = match account
            .outbound_proxy
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            None => None,
            Some(p) => Some(resolve(p).ok_or_else(|| NextHopError::ProxyNotFound(p.to_string()))?),
        };
        Ok(Self {
            proxy,
            transport: account.transport,
        })
    }

    /// The outbound proxy's address, when there is one.
    pub fn proxy(&self) -> Option<SocketAddr> {
        self.proxy
    }

    /// The transaction destination of a request outside a dialog: the proxy over the account's
    /// transport, or `None` to let the Request-URI decide.
    pub fn destination(&self) -> Option<SipAddr> {
        self.proxy.map(|p| {
            let mut hop = SipAddr::from(p);
            hop.r#type = stack_transport(self.transport);
            hop
        })
    }

    /// Where a request to `uri` physically goes: [`NextHop::destination`], else the URI's own
    /// host, port and transport.
    pub fn towards(&self, uri: &Uri) -> Option<SipAddr> {
        self.destination().or_else(|| SipAddr::try_from(uri).ok())
    }
}

/// UDP is the stack's default and is left unset, as the Request-URI would leave it.
fn stack_transport(transport: Transport) -> Option<StackTransport> {
    match transport {
        Transport::Udp => None,
        Transport::Tcp => Some(StackTransport::Tcp),
        Transport::Tls => Some(StackTransport::Tls),
    }
}

/// `host` or `host:port` with 5060 filled in.
pub fn with_default_port(host: &str) -> String {
    if host
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        host.to_string()
    } else {
        format!("{host}:5060")
    }
}

fn resolve(host: &str) -> Option<SocketAddr> {
    with_default_port(host).to_socket_addrs().ok()?.next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(transport: Transport, proxy: Option<&str>) -> Account {
        let mut a = Account::new("2001", "pw", "pbx.invalid:5070");
        a.transport = transport;
        a.outbound_proxy = proxy.map(str::to_string);
        a
    }

    #[test]
    fn the_proxy_is_reached_over_the_accounts_transport() {
        for (transport, expected) in [
            (Transport::Udp, None),
            (Transport::Tcp, Some(StackTransport::Tcp)),
            (Transport::Tls, Some(StackTransport::Tls)),
        ] {
            let hop = NextHop::for_account(&account(transport, Some("127.0.0.1:5099"))).unwrap();
            let d = hop.destination().unwrap();
            assert_eq!(d.r#type, expected, "{transport:?}");
            assert_eq!(SocketAddr::try_from(d.addr).unwrap().port(), 5099);
        }
    }

    #[test]
    fn without_a_proxy_the_request_uri_decides() {
        let hop = NextHop::for_account(&account(Transport::Tcp, Some("  "))).unwrap();
        assert_eq!(hop.destination(), None);
        let uri = Uri::try_from("sip:pbx.invalid:5070;transport=tcp").unwrap();
        let towards = hop.towards(&uri).unwrap();
        assert_eq!(towards.r#type, Some(StackTransport::Tcp));
        assert_eq!(towards.addr.to_string(), "pbx.invalid:5070");
    }

    #[test]
    fn an_unknown_proxy_is_said_in_words() {
        let e = NextHop::for_account(&account(Transport::Udp, Some("no-such-host.invalid")));
        assert_eq!(
            e.unwrap_err().to_string(),
            "The outbound proxy “no-such-host.invalid” could not be found."
        );
        assert_eq!(with_default_port("h"), "h:5060");
        assert_eq!(with_default_port("h:1"), "h:1");
    }
}
