//! The Calico dual-ToR guide's topology as one call.
//!
//! ```text
//!            plane 1 core (172.31.1.0/24)        plane 2 core (172.31.2.0/24)
//!        ra1 .1 ------------------- .2 rb1      ra2 .1 ------------------- .2 rb2
//!   br0 172.31.11.250          br0 172.31.21.250 ...
//!      |        |                 |        |
//!   a1 eth0  a2 eth0           b1 eth0  b2 eth0     (eth1 of every node: plane 2 ToR)
//! ```
//!
//! Addressing (the guide's scheme, 172.31.X.Y with X = 10 × rack + plane):
//! - racks are numbered from 1 (rack A = 1, B = 2, …), nodes from 1, planes 1 and 2;
//! - node loopback `172.31.<10r>.<n>/32` on `lo`; NIC addresses `172.31.<10r+p>.<n>/24
//!   scope link` on `eth0` (plane 1) and `eth1` (plane 2);
//! - ToR `r<rack letter><plane>` has a bridge `br0` holding `172.31.<10r+p>.250/24`
//!   with one port `n<n>` per node, and a core link `core` with `172.31.<p>.<r>/24`
//!   (with two racks a veth ToR-to-ToR, as in lab.md; with more, a per-plane spine
//!   namespace `sp<p>` holding an L2 bridge);
//! - pod block of node n in rack r: `10.244.<16r + n>.0/26` (rack A: 10.244.17.0/26,
//!   10.244.18.0/26; rack B: 10.244.33.0/26, …), originated as a blackhole and
//!   exported; so up to 15 nodes per rack;
//! - AS 65000 + r per rack; nodes run iBGP to both of their ToRs; ToRs reflect for
//!   their rack (`next hop keep ibgp; next hop self ebgp`, lab.md pitfall 2) and run
//!   eBGP to the same-plane ToR of every other rack.
//!
//! Kernel state as the guide says: `fib_multipath_hash_policy=1` on nodes,
//! `ip_forward=1` on ToRs, `rp_filter=0` everywhere (ECMP is asymmetric); node
//! bootstrap routes `172.31.<10r>.0/24 nexthop dev eth0 nexthop dev eth1` (own rack)
//! and `172.31.<10r'>.0/24 nexthop via 172.31.<10r+1>.250 nexthop via
//! 172.31.<10r+2>.250` (each other rack r'); ToR loopback routes: a `/32 via` each own
//! node's plane address and a `/24 via` each other rack's same-plane ToR, with metric
//! 1000 so that the BGP routes (BIRD metric 32, zebra 20) win.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnet::Ipv4Net;

use crate::daemons::config::{Bfd, Gateway, Llgr, Neighbor, NextHop, Policy, Router};
use crate::daemons::{Bird, Frr};
use crate::error::{Error, Result};
use crate::netns::{Netns, veth};
use crate::routes::Path;

/// Builds the command that runs on one ToR (inside its namespace, see [`Tor::ns`])
/// from the ToR and the BGP configuration the topology gives BIRD and FRR
/// ([`Topology::tor_router`]: its rack's nodes as route-reflector clients, the
/// other racks' same-plane ToRs as eBGP peers, BFD and LLGR timers); it is
/// spawned by the topology and stopped on Drop.
pub type TorCommand = Arc<dyn Fn(&Tor, &Router) -> std::process::Command + Send + Sync>;

/// What runs on the ToRs.
#[derive(Clone)]
pub enum TorKind {
    /// BIRD 2.
    Bird,
    /// FRR (zebra, bgpd, bfdd, staticd).
    Frr,
    /// A command per ToR, e.g. the embedded `dualtor-tor` of the examples.
    Command(TorCommand),
    /// Nothing: the test starts its own (static routes and bridges are there).
    None,
}

impl std::fmt::Debug for TorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TorKind::Bird => f.write_str("Bird"),
            TorKind::Frr => f.write_str("Frr"),
            TorKind::Command(_) => f.write_str("Command(..)"),
            TorKind::None => f.write_str("None"),
        }
    }
}

