//! One test per rule of `shared/spec/bfd-rfc5880.md` (RFC 5880 async mode,
//! RFC 5881 single hop). Packets are built byte by byte here, independently
//! of `bfd::packet`, and expected values come from the RFC text.
#![allow(clippy::disallowed_methods)] // tests may read the clock for a base instant

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use bfd::auth::{Auth, AuthType, ConfigError as AuthConfigError, Key};
use bfd::engine::Error as EngineError;
use bfd::session::{Config, ConfigError, Event, Session, StateChange};
use bfd::{Diag, DropReason, Engine, Path, Request, RxMeta, SessionId, State};
use md5::{Digest as _, Md5};
use sha1::Sha1;

const LOCAL: u32 = 0x0101_0101;
const REMOTE: u32 = 0x0202_0202;
const MS: Duration = Duration::from_millis(1);

/// Hand-built Control packet (RFC 5880 §4.1), no auth.
#[derive(Clone, Copy)]
struct P {
    vers: u8,
    diag: u8,
    sta: State,
    p: bool,
    f: bool,
    d: bool,
    m: bool,
    mult: u8,
    my: u32,
    your: u32,
    tx_us: u32,
    rx_us: u32,
}

fn p(sta: State, your: u32) -> P {
    P {
        vers: 1,
        diag: 0,
        sta,
        p: false,
        f: false,
        d: false,
        m: false,
        mult: 3,
        my: REMOTE,
        your,
        tx_us: 50_000,
        rx_us: 50_000,
    }
}

impl P {
    fn bytes(&self) -> Vec<u8> {
        let mut b = vec![
            (self.vers << 5) | self.diag,
            ((self.sta as u8) << 6)
                | (u8::from(self.p) << 5)
                | (u8::from(self.f) << 4)
                | (u8::from(self.d) << 1)
                | u8::from(self.m),
            self.mult,
            24,
        ];
        for v in [self.my, self.your, self.tx_us, self.rx_us, 0] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b
    }

    /// Append an auth section by hand (§4.2-§4.4) and sign it with an
    /// independent MD5/SHA1 computation.
    fn with_auth(&self, auth_type: u8, key_id: u8, key: &[u8], seq: u32) -> Vec<u8> {
        let mut b = self.bytes();
        b[1] |= 0x04;
        if auth_type == 1 {
            b.extend_from_slice(&[1, 3 + key.len() as u8, key_id]);
            b.extend_from_slice(key);
        } else {
            let dlen = if auth_type <= 3 { 16 } else { 20 };
            b.extend_from_slice(&[auth_type, 8 + dlen as u8, key_id, 0]);
            b.extend_from_slice(&seq.to_be_bytes());
            let mut padded = vec![0u8; dlen];
            padded[..key.len()].copy_from_slice(key);
            b.extend_from_slice(&padded);
            b[3] = b.len() as u8;
            let digest: Vec<u8> = if dlen == 16 {
                Md5::digest(&b).to_vec()
            } else {
                Sha1::digest(&b).to_vec()
            };
            let n = b.len();
            b[n - dlen..].copy_from_slice(&digest);
            return b;
        }
        b[3] = b.len() as u8;
        b
    }
}

/// Fields of a transmitted packet, decoded by hand.
#[derive(Debug, Clone, Copy)]
struct Tx {
    bytes: [u8; 52],
    len: usize,
}

impl Tx {
    fn vers(&self) -> u8 {
        self.bytes[0] >> 5
    }
    fn diag(&self) -> u8 {
        self.bytes[0] & 0x1f
    }
    fn sta(&self) -> u8 {
        self.bytes[1] >> 6
    }
    fn poll(&self) -> bool {
        self.bytes[1] & 0x20 != 0
    }
    fn fin(&self) -> bool {
        self.bytes[1] & 0x10 != 0
    }
    fn flags_low(&self) -> u8 {
        self.bytes[1] & 0x0f
    }
    fn mult(&self) -> u8 {
        self.bytes[2]
    }
    fn u32(&self, at: usize) -> u32 {
        u32::from_be_bytes(self.bytes[at..at + 4].try_into().unwrap())
    }
}

struct H {
    s: Session,
    now: Instant,
    sent: Vec<(Instant, Tx)>,
}

fn fast() -> Config {
    Config {
        desired_min_tx: 50 * MS,
        required_min_rx: 50 * MS,
        ..Config::default()
    }
}

impl H {
    fn new(cfg: Config) -> Self {
        let now = Instant::now();
        Self {
            s: Session::new(now, LOCAL, cfg, 7).unwrap(),
            now,
            sent: Vec::new(),
        }
    }
    fn rx(&mut self, b: &[u8]) -> Result<(), DropReason> {
        let r = self.s.handle_packet(self.now, b, Some(255));
        self.flush();
        r
    }
    fn rxp(&mut self, p: P) -> Result<(), DropReason> {
        self.rx(&p.bytes())
    }
    fn flush(&mut self) {
        let mut buf = [0u8; 52];
        while let Some(len) = self.s.poll_transmit(self.now, &mut buf) {
            self.sent.push((self.now, Tx { bytes: buf, len }));
        }
    }
    /// Advance in steps, firing timers at their exact deadlines.
    fn advance(&mut self, d: Duration) {
        let end = self.now + d;
        while let Some(t) = self.s.poll_timeout() {
            if t > end {
                break;
            }
            self.now = t.max(self.now);
            self.s.handle_timeout(self.now);
            self.flush();
        }
        self.now = end;
    }
    fn last(&self) -> Tx {
        self.sent.last().expect("a packet was sent").1
    }
    fn take(&mut self) -> Vec<(Instant, Tx)> {
        std::mem::take(&mut self.sent)
    }
    fn events(&mut self) -> Vec<StateChange> {
        let mut v = Vec::new();
        while let Some(e) = self.s.poll_event() {
            if let Event::StateChange(c) = e {
                v.push(c);
            }
        }
        v
    }
    /// Down -> Init -> Up via the three-way handshake (§6.2), Poll ended.
    fn up(cfg: Config) -> Self {
        let mut h = Self::new(cfg);
        h.flush();
        h.rxp(p(State::Down, 0)).unwrap();
        h.rxp(p(State::Up, LOCAL)).unwrap();
        assert_eq!(h.s.state(), State::Up);
        let mut f = p(State::Up, LOCAL);
        f.f = true;
        h.rxp(f).unwrap();
        h.events();
        h.take();
        h
    }
}

fn drops(h: &H, r: DropReason) -> u64 {
    h.s.counters().drops.get(r)
}

// ---------------------------------------------------------------- A. reception

#[test]
fn rule_01_version_not_one_is_discarded() {
    // RFC 5880 §6.8.6: "If the version number is not correct (1), the packet MUST be discarded."
    let mut h = H::new(fast());
    let mut x = p(State::Down, 0);
    x.vers = 2;
    assert_eq!(h.rxp(x), Err(DropReason::BadVersion));
    assert_eq!(drops(&h, DropReason::BadVersion), 1);
    assert_eq!(h.s.snapshot().remote_discr, 0);
    assert_eq!(h.s.state(), State::Down);
}

#[test]
fn rule_02_length_checks() {
    // RFC 5880 §6.8.6: Length < 24 (A=0) or < 26 (A=1), or > payload: discard.
    let mut h = H::new(fast());
    let mut b = p(State::Down, 0).bytes();
    b[3] = 23;
    assert_eq!(h.rx(&b), Err(DropReason::LengthTooShort));
    let mut b = p(State::Down, 0).bytes();
    b[1] |= 0x04;
    b[3] = 25;
    b.push(0);
    assert_eq!(h.rx(&b), Err(DropReason::LengthTooShort));
    let mut b = p(State::Down, 0).bytes();
    b[3] = 30;
    assert_eq!(h.rx(&b), Err(DropReason::LengthExceedsPayload));
    assert_eq!(h.rx(&b[..20]), Err(DropReason::Truncated));
    assert_eq!(h.s.counters().drops.total(), 4);
    assert_eq!(h.s.counters().packets_in, 0);
}

