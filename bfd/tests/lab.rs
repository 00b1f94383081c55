//! Interop with real peers (FRR bfdd, BIRD 2) over a veth pair between two
//! network namespaces: `a` runs our tokio runtime (10.99.0.1), `b` the
//! daemon (10.99.0.2). 50 ms x 3 (detection 150 ms); bounds are detection
//! time + 1 s. Skips without root or the daemon unless
//! `DUALTOR_REQUIRE_LAB=1`. Tests run one at a time (the lab guard's lock).
#![cfg(feature = "tokio")]
#![allow(clippy::disallowed_methods)] // timing real daemons needs the clock

use std::time::{Duration, Instant};

use bfd::auth::{Auth, AuthType};
use bfd::runtime::{Handle, Options, Runtime, SessionRequest};
use bfd::session::Config;
use bfd::{Diag, DropReason, State, StateChange};
use test_support::daemons::{Bird, Frr};
use test_support::{Need, Netns, faults, lab};

const US: &str = "10.99.0.1";
const THEM: &str = "10.99.0.2";
const US6: &str = "fe80::1";
const THEM6: &str = "fe80::2";
/// Detection time (3 x 50 ms) + 1 s.
const BOUND: Duration = Duration::from_millis(1150);

struct Lab {
    a: Netns,
    b: Netns,
    rt: tokio::runtime::Runtime,
    bfd: Runtime,
}

fn setup() -> Lab {
    setup_family(false)
}

/// `v6`: only link-local IPv6 (`fe80::1` here, `fe80::2` there, the
/// kernel's own link-local addresses flushed so that FRR's source is known)
/// and a runtime listening on IPv6 only.
fn setup_family(v6: bool) -> Lab {
    let a = Netns::new("bfd").unwrap();
    let b = Netns::new("bfd").unwrap();
    test_support::veth(&a, "eth0", &b, "eth0").unwrap();
    if v6 {
        for (ns, ip) in [(&a, US6), (&b, THEM6)] {
            ns.sh(&format!(
                "ip -6 addr flush dev eth0 scope link && ip -6 addr add {ip}/64 dev eth0 nodad"
            ))
            .unwrap();
        }
    } else {
        a.addr_add("eth0", &format!("{US}/24")).unwrap();
        b.addr_add("eth0", &format!("{THEM}/24")).unwrap();
    }
    // Worker threads and sockets are created inside namespace `a`.
    let (rt, bfd) = a.enter(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let bfd = {
            let _g = rt.enter();
            Runtime::spawn(Options {
                ipv4: !v6,
                ipv6: v6,
                ..Options::default()
            })
            .unwrap()
        };
        (rt, bfd)
    });
    Lab { a, b, rt, bfd }
}

fn cfg(ms: u64, auth: Option<Auth>) -> Config {
    Config {
        desired_min_tx: Duration::from_millis(ms),
        required_min_rx: Duration::from_millis(ms),
        detect_mult: 3,
        passive: false,
        auth,
        ..Config::default()
    }
}

impl Lab {
    fn request(&self, config: Config) -> Handle {
        self.request_to(THEM, US, config)
    }

    fn request_to(&self, peer: &str, local: &str, config: Config) -> Handle {
        let req = SessionRequest {
            peer: peer.parse().unwrap(),
            local: Some(local.parse().unwrap()),
            interface: Some("eth0".into()),
            config,
        };
        self.rt.block_on(self.bfd.request(req)).unwrap()
    }

    /// The first change satisfying `pred` within `within`.
    fn wait(
        &self,
        h: &mut Handle,
        within: Duration,
        pred: impl Fn(&StateChange) -> bool,
    ) -> Option<StateChange> {
        self.rt.block_on(async {
            tokio::time::timeout(within, async {
                while let Some(c) = h.next_change().await {
                    if pred(&c) {
                        return Some(c);
                    }
                }
                None
            })
            .await
            .ok()
            .flatten()
        })
    }

    fn drain(&self, h: &mut Handle) -> Vec<StateChange> {
        std::iter::from_fn(|| h.try_next_change()).collect()
    }

    fn snapshot(&self, h: &Handle) -> bfd::session::Snapshot {
        self.rt.block_on(h.snapshot()).unwrap()
    }
}

