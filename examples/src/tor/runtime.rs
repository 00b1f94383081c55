//! The ToR's task: a loop that feeds session, BFD and link events to the
//! `llgr` engine and drains its outputs to the sessions and the FIB (style
//! rule 21). The composition decisions, as the lab's BIRD ToR makes them:
//! - BFD Down (RFC 5882 §4.3) or carrier loss takes the session down at once,
//!   as a graceful loss: GR time 0, so the routes go LLGR-stale (RFC 9494 §4.2)
//!   and stay usable as a last resort (BIRD `bfd graceful`, the facade's rule);
//! - BFD Up or carrier back reconnects at once (BIRD `error wait time 1,10`);
//! - End-of-RIB follows the initial table (RFC 4724 §4.1);
//! - our own graceful restart (RFC 4724 §4.1, style rule 26): when the kernel
//!   holds a previous run's routes, they keep forwarding, our OPENs carry the
//!   Restart State bit, and our End-of-RIB is deferred, until every peer sent
//!   End-of-RIB or the deferral passed; then the routes not re-learned are
//!   swept and End-of-RIB goes to every peer (which then sweeps ours);
//! - [`Stop::Restart`] closes the sessions without a NOTIFICATION and leaves
//!   the kernel routes for the next run; [`Stop::Shutdown`] sends Cease and
//!   removes them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use bgp_wire::transport::Listener;
use dualtor::node::{
    FibStatus, RestartState, SessionCommand, SessionEvent, SessionState, StopReason, WireTransport,
};
use ipnet::IpNet;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::config::Config;
use super::fib::{self as tfib, Report};
use super::session::{self, Event};
use super::status::{self, NextHopStatus, PeerStatus, RouteStatus, Status};
use super::{Error, policy};

/// How [`run`] ends, as its `shutdown` future says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// Our own restart (RFC 4724 §4): the sessions close without a
    /// NOTIFICATION, so that the peers keep our routes (GR time 0 with LLGR:
    /// long-lived stale), and the kernel routes stay, forwarding, for the next
    /// run to adopt and sweep. What SIGTERM means to `dualtor-tor`.
    Restart,
    /// Going away: Cease, Administrative Shutdown (RFC 4486) to every peer and
    /// our routes removed from the kernel. What SIGINT means to `dualtor-tor`.
    Shutdown,
}

struct Peer {
    name: String,
    address: IpAddr,
    peer_as: u32,
    id: llgr::PeerId,
    client: bool,
    ifindex: Option<u32>,
    interface: Option<String>,
    since: Instant,
    flaps: u64,
    last_down: Option<String>,
    /// NLRIs announced in this session.
    received: u64,
    /// What we advertise, after [`policy::outgoing`].
    advertised: BTreeSet<IpNet>,
    bfd_state: Option<bfd::State>,
    cmd: mpsc::UnboundedSender<SessionCommand>,
    task: Option<tokio::task::JoinHandle<()>>,
    _bfd: Option<mpsc::UnboundedSender<()>>,
    /// Connection serial and our address while Established.
    up: Option<(u64, IpAddr)>,
    send_eor: bool,
    got_eor: bool,
}

struct Tor {
    engine: llgr::Engine,
    peers: Vec<Peer>,
    by_id: BTreeMap<llgr::PeerId, usize>,
    fib: Option<std_mpsc::Sender<tfib::Command>>,
    bfd: Option<bfd::runtime::Runtime>,
    completed: bool,
    /// Our own graceful restart is in progress (End-of-RIB deferred).
    restarting: bool,
    router_id: Ipv4Addr,
    asn: u32,
    cluster_id: Ipv4Addr,
    fib_status: FibStatus,
    ifnames: BTreeMap<u32, String>,
}

/// The interface whose connected subnet holds `addr`: its name, index and subnets.
fn interface_of(
    ifaces: &dualtor::node::Interfaces,
    addr: IpAddr,
) -> Option<(String, u32, Vec<IpNet>)> {
    let index = ifaces.on_link(addr)?;
    let (name, _) = ifaces.index.iter().find(|(_, i)| **i == index)?;
    Some((name.clone(), index, ifaces.connected(name)))
}

/// Binds the BGP listener; the default dual-stack `[::]` falls back to
/// `0.0.0.0` in a namespace without IPv6.
fn listen(addr: SocketAddr) -> Result<Listener, Error> {
    match Listener::bind(addr) {
        Ok(l) => Ok(l),
        Err(e) if addr.ip() == IpAddr::V6(Ipv6Addr::UNSPECIFIED) => {
            Listener::bind(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), addr.port()))
                .map_err(|_| Error::Listen(e))
        }
        Err(e) => Err(Error::Listen(e)),
    }
}