#[test]
fn rule_03_zero_mult_m_bit_zero_my_discriminator() {
    // RFC 5880 §6.8.6 and §4.1 (M "MUST be zero").
    let mut h = H::new(fast());
    let mut x = p(State::Down, 0);
    x.mult = 0;
    assert_eq!(h.rxp(x), Err(DropReason::ZeroDetectMult));
    let mut x = p(State::Down, 0);
    x.m = true;
    assert_eq!(h.rxp(x), Err(DropReason::MultipointSet));
    let mut x = p(State::Down, 0);
    x.my = 0;
    assert_eq!(h.rxp(x), Err(DropReason::ZeroMyDiscriminator));
    for r in [
        DropReason::ZeroDetectMult,
        DropReason::MultipointSet,
        DropReason::ZeroMyDiscriminator,
    ] {
        assert_eq!(drops(&h, r), 1, "{r}");
    }
    // M is zero on transmit.
    h.flush();
    assert_eq!(h.last().bytes[1] & 1, 0);
}

fn v4(last: u8) -> IpAddr {
    IpAddr::from(Ipv4Addr::new(10, 0, 0, last))
}

fn req(peer: IpAddr, ifindex: Option<u32>) -> Request {
    Request {
        path: Path {
            peer,
            local: None,
            ifindex,
        },
        config: fast(),
    }
}

fn meta(src: IpAddr) -> RxMeta {
    RxMeta {
        source: src,
        ifindex: None,
        ttl: Some(255),
    }
}

#[test]
fn rule_04_your_discriminator_selects_session() {
    // RFC 5880 §6.8.6, §6.3: nonzero Your Discriminator alone selects the
    // session, whatever the source; none found: discard.
    let now = Instant::now();
    let mut e = Engine::new(1);
    let a = e.add_session(now, req(v4(2), None)).unwrap();
    let b = e.add_session(now, req(v4(3), None)).unwrap();
    let mut x = p(State::Down, b.0);
    assert_eq!(e.handle_packet(now, &x.bytes(), meta(v4(2))), Ok(b));
    assert_eq!(e.snapshot(b).unwrap().remote_discr, REMOTE);
    assert_eq!(e.snapshot(a).unwrap().remote_discr, 0);
    x.your = a.0 ^ b.0 ^ 0x5555; // neither
    if x.your == a.0 || x.your == b.0 || x.your == 0 {
        x.your = 1;
    }
    assert_eq!(
        e.handle_packet(now, &x.bytes(), meta(v4(2))),
        Err(DropReason::UnknownYourDiscriminator)
    );
    assert_eq!(e.drops().get(DropReason::UnknownYourDiscriminator), 1);
    // A bare session does the same check against its own discriminator.
    let mut h = H::new(fast());
    assert_eq!(
        h.rxp(p(State::Down, LOCAL + 1)),
        Err(DropReason::UnknownYourDiscriminator)
    );
}

#[test]
fn rule_05_zero_your_discriminator() {
    // RFC 5880 §6.8.6: Your Discr 0 and State not Down/AdminDown: discard;
    // otherwise select by (peer, interface, family) (RFC 5881 §3).
    let now = Instant::now();
    let mut e = Engine::new(2);
    let a = e.add_session(now, req(v4(2), Some(7))).unwrap();
    let a6 = e
        .add_session(now, req(IpAddr::from(Ipv6Addr::LOCALHOST), Some(7)))
        .unwrap();
    assert_eq!(
        e.handle_packet(now, &p(State::Init, 0).bytes(), meta(v4(2))),
        Err(DropReason::ZeroYourDiscriminatorNotDown)
    );
    assert_eq!(
        e.handle_packet(now, &p(State::Up, 0).bytes(), meta(v4(2))),
        Err(DropReason::ZeroYourDiscriminatorNotDown)
    );
    let on = |src, i| RxMeta {
        source: src,
        ifindex: Some(i),
        ttl: Some(255),
    };
    assert_eq!(
        e.handle_packet(now, &p(State::Down, 0).bytes(), on(v4(2), 8)),
        Err(DropReason::NoSessionForPeer)
    );
    assert_eq!(
        e.handle_packet(now, &p(State::Down, 0).bytes(), on(v4(9), 7)),
        Err(DropReason::NoSessionForPeer)
    );
    assert_eq!(
        e.handle_packet(now, &p(State::Down, 0).bytes(), on(v4(2), 7)),
        Ok(a)
    );
    assert_eq!(
        e.handle_packet(
            now,
            &p(State::AdminDown, 0).bytes(),
            on(IpAddr::from(Ipv6Addr::LOCALHOST), 7)
        ),
        Ok(a6)
    );
    assert_eq!(e.drops().get(DropReason::ZeroYourDiscriminatorNotDown), 2);
    assert_eq!(e.drops().get(DropReason::NoSessionForPeer), 2);
}

#[test]
fn rule_06_ttl_must_be_255_single_hop() {
    // RFC 5881 §5: received TTL/Hop Limit != 255 without auth: discard.
    let mut h = H::new(fast());
    let r =
        h.s.handle_packet(h.now, &p(State::Down, 0).bytes(), Some(254));
    assert_eq!(r, Err(DropReason::BadTtl));
    assert_eq!(h.s.state(), State::Down);
    assert_eq!(h.s.snapshot().remote_discr, 0);
    assert_eq!(h.rxp(p(State::Down, 0)), Ok(()));
    assert_eq!(h.s.state(), State::Init);
}

fn md5_cfg(meticulous: bool) -> Config {
    let kind = if meticulous {
        AuthType::MeticulousKeyedMd5
    } else {
        AuthType::KeyedMd5
    };
    Config {
        auth: Some(Auth::single(kind, 5, b"secret").unwrap()),
        ..fast()
    }
}

#[test]
fn rule_07_auth_present_vs_configured() {
    // RFC 5880 §6.8.6: A=1 without auth, A=0 with auth: discard; A=1: §6.7.
    let mut h = H::new(fast());
    let b = p(State::Down, 0).with_auth(2, 5, b"secret", 1);
    assert_eq!(h.rx(&b), Err(DropReason::AuthUnexpected));
    let mut h = H::new(md5_cfg(false));
    assert_eq!(h.rxp(p(State::Down, 0)), Err(DropReason::AuthMissing));
    let b = p(State::Down, 0).with_auth(4, 5, b"secret", 1);
    assert_eq!(h.rx(&b), Err(DropReason::AuthTypeMismatch));
    let b = p(State::Down, 0).with_auth(2, 5, b"secret", 1);
    assert_eq!(h.rx(&b), Ok(()));
    assert_eq!(h.s.state(), State::Init);
}

#[test]
fn rule_08_poll_and_final_together_discarded() {
    // RFC 5880 §6.5: P and F MUST NOT both be set; discarded and counted.
    let mut h = H::new(fast());
    h.flush();
    h.take();
    let mut x = p(State::Down, 0);
    x.p = true;
    x.f = true;
    assert_eq!(h.rxp(x), Err(DropReason::PollAndFinal));
    assert_eq!(drops(&h, DropReason::PollAndFinal), 1);
    assert!(h.sent.is_empty(), "no Final for a discarded Poll");
    assert_eq!(h.s.snapshot().remote_discr, 0);
}

