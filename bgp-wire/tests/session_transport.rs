//! The tokio transport over loopback TCP: two in-process speakers, real sockets.
#![cfg(feature = "tokio")]

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bgp_wire::attr::{AsPath, AttrValue, Origin};
use bgp_wire::capability::{Capability, GrFamily, GracefulRestart, LlgrFamily};
use bgp_wire::session::{
    Action, GracefulRestartConfig, LlgrConfig, LlgrFamilyConfig, PeerGracefulRestart, Reason,
    RouteFate, SessionConfig, StartKind, State, StopKind,
};
use bgp_wire::transport::{self, Listener, PeerConfig, SocketOptions};
use bgp_wire::{DecodeCtx, Family, Message, Nlri, Update};
use tokio::sync::mpsc::Receiver;
use tokio::time::timeout;

fn cfg(asn: u32, id: &str, peer: u32) -> SessionConfig {
    let mut c = SessionConfig::new(asn, id.parse().unwrap()).with_peer_as(peer);
    c.connect_retry_time = Duration::from_secs(2);
    c
}

fn table(n: u32, nh: &str) -> Vec<Update> {
    (0..n)
        .map(|i| {
            let net =
                ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap();
            Update::new()
                .with(AttrValue::Origin(Origin::IGP))
                .with(AttrValue::AsPath(AsPath::sequence([65001])))
                .with(AttrValue::NextHop(nh.parse().unwrap()))
                .with_nlri([Nlri::new(net)])
        })
        .collect()
}