/// Builds the command that runs on one node (inside its namespace, see
/// [`Node::ns`]); it is spawned by the topology and killed on Drop.
pub type NodeCommand = Arc<dyn Fn(&Node) -> std::process::Command + Send + Sync>;

/// What runs on the nodes.
#[derive(Clone)]
pub enum NodeKind {
    /// BIRD 2 configured as calico-node would for the guide: iBGP `direct` to both
    /// ToRs, BFD, LLGR, `gateway direct`, kernel ECMP (`merge paths`), exporting the
    /// node's loopback /32 and pod /26 block.
    Bird,
    /// A command per node, e.g. the dualtor node daemon.
    Command(NodeCommand),
    /// Nothing.
    None,
}

impl std::fmt::Debug for NodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeKind::Bird => f.write_str("Bird"),
            NodeKind::Command(_) => f.write_str("Command(..)"),
            NodeKind::None => f.write_str("None"),
        }
    }
}

/// The shape of the lab.
#[derive(Debug, Clone)]
pub struct TopologySpec {
    /// Number of racks (1..=9).
    pub racks: u8,
    /// Nodes per rack (1..=15).
    pub nodes_per_rack: u8,
    /// ToR daemon.
    pub tor: TorKind,
    /// Node software.
    pub node: NodeKind,
}

impl Default for TopologySpec {
    /// The guide's example: 2 racks × 2 nodes, BIRD everywhere.
    fn default() -> Self {
        TopologySpec {
            racks: 2,
            nodes_per_rack: 2,
            tor: TorKind::Bird,
            node: NodeKind::Bird,
        }
    }
}

/// Protocol tuning shared by every session the topology configures.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Tuning {
    /// BFD on every session (node-ToR and ToR-ToR). Default 100 ms × 3, not graceful
    /// (lab.md pitfall 4: `bfd graceful` delays reactions by 2-3 s in BIRD 2.0.12).
    pub bfd: Option<Bfd>,
    /// LLGR stale time on every session (default 3600 s, GR time 0 as Calico does).
    pub llgr_stale_time: Option<u32>,
    /// BIRD `connect retry time` / `connect delay time` / `error wait time`. Default
    /// 1 s / 1 s / (1, 2) so that sessions come back about a second after a repair;
    /// Calico's BIRD uses the BIRD defaults with `error wait time 5,30` (lab.md
    /// pitfall 5: 15-22 s back to ECMP).
    pub connect_retry_time: u16,
    /// See [`connect_retry_time`](Self::connect_retry_time).
    pub connect_delay_time: u16,
    /// See [`connect_retry_time`](Self::connect_retry_time).
    pub error_wait_time: (u16, u16),
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            bfd: Some(Bfd::with_interval(Duration::from_millis(100))),
            llgr_stale_time: Some(3600),
            connect_retry_time: 1,
            connect_delay_time: 1,
            error_wait_time: (1, 2),
        }
    }
}

impl Tuning {
    /// Calico's BIRD timers: `error wait time 5,30` and BIRD's defaults otherwise.
    pub fn calico() -> Tuning {
        Tuning {
            connect_retry_time: 120,
            connect_delay_time: 5,
            error_wait_time: (5, 30),
            ..Tuning::default()
        }
    }
}

/// One node of the topology.
#[derive(Debug)]
pub struct Node {
    /// Rack number (1 = A).
    pub rack: u8,
    /// Node number in the rack (1-based).
    pub index: u8,
    /// Short name as in the guide (`a1`).
    pub name: String,
    /// Its namespace.
    pub ns: Netns,
    /// Loopback address (on `lo`, /32).
    pub loopback: Ipv4Addr,
    /// NIC addresses: `[eth0 (plane 1), eth1 (plane 2)]`.
    pub nic: [Ipv4Addr; 2],
    /// The ToRs' addresses on the node's subnets: `[plane 1, plane 2]`.
    pub tor_addr: [Ipv4Addr; 2],
    /// The node's pod block.
    pub pod_block: Ipv4Net,
    /// The rack's AS.
    pub asn: u32,
}

