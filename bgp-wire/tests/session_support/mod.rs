//! Helpers for the session tests: a virtual clock origin, hand-built peer OPENs, and
//! drivers that take a session to a given state.
#![allow(dead_code, unreachable_pub, clippy::disallowed_methods)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_wire::capability::{Capability, GrFamily, GracefulRestart, LlgrFamily};
use bgp_wire::keepalive::Keepalive;
use bgp_wire::session::{Action, Direction, Session, SessionConfig, StartKind, State};
use bgp_wire::{Family, Message, Notification, Open};

/// The virtual clock's origin (the only clock read in these tests).
pub fn t0() -> Instant {
    Instant::now()
}

pub fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

pub const LOCAL_ID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const PEER_ID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
pub const LOCAL_AS: u32 = 4_200_000_001;
pub const PEER_AS: u32 = 4_200_000_002;

/// Our side: eBGP to PEER_AS, hold 90.
pub fn config() -> SessionConfig {
    let mut c = SessionConfig::new(LOCAL_AS, LOCAL_ID).with_peer_as(PEER_AS);
    c.jitter = false;
    c
}

/// The peer's OPEN written by hand: AS_TRANS + 4-octet AS, IPv4+IPv6 unicast, Route
/// Refresh.
pub fn peer_open(hold_time: u16) -> Open {
    Open {
        my_as: 23456,
        hold_time,
        bgp_identifier: PEER_ID,
        params: vec![bgp_wire::open::OptionalParameter::Capabilities(vec![
            Capability::Multiprotocol(Family::IPV4_UNICAST),
            Capability::Multiprotocol(Family::IPV6_UNICAST),
            Capability::RouteRefresh,
            Capability::FourOctetAs(PEER_AS),
        ])],
        extended_params: false,
    }
}

/// The peer's GR capability: restart time, flags, families with F.
pub fn gr_cap(flags: u8, time: u16) -> Capability {
    Capability::GracefulRestart(GracefulRestart {
        restart_flags: flags,
        restart_time: time,
        families: vec![
            GrFamily {
                family: Family::IPV4_UNICAST,
                flags: GrFamily::FORWARDING_STATE,
            },
            GrFamily {
                family: Family::IPV6_UNICAST,
                flags: 0,
            },
        ],
    })
}

pub fn llgr_cap(stale: u32) -> Capability {
    Capability::LongLivedGracefulRestart(vec![LlgrFamily {
        family: Family::IPV4_UNICAST,
        flags: LlgrFamily::FORWARDING_STATE,
        stale_time: stale,
    }])
}

pub fn drain(s: &mut Session) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

pub fn sent(actions: &[Action]) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

pub fn notifications(actions: &[Action]) -> Vec<Notification> {
    sent(actions)
        .into_iter()
        .filter_map(|m| match m {
            Message::Notification(n) => Some(n),
            _ => None,
        })
        .collect()
}

/// Feeds a message through the codec, as bytes.
pub fn feed(s: &mut Session, now: Instant, m: impl Into<Message>) {
    let m = m.into();
    let b = m
        .to_bytes(&bgp_wire::EncodeCtx::from(s.decode_ctx()))
        .unwrap();
    s.handle_bytes(now, &b);
}

pub fn to_open_sent(cfg: SessionConfig, now: Instant) -> Session {
    let mut s = Session::new(cfg);
    s.handle_start(now, StartKind::Manual);
    s.handle_connected(now, Direction::Outbound);
    assert_eq!(s.state(), State::OpenSent);
    drain(&mut s);
    s
}

pub fn to_open_confirm_with(cfg: SessionConfig, now: Instant, open: Open) -> Session {
    let mut s = to_open_sent(cfg, now);
    feed(&mut s, now, open);
    assert_eq!(s.state(), State::OpenConfirm, "{:?}", drain(&mut s));
    drain(&mut s);
    s
}

pub fn to_established_with(cfg: SessionConfig, now: Instant, open: Open) -> Session {
    let mut s = to_open_confirm_with(cfg, now, open);
    feed(&mut s, now, Message::Keepalive(Keepalive));
    assert_eq!(s.state(), State::Established);
    drain(&mut s);
    s
}

pub fn to_established(now: Instant) -> Session {
    to_established_with(config(), now, peer_open(90))
}
