//! The node's wiring without root: `dualtor::node::Node` with no kernel
//! programming and no BFD sockets, over an in-memory [`Transport`] that runs
//! our `bgp_wire::session::Session` against a scripted ToR session (the
//! real FSM on both ends, messages shuttled as bytes).
//!
//! What is checked: sessions come up from the guide's resources; we export
//! only what we originate (loopback in a disabled pool, confirmed blocks,
//! API blocks, with BGPConfiguration communities) and send End-of-RIB;
//! routes from the ToR reach the engine (status counts); a graceful loss
//! puts the ToR's routes in the LLGR phase at once (RFC 9494 §4.2); a
//! reload touches only the changed session; a hard stop sends Cease.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bgp_wire::attr::{AsPath, AttrValue, Origin};
use bgp_wire::session::{
    Action, Direction, GracefulRestartConfig, LlgrConfig, LlgrFamilyConfig, Session, SessionConfig,
    StartKind, StopKind,
};
use bgp_wire::{Family, Nlri, Update};
use dualtor::config::{AddressScope, InterfaceAddress};
use dualtor::config::{
    AsNumber, BgpConfiguration, BlockAffinity, Community, Config, IpPool, NodeConfig, PeerConfig,
    PrefixAdvertisement,
};
use dualtor::node::{
    DownReason, Event, Interfaces, Node, Options, RestartState, SessionCommand, SessionEvent,
    SessionLink, SessionSetup, SessionState, StopMode, Transport,
};
use ipnet::IpNet;
use tokio::sync::mpsc;

/// What the scripted ToR is told to do.
#[derive(Debug)]
enum TorCmd {
    Send(Vec<Update>),
    /// The TCP connection breaks (no NOTIFICATION).
    Break,
}

/// What each ToR received from us, and its command channel.
#[derive(Debug, Default)]
struct Shared {
    received: HashMap<IpAddr, Vec<Update>>,
    notifications: HashMap<IpAddr, Vec<(u8, u8)>>,
    tors: HashMap<IpAddr, mpsc::UnboundedSender<TorCmd>>,
    spawned: HashMap<IpAddr, usize>,
    /// The (local AS, router ID, R bit) of every session spawned, in order.
    identities: HashMap<IpAddr, Vec<(u32, Ipv4Addr, bool)>>,
}

#[derive(Debug, Clone, Default)]
struct Memory(Arc<Mutex<Shared>>);

impl Memory {
    fn tor(&self, a: &str) -> mpsc::UnboundedSender<TorCmd> {
        self.0.lock().unwrap().tors[&a.parse::<IpAddr>().unwrap()].clone()
    }
    fn received(&self, a: &str) -> Vec<Update> {
        self.0
            .lock()
            .unwrap()
            .received
            .get(&a.parse::<IpAddr>().unwrap())
            .cloned()
            .unwrap_or_default()
    }
    fn announced(&self, a: &str) -> Vec<IpNet> {
        let mut v = Vec::new();
        for u in self.received(a) {
            for (_, n) in u.announced() {
                if !v.contains(&n.prefix) {
                    v.push(n.prefix);
                }
            }
            for (_, n) in u.withdrawals() {
                v.retain(|p| *p != n.prefix);
            }
        }
        v.sort();
        v
    }
}

fn tor_config(setup: &SessionSetup) -> SessionConfig {
    let mut c = SessionConfig::new(setup.peer.peer_as.get(), Ipv4Addr::new(10, 9, 9, 9))
        .with_peer_as(setup.peer.local_as.get());
    c.families = vec![Family::IPV4_UNICAST];
    c.graceful_restart = Some(GracefulRestartConfig {
        restart_time: 0,
        forwarding: vec![Family::IPV4_UNICAST],
        notification: false,
    });
    c.llgr = LlgrConfig::Enabled(vec![LlgrFamilyConfig {
        family: Family::IPV4_UNICAST,
        stale_time: 3600,
        forwarding: true,
    }]);
    c
}

impl Transport for Memory {
    fn spawn(&self, setup: SessionSetup, link: SessionLink) {
        let (tx, rx) = mpsc::unbounded_channel();
        {
            let mut s = self.0.lock().unwrap();
            s.tors.insert(setup.remote.ip(), tx);
            *s.spawned.entry(setup.remote.ip()).or_default() += 1;
            s.identities.entry(setup.remote.ip()).or_default().push((
                setup.config.local_as,
                setup.config.router_id,
                setup.restarting,
            ));
        }
        tokio::spawn(run(setup, link, rx, self.0.clone()));
    }
}

