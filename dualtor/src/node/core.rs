//! The node task: the engine, the peers' runtime state, and the loop.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use ipnet::IpNet;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tracing::{Instrument as _, debug, info, info_span, warn};

use super::bfd::{self as nbfd, BfdCommand, BfdReport};
use super::bgp::{self, DownReason, SessionCommand, SessionEvent, SessionLink, StopReason};
use super::fib::{FibCommand, FibReport, FibThread, Interfaces};
use super::origination::{self, ApiOrigins};
use super::status::{FibStatus, PeerStatus, RestartState, SessionState, Status};
use super::{Command, Event, NodeError, NodeHandle, Options, StartError, StopMode};
use crate::config::{self, Config, NextHopMode, NodePlan, PeerPlan, PlanDiff, RestartMode};
use crate::rib::{self, FibStep, FibTranslator};

/// Capacity of the node's command channel: [`NodeHandle`] calls wait while
/// it is full.
const COMMAND_CAPACITY: usize = 64;
/// Capacity of the channel of session and BFD inputs: when the node task
/// falls behind, the session tasks wait, their transports stop reading the
/// sockets, and TCP pushes back on the peers.
const INPUT_CAPACITY: usize = 1024;
/// Capacity of one session's event channel (before tagging).
const SESSION_EVENT_CAPACITY: usize = 64;
/// Capacity of the kernel programmer's report channel: the programmer
/// thread waits while it is full.
const FIB_REPORT_CAPACITY: usize = 256;

/// Inputs from the node's tasks, tagged with the peer and its generation
/// (a peer re-created by a reload gets a new one; late events of the old
/// tasks are ignored).
#[derive(Debug)]
enum Input {
    Session(IpAddr, u64, SessionEvent),
    Bfd(IpAddr, u64, BfdReport),
    /// Alien kernel routes changed (Recursive next-hop resolution).
    Kernel(Vec<super::kernel::KernelChange>),
}

struct PeerRt {
    plan: PeerPlan,
    id: llgr::PeerId,
    generation: u64,
    cmd: mpsc::UnboundedSender<SessionCommand>,
    bfd: Option<mpsc::UnboundedSender<BfdCommand>>,
    ifindex: Option<u32>,
    families: Vec<bgp_wire::Family>,
    up_conn: Option<u64>,
    state: SessionState,
    since: Instant,
    flaps: u64,
    last_down: Option<String>,
    received: u64,
    advertised: BTreeSet<IpNet>,
    end_of_rib: BTreeSet<llgr::Family>,
    send_eor: bool,
    bfd_state: Option<::bfd::State>,
    restart: [RestartState; 2],
    /// The `reachableBy` host route installed for this peer, and its group.
    reach: Option<(IpNet, ::fib::GroupId)>,
}

struct RestartWait {
    started: Instant,
    deadline: Instant,
}

struct Core {
    node: String,
    opts: Options,
    config: Config,
    api: ApiOrigins,
    plan: NodePlan,
    router_id: Ipv4Addr,
    ifaces: Interfaces,
    engine: llgr::Engine,
    peers: BTreeMap<IpAddr, PeerRt>,
    by_id: HashMap<llgr::PeerId, IpAddr>,
    next_gen: u64,
    inputs: mpsc::Sender<Input>,
    /// The programmer's report channel (for a programmer re-opened by an
    /// identity change).
    fib_reports: mpsc::Sender<FibReport>,
    events: broadcast::Sender<Event>,
    fib: Option<FibThread>,
    desired: FibTranslator,
    fib_status: FibStatus,
    bfd_rt: Option<::bfd::runtime::Runtime>,
    restart: Option<RestartWait>,
    restart_summary: Option<(Duration, Vec<IpAddr>)>,
    local_blackholes: BTreeSet<IpNet>,
    /// Next group id for `reachableBy` routes: counted down from the top of
    /// the id space, far from the engine's (counted up from 1).
    next_static_group: u32,
    /// Alien kernel routes as last scanned (fed again to a new engine).
    kernel_routes: super::kernel::KernelTable,
}