/// Poll `f` until it returns true or `within` passes; returns the time it took.
fn until(within: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let t0 = Instant::now();
    while t0.elapsed() < within {
        if f() {
            return Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

// ------------------------------------------------------------------ FRR

fn frr_conf(tx: u32) -> String {
    format!(
        "bfd\n peer {US} interface eth0\n  receive-interval {tx}\n  transmit-interval {tx}\n  detect-multiplier 3\n  no shutdown\n !\n!\n"
    )
}

fn frr_status(frr: &Frr) -> String {
    frr.bfd_peers()
        .ok()
        .and_then(|v| v.into_iter().find(|p| p.peer.to_string() == US))
        .map(|p| p.status)
        .unwrap_or_default()
}

fn frr_peer_cmd(frr: &Frr, cmds: &[&str]) {
    let peer = format!("peer {US} interface eth0");
    let mut all = vec!["configure terminal", "bfd", peer.as_str()];
    all.extend_from_slice(cmds);
    frr.vtysh_lines(&all).unwrap();
}

#[test]
fn frr_comes_up_views_agree_and_detects_loss_both_ways() {
    let Some(_lab) = lab("bfd_frr_up_and_loss", &[Need::Root, Need::Frr, Need::Nft]) else {
        return;
    };
    let l = setup();
    let frr = Frr::start_raw(&l.b, &["bfdd"], &frr_conf(50)).unwrap();
    let mut h = l.request(cfg(50, None));
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some(),
        "Up with FRR"
    );
    assert!(until(BOUND, || frr_status(&frr) == "up").is_some());
    // The far side's view agrees: it sees our timers and multiplier.
    let p = frr
        .bfd_peers()
        .unwrap()
        .into_iter()
        .find(|p| p.peer.to_string() == US)
        .unwrap();
    assert_eq!(
        (p.remote_receive_interval_ms, p.remote_detect_multiplier),
        (Some(50), Some(3))
    );
    let s = l.snapshot(&h);
    assert_eq!(
        (s.state, s.remote_state, s.tx_interval_us),
        (State::Up, State::Up, 50_000)
    );
    assert_ne!(s.remote_discr, 0);
    std::thread::sleep(Duration::from_secs(2));
    assert!(l.drain(&mut h).is_empty(), "no flap at 50 ms x 3");
    assert_eq!(l.snapshot(&h).counters.drops.total(), 0);

    // Drop our packets: FRR detects within its detection time; we hear its
    // Down (diag 3).
    let t0 = Instant::now();
    let mut g =
        faults::drop_matching(&l.a, "eth0", &format!("ip saddr {US} udp dport 3784")).unwrap();
    let took = until(BOUND, || frr_status(&frr) == "down").expect("FRR detects our silence");
    eprintln!("FRR detected our silence in {took:?}");
    let c = l
        .wait(&mut h, BOUND, |c| c.to == State::Down)
        .expect("we hear FRR's Down");
    assert!(c.is_failure());
    let _ = t0;
    g.clear().unwrap();
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some(),
        "back Up"
    );

    // Drop FRR's packets: we detect within our detection time, diag 1.
    let t0 = Instant::now();
    let mut g =
        faults::drop_matching(&l.a, "eth0", &format!("ip saddr {THEM} udp dport 3784")).unwrap();
    let c = l
        .wait(&mut h, BOUND, |c| c.to == State::Down)
        .expect("we detect FRR's silence");
    assert_eq!(c.diag, Diag::ControlDetectionTimeExpired);
    assert!(c.is_failure());
    eprintln!("we detected FRR's silence in {:?}", t0.elapsed());
    assert!(
        until(BOUND, || frr_status(&frr) == "down").is_some(),
        "FRR hears our Down"
    );
    g.clear().unwrap();
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some()
    );
}

