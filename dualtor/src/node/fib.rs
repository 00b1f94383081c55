//! The kernel side: the `fib` programmer on its own thread (it is
//! synchronous), the link monitor, and the conversion of the engine's
//! group-level FIB changes into `fib`'s desired state.
//!
//! # Route forms
//! Every route to another node's loopback or block points at a kernel
//! nexthop group (one group per distinct ECMP set, shared by every prefix
//! with that set), so a whole plane fails over with one message, and every
//! route carries the node's loopback as preferred source
//! ([`fib::Config::prefsrc_v4`]). Routes are tagged with our own protocol,
//! so the static bootstrap /24s (`proto boot`/`static`) are never touched.
//!
//! Same-rack routes are two-path `via <owner's plane address> dev eth0` and
//! `via <owner's plane address> dev eth1`, not the guide's dev-only
//! `nexthop dev eth0 nexthop dev eth1`: the ToR reflects them with the next
//! hop kept (the owner's session address, on our plane subnet), and
//! `gateway direct` uses that address. This form does not depend on the
//! owner answering ARP for its loopback on a plane NIC (`arp_ignore`), and
//! with `fib_multipath_use_neigh` a dead neighbour is skipped per plane. The
//! engine produces the dev-only form only when the BGP next hop is the
//! route's own address.

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::{Duration, Instant};

use ipnet::IpNet;
use tokio::sync::{mpsc, oneshot};

use crate::config::{AddressScope, InterfaceAddress};
use crate::rib::FibStep;

/// Calico BGPPeer `reachableBy`: the static host route to the peer via the
/// gateway (BIRD `protocol static { route <peer>/32 via <gateway>; }` in
/// calico-node), as a one-hop group over the interface whose connected
/// subnet holds the gateway. It is installed, and fed to the route engine
/// so that BGP next hops equal to the peer resolve through it, but never
/// advertised (only originations are). `None` when no connected subnet
/// holds the gateway (the kernel would refuse the route).
pub(crate) fn reachable_by(
    peer: IpAddr,
    gateway: IpAddr,
    ifaces: &Interfaces,
) -> Option<(IpNet, fib::Nexthop)> {
    let ifindex = ifaces.on_link(gateway)?;
    Some((IpNet::from(peer), fib::Nexthop::via(gateway, ifindex)))
}

/// A kernel interface: index and addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Interfaces {
    /// Every address, for [`crate::config::plan()`] and the address checks.
    pub addresses: Vec<InterfaceAddress>,
    /// Interface indexes by name.
    pub index: BTreeMap<String, u32>,
}

impl Interfaces {
    /// Interfaces given by the caller (tests, or a CNI that knows them).
    pub fn new(addresses: Vec<InterfaceAddress>, index: BTreeMap<String, u32>) -> Self {
        Interfaces { addresses, index }
    }

    /// Reads the links and addresses of the calling thread's network
    /// namespace (rtnetlink dumps).
    pub async fn read() -> std::io::Result<Interfaces> {
        use futures::TryStreamExt;
        use rtnetlink::packet_route::address::{AddressAttribute, AddressScope as Scope};
        use rtnetlink::packet_route::link::LinkAttribute;

        let (conn, handle, _) = rtnetlink::new_connection()?;
        let task = tokio::spawn(conn);
        let io = |e: rtnetlink::Error| std::io::Error::other(e.to_string());
        let mut index = BTreeMap::new();
        let mut links = handle.link().get().execute();
        while let Some(l) = links.try_next().await.map_err(io)? {
            for a in &l.attributes {
                if let LinkAttribute::IfName(n) = a {
                    index.insert(n.clone(), l.header.index);
                }
            }
        }
        let names: HashMap<u32, String> = index.iter().map(|(n, i)| (*i, n.clone())).collect();
        let mut addresses = Vec::new();
        let mut addrs = handle.address().get().execute();
        while let Some(m) = addrs.try_next().await.map_err(io)? {
            let ip = m
                .attributes
                .iter()
                .find_map(|a| match a {
                    AddressAttribute::Local(ip) => Some(*ip),
                    _ => None,
                })
                .or_else(|| {
                    m.attributes.iter().find_map(|a| match a {
                        AddressAttribute::Address(ip) => Some(*ip),
                        _ => None,
                    })
                });
            let (Some(ip), Some(name)) = (ip, names.get(&m.header.index)) else {
                continue;
            };
            let Ok(net) = IpNet::new(ip, m.header.prefix_len) else {
                continue;
            };
            let scope = match m.header.scope {
                Scope::Universe => AddressScope::Universe,
                Scope::Site => AddressScope::Site,
                Scope::Link => AddressScope::Link,
                Scope::Host => AddressScope::Host,
                Scope::Nowhere => AddressScope::Nowhere,
                Scope::Other(v) => AddressScope::Other(v),
                _ => AddressScope::Other(0),
            };
            addresses.push(InterfaceAddress::new(name.clone(), net, scope));
        }
        task.abort();
        Ok(Interfaces { addresses, index })
    }

