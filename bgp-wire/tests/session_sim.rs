//! Deterministic two-speaker simulation (style rule 36): two `Session`s, a virtual clock,
//! and a TCP model that is reliable but delayed: the byte stream is cut into segments,
//! each segment is delayed at random and "lost" segments cost a retransmission timeout,
//! but bytes reach the application in order (TCP reassembles reordered segments).
//! Connections can be dropped (both ends see a failure) or black-holed (nothing arrives
//! and nobody notices but the hold timer).

mod session_support;

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bgp_wire::attr::{AsPath, AttrValue, Origin};
use bgp_wire::session::{
    Action, Direction, GracefulRestartConfig, Reason, RouteFate, Session, SessionConfig, StartKind,
    State,
};
use bgp_wire::{Family, Message, Nlri, Update};
use session_support::*;

/// xorshift64*: a seeded generator that needs no dependency.
struct Rng(u64);
impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

#[derive(Clone, Copy)]
struct Params {
    min_delay_ms: u64,
    max_delay_ms: u64,
    loss_percent: u64,
    rto_ms: u64,
}

/// One direction of a connection: segments with in-order delivery times, then FIN.
#[derive(Default)]
struct Pipe {
    segs: VecDeque<(Instant, Vec<u8>)>,
    fin: Option<Instant>,
    last: Option<Instant>,
}

struct Node {
    s: Session,
    rx: Vec<u8>,
    attached: bool,
    connect_at: Option<Instant>,
    log: Vec<(Instant, Action)>,
}

struct Net {
    now: Instant,
    rng: Rng,
    p: Params,
    nodes: [Node; 2],
    /// pipes[i]: from node i to node 1-i.
    pipes: [Pipe; 2],
    conn: bool,
    blackhole: bool,
    /// Node index that must see a connection failure at a time.
    failures: Vec<(Instant, usize)>,
}

impl Net {
    fn new(seed: u64, p: Params, a: SessionConfig, b: SessionConfig) -> Net {
        let node = |c| Node {
            s: Session::new(c),
            rx: Vec::new(),
            attached: false,
            connect_at: None,
            log: Vec::new(),
        };
        Net {
            now: t0(),
            rng: Rng::new(seed),
            p,
            nodes: [node(a), node(b)],
            pipes: [Pipe::default(), Pipe::default()],
            conn: false,
            blackhole: false,
            failures: Vec::new(),
        }
    }

    fn delay(&mut self) -> Duration {
        let span = self.p.max_delay_ms - self.p.min_delay_ms + 1;
        let mut ms = self.p.min_delay_ms + self.rng.below(span);
        if self.rng.chance(self.p.loss_percent) {
            ms += self.p.rto_ms;
        }
        Duration::from_millis(ms)
    }

    fn push(&mut self, from: usize, bytes: &[u8]) {
        if !self.nodes[from].attached {
            return;
        }
        let mut rest = bytes;
        while !rest.is_empty() {
            let cut = (1 + self.rng.below(rest.len() as u64 + 40) as usize).min(rest.len());
            let (seg, tail) = rest.split_at(cut);
            rest = tail;
            let d = self.delay();
            let pipe = &mut self.pipes[from];
            let at = pipe.last.map_or(self.now + d, |l| l.max(self.now + d));
            pipe.last = Some(at);
            if !self.blackhole {
                pipe.segs.push_back((at, seg.to_vec()));
            }
        }
    }

    fn close(&mut self, from: usize) {
        if self.nodes[from].attached {
            self.nodes[from].attached = false;
            self.nodes[from].rx.clear();
            let d = self.delay();
            let pipe = &mut self.pipes[from];
            let at = pipe.last.map_or(self.now + d, |l| l.max(self.now + d));
            if !self.blackhole {
                pipe.fin = Some(at);
            }
            self.pipes[1 - from].segs.clear();
            self.pipes[1 - from].last = None;
            if !self.nodes[1 - from].attached {
                self.conn = false;
            }
        }
        self.nodes[from].connect_at = None;
    }

    /// Drop the connection: both ends see a failure, in-flight data is lost.
    fn drop_connection(&mut self) {
        if !self.conn {
            return;
        }
        for i in 0..2 {
            self.pipes[i] = Pipe::default();
            if self.nodes[i].attached {
                self.nodes[i].attached = false;
                self.nodes[i].rx.clear();
                let d = self.delay();
                self.failures.push((self.now + d, i));
            }
        }
        self.conn = false;
    }