/// Shuttles messages between our session and the ToR's until both are quiet.
fn pump(
    ours: &mut Session,
    tor: &mut Session,
    link: &SessionLink,
    conn: &mut u64,
    shared: &Mutex<Shared>,
    peer: IpAddr,
    connected: &mut bool,
) {
    let now = Instant::now();
    loop {
        let mut moved = false;
        while let Some(a) = ours.poll_action() {
            moved = true;
            match a {
                Action::OpenConnection => {
                    ours.handle_connected(now, Direction::Outbound);
                    tor.handle_start(now, StartKind::ManualPassive);
                    tor.handle_connected(now, Direction::Inbound);
                    *connected = true;
                }
                Action::Send(m) if *connected => {
                    if let bgp_wire::Message::Notification(n) = &m {
                        shared
                            .lock()
                            .unwrap()
                            .notifications
                            .entry(peer)
                            .or_default()
                            .push((n.code.0, n.subcode));
                    }
                    let b = m.to_bytes(ours.encode_ctx()).unwrap();
                    tor.handle_bytes(now, &b);
                }
                Action::CloseConnection => {
                    if *connected {
                        tor.handle_connection_failed(now);
                    }
                    *connected = false;
                }
                Action::SessionUp(n) => {
                    *conn += 1;
                    let _ = link.events.try_send(SessionEvent::Established {
                        conn: *conn,
                        negotiated: n,
                        local: "172.31.11.1:50000".parse().unwrap(),
                    });
                }
                Action::SessionDown(d) => {
                    let _ = link.events.try_send(SessionEvent::Down {
                        conn: *conn,
                        reason: DownReason::from(&d.reason),
                        retain_stale: d.fate == bgp_wire::session::RouteFate::RetainStale,
                    });
                }
                Action::Update { update, .. } => {
                    let _ = link.events.try_send(SessionEvent::Update {
                        conn: *conn,
                        update,
                        treat_as_withdraw: false,
                    });
                }
                Action::EndOfRib(family) => {
                    let _ = link.events.try_send(SessionEvent::EndOfRib {
                        conn: *conn,
                        family,
                    });
                }
                _ => {}
            }
        }
        while let Some(a) = tor.poll_action() {
            moved = true;
            match a {
                Action::Send(m) if *connected => {
                    let b = m.to_bytes(tor.encode_ctx()).unwrap();
                    ours.handle_bytes(now, &b);
                }
                Action::Update { update, .. } => {
                    shared
                        .lock()
                        .unwrap()
                        .received
                        .entry(peer)
                        .or_default()
                        .push(update);
                }
                Action::EndOfRib(f) => {
                    shared
                        .lock()
                        .unwrap()
                        .received
                        .entry(peer)
                        .or_default()
                        .push(Update::end_of_rib(f));
                }
                Action::CloseConnection => {
                    if *connected {
                        ours.handle_connection_failed(now);
                    }
                    *connected = false;
                }
                _ => {}
            }
        }
        if !moved {
            return;
        }
    }
}

async fn run(
    setup: SessionSetup,
    mut link: SessionLink,
    mut tor_rx: mpsc::UnboundedReceiver<TorCmd>,
    shared: Arc<Mutex<Shared>>,
) {
    let peer = setup.remote.ip();
    let mut ours = Session::new(setup.config.clone());
    ours.set_restarting(setup.restarting);
    let mut tor = Session::new(tor_config(&setup));
    let mut conn = 0;
    let mut connected = false;
    ours.handle_start(Instant::now(), StartKind::Manual);
    loop {
        pump(
            &mut ours,
            &mut tor,
            &link,
            &mut conn,
            &shared,
            peer,
            &mut connected,
        );
        let next = [ours.poll_timeout(), tor.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            c = link.commands.recv() => {
                let now = Instant::now();
                match c {
                    Some(SessionCommand::Send(us)) => for u in us { let _ = ours.send_update(now, u); },
                    Some(SessionCommand::InitialTableSent) => { let _ = ours.initial_table_sent(now); }
                    Some(SessionCommand::PathDown) => {
                        ours.handle_stop(now, StopKind::BfdDown);
                        ours.handle_start(now, StartKind::Automatic);
                    }
                    Some(SessionCommand::Stop(r)) => {
                        let kind = match r {
                            dualtor::node::StopReason::Graceful => StopKind::Graceful,
                            _ => StopKind::Administrative { message: String::new() },
                        };
                        ours.handle_stop(now, kind);
                        pump(&mut ours, &mut tor, &link, &mut conn, &shared, peer, &mut connected);
                        return;
                    }
                    Some(_) => {}
                    None => return,
                }
            }
            t = tor_rx.recv() => {
                let now = Instant::now();
                match t {
                    Some(TorCmd::Send(us)) => for u in us { let _ = tor.send_update(now, u); },
                    Some(TorCmd::Break) => {
                        connected = false;
                        ours.handle_connection_failed(now);
                        tor.handle_connection_failed(now);
                    }
                    None => {}
                }
            }
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(next)) => {
                let now = Instant::now();
                ours.handle_timeout(now);
                tor.handle_timeout(now);
            }
        }
    }
}

