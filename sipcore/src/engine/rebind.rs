//! Moving the engine to a new local address (a laptop that changed networks): a SIP socket on
//! the new address replaces the old one in the transport layer, and the account registers again
//! from there. Calls in progress keep their old dialogs and audio sockets; new ones use the new
//! address.

use std::net::{IpAddr, SocketAddr};

use rsipstack::transport::udp::UdpConnection;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{Core, Msg, with_default_port};
use crate::account::Account;
use crate::error::EngineError;
use crate::event::Event;
use crate::wire::next_hop::NextHop;

impl Core {
    /// Starts watching, for the registration `account` is starting, whether our address still
    /// reaches its first hop; ends with `cancel` (that registration's end).
    pub(super) fn watch_address(
        &self,
        account: &Account,
        hop: &NextHop,
        cancel: CancellationToken,
    ) {
        let every = self.config.address_check;
        let bound = self.config.bind_ip;
        if every.is_zero() || bound.is_unspecified() {
            return;
        }
        let server = rsipstack::sip::Uri::try_from(account.server_uri().as_str()).ok();
        let Some(hop) = server.and_then(|s| hop.towards(&s)) else {
            return;
        };
        let first_hop = with_default_port(&hop.addr.to_string());
        let inbox = self.inbox.clone();
        tokio::spawn(crate::network_watch::watch(
            bound,
            first_hop,
            every,
            cancel,
            move |ip| {
                let _ = inbox.send(Msg::AddressChanged(ip));
            },
        ));
    }

    pub(super) fn address_changed(&mut self, ip: IpAddr) {
        if self.sign_in.account().is_none() || ip == self.config.bind_ip {
            return;
        }
        let bind = SocketAddr::new(ip, self.config.sip_port);
        // Its own token: the old socket closes alone, and all of them go with the runtime.
        let token = CancellationToken::new();
        let inbox = self.inbox.clone();
        tokio::spawn(async move {
            let opened = crate::wire::guarded_udp::bind(bind, token.clone())
                .await
                .map(|udp| (udp, token))
                .map_err(|e| {
                    EngineError::NetworkChange(format!(
                        "no SIP port could be opened on {bind}: {e}"
                    ))
                });
            let _ = inbox.send(Msg::Rebound(opened));
        });
    }

    pub(super) fn rebound(
        &mut self,
        opened: Result<(UdpConnection, CancellationToken), EngineError>,
    ) {
        let (udp, token) = match opened {
            Ok(x) => x,
            Err(e) => {
                warn!("{e}");
                self.events.emit(Event::Error(e));
                return;
            }
        };
        let layer = &self.endpoint.inner.transport_layer;
        let old = self.udp.get_addr().clone();
        layer.add_transport(udp.clone().into());
        layer.inner.serve_connection(udp.clone().into());
        layer.del_transport(&old);
        self.udp_token.cancel();
        self.udp = udp;
        self.udp_token = token;
        let new = self.udp.get_addr().clone();
        if let Ok(addr) = SocketAddr::try_from(new.addr.clone()) {
            self.config.bind_ip = addr.ip();
        }
        info!(%old, %new, "moved to a new local address; registering again");
        // The old registration ends without an un-REGISTER: its address is gone.
        self.register_again_quietly();
    }
}
