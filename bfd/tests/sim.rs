//! Deterministic simulation of two engines (house style rule 36): a virtual
//! clock, seeded loss and delay, no sockets. Asserts RFC 5880 §6.8.4
//! detection bounds, Poll/Final sequences (§6.5) and flap counts.
#![allow(clippy::disallowed_methods)] // a base Instant for the virtual clock

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bfd::session::{Config, Event};
use bfd::{Engine, Path, Request, RxMeta, SessionId, State, StateChange};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const MS: Duration = Duration::from_millis(1);

fn ip(n: u8) -> IpAddr {
    IpAddr::from(Ipv4Addr::new(10, 0, 0, n))
}

struct Side {
    e: Engine,
    id: SessionId,
    ip: IpAddr,
    changes: Vec<StateChange>,
    polls: u64,
    /// (time, P, F) of every packet sent.
    sent: Vec<(Instant, bool, bool)>,
}

/// (delivery time, tie-break, destination side, bytes).
type InFlight = (Instant, u64, usize, Vec<u8>);

struct Net {
    now: Instant,
    start: Instant,
    sides: [Side; 2],
    wire: BinaryHeap<Reverse<InFlight>>,
    seq: u64,
    rng: SmallRng,
    /// Loss probability per direction (a->b, b->a).
    loss: [f64; 2],
    max_delay: Duration,
    /// Last delivery time per direction: links do not reorder.
    fifo: [Option<Instant>; 2],
    /// Scheduler starvation per side: windows `[from, to)` in which the
    /// side's driver does not run; packets to it wait in its socket.
    frozen: [Vec<(Instant, Instant)>; 2],
    /// Driver order on a wake-up: timers before the queued packets (the
    /// order the runtime had before it read the socket first).
    timers_first: bool,
}

impl Net {
    fn new(seed: u64, cfg: Config) -> Self {
        Self::with_configs(seed, [cfg.clone(), cfg])
    }

    /// Sides with different configurations (a node and a ToR).
    fn with_configs(seed: u64, cfgs: [Config; 2]) -> Self {
        let now = Instant::now();
        let mk = |n: u8, peer: u8, s: u64| {
            let cfg = &cfgs[usize::from(n - 1)];
            let mut e = Engine::new(s);
            let id = e
                .add_session(
                    now,
                    Request {
                        path: Path {
                            peer: ip(peer),
                            local: None,
                            ifindex: None,
                        },
                        config: cfg.clone(),
                    },
                )
                .unwrap();
            Side {
                e,
                id,
                ip: ip(n),
                changes: vec![],
                polls: 0,
                sent: vec![],
            }
        };
        Self {
            now,
            start: now,
            sides: [mk(1, 2, seed * 2 + 1), mk(2, 1, seed * 2 + 2)],
            wire: BinaryHeap::new(),
            seq: 0,
            rng: SmallRng::seed_from_u64(seed),
            loss: [0.0; 2],
            max_delay: Duration::ZERO,
            fifo: [None; 2],
            frozen: [vec![], vec![]],
            timers_first: false,
        }
    }

    /// When side `i` gets to run for something due at `t`.
    fn runs_at(&self, i: usize, t: Instant) -> Instant {
        self.frozen[i]
            .iter()
            .find(|(from, to)| (*from..*to).contains(&t))
            .map_or(t, |(_, to)| *to)
    }