#[test]
fn frr_poll_final_timer_changes_without_flap_and_admin_down() {
    let Some(_lab) = lab("bfd_frr_poll_and_admin", &[Need::Root, Need::Frr]) else {
        return;
    };
    let l = setup();
    let frr = Frr::start_raw(&l.b, &["bfdd"], &frr_conf(50)).unwrap();
    let mut h = l.request(cfg(50, None));
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some()
    );
    std::thread::sleep(Duration::from_millis(500));
    l.drain(&mut h);
    let polls0 = l.snapshot(&h).counters.polls_completed;

    // Our change: a Poll sequence FRR answers; it then sees 100 ms.
    h.set_config(cfg(100, None));
    let peer_sees_100 = || {
        frr.bfd_peers()
            .ok()
            .and_then(|v| v.into_iter().find(|p| p.peer.to_string() == US))
            .and_then(|p| p.remote_receive_interval_ms)
            == Some(100)
    };
    assert!(
        until(BOUND, peer_sees_100).is_some(),
        "FRR sees our new Required Min RX"
    );
    assert!(
        until(BOUND, || l.snapshot(&h).counters.polls_completed > polls0).is_some(),
        "Final received"
    );
    assert_eq!(l.snapshot(&h).tx_interval_us, 100_000);

    // Their change: FRR polls, we answer with a Final.
    frr_peer_cmd(&frr, &["transmit-interval 200", "receive-interval 200"]);
    assert!(
        until(BOUND + BOUND, || l.snapshot(&h).tx_interval_us == 200_000).is_some(),
        "we obey 200 ms"
    );
    assert_eq!(l.snapshot(&h).detection_time, Duration::from_millis(600));
    std::thread::sleep(Duration::from_secs(1));
    assert!(l.drain(&mut h).is_empty(), "no flap through either Poll");
    assert_eq!(frr_status(&frr), "up");

    // Their admin down: reported as such (RFC 5882 §4.1).
    frr_peer_cmd(&frr, &["shutdown"]);
    let c = l
        .wait(&mut h, BOUND, |c| c.to == State::Down)
        .expect("Down on FRR's AdminDown");
    assert_eq!(
        (c.diag, c.remote_state),
        (Diag::NeighborSignaledSessionDown, State::AdminDown)
    );
    assert!(c.is_admin_down() && !c.is_failure());
    frr_peer_cmd(&frr, &["no shutdown"]);
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some()
    );

    // Our admin down: FRR reports the peer down with its AdminDown.
    h.admin_down();
    let c = l.wait(&mut h, BOUND, |c| c.to == State::AdminDown).unwrap();
    assert!(c.is_admin_down());
    assert!(until(BOUND, || frr_status(&frr) == "down").is_some());
    let j = frr.vtysh("show bfd peers json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    let p = v
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["peer"] == US)
        .unwrap();
    assert_eq!(p["remote-diagnostic"], "administratively down", "{p}");
    h.admin_up();
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some()
    );
}

// ------------------------------------------------------------------ BIRD

fn bird_conf(auth: &str) -> String {
    format!(
        "router id {THEM};\nprotocol device {{ }}\nprotocol bfd bfd1 {{\n  interface \"eth0\" {{\n    min rx interval 50 ms;\n    min tx interval 50 ms;\n    multiplier 3;\n{auth}  }};\n  neighbor {US} dev \"eth0\";\n}}\n"
    )
}

fn bird_state(bird: &Bird) -> String {
    bird.bfd_sessions()
        .ok()
        .and_then(|v| v.into_iter().find(|s| s.address.to_string() == US))
        .map(|s| s.state)
        .unwrap_or_default()
}

#[test]
fn bird_comes_up_views_agree_and_detects_loss() {
    let Some(_lab) = lab("bfd_bird_up_and_loss", &[Need::Root, Need::Bird, Need::Nft]) else {
        return;
    };
    let l = setup();
    let bird = Bird::start_raw(&l.b, &bird_conf("")).unwrap();
    let mut h = l.request(cfg(50, None));
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some(),
        "Up with BIRD"
    );
    assert!(until(BOUND, || bird_state(&bird) == "Up").is_some());
    let s = bird
        .bfd_sessions()
        .unwrap()
        .into_iter()
        .find(|s| s.address.to_string() == US)
        .unwrap();
    assert_eq!(
        (s.interface.as_str(), s.interval, s.timeout),
        (
            "eth0",
            Duration::from_millis(50),
            Duration::from_millis(150)
        )
    );
    std::thread::sleep(Duration::from_secs(2));
    assert!(l.drain(&mut h).is_empty(), "no flap");

    let mut g =
        faults::drop_matching(&l.a, "eth0", &format!("ip saddr {US} udp dport 3784")).unwrap();
    let took = until(BOUND, || bird_state(&bird) == "Down").expect("BIRD detects our silence");
    eprintln!("BIRD detected our silence in {took:?}");
    g.clear().unwrap();
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some()
    );
    l.drain(&mut h);
    let t0 = Instant::now();
    let _g =
        faults::drop_matching(&l.a, "eth0", &format!("ip saddr {THEM} udp dport 3784")).unwrap();
    let c = l
        .wait(&mut h, BOUND, |c| c.to == State::Down)
        .expect("we detect BIRD's silence");
    assert_eq!(c.diag, Diag::ControlDetectionTimeExpired);
    eprintln!("we detected BIRD's silence in {:?}", t0.elapsed());
}