    fn drain(&mut self, i: usize) {
        while let Some(a) = self.nodes[i].s.poll_action() {
            match &a {
                Action::OpenConnection => {
                    let d = self.delay();
                    self.nodes[i].connect_at = Some(self.now + d);
                }
                Action::CloseConnection => self.close(i),
                Action::Send(m) => {
                    let b = m.to_bytes(self.nodes[i].s.encode_ctx()).expect("encode");
                    self.push(i, &b);
                }
                _ => {}
            }
            self.nodes[i].log.push((self.now, a));
        }
    }

    fn next_time(&self) -> Option<Instant> {
        let mut t: Vec<Instant> = Vec::new();
        for i in 0..2 {
            t.extend(self.nodes[i].s.poll_timeout());
            t.extend(self.nodes[i].connect_at);
            t.extend(self.pipes[i].segs.front().map(|s| s.0));
            t.extend(self.pipes[i].fin);
        }
        t.extend(self.failures.iter().map(|f| f.0));
        t.into_iter().min()
    }

    /// Runs until `until` (virtual time).
    fn run_until(&mut self, until: Instant) {
        self.drain(0);
        self.drain(1);
        while let Some(t) = self.next_time() {
            if t > until {
                break;
            }
            assert!(t >= self.now, "time went backwards");
            self.now = t;
            self.step();
        }
        self.now = self.now.max(until);
    }

    fn step(&mut self) {
        let now = self.now;
        // Connection failures.
        let due: Vec<usize> = self
            .failures
            .iter()
            .filter(|f| f.0 <= now)
            .map(|f| f.1)
            .collect();
        self.failures.retain(|f| f.0 > now);
        for i in due {
            self.nodes[i].s.handle_connection_failed(now);
            self.drain(i);
        }
        for i in 0..2 {
            // Connection attempts arriving at the other side.
            if self.nodes[i].connect_at.is_some_and(|t| t <= now) {
                self.nodes[i].connect_at = None;
                let j = 1 - i;
                if !self.conn && self.nodes[j].s.accepts_connection() && !self.blackhole {
                    self.conn = true;
                    self.pipes = [Pipe::default(), Pipe::default()];
                    self.nodes[i].attached = true;
                    self.nodes[j].attached = true;
                    self.nodes[j].connect_at = None;
                    self.nodes[i].s.handle_connected(now, Direction::Outbound);
                    self.nodes[j].s.handle_connected(now, Direction::Inbound);
                    self.drain(i);
                    self.drain(j);
                } else {
                    self.nodes[i].s.handle_connection_failed(now);
                    self.drain(i);
                }
            }
            // Segments and FIN from the other side.
            let j = 1 - i;
            while self.pipes[j].segs.front().is_some_and(|s| s.0 <= now) {
                let (_, seg) = self.pipes[j].segs.pop_front().unwrap();
                if self.nodes[i].attached {
                    self.nodes[i].rx.extend_from_slice(&seg);
                }
                self.deliver_frames(i);
            }
            if self.pipes[j].segs.is_empty() && self.pipes[j].fin.is_some_and(|t| t <= now) {
                self.pipes[j] = Pipe::default();
                if self.nodes[i].attached {
                    self.nodes[i].attached = false;
                    self.nodes[i].rx.clear();
                    self.conn = false;
                    self.nodes[i].s.handle_connection_failed(now);
                    self.drain(i);
                } else {
                    self.conn = false;
                }
            }
            self.nodes[i].s.handle_timeout(now);
            self.drain(i);
        }
    }

    fn deliver_frames(&mut self, i: usize) {
        loop {
            let rx = &self.nodes[i].rx;
            if rx.len() < 19 {
                return;
            }
            let len = usize::from(u16::from_be_bytes([rx[16], rx[17]]));
            assert!((19..=4096).contains(&len), "corrupt stream");
            if rx.len() < len {
                return;
            }
            let frame: Vec<u8> = self.nodes[i].rx.drain(..len).collect();
            self.nodes[i].s.handle_bytes(self.now, &frame);
            self.drain(i);
            if !self.nodes[i].attached {
                return;
            }
        }
    }

    fn dump(&self) -> String {
        let mut out = String::new();
        for (i, n) in self.nodes.iter().enumerate() {
            out += &format!(
                "node {i}: {} attached={} conn={}\n",
                n.s.state(),
                n.attached,
                self.conn
            );
            for (t, a) in n.log.iter().rev().take(12).rev() {
                let a = match a {
                    Action::Send(Message::Update(_)) => "Send(Update)".to_string(),
                    a => format!("{a:?}").chars().take(140).collect(),
                };
                out += &format!("  {:?} {a}\n", t.duration_since(self.nodes[0].log[0].0));
            }
        }
        out
    }