fn net(s: &str) -> IpNet {
    s.parse().unwrap()
}

/// Node a1 of the guide with its two ToRs.
fn guide_config() -> Config {
    let mut c = Config::new();
    let mut n = NodeConfig::new("a1");
    n.as_number = AsNumber::new(65001);
    n.ipv4_address = Some("172.31.10.1/32".parse().unwrap());
    n.labels.insert("rack".into(), "ra".into());
    c.nodes.push(n);
    for (name, ip) in [("ra1", "172.31.11.250"), ("ra2", "172.31.12.250")] {
        let mut p = PeerConfig::dual_tor(name, ip.parse().unwrap(), AsNumber::new(65001).unwrap());
        p.node_selector = Some("rack == 'ra'".parse().unwrap());
        c.peers.push(p);
    }
    let mut lo = IpPool::new("loopbacks-rack-a", net("172.31.10.0/24"));
    lo.disabled = true;
    c.ip_pools.push(lo);
    c.ip_pools.push(IpPool::new("pods", net("10.244.0.0/16")));
    let mut g = BgpConfiguration::new("default");
    g.prefix_advertisements.push(PrefixAdvertisement::new(
        net("10.244.0.0/16"),
        vec![Community::Standard(65001, 100)],
    ));
    c.bgp_configurations.push(g);
    c.block_affinities.push(BlockAffinity::confirmed(
        "a1-b",
        "a1",
        net("10.244.17.0/26"),
    ));
    c
}

fn interfaces() -> Interfaces {
    let a = |i: &str, n: &str, s| InterfaceAddress::new(i, net(n), s);
    Interfaces::new(
        vec![
            a("lo", "172.31.10.1/32", AddressScope::Host),
            a("eth0", "172.31.11.1/24", AddressScope::Link),
            a("eth1", "172.31.12.1/24", AddressScope::Link),
        ],
        [("lo".into(), 1), ("eth0".into(), 2), ("eth1".into(), 3)].into(),
    )
}

async fn start(mem: &Memory) -> Node {
    let mut o = Options::new("a1", Arc::new(mem.clone()));
    o.fib = None;
    o.bfd = false;
    o.interfaces = Some(interfaces());
    Node::start(guide_config(), o).await.expect("start")
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < Duration::from_secs(5), "timeout: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn next_event(
    rx: &mut tokio::sync::broadcast::Receiver<Event>,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let e = rx.recv().await.expect("event stream");
            if pred(&e) {
                return e;
            }
        }
    })
    .await
    .expect("event in time")
}

// Calico semantics: the node exports its loopback (disabled pool) and its
// confirmed block, with the prefixAdvertisements community on the block,
// then End-of-RIB (RFC 4724 §4); nothing learned is re-exported.
#[tokio::test]
async fn exports_only_originated_prefixes_then_end_of_rib() {
    let mem = Memory::default();
    let node = start(&mem).await;
    let h = node.handle();
    for tor in ["172.31.11.250", "172.31.12.250"] {
        until("End-of-RIB at the ToR", || {
            mem.received(tor)
                .iter()
                .any(|u| u.is_end_of_rib().is_some())
        })
        .await;
        assert_eq!(
            mem.announced(tor),
            vec![net("10.244.17.0/26"), net("172.31.10.1/32")]
        );
        let block = mem
            .received(tor)
            .into_iter()
            .find(|u| u.nlri.iter().any(|n| n.prefix == net("10.244.17.0/26")))
            .unwrap();
        assert_eq!(
            block.communities(),
            &[bgp_wire::attr::Community((65001 << 16) | 100)]
        );
        assert_eq!(block.next_hop(), Some(Ipv4Addr::new(172, 31, 11, 1)));
    }
    // A route from ra1 (another rack's loopback) is accepted, never re-exported.
    mem.tor("172.31.11.250")
        .send(TorCmd::Send(vec![
            Update::new()
                .with(AttrValue::Origin(Origin::IGP))
                .with(AttrValue::AsPath(AsPath::sequence([65002])))
                .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 11, 250)))
                .with(AttrValue::LocalPref(100))
                .with_nlri([Nlri::new(net("172.31.20.1/32"))]),
            Update::end_of_rib(Family::IPV4_UNICAST),
        ]))
        .unwrap();
    let mut st = h.status().await.unwrap();
    let start = Instant::now();
    while st.peers[0].prefixes_accepted == 0 && start.elapsed() < Duration::from_secs(5) {
        tokio::time::sleep(Duration::from_millis(5)).await;
        st = h.status().await.unwrap();
    }
    let ra1 = &st.peers[0];
    assert_eq!(ra1.name, "ra1");
    assert_eq!(ra1.state, SessionState::Established);
    assert_eq!(ra1.prefixes_received, 1);
    assert_eq!(ra1.prefixes_accepted, 1);
    assert_eq!(ra1.prefixes_advertised, 2);
    assert!(ra1.end_of_rib);
    assert_eq!(
        mem.announced("172.31.12.250"),
        vec![net("10.244.17.0/26"), net("172.31.10.1/32")]
    );
    node.stop(StopMode::Graceful).await;
}