/// Runs the ToR in the calling thread's network namespace until `shutdown`
/// completes, then stops as it says ([`Stop`]). Must run inside a tokio runtime.
pub async fn run(cfg: Config, shutdown: impl Future<Output = Stop>) -> Result<(), Error> {
    cfg.check()?;
    let ifaces = dualtor::node::Interfaces::read()
        .await
        .map_err(Error::Interfaces)?;
    let local: Vec<IpAddr> = ifaces.addresses.iter().map(|a| a.address.addr()).collect();
    let mut engine = llgr::Engine::new(policy::engine_config(&cfg, local));
    let listener = listen(cfg.listen)?;
    tokio::spawn(listener.clone().run());
    let wire =
        WireTransport::with_listener(listener).with_shutdown_message("dualtor-tor shutting down");
    let bfd = match cfg.bfd {
        Some(_) => Some(bfd::runtime::Runtime::spawn_thread(
            bfd::runtime::Options::default(),
        )?),
        None => None,
    };
    let (fib_tx, mut fib_rx) = mpsc::unbounded_channel();
    let mut fib_status = FibStatus::default();
    let fib = if cfg.fib {
        let f = tfib::start(fib_tx)?;
        fib_status.enabled = true;
        fib_status.nexthop_objects = f.nexthop_objects;
        fib_status.previous_routes = f.previous_routes;
        Some(f)
    } else {
        tfib::start_monitor(fib_tx, None)?;
        None
    };
    // RFC 4724 §4.1: routes of ours in the kernel mean we restarted with our
    // forwarding state preserved.
    let restarting = fib.as_ref().is_some_and(|f| f.previous_routes > 0);
    if restarting {
        info!(
            previous_routes = fib_status.previous_routes,
            "graceful restart: the previous run's kernel routes keep forwarding until End-of-RIB from every peer"
        );
    }
    let fib = fib.map(|f| f.tx);
    let (status_tx, mut status_rx) = mpsc::channel::<status::Request>(4);
    if let Some(path) = &cfg.status_socket {
        let l = crate::daemon::bind_status(path).map_err(Error::Status)?;
        let requests = status_tx.clone();
        tokio::spawn(crate::daemon::serve_status(l, move || {
            let requests = requests.clone();
            async move {
                let (tx, rx) = oneshot::channel();
                requests.send(tx).await.ok()?;
                rx.await.ok()
            }
        }));
    }
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let mut peers = Vec::new();
    let mut by_id = BTreeMap::new();
    for (idx, p) in cfg.peers.iter().enumerate() {
        let on = interface_of(&ifaces, p.address);
        if on.is_none() {
            warn!(peer = %p.label(), "not on a connected subnet: no BFD, recursive next hops will not resolve");
        }
        let id = engine.add_peer(policy::engine_peer(
            &cfg,
            p,
            on.as_ref().map(|(_, i, s)| (*i, s.clone())),
        ));
        by_id.insert(id, idx);
        let (cmd, task) = session::spawn_bgp(idx, &cfg, p, restarting, &wire, ev_tx.clone());
        let bfd_tx = match (&bfd, cfg.bfd, &on) {
            (Some(rt), Some(b), Some((name, _, _))) => Some(session::spawn_bfd(
                idx,
                rt.clone(),
                p.address,
                Some(name.clone()),
                b.session(),
                ev_tx.clone(),
            )),
            _ => None,
        };
        peers.push(Peer {
            name: p.label(),
            address: p.address,
            peer_as: p.asn,
            id,
            client: cfg.is_client(p),
            ifindex: on.as_ref().map(|(_, i, _)| *i),
            interface: on.map(|(n, _, _)| n),
            since: Instant::now(),
            flaps: 0,
            last_down: None,
            received: 0,
            advertised: BTreeSet::new(),
            bfd_state: None,
            cmd,
            task: Some(task),
            _bfd: bfd_tx,
            up: None,
            send_eor: false,
            got_eor: false,
        });
    }
    info!(
        router_id = %cfg.router_id,
        asn = cfg.asn,
        clients = peers.iter().filter(|p| p.client).count(),
        ebgp = peers.iter().filter(|p| !p.client).count(),
        "dualtor-tor running"
    );
    let deferral = Instant::now() + Duration::from_secs(cfg.restart_deferral);
    let mut tor = Tor {
        engine,
        peers,
        by_id,
        fib,
        bfd,
        completed: false,
        restarting,
        router_id: cfg.router_id,
        asn: cfg.asn,
        cluster_id: Ipv4Addr::from(cfg.cluster_id()),
        fib_status,
        ifnames: ifaces.index.iter().map(|(n, i)| (*i, n.clone())).collect(),
    };
    drop(ev_tx);
    tokio::pin!(shutdown);
    let far = Duration::from_secs(86_400);
    let stop = loop {
        let timer = tor
            .engine
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + far);
        tokio::select! {
            stop = &mut shutdown => break stop,
            Some((idx, ev)) = ev_rx.recv() => tor.event(idx, ev),
            Some(req) = status_rx.recv() => { let _ = req.send(tor.status()); }
            Some(r) = fib_rx.recv() => tor.fib_report(r),
            () = tokio::time::sleep_until(timer.into()) => tor.engine.handle_timeout(Instant::now()),
            () = tokio::time::sleep_until(deferral.into()), if !tor.completed => tor.complete(),
        }
        tor.drain();
    };
    drop(status_tx);
    tor.stop(stop).await;
    if let Some(path) = &cfg.status_socket {
        let _ = std::fs::remove_file(path);
    }
    Ok(())
}

