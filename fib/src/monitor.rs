//! Kernel events as a typed stream: links (admin state, carrier),
//! addresses, nexthop objects, and optionally routes.
//!
//! Route events stay off the hot path by default: with
//! `nexthop_compat_mode=1` one group change emits one notification per route
//! (a 1M-route failover overflowed `ip monitor`). Subscribe to them only to
//! catch other processes deleting our routes, ideally with compat mode 0.

use std::time::Duration;

use ipnet::IpNet;

use crate::decode::{KernelMessage, messages};
use crate::error::Error;
use crate::socket::{Conn, SocketConfig};

const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV6_IFADDR: u32 = 9;
const RTNLGRP_IPV6_ROUTE: u32 = 11;
const RTNLGRP_NEXTHOP: u32 = 32;

/// A kernel event.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A link appeared or changed (`RTM_NEWLINK`) or went away (`up = false`).
    Link {
        /// Interface index.
        ifindex: u32,
        /// Name, when the kernel sent it.
        name: Option<String>,
        /// Administratively up (`IFF_UP`).
        up: bool,
        /// Carrier (`IFLA_CARRIER` / `IFF_LOWER_UP`).
        carrier: bool,
    },
    /// An address was added (`new`) or removed.
    Address {
        /// Added or removed.
        new: bool,
        /// Interface index.
        ifindex: u32,
        /// Address and prefix length.
        address: IpNet,
    },
    /// A nexthop object was created or replaced.
    NexthopAdded {
        /// Kernel id.
        id: u32,
        /// Owner.
        protocol: u8,
    },
    /// A nexthop object was deleted (by a process: the kernel's own flush on
    /// link down sends no event, see [`Event::Link`]).
    NexthopDeleted {
        /// Kernel id.
        id: u32,
        /// Owner.
        protocol: u8,
    },
    /// A route was deleted (only with route events enabled).
    RouteDeleted {
        /// Prefix.
        prefix: IpNet,
        /// Table.
        table: u32,
        /// Owner.
        protocol: u8,
        /// Metric.
        metric: u32,
        /// Port id of the netlink socket whose request deleted it (`nlmsg_pid`;
        /// 0 when the kernel did, e.g. with a nexthop object). A [`Fib`](crate::Fib)
        /// ignores the echoes of its own deletes: read late, they would make
        /// it forget a route it has installed again since.
        sender: u32,
    },
    /// The monitor socket overflowed (ENOBUFS): events were lost; the
    /// programmer must re-dump and reconcile.
    Overflow,
}

/// Which groups to subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonitorConfig {
    /// Also subscribe to IPv4/IPv6 route events (to repair routes other
    /// processes delete). Off by default: see the module docs.
    pub routes: bool,
    /// Socket sizes.
    pub socket: SocketConfig,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        MonitorConfig {
            routes: false,
            socket: SocketConfig {
                rcvbuf: 32 << 20,
                ..SocketConfig::default()
            },
        }
    }
}

/// A blocking event source in the calling thread's namespace.
#[derive(Debug)]
pub struct Monitor {
    conn: Conn,
}

impl Monitor {
    /// Opens a monitor socket subscribed to links, addresses and nexthops.
    pub fn open(cfg: MonitorConfig) -> Result<Monitor, Error> {
        let mut groups = vec![
            RTNLGRP_LINK,
            RTNLGRP_IPV4_IFADDR,
            RTNLGRP_IPV6_IFADDR,
            RTNLGRP_NEXTHOP,
        ];
        if cfg.routes {
            groups.extend([RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV6_ROUTE]);
        }
        Ok(Monitor {
            conn: Conn::open(cfg.socket, &groups)?,
        })
    }

    /// Waits up to `timeout` for one datagram and returns its events. Empty
    /// means a timeout *or* a datagram with nothing of interest (e.g. the
    /// per-route `RTM_NEWROUTE`s of compat mode 1), so "empty" is not "no
    /// more queued": to drain, keep reading until a quiet period has passed.
    /// An overflow is returned as [`Event::Overflow`].
    pub fn recv(&mut self, timeout: Duration) -> Result<Vec<Event>, Error> {
        self.conn
            .set_timeout(Some(timeout.max(Duration::from_micros(1))))?;
        match self.conn.recv() {
            Ok(false) => Ok(Vec::new()),
            Ok(true) => Ok(events(self.conn.rx())),
            Err(Error::Overflow) => Ok(vec![Event::Overflow]),
            Err(e) => Err(e),
        }
    }
}

/// Turns a datagram into events, skipping messages that do not decode.
pub fn events(buf: &[u8]) -> Vec<Event> {
    let mut out = Vec::new();
    for m in messages(buf).flatten() {
        match m.message {
            KernelMessage::Link { new, link } => out.push(Event::Link {
                ifindex: link.ifindex,
                name: link.name,
                up: new && link.up,
                carrier: new && link.carrier,
            }),
            KernelMessage::Address { new, address } => out.push(Event::Address {
                new,
                ifindex: address.ifindex,
                address: address.address,
            }),
            KernelMessage::Nexthop { new: true, nexthop } => out.push(Event::NexthopAdded {
                id: nexthop.id,
                protocol: nexthop.protocol,
            }),
            KernelMessage::Nexthop {
                new: false,
                nexthop,
            } => out.push(Event::NexthopDeleted {
                id: nexthop.id,
                protocol: nexthop.protocol,
            }),
            KernelMessage::Route { new: false, route } => out.push(Event::RouteDeleted {
                prefix: route.prefix,
                table: route.table,
                protocol: route.protocol,
                metric: route.metric,
                sender: m.pid,
            }),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A route deletion notification as the kernel multicasts it after a
    /// process's `RTM_DELROUTE`: `nlmsg_pid` is that process's port id
    /// (rtnetlink.h; `rtmsg_fib` passes the request's `portid`).
    #[test]
    fn route_deleted_carries_the_requesting_port_id() {
        let mut b = Vec::new();
        b.extend_from_slice(&52u32.to_ne_bytes()); // nlmsg_len: 16 + 12 + 3 * 8
        b.extend_from_slice(&25u16.to_ne_bytes()); // RTM_DELROUTE
        b.extend_from_slice(&0u16.to_ne_bytes()); // flags
        b.extend_from_slice(&7u32.to_ne_bytes()); // seq
        b.extend_from_slice(&4242u32.to_ne_bytes()); // pid
        // rtmsg: AF_INET, /32, src 0, tos 0, main, proto 214, universe, unicast, flags 0.
        b.extend_from_slice(&[2, 32, 0, 0, 254, 214, 0, 1, 0, 0, 0, 0]);
        for (kind, value) in [
            (15u16, 254u32.to_ne_bytes()),
            (1, [10, 1, 0, 3]),
            (6, 20u32.to_ne_bytes()),
        ] {
            b.extend_from_slice(&8u16.to_ne_bytes());
            b.extend_from_slice(&kind.to_ne_bytes());
            b.extend_from_slice(&value);
        }
        assert_eq!(
            events(&b),
            vec![Event::RouteDeleted {
                prefix: "10.1.0.3/32".parse().unwrap(),
                table: 254,
                protocol: 214,
                metric: 20,
                sender: 4242,
            }]
        );
    }
}