#[test]
fn bird_every_auth_type_up_with_right_key_down_with_wrong() {
    let Some(_lab) = lab("bfd_bird_auth", &[Need::Root, Need::Bird]) else {
        return;
    };
    for (bird_name, kind) in [
        ("simple", AuthType::SimplePassword),
        ("keyed md5", AuthType::KeyedMd5),
        ("meticulous keyed md5", AuthType::MeticulousKeyedMd5),
        ("keyed sha1", AuthType::KeyedSha1),
        ("meticulous keyed sha1", AuthType::MeticulousKeyedSha1),
    ] {
        let auth =
            format!("    authentication {bird_name};\n    password \"s3cret\" {{ id 7; }};\n");
        let l = setup();
        let bird = Bird::start_raw(&l.b, &bird_conf(&auth)).unwrap();
        let mut h = l.request(cfg(50, Some(Auth::single(kind, 7, b"s3cret").unwrap())));
        assert!(
            l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
                .is_some(),
            "{bird_name}: Up"
        );
        assert!(
            until(BOUND, || bird_state(&bird) == "Up").is_some(),
            "{bird_name}: BIRD Up"
        );
        std::thread::sleep(Duration::from_secs(1));
        assert!(l.drain(&mut h).is_empty(), "{bird_name}: no flap");
        assert_eq!(l.snapshot(&h).counters.drops.total(), 0, "{bird_name}");
        drop((h, bird, l));

        // Wrong key (fresh lab, so no discriminator is remembered): stays
        // Down, every packet of BIRD's rejected.
        let l = setup();
        let bird = Bird::start_raw(&l.b, &bird_conf(&auth)).unwrap();
        let mut h = l.request(cfg(50, Some(Auth::single(kind, 7, b"wrong").unwrap())));
        assert!(
            l.wait(&mut h, Duration::from_secs(3), |c| c.to == State::Up)
                .is_none(),
            "{bird_name}: wrong key"
        );
        let s = l.snapshot(&h);
        assert_ne!(s.state, State::Up);
        assert!(
            s.counters.drops.get(DropReason::AuthBadDigest) > 0,
            "{bird_name}: {:?}",
            s.counters.drops
        );
        assert_eq!(s.counters.packets_in, 0, "{bird_name}");
        assert_ne!(bird_state(&bird), "Up", "{bird_name}: BIRD stays down");
    }
}

// ------------------------------------------------------------------ bad input

