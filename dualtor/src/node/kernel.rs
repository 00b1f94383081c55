//! Alien kernel routes for Recursive next-hop resolution: what calico-node's
//! BIRD does with `protocol kernel { learn; scan time 2; }`. Every
//! [`SCAN_INTERVAL`] the main table is dumped, routes that are not ours
//! (the static bootstrap /24s, a default route, other daemons' routes) are
//! kept as the engine's IGP routes, and only the difference is sent to the
//! node, which feeds it to `llgr::Engine::set_igp_route`. A BGP next hop
//! that is on no connected subnet then resolves through them in
//! `birdGatewayMode: Recursive` (RFC 4271 §9.1.2.1); Direct mode never
//! uses them.
//!
//! Polling, as BIRD does, rather than route events: `fib`'s monitor
//! reports only route deletions, and a scan every 2 s bounds both the cost
//! and the staleness.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use futures::TryStreamExt as _;
use ipnet::IpNet;
use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType,
};
use tokio::sync::mpsc;

/// How often the kernel table is read (BIRD `scan time 2` in Calico).
pub(crate) const SCAN_INTERVAL: Duration = Duration::from_secs(2);

/// The alien routes of the main table, as the engine takes them.
pub(crate) type KernelTable = BTreeMap<IpNet, llgr::IgpRoute>;

/// One change for the engine: a route added or replaced, or removed.
pub(crate) type KernelChange = (IpNet, Option<llgr::IgpRoute>);

fn addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

/// The engine's view of one kernel route, or `None` for a route that is
/// ours (`ours` is our `rtm_protocol`), not in the main table, not unicast,
/// or without a usable next hop (nexthop-object routes whose hops the
/// kernel did not expand).
pub(crate) fn route(m: &RouteMessage, ours: u8) -> Option<(IpNet, llgr::IgpRoute)> {
    let h = &m.header;
    if u8::from(h.protocol) == ours || h.kind != RouteType::Unicast {
        return None;
    }
    let table = m
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(h.table));
    if table != u32::from(RouteHeader::RT_TABLE_MAIN) {
        return None;
    }
    let dst = m.attributes.iter().find_map(|a| match a {
        RouteAttribute::Destination(d) => addr(d),
        _ => None,
    });
    let dst = match (dst, h.address_family) {
        (Some(d), _) => d,
        (None, AddressFamily::Inet) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        (None, AddressFamily::Inet6) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let prefix = IpNet::new(dst, h.destination_prefix_length).ok()?.trunc();
    let mut metric = 0;
    let mut gateway = None;
    let mut oif = None;
    let mut nexthops = Vec::new();
    for a in &m.attributes {
        match a {
            RouteAttribute::Priority(p) => metric = *p,
            RouteAttribute::Gateway(g) => gateway = addr(g),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::MultiPath(hops) => {
                for hop in hops {
                    let gw = hop.attributes.iter().find_map(|a| match a {
                        RouteAttribute::Gateway(g) => addr(g),
                        _ => None,
                    });
                    nexthops.push((gw, hop.interface_index));
                }
            }
            _ => {}
        }
    }
    if let Some(i) = oif {
        nexthops.push((gateway, i));
    }
    if nexthops.is_empty() {
        return None;
    }
    nexthops.sort();
    nexthops.dedup();
    Some((prefix, llgr::IgpRoute { metric, nexthops }))
}

/// What changed from `old` to `new`, in prefix order.
pub(crate) fn diff(old: &KernelTable, new: &KernelTable) -> Vec<KernelChange> {
    let mut out: Vec<KernelChange> = old
        .keys()
        .filter(|p| !new.contains_key(p))
        .map(|p| (*p, None))
        .collect();
    out.extend(
        new.iter()
            .filter(|(p, r)| old.get(p) != Some(r))
            .map(|(p, r)| (*p, Some(r.clone()))),
    );
    out.sort_by_key(|c| c.0);
    out
}

/// Reads the main table once (IPv4 and IPv6). When several routes share a
/// prefix (different metrics), the lowest metric is kept, as the kernel
/// uses it.
async fn scan(handle: &rtnetlink::Handle, ours: u8) -> Result<KernelTable, rtnetlink::Error> {
    let mut table = KernelTable::new();
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut req = RouteMessage::default();
        req.header.address_family = family;
        let mut routes = handle.route().get(req).execute();
        while let Some(m) = routes.try_next().await? {
            if let Some((p, r)) = route(&m, ours) {
                match table.get(&p) {
                    Some(old) if old.metric <= r.metric => {}
                    _ => {
                        table.insert(p, r);
                    }
                }
            }
        }
    }
    Ok(table)
}