    /// Like [`Net::run_until`], with each side driven like the runtime's
    /// loop: on a wake-up, read every queued datagram, then run the timers
    /// (or the reverse with `timers_first`), and nothing while frozen.
    fn run_driven_until(&mut self, end: Instant) {
        loop {
            let mut next: Option<Instant> = None;
            for Reverse((at, _, to, _)) in self.wire.iter() {
                let t = self.runs_at(*to, *at);
                next = Some(next.map_or(t, |n| n.min(t)));
            }
            for i in 0..2 {
                if let Some(d) = self.sides[i].e.poll_timeout() {
                    let t = self.runs_at(i, d);
                    next = Some(next.map_or(t, |n| n.min(t)));
                }
            }
            let Some(t) = next.filter(|&t| t <= end) else {
                break;
            };
            self.now = self.now.max(t);
            for i in 0..2 {
                if self.runs_at(i, self.now) != self.now {
                    continue; // starved
                }
                if self.timers_first {
                    self.sides[i].e.handle_timeout(self.now);
                    self.flush(i);
                }
                let mut keep = vec![];
                while let Some(Reverse(item)) = self.wire.pop() {
                    if item.0 > self.now {
                        self.wire.push(Reverse(item));
                        break;
                    }
                    if item.2 != i {
                        keep.push(item);
                        continue;
                    }
                    let meta = RxMeta {
                        source: self.sides[1 - i].ip,
                        ifindex: None,
                        ttl: Some(255),
                    };
                    let _ = self.sides[i].e.handle_packet(self.now, &item.3, meta);
                    self.flush(i);
                }
                self.wire.extend(keep.into_iter().map(Reverse));
                if !self.timers_first {
                    self.sides[i].e.handle_timeout(self.now);
                    self.flush(i);
                }
            }
        }
        self.now = end;
    }

    fn flush(&mut self, i: usize) {
        let mut buf = [0u8; 64];
        while let Some(t) = self.sides[i].e.poll_transmit(self.now, &mut buf) {
            let b = &buf[..t.len];
            self.sides[i]
                .sent
                .push((self.now, b[1] & 0x20 != 0, b[1] & 0x10 != 0));
            if self.rng.random_bool(self.loss[i]) {
                continue;
            }
            let delay = if self.max_delay.is_zero() {
                Duration::ZERO
            } else {
                self.max_delay.mul_f64(self.rng.random())
            };
            let at = (self.now + delay).max(self.fifo[i].unwrap_or(self.now));
            self.fifo[i] = Some(at);
            self.seq += 1;
            self.wire.push(Reverse((at, self.seq, 1 - i, b.to_vec())));
        }
        while let Some((_, ev)) = self.sides[i].e.poll_event() {
            match ev {
                Event::StateChange(c) => self.sides[i].changes.push(c),
                Event::PollComplete => self.sides[i].polls += 1,
                _ => {}
            }
        }
    }