#[test]
fn flood_of_bad_packets_does_not_flap_a_healthy_session() {
    // Issue 5 "Bad input": malformed, unknown-discriminator, wrong-TTL and
    // bad-auth packets from another namespace are dropped and counted; the
    // session with FRR stays Up.
    let Some(_lab) = lab("bfd_flood", &[Need::Root, Need::Frr]) else {
        return;
    };
    let l = setup();
    let frr = Frr::start_raw(&l.b, &["bfdd"], &frr_conf(50)).unwrap();
    let mut h = l.request(cfg(50, None));
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some()
    );
    std::thread::sleep(Duration::from_millis(500));
    l.drain(&mut h);
    let id = h.id().0;
    let sent = l.b.enter(move || {
        use std::net::UdpSocket;
        let s = UdpSocket::bind(format!("{THEM}:0")).unwrap();
        s.set_ttl(255).unwrap();
        let low = UdpSocket::bind(format!("{THEM}:0")).unwrap();
        low.set_ttl(64).unwrap();
        let mut junk = [0u8; 24];
        // Valid-looking Up packet for our session but TTL 64 (RFC 5881 §5).
        let mut ttl64 = [
            0x20, 0xc0, 3, 24, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0xc3, 0x50, 0, 0, 0xc3, 0x50, 0, 0, 0,
            0,
        ];
        ttl64[8..12].copy_from_slice(&id.to_be_bytes());
        // Unknown Your Discriminator.
        let mut unknown = ttl64;
        unknown[8..12].copy_from_slice(&(id ^ 0xffff_ffff).to_be_bytes());
        // A=1 on a session without auth.
        let mut with_auth = ttl64.to_vec();
        with_auth[1] |= 0x04;
        with_auth[3] = 30;
        with_auth.extend_from_slice(&[1, 6, 1, b'a', b'b', b'c']);
        let t0 = Instant::now();
        let mut n = 0u64;
        while t0.elapsed() < Duration::from_secs(3) {
            junk[0] = n as u8;
            let dst = format!("{US}:3784");
            let _ = s.send_to(&junk, &dst);
            let _ = s.send_to(&unknown, &dst);
            let _ = s.send_to(&with_auth, &dst);
            let _ = low.send_to(&ttl64, &dst);
            n += 4;
            // Several thousand packets/s: what this 2-core machine sustains next to
            // its other work (the unpaced rate starves the peer's packets in
            // the kernel's queue; the bench reports the highest rate).
            std::thread::sleep(Duration::from_micros(200));
        }
        n
    });
    eprintln!("flood: {sent} packets in 3 s ({} pps)", sent / 3);
    std::thread::sleep(Duration::from_millis(300));
    let changes = l.drain(&mut h);
    assert!(changes.is_empty(), "no flap under the flood: {changes:?}");
    assert_eq!(frr_status(&frr), "up");
    let s = l.snapshot(&h);
    let (engine, _) = l.rt.block_on(l.bfd.drops()).unwrap();
    let counted = s.counters.drops.total() + engine.total();
    eprintln!(
        "flood: session drops {:?}, engine drops {:?}",
        s.counters.drops, engine
    );
    assert!(s.counters.drops.get(DropReason::BadTtl) > 0);
    assert!(s.counters.drops.get(DropReason::AuthUnexpected) > 0);
    assert!(engine.get(DropReason::UnknownYourDiscriminator) > 0);
    assert!(
        counted > sent / 4,
        "most of the flood was read and counted: {counted} of {sent}"
    );
}

// ------------------------------------------------------------------ IPv6

#[test]
fn frr_ipv6_link_local_up_hop_limit_checked_and_loss_detected_both_ways() {
    // RFC 5881 §4-§5 over IPv6: UDP 3784, Hop Limit 255 out and checked in
    // (IPV6_RECVHOPLIMIT), a link-local peer reached through the interface
    // (scope id), one session per (interface, peer, family).
    let Some(_lab) = lab("bfd_frr_ipv6", &[Need::Root, Need::Frr, Need::Nft]) else {
        return;
    };
    let l = setup_family(true);
    let conf = format!(
        "bfd\n peer {US6} local-address {THEM6} interface eth0\n  receive-interval 50\n  transmit-interval 50\n  detect-multiplier 3\n  no shutdown\n !\n!\n"
    );
    let frr = Frr::start_raw(&l.b, &["bfdd"], &conf).unwrap();
    let mut h = l.request_to(THEM6, US6, cfg(50, None));
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some(),
        "Up with FRR over IPv6"
    );
    let peer = |frr: &Frr| {
        frr.bfd_peers()
            .ok()
            .and_then(|v| v.into_iter().find(|p| p.peer.to_string() == US6))
    };
    assert!(until(BOUND, || peer(&frr).is_some_and(|p| p.status == "up")).is_some());
    let p = peer(&frr).unwrap();
    assert_eq!(
        (
            p.local.map(|a| a.to_string()),
            p.interface.as_deref(),
            p.remote_receive_interval_ms,
            p.remote_detect_multiplier
        ),
        (Some(THEM6.to_string()), Some("eth0"), Some(50), Some(3))
    );
    std::thread::sleep(Duration::from_secs(1));
    assert!(l.drain(&mut h).is_empty(), "no flap");
    let s = l.snapshot(&h);
    assert_eq!(
        (s.state, s.remote_state, s.tx_interval_us),
        (State::Up, State::Up, 50_000)
    );
    assert_eq!(
        s.counters.drops.total(),
        0,
        "FRR's packets carry Hop Limit 255"
    );

    // A valid-looking packet for our session with Hop Limit 1, from FRR's
    // address: counted as BadTtl and ignored (RFC 5881 §5).
    let bytes = {
        let r = bfd::packet::Repr {
            diag: Diag::None,
            state: State::AdminDown,
            poll: false,
            final_: false,
            control_plane_independent: false,
            demand: false,
            multipoint: false,
            detect_mult: 3,
            my_discriminator: s.remote_discr,
            your_discriminator: s.local_discr,
            desired_min_tx_interval: 50_000,
            required_min_rx_interval: 50_000,
            required_min_echo_rx_interval: 0,
            auth: None,
        };
        let mut b = [0u8; bfd::packet::MAX_LEN];
        let n = r.emit(&mut b);
        b[..n].to_vec()
    };
    l.b.enter(|| {
        use socket2::{Domain, Protocol, Socket, Type};
        let ifindex = nix_ifindex("eth0");
        let sock = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        sock.set_unicast_hops_v6(1).unwrap();
        let src: std::net::Ipv6Addr = THEM6.parse().unwrap();
        let dst: std::net::Ipv6Addr = US6.parse().unwrap();
        sock.bind(&std::net::SocketAddrV6::new(src, 50000, 0, ifindex).into())
            .unwrap();
        sock.send_to(
            &bytes,
            &std::net::SocketAddrV6::new(dst, 3784, 0, ifindex).into(),
        )
        .unwrap();
    });
    assert!(
        until(BOUND, || l
            .snapshot(&h)
            .counters
            .drops
            .get(DropReason::BadTtl)
            == 1)
        .is_some(),
        "Hop Limit 1 counted"
    );
    assert_eq!(l.snapshot(&h).state, State::Up, "and ignored");

    // Drop our packets: FRR detects; we hear its Down.
    let mut g =
        faults::drop_matching(&l.a, "eth0", &format!("ip6 saddr {US6} udp dport 3784")).unwrap();
    let took = until(BOUND, || peer(&frr).is_some_and(|p| p.status == "down"))
        .expect("FRR detects our silence");
    eprintln!("FRR detected our IPv6 silence in {took:?}");
    let c = l
        .wait(&mut h, BOUND, |c| c.to == State::Down)
        .expect("we hear FRR's Down");
    assert!(c.is_failure());
    g.clear().unwrap();
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some(),
        "back Up"
    );

    // Drop FRR's packets: we detect, diag 1.
    let t0 = Instant::now();
    let mut g =
        faults::drop_matching(&l.a, "eth0", &format!("ip6 saddr {THEM6} udp dport 3784")).unwrap();
    let c = l
        .wait(&mut h, BOUND, |c| c.to == State::Down)
        .expect("we detect FRR's silence");
    assert_eq!(c.diag, Diag::ControlDetectionTimeExpired);
    eprintln!("we detected FRR's IPv6 silence in {:?}", t0.elapsed());
    g.clear().unwrap();
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some()
    );
}