pub(super) async fn start(
    config: Config,
    opts: Options,
) -> Result<(NodeHandle, JoinHandle<()>), StartError> {
    let ifaces = match opts.interfaces.clone() {
        Some(i) => i,
        None => Interfaces::read().await.map_err(StartError::Interfaces)?,
    };
    let api = ApiOrigins::default();
    let plan = config::plan(
        &origination::effective(&config, &opts.node, &api),
        &opts.node,
        &ifaces.addresses,
        opts.secrets.as_ref(),
    )?;
    if let Some(me) = config.nodes.iter().find(|n| n.name == opts.node) {
        for w in config::check_node_addresses(me, &ifaces.addresses) {
            warn!(node = %opts.node, warning = ?w, "address check");
        }
    }
    let router_id = router_id(&plan, &ifaces).ok_or(StartError::NoRouterId)?;

    let (in_tx, in_rx) = mpsc::channel(INPUT_CAPACITY);
    let (fib_tx, fib_rx) = mpsc::channel(FIB_REPORT_CAPACITY);
    let (cmd_tx, cmd_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (ev_tx, _) = broadcast::channel(opts.event_capacity.max(16));

    let mut fib_status = FibStatus::default();
    let fib =
        open_fib(opts.fib.clone(), &plan, &fib_tx, &mut fib_status).map_err(StartError::Fib)?;
    // BFD on a thread of its own: a large route change on the node's
    // runtime must not hold our packets back past the ToRs' Detection Time
    // (with 30,000 routes per node it did, and both sessions flapped).
    let bfd_rt = if opts.bfd && plan.peers.values().any(|p| p.bfd.is_some()) {
        Some(
            ::bfd::runtime::Runtime::spawn_thread(::bfd::runtime::Options::default())
                .map_err(StartError::Bfd)?,
        )
    } else {
        None
    };

    let engine = new_engine(plan.local_as.get(), router_id, &ifaces);
    let restarting = fib.as_ref().is_some_and(|f| f.previous_routes > 0);
    let now = Instant::now();
    let mut core = Core {
        node: opts.node.clone(),
        config,
        api,
        plan: plan.clone(),
        router_id,
        ifaces,
        engine,
        peers: BTreeMap::new(),
        by_id: HashMap::new(),
        next_gen: 1,
        inputs: in_tx,
        fib_reports: fib_tx,
        events: ev_tx.clone(),
        fib,
        desired: FibTranslator::new(),
        fib_status,
        bfd_rt,
        restart: restarting.then(|| RestartWait {
            started: now,
            deadline: now + opts.restart_deferral,
        }),
        restart_summary: None,
        local_blackholes: BTreeSet::new(),
        next_static_group: u32::MAX,
        kernel_routes: super::kernel::KernelTable::new(),
        opts,
    };
    if restarting {
        info!(node = %core.node, previous_routes = core.fib_status.previous_routes,
            "graceful restart: previous routes keep forwarding until End-of-RIB from every peer");
    }
    core.plan = empty_plan(&plan);
    core.apply(plan);
    if let Some(cfg) = &core.opts.fib {
        // calico-node's BIRD: `protocol kernel { learn; scan time 2; }`.
        if let Err(e) = super::kernel::spawn(cfg.protocol.0, core.inputs.clone(), Input::Kernel) {
            warn!(node = %core.node, "kernel route scan not started: {e}");
        }
    }
    let span = info_span!("node", name = %core.node);
    let task = tokio::spawn(core.run(cmd_rx, in_rx, fib_rx).instrument(span));
    Ok((
        NodeHandle {
            cmd: cmd_tx,
            events: ev_tx,
        },
        task,
    ))
}

impl Core {
    fn emit(&self, e: Event) {
        match &e {
            Event::FibProgrammed { .. } => debug!(node = %self.node, event = ?e),
            Event::FibFailed { .. } => warn!(node = %self.node, event = ?e),
            _ => info!(node = %self.node, event = ?e),
        }
        let _ = self.events.send(e);
    }

    async fn run(
        mut self,
        mut cmd_rx: mpsc::Receiver<Command>,
        mut in_rx: mpsc::Receiver<Input>,
        mut fib_rx: mpsc::Receiver<FibReport>,
    ) {
        self.drain();
        loop {
            let deadline = [
                self.engine.poll_timeout(),
                self.restart.as_ref().map(|r| r.deadline),
            ]
            .into_iter()
            .flatten()
            .min();
            let sleep = tokio::time::sleep_until(
                deadline
                    .map(tokio::time::Instant::from_std)
                    .unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600)),
            );
            tokio::select! {
                c = cmd_rx.recv() => match c {
                    Some(Command::Stop(mode, done)) => {
                        self.stop(mode, &mut fib_rx).await;
                        let _ = done.send(());
                        return;
                    }
                    Some(Command::Reload(config, tx)) => {
                        let r = self.reload(*config, &mut fib_rx).await;
                        let _ = tx.send(r);
                    }
                    Some(c) => self.command(c),
                    None => {
                        self.stop(StopMode::Graceful, &mut fib_rx).await;
                        return;
                    }
                },
                Some(i) = in_rx.recv() => self.input(i),
                Some(r) = fib_rx.recv() => self.fib_report(r),
                () = sleep => self.timeout(),
            }
            self.drain();
        }
    }

    // ----- peers ----------------------------------------------------------

    fn add_peer(&mut self, plan: PeerPlan) {
        let ifindex = plan
            .interface
            .as_ref()
            .and_then(|n| self.ifaces.index.get(n).copied());
        let mut p = llgr::Peer::new(plan.address, plan.peer_as.get(), Ipv4Addr::UNSPECIFIED);
        p.internal = plan.is_ibgp();
        p.interface = ifindex;
        p.connected = plan
            .interface
            .as_ref()
            .map(|n| self.ifaces.connected(n))
            .unwrap_or_default();
        p.gateway_mode = match plan.gateway {
            config::Gateway::Direct => llgr::GatewayMode::Direct,
            _ => llgr::GatewayMode::Recursive,
        };
        p.allowed_local_as = plan
            .num_allowed_local_as
            .map_or(0, |n| u8::try_from(n).unwrap_or(u8::MAX));
        p.next_hop_mode = match plan.next_hop_mode {
            NextHopMode::Self_ => llgr::NextHopMode::Self_,
            NextHopMode::Keep => llgr::NextHopMode::Keep,
            _ => llgr::NextHopMode::Auto,
        };
        p.llgr = plan.restart_mode == RestartMode::LongLivedGracefulRestart;
        p.export = llgr::ExportPolicy::LocalOnly;
        let id = self.engine.add_peer(p);
        let reach = self.add_reachable_by(&plan);
        let generation = self.next_gen;
        self.next_gen += 1;

        let has_v4 = self.plan.router_id.is_some();
        let has_v6 = self
            .config
            .nodes
            .iter()
            .any(|n| n.name == self.node && n.ipv6_address.is_some());
        let families = bgp::families(&plan, has_v4, has_v6);
        let session = bgp::session_config(
            &plan,
            self.router_id,
            &families,
            self.opts.connect_retry,
            self.opts.max_connect_retry,
        );
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, mut ev_rx) = mpsc::channel(SESSION_EVENT_CAPACITY);
        let setup = bgp::SessionSetup {
            peer: plan.clone(),
            remote: SocketAddr::new(plan.address, plan.port),
            local: bgp::bind_address(&plan),
            interface: plan.interface.clone(),
            config: session,
            restarting: self.restart.is_some(),
        };
        self.opts.transport.spawn(
            setup,
            SessionLink {
                commands: cmd_rx,
                events: ev_tx,
            },
        );
        let inputs = self.inputs.clone();
        let addr = plan.address;
        tokio::spawn(async move {
            while let Some(e) = ev_rx.recv().await {
                if inputs
                    .send(Input::Session(addr, generation, e))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let bfd = match (&self.bfd_rt, plan.bfd) {
            (Some(rt), Some(t)) => {
                let inputs = self.inputs.clone();
                Some(nbfd::spawn(
                    rt.clone(),
                    addr,
                    plan.interface.clone(),
                    t,
                    inputs,
                    move |r| Input::Bfd(addr, generation, r),
                ))
            }
            _ => None,
        };
        self.by_id.insert(id, addr);
        self.peers.insert(
            addr,
            PeerRt {
                plan,
                id,
                generation,
                cmd: cmd_tx,
                bfd,
                ifindex,
                families,
                up_conn: None,
                state: SessionState::Connecting,
                since: Instant::now(),
                flaps: 0,
                last_down: None,
                received: 0,
                advertised: BTreeSet::new(),
                end_of_rib: BTreeSet::new(),
                send_eor: false,
                bfd_state: None,
                restart: [RestartState::None; 2],
                reach,
            },
        );
    }

    /// Installs the peer's `reachableBy` route (before its session
    /// connects) and lets the engine resolve next hops through it.
    fn add_reachable_by(&mut self, plan: &PeerPlan) -> Option<(IpNet, ::fib::GroupId)> {
        let gw = plan.reachable_by?;
        let Some((prefix, hop)) = super::fib::reachable_by(plan.address, gw, &self.ifaces) else {
            warn!(node = %self.node, peer = %plan.address, gateway = %gw,
                "reachableBy: no connected subnet holds the gateway; no route installed");
            return None;
        };
        let id = ::fib::GroupId(self.next_static_group);
        self.next_static_group -= 1;
        self.engine.set_igp_route(
            prefix,
            Some(llgr::IgpRoute {
                metric: 0,
                nexthops: vec![(Some(gw), hop.ifindex)],
            }),
        );
        self.fib_now(vec![
            FibStep::SetGroup(id, ::fib::NexthopGroup::ecmp([hop])),
            FibStep::SetRoute(prefix, ::fib::Target::Group(id)),
        ]);
        Some((prefix, id))
    }

    /// Sends steps to the programmer at once, outside the engine's output
    /// (which is deferred during our own restart).
    fn fib_now(&self, steps: Vec<FibStep>) {
        if let Some(f) = &self.fib {
            let _ = f.tx.send(FibCommand::Apply {
                steps,
                queued: Instant::now(),
            });
        }
    }

    fn remove_peer(&mut self, addr: IpAddr, why: StopReason) {
        let Some(p) = self.peers.remove(&addr) else {
            return;
        };
        let _ = p.cmd.send(SessionCommand::Stop(why));
        if p.up_conn.is_some() {
            self.emit(Event::SessionDown {
                peer: addr,
                name: p.plan.name.clone(),
                reason: DownReason::Administrative,
                graceful: false,
            });
        }
        self.engine.remove_peer(Instant::now(), p.id);
        self.by_id.remove(&p.id);
        if let Some((prefix, group)) = p.reach {
            self.engine.set_igp_route(prefix, None);
            self.fib_now(vec![
                FibStep::RemoveRoute(prefix),
                FibStep::RemoveGroup(group),
            ]);
        }
        // Dropping `p.bfd` releases the BFD session.
    }

    /// Takes an Established session down now, before the transport notices.
    /// BFD Down and carrier loss: Cease/10 best-effort, reconnect, and the
    /// peer's routes handled as a graceful loss.
    fn local_down(&mut self, addr: IpAddr, reason: DownReason) {
        let Some(p) = self.peers.get(&addr) else {
            return;
        };
        let _ = p.cmd.send(SessionCommand::PathDown);
        if p.up_conn.is_some() {
            self.session_down(addr, reason, true);
        }
    }

    fn reconnect(&mut self, addr: IpAddr) {
        if let Some(p) = self.peers.get(&addr)
            && p.up_conn.is_none()
        {
            let _ = p.cmd.send(SessionCommand::Reconnect);
        }
    }

    fn session_down(&mut self, addr: IpAddr, reason: DownReason, retain_stale: bool) {
        let now = Instant::now();
        let Some(p) = self.peers.get_mut(&addr) else {
            return;
        };
        p.up_conn = None;
        p.state = SessionState::Connecting;
        p.since = now;
        p.flaps += 1;
        p.last_down = Some(reason.to_string());
        p.received = 0;
        p.advertised.clear();
        p.end_of_rib.clear();
        p.send_eor = false;
        let (id, name) = (p.id, p.plan.name.clone());
        // The FSM decided the routes' fate (RFC 4724 §4.2, RFC 8538); BFD
        // Down and carrier loss are graceful by local policy.
        let llgr_reason = if retain_stale {
            llgr::DownReason::DeclaredGraceful
        } else {
            llgr::DownReason::Administrative
        };
        self.engine.handle_session_down(now, id, llgr_reason);
        self.emit(Event::SessionDown {
            peer: addr,
            name,
            graceful: retain_stale,
            reason,
        });
    }

    // ----- inputs ---------------------------------------------------------

    fn input(&mut self, i: Input) {
        match i {
            Input::Session(addr, generation, ev) => {
                if self
                    .peers
                    .get(&addr)
                    .is_some_and(|p| p.generation == generation)
                {
                    self.session_event(addr, ev);
                }
            }
            Input::Kernel(changes) => {
                debug!(node = %self.node, changes = changes.len(), "kernel routes");
                for (prefix, route) in changes {
                    match &route {
                        Some(r) => self.kernel_routes.insert(prefix, r.clone()),
                        None => self.kernel_routes.remove(&prefix),
                    };
                    self.engine.set_igp_route(prefix, route);
                }
            }
            Input::Bfd(addr, generation, r) => {
                if self
                    .peers
                    .get(&addr)
                    .is_some_and(|p| p.generation == generation)
                {
                    self.bfd_report(addr, r);
                }
            }
        }
    }

    fn session_event(&mut self, addr: IpAddr, ev: SessionEvent) {
        let now = Instant::now();
        let Some(p) = self.peers.get_mut(&addr) else {
            return;
        };
        match ev {
            SessionEvent::Established {
                conn,
                negotiated,
                local,
            } => {
                if p.up_conn.is_some() {
                    // A new connection replaced the old one (RFC 4724 §4.2).
                    self.session_down(addr, DownReason::PeerRestarted, true);
                }
                let Some(p) = self.peers.get_mut(&addr) else {
                    return;
                };
                p.up_conn = Some(conn);
                p.state = SessionState::Established;
                p.since = now;
                p.send_eor = true;
                let (id, name) = (p.id, p.plan.name.clone());
                let params = rib::session_params(&negotiated, local.ip());
                self.engine.handle_session_up(now, id, params);
                self.emit(Event::SessionUp { peer: addr, name });
            }
            SessionEvent::Update {
                conn,
                update,
                treat_as_withdraw,
            } => {
                if p.up_conn != Some(conn) {
                    return;
                }
                let id = p.id;
                let imp = rib::import(&update);
                if let Some(f) = imp.end_of_rib {
                    p.end_of_rib.insert(f);
                    self.engine.handle_end_of_rib(now, id, f);
                    self.check_restart_done();
                    return;
                }
                p.received += imp.announced.len() as u64;
                imp.apply(&mut self.engine, now, id, treat_as_withdraw);
            }
            SessionEvent::EndOfRib { conn, family } => {
                if p.up_conn != Some(conn) {
                    return;
                }
                if let Some(f) = rib::family(family) {
                    p.end_of_rib.insert(f);
                    let id = p.id;
                    self.engine.handle_end_of_rib(now, id, f);
                    self.check_restart_done();
                }
            }
            SessionEvent::Down {
                conn,
                reason,
                retain_stale,
            } => {
                if p.up_conn == Some(conn) {
                    self.session_down(addr, reason, retain_stale);
                }
            }
        }
    }

    fn bfd_report(&mut self, addr: IpAddr, r: BfdReport) {
        match r {
            BfdReport::Failed(e) => {
                warn!(node = %self.node, peer = %addr, "BFD session refused: {e}");
            }
            BfdReport::Change(c) => {
                if let Some(p) = self.peers.get_mut(&addr) {
                    p.bfd_state = Some(c.to);
                }
                self.emit(Event::BfdStateChange {
                    peer: addr,
                    from: c.from,
                    to: c.to,
                    diag: c.diag,
                });
                // RFC 5882 §4.3: a path failure (not AdminDown) takes the
                // client down; Calico handles it as a graceful loss and
                // sends Cease/10 (RFC 9384), which will rarely arrive.
                if c.is_failure() {
                    self.local_down(addr, DownReason::BfdDown);
                } else if c.to == ::bfd::State::Up {
                    // The path works: a session in reconnection backoff
                    // tries now (the backoff is for peers that keep failing).
                    self.reconnect(addr);
                }
            }
        }
    }

    fn fib_report(&mut self, r: FibReport) {
        match r {
            FibReport::Committed {
                changes,
                report,
                latency,
            } => {
                self.fib_status.commits += 1;
                self.fib_status.errors += report.errors.len() as u64;
                self.fib_status.last_latency = Some(latency);
                // A few per commit, then a count: one failure mode can
                // refuse every route of a commit (tens of thousands of
                // lines written from the node's task otherwise).
                const LOGGED: usize = 8;
                for e in report.errors.iter().take(LOGGED) {
                    warn!(node = %self.node, "kernel refused {:?}: {:?}", e.op, e.failure);
                }
                if report.errors.len() > LOGGED {
                    warn!(
                        node = %self.node,
                        "kernel refused {} more changes in this commit",
                        report.errors.len() - LOGGED
                    );
                }
                self.emit(Event::FibProgrammed {
                    changes,
                    created: report.created,
                    replaced: report.replaced,
                    deleted: report.deleted,
                    nexthop_messages: report.nexthop_messages,
                    errors: report.errors.len(),
                    latency,
                });
            }
            FibReport::Completed { report } => {
                let (waited, missing) = self
                    .restart_summary
                    .take()
                    .unwrap_or((Duration::ZERO, Vec::new()));
                self.emit(Event::RestartComplete {
                    waited,
                    missing,
                    swept: report.deleted,
                });
            }
            FibReport::Link {
                ifindex,
                name,
                up,
                carrier,
            } => {
                let usable = up && carrier;
                self.emit(Event::LinkChange {
                    ifindex,
                    name,
                    usable,
                });
                if usable {
                    let on_link: Vec<IpAddr> = self
                        .peers
                        .iter()
                        .filter(|(_, p)| p.ifindex == Some(ifindex))
                        .map(|(a, _)| *a)
                        .collect();
                    for a in on_link {
                        self.reconnect(a);
                    }
                    return;
                }
                let affected: Vec<(IpAddr, String)> = self
                    .peers
                    .iter()
                    .filter(|(_, p)| p.ifindex == Some(ifindex))
                    .map(|(a, p)| (*a, p.plan.interface.clone().unwrap_or_default()))
                    .collect();
                if affected.is_empty() {
                    return;
                }
                // RFC 5880 §6.8.17: the local path is down; BFD goes Down
                // with diag Path Down, and the sessions over it go down now.
                if let Some(rt) = &self.bfd_rt {
                    rt.path_down(ifindex);
                }
                for (a, interface) in affected {
                    self.local_down(a, DownReason::CarrierLost { interface });
                }
            }
            FibReport::Failed(e) => {
                self.emit(Event::FibFailed {
                    error: e.to_string(),
                });
            }
        }
    }

    fn timeout(&mut self) {
        let now = Instant::now();
        if self.engine.poll_timeout().is_some_and(|t| t <= now) {
            self.engine.handle_timeout(now);
        }
        if self.restart.as_ref().is_some_and(|r| r.deadline <= now) {
            self.finish_restart();
        }
    }

    // ----- our own graceful restart ---------------------------------------

    fn check_restart_done(&mut self) {
        if self.restart.is_none() {
            return;
        }
        let all = self.peers.values().all(|p| {
            p.families
                .iter()
                .all(|f| rib::family(*f).is_none_or(|f| p.end_of_rib.contains(&f)))
        });
        if all {
            self.finish_restart();
        }
    }

    fn finish_restart(&mut self) {
        let Some(r) = self.restart.take() else {
            return;
        };
        let missing: Vec<IpAddr> = self
            .peers
            .iter()
            .filter(|(_, p)| {
                p.families
                    .iter()
                    .any(|f| rib::family(*f).is_some_and(|f| !p.end_of_rib.contains(&f)))
            })
            .map(|(a, _)| *a)
            .collect();
        self.restart_summary = Some((r.started.elapsed(), missing));
        for p in self.peers.values() {
            let _ = p.cmd.send(SessionCommand::RestartComplete);
        }
        // Install everything the engine decided while deferred, then sweep.
        self.drain_fib();
        if let Some(f) = &self.fib {
            let _ = f.tx.send(FibCommand::Complete);
        } else {
            let (waited, missing) = self.restart_summary.take().unwrap_or_default();
            self.emit(Event::RestartComplete {
                waited,
                missing,
                swept: 0,
            });
        }
    }

    // ----- outputs ----------------------------------------------------------

    fn drain_fib(&mut self) {
        let changes = self.engine.poll_fib();
        if changes.is_empty() {
            return;
        }
        let steps = self.desired.translate(&changes);
        self.send_steps(steps);
    }

    fn send_steps(&mut self, mut steps: Vec<FibStep>) {
        // Blackholes planned outside the engine (blocks no pool exports)
        // win over anything learned for the same prefix.
        steps.retain(|s| match s {
            FibStep::SetRoute(p, _) | FibStep::RemoveRoute(p) => !self.local_blackholes.contains(p),
            _ => true,
        });
        if steps.is_empty() {
            return;
        }
        if let Some(f) = &self.fib {
            let _ = f.tx.send(FibCommand::Apply {
                steps,
                queued: Instant::now(),
            });
        }
    }

    fn drain(&mut self) {
        if self.restart.is_none() {
            self.drain_fib();
        }
        let mut per_peer: BTreeMap<IpAddr, Vec<llgr::RibOutChange>> = BTreeMap::new();
        for c in self.engine.poll_rib_out() {
            if let Some(a) = self.by_id.get(&c.peer) {
                per_peer.entry(*a).or_default().push(c);
            }
        }
        for (addr, changes) in per_peer {
            let Some(p) = self.peers.get_mut(&addr) else {
                continue;
            };
            for c in &changes {
                if c.attrs.is_some() {
                    p.advertised.insert(c.prefix);
                } else {
                    p.advertised.remove(&c.prefix);
                }
            }
            let _ = p.cmd.send(SessionCommand::Send(rib::export(&changes)));
        }
        // RFC 4724 §4.1: after the initial table, End-of-RIB per family. We
        // only export local routes, which need no selection, so they go out
        // at once (no deferral of our own advertisements).
        for p in self.peers.values_mut() {
            if p.send_eor && p.up_conn.is_some() {
                p.send_eor = false;
                let _ = p.cmd.send(SessionCommand::InitialTableSent);
            }
        }
        while let Some(e) = self.engine.poll_event() {
            self.engine_event(e);
        }
    }

    fn engine_event(&mut self, e: llgr::Event) {
        let fidx = |f: llgr::Family| usize::from(f == llgr::Family::Ipv6Unicast);
        match e {
            llgr::Event::EnteredGr {
                peer,
                families,
                restart_time,
                stale_routes,
            } => {
                let Some(addr) = self.by_id.get(&peer).copied() else {
                    return;
                };
                if let Some(p) = self.peers.get_mut(&addr) {
                    for f in &families {
                        p.restart[fidx(*f)] = RestartState::Gr;
                    }
                }
                self.emit(Event::GrEntered {
                    peer: addr,
                    restart_time,
                    stale_routes,
                });
            }
            llgr::Event::EnteredLlgr {
                peer,
                family,
                stale_time,
                stale_routes,
            } => {
                let Some(addr) = self.by_id.get(&peer).copied() else {
                    return;
                };
                if let Some(p) = self.peers.get_mut(&addr) {
                    p.restart[fidx(family)] = RestartState::Llgr;
                }
                self.emit(Event::LlgrEntered {
                    peer: addr,
                    family,
                    stale_time,
                    stale_routes,
                });
            }
            llgr::Event::StaleSwept {
                peer,
                family,
                reason,
                routes,
            } => self.stale_removed(peer, family, Some(reason), routes),
            llgr::Event::RoutesFlushed {
                peer,
                family,
                routes,
            } => self.stale_removed(peer, family, None, routes),
            llgr::Event::PrefixLimitExceeded { peer, limit } => {
                if let Some(addr) = self.by_id.get(&peer).copied() {
                    warn!(node = %self.node, peer = %addr, limit, "prefix limit reached");
                }
            }
            other => debug!(node = %self.node, event = ?other, "engine event"),
        }
    }

    fn stale_removed(
        &mut self,
        peer: llgr::PeerId,
        family: llgr::Family,
        reason: Option<llgr::SweepReason>,
        routes: u64,
    ) {
        let Some(addr) = self.by_id.get(&peer).copied() else {
            return;
        };
        let i = usize::from(family == llgr::Family::Ipv6Unicast);
        let was_llgr = self
            .peers
            .get_mut(&addr)
            .map(|p| std::mem::take(&mut p.restart[i]) == RestartState::Llgr)
            .unwrap_or(false);
        self.emit(Event::StaleRoutesRemoved {
            peer: addr,
            family,
            reason,
            routes,
            was_llgr,
        });
    }

    // ----- commands and reload ---------------------------------------------

    fn command(&mut self, c: Command) {
        match c {
            Command::AddBlock(b, tx) => {
                let _ = tx.send(self.edit_origins(|api| api.blocks.insert(b.trunc())));
            }
            Command::RemoveBlock(b, tx) => {
                let _ = tx.send(self.edit_origins(|api| api.blocks.remove(&b.trunc())));
            }
            Command::AddPrefix(p, tx) => {
                let _ = tx.send(self.edit_origins(|api| api.prefixes.insert(p.trunc())));
            }
            Command::RemovePrefix(p, tx) => {
                let _ = tx.send(self.edit_origins(|api| api.prefixes.remove(&p.trunc())));
            }
            Command::Status(tx) => {
                let _ = tx.send(self.status());
            }
            // Handled by the loop (they wait).
            Command::Reload(..) | Command::Stop(..) => {}
        }
    }

    fn plan_for(&self, config: &Config, api: &ApiOrigins) -> Result<NodePlan, NodeError> {
        Ok(config::plan(
            &origination::effective(config, &self.node, api),
            &self.node,
            &self.ifaces.addresses,
            self.opts.secrets.as_ref(),
        )?)
    }

    /// API origination changes (blocks, prefixes): never an identity change.
    /// Re-plans with the API's blocks or prefixes edited by `edit`.
    fn edit_origins(
        &mut self,
        edit: impl FnOnce(&mut ApiOrigins) -> bool,
    ) -> Result<(), NodeError> {
        let mut api = self.api.clone();
        edit(&mut api);
        self.replan(self.config.clone(), api).map(|_| ())
    }

    fn replan(&mut self, config: Config, api: ApiOrigins) -> Result<PlanDiff, NodeError> {
        let new = self.plan_for(&config, &api)?;
        let d = config::diff(&self.plan, &new);
        self.config = config;
        self.api = api;
        self.apply(new);
        Ok(d)
    }

    /// A new resource set. A changed AS or router ID resets every session,
    /// as BIRD does; anything else touches only what differs.
    async fn reload(
        &mut self,
        config: Config,
        fib_rx: &mut mpsc::Receiver<FibReport>,
    ) -> Result<PlanDiff, NodeError> {
        let new = self.plan_for(&config, &self.api)?;
        let d = config::diff(&self.plan, &new);
        self.config = config;
        let reset = if d.identity_changed {
            self.reset_identity(new, fib_rx).await?
        } else {
            self.apply(new);
            d.peers_changed
                .iter()
                .filter(|c| needs_new_session(c))
                .count()
        };
        let kept = d.peers_changed.len().saturating_sub(reset);
        self.emit(Event::Reloaded {
            peers_added: d.peers_added.len(),
            peers_removed: d.peers_removed.len(),
            peers_reset: reset,
            peers_updated: if d.identity_changed { 0 } else { kept },
        });
        Ok(d)
    }

    /// The node's AS or router ID changed: every session is re-established
    /// with the new identity, as after our own graceful restart, in-process.
    /// The sessions close without NOTIFICATION (the ToRs keep our routes,
    /// RFC 4724), BFD goes AdminDown after them, the kernel keeps
    /// forwarding our routes; the programmer is re-opened (with the new
    /// loopback as preferred source) and the route engine re-created, our
    /// OPENs carry R=1, and the kernel is reconciled after End-of-RIB from
    /// every peer (or the deferral timer). Returns the number of sessions
    /// reset.
    async fn reset_identity(
        &mut self,
        new: NodePlan,
        fib_rx: &mut mpsc::Receiver<FibReport>,
    ) -> Result<usize, NodeError> {
        let router_id = router_id(&new, &self.ifaces).ok_or(NodeError::NoRouterId)?;
        info!(node = %self.node, local_as = new.local_as.get(), %router_id,
            "identity changed: re-establishing every session");
        for p in self.peers.values() {
            let _ = p.cmd.send(SessionCommand::Stop(StopReason::Graceful));
        }
        tokio::time::sleep(GRACEFUL_CLOSE_LEAD).await;
        let reset = self.peers.len();
        let addrs: Vec<IpAddr> = self.peers.keys().copied().collect();
        for a in addrs {
            self.remove_peer(a, StopReason::Graceful);
        }
        if let Some(f) = self.fib.take() {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let _ = f.tx.send(FibCommand::Exit(tx));
            fib_wait(rx, fib_rx).await;
        }
        let mut fib_status = FibStatus::default();
        self.fib = open_fib(
            self.opts.fib.clone(),
            &new,
            &self.fib_reports,
            &mut fib_status,
        )
        .map_err(NodeError::Fib)?;
        let now = Instant::now();
        self.restart = (fib_status.previous_routes > 0).then(|| RestartWait {
            started: now,
            deadline: now + self.opts.restart_deferral,
        });
        self.fib_status = fib_status;
        self.engine = new_engine(new.local_as.get(), router_id, &self.ifaces);
        for (prefix, route) in &self.kernel_routes {
            self.engine.set_igp_route(*prefix, Some(route.clone()));
        }
        self.by_id.clear();
        self.desired = FibTranslator::new();
        self.local_blackholes.clear();
        self.router_id = router_id;
        self.plan = empty_plan(&new);
        self.apply(new);
        Ok(reset)
    }

    /// Moves from the plan in force to `new`, touching only what differs.
    fn apply(&mut self, new: NodePlan) {
        let d = config::diff(&self.plan, &new);
        for addr in &d.peers_removed {
            self.remove_peer(*addr, StopReason::Deconfigured);
        }
        for c in &d.peers_changed {
            let Some(plan) = new.peers.get(&c.address).cloned() else {
                continue;
            };
            if needs_new_session(c) {
                self.remove_peer(c.address, StopReason::ConfigChanged);
                self.add_peer(plan);
            } else if let Some(p) = self.peers.get_mut(&c.address) {
                // Name or BFD timers: in place.
                if c.fields.contains(&config::PeerField::Bfd) {
                    match (&p.bfd, plan.bfd, &self.bfd_rt) {
                        (Some(tx), Some(t), _) => {
                            let _ = tx.send(BfdCommand::SetTimers(t));
                        }
                        (Some(_), None, _) => p.bfd = None,
                        (None, Some(t), Some(rt)) => {
                            let inputs = self.inputs.clone();
                            let (addr, generation) = (c.address, p.generation);
                            p.bfd = Some(nbfd::spawn(
                                rt.clone(),
                                addr,
                                plan.interface.clone(),
                                t,
                                inputs,
                                move |r| Input::Bfd(addr, generation, r),
                            ));
                        }
                        _ => {}
                    }
                }
                p.plan = plan;
            }
        }
        for addr in &d.peers_added {
            if let Some(plan) = new.peers.get(addr).cloned() {
                self.add_peer(plan);
            }
        }
        // Originations: the engine exports local routes only.
        let mut fib_steps = Vec::new();
        for prefix in d.originations_removed.iter() {
            self.engine.withdraw_local(*prefix);
            self.emit(Event::Origination {
                prefix: *prefix,
                advertised: false,
            });
        }
        let touched: BTreeSet<IpNet> = d
            .originations_added
            .iter()
            .chain(&d.originations_changed)
            .chain(&d.blackholes_added)
            .chain(&d.blackholes_removed)
            .copied()
            .collect();
        for prefix in touched {
            let blackhole = new.blackholes.contains(&prefix);
            match new.originations.get(&prefix) {
                Some(o) => {
                    if self.local_blackholes.remove(&prefix) {
                        fib_steps.push(FibStep::RemoveRoute(prefix));
                    }
                    self.engine
                        .originate(prefix, origination::local_route(o, blackhole));
                    if d.originations_added.contains(&prefix) {
                        self.emit(Event::Origination {
                            prefix,
                            advertised: true,
                        });
                    }
                }
                None if blackhole => {
                    // Installed, never exported (e.g. a disableBGPExport pool).
                    self.engine.withdraw_local(prefix);
                    self.local_blackholes.insert(prefix);
                    fib_steps.push(FibStep::SetRoute(prefix, ::fib::Target::Blackhole));
                }
                None => {
                    if self.local_blackholes.remove(&prefix) {
                        fib_steps.push(FibStep::RemoveRoute(prefix));
                    }
                }
            }
        }
        if !fib_steps.is_empty() {
            self.fib_now(fib_steps);
        }
        self.plan = new;
    }

    fn status(&self) -> Status {
        let now = Instant::now();
        let peers = self
            .peers
            .values()
            .map(|p| {
                let accepted = llgr::Family::ALL
                    .iter()
                    .map(|f| self.engine.route_count(p.id, *f))
                    .sum();
                PeerStatus {
                    name: p.plan.name.clone(),
                    address: p.plan.address,
                    peer_as: p.plan.peer_as.get(),
                    interface: p.plan.interface.clone(),
                    state: p.state,
                    uptime: now.saturating_duration_since(p.since),
                    flaps: p.flaps,
                    last_down: p.last_down.clone(),
                    prefixes_received: p.received,
                    prefixes_accepted: accepted,
                    prefixes_advertised: p.advertised.len() as u64,
                    end_of_rib: p
                        .families
                        .iter()
                        .all(|f| rib::family(*f).is_none_or(|f| p.end_of_rib.contains(&f))),
                    bfd: p.bfd_state.map(Into::into),
                    restart: if p.restart.contains(&RestartState::Llgr) {
                        RestartState::Llgr
                    } else if p.restart.contains(&RestartState::Gr) {
                        RestartState::Gr
                    } else {
                        RestartState::None
                    },
                }
            })
            .collect();
        let mut fib = self.fib_status.clone();
        fib.routes = self.engine.fib_snapshot().len();
        Status {
            node: self.node.clone(),
            local_as: self.plan.local_as.get(),
            router_id: self.router_id,
            restarting: self.restart.is_some(),
            peers,
            originated: self.plan.originations.keys().copied().collect(),
            fib,
        }
    }

    async fn stop(&mut self, mode: StopMode, fib_rx: &mut mpsc::Receiver<FibReport>) {
        match mode {
            StopMode::Graceful => {
                // Close without NOTIFICATION first (RFC 4724 §4: the peers
                // keep our routes as stale)...
                for p in self.peers.values() {
                    let _ = p.cmd.send(SessionCommand::Stop(StopReason::Graceful));
                }
                tokio::time::sleep(GRACEFUL_CLOSE_LEAD).await;
                // ... then AdminDown for one Detection Time (RFC 5880
                // §6.8.16), so that the ToRs do not take it as a path
                // failure (RFC 5882 §4.2). In this order a ToR whose BGP
                // takes any BFD Down as a hard reset (FRR 8.4 without
                // `bfd check-control-plane-failure`) is already in its GR
                // helper role when BFD goes down, and keeps our routes.
                let mut wait = Duration::ZERO;
                for p in self.peers.values() {
                    if let (Some(tx), Some(t)) = (&p.bfd, p.plan.bfd) {
                        let _ = tx.send(BfdCommand::AdminDown);
                        wait = wait.max(nbfd::detection_time(&t));
                    }
                }
                tokio::time::sleep(wait.min(Duration::from_secs(3))).await;
                if let Some(f) = self.fib.take() {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    let _ = f.tx.send(FibCommand::Exit(tx));
                    fib_wait(rx, fib_rx).await;
                }
            }
            StopMode::Hard => {
                for p in self.peers.values() {
                    let _ = p.cmd.send(SessionCommand::Stop(StopReason::Shutdown));
                }
                if let Some(f) = self.fib.take() {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    let _ = f.tx.send(FibCommand::Flush(tx));
                    fib_wait(rx, fib_rx).await;
                }
            }
        }
        // Let the session tasks write their last message and close.
        tokio::time::sleep(Duration::from_millis(100)).await;
        for p in self.peers.values_mut() {
            p.bfd = None;
            p.state = SessionState::Stopped;
        }
        self.emit(Event::Stopped {
            graceful: mode == StopMode::Graceful,
        });
    }
}

/// The BGP Identifier: the Node's `ipv4Address`, else the first IPv4
/// address of an interface that is not loopback.
fn router_id(plan: &NodePlan, ifaces: &Interfaces) -> Option<Ipv4Addr> {
    plan.router_id.or_else(|| {
        ifaces
            .addresses
            .iter()
            .find_map(|a| match a.address.addr() {
                IpAddr::V4(v4) if !v4.is_loopback() => Some(v4),
                _ => None,
            })
    })
}

/// The route engine for an identity, with the interfaces' connected subnets.
fn new_engine(local_as: u32, router_id: Ipv4Addr, ifaces: &Interfaces) -> llgr::Engine {
    let mut ecfg = llgr::Config::new(local_as, router_id);
    ecfg.local_addresses = ifaces.addresses.iter().map(|a| a.address.addr()).collect();
    let mut engine = llgr::Engine::new(ecfg);
    for (name, idx) in &ifaces.index {
        let subnets = ifaces.connected(name);
        if !subnets.is_empty() {
            engine.set_connected(*idx, subnets);
        }
    }
    engine
}

/// Opens the kernel programmer (when configured) with the plan's loopbacks
/// as preferred sources; it finds our routes of a previous run.
fn open_fib(
    cfg: Option<::fib::Config>,
    plan: &NodePlan,
    reports: &mpsc::Sender<FibReport>,
    status: &mut FibStatus,
) -> Result<Option<FibThread>, ::fib::Error> {
    let Some(mut cfg) = cfg else {
        return Ok(None);
    };
    let loopbacks: Vec<IpAddr> = plan
        .originations
        .values()
        .filter(|o| o.kind == config::OriginKind::Loopback)
        .map(|o| o.prefix.addr())
        .collect();
    super::fib::prefsrc(&mut cfg, &loopbacks);
    let f = FibThread::start(cfg, reports.clone())?;
    status.enabled = true;
    status.nexthop_objects = f.status.style == ::fib::Style::NexthopObjects;
    status.previous_routes = f.previous_routes;
    Ok(Some(f))
}

/// A plan with the identity of `plan` and nothing to run yet (what
/// [`Core::apply`] starts from).
fn empty_plan(plan: &NodePlan) -> NodePlan {
    NodePlan {
        peers: BTreeMap::new(),
        originations: BTreeMap::new(),
        blackholes: BTreeSet::new(),
        ..plan.clone()
    }
}

/// Waits for the programmer thread to answer `done`, discarding its reports
/// meanwhile (it may be waiting to send one, on a full channel).
async fn fib_wait(
    mut done: tokio::sync::oneshot::Receiver<()>,
    reports: &mut mpsc::Receiver<FibReport>,
) {
    loop {
        tokio::select! {
            _ = &mut done => return,
            r = reports.recv() => if r.is_none() {
                let _ = done.await;
                return;
            },
        }
    }
}

/// How long a graceful stop waits between closing the BGP connections and
/// sending BFD AdminDown: enough for the FIN to reach the ToR before BFD
/// says anything.
const GRACEFUL_CLOSE_LEAD: Duration = Duration::from_millis(100);

/// Whether a changed peering needs a new session: anything in the OPEN or
/// the connection, and the engine's per-peer settings (gateway mode, next
/// hop mode, allowed AS count, interface), which are fixed per peer.
fn needs_new_session(c: &config::PeerChange) -> bool {
    c.fields
        .iter()
        .any(|f| !matches!(f, config::PeerField::Name | config::PeerField::Bfd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_name_and_bfd_changes_keep_the_session() {
        let c = |fields| config::PeerChange {
            address: "172.31.11.250".parse().unwrap(),
            fields,
        };
        assert!(!needs_new_session(&c(vec![config::PeerField::Bfd])));
        assert!(!needs_new_session(&c(vec![config::PeerField::Name])));
        assert!(needs_new_session(&c(vec![config::PeerField::Gateway])));
        assert!(needs_new_session(&c(vec![config::PeerField::Restart])));
    }
}