async fn wait_for(
    events: &mut Receiver<Action>,
    mut pred: impl FnMut(&Action) -> bool,
    log: &mut Vec<Action>,
) {
    timeout(Duration::from_secs(20), async {
        loop {
            let a = events.recv().await.expect("peer task alive");
            let hit = pred(&a);
            log.push(a);
            if hit {
                return;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out; saw {:?}", &log[log.len().saturating_sub(8)..]));
}

fn up(a: &Action) -> bool {
    matches!(a, Action::SessionUp(_))
}

#[tokio::test(flavor = "current_thread")]
async fn transport_table_exchange_and_admin_shutdown_over_loopback() {
    let lb = Listener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b_addr = lb.local_addr().unwrap();
    let inc = lb
        .register("127.0.0.1".parse().unwrap(), &SocketOptions::default())
        .unwrap();
    tokio::spawn(lb.clone().run());
    let (ha, mut ea, _ta) =
        transport::spawn(PeerConfig::new(cfg(65001, "10.0.0.1", 65002), b_addr), None);
    let mut bc = cfg(65002, "10.0.0.2", 65001);
    bc.passive = true;
    let (hb, mut eb, _tb) = transport::spawn(
        PeerConfig::new(bc, "127.0.0.1:1".parse().unwrap()),
        Some(inc),
    );
    hb.start(StartKind::ManualPassive).await.unwrap();
    ha.start(StartKind::Manual).await.unwrap();
    let (mut la, mut lb_log) = (Vec::new(), Vec::new());
    wait_for(&mut ea, up, &mut la).await;
    wait_for(&mut eb, up, &mut lb_log).await;
    // 10,000 routes then End-of-RIB; compare sets, not counts.
    let t = table(10_000, "127.0.0.1");
    for chunk in t.chunks(500) {
        ha.send_updates(chunk.to_vec()).await.unwrap();
    }
    ha.initial_table_sent().await.unwrap();
    let mut got = Vec::new();
    let mut eors = Vec::new();
    timeout(Duration::from_secs(30), async {
        while eors.len() < 2 {
            match eb.recv().await.unwrap() {
                Action::Update { update, .. } => got.push(update),
                Action::EndOfRib(f) => eors.push(f),
                _ => {}
            }
        }
    })
    .await
    .expect("table and EoR");
    assert_eq!(eors, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
    let sent: BTreeSet<String> = t.iter().map(|u| format!("{u:?}")).collect();
    let recv: BTreeSet<String> = got.iter().map(|u| format!("{u:?}")).collect();
    assert_eq!(recv.len(), 10_000);
    assert_eq!(sent, recv);
    // Administrative shutdown with an RFC 9003 message reaches B.
    ha.stop(StopKind::Administrative {
        message: "maintenance".into(),
    })
    .await
    .unwrap();
    let mut log = Vec::new();
    wait_for(&mut eb, |a| matches!(a, Action::SessionDown(_)), &mut log).await;
    let Some(Action::SessionDown(d)) = log.last() else {
        unreachable!()
    };
    assert_eq!(d.fate, RouteFate::Delete);
    let Reason::Notification { notification, .. } = &d.reason else {
        panic!("{d:?}")
    };
    assert_eq!(notification.shutdown_communication(), Some("maintenance"));
}

#[tokio::test(flavor = "current_thread")]
async fn transport_collision_resolves_to_one_session() {
    // RFC 4271 §6.8: both sides active and listening; exactly one connection survives.
    let a_ip: IpAddr = "127.0.0.1".parse().unwrap();
    let b_ip: IpAddr = "127.0.0.2".parse().unwrap();
    let la = Listener::bind(SocketAddr::new(a_ip, 0)).unwrap();
    let lb = Listener::bind(SocketAddr::new(b_ip, 0)).unwrap();
    let mut oa = SocketOptions::default();
    oa.local = Some(a_ip);
    let mut ob = SocketOptions::default();
    ob.local = Some(b_ip);
    let ia = la.register(b_ip, &oa).unwrap();
    let ib = lb.register(a_ip, &ob).unwrap();
    let (pa, pb) = (la.local_addr().unwrap(), lb.local_addr().unwrap());
    tokio::spawn(la.run());
    tokio::spawn(lb.run());
    let mut ca = PeerConfig::new(cfg(65001, "10.0.0.1", 65002), pb);
    ca.socket = oa;
    let mut cb = PeerConfig::new(cfg(65002, "10.0.0.2", 65001), pa);
    cb.socket = ob;
    let (ha, mut ea, _ta) = transport::spawn(ca, Some(ia));
    let (hb, mut eb, _tb) = transport::spawn(cb, Some(ib));
    ha.start(StartKind::Manual).await.unwrap();
    hb.start(StartKind::Manual).await.unwrap();
    let (mut la_log, mut lb_log) = (Vec::new(), Vec::new());
    wait_for(&mut ea, up, &mut la_log).await;
    wait_for(&mut eb, up, &mut lb_log).await;
    // Let any loser finish, then check: one session each, stable for a while.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut rest_a = Vec::new();
    while let Ok(a) = ea.try_recv() {
        rest_a.push(a);
    }
    let downs = rest_a
        .iter()
        .chain(la_log.iter())
        .filter(|a| matches!(a, Action::SessionDown(_)))
        .count();
    assert_eq!(downs, 0, "{rest_a:?}");
    let ups = la_log.iter().chain(rest_a.iter()).filter(|a| up(a)).count();
    assert_eq!(ups, 1);
    let last_state = la_log
        .iter()
        .chain(rest_a.iter())
        .filter_map(|a| match a {
            Action::StateChange { to, .. } => Some(*to),
            _ => None,
        })
        .last();
    assert_eq!(last_state, Some(State::Established));
    drop(hb);
}

async fn gtsm_pair(a_hops: Option<u8>, b_hops: Option<u8>) -> bool {
    let a_ip: IpAddr = "127.0.0.3".parse().unwrap();
    let b_ip: IpAddr = "127.0.0.4".parse().unwrap();
    let lb = Listener::bind(SocketAddr::new(b_ip, 0)).unwrap();
    let mut ob = SocketOptions::default();
    ob.ttl_security = b_hops;
    let ib = lb.register(a_ip, &ob).unwrap();
    let pb = lb.local_addr().unwrap();
    tokio::spawn(lb.run());
    let mut oa = SocketOptions::default();
    oa.local = Some(a_ip);
    oa.ttl_security = a_hops;
    let mut ca = PeerConfig::new(cfg(65001, "10.0.0.1", 65002), pb);
    ca.socket = oa;
    let mut bcfg = cfg(65002, "10.0.0.2", 65001);
    bcfg.passive = true;
    let mut cb = PeerConfig::new(bcfg, SocketAddr::new(a_ip, 1));
    cb.socket = ob;
    let (ha, _ea, _ta) = transport::spawn(ca, None);
    let (hb, mut eb, _tb) = transport::spawn(cb, Some(ib));
    hb.start(StartKind::ManualPassive).await.unwrap();
    ha.start(StartKind::Manual).await.unwrap();
    let r = timeout(Duration::from_secs(4), async {
        while let Some(a) = eb.recv().await {
            if up(&a) {
                return true;
            }
        }
        false
    })
    .await;
    r.unwrap_or(false)
}

#[tokio::test(flavor = "current_thread")]
async fn transport_gtsm_accepts_ttl_255_and_drops_ttl_64() {
    // RFC 5082 §3: both sides send TTL 255 and require it → up. The listener requires
    // 255 but the connecting side sends the default TTL (64) → its OPEN never arrives.
    assert!(gtsm_pair(Some(1), Some(1)).await);
    assert!(!gtsm_pair(None, Some(1)).await);
}

/// A configuration with GR (F only for IPv4 unicast) and LLGR (F only for IPv4 unicast).
fn gr_cfg(asn: u32, id: &str, peer: u32) -> SessionConfig {
    let mut c = cfg(asn, id, peer);
    c.graceful_restart = Some(GracefulRestartConfig {
        restart_time: 120,
        forwarding: vec![Family::IPV4_UNICAST],
        notification: false,
    });
    c.llgr = LlgrConfig::Enabled(vec![
        LlgrFamilyConfig {
            family: Family::IPV4_UNICAST,
            stale_time: 3600,
            forwarding: true,
        },
        LlgrFamilyConfig {
            family: Family::IPV6_UNICAST,
            stale_time: 600,
            forwarding: false,
        },
    ]);
    c
}

/// Reads one whole BGP message from a raw socket.
async fn read_message(s: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut buf = vec![0u8; 19];
    s.read_exact(&mut buf).await.unwrap();
    let len = usize::from(u16::from_be_bytes([buf[16], buf[17]]));
    buf.resize(len, 0);
    s.read_exact(&mut buf[19..]).await.unwrap();
    buf
}

#[tokio::test(flavor = "current_thread")]
async fn transport_restarting_open_carries_r_and_f_bits() {
    // RFC 4724 §3/§4.1: a speaker that restarted with forwarding preserved sets R=1 and
    // F=1 for each family whose forwarding state it kept; RFC 9494 §3: the LLGR F bit
    // per family likewise. Read straight off the wire by a raw listener.
    let raw = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let pc = PeerConfig::new(gr_cfg(65001, "10.0.0.1", 65002), raw.local_addr().unwrap())
        .with_restarting(true);
    let (ha, _ea, _ta) = transport::spawn(pc, None);
    ha.start(StartKind::Manual).await.unwrap();
    let (mut s, _) = timeout(Duration::from_secs(10), raw.accept())
        .await
        .unwrap()
        .unwrap();
    let bytes = timeout(Duration::from_secs(10), read_message(&mut s))
        .await
        .unwrap();
    let d = Message::decode(&bytes, &DecodeCtx::default());
    let Some(Message::Open(open)) = d.message else {
        panic!("{d:?}")
    };
    let gr = open
        .capabilities()
        .find_map(|c| match c {
            Capability::GracefulRestart(g) => Some(g.clone()),
            _ => None,
        })
        .expect("GR capability");
    assert_eq!(
        gr,
        GracefulRestart {
            restart_flags: 0x8, // R
            restart_time: 120,
            families: vec![
                GrFamily {
                    family: Family::IPV4_UNICAST,
                    flags: 0x80 // F
                },
                GrFamily {
                    family: Family::IPV6_UNICAST,
                    flags: 0
                },
            ],
        }
    );
    let llgr = open
        .capabilities()
        .find_map(|c| match c {
            Capability::LongLivedGracefulRestart(v) => Some(v.clone()),
            _ => None,
        })
        .expect("LLGR capability");
    assert_eq!(
        llgr,
        vec![
            LlgrFamily {
                family: Family::IPV4_UNICAST,
                flags: 0x80,
                stale_time: 3600
            },
            LlgrFamily {
                family: Family::IPV6_UNICAST,
                flags: 0,
                stale_time: 600
            },
        ]
    );
    drop(ha);
}

/// Waits for the next SessionUp and returns the peer's GR capability as negotiated.
async fn next_peer_gr(ev: &mut Receiver<Action>) -> PeerGracefulRestart {
    let mut log = Vec::new();
    wait_for(ev, up, &mut log).await;
    let Some(Action::SessionUp(n)) = log.pop() else {
        unreachable!()
    };
    n.peer_graceful_restart.clone().expect("peer GR")
}

#[tokio::test(flavor = "current_thread")]
async fn transport_restart_state_set_cleared_and_set_by_graceful_stop() {
    // RFC 4724 §4.1: R=1 only in the OPEN after our restart. Sequence seen by the peer B:
    // 1. A started restarting: R=1, F for IPv4 only.
    // 2. A stopped gracefully (our restart) and started again: R=1.
    // 3. A stopped gracefully, then the caller declared the restart over: R=0.
    let lb = Listener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b_addr = lb.local_addr().unwrap();
    let inc = lb
        .register("127.0.0.1".parse().unwrap(), &SocketOptions::default())
        .unwrap();
    tokio::spawn(lb.clone().run());
    let pa = PeerConfig::new(gr_cfg(65001, "10.0.0.1", 65002), b_addr).with_restarting(true);
    let (ha, mut ea, _ta) = transport::spawn(pa, None);
    let mut bc = gr_cfg(65002, "10.0.0.2", 65001);
    bc.passive = true;
    bc.idle_hold.initial = Duration::from_millis(100);
    let (hb, mut eb, _tb) = transport::spawn(
        PeerConfig::new(bc, "127.0.0.1:1".parse().unwrap()),
        Some(inc),
    );
    hb.start(StartKind::ManualPassive).await.unwrap();
    ha.start(StartKind::Manual).await.unwrap();
    let g = next_peer_gr(&mut eb).await;
    assert!(g.restart_state, "{g:?}");
    assert_eq!(
        g.families,
        vec![(Family::IPV4_UNICAST, true), (Family::IPV6_UNICAST, false)]
    );
    let mut la = Vec::new();
    wait_for(&mut ea, up, &mut la).await;

    for clear in [false, true] {
        ha.stop(StopKind::Graceful).await.unwrap();
        // RFC 4724 §4.2: no NOTIFICATION, so B keeps our routes as stale.
        let mut lb_log = Vec::new();
        wait_for(
            &mut eb,
            |a| matches!(a, Action::SessionDown(_)),
            &mut lb_log,
        )
        .await;
        let Some(Action::SessionDown(d)) = lb_log.last() else {
            unreachable!()
        };
        assert_eq!(d.fate, RouteFate::RetainStale, "{d:?}");
        if clear {
            ha.set_restarting(false).await.unwrap();
        }
        ha.start(StartKind::Manual).await.unwrap();
        let g = next_peer_gr(&mut eb).await;
        assert_eq!(g.restart_state, !clear, "clear={clear} {g:?}");
    }
}

/// A raw peer (AS 65001, 10.0.0.1) connected to a passive transport speaker, brought
/// to Established by hand; returns the socket and the speaker's event channel.
async fn raw_established() -> (
    tokio::net::TcpStream,
    Receiver<Action>,
    transport::PeerHandle,
) {
    use tokio::io::AsyncWriteExt;
    let lb = Listener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b_addr = lb.local_addr().unwrap();
    let inc = lb
        .register("127.0.0.1".parse().unwrap(), &SocketOptions::default())
        .unwrap();
    tokio::spawn(lb.run());
    let mut bc = cfg(65002, "10.0.0.2", 65001);
    bc.passive = true;
    bc.auto_restart = false;
    let (hb, eb, _tb) = transport::spawn(
        PeerConfig::new(bc, "127.0.0.1:1".parse().unwrap()),
        Some(inc),
    );
    hb.start(StartKind::ManualPassive).await.unwrap();
    let mut s = tokio::net::TcpStream::connect(b_addr).await.unwrap();
    let open = bgp_wire::Open::new(65001, 90, "10.0.0.1".parse().unwrap())
        .with_capability(Capability::Multiprotocol(Family::IPV4_UNICAST));
    let ctx = bgp_wire::EncodeCtx::default();
    s.write_all(&Message::Open(open).to_bytes(&ctx).unwrap())
        .await
        .unwrap();
    s.write_all(
        &Message::Keepalive(bgp_wire::keepalive::Keepalive)
            .to_bytes(&ctx)
            .unwrap(),
    )
    .await
    .unwrap();
    // Its OPEN, then its KEEPALIVE.
    for _ in 0..2 {
        timeout(Duration::from_secs(10), read_message(&mut s))
            .await
            .unwrap();
    }
    (s, eb, hb)
}

/// Reads messages until a NOTIFICATION, then expects EOF (the speaker closed).
async fn notification_then_eof(s: &mut tokio::net::TcpStream) -> bgp_wire::Notification {
    use tokio::io::AsyncReadExt;
    let n = timeout(Duration::from_secs(10), async {
        loop {
            let b = read_message(s).await;
            if let Some(Message::Notification(n)) =
                Message::decode(&b, &DecodeCtx::default()).message
            {
                return n;
            }
        }
    })
    .await
    .expect("a NOTIFICATION");
    let mut rest = Vec::new();
    let r = timeout(Duration::from_secs(10), s.read_to_end(&mut rest)).await;
    assert!(matches!(r, Ok(Ok(_))), "EOF after the NOTIFICATION: {r:?}");
    n
}

#[tokio::test(flavor = "current_thread")]
async fn transport_bad_marker_gets_1_1_and_close() {
    // RFC 4271 §6.1: a marker that is not all ones is Connection Not Synchronized.
    use tokio::io::AsyncWriteExt;
    let (mut s, mut ev, _h) = raw_established().await;
    let mut log = Vec::new();
    wait_for(&mut ev, up, &mut log).await;
    let mut garbage = [0xffu8; 19];
    garbage[3] = 0x00;
    garbage[16..19].copy_from_slice(&[0, 19, 4]);
    s.write_all(&garbage).await.unwrap();
    let n = notification_then_eof(&mut s).await;
    assert_eq!((n.code, n.subcode), (bgp_wire::ErrorCode(1), 1), "{n:?}");
    wait_for(&mut ev, |a| matches!(a, Action::SessionDown(_)), &mut log).await;
}

#[tokio::test(flavor = "current_thread")]
async fn transport_oversized_length_gets_1_2_with_the_length_before_buffering() {
    // RFC 4271 §6.1: Length above 4096 (no Extended Message, RFC 8654) is Bad Message
    // Length with the erroneous Length field as data; the speaker answers on the header
    // alone, without waiting for 60,000 octets of body.
    use tokio::io::AsyncWriteExt;
    let (mut s, mut ev, _h) = raw_established().await;
    let mut log = Vec::new();
    wait_for(&mut ev, up, &mut log).await;
    let mut h = [0xffu8; 19];
    h[16..19].copy_from_slice(&[0xea, 0x60, 2]); // 60000, UPDATE
    s.write_all(&h).await.unwrap();
    let n = notification_then_eof(&mut s).await;
    assert_eq!((n.code, n.subcode), (bgp_wire::ErrorCode(1), 2), "{n:?}");
    assert_eq!(&n.data[..], &[0xea, 0x60]);
}

#[tokio::test(flavor = "current_thread")]
async fn transport_truncated_message_at_eof_is_a_tcp_failure() {
    // A peer that closes in the middle of a message: no NOTIFICATION can reach it; the
    // session ends as a TCP failure (RFC 4271 event 18).
    use tokio::io::AsyncWriteExt;
    let (mut s, mut ev, _h) = raw_established().await;
    let mut log = Vec::new();
    wait_for(&mut ev, up, &mut log).await;
    let mut h = [0xffu8; 23];
    h[16..19].copy_from_slice(&[0, 40, 2]); // 40 octets announced, 23 sent
    s.write_all(&h).await.unwrap();
    s.shutdown().await.unwrap();
    wait_for(&mut ev, |a| matches!(a, Action::SessionDown(_)), &mut log).await;
    let Some(Action::SessionDown(d)) = log.last() else {
        unreachable!()
    };
    assert_eq!(d.reason, Reason::TcpFailure);
}

#[tokio::test(flavor = "current_thread")]
async fn transport_slow_consumer_pauses_reading_but_keeps_the_session() {
    // Backpressure without losing the session: B's consumer reads nothing for twice the
    // 3 s hold time while A sends 10,000 routes. B stops reading its socket (bounded
    // memory) but keeps sending KEEPALIVEs (RFC 4271 §4.4), so neither hold timer
    // expires; afterwards every route arrives.
    let lb = Listener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b_addr = lb.local_addr().unwrap();
    let inc = lb
        .register("127.0.0.1".parse().unwrap(), &SocketOptions::default())
        .unwrap();
    tokio::spawn(lb.run());
    let mut ac = cfg(65001, "10.0.0.1", 65002);
    ac.hold_time = 3;
    let (ha, mut ea, _ta) = transport::spawn(PeerConfig::new(ac, b_addr), None);
    let mut bc = cfg(65002, "10.0.0.2", 65001);
    bc.passive = true;
    bc.hold_time = 3;
    let mut pb = PeerConfig::new(bc, "127.0.0.1:1".parse().unwrap());
    pb.event_capacity = 4;
    let (hb, mut eb, _tb) = transport::spawn(pb, Some(inc));
    hb.start(StartKind::ManualPassive).await.unwrap();
    ha.start(StartKind::Manual).await.unwrap();
    let (mut la, mut lb_log) = (Vec::new(), Vec::new());
    wait_for(&mut ea, up, &mut la).await;
    wait_for(&mut eb, up, &mut lb_log).await;
    let t = table(10_000, "127.0.0.1");
    for chunk in t.chunks(500) {
        ha.send_updates(chunk.to_vec()).await.unwrap();
    }
    ha.initial_table_sent().await.unwrap();
    // A's consumer keeps reading; B's sleeps for 6 s.
    let a_events = tokio::spawn(async move {
        let mut seen = Vec::new();
        let end = tokio::time::Instant::now() + Duration::from_secs(6);
        while let Ok(Some(a)) = tokio::time::timeout_at(end, ea.recv()).await {
            seen.push(a);
        }
        seen
    });
    tokio::time::sleep(Duration::from_secs(6)).await;
    let seen_a = a_events.await.unwrap();
    assert!(
        !seen_a.iter().any(|a| matches!(a, Action::SessionDown(_))),
        "A lost the session: {seen_a:?}"
    );
    let mut got = BTreeSet::new();
    timeout(Duration::from_secs(30), async {
        loop {
            match eb.recv().await.unwrap() {
                Action::Update { update, .. } => {
                    got.insert(format!("{update:?}"));
                }
                Action::EndOfRib(Family::IPV4_UNICAST) => return,
                Action::SessionDown(d) => panic!("B lost the session: {d:?}"),
                _ => {}
            }
        }
    })
    .await
    .expect("table and EoR after the pause");
    let sent: BTreeSet<String> = t.iter().map(|u| format!("{u:?}")).collect();
    assert_eq!(got, sent);
}
