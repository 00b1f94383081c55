//! Arbitrary operation sequences on one session (house style rule 35):
//! never panics, and every state change is one the RFC 5880 §6.2 table
//! allows; while not Up the advertised DesiredMinTx is >= 1 s (§6.8.3).
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bfd::auth::{Auth, AuthType};
use bfd::packet::{Repr, State};
use bfd::session::{Config, Event, Session};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Op {
    Rx {
        repr: Repr,
        ttl: u8,
        own_discr: bool,
    },
    RxBytes(Vec<u8>),
    Advance(u16),
    AdminDown,
    AdminUp,
    PathDown,
    SetTimers {
        tx_ms: u16,
        rx_ms: u16,
        mult: u8,
    },
    Transmit,
}

#[derive(Debug, Arbitrary)]
struct Input {
    auth: Option<AuthType>,
    passive: bool,
    mult: u8,
    seed: u64,
    ops: Vec<Op>,
}

fn allowed(from: State, to: State) -> bool {
    use State::*;
    matches!(
        (from, to),
        (_, AdminDown)
            | (AdminDown, Down)
            | (Down, Init)
            | (Down, Up)
            | (Init, Up)
            | (Init | Up, Down)
    ) && from != to
}

fuzz_target!(|input: Input| {
    #[allow(clippy::disallowed_methods)]
    let mut now = Instant::now();
    let cfg = Config {
        desired_min_tx: Duration::from_millis(10),
        required_min_rx: Duration::from_millis(10),
        detect_mult: input.mult.max(1),
        passive: input.passive,
        auth: input.auth.map(|k| Auth::single(k, 1, b"key").unwrap()),
        ..Config::default()
    };
    let mut s = Session::new(now, 0x1234, cfg, input.seed).unwrap();
    let mut buf = [0u8; 64];
    for op in input.ops.into_iter().take(500) {
        match op {
            Op::Rx {
                mut repr,
                ttl,
                own_discr,
            } => {
                if own_discr {
                    repr.your_discriminator = 0x1234;
                }
                let mut b = [0u8; 300];
                if repr.buffer_len() <= 255 {
                    let n = repr.emit(&mut b);
                    let _ = s.handle_packet(now, &b[..n], Some(ttl));
                }
            }
            Op::RxBytes(b) => {
                let _ = s.handle_packet(now, &b, Some(255));
            }
            Op::Advance(ms) => {
                now += Duration::from_millis(u64::from(ms));
                s.handle_timeout(now);
            }
            Op::AdminDown => s.admin_down(now),
            Op::AdminUp => s.admin_up(now),
            Op::PathDown => s.path_down(now),
            Op::SetTimers { tx_ms, rx_ms, mult } => {
                let _ = s.set_timers(
                    now,
                    Duration::from_millis(u64::from(tx_ms)),
                    Duration::from_millis(u64::from(rx_ms)),
                    mult,
                );
            }
            Op::Transmit => {
                while let Some(n) = s.poll_transmit(now, &mut buf) {
                    let r = Repr::parse(&buf[..n]).expect("we emit valid packets");
                    assert!(!(r.poll && r.final_), "P and F together");
                    assert_eq!(r.state, s.state());
                    assert_ne!(r.my_discriminator, 0);
                }
            }
        }
        while let Some(e) = s.poll_event() {
            if let Event::StateChange(c) = e {
                assert!(allowed(c.from, c.to), "{c:?}");
            }
        }
        let snap = s.snapshot();
        if snap.state != State::Up {
            assert!(snap.desired_min_tx_us >= 1_000_000);
        }
        if let Some(t) = s.poll_timeout() {
            assert!(t + Duration::from_secs(86400 * 30) > now);
        }
    }
});