#[test]
fn rule_09_remote_variables_set() {
    // RFC 5880 §6.8.6: RemoteDiscr, RemoteSessionState, RemoteDemandMode,
    // RemoteMinRxInterval from the packet.
    let mut h = H::new(fast());
    let mut x = p(State::Down, 0);
    x.rx_us = 123_456;
    x.d = true;
    h.rxp(x).unwrap();
    let s = h.s.snapshot();
    assert_eq!(s.remote_discr, REMOTE);
    assert_eq!(s.remote_state, State::Down);
    assert!(s.remote_demand);
    assert_eq!(s.remote_min_rx_us, 123_456);
}

#[test]
fn rule_10_final_ends_poll() {
    // RFC 5880 §6.8.6: Poll running and F=1: terminate it, apply deferred values.
    let mut h = H::new(fast());
    h.rxp(p(State::Down, 0)).unwrap();
    h.rxp(p(State::Up, LOCAL)).unwrap();
    assert!(h.s.snapshot().polling, "going Up starts a Poll (rule 29)");
    let mut f = p(State::Up, LOCAL);
    f.f = true;
    h.rxp(f).unwrap();
    assert!(!h.s.snapshot().polling);
    let evs: Vec<Event> = std::iter::from_fn(|| h.s.poll_event()).collect();
    assert!(evs.contains(&Event::PollComplete));
    assert_eq!(h.s.counters().polls_completed, 1);
}

#[test]
fn rule_11_intervals_recomputed_on_every_packet() {
    // RFC 5880 §6.8.6 -> §6.8.7 and §6.8.4.
    let mut h = H::up(fast());
    let mut x = p(State::Up, LOCAL);
    x.rx_us = 200_000;
    x.tx_us = 70_000;
    x.mult = 4;
    h.rxp(x).unwrap();
    let s = h.s.snapshot();
    assert_eq!(s.tx_interval_us, 200_000);
    assert_eq!(s.detection_time, Duration::from_micros(4 * 70_000));
}

#[test]
fn rule_12_local_admin_down_discards_after_updating() {
    // RFC 5880 §6.8.6: AdminDown: discard, after the remote variables.
    let mut h = H::new(fast());
    h.s.admin_down(h.now);
    assert_eq!(h.rxp(p(State::Down, 0)), Err(DropReason::LocalAdminDown));
    assert_eq!(h.s.state(), State::AdminDown);
    assert_eq!(h.s.snapshot().remote_discr, REMOTE);
    assert_eq!(drops(&h, DropReason::LocalAdminDown), 1);
}

#[test]
fn rule_13_received_admin_down() {
    // RFC 5880 §6.8.6: received AdminDown, local not Down: Down, diag 3.
    let mut h = H::up(fast());
    h.rxp(p(State::AdminDown, LOCAL)).unwrap();
    assert_eq!(h.s.state(), State::Down);
    assert_eq!(h.s.snapshot().local_diag, Diag::NeighborSignaledSessionDown);
    let mut h = H::new(fast());
    h.rxp(p(State::AdminDown, 0)).unwrap();
    assert_eq!(h.s.state(), State::Down);
    assert!(h.events().is_empty());
}

#[test]
fn rule_14_local_down_transitions() {
    // RFC 5880 §6.8.6 / §6.2: Down: Down->Init, Init->Up, Up stays Down.
    for (rcv, want) in [
        (State::Down, State::Init),
        (State::Init, State::Up),
        (State::Up, State::Down),
    ] {
        let mut h = H::new(fast());
        h.rxp(p(rcv, if rcv == State::Down { 0 } else { LOCAL }))
            .unwrap();
        assert_eq!(h.s.state(), want, "Down + rx {rcv}");
    }
}

#[test]
fn rule_15_local_init_and_up_transitions() {
    // RFC 5880 §6.8.6: Init: Init/Up -> Up, Down stays; Up: Down -> Down diag 3.
    for (rcv, want) in [
        (State::Init, State::Up),
        (State::Up, State::Up),
        (State::Down, State::Init),
    ] {
        let mut h = H::new(fast());
        h.rxp(p(State::Down, 0)).unwrap();
        assert_eq!(h.s.state(), State::Init);
        h.rxp(p(rcv, LOCAL)).unwrap();
        assert_eq!(h.s.state(), want, "Init + rx {rcv}");
    }
    let mut h = H::up(fast());
    h.rxp(p(State::Down, LOCAL)).unwrap();
    assert_eq!(h.s.state(), State::Down);
    assert_eq!(h.s.snapshot().local_diag, Diag::NeighborSignaledSessionDown);
}

#[test]
fn rule_16_poll_answered_with_final_at_once() {
    // RFC 5880 §6.8.6: P=1: send P=0, F=1 as soon as practicable.
    let mut h = H::up(fast());
    h.advance(MS);
    h.take();
    let mut x = p(State::Up, LOCAL);
    x.p = true;
    h.rxp(x).unwrap();
    let sent = h.take();
    assert_eq!(sent.len(), 1, "one Final, no waiting for the tx timer");
    assert!(sent[0].1.fin());
    assert!(!sent[0].1.poll());
}

#[test]
fn rule_17_accepted_packet_restarts_detection_discarded_does_not() {
    // RFC 5880 §6.8.6, §6.8.4: detection time here is 3 x 50 ms = 150 ms.
    let mut h = H::up(fast());
    h.advance(100 * MS);
    h.rxp(p(State::Up, LOCAL)).unwrap();
    h.advance(100 * MS);
    assert_eq!(h.s.state(), State::Up, "restarted at t=100ms");
    // A discarded packet (wrong TTL) at t=200 does not restart it.
    let r =
        h.s.handle_packet(h.now, &p(State::Up, LOCAL).bytes(), Some(64));
    assert_eq!(r, Err(DropReason::BadTtl));
    h.advance(49 * MS);
    assert_eq!(h.s.state(), State::Up);
    h.advance(2 * MS);
    assert_eq!(
        h.s.state(),
        State::Down,
        "expired at t=250ms as if the drop never came"
    );
}

// ---------------------------------------------------------------- B. detection

#[test]
fn rule_18_detection_time_formula() {
    // RFC 5880 §6.8.4: remote Detect Mult x max(RequiredMinRx, remote DesiredMinTx).
    let mut h = H::new(fast());
    let mut x = p(State::Down, 0);
    x.mult = 4;
    x.tx_us = 80_000;
    h.rxp(x).unwrap();
    assert_eq!(
        h.s.snapshot().detection_time,
        Duration::from_micros(320_000)
    );
    let mut x = p(State::Init, LOCAL);
    x.mult = 2;
    x.tx_us = 10_000;
    h.rxp(x).unwrap();
    assert_eq!(
        h.s.snapshot().detection_time,
        Duration::from_micros(100_000)
    );
}

#[test]
fn rule_19_detection_expiry_goes_down_diag_1() {
    // RFC 5880 §6.8.4: Init/Up, no packet for DetectTime: Down, diag 1.
    let mut h = H::up(fast());
    let t0 = h.now;
    h.advance(150 * MS - Duration::from_micros(1));
    assert_eq!(h.s.state(), State::Up);
    h.advance(Duration::from_micros(1));
    assert_eq!(h.s.state(), State::Down);
    let ev = h.events();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        (ev[0].from, ev[0].to, ev[0].diag),
        (State::Up, State::Down, Diag::ControlDetectionTimeExpired)
    );
    assert_eq!(ev[0].at, t0 + 150 * MS);
    // Init too.
    let mut h = H::new(fast());
    h.rxp(p(State::Down, 0)).unwrap();
    h.advance(151 * MS);
    assert_eq!(h.s.state(), State::Down);
    assert_eq!(h.s.snapshot().local_diag, Diag::ControlDetectionTimeExpired);
}