    /// Run until `end`, processing every deadline and delivery in order.
    fn run_until(&mut self, end: Instant) {
        loop {
            let mut next = self.wire.peek().map(|Reverse((t, ..))| *t);
            for s in &mut self.sides {
                next = match (next, s.e.poll_timeout()) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            let Some(t) = next.filter(|&t| t <= end) else {
                break;
            };
            self.now = self.now.max(t);
            while let Some(Reverse((at, ..))) = self.wire.peek() {
                if *at > self.now {
                    break;
                }
                let Reverse((_, _, to, bytes)) = self.wire.pop().unwrap();
                let meta = RxMeta {
                    source: self.sides[1 - to].ip,
                    ifindex: None,
                    ttl: Some(255),
                };
                let _ = self.sides[to].e.handle_packet(self.now, &bytes, meta);
                self.flush(to);
            }
            for i in 0..2 {
                self.sides[i].e.handle_timeout(self.now);
                self.flush(i);
            }
        }
        self.now = end;
    }

    fn run(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    fn state(&self, i: usize) -> State {
        self.sides[i].e.snapshot(self.sides[i].id).unwrap().state
    }

    fn failures(&self, i: usize) -> usize {
        self.sides[i]
            .changes
            .iter()
            .filter(|c| c.is_failure())
            .count()
    }
}

fn cfg(ms: u32, mult: u8) -> Config {
    Config {
        desired_min_tx: ms * MS,
        required_min_rx: ms * MS,
        detect_mult: mult,
        ..Config::default()
    }
}

#[test]
fn comes_up_and_never_flaps_at_zero_loss() {
    // RFC 5880 §6.2 three-way handshake; §6.8.4 no spurious detection.
    for seed in 0..20 {
        let mut n = Net::new(seed, cfg(50, 3));
        n.max_delay = 5 * MS;
        n.run(3 * Duration::from_secs(1));
        assert_eq!(
            (n.state(0), n.state(1)),
            (State::Up, State::Up),
            "seed {seed}"
        );
        n.run(60 * Duration::from_secs(1));
        for i in 0..2 {
            let path: Vec<(State, bfd::Diag, u128)> = n.sides[i]
                .changes
                .iter()
                .map(|c| (c.to, c.diag, (c.at - n.start).as_millis()))
                .collect();
            let other: Vec<(State, bfd::Diag, u128)> = n.sides[1 - i]
                .changes
                .iter()
                .map(|c| (c.to, c.diag, (c.at - n.start).as_millis()))
                .collect();
            assert!(
                path.len() <= 2 && path.last().unwrap().0 == State::Up,
                "seed {seed} side {i}: {path:?} other {other:?}"
            );
            assert_eq!(n.failures(i), 0);
            assert!(n.sides[i].polls >= 1, "going Up polls (rule 29)");
        }
    }
}

#[test]
fn detection_within_detect_time_after_cut() {
    // RFC 5880 §6.8.4: Down no later than the Detection Time after the last
    // packet, and no earlier than Detection Time minus one tx interval after
    // the cut.
    for seed in 0..20 {
        let mut n = Net::new(seed, cfg(50, 3));
        n.run(5 * Duration::from_secs(1));
        assert_eq!(n.state(1), State::Up);
        let cut = n.now;
        n.loss[0] = 1.0;
        n.run(Duration::from_secs(1));
        let c = n.sides[1]
            .changes
            .iter()
            .find(|c| c.to == State::Down)
            .expect("detected");
        let took = c.at - cut;
        assert!(took <= 150 * MS, "seed {seed}: {took:?}");
        assert!(took >= 100 * MS, "seed {seed}: {took:?}");
        assert!(c.is_failure());
        // A learns from B's Down (diag 3) at once.
        let a = n.sides[0]
            .changes
            .iter()
            .find(|c| c.to == State::Down)
            .expect("A down");
        assert!(a.at - c.at <= 5 * MS, "{:?}", a.at - c.at);
        let _ = n.start;
    }
}

#[test]
fn poll_final_timer_change_without_flap() {
    // RFC 5880 §6.5, §6.8.3: A slows to 200 ms; P on A's packets until B's
    // F; then A transmits at 200 ms; no state change.
    for seed in 0..10 {
        let mut n = Net::new(seed, cfg(50, 3));
        n.max_delay = 2 * MS;
        n.run(5 * Duration::from_secs(1));
        let polls0 = n.sides[0].polls;
        let t0 = n.now;
        let id = n.sides[0].id;
        n.sides[0].e.set_timers(n.now, id, &cfg(200, 3)).unwrap();
        n.flush(0);
        n.run(2 * Duration::from_secs(1));
        assert_eq!(n.sides[0].polls, polls0 + 1, "seed {seed}");
        let after: Vec<_> = n.sides[0].sent.iter().filter(|s| s.0 >= t0).collect();
        let first_p = after.iter().position(|s| s.1).expect("a Poll");
        let finals_b = n.sides[1].sent.iter().filter(|s| s.0 >= t0 && s.2).count();
        assert!(finals_b >= 1);
        assert_eq!(n.failures(0) + n.failures(1), 0, "no flap");
        let sa = n.sides[0].e.snapshot(id).unwrap();
        assert_eq!(sa.tx_interval_us, 200_000);
        let sb = n.sides[1].e.snapshot(n.sides[1].id).unwrap();
        assert_eq!(sb.tx_interval_us, 200_000, "B obeys A's Required Min RX");
        assert_eq!(sb.detection_time, 600 * MS);
        let _ = first_p;
    }
}

#[test]
fn admin_down_reported_distinctly_on_both_sides() {
    // RFC 5882 §4.1.
    let mut n = Net::new(1, cfg(50, 3));
    n.run(5 * Duration::from_secs(1));
    let id = n.sides[0].id;
    n.sides[0].e.admin_down(n.now, id).unwrap();
    n.flush(0);
    n.run(Duration::from_secs(1));
    let a = n.sides[0].changes.last().unwrap();
    let b = n.sides[1].changes.last().unwrap();
    assert!(a.is_admin_down() && !a.is_failure());
    assert_eq!((b.to, b.remote_state), (State::Down, State::AdminDown));
    assert!(b.is_admin_down() && !b.is_failure());
    n.sides[0].e.admin_up(n.now, id).unwrap();
    n.flush(0);
    n.run(5 * Duration::from_secs(1));
    assert_eq!((n.state(0), n.state(1)), (State::Up, State::Up));
}

#[test]
fn flap_counts_under_loss_seed_sweep() {
    // Flaps grow with loss; at 1% loss with 3 x 50 ms they are rare.
    let mut totals = vec![];
    for loss in [0.0, 0.01, 0.05, 0.2] {
        let mut flaps = 0;
        for seed in 0..8 {
            let mut n = Net::new(seed, cfg(50, 3));
            n.run(5 * Duration::from_secs(1));
            n.loss = [loss, loss];
            n.run(60 * Duration::from_secs(1));
            flaps += n.failures(0) + n.failures(1);
        }
        eprintln!(
            "loss {:>4.0}%: {flaps} flaps over 8 seeds x 60 s x 2 sides",
            loss * 100.0
        );
        totals.push(flaps);
    }
    assert_eq!(totals[0], 0);
    assert!(totals[1] <= 2, "{totals:?}");
    assert!(totals[3] > totals[1], "{totals:?}");
}

#[test]
fn released_session_sends_admin_down_then_disappears() {
    // RFC 5880 §6.8.16 / §6.8.18.
    let mut n = Net::new(3, cfg(50, 3));
    n.run(5 * Duration::from_secs(1));
    let id = n.sides[0].id;
    n.sides[0].e.remove_session(n.now, id).unwrap();
    n.flush(0);
    n.run(5 * Duration::from_secs(1));
    assert!(n.sides[0].e.snapshot(id).is_none());
    let b = n.sides[1].changes.last().unwrap();
    assert!(b.is_admin_down());
}

/// The longest silence, as received by `to` (arrival times of the packets
/// the other side sent), that ends at or before `until`.
fn longest_gap_before(n: &Net, from: usize, until: Instant) -> Duration {
    let sent: Vec<Instant> = n.sides[from]
        .sent
        .iter()
        .map(|s| s.0)
        .filter(|&t| t <= until)
        .collect();
    let mut worst = until - *sent.last().unwrap_or(&n.start);
    for w in sent.windows(2) {
        worst = worst.max(w[1] - w[0]);
    }
    worst
}

#[test]
fn starved_scheduler_flaps_only_on_real_silence() {
    // RFC 5880 §6.8.4: a session goes Down only when no packet has been
    // received for a Detection Time (150 ms at 50 ms x 3). Side A's driver
    // is starved for `stall` every 2 s (it neither reads, sends nor runs
    // timers); B is healthy, so B's packets keep arriving in A's socket.
    let episodes = |n: &mut Net, stall: Duration| {
        n.run_driven_until(n.now + 5 * Duration::from_secs(1));
        assert_eq!((n.state(0), n.state(1)), (State::Up, State::Up));
        for k in 1..=10u32 {
            let from = n.now + Duration::from_secs(2) * k;
            n.frozen[0].push((from, from + stall));
        }
        n.run_driven_until(n.now + Duration::from_secs(22));
    };
    let detect_expired = |n: &Net, i: usize| -> Vec<Instant> {
        n.sides[i]
            .changes
            .iter()
            .filter(|c| c.diag == bfd::Diag::ControlDetectionTimeExpired)
            .map(|c| c.at)
            .collect()
    };
    let (mut b_flaps, mut false_a_flaps) = (0, 0);
    for seed in 0..20 {
        // 90 ms stalls: A's packets are at most 50 + 90 = 140 ms apart,
        // under the Detection Time: nobody goes Down.
        let mut n = Net::new(seed, cfg(50, 3));
        episodes(&mut n, 90 * MS);
        assert_eq!(
            n.failures(0) + n.failures(1),
            0,
            "seed {seed}: 90 ms stalls"
        );

        // 140 ms stalls, packets read before timers (the runtime's order):
        // A never expires (B's packets wait in its socket and are read
        // first); B expires only after a real silence of A >= 150 ms.
        let mut n = Net::new(seed, cfg(50, 3));
        episodes(&mut n, 140 * MS);
        assert_eq!(
            detect_expired(&n, 0),
            vec![],
            "seed {seed}: A never expires"
        );
        for at in detect_expired(&n, 1) {
            let gap = longest_gap_before(&n, 0, at);
            assert!(
                gap >= 150 * MS,
                "seed {seed}: B expired after a {gap:?} gap"
            );
            b_flaps += 1;
        }

        // The same stalls with timers run before the queued packets: A
        // declares B dead although B's packets are waiting (a false flap).
        let mut n = Net::new(seed, cfg(50, 3));
        n.timers_first = true;
        episodes(&mut n, 140 * MS);
        false_a_flaps += detect_expired(&n, 0).len();
    }
    eprintln!(
        "140 ms stalls, 20 seeds x 10: B detected {b_flaps} real silences; timers-first order: {false_a_flaps} false expiries at A"
    );
    assert!(b_flaps > 0, "some stalls follow a long enough gap");
    assert!(
        false_a_flaps > 0,
        "timers-first order expires sessions with queued packets"
    );
}

// RFC 5880 §6.8.3: while not Up a session sends at the idle rate (Calico's
// BFDConfiguration `idleSendInterval`, 1 min by default, on the node), and
// §6.8.7 sends at once when the state changes. The ToR idles at 1 s (BIRD's
// default). After a 2 s cut, both ends must come back Up within about the
// ToR's idle interval, not the node's, and then stay Up for minutes (what
// `dualtor-vs-bird` saw as a reset ~45 s after Up).
#[test]
fn node_idling_at_a_minute_recovers_with_the_tor_and_stays_up() {
    for seed in 0..20 {
        let mut n = Net::with_configs(
            seed,
            [
                Config {
                    idle_tx: Duration::from_secs(60),
                    ..cfg(100, 3)
                },
                cfg(100, 3),
            ],
        );
        n.max_delay = 2 * MS;
        // The runtime sends the first packet when the session is created.
        n.flush(0);
        n.flush(1);
        n.run(3 * Duration::from_secs(1));
        assert_eq!(
            (n.state(0), n.state(1)),
            (State::Up, State::Up),
            "seed {seed}"
        );
        n.loss = [1.0, 1.0];
        n.run(2 * Duration::from_secs(1));
        assert_eq!(
            (n.state(0), n.state(1)),
            (State::Down, State::Down),
            "seed {seed}"
        );
        let healed = n.now;
        n.loss = [0.0, 0.0];
        n.run(120 * Duration::from_secs(1));
        for i in 0..2 {
            let after: Vec<(State, u128)> = n.sides[i]
                .changes
                .iter()
                .filter(|c| c.at >= healed)
                .map(|c| (c.to, (c.at - healed).as_millis()))
                .collect();
            let up = after.iter().find(|(s, _)| *s == State::Up);
            assert!(
                up.is_some_and(|(_, ms)| *ms <= 2_000),
                "seed {seed} side {i}: {after:?}"
            );
            assert_eq!(
                after.last().map(|c| c.0),
                Some(State::Up),
                "seed {seed} side {i}: {after:?}"
            );
            assert_eq!(
                after.iter().filter(|(s, _)| *s == State::Down).count(),
                0,
                "seed {seed} side {i}: {after:?}"
            );
        }
    }
}