/// One ToR.
#[derive(Debug)]
pub struct Tor {
    /// Rack number (1 = A).
    pub rack: u8,
    /// Plane (1 or 2).
    pub plane: u8,
    /// Short name as in lab.md (`ra1`).
    pub name: String,
    /// Its namespace.
    pub ns: Netns,
    /// Address on the rack's plane subnet (`.250`, on `br0`).
    pub addr: Ipv4Addr,
    /// Address on the plane's core link (`172.31.<plane>.<rack>`, on `core`).
    pub core_addr: Ipv4Addr,
    /// The rack's AS.
    pub asn: u32,
}

/// A daemon or command the topology started.
#[derive(Debug)]
#[non_exhaustive]
pub enum Daemon {
    /// BIRD 2.
    Bird(Bird),
    /// FRR.
    Frr(Frr),
    /// A [`NodeKind::Command`] or [`TorKind::Command`] process.
    Command(crate::daemons::Process),
    /// Nothing runs here.
    None,
}

/// The guide's topology, torn down on Drop (daemons first, then namespaces).
#[derive(Debug)]
pub struct Topology {
    // Field order matters: daemons drop before the namespaces they run in.
    node_daemons: Vec<Daemon>,
    tor_daemons: Vec<Daemon>,
    nodes: Vec<Node>,
    tors: Vec<Tor>,
    spines: Vec<Netns>,
    spec: TopologySpec,
    tuning: Tuning,
}

/// Rack letter: 1 → 'a'.
pub fn rack_letter(rack: u8) -> char {
    (b'a' + rack - 1) as char
}

fn ip(x: u8, y: u8) -> Ipv4Addr {
    Ipv4Addr::new(172, 31, x, y)
}

/// AS of rack `rack` (65001 for rack A).
pub fn rack_asn(rack: u8) -> u32 {
    65000 + u32::from(rack)
}

/// Pod block of node `n` in rack `rack` (`10.244.<16 rack + n>.0/26`).
pub fn pod_block(rack: u8, n: u8) -> Ipv4Net {
    Ipv4Net::new(Ipv4Addr::new(10, 244, 16 * rack + n, 0), 26).expect("valid prefix")
}

/// Loopback of node `n` in rack `rack` (`172.31.<10 rack>.<n>`).
pub fn loopback(rack: u8, n: u8) -> Ipv4Addr {
    ip(10 * rack, n)
}

impl Topology {
    /// Builds the topology with the default [`Tuning`].
    pub fn build(spec: TopologySpec) -> Result<Topology> {
        Topology::build_with(spec, Tuning::default())
    }

    /// Builds the topology: namespaces, links, addresses, sysctls, bootstrap routes,
    /// then the ToR daemons, then the node software. Does not wait for convergence
    /// (see [`wait_converged`](Self::wait_converged)).
    pub fn build_with(spec: TopologySpec, tuning: Tuning) -> Result<Topology> {
        if !(1..=9).contains(&spec.racks) || !(1..=15).contains(&spec.nodes_per_rack) {
            return Err(Error::Parse {
                what: "TopologySpec",
                detail: format!(
                    "racks {} (1..=9), nodes_per_rack {} (1..=15)",
                    spec.racks, spec.nodes_per_rack
                ),
            });
        }
        let mut t = Topology {
            node_daemons: Vec::new(),
            tor_daemons: Vec::new(),
            nodes: Vec::new(),
            tors: Vec::new(),
            spines: Vec::new(),
            spec: spec.clone(),
            tuning,
        };
        t.build_net()?;
        t.start_tors()?;
        t.start_nodes()?;
        Ok(t)
    }