#[test]
fn rule_20_remote_discr_reset_after_detection_time() {
    // RFC 5880 §6.8.1: RemoteDiscr = 0 after DetectTime without packets, any state.
    let mut h = H::new(fast());
    h.rxp(p(State::AdminDown, 0)).unwrap(); // stays Down
    assert_eq!(h.s.snapshot().remote_discr, REMOTE);
    h.advance(149 * MS);
    assert_eq!(h.s.snapshot().remote_discr, REMOTE);
    h.advance(2 * MS);
    assert_eq!(h.s.snapshot().remote_discr, 0);
    h.flush();
    h.advance(2000 * MS);
    assert_eq!(h.last().u32(8), 0, "Your Discriminator goes out as 0");
}

#[test]
fn rule_21_state_kept_one_detection_time_then_remote_min_rx_reset() {
    // RFC 5880 §6.8.1 / §6.8.18.
    let mut h = H::up(fast());
    let mut x = p(State::Up, LOCAL);
    x.rx_us = 70_000;
    h.rxp(x).unwrap();
    h.advance(149 * MS);
    assert_eq!(h.s.snapshot().remote_min_rx_us, 70_000);
    h.advance(2 * MS);
    assert_eq!(h.s.snapshot().remote_min_rx_us, 1);
}

#[test]
fn rule_22_demand_not_implemented_never_set_d() {
    // RFC 5880 §6.8.4 demand detection: not implemented; we never set D,
    // so our detection always runs on received packets.
    let mut h = H::up(fast());
    let mut x = p(State::Up, LOCAL);
    x.d = true;
    h.rxp(x).unwrap();
    h.advance(151 * MS);
    assert_eq!(h.s.state(), State::Down, "our detection keeps running");
    for (_, t) in &h.sent {
        assert_eq!(t.bytes[1] & 0x02, 0);
    }
}

// ---------------------------------------------------------------- C. transmission

fn gaps(sent: &[(Instant, Tx)]) -> Vec<Duration> {
    sent.windows(2).map(|w| w[1].0 - w[0].0).collect()
}

#[test]
fn rule_23_interval_is_max_of_desired_and_remote_min_rx() {
    // RFC 5880 §6.8.7.
    let mut h = H::up(fast());
    let mut x = p(State::Up, LOCAL);
    x.rx_us = 100_000;
    x.tx_us = 10_000;
    x.mult = 50; // keep detection out of the way
    h.rxp(x).unwrap();
    h.advance(120 * MS);
    h.take();
    h.advance(2000 * MS);
    let g = gaps(&h.take());
    assert!(g.len() >= 19, "{g:?}");
    for d in g {
        assert!((75 * MS..=100 * MS).contains(&d), "{d:?}");
    }
}

fn jitter_range(mult: u8) -> (Duration, Duration) {
    let mut h = H::up(Config {
        detect_mult: mult,
        ..fast()
    });
    let mut x = p(State::Up, LOCAL);
    x.mult = 255;
    x.tx_us = 1_000_000;
    h.rxp(x).unwrap();
    h.advance(60 * MS);
    h.take();
    h.advance(30_000 * MS);
    let g = gaps(&h.take());
    assert!(g.len() > 300);
    (*g.iter().min().unwrap(), *g.iter().max().unwrap())
}

#[test]
fn rule_24_jitter_75_to_100_or_75_to_90_at_mult_1() {
    // RFC 5880 §6.8.7.
    let (lo, hi) = jitter_range(3);
    assert!(
        lo >= Duration::from_micros(37_500) && lo < 40 * MS,
        "{lo:?}"
    );
    assert!(hi <= 50 * MS && hi > 48 * MS, "{hi:?}");
    let (lo, hi) = jitter_range(1);
    assert!(
        lo >= Duration::from_micros(37_500) && lo < 40 * MS,
        "{lo:?}"
    );
    assert!(hi <= 45 * MS && hi > 43 * MS, "{hi:?}");
}

#[test]
fn rule_25_passive_sends_nothing_until_remote_discr_known() {
    // RFC 5880 §6.8.7, §6.1.
    let mut h = H::new(Config {
        passive: true,
        ..fast()
    });
    h.advance(5000 * MS);
    assert!(h.sent.is_empty());
    h.rxp(p(State::Down, 0)).unwrap();
    h.advance(1000 * MS);
    assert!(!h.sent.is_empty());
    assert_eq!(h.last().u32(8), REMOTE);
}

#[test]
fn rule_26_no_periodic_when_remote_min_rx_zero_finals_still_go() {
    // RFC 5880 §6.8.7.
    let mut h = H::up(fast());
    let mut x = p(State::Up, LOCAL);
    x.rx_us = 0;
    x.mult = 100;
    h.rxp(x).unwrap();
    h.advance(60 * MS);
    h.take();
    h.advance(1000 * MS);
    assert!(h.take().is_empty());
    x.p = true;
    h.rxp(x).unwrap();
    let sent = h.take();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].1.fin());
    // Remote demand active (D=1, both Up) and no Poll: no periodic either.
    let mut h = H::up(fast());
    let mut x = p(State::Up, LOCAL);
    x.d = true;
    x.mult = 100;
    h.rxp(x).unwrap();
    h.advance(60 * MS);
    h.take();
    h.advance(1000 * MS);
    assert!(h.take().is_empty());
}

#[test]
fn rule_27_state_change_sends_at_once_and_d_never_set() {
    // RFC 5880 §6.8.7: SHOULD send when the contents change; D only in Demand.
    let mut h = H::new(fast());
    h.flush();
    h.advance(10 * MS);
    h.take();
    h.rxp(p(State::Down, 0)).unwrap();
    let s = h.take();
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].1.sta(), State::Init as u8);
    assert_eq!(s[0].1.bytes[1] & 0x02, 0);
}

#[test]
fn rule_28_transmitted_fields() {
    // RFC 5880 §6.8.7 field list.
    let mut h = H::up(Config {
        detect_mult: 4,
        ..fast()
    });
    h.advance(60 * MS);
    let t = h.last();
    assert_eq!(t.vers(), 1);
    assert_eq!(t.diag(), 0);
    assert_eq!(t.sta(), 3);
    assert_eq!(t.flags_low(), 0, "C, A, D, M clear");
    assert_eq!(t.mult(), 4);
    assert_eq!((t.bytes[3], t.len), (24, 24));
    assert_eq!(t.u32(4), LOCAL);
    assert_eq!(t.u32(8), REMOTE);
    assert_eq!(t.u32(12), 50_000);
    assert_eq!(t.u32(16), 50_000);
    assert_eq!(t.u32(20), 0, "Required Min Echo RX 0: no Echo");
}

// ---------------------------------------------------------------- D. Poll/Final

#[test]
fn rule_29_going_up_starts_a_poll() {
    // RFC 5880 §6.8.3: leaving the 1 s slow rate is a DesiredMinTx change.
    let mut h = H::new(fast());
    h.rxp(p(State::Down, 0)).unwrap();
    assert_eq!(h.last().u32(12), 1_000_000);
    h.rxp(p(State::Up, LOCAL)).unwrap();
    let t = h.last();
    assert_eq!(t.sta(), 3);
    assert!(t.poll());
    assert_eq!(t.u32(12), 50_000);
}

#[test]
fn rule_30_raised_desired_tx_waits_for_final() {
    // RFC 5880 §6.8.3.
    let mut h = H::up(fast());
    h.s.set_timers(h.now, 300 * MS, 50 * MS, 3).unwrap();
    let s = h.s.snapshot();
    assert!(s.polling);
    assert_eq!(s.desired_min_tx_us, 300_000, "advertised at once");
    assert_eq!(s.tx_interval_us, 50_000, "old interval until the Final");
    let mut f = p(State::Up, LOCAL);
    f.f = true;
    h.rxp(f).unwrap();
    assert_eq!(h.s.snapshot().tx_interval_us, 300_000);
}

