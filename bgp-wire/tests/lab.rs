//! Interop with real BGP speakers in network namespaces (style rules 39-40): BIRD 2 as the
//! far end of our tokio transport. Skips without root or BIRD, unless
//! `DUALTOR_REQUIRE_LAB=1`. Contents are compared as sets of (prefix, next hop, AS_PATH,
//! communities), never as counts.
#![cfg(feature = "tokio")]
// A lab test measures wall-clock time; the sans-IO clock ban is for the library.
#![allow(clippy::disallowed_methods)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::{Duration, Instant};

use bgp_wire::attr::{
    AsPath, AttrValue, Community, ExtendedCommunity, LargeCommunity, MpReach, MpUnreach,
    NextHop as MpNextHop, Origin,
};
use bgp_wire::session::{
    Action, GracefulRestartConfig, LlgrConfig, LlgrFamilyConfig, Reason, SessionConfig, StartKind,
    StopKind,
};
use bgp_wire::transport::{self, PeerConfig, PeerHandle};
use bgp_wire::{Family, Nlri, Update};
use test_support::daemons::Bird;
use test_support::{Need, Netns, lab};
use tokio::sync::mpsc::Receiver;

const OUR_AS: u32 = 4_200_000_001;
const BIRD_AS: u32 = 4_200_000_002;
const OURS: &str = "10.99.0.1";
const BIRD: &str = "10.99.0.2";
const N: u32 = 10_000;
/// A second speaker of ours that feeds routes to a daemon (GoBGP test).
const FEEDER: &str = "10.99.0.3";
const FEEDER_AS: u32 = 4_200_000_003;

type RouteKey = (String, String, Vec<u32>, Vec<(u16, u16)>);

fn pair() -> (Netns, Netns) {
    let a = Netns::new("bgpw").unwrap();
    let b = Netns::new("bgpw").unwrap();
    test_support::veth(&a, "eth0", &b, "eth0").unwrap();
    a.sh(&format!(
        "ip addr add {OURS}/24 dev eth0; ip -6 addr add fd99::1/64 dev eth0 nodad"
    ))
    .unwrap();
    b.sh(&format!(
        "ip addr add {BIRD}/24 dev eth0; ip -6 addr add fd99::2/64 dev eth0 nodad"
    ))
    .unwrap();
    (a, b)
}

fn bird_config(password: Option<&str>, hold: u16) -> String {
    let mut routes = String::new();
    for i in 0..N {
        routes += &format!("  route 172.{}.{}.0/24 blackhole;\n", 16 + i / 256, i % 256);
    }
    let pw = password.map_or(String::new(), |p| format!("  password \"{p}\";\n"));
    format!(
        "router id {BIRD};\nprotocol device {{}}\nprotocol static s4 {{\n  ipv4;\n{routes}}}\n\
         protocol bgp ours {{\n  local {BIRD} as {BIRD_AS};\n  neighbor {OURS} as {OUR_AS};\n\
         {pw}  hold time {hold};\n  connect retry time 2;\n  error wait time 1, 5;\n\
         graceful restart on;\n  graceful restart time 120;\n  long lived graceful restart on;\n\
         long lived stale time 3600;\n\
         ipv4 {{ import all; export filter {{ bgp_community.add((65000,1)); accept; }}; }};\n\
         ipv6 {{ import all; export none; }};\n}}\n"
    )
}

/// The "Neighbor capabilities" block of BIRD's `show protocols all` (up to the next
/// block at the same indentation).
fn neighbor_caps(all: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for l in all.lines() {
        if l.trim_start().starts_with("Neighbor capabilities") {
            inside = true;
            continue;
        }
        if inside {
            let indent = l.len() - l.trim_start().len();
            if indent <= 4 && !l.trim().is_empty() {
                break;
            }
            out += l.trim();
            out += "\n";
        }
    }
    out
}

fn our_config() -> SessionConfig {
    let mut c = SessionConfig::new(OUR_AS, OURS.parse().unwrap()).with_peer_as(BIRD_AS);
    c.hold_time = 9;
    c.connect_retry_time = Duration::from_secs(2);
    c.graceful_restart = Some(GracefulRestartConfig::default());
    c.llgr = LlgrConfig::Enabled(vec![LlgrFamilyConfig {
        family: Family::IPV4_UNICAST,
        stale_time: 3600,
        forwarding: true,
    }]);
    c
}

fn our_table() -> Vec<Update> {
    (0..N)
        .map(|i| {
            let p = Ipv4Addr::new(192, 168 - (i / 256 / 256) as u8, ((i / 256) % 256) as u8, 0);
            let p = Ipv4Addr::from(u32::from(p) + (i % 256));
            let net = ipnet::Ipv4Net::new(p, 32).unwrap();
            Update::new()
                .with(AttrValue::Origin(Origin::IGP))
                .with(AttrValue::AsPath(AsPath::sequence([OUR_AS])))
                .with(AttrValue::NextHop(OURS.parse().unwrap()))
                .with(AttrValue::Communities(
                    vec![Community::new(65001, 7)].into(),
                ))
                .with_nlri([Nlri::new(net)])
        })
        .collect()
}

fn key_of(u: &Update) -> Vec<RouteKey> {
    let nh = u.next_hop().map(|n| n.to_string()).unwrap_or_default();
    let path: Vec<u32> = u
        .effective_as_path()
        .map(|p| p.asns().collect())
        .unwrap_or_default();
    let comms: Vec<(u16, u16)> = u
        .communities()
        .iter()
        .map(|c| ((c.0 >> 16) as u16, c.0 as u16))
        .collect();
    u.announced()
        .map(|(_, n)| {
            (
                n.prefix.to_string(),
                nh.clone(),
                path.clone(),
                comms.clone(),
            )
        })
        .collect()
}

fn expected_from_bird() -> BTreeSet<RouteKey> {
    (0..N)
        .map(|i| {
            (
                format!("172.{}.{}.0/24", 16 + i / 256, i % 256),
                BIRD.to_string(),
                vec![BIRD_AS],
                vec![(65000, 1)],
            )
        })
        .collect()
}

async fn wait(
    ev: &mut Receiver<Action>,
    secs: u64,
    mut pred: impl FnMut(&Action) -> bool,
) -> Vec<Action> {
    let mut seen = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(secs), async {
        while let Some(a) = ev.recv().await {
            let hit = pred(&a);
            seen.push(a);
            if hit {
                return;
            }
        }
    })
    .await;
    assert!(
        r.is_ok(),
        "timed out; last events: {:?}",
        &seen[seen.len().saturating_sub(6)..]
    );
    seen
}

