//! The ToR's task: a loop that feeds session, BFD and link events to the
//! `llgr` engine and drains its outputs to the sessions and the FIB (style
//! rule 21). The composition decisions, as the lab's BIRD ToR makes them:
//! - BFD Down (RFC 5882 §4.3) or carrier loss takes the session down at once,
//!   as a graceful loss: GR time 0, so the routes go LLGR-stale (RFC 9494 §4.2)
//!   and stay usable as a last resort (BIRD `bfd graceful`, the facade's rule);
//! - BFD Up or carrier back reconnects at once (BIRD `error wait time 1,10`);
//! - End-of-RIB follows the initial table (RFC 4724 §4.1);
//! - the kernel keeps a previous run's routes until every peer sent End-of-RIB
//!   or the deferral passed, then they are swept (RFC 4724 §4.1, style rule 26).

use std::collections::BTreeMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::mpsc as std_mpsc;
use std::time::{Duration, Instant};

use bgp_wire::transport::Listener;
use dualtor::node::{SessionCommand, SessionEvent, StopReason, WireTransport};
use ipnet::IpNet;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, warn};

use super::config::Config;
use super::fib::{self as tfib, Report};
use super::session::{self, Event};
use super::{Error, policy};

struct Peer {
    name: String,
    id: llgr::PeerId,
    client: bool,
    ifindex: Option<u32>,
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

/// Runs the ToR in the calling thread's network namespace until `shutdown`
/// completes; then sends Cease (Administrative Shutdown, RFC 4486) to every
/// peer and removes its routes from the kernel. Must run inside a tokio runtime.
pub async fn run(cfg: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    cfg.check()?;
    let ifaces = dualtor::node::Interfaces::read()
        .await
        .map_err(Error::Interfaces)?;
    let local: Vec<IpAddr> = ifaces.addresses.iter().map(|a| a.address.addr()).collect();
    let mut engine = llgr::Engine::new(policy::engine_config(&cfg, local));
    let listener = Listener::bind(cfg.listen).map_err(Error::Listen)?;
    tokio::spawn(listener.clone().run());
    let wire =
        WireTransport::with_listener(listener).with_shutdown_message("dualtor-tor shutting down");
    let bfd = match cfg.bfd {
        Some(_) => Some(bfd::runtime::Runtime::spawn(
            bfd::runtime::Options::default(),
        )?),
        None => None,
    };
    let (fib_tx, mut fib_rx) = mpsc::unbounded_channel();
    let fib = if cfg.fib {
        Some(tfib::start(fib_tx)?)
    } else {
        tfib::start_monitor(fib_tx, None)?;
        None
    };
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
        let (cmd, task) = session::spawn_bgp(idx, &cfg, p, &wire, ev_tx.clone());
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
            id,
            client: cfg.is_client(p),
            ifindex: on.map(|(_, i, _)| i),
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
    };
    drop(ev_tx);
    tokio::pin!(shutdown);
    let far = Duration::from_secs(86_400);
    loop {
        let timer = tor
            .engine
            .poll_timeout()
            .unwrap_or_else(|| Instant::now() + far);
        tokio::select! {
            () = &mut shutdown => break,
            Some((idx, ev)) = ev_rx.recv() => tor.event(idx, ev),
            Some(r) = fib_rx.recv() => tor.fib_report(r),
            () = tokio::time::sleep_until(timer.into()) => tor.engine.handle_timeout(Instant::now()),
            () = tokio::time::sleep_until(deferral.into()), if !tor.completed => tor.complete(),
        }
        tor.drain();
    }
    tor.stop().await;
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
            Report::Committed(Ok(rep)) => {
                for e in &rep.errors {
                    warn!("kernel refused {:?}: {:?}", e.op, e.failure);
                }
            }
            Report::Committed(Err(e)) => warn!("fib: {e}"),
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

    fn complete(&mut self) {
        self.completed = true;
        if let Some(f) = &self.fib {
            let _ = f.send(tfib::Command::Complete);
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
            let p = &self.peers[i];
            let local = p.up.map(|u| u.1);
            let _ = p.cmd.send(SessionCommand::Send(policy::export(
                &changes, p.client, local,
            )));
        }
        for p in &mut self.peers {
            if p.send_eor && p.up.is_some() {
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

    async fn stop(mut self) {
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