    /// The interface whose connected subnet holds `addr` (the lowest index
    /// when several do): the one a directly connected peer is reached over.
    pub fn on_link(&self, addr: IpAddr) -> Option<u32> {
        self.addresses
            .iter()
            .filter(|a| {
                a.address.prefix_len() < a.address.max_prefix_len() && a.address.contains(&addr)
            })
            .filter_map(|a| self.index.get(&a.interface).copied())
            .min()
    }

    /// Subnets connected over an interface (not host routes): what a
    /// direct next hop over it may be (the engine's `Peer::connected`).
    pub fn connected(&self, ifname: &str) -> Vec<IpNet> {
        self.addresses
            .iter()
            .filter(|a| {
                a.interface == ifname && a.address.prefix_len() < a.address.max_prefix_len()
            })
            .map(|a| a.address.trunc())
            .collect()
    }
}

/// What the programmer thread reports.
#[derive(Debug)]
pub(crate) enum FibReport {
    /// A batch was committed.
    Committed {
        changes: usize,
        report: fib::Report,
        latency: Duration,
    },
    /// The stale routes of the previous run were swept.
    Completed { report: fib::Report },
    /// A link changed state.
    Link {
        ifindex: u32,
        name: Option<String>,
        up: bool,
        carrier: bool,
    },
    /// The netlink socket failed.
    Failed(fib::Error),
}

/// Commands for the programmer thread.
#[derive(Debug)]
pub(crate) enum FibCommand {
    Apply {
        steps: Vec<FibStep>,
        queued: Instant,
    },
    Complete,
    /// Remove every route and group of ours, then exit.
    Flush(oneshot::Sender<()>),
    /// Exit, leaving the kernel as it is (graceful restart).
    Exit(oneshot::Sender<()>),
    Kernel(Vec<fib::Event>),
}

/// The node's handle on the programmer thread.
#[derive(Debug)]
pub(crate) struct FibThread {
    pub(crate) tx: std_mpsc::Sender<FibCommand>,
    /// Our routes found in the kernel at start (previous run).
    pub(crate) previous_routes: usize,
    pub(crate) status: fib::Status,
}

impl FibThread {
    /// Opens the programmer (dumping our previous routes) and the monitor,
    /// each on its own thread in the calling thread's namespace.
    pub(crate) fn start(
        cfg: fib::Config,
        reports: mpsc::Sender<FibReport>,
    ) -> Result<FibThread, fib::Error> {
        let (tx, rx) = std_mpsc::channel::<FibCommand>();
        let (ready_tx, ready_rx) = std_mpsc::channel();
        // Threads start in the namespace of the thread that spawns them.
        let mon_tx = tx.clone();
        let mon_reports = reports.clone();
        thread::Builder::new()
            .name("dualtor-fib".into())
            .spawn(move || {
                let fib = match fib::Fib::open(cfg) {
                    Ok(f) => f,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok((fib.installed_len(), fib.status())));
                run(fib, rx, reports);
            })
            .map_err(|e| fib::Error::Io(std::io::Error::other(e)))?;
        let (previous_routes, status) = ready_rx
            .recv()
            .map_err(|_| fib::Error::Io(std::io::Error::other("fib thread died")))??;
        let monitor = fib::Monitor::open(fib::MonitorConfig {
            routes: true,
            ..fib::MonitorConfig::default()
        })?;
        thread::Builder::new()
            .name("dualtor-monitor".into())
            .spawn(move || {
                monitor_loop(monitor, mon_tx, mon_reports);
            })
            .map_err(|e| fib::Error::Io(std::io::Error::other(e)))?;
        Ok(FibThread {
            tx,
            previous_routes,
            status,
        })
    }
}

fn monitor_loop(
    mut monitor: fib::Monitor,
    tx: std_mpsc::Sender<FibCommand>,
    reports: mpsc::Sender<FibReport>,
) {
    loop {
        match monitor.recv(Duration::from_millis(200)) {
            Ok(ev) if ev.is_empty() => {
                if reports.is_closed() {
                    return;
                }
            }
            Ok(ev) => {
                if tx.send(FibCommand::Kernel(ev)).is_err() {
                    return;
                }
            }
            Err(e) => {
                let _ = reports.blocking_send(FibReport::Failed(e));
                return;
            }
        }
    }
}