impl Tor {
    fn event(&mut self, idx: usize, ev: Event) {
        let now = Instant::now();
        let Some(p) = self.peers.get_mut(idx) else {
            return;
        };
        match ev {
            Event::Bgp(SessionEvent::Established {
                conn,
                negotiated,
                local,
            }) => {
                let local = local.ip();
                if p.up.is_some() {
                    // RFC 4724 §4.2: a new connection replaced an Established one.
                    self.down(idx, "peer restarted", true);
                }
                let p = &mut self.peers[idx];
                p.up = Some((conn, local));
                p.send_eor = true;
                p.got_eor = false;
                p.since = now;
                p.received = 0;
                p.advertised.clear();
                info!(peer = %p.name, llgr = negotiated.peer_llgr_capable, "session Established");
                let id = p.id;
                self.engine.handle_session_up(
                    now,
                    id,
                    dualtor::rib::session_params(&negotiated, local),
                );
            }
            Event::Bgp(SessionEvent::Update {
                conn,
                update,
                treat_as_withdraw: withdraw,
            }) => {
                if p.up.map(|u| u.0) != Some(conn) {
                    return;
                }
                let imp = policy::import(&update, !p.client);
                p.received += imp.announced.len() as u64;
                let id = p.id;
                if let Some(f) = imp.end_of_rib {
                    self.end_of_rib(idx, f);
                } else {
                    imp.apply(&mut self.engine, now, id, withdraw);
                }
            }
            Event::Bgp(SessionEvent::EndOfRib { conn, family }) => {
                if p.up.map(|u| u.0) == Some(conn)
                    && let Some(f) = dualtor::rib::family(family)
                {
                    self.end_of_rib(idx, f);
                }
            }
            Event::Bgp(SessionEvent::Down {
                conn,
                reason,
                retain_stale,
            }) => {
                if p.up.map(|u| u.0) == Some(conn) {
                    self.down(idx, &reason.to_string(), retain_stale);
                }
            }
            Event::Bgp(other) => debug!(peer = %p.name, event = ?other, "BGP"),
            Event::Bfd(c) => {
                p.bfd_state = Some(c.to);
                debug!(peer = %p.name, from = %c.from, to = %c.to, diag = ?c.diag, "BFD");
                if c.is_failure() {
                    self.path_down(idx, "BFD down");
                } else if c.to == bfd::State::Up {
                    self.reconnect(idx);
                }
            }
            Event::BfdFailed(e) => warn!(peer = %p.name, "BFD session refused: {e}"),
        }
    }

    fn end_of_rib(&mut self, idx: usize, f: llgr::Family) {
        let p = &mut self.peers[idx];
        p.got_eor = true;
        let id = p.id;
        self.engine.handle_end_of_rib(Instant::now(), id, f);
        if !self.completed && self.peers.iter().all(|p| p.got_eor) {
            self.complete();
        }
    }

    /// The session is gone; `graceful`: keep the routes as (LL)GR-stale.
    fn down(&mut self, idx: usize, reason: &str, graceful: bool) {
        let p = &mut self.peers[idx];
        if p.up.take().is_none() {
            return;
        }
        p.send_eor = false;
        p.got_eor = false;
        p.since = Instant::now();
        p.flaps += 1;
        p.last_down = Some(reason.to_owned());
        p.advertised.clear();
        info!(peer = %p.name, reason, graceful, "session down");
        let why = if graceful {
            llgr::DownReason::DeclaredGraceful
        } else {
            llgr::DownReason::Administrative
        };
        let id = p.id;
        self.engine.handle_session_down(Instant::now(), id, why);
    }