/// Starts the scanning task in the calling thread's network namespace.
/// Changes go to `to` (wrapped by `wrap`); the task waits while `to` is
/// full and ends when it is closed. A failed scan is retried at the next
/// interval.
pub(crate) fn spawn<T: Send + 'static>(
    ours: u8,
    to: mpsc::Sender<T>,
    wrap: impl Fn(Vec<KernelChange>) -> T + Send + 'static,
) -> std::io::Result<()> {
    let (conn, handle, _) = rtnetlink::new_connection()?;
    tokio::spawn(async move {
        let conn = tokio::spawn(conn);
        let mut known = KernelTable::new();
        let mut tick = tokio::time::interval(SCAN_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if to.is_closed() {
                break;
            }
            let Ok(now) = scan(&handle, ours).await else {
                continue;
            };
            let changes = diff(&known, &now);
            known = now;
            if !changes.is_empty() && to.send(wrap(changes)).await.is_err() {
                break;
            }
        }
        conn.abort();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_route::route::{RouteNextHop, RouteProtocol};

    fn msg(dst: &str, proto: u8, attrs: Vec<RouteAttribute>) -> RouteMessage {
        let net: IpNet = dst.parse().unwrap();
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.destination_prefix_length = net.prefix_len();
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::from(proto);
        m.header.kind = RouteType::Unicast;
        if net.prefix_len() > 0 {
            m.attributes
                .push(RouteAttribute::Destination(RouteAddress::from(net.addr())));
        }
        m.attributes.extend(attrs);
        m
    }

    fn gw(s: &str) -> RouteAttribute {
        RouteAttribute::Gateway(RouteAddress::from(s.parse::<IpAddr>().unwrap()))
    }

    // The guide's static bootstrap route (`172.31.20.0/24 via 172.31.11.250
    // dev eth0`, protocol static = 4) is learned; ours (214) is not.
    #[test]
    fn learns_alien_unicast_routes_of_the_main_table() {
        let boot = msg(
            "172.31.20.0/24",
            4,
            vec![
                gw("172.31.11.250"),
                RouteAttribute::Oif(2),
                RouteAttribute::Priority(10),
            ],
        );
        assert_eq!(
            route(&boot, 214),
            Some((
                "172.31.20.0/24".parse().unwrap(),
                llgr::IgpRoute {
                    metric: 10,
                    nexthops: vec![(Some("172.31.11.250".parse().unwrap()), 2)],
                }
            ))
        );
        let ours = msg("172.31.20.1/32", 214, vec![RouteAttribute::Oif(2)]);
        assert_eq!(route(&ours, 214), None);
        let mut bh = msg("10.244.17.0/26", 4, vec![]);
        bh.header.kind = RouteType::BlackHole;
        assert_eq!(route(&bh, 214), None);
        let mut other_table = msg("10.0.0.0/8", 4, vec![RouteAttribute::Oif(2)]);
        other_table.attributes.push(RouteAttribute::Table(100));
        assert_eq!(route(&other_table, 214), None);
    }

    // A multipath default route: both hops, sorted; no Destination = /0.
    #[test]
    fn multipath_default_route() {
        let hop = |g: &str, i| {
            let mut h = RouteNextHop::default();
            h.interface_index = i;
            h.attributes.push(gw(g));
            h
        };
        let m = msg(
            "0.0.0.0/0",
            3,
            vec![RouteAttribute::MultiPath(vec![
                hop("172.31.12.250", 3),
                hop("172.31.11.250", 2),
            ])],
        );
        assert_eq!(
            route(&m, 214),
            Some((
                "0.0.0.0/0".parse().unwrap(),
                llgr::IgpRoute {
                    metric: 0,
                    nexthops: vec![
                        (Some("172.31.11.250".parse().unwrap()), 2),
                        (Some("172.31.12.250".parse().unwrap()), 3),
                    ],
                }
            ))
        );
    }

    #[test]
    fn diff_reports_added_changed_and_removed() {
        let r = |m| llgr::IgpRoute {
            metric: m,
            nexthops: vec![(None, 2)],
        };
        let p = |s: &str| s.parse::<IpNet>().unwrap();
        let old: KernelTable = [(p("10.0.0.0/8"), r(1)), (p("10.1.0.0/16"), r(1))].into();
        let new: KernelTable = [(p("10.1.0.0/16"), r(2)), (p("10.2.0.0/16"), r(1))].into();
        assert_eq!(
            diff(&old, &new),
            vec![
                (p("10.0.0.0/8"), None),
                (p("10.1.0.0/16"), Some(r(2))),
                (p("10.2.0.0/16"), Some(r(1))),
            ]
        );
        assert!(diff(&new, &new).is_empty());
    }
}