// An API block is installed as a blackhole and advertised; removing it
// withdraws it.
#[tokio::test]
async fn api_block_add_and_remove() {
    let mem = Memory::default();
    let node = start(&mem).await;
    let h = node.handle();
    until("initial table", || {
        mem.received("172.31.11.250")
            .iter()
            .any(|u| u.is_end_of_rib().is_some())
    })
    .await;
    h.add_block(net("10.244.17.64/26")).await.unwrap();
    until("block announced", || {
        mem.announced("172.31.11.250")
            .contains(&net("10.244.17.64/26"))
    })
    .await;
    assert!(
        h.status()
            .await
            .unwrap()
            .originated
            .contains(&net("10.244.17.64/26"))
    );
    h.remove_block(net("10.244.17.64/26")).await.unwrap();
    until("block withdrawn", || {
        !mem.announced("172.31.11.250")
            .contains(&net("10.244.17.64/26"))
    })
    .await;
    node.stop(StopMode::Graceful).await;
}

// RFC 9494 §4.2 with Calico's LongLivedGracefulRestart: a graceful loss
// (TCP failure) puts ra1's routes in the LLGR phase at once (GR time 0).
#[tokio::test]
async fn graceful_loss_enters_llgr_at_once() {
    let mem = Memory::default();
    let node = start(&mem).await;
    let h = node.handle();
    let mut ev = h.events();
    until("up", || {
        mem.received("172.31.11.250")
            .iter()
            .any(|u| u.is_end_of_rib().is_some())
    })
    .await;
    mem.tor("172.31.11.250")
        .send(TorCmd::Send(vec![
            Update::new()
                .with(AttrValue::Origin(Origin::IGP))
                .with(AttrValue::AsPath(AsPath::sequence([65002])))
                .with(AttrValue::NextHop(Ipv4Addr::new(172, 31, 11, 250)))
                .with(AttrValue::LocalPref(100))
                .with_nlri([Nlri::new(net("172.31.20.1/32"))]),
        ]))
        .unwrap();
    let start = Instant::now();
    while h.status().await.unwrap().peers[0].prefixes_accepted == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "route not accepted"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    mem.tor("172.31.11.250").send(TorCmd::Break).unwrap();
    let down = next_event(&mut ev, |e| matches!(e, Event::SessionDown { .. })).await;
    assert!(
        matches!(
            down,
            Event::SessionDown { ref name, reason: DownReason::TransportClosed, graceful: true, .. } if name == "ra1"
        ),
        "{down:?}"
    );
    let llgr = next_event(&mut ev, |e| matches!(e, Event::LlgrEntered { .. })).await;
    assert_eq!(
        llgr,
        Event::LlgrEntered {
            peer: "172.31.11.250".parse().unwrap(),
            family: dualtor::llgr::Family::Ipv4Unicast,
            stale_time: Duration::from_secs(3600),
            stale_routes: 1,
        }
    );
    let st = h.status().await.unwrap();
    assert_eq!(st.peers[0].restart, RestartState::Llgr);
    node.stop(StopMode::Graceful).await;
}