/// The index of `name` in the calling thread's namespace.
fn nix_ifindex(name: &str) -> u32 {
    nix::net::if_::if_nametoindex(name).unwrap()
}

// ------------------------------------------------------------------ Echo

#[test]
fn frr_with_echo_mode_stays_up_on_control_packets_only() {
    // RFC 5880 §6.4, §6.8.9 / RFC 5881 §4: Echo is optional and we do not
    // implement it. FRR asks for it (echo-mode, its Required Min Echo RX >
    // 0); we advertise Required Min Echo RX 0, so FRR must not send us
    // Echo packets, and the session runs on Control packets alone.
    let Some(_lab) = lab("bfd_frr_echo", &[Need::Root, Need::Frr]) else {
        return;
    };
    let l = setup();
    let conf = format!(
        "bfd\n peer {US} interface eth0\n  receive-interval 50\n  transmit-interval 50\n  detect-multiplier 3\n  echo-mode\n  echo receive-interval 50\n  echo transmit-interval 50\n  no shutdown\n !\n!\n"
    );
    let frr = Frr::start_raw(&l.b, &["bfdd"], &conf).unwrap();
    let mut h = l.request(cfg(50, None));
    assert!(
        l.wait(&mut h, Duration::from_secs(10), |c| c.to == State::Up)
            .is_some()
    );
    assert!(until(BOUND, || frr_status(&frr) == "up").is_some());
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        l.drain(&mut h).is_empty(),
        "no flap with a peer asking for Echo"
    );
    let j = frr.vtysh("show bfd peers json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    let p = v
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["peer"] == US)
        .unwrap();
    // FRR's view: our Required Min Echo RX is 0 (it may not echo to us).
    assert_eq!(p["remote-echo-receive-interval"], 0, "{p}");
    assert_eq!(p["status"], "up", "{p}");
    assert_eq!(l.snapshot(&h).counters.drops.total(), 0);
}
