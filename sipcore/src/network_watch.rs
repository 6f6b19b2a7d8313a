//! Notices when the local address the engine registered from goes away or stops being the one
//! that reaches the server (Wi-Fi to Ethernet, a VPN coming up, a DHCP lease renewed with a new
//! address), so that the engine can move its SIP socket and register again from the new one.
//!
//! It polls the interfaces (if-addrs, the crate rsipstack itself uses) and the route towards
//! the server every few seconds: cheap, and the same on every platform, where a netlink
//! subscription would be Linux-only. While no address reaches the server (between an old
//! address going and a new one coming) it reports nothing and keeps looking.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Whether `ip` is still configured on some interface of this machine (the watch itself asks
/// whether the route still leaves from it; this is the check the tests make of the machine).
#[cfg(test)]
pub fn address_present(ip: IpAddr) -> bool {
    match if_addrs::get_if_addrs() {
        Ok(list) => list.iter().any(|i| i.ip() == ip),
        // Cannot tell: assume nothing changed rather than move a working socket.
        Err(e) => {
            tracing::debug!("interfaces could not be listed: {e}");
            true
        }
    }
}

/// The address to move to, when `bound` no longer serves to reach `server`: the route to the
/// server now leaves from another address (because `bound` is gone from every interface, or
/// another interface took over). `None` while no route reaches the server at all.
pub fn replacement(bound: IpAddr, server: SocketAddr) -> Option<IpAddr> {
    let now = crate::engine::local_ip_towards(server).ok()?;
    (now != bound && !now.is_unspecified()).then_some(now)
}

/// Checks every `every` until `cancel` fires; calls `moved` with the new address at the first
/// change and then stops (the engine starts a new watch once it has moved).
pub async fn watch(
    bound: IpAddr,
    server: String,
    every: Duration,
    cancel: CancellationToken,
    moved: impl FnOnce(IpAddr),
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(every) => {}
        }
        // Resolved each time: the server's name may point elsewhere on the new network.
        let Ok(Some(addr)) = tokio::net::lookup_host(&server).await.map(|mut a| a.next()) else {
            continue;
        };
        if let Some(new) = replacement(bound, addr) {
            tracing::info!(old = %bound, new = %new, "local address changed");
            moved(new);
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_stays_put() {
        let lo = IpAddr::from([127, 0, 0, 1]);
        assert!(address_present(lo));
        assert_eq!(replacement(lo, SocketAddr::from((lo, 5060))), None);
    }

    #[test]
    fn an_address_on_no_interface_is_replaced_by_the_one_that_reaches_the_server() {
        // 192.0.2.0/24 is TEST-NET-1: never configured here.
        let gone = IpAddr::from([192, 0, 2, 77]);
        assert!(!address_present(gone));
        let server = SocketAddr::from(([127, 0, 0, 1], 5060));
        assert_eq!(
            replacement(gone, server),
            Some(IpAddr::from([127, 0, 0, 1]))
        );
    }
}