#[test]
fn rule_31_lowered_required_rx_waits_for_final() {
    // RFC 5880 §6.8.3.
    let mut h = H::up(Config {
        required_min_rx: 100 * MS,
        ..fast()
    });
    let mut x = p(State::Up, LOCAL);
    x.tx_us = 10_000;
    h.rxp(x).unwrap();
    assert_eq!(h.s.snapshot().detection_time, 300 * MS);
    h.s.set_timers(h.now, 50 * MS, 20 * MS, 3).unwrap();
    assert_eq!(h.s.snapshot().required_min_rx_us, 20_000);
    assert_eq!(
        h.s.snapshot().detection_time,
        300 * MS,
        "old value until the Final"
    );
    x.f = true;
    h.rxp(x).unwrap();
    assert_eq!(h.s.snapshot().detection_time, 60 * MS);
}

#[test]
fn rule_32_other_changes_take_effect_at_once() {
    // RFC 5880 §6.8.3: lowered DesiredMinTx, raised RequiredMinRx: at once.
    let mut h = H::up(Config {
        desired_min_tx: 100 * MS,
        ..fast()
    });
    assert_eq!(h.s.snapshot().tx_interval_us, 100_000);
    h.s.set_timers(h.now, 20 * MS, 200 * MS, 3).unwrap();
    let s = h.s.snapshot();
    assert_eq!(s.tx_interval_us, 50_000, "max(20 ms, remote's 50 ms)");
    assert_eq!(s.detection_time, 600 * MS);
}

#[test]
fn rule_33_slow_rate_while_not_up() {
    // RFC 5880 §6.8.3, §6.8.1: >= 1 s while not Up, from creation.
    let mut h = H::new(fast());
    assert_eq!(h.s.snapshot().desired_min_tx_us, 1_000_000);
    h.flush();
    assert_eq!(h.last().u32(12), 1_000_000);
    h.advance(3500 * MS);
    let g = gaps(&h.take());
    assert!(
        g.iter().all(|d| (750 * MS..=1000 * MS).contains(d)),
        "{g:?}"
    );
    let mut h = H::up(fast());
    h.advance(151 * MS);
    assert_eq!(h.s.state(), State::Down);
    assert_eq!(h.last().u32(12), 1_000_000, "back to 1 s after a flap");
}

fn idle(idle_tx: Duration) -> Config {
    Config { idle_tx, ..fast() }
}

#[test]
fn rule_33_idle_tx_sets_the_rate_while_not_up_and_going_up_polls_to_the_fast_rate() {
    // RFC 5880 §6.8.3 (>= 1 s while not Up), §6.8.7 (jitter 75-100 % at
    // Detect Mult 3), §6.5 (going Up is a DesiredMinTx change: Poll/Final).
    let mut h = H::new(idle(2000 * MS));
    let s = h.s.snapshot();
    assert_eq!(s.desired_min_tx_us, 2_000_000);
    assert_eq!(s.tx_interval_us, 2_000_000);
    h.flush();
    assert_eq!(h.last().sta(), 1, "Down");
    assert_eq!(h.last().u32(12), 2_000_000, "Desired Min TX on the wire");
    h.advance(7000 * MS);
    let g = gaps(&h.take());
    assert!(g.len() >= 3, "{g:?}");
    assert!(
        g.iter().all(|d| (1500 * MS..=2000 * MS).contains(d)),
        "{g:?}"
    );
    // Init is not Up either.
    h.rxp(p(State::Down, 0)).unwrap();
    assert_eq!(h.last().sta(), 2, "Init");
    assert!(!h.last().poll());
    assert_eq!(h.last().u32(12), 2_000_000);
    assert_eq!(h.s.snapshot().tx_interval_us, 2_000_000);
    // Up: advertise 50 ms with P set, a lowered value in use at once.
    h.rxp(p(State::Up, LOCAL)).unwrap();
    let t = h.last();
    assert_eq!(t.sta(), 3, "Up");
    assert!(t.poll());
    assert_eq!(t.u32(12), 50_000);
    assert_eq!(h.s.snapshot().tx_interval_us, 50_000);
    let mut f = p(State::Up, LOCAL);
    f.f = true;
    h.rxp(f).unwrap();
    assert!(!h.s.snapshot().polling);
    assert_eq!(h.s.counters().polls_completed, 1);
    h.take();
    // Keep the session Up with a patient peer and check the fast rate.
    let mut x = p(State::Up, LOCAL);
    x.mult = 100;
    h.rxp(x).unwrap();
    h.take();
    h.advance(1000 * MS);
    let g = gaps(&h.take());
    assert!(g.len() >= 19, "{g:?}");
    assert!(
        g.iter()
            .all(|d| (37_500 * Duration::from_micros(1)..=50 * MS).contains(d)),
        "{g:?}"
    );
}

#[test]
fn rule_33_idle_tx_returns_after_a_flap() {
    // RFC 5880 §6.8.3: Down again, so the configured idle rate again.
    let mut h = H::up(idle(3000 * MS));
    assert_eq!(h.s.snapshot().desired_min_tx_us, 50_000);
    h.advance(151 * MS);
    assert_eq!(h.s.state(), State::Down);
    assert_eq!(h.last().sta(), 1);
    assert_eq!(h.last().u32(12), 3_000_000);
    assert_eq!(h.s.snapshot().tx_interval_us, 3_000_000);
    h.take();
    h.advance(12_000 * MS);
    let g = gaps(&h.take());
    assert!(g.len() >= 3, "{g:?}");
    assert!(
        g.iter().all(|d| (2250 * MS..=3000 * MS).contains(d)),
        "{g:?}"
    );
}

#[test]
fn rule_33_idle_tx_below_one_second_rejected() {
    // RFC 5880 §6.8.3 "not less than one second (1,000,000 microseconds)";
    // §4.1: intervals are 32-bit µs. Rejected, not clamped.
    let now = Instant::now();
    let below = Duration::from_micros(999_999);
    let e = Session::new(now, LOCAL, idle(below), 1).unwrap_err();
    assert_eq!(e, ConfigError::IdleTx(below));
    let e = Session::new(now, LOCAL, idle(Duration::ZERO), 1).unwrap_err();
    assert_eq!(e, ConfigError::IdleTx(Duration::ZERO));
    let above = Duration::from_micros(4_294_967_296);
    let e = Session::new(now, LOCAL, idle(above), 1).unwrap_err();
    assert_eq!(e, ConfigError::IdleTx(above));
    let s = Session::new(now, LOCAL, idle(Duration::from_secs(1)), 1).unwrap();
    assert_eq!(s.snapshot().desired_min_tx_us, 1_000_000);
    let s = Session::new(now, LOCAL, idle(Duration::from_micros(4_294_967_295)), 1).unwrap();
    assert_eq!(s.snapshot().desired_min_tx_us, 4_294_967_295);
    assert_eq!(Config::default().idle_tx, Duration::from_secs(1));
    // A rejected change leaves the session as it was.
    let mut h = H::new(idle(2000 * MS));
    let e = h.s.set_config(h.now, idle(below)).unwrap_err();
    assert_eq!(e, ConfigError::IdleTx(below));
    assert_eq!(h.s.config().idle_tx, 2000 * MS);
    assert_eq!(h.s.snapshot().desired_min_tx_us, 2_000_000);
}