// Reload: changing one peer's restart mode re-establishes only that
// session (a new transport task), the other keeps running.
#[tokio::test]
async fn reload_touches_only_the_changed_session() {
    let mem = Memory::default();
    let node = start(&mem).await;
    let h = node.handle();
    until("up", || {
        mem.received("172.31.12.250")
            .iter()
            .any(|u| u.is_end_of_rib().is_some())
    })
    .await;
    let mut c = guide_config();
    c.peers[1].restart_mode = dualtor::config::RestartMode::GracefulRestart;
    let d = h.reload(c).await.unwrap();
    assert_eq!(d.peers_changed.len(), 1);
    assert_eq!(
        d.peers_changed[0].address,
        "172.31.12.250".parse::<IpAddr>().unwrap()
    );
    let spawned = mem.0.lock().unwrap().spawned.clone();
    assert_eq!(spawned[&"172.31.11.250".parse::<IpAddr>().unwrap()], 1);
    assert_eq!(spawned[&"172.31.12.250".parse::<IpAddr>().unwrap()], 2);
    // An invalid configuration is refused and nothing changes.
    let mut bad = guide_config();
    bad.peers[0].as_number = None;
    assert!(matches!(
        h.reload(bad).await,
        Err(dualtor::node::NodeError::Config(_))
    ));
    node.stop(StopMode::Graceful).await;
}

// A hard stop sends Cease (RFC 4486 Administrative Shutdown); a graceful
// stop closes without NOTIFICATION (RFC 4724 §4).
#[tokio::test]
async fn hard_stop_sends_cease_graceful_stop_does_not() {
    let mem = Memory::default();
    let node = start(&mem).await;
    until("up", || {
        mem.received("172.31.11.250")
            .iter()
            .any(|u| u.is_end_of_rib().is_some())
    })
    .await;
    node.stop(StopMode::Hard).await;
    let n = mem.0.lock().unwrap().notifications.clone();
    assert_eq!(n[&"172.31.11.250".parse::<IpAddr>().unwrap()], vec![(6, 2)]);

    let mem = Memory::default();
    let node = start(&mem).await;
    until("up", || {
        mem.received("172.31.11.250")
            .iter()
            .any(|u| u.is_end_of_rib().is_some())
    })
    .await;
    node.stop(StopMode::Graceful).await;
    assert!(mem.0.lock().unwrap().notifications.is_empty());
}

// A reload that changes the node's AS and router ID (its ipv4Address)
// re-establishes every session with the new identity, as BIRD restarts its
// BGP protocols; the sessions close without NOTIFICATION (RFC 4724: the
// ToRs keep our routes meanwhile) and come back with the new AS and BGP
// Identifier in the OPEN (RFC 4271 §4.2).
#[tokio::test]
async fn reload_with_new_as_and_router_id_resets_every_session() {
    let mem = Memory::default();
    let node = start(&mem).await;
    let h = node.handle();
    let mut events = h.events();
    for tor in ["172.31.11.250", "172.31.12.250"] {
        until("up", || {
            mem.received(tor)
                .iter()
                .any(|u| u.is_end_of_rib().is_some())
        })
        .await;
    }
    let mut c = guide_config();
    c.nodes[0].as_number = AsNumber::new(65009);
    c.nodes[0].ipv4_address = Some("172.31.10.9/32".parse().unwrap());
    let d = h.reload(c).await.unwrap();
    assert!(d.identity_changed);
    let e = next_event(&mut events, |e| matches!(e, Event::Reloaded { .. })).await;
    assert!(
        matches!(
            e,
            Event::Reloaded {
                peers_reset: 2,
                peers_added: 0,
                peers_removed: 0,
                ..
            }
        ),
        "{e:?}"
    );
    for tor in ["172.31.11.250", "172.31.12.250"] {
        let ip: IpAddr = tor.parse().unwrap();
        until("re-established", || {
            mem.0.lock().unwrap().identities.get(&ip).map(Vec::len) == Some(2)
        })
        .await;
        let ids = mem.0.lock().unwrap().identities[&ip].clone();
        assert_eq!(
            ids,
            vec![
                (65001, Ipv4Addr::new(172, 31, 10, 1), false),
                (65009, Ipv4Addr::new(172, 31, 10, 9), false),
            ]
        );
    }
    let st = h.status().await.unwrap();
    assert_eq!(st.local_as, 65009);
    assert_eq!(st.router_id, Ipv4Addr::new(172, 31, 10, 9));
    until("both Established again", || {
        let mem = mem.clone();
        let n = mem
            .0
            .lock()
            .unwrap()
            .received
            .values()
            .filter(|u| u.iter().filter(|u| u.is_end_of_rib().is_some()).count() >= 2)
            .count();
        n == 2
    })
    .await;
    // Closed gracefully: no NOTIFICATION.
    assert!(mem.0.lock().unwrap().notifications.is_empty());
    node.stop(StopMode::Graceful).await;
}