    fn build_net(&mut self) -> Result<()> {
        let (racks, per) = (self.spec.racks, self.spec.nodes_per_rack);
        for r in 1..=racks {
            for p in 1..=2u8 {
                let name = format!("r{}{p}", rack_letter(r));
                let ns = Netns::new(&name)?;
                ns.sysctl("net.ipv4.ip_forward", "1")?;
                ns.sysctl("net.ipv4.conf.all.rp_filter", "0")?;
                ns.sysctl("net.ipv4.conf.default.rp_filter", "0")?;
                ns.sysctl("net.ipv4.fib_multipath_hash_policy", "1")?;
                ns.bridge("br0")?;
                ns.addr_add("br0", &format!("{}/24", ip(10 * r + p, 250)))?;
                self.tors.push(Tor {
                    rack: r,
                    plane: p,
                    name,
                    ns,
                    addr: ip(10 * r + p, 250),
                    core_addr: ip(p, r),
                    asn: rack_asn(r),
                });
            }
            for n in 1..=per {
                let name = format!("{}{n}", rack_letter(r));
                let ns = Netns::new(&name)?;
                ns.sysctl("net.ipv4.fib_multipath_hash_policy", "1")?;
                ns.sysctl("net.ipv4.conf.all.rp_filter", "0")?;
                ns.sysctl("net.ipv4.conf.default.rp_filter", "0")?;
                ns.addr_add("lo", &format!("{}/32", loopback(r, n)))?;
                self.nodes.push(Node {
                    rack: r,
                    index: n,
                    name,
                    ns,
                    loopback: loopback(r, n),
                    nic: [ip(10 * r + 1, n), ip(10 * r + 2, n)],
                    tor_addr: [ip(10 * r + 1, 250), ip(10 * r + 2, 250)],
                    pod_block: pod_block(r, n),
                    asn: rack_asn(r),
                });
            }
        }
        // Node <-> ToR links.
        for node in &self.nodes {
            for p in 1..=2u8 {
                let tor = self.tor_info(node.rack, p);
                let dev = format!("eth{}", p - 1);
                let port = format!("n{}", node.index);
                veth(&node.ns, &dev, &tor.ns, &port)?;
                tor.ns.bridge_port("br0", &port)?;
                node.ns.addr_add_scoped(
                    &dev,
                    &format!("{}/24", node.nic[usize::from(p - 1)]),
                    "link",
                )?;
            }
        }
        // Core links, per plane.
        for p in 1..=2u8 {
            if racks == 2 {
                veth(
                    &self.tor_info(1, p).ns,
                    "core",
                    &self.tor_info(2, p).ns,
                    "core",
                )?;
            } else if racks > 2 {
                let spine = Netns::new(&format!("sp{p}"))?;
                spine.bridge("br0")?;
                for r in 1..=racks {
                    let port = format!("r{r}");
                    veth(&self.tor_info(r, p).ns, "core", &spine, &port)?;
                    spine.bridge_port("br0", &port)?;
                }
                self.spines.push(spine);
            }
            if racks >= 2 {
                for r in 1..=racks {
                    let tor = self.tor_info(r, p);
                    tor.ns.addr_add("core", &format!("{}/24", tor.core_addr))?;
                }
            }
        }
        // Bootstrap routes: nodes.
        for node in &self.nodes {
            node.ns.route_add(&format!(
                "{}/24 nexthop dev eth0 nexthop dev eth1",
                loopback(node.rack, 0)
            ))?;
            for r in (1..=racks).filter(|&r| r != node.rack) {
                node.ns.route_add(&format!(
                    "{}/24 nexthop via {} nexthop via {}",
                    loopback(r, 0),
                    node.tor_addr[0],
                    node.tor_addr[1]
                ))?;
            }
        }
        // Bootstrap routes: ToRs.
        for tor in &self.tors {
            for n in 1..=per {
                tor.ns.route_add(&format!(
                    "{}/32 via {} dev br0 metric 1000",
                    loopback(tor.rack, n),
                    ip(10 * tor.rack + tor.plane, n)
                ))?;
            }
            for r in (1..=racks).filter(|&r| r != tor.rack) {
                tor.ns.route_add(&format!(
                    "{}/24 via {} dev core metric 1000",
                    loopback(r, 0),
                    ip(tor.plane, r)
                ))?;
            }
        }
        Ok(())
    }

    fn session(&self, name: String, peer: Ipv4Addr, peer_as: u32) -> Neighbor {
        let mut n = Neighbor::new(&name, peer, peer_as);
        n.direct = true;
        n.bfd = self.tuning.bfd;
        n.llgr = self
            .tuning
            .llgr_stale_time
            .map(|stale_time| Llgr { stale_time });
        n.connect_retry_time = Some(self.tuning.connect_retry_time);
        n.connect_delay_time = Some(self.tuning.connect_delay_time);
        n.error_wait_time = Some(self.tuning.error_wait_time);
        n
    }