#[test]
fn rule_33_idle_tx_larger_desired_tx_wins_while_not_up() {
    // RFC 5880 §6.8.3: the idle value is a floor; a larger DesiredMinTx
    // (here 5 s) is kept while not Up, as before idle_tx existed.
    let h = H::new(Config {
        desired_min_tx: 5000 * MS,
        ..idle(2000 * MS)
    });
    assert_eq!(h.s.snapshot().desired_min_tx_us, 5_000_000);
}

#[test]
fn rule_33_idle_tx_changed_on_a_running_session() {
    // RFC 5880 §6.8.3: while not Up the new idle value is advertised at
    // once; while Up it changes nothing on the wire and starts no Poll.
    let mut e = Engine::new(9);
    let now = Instant::now();
    let id = e.add_session(now, req(v4(2), Some(1))).unwrap();
    assert_eq!(e.snapshot(id).unwrap().desired_min_tx_us, 1_000_000);
    let cfg = Config {
        idle_tx: 3000 * MS,
        ..req(v4(2), Some(1)).config
    };
    e.set_timers(now, id, &cfg).unwrap();
    let s = e.snapshot(id).unwrap();
    assert_eq!(s.desired_min_tx_us, 3_000_000);
    assert_eq!(s.tx_interval_us, 3_000_000);
    assert!(!s.polling);
    let bad = Config {
        idle_tx: 10 * MS,
        ..cfg.clone()
    };
    let err = e.set_timers(now, id, &bad).unwrap_err();
    assert_eq!(err, EngineError::Config(ConfigError::IdleTx(10 * MS)));

    let mut h = H::up(fast());
    h.s.set_config(h.now, idle(4000 * MS)).unwrap();
    let s = h.s.snapshot();
    assert_eq!(s.desired_min_tx_us, 50_000);
    assert!(!s.polling);
    h.advance(151 * MS);
    assert_eq!(h.s.state(), State::Down);
    assert_eq!(h.last().u32(12), 4_000_000);
}

#[test]
fn rule_34_poll_rides_on_scheduled_packets_until_final() {
    // RFC 5880 §6.5.
    let mut h = H::new(fast());
    h.rxp(p(State::Down, 0)).unwrap();
    h.rxp(p(State::Up, LOCAL)).unwrap();
    h.take();
    let mut x = p(State::Up, LOCAL);
    x.mult = 100;
    let t0 = h.now;
    for _ in 0..10 {
        h.advance(50 * MS);
        h.rxp(x).unwrap();
    }
    let sent = h.take();
    assert!(sent.iter().all(|(_, t)| t.poll()), "P repeats until F");
    let span = h.now - t0;
    assert!(
        sent.len() as u128 <= span.as_millis() / 37 + 1,
        "no extra packets: {}",
        sent.len()
    );
    x.f = true;
    h.rxp(x).unwrap();
    h.advance(100 * MS);
    assert!(!h.last().poll());
}

#[test]
fn rule_35_remote_lowers_required_rx_obeyed_at_once() {
    // RFC 5880 §6.8.3.
    let mut h = H::up(fast());
    let mut x = p(State::Up, LOCAL);
    x.rx_us = 1_000_000;
    x.mult = 100;
    h.rxp(x).unwrap();
    h.advance(1100 * MS);
    let last_tx = h.sent.last().unwrap().0;
    h.take();
    h.advance(10 * MS);
    x.rx_us = 50_000;
    h.rxp(x).unwrap();
    h.advance(100 * MS);
    let first = h.sent.first().expect("a packet").0;
    assert!(
        first <= last_tx + 50 * MS || first == h.now - 100 * MS,
        "{:?}",
        first - last_tx
    );
}

#[test]
fn rule_36_changes_during_a_poll_poll_again() {
    // RFC 5880 §6.8.3: a second change during a Poll needs another Final.
    let mut h = H::up(fast());
    h.s.set_timers(h.now, 100 * MS, 50 * MS, 3).unwrap();
    h.s.set_timers(h.now, 200 * MS, 50 * MS, 3).unwrap();
    let mut f = p(State::Up, LOCAL);
    f.f = true;
    h.rxp(f).unwrap();
    assert!(
        h.s.snapshot().polling,
        "first Final may predate the second change"
    );
    assert_eq!(h.s.snapshot().tx_interval_us, 50_000);
    h.rxp(f).unwrap();
    assert!(!h.s.snapshot().polling);
    assert_eq!(h.s.snapshot().tx_interval_us, 200_000);
}

#[test]
fn rule_37_detect_mult_change_no_poll() {
    // RFC 5880 §6.8.12.
    let mut h = H::up(fast());
    h.s.set_timers(h.now, 50 * MS, 50 * MS, 5).unwrap();
    assert!(!h.s.snapshot().polling);
    h.advance(60 * MS);
    assert_eq!(h.last().mult(), 5);
    assert!(!h.last().poll());
}

#[test]
fn rule_38_echo_not_implemented() {
    // RFC 5880 §6.8.3 (Echo): no Echo, so Required Min Echo RX is always 0.
    let mut h = H::up(fast());
    h.advance(200 * MS);
    assert!(h.sent.iter().all(|(_, t)| t.u32(20) == 0));
}

// ---------------------------------------------------------------- E. administration

#[test]
fn rule_39_initial_values_and_not_reset_on_flap() {
    // RFC 5880 §6.8.1.
    let h = H::new(fast());
    let s = h.s.snapshot();
    assert_eq!((s.state, s.remote_state), (State::Down, State::Down));
    assert_eq!((s.local_discr, s.remote_discr), (LOCAL, 0));
    assert_eq!(s.local_diag, Diag::None);
    assert!(s.desired_min_tx_us >= 1_000_000);
    assert_eq!(s.remote_min_rx_us, 1);
    assert!(!s.remote_demand);
    // Engine discriminators: nonzero and unique.
    let now = Instant::now();
    let mut e = Engine::new(3);
    let ids: Vec<SessionId> = (1..=200)
        .map(|i| e.add_session(now, req(v4(i), None)).unwrap())
        .collect();
    let mut d: Vec<u32> = ids.iter().map(|i| i.0).collect();
    d.sort_unstable();
    d.dedup();
    assert_eq!(d.len(), 200);
    assert!(!d.contains(&0));
    // A flap keeps LocalDiscr.
    let mut h = H::up(fast());
    h.advance(200 * MS);
    assert_eq!(h.s.snapshot().local_discr, LOCAL);
}

#[test]
fn rule_40_admin_down_and_up() {
    // RFC 5880 §6.8.16.
    let mut h = H::up(fast());
    h.s.admin_down(h.now);
    h.flush();
    assert_eq!(h.s.state(), State::AdminDown);
    assert_eq!(h.last().sta(), 0);
    assert_eq!(h.last().diag(), 7);
    h.take();
    h.advance(3000 * MS);
    let sent = h.take();
    // Detection time was 150 ms; at the 1 s slow rate that is one more
    // packet at most, plus the immediate one.
    assert!(
        sent.iter()
            .all(|(t, _)| *t <= h.now - 3000 * MS + 3 * Duration::from_secs(1))
    );
    h.advance(5000 * MS);
    assert!(h.take().is_empty(), "stopped after a detection time");
    h.s.admin_up(h.now);
    h.flush();
    assert_eq!(h.s.state(), State::Down);
    assert_eq!(h.last().sta(), 1);
}

#[test]
fn rule_41_three_way_handshake_after_down() {
    // RFC 5880 §6.1: no Up until the remote left Up.
    let mut h = H::up(fast());
    h.advance(151 * MS);
    assert_eq!(h.s.state(), State::Down);
    h.rxp(p(State::Up, LOCAL)).unwrap();
    assert_eq!(h.s.state(), State::Down);
    h.rxp(p(State::Down, LOCAL)).unwrap();
    assert_eq!(h.s.state(), State::Init);
    h.rxp(p(State::Up, LOCAL)).unwrap();
    assert_eq!(h.s.state(), State::Up);
}