    fn both(&self, st: State) -> bool {
        self.nodes.iter().all(|n| n.s.state() == st)
    }

    fn count(&self, i: usize, f: impl Fn(&Action) -> bool) -> usize {
        self.nodes[i].log.iter().filter(|(_, a)| f(a)).count()
    }
}

fn cfg(asn: u32, id: &str, peer: u32) -> SessionConfig {
    let mut c = SessionConfig::new(asn, id.parse().unwrap()).with_peer_as(peer);
    c.connect_retry_time = secs(5);
    c.graceful_restart = Some(GracefulRestartConfig::default());
    c
}

fn pair(seed: u64, p: Params) -> Net {
    Net::new(
        seed,
        p,
        cfg(65001, "10.0.0.1", 65002),
        cfg(65002, "10.0.0.2", 65001),
    )
}

fn start_both(net: &mut Net) {
    let now = net.now;
    net.nodes[0].s.handle_start(now, StartKind::Manual);
    net.nodes[1].s.handle_start(now, StartKind::Manual);
}

fn routes(n: u32) -> Vec<Update> {
    (0..n)
        .map(|i| {
            let net =
                ipnet::Ipv4Net::new(std::net::Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap();
            Update::new()
                .with(AttrValue::Origin(Origin::IGP))
                .with(AttrValue::AsPath(AsPath::sequence([65001])))
                .with(AttrValue::NextHop("10.0.0.1".parse().unwrap()))
                .with_nlri([Nlri::new(net)])
        })
        .collect()
}

const LOSSY: Params = Params {
    min_delay_ms: 1,
    max_delay_ms: 40,
    loss_percent: 10,
    rto_ms: 200,
};

#[test]
fn sim_both_active_establish_and_exchange_a_table_across_seeds() {
    // RFC 4271 §8.2.2 happy path with simultaneous opens (one connection wins, since the
    // second attempt meets a busy peer) over a lossy, delaying stream.
    for seed in 0..40 {
        let mut net = pair(seed, LOSSY);
        start_both(&mut net);
        let t = net.now;
        net.run_until(t + secs(5));
        assert!(net.both(State::Established), "seed {seed}\n{}", net.dump());
        // A sends 500 routes then End-of-RIB.
        let now = net.now;
        let table = routes(500);
        for u in &table {
            net.nodes[0].s.send_update(now, u.clone()).unwrap();
        }
        net.nodes[0].s.initial_table_sent(now).unwrap();
        net.drain(0);
        net.run_until(now + secs(10));
        let got: Vec<&Update> = net.nodes[1]
            .log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::Update { update, .. } => Some(update),
                _ => None,
            })
            .collect();
        assert_eq!(got.len(), 500, "seed {seed}");
        let sent: BTreeSet<String> = table.iter().map(|u| format!("{u:?}")).collect();
        let recv: BTreeSet<String> = got.iter().map(|u| format!("{u:?}")).collect();
        assert_eq!(sent, recv, "seed {seed}");
        // EoR for both families arrives after every route.
        let eors: Vec<Family> = net.nodes[1]
            .log
            .iter()
            .filter_map(|(_, a)| match a {
                Action::EndOfRib(f) => Some(*f),
                _ => None,
            })
            .collect();
        assert_eq!(eors, vec![Family::IPV4_UNICAST, Family::IPV6_UNICAST]);
        let last_update = net.nodes[1]
            .log
            .iter()
            .rposition(|(_, a)| matches!(a, Action::Update { .. }))
            .unwrap();
        let first_eor = net.nodes[1]
            .log
            .iter()
            .position(|(_, a)| matches!(a, Action::EndOfRib(_)))
            .unwrap();
        assert!(first_eor > last_update);
        // Keepalives keep it up for a long quiet period.
        let t = net.now;
        net.run_until(t + secs(600));
        assert!(net.both(State::Established), "seed {seed}\n{}", net.dump());
        assert_eq!(net.count(0, |a| matches!(a, Action::SessionDown(_))), 0);
    }
}