fn spawn_ours(cfg: SessionConfig) -> (PeerHandle, Receiver<Action>) {
    let remote = SocketAddr::new(BIRD.parse().unwrap(), 179);
    let (h, ev, _t) = transport::spawn(PeerConfig::new(cfg, remote), None);
    (h, ev)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn lab_bird_established_tables_withdrawals_graceful_and_admin_stop() {
    let Some(_lab) = lab("bgp_wire_lab_bird", &[Need::Root, Need::Bird]) else {
        return;
    };
    let (a, b) = pair();
    let bird = Bird::start_raw(&b, &bird_config(None, 9)).unwrap();
    a.enter(|| {
        rt().block_on(async {
            let (h, mut ev) = spawn_ours(our_config());
            h.start(StartKind::Manual).await.unwrap();
            let seen = wait(&mut ev, 30, |a| matches!(a, Action::SessionUp(_))).await;
            let Some(Action::SessionUp(n)) = seen.last() else {
                unreachable!()
            };
            // Our view: 4-octet AS, both families, GR and LLGR from BIRD.
            assert!(n.four_octet_as);
            assert_eq!(n.peer_as, BIRD_AS);
            assert_eq!(n.families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
            let gr = n.peer_graceful_restart.clone().expect("BIRD sends GR");
            assert_eq!(gr.restart_time, 120);
            assert!(n.peer_llgr_capable);
            assert_eq!(
                n.peer_llgr
                    .iter()
                    .find(|l| l.family == Family::IPV4_UNICAST)
                    .map(|l| l.stale_time),
                Some(3600)
            );
            // BIRD's view.
            let p = bird.protocols().unwrap();
            let ours = p.iter().find(|p| p.name == "ours").unwrap();
            assert!(ours.is_established(), "{ours:?}");
            let d = ours.bgp.as_ref().unwrap();
            assert_eq!(d.neighbor_as, Some(OUR_AS));
            assert_eq!(d.session.as_deref(), Some("external AS4"));
            let all = bird.birdc("show protocols all ours").unwrap();
            assert!(
                all.contains("Graceful restart") && all.contains("Long-lived graceful restart"),
                "{all}"
            );
            assert!(all.contains("ipv6"), "{all}");
            // A first start is no restart: R=0 (RFC 4724 §4.1), F for both families.
            let caps = neighbor_caps(&all);
            assert!(!caps.contains("Restart recovery"), "{caps}");
            assert!(caps.contains("AF preserved: ipv4 ipv6"), "{caps}");

            // BIRD → us: 10,000 routes and End-of-RIB.
            let mut got = BTreeSet::new();
            let mut eor = false;
            tokio::time::timeout(Duration::from_secs(60), async {
                while !eor {
                    match ev.recv().await.unwrap() {
                        Action::Update { update, .. } => got.extend(key_of(&update)),
                        Action::EndOfRib(Family::IPV4_UNICAST) => eor = true,
                        _ => {}
                    }
                }
            })
            .await
            .expect("BIRD's table and EoR");
            assert_eq!(got, expected_from_bird());

            // us → BIRD: 10,000 routes with EoR.
            let table = our_table();
            for c in table.chunks(1000) {
                h.send_updates(c.to_vec()).await.unwrap();
            }
            h.initial_table_sent().await.unwrap();
            let sent: BTreeSet<RouteKey> = table.iter().flat_map(key_of).collect();
            let t0 = Instant::now();
            let recv = loop {
                let r: BTreeSet<RouteKey> = bird
                    .routes("all protocol ours")
                    .unwrap()
                    .iter()
                    .map(|r| {
                        (
                            r.prefix.to_string(),
                            r.attr("BGP.next_hop").unwrap_or("").to_string(),
                            r.as_path(),
                            r.communities(),
                        )
                    })
                    .collect();
                if r.len() >= N as usize || t0.elapsed() > Duration::from_secs(30) {
                    break r;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            };
            assert_eq!(recv, sent);

            // Withdrawals arrive.
            let w: Vec<Nlri> = table[..100].iter().flat_map(|u| u.nlri.clone()).collect();
            h.send_updates(vec![Update::new().with_withdrawn(w)])
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_secs(1)).await;
            let left = bird.routes("protocol ours").unwrap().len();
            assert_eq!(left, N as usize - 100);

            // Graceful local stop: BIRD keeps our routes, marked stale.
            h.stop(StopKind::Graceful).await.unwrap();
            wait(&mut ev, 10, |a| matches!(a, Action::SessionDown(_))).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let stale = bird.routes("all protocol ours").unwrap();
            assert_eq!(stale.len(), N as usize - 100, "routes kept");
            // RFC 4724 §4.2 receiving speaker: BIRD runs its restart timer for us.
            let all = bird.birdc("show protocols all ours").unwrap();
            assert!(all.contains("Neighbor graceful restart active"), "{all}");
            // Restart: R=1 in our OPEN (RFC 4724 §4.1); BIRD accepts, the session comes
            // back, and BIRD shows our Restart State and the families with F=1.
            h.start(StartKind::Manual).await.unwrap();
            wait(&mut ev, 30, |a| matches!(a, Action::SessionUp(_))).await;
            let caps = neighbor_caps(&bird.birdc("show protocols all ours").unwrap());
            assert!(caps.contains("Restart recovery"), "{caps}");
            assert!(caps.contains("AF preserved: ipv4 ipv6"), "{caps}");

            // Administrative shutdown with a message: BIRD records it and deletes.
            h.stop(StopKind::Administrative {
                message: "lab maintenance".into(),
            })
            .await
            .unwrap();
            wait(&mut ev, 10, |a| matches!(a, Action::SessionDown(_))).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            let all = bird.birdc("show protocols all ours").unwrap();
            assert!(all.contains("Administrative shutdown"), "{all}");
            assert_eq!(bird.routes("protocol ours").unwrap().len(), 0);
        })
    });
}

/// RFC 4271 §6.5 on both sides: with the session up (hold time 9 s on both sides), the
/// path is silenced (`drop_all` on our end, both directions); our HoldTimer expires
/// within 9 s (+1 s) and we end the session with NOTIFICATION 4/0
/// (`Reason::HoldTimerExpired`); then, with the path still silent, `daemon_side` checks the
/// daemon's own view.
fn hold_expiry_both_sides(a: &Netns, daemon_side: impl Fn() + Sync) {
    a.enter(|| {
        rt().block_on(async {
            let (h, mut ev) = spawn_ours(our_config());
            h.start(StartKind::Manual).await.unwrap();
            wait(&mut ev, 60, |a| matches!(a, Action::SessionUp(_))).await;
            let cut = Instant::now();
            let _guard = test_support::faults::drop_all(a, "eth0").unwrap();
            let seen = wait(&mut ev, 15, |a| matches!(a, Action::SessionDown(_))).await;
            let Some(Action::SessionDown(d)) = seen.last() else {
                unreachable!()
            };
            assert_eq!(d.reason, Reason::HoldTimerExpired);
            assert!(cut.elapsed() <= Duration::from_secs(10));
            // The daemon's hold timer runs from its last KEEPALIVE from us: it fires
            // within the same 9 s (+1 s margin).
            tokio::time::sleep(Duration::from_secs(2)).await;
            daemon_side();
            drop(h);
        })
    });
}

#[test]
fn lab_bird_hold_timer_expiry_both_sides() {
    let Some(_lab) = lab(
        "bgp_wire_lab_bird_hold",
        &[Need::Root, Need::Bird, Need::Nft],
    ) else {
        return;
    };
    let (a, b) = pair();
    let bird = Bird::start_raw(&b, &bird_config(None, 9)).unwrap();
    hold_expiry_both_sides(&a, || {
        // BIRD's side: the hold timer fired too; our GR capability makes it keep our
        // routes (its `bgp_hold_timeout` runs graceful restart for GR peers).
        let all = bird.birdc("show protocols all ours").unwrap();
        assert!(!all.contains("Established"), "{all}");
        assert!(
            all.contains("Hold timer expired") || all.contains("Neighbor graceful restart active"),
            "{all}"
        );
    });
}

#[test]
fn lab_frr_hold_timer_expiry_both_sides() {
    let Some(_lab) = lab("bgp_wire_lab_frr_hold", &[Need::Root, Need::Frr, Need::Nft]) else {
        return;
    };
    let (a, b) = pair();
    let frr =
        test_support::daemons::Frr::start_raw(&b, &["zebra", "bgpd"], &frr_config(None)).unwrap();
    hold_expiry_both_sides(&a, || {
        // FRR's side: its own HoldTimer expired and it sent NOTIFICATION 4/0.
        let v = frr.vtysh_json("show bgp neighbors json").unwrap();
        let nb = &v[OURS];
        assert_ne!(nb["bgpState"], "Established", "{nb}");
        assert_eq!(nb["lastErrorCodeSubcode"], "0400", "{nb}");
        assert_eq!(nb["lastNotificationReason"], "Hold Timer Expired", "{nb}");
        assert_eq!(nb["lastResetDueTo"], "BGP Notification send", "{nb}");
    });
}

#[test]
fn lab_gobgp_hold_timer_expiry_both_sides() {
    let Some(_lab) = lab(
        "bgp_wire_lab_gobgp_hold",
        &[Need::Root, Need::Gobgp, Need::Nft],
    ) else {
        return;
    };
    let (a, b) = pair();
    let gobgp = test_support::daemons::Gobgp::start_raw(&b, &gobgp_config(None)).unwrap();
    hold_expiry_both_sides(&a, || {
        // GoBGP's side: Idle (api SessionState 1), one NOTIFICATION sent, none received
        // (ours was dropped on the silenced path).
        let v = gobgp.cli_json(&["neighbor", OURS]).unwrap();
        let st = &v["state"];
        assert_eq!(st["session_state"], 1, "{st}");
        assert_eq!(st["messages"]["sent"]["notification"], 1, "{st}");
        assert!(st["messages"]["received"]["notification"].is_null(), "{st}");
        // `gobgp neighbor` shows no codes; gobgpd's log does: exactly one NOTIFICATION
        // to us, 4/0 (RFC 4271 §6.5), and the peer went down for that reason.
        let log = std::fs::read_to_string(gobgp.dir().join("gobgpd.out")).unwrap();
        let to_us = |msg: &str| -> Vec<String> {
            log.lines()
                .filter(|l| l.contains(msg) && l.contains(&format!("Key={OURS} ")))
                .map(|l| {
                    l.split_whitespace()
                        .filter(|w| {
                            w.starts_with("Code=")
                                || w.starts_with("Subcode=")
                                || w.starts_with("Reason=")
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect()
        };
        assert_eq!(
            to_us("msg=\"sent notification\""),
            ["Code=4 Subcode=0"],
            "{log}"
        );
        assert_eq!(
            to_us("msg=\"Peer Down\""),
            ["Reason=hold-timer-expired"],
            "{log}"
        );
    });
}

/// RFC 2385 against a daemon in `b` that expects the password "right" from us: with
/// "wrong" our session never leaves Idle/Connect/Active and the kernel's
/// `TcpExtTCPMD5Failure` (or `TcpExtTCPMD5NotFound`) counter rises in `b`, the daemon's
/// namespace, while `daemon_established` stays false; with "right" both sides reach
/// Established.
fn md5_mismatch_then_match(a: &Netns, b: &Netns, daemon_established: impl Fn() -> bool) {
    let failures = |ns: &Netns| -> u64 {
        let out = ns
            .sh("nstat -az TcpExtTCPMD5Failure TcpExtTCPMD5NotFound")
            .unwrap();
        out.lines()
            .filter(|l| l.starts_with("TcpExt"))
            .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum()
    };
    let before = failures(b);
    let run = |password: &str, up: bool| {
        a.enter(|| {
            rt().block_on(async {
                let remote = SocketAddr::new(BIRD.parse().unwrap(), 179);
                let mut pc = PeerConfig::new(our_config(), remote);
                pc.socket.password = Some(password.into());
                let (h, mut ev, _t) = transport::spawn(pc, None);
                h.start(StartKind::Manual).await.unwrap();
                if up {
                    wait(&mut ev, 60, |a| matches!(a, Action::SessionUp(_))).await;
                    return;
                }
                tokio::time::sleep(Duration::from_secs(6)).await;
                let mut states = Vec::new();
                while let Ok(a) = ev.try_recv() {
                    if let Action::StateChange { to, .. } = a {
                        states.push(to);
                    }
                }
                use bgp_wire::session::State;
                assert!(
                    states
                        .iter()
                        .all(|s| matches!(s, State::Idle | State::Connect | State::Active)),
                    "{states:?}"
                );
                drop(h);
            })
        })
    };
    run("wrong", false);
    assert!(!daemon_established(), "the daemon stays down on a mismatch");
    assert!(
        failures(b) > before,
        "TcpExtTCPMD5Failure rises in the daemon's namespace"
    );
    run("right", true);
}

#[test]
fn lab_bird_tcp_md5_mismatch_never_opens_and_match_does() {
    let Some(_lab) = lab("bgp_wire_lab_bird_md5", &[Need::Root, Need::Bird]) else {
        return;
    };
    let (a, b) = pair();
    let bird = Bird::start_raw(&b, &bird_config(Some("right"), 9)).unwrap();
    md5_mismatch_then_match(&a, &b, || {
        bird.protocols()
            .unwrap()
            .iter()
            .any(|p| p.name == "ours" && p.is_established())
    });
}

/// FRR with `timers 3 9` and `timers connect 2` for us, one network, and optionally
/// `neighbor ... password`.
fn frr_config(password: Option<&str>) -> String {
    let pw = password.map_or(String::new(), |p| {
        format!(" neighbor {OURS} password {p}\n")
    });
    format!(
        "frr defaults datacenter\nhostname frrpeer\n!\nrouter bgp {BIRD_AS}\n bgp router-id {BIRD}\n\
         no bgp ebgp-requires-policy\n no bgp network import-check\n\
         neighbor {OURS} remote-as {OUR_AS}\n neighbor {OURS} timers 3 9\n\
         neighbor {OURS} timers connect 2\n{pw} !\n address-family ipv4 unicast\n\
         network 172.16.0.0/24\n neighbor {OURS} activate\n exit-address-family\n!\n"
    )
}

/// FRR's `bgpState` for us (`show bgp neighbors json`).
fn frr_state(frr: &test_support::daemons::Frr) -> String {
    let v = frr.vtysh_json("show bgp neighbors json").unwrap();
    v[OURS]["bgpState"].as_str().unwrap_or("").to_string()
}

/// GoBGP with hold time 9 and connect-retry 2 for us, optionally `auth-password`.
fn gobgp_config(password: Option<&str>) -> String {
    let pw = password.map_or(String::new(), |p| format!("  auth-password = \"{p}\"\n"));
    format!(
        "[global.config]\n  as = {BIRD_AS}\n  router-id = \"{BIRD}\"\n\n[[neighbors]]\n\
         [neighbors.config]\n  neighbor-address = \"{OURS}\"\n  peer-as = {OUR_AS}\n{pw}\
         [neighbors.timers.config]\n  hold-time = 9\n  keepalive-interval = 3\n  connect-retry = 2\n\
         [[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n  afi-safi-name = \"ipv4-unicast\"\n"
    )
}

fn gobgp_established(gobgp: &test_support::daemons::Gobgp) -> bool {
    gobgp
        .neighbors()
        .unwrap()
        .iter()
        .any(|n| n.address == OURS.parse::<std::net::IpAddr>().unwrap() && n.is_established())
}

#[test]
fn lab_frr_tcp_md5_mismatch_never_opens_and_match_does() {
    // RFC 2385 §2-§4 with FRR's `neighbor X password`.
    let Some(_lab) = lab("bgp_wire_lab_frr_md5", &[Need::Root, Need::Frr]) else {
        return;
    };
    let (a, b) = pair();
    let frr =
        test_support::daemons::Frr::start_raw(&b, &["zebra", "bgpd"], &frr_config(Some("right")))
            .unwrap();
    md5_mismatch_then_match(&a, &b, || frr_state(&frr) == "Established");
}

#[test]
fn lab_gobgp_tcp_md5_mismatch_never_opens_and_match_does() {
    // RFC 2385 §2-§4 with GoBGP's `auth-password`.
    let Some(_lab) = lab("bgp_wire_lab_gobgp_md5", &[Need::Root, Need::Gobgp]) else {
        return;
    };
    let (a, b) = pair();
    let gobgp = test_support::daemons::Gobgp::start_raw(&b, &gobgp_config(Some("right"))).unwrap();
    md5_mismatch_then_match(&a, &b, || gobgp_established(&gobgp));
}

/// Receives the far end's table up to its IPv4 End-of-RIB.
async fn receive_table(ev: &mut Receiver<Action>) -> BTreeSet<RouteKey> {
    let mut got = BTreeSet::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match ev.recv().await.unwrap() {
                Action::Update { update, .. } => got.extend(key_of(&update)),
                Action::EndOfRib(Family::IPV4_UNICAST) => return,
                _ => {}
            }
        }
    })
    .await
    .expect("table and EoR");
    got
}

async fn send_table(h: &PeerHandle) -> BTreeSet<RouteKey> {
    let table = our_table();
    for c in table.chunks(1000) {
        h.send_updates(c.to_vec()).await.unwrap();
    }
    h.initial_table_sent().await.unwrap();
    table.iter().flat_map(key_of).collect()
}

async fn poll_until<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..secs / 2 {
        if let Some(v) = f() {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    None
}

#[test]
fn lab_frr_established_gr_llgr_and_tables() {
    let Some(_lab) = lab("bgp_wire_lab_frr", &[Need::Root, Need::Frr]) else {
        return;
    };
    let (a, b) = pair();
    let mut nets = String::new();
    for i in 0..N {
        nets += &format!("  network 172.{}.{}.0/24\n", 16 + i / 256, i % 256);
    }
    let conf = format!(
        "frr defaults datacenter\nhostname frrpeer\n!\nrouter bgp {BIRD_AS}\n bgp router-id {BIRD}\n\
         no bgp ebgp-requires-policy\n no bgp network import-check\n bgp graceful-restart\n\
         bgp long-lived-graceful-restart stale-time 3600\n\
         neighbor {OURS} remote-as {OUR_AS}\n neighbor {OURS} timers 3 9\n\
         neighbor {OURS} timers connect 2\n !\n address-family ipv4 unicast\n{nets}\
         neighbor {OURS} activate\n neighbor {OURS} route-map SETC out\n exit-address-family\n !\n\
         address-family ipv6 unicast\n  neighbor {OURS} activate\n exit-address-family\n!\n\
         route-map SETC permit 10\n set community 65000:1\n set large-community 65000:1:2\n\
         set extcommunity rt 65000:3\n!\n"
    );
    let frr = test_support::daemons::Frr::start_raw(&b, &["zebra", "bgpd"], &conf).unwrap();
    a.enter(|| {
        rt().block_on(async {
            let (h, mut ev) = spawn_ours(our_config());
            h.start(StartKind::Manual).await.unwrap();
            let seen = wait(&mut ev, 60, |a| matches!(a, Action::SessionUp(_))).await;
            let Some(Action::SessionUp(n)) = seen.last() else {
                unreachable!()
            };
            assert!(n.four_octet_as);
            assert_eq!(n.families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
            assert!(n.peer_graceful_restart.is_some());
            assert!(n.peer_llgr_capable);
            // FRR's own view.
            let v = frr.vtysh_json("show bgp neighbors json").unwrap();
            let nb = &v[OURS];
            assert_eq!(nb["bgpState"], "Established", "{nb}");
            let caps = &nb["neighborCapabilities"];
            assert_eq!(caps["4byteAs"], "advertisedAndReceived", "{caps}");
            assert!(caps.to_string().contains("gracefulRestart"), "{caps}");
            assert!(
                caps.to_string().to_lowercase().contains("longlived"),
                "{caps}"
            );
            let text = nb.to_string();
            assert!(text.contains("ipv6Unicast"), "{text}");

            // FRR → us: its table with the route-map's three kinds of community.
            let (got, extra) = receive_table_with_extra(&mut ev).await;
            assert_eq!(got, expected_from_bird());
            // RFC 8092 §3 large and RFC 4360 §3.1 extended (two-octet AS Route Target,
            // type 0x00 sub-type 0x02) communities, as `set large-community 65000:1:2`
            // and `set extcommunity rt 65000:3` write them, on every route.
            let want_extra = (
                vec![LargeCommunity {
                    global: 65000,
                    local1: 1,
                    local2: 2,
                }],
                vec![ExtendedCommunity([0x00, 0x02, 0xfd, 0xe8, 0, 0, 0, 3])],
            );
            assert_eq!(extra, BTreeSet::from([want_extra]));
            let sent = send_table(&h).await;
            let recv = poll_until(120, || {
                let r: BTreeSet<RouteKey> = frr
                    .bgp_routes()
                    .ok()?
                    .into_iter()
                    .filter(|p| p.peer == Some(OURS.parse().unwrap()))
                    .map(|p| {
                        let nh = p
                            .next_hops
                            .first()
                            .map(|n| n.to_string())
                            .unwrap_or_default();
                        (p.prefix.to_string(), nh, p.as_path, Vec::new())
                    })
                    .collect();
                (r.len() >= N as usize).then_some(r)
            })
            .await
            .expect("FRR received our table");
            // `show ip bgp json` omits communities: compare the rest as sets here, and
            // communities per prefix below.
            let strip = |s: &BTreeSet<RouteKey>| -> BTreeSet<(String, String, Vec<u32>)> {
                s.iter()
                    .map(|(p, n, a, _)| (p.clone(), n.clone(), a.clone()))
                    .collect()
            };
            assert!(
                strip(&recv) == strip(&sent),
                "FRR's table differs from what we sent"
            );
            // Standard communities of a spread of table routes, in FRR's per-prefix view.
            for i in (0..N).step_by(997) {
                let u = &our_table()[i as usize];
                let prefix = u.nlri[0].prefix.to_string();
                let v = frr
                    .vtysh_json(&format!("show bgp ipv4 unicast {prefix} json"))
                    .unwrap();
                let path = &v["paths"][0];
                assert_eq!(path["community"]["string"], "65001:7", "{prefix}: {v}");
            }
            // us → FRR: one route with all three kinds (RFC 1997, RFC 4360, RFC 8092).
            let special = Update::new()
                .with(AttrValue::Origin(Origin::IGP))
                .with(AttrValue::AsPath(AsPath::sequence([OUR_AS])))
                .with(AttrValue::NextHop(OURS.parse().unwrap()))
                .with(AttrValue::Communities(
                    vec![Community::new(65001, 7), Community::new(65001, 8)].into(),
                ))
                .with(AttrValue::LargeCommunities(
                    vec![LargeCommunity {
                        global: OUR_AS,
                        local1: 1,
                        local2: 2,
                    }]
                    .into(),
                ))
                .with(AttrValue::ExtendedCommunities(vec![ExtendedCommunity([
                    0x00, 0x02, 0xfd, 0xe9, 0, 0, 0, 100,
                ])]))
                .with_nlri([Nlri::new(
                    ipnet::Ipv4Net::new(Ipv4Addr::new(198, 51, 100, 0), 24).unwrap(),
                )]);
            h.send_updates(vec![special]).await.unwrap();
            let v = poll_until(30, || {
                let v = frr
                    .vtysh_json("show bgp ipv4 unicast 198.51.100.0/24 json")
                    .ok()?;
                v["paths"][0].is_object().then_some(v)
            })
            .await
            .expect("FRR has 198.51.100.0/24");
            let path = &v["paths"][0];
            assert_eq!(path["community"]["string"], "65001:7 65001:8", "{v}");
            assert_eq!(path["largeCommunity"]["string"], "4200000001:1:2", "{v}");
            assert_eq!(path["extendedCommunity"]["string"], "RT:65001:100", "{v}");

            let frr_routes = || -> Option<BTreeMap<String, bool>> {
                Some(
                    frr.bgp_routes()
                        .ok()?
                        .into_iter()
                        .filter(|p| p.peer == Some(OURS.parse().unwrap()))
                        .map(|p| (p.prefix.to_string(), p.stale))
                        .collect(),
                )
            };
            let mut kept: BTreeSet<String> = sent.iter().map(|k| k.0.clone()).collect();
            kept.insert("198.51.100.0/24".into());
            withdraw_stop_restart_admin(&h, &mut ev, kept, frr_routes).await;
            // FRR's view of the administrative shutdown (RFC 9003 message included).
            let v = frr.vtysh_json("show bgp neighbors json").unwrap();
            let text = v[OURS].to_string();
            assert!(
                text.contains("Administrative Shutdown") && text.contains("lab maintenance"),
                "{text}"
            );
        })
    });
}

/// Withdrawals, a graceful local stop, a restart and an administrative stop, checked in
/// the daemon's table (`routes`: our prefixes there, with their stale mark):
/// 1. 100 withdrawn prefixes disappear, the rest (`kept`) stays (RFC 4271 §4.3);
/// 2. a graceful stop (no NOTIFICATION) leaves every route there, stale (RFC 4724 §4.2);
/// 3. back up with R=1, our table re-sent and End-of-RIB: none stale, others swept;
/// 4. an administrative shutdown (Cease 6/2, "lab maintenance") deletes them all.
async fn withdraw_stop_restart_admin(
    h: &PeerHandle,
    ev: &mut Receiver<Action>,
    mut kept: BTreeSet<String>,
    routes: impl Fn() -> Option<BTreeMap<String, bool>>,
) {
    let table = our_table();
    let gone: Vec<Nlri> = table[..100].iter().flat_map(|u| u.nlri.clone()).collect();
    for n in &gone {
        kept.remove(&n.prefix.to_string());
    }
    h.send_updates(vec![Update::new().with_withdrawn(gone)])
        .await
        .unwrap();
    let keys = |r: &BTreeMap<String, bool>| r.keys().cloned().collect::<BTreeSet<_>>();
    let r = poll_until(60, || routes().filter(|r| r.len() == kept.len()))
        .await
        .unwrap_or_else(|| {
            let r = routes().unwrap_or_default();
            let extra: Vec<_> = r.keys().filter(|k| !kept.contains(*k)).take(5).collect();
            panic!(
                "withdrawals: {} routes, want {}; extra {extra:?}",
                r.len(),
                kept.len()
            )
        });
    assert_eq!(keys(&r), kept);

    h.stop(StopKind::Graceful).await.unwrap();
    wait(ev, 10, |a| matches!(a, Action::SessionDown(_))).await;
    let r = poll_until(60, || routes().filter(|r| r.values().all(|s| *s)))
        .await
        .expect("routes kept as stale");
    assert_eq!(keys(&r), kept);

    h.start(StartKind::Manual).await.unwrap();
    wait(ev, 60, |a| matches!(a, Action::SessionUp(_))).await;
    let again: Vec<Update> = table[100..].to_vec();
    for c in again.chunks(1000) {
        h.send_updates(c.to_vec()).await.unwrap();
    }
    h.initial_table_sent().await.unwrap();
    // Routes not sent again (any beyond our table) are swept at our End-of-RIB.
    let fresh: BTreeSet<String> = again
        .iter()
        .flat_map(|u| u.nlri.iter().map(|n| n.prefix.to_string()))
        .collect();
    let r = poll_until(60, || {
        routes().filter(|r| r.len() == fresh.len() && r.values().all(|s| !*s))
    })
    .await
    .expect("fresh again after End-of-RIB");
    assert_eq!(keys(&r), fresh);

    h.stop(StopKind::Administrative {
        message: "lab maintenance".into(),
    })
    .await
    .unwrap();
    wait(ev, 10, |a| matches!(a, Action::SessionDown(_))).await;
    poll_until(60, || routes().filter(BTreeMap::is_empty))
        .await
        .expect("routes deleted after the administrative shutdown");
}

/// [`receive_table`], also collecting the distinct (large, extended) community lists.
async fn receive_table_with_extra(
    ev: &mut Receiver<Action>,
) -> (
    BTreeSet<RouteKey>,
    BTreeSet<(Vec<LargeCommunity>, Vec<ExtendedCommunity>)>,
) {
    let mut got = BTreeSet::new();
    let mut extra = BTreeSet::new();
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match ev.recv().await.unwrap() {
                Action::Update { update, .. } => {
                    got.extend(key_of(&update));
                    if update.announced().next().is_some() {
                        let large = update.large_communities().to_vec();
                        let ext = update
                            .attributes
                            .iter()
                            .find_map(|a| match &a.value {
                                AttrValue::ExtendedCommunities(v) => Some(v.clone()),
                                _ => None,
                            })
                            .unwrap_or_default();
                        extra.insert((large, ext));
                    }
                }
                Action::EndOfRib(Family::IPV4_UNICAST) => return,
                _ => {}
            }
        }
    })
    .await
    .expect("table and EoR");
    (got, extra)
}

#[test]
fn lab_gobgp_established_gr_llgr_and_tables_both_ways() {
    let Some(_lab) = lab("bgp_wire_lab_gobgp", &[Need::Root, Need::Gobgp]) else {
        return;
    };
    let (a, b) = pair();
    a.sh(&format!("ip addr add {FEEDER}/24 dev eth0")).unwrap();
    let conf = format!(
        "[[neighbors]]\n[neighbors.config]\n  neighbor-address = \"{FEEDER}\"\n  peer-as = {FEEDER_AS}\n\
         [neighbors.timers.config]\n  connect-retry = 2\n\n\
         [global.config]\n  as = {BIRD_AS}\n  router-id = \"{BIRD}\"\n\n[[neighbors]]\n\
         [neighbors.config]\n  neighbor-address = \"{OURS}\"\n  peer-as = {OUR_AS}\n\
         [neighbors.timers.config]\n  hold-time = 9\n  keepalive-interval = 3\n  connect-retry = 2\n\
         [neighbors.graceful-restart.config]\n  enabled = true\n  restart-time = 120\n\
         long-lived-enabled = true\n\
         [[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n  afi-safi-name = \"ipv4-unicast\"\n\
         [neighbors.afi-safis.mp-graceful-restart.config]\n    enabled = true\n\
         [neighbors.afi-safis.long-lived-graceful-restart.config]\n    enabled = true\n    restart-time = 3600\n\
         [[neighbors.afi-safis]]\n  [neighbors.afi-safis.config]\n  afi-safi-name = \"ipv6-unicast\"\n\
         [neighbors.afi-safis.mp-graceful-restart.config]\n    enabled = true\n"
    );
    let gobgp = test_support::daemons::Gobgp::start_raw(&b, &conf).unwrap();
    for i in 0..100u32 {
        gobgp
            .cli(&[
                "global",
                "rib",
                "add",
                "-a",
                "ipv4",
                &format!("172.16.{i}.0/24"),
                "community",
                "65000:1",
            ])
            .unwrap();
    }
    a.enter(|| {
        rt().block_on(async {
            let (h, mut ev) = spawn_ours(our_config());
            h.start(StartKind::Manual).await.unwrap();
            let seen = wait(&mut ev, 60, |a| matches!(a, Action::SessionUp(_))).await;
            let Some(Action::SessionUp(n)) = seen.last() else {
                unreachable!()
            };
            assert!(n.four_octet_as);
            assert_eq!(n.families, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
            assert!(n.peer_graceful_restart.is_some());
            assert_eq!(
                n.peer_llgr
                    .iter()
                    .find(|l| l.family == Family::IPV4_UNICAST)
                    .map(|l| l.stale_time),
                Some(3600)
            );
            let nb = gobgp.neighbors().unwrap();
            assert!(nb[0].is_established(), "{nb:?}");
            let raw = gobgp.cli(&["-j", "neighbor", OURS]).unwrap();
            assert!(raw.contains("graceful"), "{raw}");
            // GoBGP's 100 routes (added through its CLI) then EoR.
            let got = receive_table(&mut ev).await;
            let want: BTreeSet<RouteKey> = (0..100u32)
                .map(|i| {
                    (
                        format!("172.16.{i}.0/24"),
                        BIRD.to_string(),
                        vec![BIRD_AS],
                        vec![(65000, 1)],
                    )
                })
                .collect();
            assert_eq!(got, want);
            let sent = send_table(&h).await;
            let recv = poll_until(120, || {
                let r: BTreeSet<RouteKey> = gobgp
                    .rib()
                    .ok()?
                    .into_iter()
                    .filter(|p| p.neighbor == Some(OURS.parse().unwrap()))
                    .map(|p| {
                        let comms = p
                            .communities
                            .iter()
                            .map(|c| ((c >> 16) as u16, *c as u16))
                            .collect();
                        let nh = p.next_hop.map(|n| n.to_string()).unwrap_or_default();
                        (p.prefix.to_string(), nh, p.as_path, comms)
                    })
                    .collect();
                (r.len() >= N as usize).then_some(r)
            })
            .await
            .expect("GoBGP received our table");
            assert_eq!(recv, sent);

            // GoBGP → us, 10,000 routes: a second speaker of ours (AS FEEDER_AS, source
            // 10.99.0.3) feeds GoBGP, which passes the routes on to us with itself as
            // next hop and its AS prepended; compared as sets.
            let mut fc =
                SessionConfig::new(FEEDER_AS, FEEDER.parse().unwrap()).with_peer_as(BIRD_AS);
            fc.connect_retry_time = Duration::from_secs(2);
            let mut pc = PeerConfig::new(fc, SocketAddr::new(BIRD.parse().unwrap(), 179));
            pc.socket.local = Some(FEEDER.parse().unwrap());
            let (fh, mut fev, _ft) = transport::spawn(pc, None);
            fh.start(StartKind::Manual).await.unwrap();
            wait(&mut fev, 60, |a| matches!(a, Action::SessionUp(_))).await;
            tokio::spawn(async move { while fev.recv().await.is_some() {} });
            let feed: Vec<Update> = (0..N)
                .map(|i| {
                    let net =
                        ipnet::Ipv4Net::new(Ipv4Addr::from(0x6440_0000 + (i << 8)), 24).unwrap();
                    Update::new()
                        .with(AttrValue::Origin(Origin::IGP))
                        .with(AttrValue::AsPath(AsPath::sequence([FEEDER_AS])))
                        .with(AttrValue::NextHop(FEEDER.parse().unwrap()))
                        .with(AttrValue::Communities(
                            vec![Community::new(65001, 9)].into(),
                        ))
                        .with_nlri([Nlri::new(net)])
                })
                .collect();
            let want: BTreeSet<RouteKey> = feed
                .iter()
                .flat_map(key_of)
                .map(|(p, _, _, c)| (p, BIRD.to_string(), vec![BIRD_AS, FEEDER_AS], c))
                .collect();
            for c in feed.chunks(1000) {
                fh.send_updates(c.to_vec()).await.unwrap();
            }
            let mut got = BTreeSet::new();
            tokio::time::timeout(Duration::from_secs(120), async {
                while got.len() < N as usize {
                    if let Action::Update { update, .. } = ev.recv().await.unwrap() {
                        got.extend(key_of(&update));
                    }
                }
            })
            .await
            .unwrap_or_else(|_| panic!("{} of {N} routes from GoBGP", got.len()));
            assert_eq!(got, want);
            drop(fh);

            let gobgp_routes = || -> Option<BTreeMap<String, bool>> {
                Some(
                    gobgp
                        .rib()
                        .ok()?
                        .into_iter()
                        .filter(|p| p.neighbor == Some(OURS.parse().unwrap()))
                        .map(|p| (p.prefix.to_string(), p.stale))
                        .collect(),
                )
            };
            let kept: BTreeSet<String> = sent.iter().map(|k| k.0.clone()).collect();
            withdraw_stop_restart_admin(&h, &mut ev, kept, gobgp_routes).await;
            // GoBGP's view: not Established, our Cease counted as a NOTIFICATION received.
            let nb = gobgp.neighbors().unwrap();
            let us = nb
                .iter()
                .find(|n| n.address == OURS.parse::<std::net::IpAddr>().unwrap())
                .unwrap();
            assert!(!us.is_established(), "{us:?}");
            let raw = gobgp.cli(&["-j", "neighbor", OURS]).unwrap();
            assert!(raw.contains(r#""received":{"notification":1"#), "{raw}");
        })
    });
}

/// IPv6 next hop of an UPDATE's MP_REACH_NLRI: (global, link-local).
fn v6_next_hop(u: &Update) -> Option<(Ipv6Addr, Option<Ipv6Addr>)> {
    match u.mp_reach()?.next_hop {
        MpNextHop::Ipv6 { global, link_local } => Some((global, link_local)),
        MpNextHop::Ipv4(_) => None,
    }
}

/// An IPv6 unicast UPDATE of one prefix (RFC 4760 §3, RFC 2545 §3 next hop).
fn v6_route(prefix: &str, global: Ipv6Addr, link_local: Option<Ipv6Addr>) -> Update {
    Update::new()
        .with(AttrValue::Origin(Origin::IGP))
        .with(AttrValue::AsPath(AsPath::sequence([OUR_AS])))
        .with(AttrValue::Communities(
            vec![Community::new(65001, 7)].into(),
        ))
        .with(AttrValue::MpReachNlri(MpReach {
            family: Family::IPV6_UNICAST,
            next_hop: MpNextHop::Ipv6 { global, link_local },
            nlri: vec![Nlri::new(prefix.parse::<ipnet::Ipv6Net>().unwrap())],
        }))
}

/// `p` in canonical form (`2001:db8:0::/48` is `2001:db8::/48`).
fn v6net(p: &str) -> String {
    p.parse::<ipnet::Ipv6Net>().unwrap().to_string()
}

/// The link-local address of `dev` in `ns`.
fn link_local(ns: &Netns, dev: &str) -> Ipv6Addr {
    let out = ns
        .sh(&format!("ip -6 -o addr show dev {dev} scope link"))
        .unwrap();
    out.split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .and_then(|a| a.split('/').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no link-local on {dev}: {out}"))
}

/// (prefix, next hop global, AS_PATH, communities) of BIRD's routes from `proto` in
/// master6.
fn bird_v6_routes(bird: &Bird, proto: &str) -> BTreeSet<RouteKey> {
    bird.routes(&format!("table master6 protocol {proto}"))
        .unwrap()
        .iter()
        .map(|r| {
            let nh = r.attr("BGP.next_hop").unwrap_or("");
            let global = nh.split_whitespace().next().unwrap_or("").to_string();
            (r.prefix.to_string(), global, r.as_path(), r.communities())
        })
        .collect()
}

const V6_ROUTES: u32 = 200;

#[test]
fn lab_bird_ipv6_peer_routes_both_ways() {
    // A session over IPv6 addresses (RFC 4271 over TCP/IPv6) carrying IPv6 unicast
    // (RFC 4760, RFC 2545) in both directions, compared as sets.
    let Some(_lab) = lab("bgp_wire_lab_bird_ipv6", &[Need::Root, Need::Bird]) else {
        return;
    };
    let (a, b) = pair();
    let mut routes = String::new();
    for i in 0..V6_ROUTES {
        routes += &format!("  route 2001:db8:{i:x}::/48 blackhole;\n");
    }
    let conf = format!(
        "router id {BIRD};\nprotocol device {{}}\nprotocol static s6 {{\n  ipv6;\n{routes}}}\n\
         protocol bgp ours6 {{\n  local fd99::2 as {BIRD_AS};\n  neighbor fd99::1 as {OUR_AS};\n\
         hold time 9;\n  connect retry time 2;\n  error wait time 1, 5;\n\
         ipv6 {{ import all; export filter {{ bgp_community.add((65000,1)); accept; }}; }};\n}}\n"
    );
    let bird = Bird::start_raw(&b, &conf).unwrap();
    let b_ll = link_local(&b, "eth0");
    a.enter(|| {
        rt().block_on(async {
            let mut c = our_config();
            c.families = vec![Family::IPV6_UNICAST];
            let remote: SocketAddr = "[fd99::2]:179".parse().unwrap();
            let (h, mut ev, _t) = transport::spawn(PeerConfig::new(c, remote), None);
            h.start(StartKind::Manual).await.unwrap();
            let seen = wait(&mut ev, 30, |a| matches!(a, Action::SessionUp(_))).await;
            let Some(Action::SessionUp(n)) = seen.last() else {
                unreachable!()
            };
            assert_eq!(n.families, vec![Family::IPV6_UNICAST]);
            assert_eq!(n.peer_as, BIRD_AS);
            // BIRD's view: Established with our IPv6 address.
            let p = bird.protocols().unwrap();
            let ours = p.iter().find(|p| p.name == "ours6").unwrap();
            assert!(ours.is_established(), "{ours:?}");
            let d = ours.bgp.as_ref().unwrap();
            assert_eq!(d.neighbor_address, Some("fd99::1".parse().unwrap()));

            // BIRD → us: every prefix with BIRD's global next hop (plus, on a shared
            // link, its link-local one, RFC 2545 §3), up to the IPv6 End-of-RIB.
            let mut got = BTreeSet::new();
            let mut lls = BTreeSet::new();
            tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    match ev.recv().await.unwrap() {
                        Action::Update { update, .. } => {
                            let (g, ll) = v6_next_hop(&update).expect("MP_REACH next hop");
                            lls.insert(ll);
                            let path: Vec<u32> = update
                                .effective_as_path()
                                .map(|p| p.asns().collect())
                                .unwrap_or_default();
                            let comms: Vec<(u16, u16)> = update
                                .communities()
                                .iter()
                                .map(|c| ((c.0 >> 16) as u16, c.0 as u16))
                                .collect();
                            for (f, nlri) in update.announced() {
                                assert_eq!(f, Family::IPV6_UNICAST);
                                got.insert((
                                    nlri.prefix.to_string(),
                                    g.to_string(),
                                    path.clone(),
                                    comms.clone(),
                                ));
                            }
                        }
                        Action::EndOfRib(Family::IPV6_UNICAST) => return,
                        _ => {}
                    }
                }
            })
            .await
            .expect("BIRD's IPv6 table and EoR");
            let want: BTreeSet<RouteKey> = (0..V6_ROUTES)
                .map(|i| {
                    (
                        v6net(&format!("2001:db8:{i:x}::/48")),
                        "fd99::2".to_string(),
                        vec![BIRD_AS],
                        vec![(65000, 1)],
                    )
                })
                .collect();
            assert_eq!(got, want);
            assert!(
                lls.iter().all(|ll| ll.is_none() || *ll == Some(b_ll)),
                "{lls:?} vs {b_ll}"
            );

            // us → BIRD: IPv6 routes with our global next hop.
            let ours_nh: Ipv6Addr = "fd99::1".parse().unwrap();
            let table: Vec<Update> = (0..V6_ROUTES)
                .map(|i| v6_route(&format!("2001:db8:ff:{i:x}::/64"), ours_nh, None))
                .collect();
            h.send_updates(table).await.unwrap();
            h.initial_table_sent().await.unwrap();
            let want: BTreeSet<RouteKey> = (0..V6_ROUTES)
                .map(|i| {
                    (
                        v6net(&format!("2001:db8:ff:{i:x}::/64")),
                        "fd99::1".to_string(),
                        vec![OUR_AS],
                        vec![(65001, 7)],
                    )
                })
                .collect();
            let recv = poll_until(30, || {
                let r = bird_v6_routes(&bird, "ours6");
                (r.len() >= V6_ROUTES as usize).then_some(r)
            })
            .await
            .expect("BIRD received our IPv6 table");
            assert_eq!(recv, want);

            // IPv6 withdrawals (MP_UNREACH_NLRI, RFC 4760 §4).
            let w: Vec<Nlri> = (0..10u32)
                .map(|i| {
                    Nlri::new(
                        format!("2001:db8:ff:{i:x}::/64")
                            .parse::<ipnet::Ipv6Net>()
                            .unwrap(),
                    )
                })
                .collect();
            h.send_updates(vec![Update::new().with(AttrValue::MpUnreachNlri(
                MpUnreach {
                    family: Family::IPV6_UNICAST,
                    withdrawn: w,
                },
            ))])
            .await
            .unwrap();
            let left = poll_until(20, || {
                let r = bird_v6_routes(&bird, "ours6");
                (r.len() == V6_ROUTES as usize - 10).then_some(r)
            })
            .await
            .expect("BIRD withdrew 10 routes");
            let gone: BTreeSet<String> = (0..10u32)
                .map(|i| v6net(&format!("2001:db8:ff:{i:x}::/64")))
                .collect();
            assert!(left.iter().all(|(p, ..)| !gone.contains(p)), "{left:?}");
        })
    });
}

#[test]
fn lab_bird_link_local_peer_bound_to_interface() {
    // How dualtor peers with a directly connected ToR under `sourceAddress: None`: the
    // peer's IPv6 link-local address with the interface's scope id, the socket bound to
    // that interface (SO_BINDTODEVICE), the source left to the kernel. Two parallel links
    // carry the same link-local addresses, so only the binding picks the right one; BIRD
    // peers on eth1 only (`interface "eth1"`), and a session bound to eth0 never opens.
    let Some(_lab) = lab("bgp_wire_lab_bird_link_local", &[Need::Root, Need::Bird]) else {
        return;
    };
    let a = Netns::new("bgpw").unwrap();
    let b = Netns::new("bgpw").unwrap();
    test_support::veth(&a, "eth0", &b, "eth0").unwrap();
    test_support::veth(&a, "eth1", &b, "eth1").unwrap();
    for (ns, me) in [(&a, "fe80::a"), (&b, "fe80::b")] {
        ns.sh(&format!(
            "ip -6 addr add {me}/64 dev eth0 nodad; ip -6 addr add {me}/64 dev eth1 nodad"
        ))
        .unwrap();
    }
    let conf = format!(
        "router id {BIRD};\nprotocol device {{}}\n\
         protocol static s6 {{\n  ipv6;\n  route 2001:db8:77::/48 blackhole;\n}}\n\
         protocol bgp tor {{\n  interface \"eth1\";\n  local fe80::b as {BIRD_AS};\n\
         neighbor fe80::a as {OUR_AS};\n  direct;\n  hold time 9;\n  connect retry time 2;\n\
         error wait time 1, 5;\n  ipv6 {{ import all; export all; }};\n}}\n"
    );
    let bird = Bird::start_raw(&b, &conf).unwrap();
    let a_eth0 = a.ifindex("eth0").unwrap();
    let a_eth1 = a.ifindex("eth1").unwrap();
    let peer = |dev: &str, scope: u32| {
        let remote = SocketAddr::V6(SocketAddrV6::new("fe80::b".parse().unwrap(), 179, 0, scope));
        let mut c = our_config();
        c.families = vec![Family::IPV6_UNICAST];
        let mut pc = PeerConfig::new(c, remote);
        pc.socket.interface = Some(dev.to_string());
        pc.socket.local = None;
        pc
    };
    // Bound to the wrong link: BIRD refuses the connection (it arrives on eth0).
    a.enter(|| {
        rt().block_on(async {
            let (h, mut ev, _t) = transport::spawn(peer("eth0", a_eth0), None);
            h.start(StartKind::Manual).await.unwrap();
            tokio::time::sleep(Duration::from_secs(5)).await;
            while let Ok(a) = ev.try_recv() {
                assert!(!matches!(a, Action::SessionUp(_)), "up on eth0: {a:?}");
            }
            drop(h);
        })
    });
    a.enter(|| {
        rt().block_on(async {
            let (h, mut ev, _t) = transport::spawn(peer("eth1", a_eth1), None);
            h.start(StartKind::Manual).await.unwrap();
            let seen = wait(&mut ev, 30, |a| matches!(a, Action::SessionUp(_))).await;
            let Some(Action::SessionUp(n)) = seen.last() else {
                unreachable!()
            };
            assert_eq!(n.families, vec![Family::IPV6_UNICAST]);
            // BIRD's view: the neighbour on eth1, our link-local source address.
            let all = bird.birdc("show protocols all tor").unwrap();
            assert!(all.contains("Established"), "{all}");
            assert!(
                all.contains("Neighbor address: fe80::a%eth1"),
                "BIRD peers with fe80::a on eth1: {all}"
            );
            // BIRD's route arrives with its link-local next hop.
            let mut got = Vec::new();
            tokio::time::timeout(Duration::from_secs(20), async {
                loop {
                    match ev.recv().await.unwrap() {
                        Action::Update { update, .. } if update.announced().next().is_some() => {
                            let nh = v6_next_hop(&update);
                            for (_, n) in update.announced() {
                                got.push((n.prefix.to_string(), nh));
                            }
                        }
                        Action::EndOfRib(Family::IPV6_UNICAST) => return,
                        _ => {}
                    }
                }
            })
            .await
            .expect("BIRD's route and EoR");
            assert_eq!(got.len(), 1, "{got:?}");
            assert_eq!(got[0].0, "2001:db8:77::/48");
            let (g, ll) = got[0].1.expect("IPv6 next hop");
            let b_ll: Ipv6Addr = "fe80::b".parse().unwrap();
            assert!(g == b_ll || ll == Some(b_ll), "{g} {ll:?}");
            // Ours to BIRD with a link-local next hop only (RFC 2545 §3 allows the
            // link-local address alone when no global one exists).
            let a_ll: Ipv6Addr = "fe80::a".parse().unwrap();
            h.send_updates(vec![v6_route("2001:db8:aa::/48", a_ll, None)])
                .await
                .unwrap();
            let r = poll_until(20, || {
                let r = bird.routes("table master6 protocol tor").ok()?;
                r.iter()
                    .find(|r| r.prefix.to_string() == "2001:db8:aa::/48")
                    .cloned()
            })
            .await
            .expect("BIRD has our route");
            let nh = r.attr("BGP.next_hop").unwrap_or("");
            assert!(nh.contains("fe80::a"), "{r:?}");
        })
    });
}

/// RFC 4271 §6.8: both sides connect and listen. SYNs are held back (`hold`, dropping
/// `tcp dport 179` on our end) until both speakers are retrying, then released together
/// so that two connections open at once; exactly one session must survive, on our side
/// (one SessionUp, no later SessionDown/SessionUp, one TCP connection) and in the
/// daemon's view (`daemon_established`).
///
/// Weak: this checks the outcome, not that a collision happened. A capture on the
/// daemon's side found, with this hold (SYNs both ways), a SYN-ACK from both sides in 1
/// of 9 runs (BIRD; FRR and GoBGP never); and, holding SYN-ACKs both ways or the
/// daemon's SYNs only (3 runs each, one per daemon), never a second connection that
/// carried an OPEN: whoever's connection completes first makes the other side abort its
/// own connect (Connect state, RFC 4271 §8.2.2), so the race rarely reaches OpenSent on
/// both.
fn collision_one_session(
    a: &Netns,
    mut hold: test_support::faults::LossGuard,
    daemon_established: impl Fn() -> bool + Sync,
) {
    a.enter(|| {
        rt().block_on(async {
            let l = transport::Listener::bind("10.99.0.1:179".parse().unwrap()).unwrap();
            let inc = l
                .register(BIRD.parse().unwrap(), &transport::SocketOptions::default())
                .unwrap();
            tokio::spawn(l.run());
            let remote = SocketAddr::new(BIRD.parse().unwrap(), 179);
            let (h, mut ev, _t) =
                transport::spawn(PeerConfig::new(our_config(), remote), Some(inc));
            h.start(StartKind::Manual).await.unwrap();
            // The daemons' first connects come within their connect delays (BIRD 5 s,
            // FRR and GoBGP 2 s); both sides now retry.
            tokio::time::sleep(Duration::from_secs(7)).await;
            hold.clear().unwrap();
            // (Seen in a BIRD run: Connect, OpenSent, OpenConfirm, then the second
            // connection closed by BIRD's resolution, then Established.)
            wait(&mut ev, 60, |a| matches!(a, Action::SessionUp(_))).await;
            let mut later = Vec::new();
            let end = tokio::time::Instant::now() + Duration::from_secs(6);
            while let Ok(Some(a)) = tokio::time::timeout_at(end, ev.recv()).await {
                later.push(a);
            }
            assert!(
                !later
                    .iter()
                    .any(|a| matches!(a, Action::SessionDown(_) | Action::SessionUp(_))),
                "one stable session: {later:?}"
            );
            assert!(daemon_established(), "the daemon's view: Established");
            let conns = a
                .sh("ss -Htn state established '( sport = :179 or dport = :179 )'")
                .unwrap();
            assert_eq!(conns.lines().count(), 1, "one TCP connection left: {conns}");
            drop(h);
        })
    });
}

#[test]
fn lab_bird_collision_both_active_resolves_to_one_session() {
    let Some(_lab) = lab(
        "bgp_wire_lab_bird_collision",
        &[Need::Root, Need::Bird, Need::Nft],
    ) else {
        return;
    };
    let (a, b) = pair();
    let hold = test_support::faults::drop_matching(&a, "eth0", "tcp dport 179").unwrap();
    let bird = Bird::start_raw(&b, &bird_config(None, 9)).unwrap();
    collision_one_session(&a, hold, || {
        bird.protocols()
            .unwrap()
            .iter()
            .any(|p| p.name == "ours" && p.is_established())
    });
}

#[test]
fn lab_frr_collision_both_active_resolves_to_one_session() {
    // RFC 4271 §6.8 with FRR, active by default.
    let Some(_lab) = lab(
        "bgp_wire_lab_frr_collision",
        &[Need::Root, Need::Frr, Need::Nft],
    ) else {
        return;
    };
    let (a, b) = pair();
    let hold = test_support::faults::drop_matching(&a, "eth0", "tcp dport 179").unwrap();
    let frr =
        test_support::daemons::Frr::start_raw(&b, &["zebra", "bgpd"], &frr_config(None)).unwrap();
    collision_one_session(&a, hold, || frr_state(&frr) == "Established");
}

#[test]
fn lab_gobgp_collision_both_active_resolves_to_one_session() {
    // RFC 4271 §6.8 with GoBGP, active by default.
    let Some(_lab) = lab(
        "bgp_wire_lab_gobgp_collision",
        &[Need::Root, Need::Gobgp, Need::Nft],
    ) else {
        return;
    };
    let (a, b) = pair();
    let hold = test_support::faults::drop_matching(&a, "eth0", "tcp dport 179").unwrap();
    let gobgp = test_support::daemons::Gobgp::start_raw(&b, &gobgp_config(None)).unwrap();
    collision_one_session(&a, hold, || gobgp_established(&gobgp));
}

#[test]
fn lab_bird_ipv4_peer_bound_to_interface() {
    // `sourceAddress: None` with an IPv4 peer on a directly connected link: a more
    // specific route sends unbound traffic to the peer's address through eth0, so only
    // SO_BINDTODEVICE on eth1 keeps the session on eth1, where BIRD expects us
    // (`interface "eth1"`); the kernel picks the source address (10.99.9.1).
    let Some(_lab) = lab("bgp_wire_lab_bird_ipv4_bound", &[Need::Root, Need::Bird]) else {
        return;
    };
    let a = Netns::new("bgpw").unwrap();
    let b = Netns::new("bgpw").unwrap();
    test_support::veth(&a, "eth0", &b, "eth0").unwrap();
    test_support::veth(&a, "eth1", &b, "eth1").unwrap();
    a.sh("ip addr add 10.99.8.1/24 dev eth0; ip addr add 10.99.9.1/24 dev eth1")
        .unwrap();
    b.sh("ip addr add 10.99.8.2/24 dev eth0; ip addr add 10.99.9.2/24 dev eth1")
        .unwrap();
    // Unbound sockets would reach the peer through eth0 (a more specific route).
    a.sh("ip route add 10.99.9.2/32 via 10.99.8.2 dev eth0")
        .unwrap();
    let conf = format!(
        "router id {BIRD};\nprotocol device {{}}\n\
         protocol static s4 {{\n  ipv4;\n  route 172.31.9.0/24 blackhole;\n}}\n\
         protocol bgp tor {{\n  interface \"eth1\";\n  local 10.99.9.2 as {BIRD_AS};\n\
         neighbor 10.99.9.1 as {OUR_AS};\n  direct;\n  hold time 9;\n  connect retry time 2;\n\
         error wait time 1, 5;\n  ipv4 {{ import all; export all; }};\n}}\n"
    );
    let bird = Bird::start_raw(&b, &conf).unwrap();
    let b_eth1_rx = || -> u64 {
        b.sh("cat /sys/class/net/eth1/statistics/rx_packets")
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let before = b_eth1_rx();
    a.enter(|| {
        rt().block_on(async {
            let mut c = our_config();
            c.families = vec![Family::IPV4_UNICAST];
            let mut pc = PeerConfig::new(c, "10.99.9.2:179".parse().unwrap());
            pc.socket.interface = Some("eth1".into());
            pc.socket.local = None;
            let (h, mut ev, _t) = transport::spawn(pc, None);
            h.start(StartKind::Manual).await.unwrap();
            wait(&mut ev, 30, |a| matches!(a, Action::SessionUp(_))).await;
            let got = receive_table(&mut ev).await;
            assert_eq!(
                got,
                BTreeSet::from([(
                    "172.31.9.0/24".to_string(),
                    "10.99.9.2".to_string(),
                    vec![BIRD_AS],
                    vec![]
                )])
            );
            let all = bird.birdc("show protocols all tor").unwrap();
            assert!(all.contains("Established"), "{all}");
            assert!(all.contains("Source address:   10.99.9.2"), "{all}");
            drop(h);
        })
    });
    assert!(b_eth1_rx() > before + 3, "the session ran over eth1");
}