    /// The BGP configuration of a ToR (rendered to BIRD or FRR).
    pub fn tor_router(&self, rack: u8, plane: u8) -> Router {
        let tor = self.tor_info(rack, plane);
        let mut r = Router::new(tor.addr, tor.asn);
        for node in self.nodes.iter().filter(|n| n.rack == rack) {
            let mut s = self.session(node.name.clone(), node.nic[usize::from(plane - 1)], tor.asn);
            s.rr_client = true;
            s.next_hop = NextHop::KeepIbgpSelfEbgp;
            s.gateway = Gateway::Direct;
            r.neighbors.push(s);
        }
        for other in self
            .tors
            .iter()
            .filter(|t| t.plane == plane && t.rack != rack)
        {
            let s = self.session(other.name.clone(), other.core_addr, other.asn);
            r.neighbors.push(s);
        }
        r
    }

    /// The BGP configuration calico-node would give node `n` of `rack` (rendered to
    /// BIRD for [`NodeKind::Bird`]).
    pub fn node_router(&self, rack: u8, n: u8) -> Router {
        let node = self.node_info(rack, n);
        let mut r = Router::new(node.loopback, node.asn);
        r.originate = vec![
            Ipv4Net::new(node.loopback, 32).expect("valid prefix"),
            node.pod_block,
        ];
        for p in 1..=2u8 {
            let tor = self.tor_info(rack, p);
            let mut s = self.session(tor.name.clone(), tor.addr, tor.asn);
            s.gateway = Gateway::Direct;
            s.export = Policy::Originated;
            r.neighbors.push(s);
        }
        r
    }