#[test]
fn sim_passive_peer_is_reached_by_the_active_one() {
    for seed in 0..10 {
        let mut b = cfg(65002, "10.0.0.2", 65001);
        b.passive = true;
        let mut net = Net::new(seed, LOSSY, cfg(65001, "10.0.0.1", 65002), b);
        start_both(&mut net);
        let t = net.now;
        net.run_until(t + secs(3));
        assert!(net.both(State::Established), "seed {seed}\n{}", net.dump());
        assert_eq!(net.nodes[0].s.direction(), Some(Direction::Outbound));
        assert_eq!(net.nodes[1].s.direction(), Some(Direction::Inbound));
        assert_eq!(net.count(1, |a| *a == Action::OpenConnection), 0);
    }
}

#[test]
fn sim_connection_drops_are_graceful_and_recover() {
    // RFC 4724 §4.2: each TCP failure of a GR session is a SessionDown with RetainStale;
    // the IdleHold backoff brings the session back once the drops stop.
    for seed in 0..20 {
        let mut net = pair(seed, LOSSY);
        start_both(&mut net);
        let mut t = net.now;
        let mut drops = 0;
        for _ in 0..5 {
            net.run_until(t + secs(20));
            t = net.now;
            if net.both(State::Established) {
                drops += 1;
            }
            net.drop_connection();
        }
        net.run_until(t + secs(120));
        assert!(net.both(State::Established), "seed {seed}\n{}", net.dump());
        for i in 0..2 {
            let downs: Vec<&Action> = net.nodes[i]
                .log
                .iter()
                .map(|(_, a)| a)
                .filter(|a| matches!(a, Action::SessionDown(_)))
                .collect();
            assert!(downs.len() >= drops, "seed {seed}: {drops} drops");
            for d in downs {
                let Action::SessionDown(d) = d else {
                    unreachable!()
                };
                assert_eq!(d.fate, RouteFate::RetainStale, "seed {seed}: {d:?}");
            }
        }
    }
}

#[test]
fn sim_silent_link_is_caught_by_the_hold_timer() {
    // RFC 4271 §6.5 / §8.2.2 Established event 10, hold 9 s: a black hole is detected
    // no later than 9 s after the last message received.
    for seed in 0..10 {
        let mut a = cfg(65001, "10.0.0.1", 65002);
        a.hold_time = 9;
        let mut b = cfg(65002, "10.0.0.2", 65001);
        b.hold_time = 9;
        let mut net = Net::new(seed, LOSSY, a, b);
        start_both(&mut net);
        let t = net.now;
        net.run_until(t + secs(5));
        assert!(net.both(State::Established));
        let cut = net.now;
        net.blackhole = true;
        for i in 0..2 {
            net.pipes[i].segs.clear();
        }
        net.run_until(cut + secs(10));
        for i in 0..2 {
            let (at, d) = net.nodes[i]
                .log
                .iter()
                .find_map(|(at, a)| match a {
                    Action::SessionDown(d) => Some((*at, d.clone())),
                    _ => None,
                })
                .expect("hold expiry");
            assert_eq!(d.reason, Reason::HoldTimerExpired);
            assert!(at <= cut + secs(9), "seed {seed}");
            assert!(at > cut + secs(5), "seed {seed}");
        }
        // The link heals: back up within the backoff.
        net.blackhole = false;
        let t = net.now;
        net.run_until(t + secs(30));
        assert!(net.both(State::Established), "seed {seed}\n{}", net.dump());
    }
}

#[test]
fn sim_admin_shutdown_reaches_the_peer_and_deletes() {
    let mut net = pair(7, LOSSY);
    start_both(&mut net);
    let t = net.now;
    net.run_until(t + secs(5));
    let now = net.now;
    net.nodes[0].s.handle_stop(
        now,
        bgp_wire::session::StopKind::Administrative {
            message: "bye".into(),
        },
    );
    net.drain(0);
    net.run_until(now + secs(3));
    let d = net.nodes[1]
        .log
        .iter()
        .find_map(|(_, a)| match a {
            Action::SessionDown(d) => Some(d.clone()),
            _ => None,
        })
        .unwrap();
    let Reason::Notification { notification, .. } = &d.reason else {
        panic!("{d:?}")
    };
    assert_eq!(notification.shutdown_communication(), Some("bye"));
    assert_eq!(d.fate, RouteFate::Delete);
    assert_eq!(net.nodes[0].s.state(), State::Idle);
    // B restarts by itself and keeps trying; A stays down until started.
    net.run_until(now + secs(60));
    assert_eq!(net.nodes[0].s.state(), State::Idle);
    assert_ne!(net.nodes[1].s.state(), State::Established);
    let _ = Message::Keepalive(bgp_wire::keepalive::Keepalive);
}