    /// BFD Down or carrier loss: down now, gracefully, before TCP notices.
    fn path_down(&mut self, idx: usize, reason: &str) {
        let _ = self.peers[idx].cmd.send(SessionCommand::PathDown);
        self.down(idx, reason, true);
    }

    fn reconnect(&mut self, idx: usize) {
        let p = &self.peers[idx];
        if p.up.is_none() {
            let _ = p.cmd.send(SessionCommand::Reconnect);
        }
    }

    fn fib_report(&mut self, r: Report) {
        match r {
            Report::Committed(Ok(rep), took) => {
                self.fib_status.commits += 1;
                self.fib_status.errors += rep.errors.len() as u64;
                self.fib_status.last_latency = Some(took);
                for e in &rep.errors {
                    warn!("kernel refused {:?}: {:?}", e.op, e.failure);
                }
            }
            Report::Committed(Err(e), _) => warn!("fib: {e}"),
            Report::Link { ifindex, usable } => {
                let on: Vec<usize> = (0..self.peers.len())
                    .filter(|i| self.peers[*i].ifindex == Some(ifindex))
                    .collect();
                if usable {
                    on.into_iter().for_each(|i| self.reconnect(i));
                    return;
                }
                if on.is_empty() {
                    return;
                }
                // RFC 5880 §6.8.17: the local path is down.
                if let Some(rt) = &self.bfd {
                    rt.path_down(ifindex);
                }
                for i in on {
                    if self.peers[i].up.is_some() {
                        self.path_down(i, "carrier lost");
                    }
                }
            }
        }
    }

    /// Every peer sent End-of-RIB, or the deferral passed: the kernel routes
    /// not re-learned are swept, and our restart ends (End-of-RIB released in
    /// [`Tor::drain`], the R bit cleared for later OPENs).
    fn complete(&mut self) {
        self.completed = true;
        if let Some(f) = &self.fib {
            let _ = f.send(tfib::Command::Complete);
        }
        if self.restarting {
            self.restarting = false;
            info!("graceful restart complete: stale kernel routes swept, End-of-RIB to every peer");
            for p in &self.peers {
                let _ = p.cmd.send(SessionCommand::RestartComplete);
            }
        }
    }

    fn drain(&mut self) {
        let fib = self.engine.poll_fib();
        if !fib.is_empty()
            && let Some(f) = &self.fib
        {
            let _ = f.send(tfib::Command::Apply(fib));
        }
        let mut per_peer: BTreeMap<usize, Vec<llgr::RibOutChange>> = BTreeMap::new();
        for c in self.engine.poll_rib_out() {
            if let Some(i) = self.by_id.get(&c.peer) {
                per_peer.entry(*i).or_default().push(c);
            }
        }
        for (i, changes) in per_peer {
            let p = &mut self.peers[i];
            let local = p.up.map(|u| u.1);
            for c in &changes {
                let sent = c
                    .attrs
                    .as_ref()
                    .is_some_and(|a| policy::outgoing(a, p.client, local).is_some());
                if sent {
                    p.advertised.insert(c.prefix);
                } else {
                    p.advertised.remove(&c.prefix);
                }
            }
            let _ = p.cmd.send(SessionCommand::Send(policy::export(
                &changes, p.client, local,
            )));
        }
        // RFC 4724 §4.1: a restarting speaker sends End-of-RIB once its own
        // table is whole again.
        for p in &mut self.peers {
            if p.send_eor && p.up.is_some() && !self.restarting {
                p.send_eor = false;
                let _ = p.cmd.send(SessionCommand::InitialTableSent);
            }
        }
        while let Some(e) = self.engine.poll_event() {
            match e {
                llgr::Event::EnteredLlgr {
                    peer, stale_routes, ..
                } => {
                    let name = self.by_id.get(&peer).map(|i| self.peers[*i].name.as_str());
                    info!(peer = ?name, stale_routes, "LLGR: routes stale, depreferenced");
                }
                other => debug!(event = ?other, "engine"),
            }
        }
    }