fn run(mut fib: fib::Fib, rx: std_mpsc::Receiver<FibCommand>, reports: mpsc::Sender<FibReport>) {
    let commit = |fib: &mut fib::Fib, changes: usize, queued: Instant| match fib.commit() {
        Ok(report) => {
            let _ = reports.blocking_send(FibReport::Committed {
                changes,
                report,
                latency: queued.elapsed(),
            });
        }
        Err(e) => {
            let _ = reports.blocking_send(FibReport::Failed(e));
        }
    };
    let mut next = None;
    while let Some(cmd) = next.take().or_else(|| rx.recv().ok()) {
        match cmd {
            FibCommand::Apply { steps, queued } => {
                // Everything queued meanwhile goes into the same commit: one
                // round of messages and acknowledgements for a burst of
                // UPDATEs (a ToR re-sending 30,000 routes arrives as hundreds
                // of them) instead of one each, so the queue cannot grow
                // faster than the kernel takes it.
                let mut n = steps.len();
                FibStep::apply_all(steps, &mut fib);
                while let Ok(more) = rx.try_recv() {
                    match more {
                        FibCommand::Apply { steps, .. } => {
                            n += steps.len();
                            FibStep::apply_all(steps, &mut fib);
                        }
                        other => {
                            next = Some(other);
                            break;
                        }
                    }
                }
                commit(&mut fib, n, queued);
            }
            FibCommand::Complete => match fib.complete() {
                Ok(report) => {
                    let _ = reports.blocking_send(FibReport::Completed { report });
                }
                Err(e) => {
                    let _ = reports.blocking_send(FibReport::Failed(e));
                }
            },
            FibCommand::Kernel(events) => {
                let mut repair = false;
                for ev in &events {
                    repair |= fib.handle_event(ev);
                    if let fib::Event::Link {
                        ifindex,
                        name,
                        up,
                        carrier,
                    } = ev
                    {
                        let _ = reports.blocking_send(FibReport::Link {
                            ifindex: *ifindex,
                            name: name.clone(),
                            up: *up,
                            carrier: *carrier,
                        });
                    }
                }
                if repair {
                    commit(&mut fib, 0, Instant::now());
                }
            }
            FibCommand::Flush(done) => {
                fib.clear();
                // `complete` commits, and also sweeps what is left of a
                // previous run.
                let _ = fib.complete();
                let _ = done.send(());
                return;
            }
            FibCommand::Exit(done) => {
                let _ = done.send(());
                return;
            }
        }
    }
}

/// Whether an address is the loopback's family peer (used for prefsrc).
pub(crate) fn prefsrc(cfg: &mut fib::Config, loopbacks: &[IpAddr]) {
    for a in loopbacks {
        match a {
            IpAddr::V4(v4) => cfg.prefsrc_v4 = Some(*v4),
            IpAddr::V6(v6) => cfg.prefsrc_v6 = Some(*v6),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Calico BGPPeer `reachableBy` (calico-semantics.md): a /32 to the peer
    // via the gateway, over the interface whose subnet holds the gateway;
    // nothing when no connected subnet holds it.
    #[test]
    fn reachable_by_routes_the_peer_via_the_gateway_on_its_subnet() {
        use crate::config::{AddressScope, InterfaceAddress};
        let ifaces = Interfaces::new(
            vec![
                InterfaceAddress::new("lo", "172.31.10.1/32".parse().unwrap(), AddressScope::Host),
                InterfaceAddress::new(
                    "eth0",
                    "172.31.11.1/24".parse().unwrap(),
                    AddressScope::Link,
                ),
                InterfaceAddress::new(
                    "eth1",
                    "172.31.12.1/24".parse().unwrap(),
                    AddressScope::Link,
                ),
            ],
            [
                ("lo".to_owned(), 1),
                ("eth0".to_owned(), 2),
                ("eth1".to_owned(), 3),
            ]
            .into_iter()
            .collect(),
        );
        let peer: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(
            reachable_by(peer, "172.31.12.254".parse().unwrap(), &ifaces),
            Some((
                "192.0.2.7/32".parse().unwrap(),
                fib::Nexthop::via("172.31.12.254".parse().unwrap(), 3)
            ))
        );
        // The loopback's /32 is not a connected subnet.
        assert_eq!(
            reachable_by(peer, "172.31.10.1".parse().unwrap(), &ifaces),
            None
        );
        assert_eq!(
            reachable_by(peer, "198.51.100.1".parse().unwrap(), &ifaces),
            None
        );
    }
}