#[test]
fn rule_42_forwarding_plane_reset_and_path_down() {
    // RFC 5880 §6.8.17 (diag 4, diag 5 on a lower-layer signal).
    let mut h = H::up(fast());
    h.s.forwarding_plane_reset(h.now);
    assert_eq!(h.s.state(), State::Down);
    assert_eq!(h.s.snapshot().local_diag, Diag::ForwardingPlaneReset);
    let mut h = H::up(fast());
    h.s.path_down(h.now);
    h.flush();
    assert_eq!(h.s.state(), State::Down);
    assert_eq!(h.last().diag(), 5);
    let e = h.events();
    assert!(e[0].is_failure());
}

#[test]
fn rule_43_admin_down_reported_distinctly() {
    // RFC 5882 §4.1-§4.2, §3.3.
    let mut h = H::new(fast());
    h.rxp(p(State::Down, 0)).unwrap();
    h.rxp(p(State::Up, LOCAL)).unwrap();
    for c in h.events() {
        assert!(!c.is_failure() && !c.is_admin_down(), "bring-up: {c:?}");
    }
    let mut h = H::up(fast());
    h.s.admin_down(h.now);
    let e = h.events();
    assert!(e[0].is_admin_down() && !e[0].is_failure());
    let mut h = H::up(fast());
    h.rxp(p(State::AdminDown, LOCAL)).unwrap();
    let e = h.events();
    assert_eq!(
        (e[0].to, e[0].diag, e[0].remote_state),
        (
            State::Down,
            Diag::NeighborSignaledSessionDown,
            State::AdminDown
        )
    );
    assert!(e[0].is_admin_down() && !e[0].is_failure());
    let mut h = H::up(fast());
    h.rxp(p(State::Down, LOCAL)).unwrap();
    let e = h.events();
    assert!(e[0].is_failure() && !e[0].is_admin_down());
}

// ---------------------------------------------------------------- F. Demand / Echo

#[test]
fn rule_44_d_never_set_even_when_both_up() {
    // RFC 5880 §6.6: Demand mode not implemented; D stays 0.
    let mut h = H::up(fast());
    let mut x = p(State::Up, LOCAL);
    x.d = true;
    x.p = true;
    h.rxp(x).unwrap();
    assert!(h.sent.iter().all(|(_, t)| t.bytes[1] & 0x02 == 0));
}

#[test]
fn rule_45_demand_polls_not_applicable() {
    // RFC 5880 §6.6: we never run Demand, so a Detect Mult change does not
    // poll (rule 37) and a peer's Demand does not change our packets' content.
    let mut h = H::up(fast());
    let mut x = p(State::Up, LOCAL);
    x.d = true;
    h.rxp(x).unwrap();
    h.s.set_timers(h.now, 50 * MS, 50 * MS, 4).unwrap();
    assert!(!h.s.snapshot().polling);
}

#[test]
fn rule_46_remote_demand_stops_and_resumes_periodic() {
    // RFC 5880 §6.6, §6.8.14 (remote side only).
    let mut h = H::up(fast());
    let mut x = p(State::Up, LOCAL);
    x.d = true;
    x.mult = 100;
    h.rxp(x).unwrap();
    h.advance(60 * MS);
    h.take();
    h.advance(500 * MS);
    assert!(h.take().is_empty());
    x.d = false;
    h.rxp(x).unwrap();
    assert_eq!(h.take().len(), 1, "resumes at once");
}

#[test]
fn rule_46_demand_peer_polls_get_finals_and_our_detection_keeps_running() {
    // RFC 5880 §6.6: a peer in Demand mode stops hearing our periodic
    // packets and checks the path with Polls; each Poll gets one Final at
    // once (§6.8.6, rule 16). We never set D, so the peer keeps sending
    // periodically to us (Demand is per direction) and our Detection Time
    // keeps running on its packets (§6.8.4).
    let mut h = H::up(fast());
    let mut x = p(State::Up, LOCAL);
    x.d = true;
    h.rxp(x).unwrap();
    h.advance(60 * MS);
    h.take();
    for _ in 0..3 {
        // The peer's periodic packets (D=1) keep us Up, without a reply.
        for _ in 0..10 {
            h.advance(40 * MS);
            h.rxp(x).unwrap();
        }
        assert!(h.take().is_empty(), "no periodic packets to a Demand peer");
        let mut poll = x;
        poll.p = true;
        h.rxp(poll).unwrap();
        let sent = h.take();
        assert_eq!(sent.len(), 1, "one Final per Poll");
        let f = sent[0].1;
        assert!(f.fin() && !f.poll());
        assert_eq!(f.bytes[1] & 0x02, 0, "our D stays 0");
        assert_eq!(f.sta(), 3, "Up");
    }
    assert_eq!(h.s.state(), State::Up);
    assert!(h.events().is_empty(), "no flap");
    // The peer falls silent: Demand on its side does not stop our detection.
    h.advance(151 * MS);
    assert_eq!(h.s.state(), State::Down);
    assert_eq!(h.events()[0].diag, Diag::ControlDetectionTimeExpired);
}

#[test]
fn rule_47_no_echo_sent() {
    // RFC 5880 §6.8.9: Echo not implemented; even if the peer advertises an
    // Echo RX interval we send only Control packets, with Echo RX 0.
    let mut h = H::up(fast());
    let mut b = p(State::Up, LOCAL).bytes();
    b[20..24].copy_from_slice(&50_000u32.to_be_bytes());
    h.rx(&b).unwrap();
    h.advance(100 * MS);
    assert!(h.sent.iter().all(|(_, t)| t.len == 24 && t.u32(20) == 0));
}

// ---------------------------------------------------------------- G. authentication

#[test]
fn rule_48_simple_password_and_sha1_offered() {
    // RFC 5880 §6.7, §6.7.2.
    let cfg = Config {
        auth: Some(Auth::single(AuthType::SimplePassword, 9, b"pw").unwrap()),
        ..fast()
    };
    let mut h = H::new(cfg);
    h.flush();
    let t = h.last();
    assert_eq!((t.len, t.bytes[3]), (29, 29));
    assert_eq!(&t.bytes[24..29], &[1, 5, 9, b'p', b'w']);
    assert_eq!(
        h.rx(&p(State::Down, 0).with_auth(1, 9, b"px", 0)),
        Err(DropReason::AuthBadDigest)
    );
    assert_eq!(
        h.rx(&p(State::Down, 0).with_auth(1, 8, b"pw", 0)),
        Err(DropReason::AuthUnknownKeyId)
    );
    assert_eq!(
        h.rx(&p(State::Down, 0).with_auth(1, 9, b"pw!", 0)),
        Err(DropReason::AuthBadDigest)
    );
    assert_eq!(h.rx(&p(State::Down, 0).with_auth(1, 9, b"pw", 0)), Ok(()));
    // Both SHA1 types are offered.
    for k in [AuthType::KeyedSha1, AuthType::MeticulousKeyedSha1] {
        assert!(Auth::single(k, 1, &[7; 20]).is_ok());
    }
}