    fn start_tors(&mut self) -> Result<()> {
        // In parallel: FRR needs about a second per instance to start.
        let kind = &self.spec.tor;
        let cfgs: Vec<Router> = self
            .tors
            .iter()
            .map(|t| self.tor_router(t.rack, t.plane))
            .collect();
        let started: Vec<Result<Daemon>> = std::thread::scope(|s| {
            let handles: Vec<_> = self
                .tors
                .iter()
                .zip(&cfgs)
                .map(|(tor, cfg)| {
                    s.spawn(move || -> Result<Daemon> {
                        Ok(match kind {
                            TorKind::Bird => Daemon::Bird(Bird::start(&tor.ns, cfg)?),
                            TorKind::Frr => Daemon::Frr(Frr::start(&tor.ns, cfg)?),
                            TorKind::Command(f) => Daemon::Command(
                                crate::daemons::Process::spawn_logged(&tor.name, f(tor, cfg))?,
                            ),
                            TorKind::None => Daemon::None,
                        })
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        // Keep every daemon that started (so Drop stops it) before reporting an error.
        let mut first_err = None;
        for d in started {
            match d {
                Ok(d) => self.tor_daemons.push(d),
                Err(e) => {
                    first_err.get_or_insert(e);
                    self.tor_daemons.push(Daemon::None);
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn start_nodes(&mut self) -> Result<()> {
        for i in 0..self.nodes.len() {
            let (rack, n) = (self.nodes[i].rack, self.nodes[i].index);
            let d = match &self.spec.node {
                NodeKind::Bird => {
                    Daemon::Bird(Bird::start(&self.nodes[i].ns, &self.node_router(rack, n))?)
                }
                NodeKind::Command(f) => {
                    let cmd = f(&self.nodes[i]);
                    Daemon::Command(crate::daemons::Process::spawn_logged(
                        &self.nodes[i].name,
                        cmd,
                    )?)
                }
                NodeKind::None => Daemon::None,
            };
            self.node_daemons.push(d);
        }
        Ok(())
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &TopologySpec {
        &self.spec
    }

    /// Node `n` (1-based) of `rack` (1 = A). Panics if out of range.
    pub fn node(&self, rack: u8, n: u8) -> &Netns {
        &self.node_info(rack, n).ns
    }

    /// Everything about node `n` of `rack`. Panics if out of range.
    pub fn node_info(&self, rack: u8, n: u8) -> &Node {
        self.nodes
            .iter()
            .find(|x| x.rack == rack && x.index == n)
            .unwrap_or_else(|| panic!("no node {n} in rack {rack}"))
    }

    /// The ToR of `rack` on `plane` (1 or 2). Panics if out of range.
    pub fn tor(&self, rack: u8, plane: u8) -> &Netns {
        &self.tor_info(rack, plane).ns
    }

    /// Everything about the ToR of `rack` on `plane`. Panics if out of range.
    pub fn tor_info(&self, rack: u8, plane: u8) -> &Tor {
        self.tors
            .iter()
            .find(|x| x.rack == rack && x.plane == plane)
            .unwrap_or_else(|| panic!("no ToR for rack {rack} plane {plane}"))
    }

    /// All nodes, rack by rack.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// All ToRs, rack by rack, plane 1 first.
    pub fn tors(&self) -> &[Tor] {
        &self.tors
    }

    fn node_pos(&self, rack: u8, n: u8) -> usize {
        self.nodes
            .iter()
            .position(|x| x.rack == rack && x.index == n)
            .unwrap_or_else(|| panic!("no node {n} in rack {rack}"))
    }

    fn tor_pos(&self, rack: u8, plane: u8) -> usize {
        self.tors
            .iter()
            .position(|x| x.rack == rack && x.plane == plane)
            .unwrap_or_else(|| panic!("no ToR for rack {rack} plane {plane}"))
    }

    /// What runs on node `n` of `rack` (mutable: kill, restart).
    pub fn node_daemon(&mut self, rack: u8, n: u8) -> &mut Daemon {
        let i = self.node_pos(rack, n);
        &mut self.node_daemons[i]
    }

    /// What runs on the ToR of `rack` on `plane` (mutable: kill, restart).
    pub fn tor_daemon(&mut self, rack: u8, plane: u8) -> &mut Daemon {
        let i = self.tor_pos(rack, plane);
        &mut self.tor_daemons[i]
    }

    /// The node's BIRD, if it runs one.
    pub fn node_bird(&self, rack: u8, n: u8) -> Option<&Bird> {
        match &self.node_daemons[self.node_pos(rack, n)] {
            Daemon::Bird(b) => Some(b),
            _ => None,
        }
    }

    /// The ToR's BIRD, if it runs one.
    pub fn tor_bird(&self, rack: u8, plane: u8) -> Option<&Bird> {
        match &self.tor_daemons[self.tor_pos(rack, plane)] {
            Daemon::Bird(b) => Some(b),
            _ => None,
        }
    }

    /// The ToR's FRR, if it runs one.
    pub fn tor_frr(&self, rack: u8, plane: u8) -> Option<&Frr> {
        match &self.tor_daemons[self.tor_pos(rack, plane)] {
            Daemon::Frr(f) => Some(f),
            _ => None,
        }
    }

    /// Starts `f(node)` on every node (in addition to what already runs there), kept
    /// until the topology drops; e.g. the dualtor node daemon after a build with
    /// [`NodeKind::None`].
    pub fn spawn_on_nodes(
        &mut self,
        mut f: impl FnMut(&Node) -> std::process::Command,
    ) -> Result<()> {
        for i in 0..self.nodes.len() {
            let p = crate::daemons::Process::spawn_logged(&self.nodes[i].name, f(&self.nodes[i]))?;
            self.node_daemons[i] = Daemon::Command(p);
        }
        Ok(())
    }

    /// The routes the guide expects on node `n` of `rack` when every plane works:
    /// for every other node, its loopback /32 and pod block, ECMP over both planes
    /// (other racks: `via <ToR .250>` on eth0 and eth1; same rack: via the node's own
    /// plane addresses, which is what BIRD 2 with `gateway direct` and `next hop keep`
    /// installs, where the guide shows `nexthop dev eth0 nexthop dev eth1`).
    pub fn expected_ecmp(&self, rack: u8, n: u8) -> Vec<(Ipv4Net, Vec<Path>)> {
        let me = self.node_info(rack, n);
        let mut v = Vec::new();
        for other in self
            .nodes
            .iter()
            .filter(|o| !(o.rack == rack && o.index == n))
        {
            let paths = if other.rack == rack {
                vec![
                    Path::via(&other.nic[0].to_string(), "eth0"),
                    Path::via(&other.nic[1].to_string(), "eth1"),
                ]
            } else {
                vec![
                    Path::via(&me.tor_addr[0].to_string(), "eth0"),
                    Path::via(&me.tor_addr[1].to_string(), "eth1"),
                ]
            };
            v.push((
                Ipv4Net::new(other.loopback, 32).expect("valid"),
                paths.clone(),
            ));
            v.push((other.pod_block, paths));
        }
        v
    }

    /// Whether every node has every [`expected_ecmp`](Self::expected_ecmp) route.
    pub fn is_converged(&self) -> Result<bool> {
        for node in &self.nodes {
            let routes = node.ns.routes()?;
            for (dst, paths) in self.expected_ecmp(node.rack, node.index) {
                let ok = routes
                    .iter()
                    .filter(|r| r.dst == ipnet::IpNet::V4(dst))
                    .min_by_key(|r| r.metric)
                    .is_some_and(|r| r.has_paths(&paths));
                if !ok {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Polls [`is_converged`](Self::is_converged) every 50 ms; returns how long it
    /// took, or `Err(Timeout)` with node a1's table.
    pub fn wait_converged(&self, timeout: Duration) -> Result<Duration> {
        let start = Instant::now();
        loop {
            if self.is_converged()? {
                return Ok(start.elapsed());
            }
            if start.elapsed() > timeout {
                let table = self.nodes[0].ns.sh("ip route").unwrap_or_default();
                return Err(Error::Timeout {
                    what: format!(
                        "full ECMP on every node; {} has:\n{table}",
                        self.nodes[0].name
                    ),
                    waited: timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    /// Every namespace's kernel forwarding state (IPv4 routes of every table and
    /// nexthop objects), one string per namespace: what [`wait_quiet`](Self::wait_quiet)
    /// compares.
    fn kernel_state(&self) -> Result<Vec<String>> {
        let all = self
            .nodes
            .iter()
            .map(|n| &n.ns)
            .chain(self.tors.iter().map(|t| &t.ns))
            .chain(self.spines.iter());
        all.map(|ns| ns.sh("ip -4 route show table all; ip nexthop show 2>/dev/null || true"))
            .collect()
    }

    /// Whether every BGP session and BFD session of the FRR ToRs is up (`true`
    /// for other ToR kinds, whose state the kernel tables reflect).
    fn tor_sessions_up(&self) -> Result<bool> {
        for d in &self.tor_daemons {
            if let Daemon::Frr(f) = d {
                if !f.bgp_peers()?.iter().all(|p| p.state == "Established") {
                    return Ok(false);
                }
                if !f.bfd_peers()?.iter().all(|p| p.status == "up") {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// Waits for true convergence, not a fixed delay: every node has full ECMP
    /// ([`is_converged`](Self::is_converged)), every FRR ToR's BGP and BFD sessions
    /// are up, and no namespace's kernel routes or nexthop objects changed for
    /// `quiet`. A failure's aftermath (a session a ToR resets a few hundred ms
    /// after the repair, a withdrawal still travelling) shows up as a change and
    /// restarts the quiet period. Returns how long it took.
    pub fn wait_quiet(&self, quiet: Duration, timeout: Duration) -> Result<Duration> {
        let start = Instant::now();
        let mut last = self.kernel_state()?;
        let mut since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let now = self.kernel_state()?;
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= quiet {
                if self.is_converged()? && self.tor_sessions_up()? {
                    // The daemons' state was read after the quiet period: one
                    // more look that nothing moved meanwhile.
                    if self.kernel_state()? == last {
                        return Ok(start.elapsed());
                    }
                }
                since = Instant::now();
            }
            if start.elapsed() > timeout {
                return Err(Error::Timeout {
                    what: format!(
                        "a quiet network ({} ms without a route change)",
                        quiet.as_millis()
                    ),
                    waited: timeout,
                });
            }
        }
    }
}
