//! Arbitrary event sequences on one BGP session (house style rule 35): never panics,
//! every state change is an edge of the RFC 4271 §8.2.2 diagram, timers match the state
//! (no HoldTimer in Idle, negotiated parameters in OpenConfirm/Established), and no
//! deadline is left in the past after `handle_timeout`.
#![no_main]

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;
use bgp_wire::capability::{Capability, GrFamily, GracefulRestart};
use bgp_wire::keepalive::Keepalive;
use bgp_wire::notification::ErrorCode;
use bgp_wire::open::OptionalParameter;
use bgp_wire::route_refresh::Subtype;
use bgp_wire::session::{
    Action, Direction, GracefulRestartConfig, Session, SessionConfig, StartKind, State, StopKind,
    Timer,
};
use bgp_wire::{Family, Message, Notification, Open, Update};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Op {
    Start(StartKind),
    Stop(StopKind),
    Connected(Direction),
    Failed,
    Advance(u32),
    Bytes(Vec<u8>),
    PeerOpen {
        hold: u16,
        asn: u32,
        gr: Option<u8>,
        id: u32,
    },
    Keepalive,
    Update(Vec<u8>),
    Notification {
        code: u8,
        subcode: u8,
    },
    SendUpdate,
    InitialTableSent,
    Refresh,
    RefreshMarker(u8),
    SetRestarting(bool),
}

#[derive(Debug, Arbitrary)]
struct Input {
    passive: bool,
    delay_open: Option<u8>,
    max_prefixes: Option<u8>,
    gr: bool,
    n_bit: bool,
    enhanced_route_refresh: bool,
    hold: u16,
    ops: Vec<Op>,
}

fn legal(from: State, to: State) -> bool {
    use State::*;
    matches!(
        (from, to),
        (Idle, Connect | Active)
            | (Connect, Active | OpenSent | OpenConfirm | Idle)
            | (Active, Connect | OpenSent | OpenConfirm | Idle)
            | (OpenSent, Active | OpenConfirm | Idle)
            | (OpenConfirm, Established | Idle)
            | (Established, Idle)
    )
}

fuzz_target!(|input: Input| {
    let mut cfg = SessionConfig::new(65001, "192.0.2.1".parse().unwrap()).with_peer_as(65002);
    cfg.passive = input.passive;
    cfg.delay_open = input.delay_open.map(|s| Duration::from_secs(s.into()));
    cfg.max_prefixes = input.max_prefixes.map(u32::from);
    cfg.enhanced_route_refresh = input.enhanced_route_refresh;
    cfg.hold_time = if matches!(input.hold, 1 | 2) {
        3
    } else {
        input.hold
    };
    if input.gr {
        cfg.graceful_restart = Some(GracefulRestartConfig {
            notification: input.n_bit,
            ..Default::default()
        });
    }
    let err = input.enhanced_route_refresh;
    let mut s = Session::new(cfg);
    let mut now = Instant::now();
    for op in input.ops.into_iter().take(256) {
        match op {
            Op::Start(k) => s.handle_start(now, k),
            Op::Stop(k) => s.handle_stop(now, k),
            Op::Connected(d) => s.handle_connected(now, d),
            Op::Failed => s.handle_connection_failed(now),
            Op::Advance(ms) => {
                now += Duration::from_millis(ms.into());
                s.handle_timeout(now);
                if let Some(t) = s.poll_timeout() {
                    assert!(t > now, "deadline left in the past");
                }
            }
            Op::Bytes(b) => s.handle_bytes(now, &b),
            Op::PeerOpen { hold, asn, gr, id } => {
                let mut open = Open::new(asn, hold, id.into());
                open = open.with_capability(Capability::Multiprotocol(Family::IPV4_UNICAST));
                if err {
                    open = open.with_capability(Capability::EnhancedRouteRefresh);
                }
                if let Some(flags) = gr {
                    open = open.with_capability(Capability::GracefulRestart(GracefulRestart {
                        restart_flags: flags & 0xf,
                        restart_time: 120,
                        families: vec![GrFamily {
                            family: Family::IPV4_UNICAST,
                            flags,
                        }],
                    }));
                }
                if open.params.is_empty() {
                    open.params.push(OptionalParameter::Capabilities(vec![]));
                }
                s.handle_message(now, Message::Open(open));
            }
            Op::Keepalive => s.handle_message(now, Message::Keepalive(Keepalive)),
            Op::Update(nlri) => {
                // An UPDATE with no attributes and raw NLRI octets: exercises RFC 7606
                // treat-as-withdraw and the max-prefix count.
                let nlri = &nlri[..nlri.len().min(4000)];
                let mut b = vec![0xff; 16];
                b.extend_from_slice(&((23 + nlri.len()) as u16).to_be_bytes());
                b.extend_from_slice(&[2, 0, 0, 0, 0]);
                b.extend_from_slice(nlri);
                s.handle_bytes(now, &b);
            }
            Op::Notification { code, subcode } => s.handle_message(
                now,
                Message::Notification(Notification::new(ErrorCode(code), subcode, vec![])),
            ),
            Op::SendUpdate => {
                let _ = s.send_update(now, Update::new());
            }
            Op::InitialTableSent => {
                let _ = s.initial_table_sent(now);
            }
            Op::Refresh => {
                let _ = s.request_route_refresh(now, Family::IPV4_UNICAST);
            }
            Op::RefreshMarker(st) => {
                let _ = s.send_refresh_marker(now, Family::IPV4_UNICAST, Subtype(st));
            }
            Op::SetRestarting(on) => {
                s.set_restarting(on);
                assert_eq!(s.restarting(), on);
            }
        }
        while let Some(a) = s.poll_action() {
            if let Action::StateChange { from, to } = a {
                assert!(legal(from, to), "illegal transition {from} -> {to}");
            }
            if let Action::Send(m) = a {
                // Everything we send must encode.
                m.to_bytes(s.encode_ctx()).expect("encodable");
            }
        }
        match s.state() {
            State::Idle => {
                assert!(s.timer(Timer::Hold).is_none());
                assert!(s.timer(Timer::Keepalive).is_none());
                assert!(s.timer(Timer::ConnectRetry).is_none());
            }
            State::OpenConfirm | State::Established => assert!(s.negotiated().is_some()),
            _ => {}
        }
    }
});