#[test]
fn rule_49_md5_and_sha1_digests() {
    // RFC 5880 §6.7.3-§6.7.4: Auth Len 24 / 28; key <= 16 / 20 bytes; the
    // digest covers the packet with the zero-padded key in its place.
    assert_eq!(
        Auth::single(AuthType::KeyedMd5, 1, &[1; 17]),
        Err(AuthConfigError::KeyLength { len: 17, max: 16 })
    );
    assert_eq!(
        Key::new(1, &[1; 21]).unwrap_err(),
        AuthConfigError::KeyLength { len: 21, max: 20 }
    );
    for (code, kind, alen) in [
        (2u8, AuthType::KeyedMd5, 24usize),
        (3, AuthType::MeticulousKeyedMd5, 24),
        (4, AuthType::KeyedSha1, 28),
        (5, AuthType::MeticulousKeyedSha1, 28),
    ] {
        let cfg = Config {
            auth: Some(Auth::single(kind, 5, b"secret").unwrap()),
            ..fast()
        };
        let mut h = H::new(cfg);
        h.flush();
        let t = h.last();
        assert_eq!(t.len, 24 + alen);
        assert_eq!(&t.bytes[24..27], &[code, alen as u8, 5]);
        // Recompute the digest independently.
        let mut copy = t.bytes[..t.len].to_vec();
        let dlen = alen - 8;
        let mut padded = vec![0u8; dlen];
        padded[..6].copy_from_slice(b"secret");
        copy[32..32 + dlen].copy_from_slice(&padded);
        let want: Vec<u8> = if dlen == 16 {
            Md5::digest(&copy).to_vec()
        } else {
            Sha1::digest(&copy).to_vec()
        };
        assert_eq!(&t.bytes[32..32 + dlen], &want[..], "type {code}");
        // Accept an independently signed packet, reject a tampered one.
        let mut good = p(State::Down, 0).with_auth(code, 5, b"secret", 100);
        assert_eq!(h.rx(&good), Ok(()), "type {code}");
        let mut g2 = p(State::Init, LOCAL).with_auth(code, 5, b"secret", 101);
        g2[12] ^= 1;
        assert_eq!(h.rx(&g2), Err(DropReason::AuthBadDigest));
        good[3] = 0; // scribble: length now wrong
        assert_eq!(h.rx(&good), Err(DropReason::LengthTooShort));
    }
}

#[test]
fn rule_50_sequence_windows() {
    // RFC 5880 §6.7.3: keyed [seq, seq+3*mult], meticulous [seq+1, seq+3*mult].
    let mut h = H::new(md5_cfg(false));
    let d = |s| p(State::Down, 0).with_auth(2, 5, b"secret", s);
    assert_eq!(h.rx(&d(u32::MAX - 1)), Ok(()));
    assert_eq!(h.rx(&d(u32::MAX - 1)), Ok(()), "keyed: same number is fine");
    assert_eq!(h.rx(&d(7)), Ok(()), "wraps: MAX-1 + 9 = 7 (3 x mult 3)");
    assert_eq!(h.rx(&d(17)), Err(DropReason::AuthSequenceOutOfWindow));
    assert_eq!(h.rx(&d(6)), Err(DropReason::AuthSequenceOutOfWindow));
    let mut h = H::new(md5_cfg(true));
    let d = |s| p(State::Down, 0).with_auth(3, 5, b"secret", s);
    assert_eq!(h.rx(&d(10)), Ok(()));
    assert_eq!(
        h.rx(&d(10)),
        Err(DropReason::AuthSequenceOutOfWindow),
        "meticulous: no replay"
    );
    assert_eq!(h.rx(&d(19)), Ok(()));
    assert_eq!(h.rx(&d(29)), Err(DropReason::AuthSequenceOutOfWindow));
    // Meticulous transmit bumps every packet.
    h.flush();
    h.take();
    h.advance(5000 * MS);
    let seqs: Vec<u32> = h.take().iter().map(|(_, t)| t.u32(28)).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "{seqs:?}"
    );
    // AuthSeqKnown resets after 2 x Detection Time (150 ms x 3 = 450 ms here,
    // detection time is 3 x max(50 ms, 50 ms) = 150 ms -> 300 ms).
    let mut h = H::new(md5_cfg(true));
    assert_eq!(h.rx(&d(1000)), Ok(()));
    h.advance(299 * MS);
    assert_eq!(h.rx(&d(5)), Err(DropReason::AuthSequenceOutOfWindow));
    h.advance(301 * MS);
    assert_eq!(h.rx(&d(5)), Ok(()), "window forgotten");
}

#[test]
fn rule_50_key_rotation_without_flap() {
    // RFC 5880 §6.7.1: several keys accepted while both ends switch.
    let ring = |tx| {
        Auth::new(
            AuthType::KeyedSha1,
            vec![Key::new(1, b"old").unwrap(), Key::new(2, b"new").unwrap()],
            tx,
        )
        .unwrap()
    };
    let mut h = H::new(Config {
        auth: Some(ring(1)),
        ..fast()
    });
    assert_eq!(h.rx(&p(State::Down, 0).with_auth(4, 1, b"old", 1)), Ok(()));
    assert_eq!(
        h.rx(&p(State::Up, LOCAL).with_auth(4, 2, b"new", 2)),
        Ok(())
    );
    assert_eq!(h.s.state(), State::Up);
    h.s.set_auth(Some(ring(2)));
    h.advance(60 * MS);
    assert_eq!(h.last().bytes[26], 2, "transmits with the new key id");
    assert_eq!(
        h.rx(&p(State::Up, LOCAL).with_auth(4, 1, b"old", 3)),
        Ok(())
    );
    assert_eq!(h.s.counters().state_changes, 2, "Init, Up; no flap");
    assert_eq!(
        Auth::new(AuthType::KeyedSha1, vec![Key::new(1, b"a").unwrap()], 2),
        Err(AuthConfigError::NoTransmitKey(2))
    );
}

// ---------------------------------------------------------------- H. RFC 5881

#[test]
fn rule_51_ports() {
    // RFC 5881 §4: destination 3784; source 49152-65535 (runtime constants).
    #[cfg(feature = "tokio")]
    {
        assert_eq!(bfd::runtime::CONTROL_PORT, 3784);
        assert_eq!(bfd::runtime::SOURCE_PORTS, 49152..=65535);
    }
}

#[test]
fn rule_52_one_session_per_interface_peer_family() {
    // RFC 5881 §2-§3.
    let now = Instant::now();
    let mut e = Engine::new(4);
    let a = e.add_session(now, req(v4(2), Some(1))).unwrap();
    assert!(matches!(
        e.add_session(now, req(v4(2), Some(1))),
        Err(EngineError::Duplicate { existing, .. }) if existing == a
    ));
    assert!(
        e.add_session(now, req(v4(2), Some(2))).is_ok(),
        "other interface"
    );
    assert!(
        e.add_session(now, req("fe80::2".parse().unwrap(), Some(1)))
            .is_ok(),
        "IPv6 is separate"
    );
}

#[test]
fn rule_53_destination_never_switches_to_new_source() {
    // RFC 5881 §6: after the first packet demux by Your Discr only, and keep
    // sending to the configured peer.
    let now = Instant::now();
    let mut e = Engine::new(5);
    let a = e.add_session(now, req(v4(2), None)).unwrap();
    e.handle_packet(now, &p(State::Down, 0).bytes(), meta(v4(2)))
        .unwrap();
    assert_eq!(
        e.handle_packet(now, &p(State::Init, a.0).bytes(), meta(v4(77))),
        Ok(a)
    );
    let mut buf = [0u8; 52];
    let t = e.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(t.path.peer, v4(2));
}

#[test]
fn rule_54_no_echo_port() {
    // RFC 5881 §4: Echo (UDP 3785) is not implemented; every packet we send
    // is a Control packet (version 1, Length >= 24).
    let mut h = H::up(fast());
    h.advance(100 * MS);
    assert!(
        h.sent
            .iter()
            .all(|(_, t)| t.vers() == 1 && t.bytes[3] >= 24)
    );
}