    /// The snapshot the status socket sends.
    fn status(&self) -> Status {
        let now = Instant::now();
        let snapshot = self.engine.fib_snapshot();
        // (stale, llgr_stale) routes per peer, over the installed prefixes.
        let mut stale: HashMap<llgr::PeerId, (u64, u64)> = HashMap::new();
        let mut routes = Vec::with_capacity(snapshot.len());
        for (prefix, hops) in &snapshot {
            let paths = self.engine.paths(prefix);
            for path in &paths {
                if let Some(peer) = path.peer {
                    let e = stale.entry(peer).or_default();
                    if path.llgr_stale {
                        e.1 += 1;
                    } else if path.stale {
                        e.0 += 1;
                    }
                }
            }
            let mut best_peers = BTreeSet::new();
            let next_hops = hops
                .iter()
                .map(|h| {
                    let (gateway, interface, peer) = match h {
                        llgr::NextHop::Gateway {
                            gateway,
                            interface,
                            peer,
                        } => (Some(*gateway), *interface, Some(*peer)),
                        llgr::NextHop::Device { interface, peer } => {
                            (None, Some(*interface), Some(*peer))
                        }
                        _ => (None, None, None),
                    };
                    best_peers.extend(peer);
                    NextHopStatus {
                        gateway,
                        interface: interface.and_then(|i| self.ifnames.get(&i).cloned()),
                        peer: peer
                            .and_then(|p| self.by_id.get(&p))
                            .map(|i| self.peers[*i].name.clone()),
                    }
                })
                .collect();
            let best: Vec<_> = paths
                .iter()
                .filter(|p| p.peer.is_some_and(|id| best_peers.contains(&id)))
                .collect();
            routes.push(RouteStatus {
                prefix: *prefix,
                next_hops,
                stale: !best.is_empty() && best.iter().all(|p| p.stale || p.llgr_stale),
                llgr_stale: !best.is_empty() && best.iter().all(|p| p.llgr_stale),
            });
        }
        routes.sort_by_key(|r| r.prefix);
        let peers = self
            .peers
            .iter()
            .map(|p| {
                let (gr, llgr) = stale.get(&p.id).copied().unwrap_or_default();
                let mut peer = dualtor::node::PeerStatus::new(p.name.clone(), p.address, p.peer_as);
                peer.interface = p.interface.clone();
                peer.state = if p.up.is_some() {
                    SessionState::Established
                } else {
                    SessionState::Connecting
                };
                peer.uptime = now.saturating_duration_since(p.since);
                peer.flaps = p.flaps;
                peer.last_down = p.last_down.clone();
                peer.prefixes_received = p.received;
                peer.prefixes_accepted = llgr::Family::ALL
                    .iter()
                    .map(|f| self.engine.route_count(p.id, *f))
                    .sum();
                peer.prefixes_advertised = p.advertised.len() as u64;
                peer.end_of_rib = p.got_eor;
                peer.bfd = p.bfd_state.map(Into::into);
                peer.restart = if llgr > 0 {
                    RestartState::Llgr
                } else if gr > 0 {
                    RestartState::Gr
                } else {
                    RestartState::None
                };
                PeerStatus {
                    peer,
                    client: p.client,
                    prefixes_stale: gr,
                    prefixes_llgr_stale: llgr,
                }
            })
            .collect();
        let mut fib = self.fib_status.clone();
        fib.routes = snapshot.len();
        Status {
            router_id: self.router_id,
            local_as: self.asn,
            cluster_id: self.cluster_id,
            restarting: self.restarting,
            peers,
            fib,
            routes,
        }
    }

    async fn stop(mut self, how: Stop) {
        if how == Stop::Restart {
            // RFC 4724 §4: no NOTIFICATION, so that the peers keep our routes;
            // the kernel routes stay for the next run. BFD is left to go silent
            // with the process rather than sending AdminDown.
            info!(
                "stopping for a restart: sessions closed without NOTIFICATION, kernel routes kept"
            );
            let mut tasks = Vec::new();
            for p in &mut self.peers {
                let _ = p.cmd.send(SessionCommand::Stop(StopReason::Graceful));
                tasks.extend(p.task.take());
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), futures_join(tasks)).await;
            return;
        }
        info!("stopping: Cease to every peer, routes removed from the kernel");
        let mut tasks = Vec::new();
        for p in &mut self.peers {
            let _ = p.cmd.send(SessionCommand::Stop(StopReason::Shutdown));
            tasks.extend(p.task.take());
            p._bfd = None;
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), futures_join(tasks)).await;
        if let Some(f) = self.fib.take() {
            let (tx, rx) = oneshot::channel();
            if f.send(tfib::Command::Flush(tx)).is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(2), rx).await;
            }
        }
    }
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for t in tasks {
        let _ = t.await;
    }
}
