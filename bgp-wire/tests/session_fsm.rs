//! One test per rule of `shared/spec/bgp-fsm-rfc4271.md` that the session owns, with
//! expected results written by hand from the RFCs.

mod session_support;

use std::time::Duration;

use bgp_wire::attr::{AsPath, AttrValue, Origin};
use bgp_wire::capability::{AddPathFamily, AddPathMode, Capability, GracefulRestart, Role};
use bgp_wire::keepalive::Keepalive;
use bgp_wire::notification::ErrorCode;
use bgp_wire::route_refresh::{RouteRefresh, Subtype};
use bgp_wire::session::{
    Action, Bounds, Direction, Down, GracefulRestartConfig, Initiator, LlgrConfig,
    LlgrFamilyConfig, Reason, RouteFate, Session, SessionError, StartKind, State, StopKind, Timer,
};
use bgp_wire::{Family, Message, Nlri, Notification, Update};
use bytes::Bytes;
use session_support::*;

fn n(code: u8, sub: u8) -> (ErrorCode, u8) {
    (ErrorCode(code), sub)
}

fn codes(actions: &[Action]) -> Vec<(ErrorCode, u8)> {
    notifications(actions)
        .iter()
        .map(|x| (x.code, x.subcode))
        .collect()
}

fn down(actions: &[Action]) -> Option<Down> {
    actions.iter().find_map(|a| match a {
        Action::SessionDown(d) => Some(d.clone()),
        _ => None,
    })
}

fn route(prefix: &str) -> Update {
    Update::new()
        .with(AttrValue::Origin(Origin::IGP))
        .with(AttrValue::AsPath(AsPath::sequence([65002])))
        .with(AttrValue::NextHop("192.0.2.2".parse().unwrap()))
        .with_nlri([Nlri::new(prefix.parse::<ipnet::Ipv4Net>().unwrap())])
}

fn gr_config() -> bgp_wire::session::SessionConfig {
    let mut c = config();
    c.graceful_restart = Some(GracefulRestartConfig::default());
    c
}

// ---- Messages and timers ---------------------------------------------------------

#[test]
fn rule_1_header_errors_get_1_x() {
    // RFC 4271 §6.1: bad marker → 1/1, bad length → 1/2, bad type → 1/3.
    let now = t0();
    let mut bad_marker = vec![0u8; 19];
    bad_marker[16] = 0;
    bad_marker[17] = 19;
    bad_marker[18] = 4;
    let mut bad_type = vec![0xff; 16];
    bad_type.extend_from_slice(&[0, 19, 9]);
    let mut bad_len = vec![0xff; 16];
    bad_len.extend_from_slice(&[0, 18, 4]);
    for (frame, sub) in [(bad_marker, 1), (bad_len, 2), (bad_type, 3)] {
        let mut s = to_open_sent(config(), now);
        s.handle_bytes(now, &frame);
        let a = drain(&mut s);
        assert_eq!(codes(&a), vec![n(1, sub)]);
        assert_eq!(s.state(), State::Idle);
    }
}

#[test]
fn rule_2_open_carries_version_as_trans_and_capabilities() {
    // RFC 4271 §4.2, RFC 6793 §9: a 4-octet AS goes as AS_TRANS plus the capability.
    let now = t0();
    let mut s = Session::new(config());
    s.handle_start(now, StartKind::Manual);
    s.handle_connected(now, Direction::Outbound);
    let a = drain(&mut s);
    let Some(Message::Open(open)) = sent(&a).into_iter().next() else {
        panic!("no OPEN in {a:?}")
    };
    let bytes = Message::Open(open.clone())
        .to_bytes(s.encode_ctx())
        .unwrap();
    assert_eq!(bytes[19], 4, "version");
    assert_eq!(&bytes[20..22], &[0x5b, 0xa0], "AS_TRANS 23456");
    assert_eq!(&bytes[22..24], &[0, 90], "hold time");
    assert_eq!(&bytes[24..28], &[192, 0, 2, 1], "BGP Identifier");
    assert!(
        open.capabilities()
            .any(|c| *c == Capability::FourOctetAs(LOCAL_AS))
    );
    assert!(
        open.capabilities()
            .any(|c| *c == Capability::Multiprotocol(Family::IPV6_UNICAST))
    );
    assert!(open.capabilities().any(|c| *c == Capability::RouteRefresh));
}

#[test]
fn rule_3_hold_time_one_or_two_rejected_with_2_6() {
    // RFC 4271 §6.2.
    let now = t0();
    for hold in [1u16, 2] {
        let mut s = to_open_sent(config(), now);
        feed(&mut s, now, peer_open(hold));
        let a = drain(&mut s);
        assert_eq!(codes(&a), vec![n(2, 6)]);
        assert_eq!(s.state(), State::Idle);
        // Also when handed over already decoded.
        let mut s = to_open_sent(config(), now);
        s.handle_message(now, Message::Open(peer_open(hold)));
        assert_eq!(codes(&drain(&mut s)), vec![n(2, 6)]);
    }
    // 0 and 3 are legal.
    for hold in [0u16, 3] {
        let s = to_open_confirm_with(config(), now, peer_open(hold));
        assert_eq!(s.negotiated().unwrap().hold_time, hold);
    }
}

#[test]
fn rule_4_negotiated_hold_is_the_minimum_and_zero_disables_timers() {
    let now = t0();
    let s = to_established_with(config(), now, peer_open(30));
    assert_eq!(s.negotiated().unwrap().hold_time, 30);
    assert_eq!(s.timer(Timer::Hold), Some(now + secs(30)));
    let s = to_established_with(config(), now, peer_open(240));
    assert_eq!(s.negotiated().unwrap().hold_time, 90);
    // Hold 0: no HoldTimer, no KeepaliveTimer, nothing to wait for (RFC 4271 §4.4).
    let mut s = to_established_with(config(), now, peer_open(0));
    assert_eq!(s.negotiated().unwrap().keepalive_time, 0);
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(now + secs(100_000));
    assert_eq!(s.state(), State::Established);
    assert!(drain(&mut s).is_empty());
}

#[test]
fn rule_5_keepalive_is_a_third_of_hold_and_updates_restart_it() {
    let now = t0();
    let mut s = to_established(now);
    assert_eq!(s.negotiated().unwrap().keepalive_time, 30);
    assert_eq!(s.timer(Timer::Keepalive), Some(now + secs(30)));
    // An UPDATE sent at +20 s pushes the next KEEPALIVE to +50 s.
    s.send_update(now + secs(20), route("198.51.100.0/24"))
        .unwrap();
    assert_eq!(s.timer(Timer::Keepalive), Some(now + secs(50)));
    drain(&mut s);
    s.handle_timeout(now + secs(49));
    assert!(drain(&mut s).is_empty());
    s.handle_timeout(now + secs(50));
    assert_eq!(sent(&drain(&mut s)), vec![Message::Keepalive(Keepalive)]);
    // Configured keepalive wins when smaller than hold/3; never below 1 s.
    let mut c = config();
    c.keepalive_time = Some(10);
    let s = to_established_with(c, now, peer_open(90));
    assert_eq!(s.negotiated().unwrap().keepalive_time, 10);
    let s = to_established_with(config(), now, peer_open(3));
    assert_eq!(s.negotiated().unwrap().keepalive_time, 1);
}

#[test]
fn rule_6_default_timer_values() {
    // RFC 4271 §10.
    let c = config();
    assert_eq!(c.hold_time, 90);
    assert_eq!(c.connect_retry_time, secs(120));
    assert_eq!(c.open_hold_time, secs(240));
    let now = t0();
    let s = to_open_sent(config(), now);
    assert_eq!(
        s.timer(Timer::Hold),
        Some(now + secs(240)),
        "large HoldTimer"
    );
}

// ---- States and events -----------------------------------------------------------

#[test]
fn rule_7_state_display_uses_rfc_spelling() {
    let names: Vec<String> = [
        State::Idle,
        State::Connect,
        State::Active,
        State::OpenSent,
        State::OpenConfirm,
        State::Established,
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        names,
        [
            "Idle",
            "Connect",
            "Active",
            "OpenSent",
            "OpenConfirm",
            "Established"
        ]
    );
}

#[test]
fn rule_8_idle_refuses_connections_and_starts() {
    let now = t0();
    let mut s = Session::new(config());
    s.handle_connected(now, Direction::Inbound);
    assert_eq!(drain(&mut s), vec![Action::CloseConnection]);
    assert_eq!(s.state(), State::Idle);
    // Messages and timers are ignored in Idle.
    feed(&mut s, now, Message::Keepalive(Keepalive));
    s.handle_timeout(now + secs(1000));
    assert!(drain(&mut s).is_empty());
    s.handle_start(now, StartKind::Manual);
    assert_eq!(
        drain(&mut s),
        vec![
            Action::OpenConnection,
            Action::StateChange {
                from: State::Idle,
                to: State::Connect
            }
        ]
    );
    assert_eq!(s.timer(Timer::ConnectRetry), Some(now + secs(120)));
    assert_eq!(s.connect_retry_counter(), 0);
    // Passive variants go to Active and open nothing.
    let mut s = Session::new(config());
    s.handle_start(now, StartKind::ManualPassive);
    assert_eq!(
        drain(&mut s),
        vec![Action::StateChange {
            from: State::Idle,
            to: State::Active
        }]
    );
}

#[test]
fn rule_9_connect_retry_tcp_up_and_tcp_fail() {
    let now = t0();
    let mut s = Session::new(config());
    s.handle_start(now, StartKind::Manual);
    drain(&mut s);
    // ConnectRetryTimer expiry: drop, retry, stay in Connect.
    s.handle_timeout(now + secs(120));
    assert_eq!(
        drain(&mut s),
        vec![Action::CloseConnection, Action::OpenConnection]
    );
    assert_eq!(s.state(), State::Connect);
    assert_eq!(s.timer(Timer::ConnectRetry), Some(now + secs(240)));
    // TCP up: ConnectRetryTimer stopped, OPEN sent, large HoldTimer.
    s.handle_connected(now + secs(121), Direction::Outbound);
    let a = drain(&mut s);
    assert!(matches!(sent(&a)[..], [Message::Open(_)]));
    assert_eq!(s.state(), State::OpenSent);
    assert_eq!(s.timer(Timer::ConnectRetry), None);
    assert_eq!(s.timer(Timer::Hold), Some(now + secs(121 + 240)));
    // TCP fail without DelayOpen: RFC 4271 says Idle; we deliberately go to Active
    // (keep listening, retry on ConnectRetryTimer) so that two speakers cannot livelock
    // refusing each other from Idle (see sim_both_active_*).
    let mut s = Session::new(config());
    s.handle_start(now, StartKind::Manual);
    drain(&mut s);
    s.handle_connection_failed(now + secs(1));
    assert_eq!(s.state(), State::Active);
    assert_eq!(s.timer(Timer::ConnectRetry), Some(now + secs(121)));
    assert_eq!(s.connect_retry_counter(), 0);
    assert!(s.accepts_connection());
    // TCP fail while DelayOpenTimer runs → Active with ConnectRetryTimer restarted.
    let mut c = config();
    c.delay_open = Some(secs(5));
    let mut s = Session::new(c);
    s.handle_start(now, StartKind::Manual);
    s.handle_connected(now, Direction::Outbound);
    assert_eq!(s.state(), State::Connect);
    assert_eq!(s.timer(Timer::DelayOpen), Some(now + secs(5)));
    s.handle_connection_failed(now + secs(1));
    assert_eq!(s.state(), State::Active);
    assert_eq!(s.timer(Timer::ConnectRetry), Some(now + secs(121)));
    assert_eq!(s.timer(Timer::DelayOpen), None);
}

#[test]
fn rule_9_delay_open_sends_open_on_expiry_or_on_peer_open() {
    // RFC 4271 §8.2.2 Connect, events 12 and 20.
    let now = t0();
    let mut c = config();
    c.delay_open = Some(secs(5));
    let mut s = Session::new(c.clone());
    s.handle_start(now, StartKind::Manual);
    s.handle_connected(now, Direction::Outbound);
    drain(&mut s);
    s.handle_timeout(now + secs(5));
    assert!(matches!(sent(&drain(&mut s))[..], [Message::Open(_)]));
    assert_eq!(s.state(), State::OpenSent);
    // Event 20: the peer's OPEN arrives first: send OPEN and KEEPALIVE → OpenConfirm.
    let mut s = Session::new(c);
    s.handle_start(now, StartKind::Manual);
    s.handle_connected(now, Direction::Outbound);
    drain(&mut s);
    feed(&mut s, now + secs(1), peer_open(90));
    let m = sent(&drain(&mut s));
    assert!(
        matches!(m[..], [Message::Open(_), Message::Keepalive(_)]),
        "{m:?}"
    );
    assert_eq!(s.state(), State::OpenConfirm);
    assert_eq!(s.timer(Timer::Hold), Some(now + secs(91)));
}

#[test]
fn rule_10_active_retry_tcp_up_and_tcp_fail() {
    let now = t0();
    // Reach a non-passive Active: OpenSent then TCP failure.
    let mut s = to_open_sent(config(), now);
    s.handle_connection_failed(now);
    assert_eq!(s.state(), State::Active);
    drain(&mut s);
    s.handle_timeout(now + secs(120));
    assert_eq!(
        drain(&mut s),
        vec![
            Action::OpenConnection,
            Action::StateChange {
                from: State::Active,
                to: State::Connect
            }
        ]
    );
    // TCP up in Active → OPEN → OpenSent.
    let mut s = Session::new(config());
    s.handle_start(now, StartKind::ManualPassive);
    s.handle_connected(now, Direction::Inbound);
    assert_eq!(s.state(), State::OpenSent);
    assert_eq!(s.direction(), Some(Direction::Inbound));
    // TCP fail in Active → Idle, counter + 1.
    let mut s = Session::new(config());
    s.handle_start(now, StartKind::ManualPassive);
    s.handle_connection_failed(now);
    assert_eq!(s.state(), State::Idle);
    assert_eq!(s.connect_retry_counter(), 1);
    // A passive session never initiates: ConnectRetry expiry keeps it in Active.
    let mut s = Session::new(config());
    s.handle_start(now, StartKind::ManualPassive);
    drain(&mut s);
    s.handle_timeout(now + secs(120));
    assert!(drain(&mut s).is_empty());
    assert_eq!(s.state(), State::Active);
}

#[test]
fn rule_11_open_sent_valid_open() {
    let now = t0();
    let mut s = to_open_sent(config(), now);
    feed(&mut s, now + secs(1), peer_open(60));
    let a = drain(&mut s);
    assert_eq!(sent(&a), vec![Message::Keepalive(Keepalive)]);
    assert_eq!(s.state(), State::OpenConfirm);
    assert_eq!(s.timer(Timer::Hold), Some(now + secs(61)));
    assert_eq!(s.timer(Timer::Keepalive), Some(now + secs(21)));
    assert_eq!(s.timer(Timer::ConnectRetry), None);
}

#[test]
fn rule_11_open_sent_tcp_fail_goes_active() {
    let now = t0();
    let mut s = to_open_sent(config(), now);
    s.handle_connection_failed(now);
    assert_eq!(s.state(), State::Active);
    assert_eq!(s.timer(Timer::ConnectRetry), Some(now + secs(120)));
    assert_eq!(s.timer(Timer::Hold), None);
}

#[test]
fn rule_11_open_sent_hold_expiry_sends_4() {
    let now = t0();
    let mut s = to_open_sent(config(), now);
    s.handle_timeout(now + secs(240));
    let a = drain(&mut s);
    assert_eq!(codes(&a), vec![n(4, 0)]);
    assert!(a.contains(&Action::ConnectionClosed(Reason::HoldTimerExpired)));
    assert_eq!(s.state(), State::Idle);
    assert_eq!(s.connect_retry_counter(), 1);
}

#[test]
fn rule_11_open_sent_open_errors_send_2_x() {
    // RFC 4271 §6.2 Bad Peer AS, Bad BGP Identifier (iBGP duplicate, RFC 6286 §2.2).
    let now = t0();
    let mut s = to_open_sent(config().with_peer_as(65999), now);
    feed(&mut s, now, peer_open(90));
    assert_eq!(codes(&drain(&mut s)), vec![n(2, 2)]);
    assert_eq!(s.state(), State::Idle);
    let mut ibgp = config().with_peer_as(LOCAL_AS);
    ibgp.router_id = PEER_ID;
    let mut open = peer_open(90);
    open.params = vec![bgp_wire::open::OptionalParameter::Capabilities(vec![
        Capability::FourOctetAs(LOCAL_AS),
    ])];
    let mut s = to_open_sent(ibgp, now);
    feed(&mut s, now, open);
    let a = notifications(&drain(&mut s));
    assert_eq!((a[0].code, a[0].subcode), n(2, 3));
    assert_eq!(a[0].data, Bytes::from_static(&[192, 0, 2, 2]));
    // No AS_TRANS without the 4-octet capability: My AS 23456 is not PEER_AS.
    let mut open = peer_open(90);
    open.params.clear();
    let mut s = to_open_sent(config(), now);
    feed(&mut s, now, open);
    assert_eq!(codes(&drain(&mut s)), vec![n(2, 2)]);
}

#[test]
fn rule_12_open_confirm_events() {
    let now = t0();
    // KEEPALIVE → Established with SessionUp.
    let mut s = to_open_confirm_with(config(), now, peer_open(90));
    feed(&mut s, now + secs(1), Message::Keepalive(Keepalive));
    let a = drain(&mut s);
    assert!(matches!(
        &a[..],
        [Action::StateChange { to: State::Established, .. }, Action::SessionUp(n)]
            if n.peer_as == PEER_AS && n.peer_router_id == PEER_ID
    ));
    assert_eq!(s.timer(Timer::Hold), Some(now + secs(91)));
    // NOTIFICATION → Idle, counter + 1.
    let mut s = to_open_confirm_with(config(), now, peer_open(90));
    feed(&mut s, now, Notification::new(ErrorCode::CEASE, 5, vec![]));
    let a = drain(&mut s);
    assert_eq!(s.state(), State::Idle);
    assert_eq!(s.connect_retry_counter(), 1);
    assert!(a.iter().any(|x| matches!(
        x,
        Action::ConnectionClosed(Reason::Notification {
            initiator: Initiator::Peer,
            ..
        })
    )));
    // KeepaliveTimer expiry → KEEPALIVE, stay.
    let mut s = to_open_confirm_with(config(), now, peer_open(90));
    s.handle_timeout(now + secs(30));
    assert_eq!(sent(&drain(&mut s)), vec![Message::Keepalive(Keepalive)]);
    assert_eq!(s.state(), State::OpenConfirm);
    // Hold expiry → 4/0.
    s.handle_timeout(now + secs(90));
    let a = drain(&mut s);
    assert!(codes(&a).contains(&n(4, 0)));
    assert_eq!(s.state(), State::Idle);
}

#[test]
fn rule_13_established_updates_restart_hold_and_are_reported() {
    let now = t0();
    let mut s = to_established(now);
    let u = route("198.51.100.0/24");
    feed(&mut s, now + secs(50), u.clone());
    assert_eq!(s.timer(Timer::Hold), Some(now + secs(140)));
    let a = drain(&mut s);
    assert!(
        matches!(&a[..], [Action::Update { update, verdict: bgp_wire::Verdict::Accepted }] if *update == u)
    );
    feed(&mut s, now + secs(100), Message::Keepalive(Keepalive));
    assert_eq!(s.timer(Timer::Hold), Some(now + secs(190)));
}

#[test]
fn rule_13_established_update_error_sends_3_x() {
    // RFC 7606 §3(d): a missing mandatory attribute with NLRI is treat-as-withdraw, but an
    // overrunning attribute list is session reset (3/1).
    let now = t0();
    let mut s = to_established(now);
    let mut frame = vec![0xff; 16];
    // Withdrawn Routes Length 0, Total Path Attribute Length 10, no attributes.
    frame.extend_from_slice(&[0, 23, 2, 0, 0, 0, 10]);
    s.handle_bytes(now, &frame);
    let a = drain(&mut s);
    assert_eq!(codes(&a), vec![n(3, 1)]);
    assert_eq!(s.state(), State::Idle);
    let d = down(&a).unwrap();
    assert_eq!(d.fate, RouteFate::Delete);
}

#[test]
fn rule_13_established_manual_stop_sends_6_2_with_message() {
    // RFC 4486 §4 + RFC 9003 §2.
    let now = t0();
    let mut s = to_established(now);
    s.handle_stop(
        now,
        StopKind::Administrative {
            message: "maintenance".into(),
        },
    );
    let a = drain(&mut s);
    let ns = notifications(&a);
    assert_eq!(ns.len(), 1);
    assert_eq!((ns[0].code, ns[0].subcode), n(6, 2));
    assert_eq!(&ns[0].data[..], b"\x0bmaintenance");
    assert_eq!(
        down(&a),
        Some(Down {
            reason: Reason::AdministrativeShutdown {
                message: "maintenance".into()
            },
            fate: RouteFate::Delete
        })
    );
    assert!(a.contains(&Action::CloseConnection));
    assert_eq!(s.connect_retry_counter(), 0);
    assert_eq!(s.state(), State::Idle);
    // Stopped: no automatic restart.
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn rule_13_established_hold_expiry_sends_4_0() {
    let now = t0();
    let mut s = to_established(now);
    s.handle_timeout(now + secs(89));
    assert_eq!(s.state(), State::Established);
    drain(&mut s);
    s.handle_timeout(now + secs(90));
    let a = drain(&mut s);
    assert_eq!(codes(&a), vec![n(4, 0)]);
    assert_eq!(down(&a).unwrap().reason, Reason::HoldTimerExpired);
}

#[test]
fn rule_14_unexpected_messages_are_fsm_errors_with_rfc6608_subcodes() {
    let now = t0();
    let mut s = to_open_sent(config(), now);
    feed(&mut s, now, route("198.51.100.0/24"));
    assert_eq!(codes(&drain(&mut s)), vec![n(5, 1)]);
    assert_eq!(s.connect_retry_counter(), 1);
    let mut s = to_open_sent(config(), now);
    feed(&mut s, now, Message::Keepalive(Keepalive));
    assert_eq!(codes(&drain(&mut s)), vec![n(5, 1)]);
    let mut s = to_open_confirm_with(config(), now, peer_open(90));
    feed(&mut s, now, route("198.51.100.0/24"));
    assert_eq!(codes(&drain(&mut s)), vec![n(5, 2)]);
    let mut s = to_open_confirm_with(config(), now, peer_open(90));
    feed(&mut s, now, peer_open(90));
    assert_eq!(codes(&drain(&mut s)), vec![n(5, 2)]);
    let mut s = to_established(now);
    feed(&mut s, now, peer_open(90));
    let a = drain(&mut s);
    assert_eq!(codes(&a), vec![n(5, 3)]);
    assert_eq!(s.state(), State::Idle);
    assert_eq!(s.connect_retry_counter(), 1);
}

#[test]
fn rule_15_error_exits_back_off_and_restart_automatically() {
    // IdleHoldTimer: 1 s, then 2, 4, ... capped at 60 s; each exit counts.
    let now = t0();
    let mut s = to_open_sent(config(), now);
    let mut t = now;
    let mut waits = Vec::new();
    for _ in 0..8 {
        s.handle_timeout(t + secs(240));
        t += secs(240);
        assert_eq!(s.state(), State::Idle);
        let at = s.timer(Timer::IdleHold).expect("IdleHold armed");
        waits.push((at - t).as_secs());
        drain(&mut s);
        s.handle_timeout(at);
        assert_eq!(s.state(), State::Connect, "automatic start");
        assert!(drain(&mut s).contains(&Action::OpenConnection));
        t = at;
        s.handle_connected(t, Direction::Outbound);
        drain(&mut s);
    }
    assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 60, 60]);
    assert_eq!(s.connect_retry_counter(), 8);
    // A manual start resets the backoff.
    s.handle_stop(t, StopKind::HardReset);
    s.handle_start(t, StartKind::Manual);
    s.handle_connected(t, Direction::Outbound);
    s.handle_timeout(t + secs(240));
    assert_eq!(s.timer(Timer::IdleHold), Some(t + secs(241)));
}

#[test]
fn rule_15_first_reconnection_within_a_second() {
    // A TCP failure of an Established session: back in Connect after the IdleHold
    // (1 s before backoff grows).
    let now = t0();
    let mut s = to_established(now);
    s.handle_connection_failed(now);
    assert_eq!(s.state(), State::Idle);
    assert_eq!(s.timer(Timer::IdleHold), Some(now + secs(1)));
    drain(&mut s);
    s.handle_timeout(now + secs(1));
    assert_eq!(s.state(), State::Connect);
    assert!(drain(&mut s).contains(&Action::OpenConnection));
}

#[test]
fn rule_15_connect_retry_and_idle_hold_are_jittered() {
    // RFC 4271 §10: jitter ConnectRetryTime by a factor in [0.75, 1].
    let now = t0();
    let mut c = config();
    c.jitter = true;
    let mut seen = std::collections::BTreeSet::new();
    let mut s = Session::new(c);
    s.handle_start(now, StartKind::Manual);
    let mut t = now;
    for _ in 0..50 {
        let at = s.timer(Timer::ConnectRetry).unwrap();
        let d = at - t;
        assert!(d >= secs(90) && d <= secs(120), "{d:?}");
        seen.insert(d.as_millis());
        t = at;
        s.handle_timeout(t);
    }
    assert!(seen.len() > 10, "jitter varies: {seen:?}");
}

// ---- Collision detection -----------------------------------------------------------

fn collision_pair(
    local_id: &str,
    existing_dir: Direction,
) -> (Session, Session, std::time::Instant) {
    let now = t0();
    let mut c = config();
    c.router_id = local_id.parse().unwrap();
    let mut existing = Session::new(c.clone());
    existing.handle_start(now, StartKind::Manual);
    existing.handle_connected(now, existing_dir);
    feed(&mut existing, now, peer_open(90));
    let mut new = Session::new(c);
    new.handle_start(now, StartKind::ManualPassive);
    let other = match existing_dir {
        Direction::Outbound => Direction::Inbound,
        Direction::Inbound => Direction::Outbound,
    };
    new.handle_connected(now, other);
    drain(&mut existing);
    drain(&mut new);
    (existing, new, now)
}

#[test]
fn rule_16_no_collision_until_the_peer_id_is_known() {
    let (existing, mut new, now) = collision_pair("192.0.2.1", Direction::Outbound);
    assert_eq!(new.state(), State::OpenSent);
    assert_eq!(bgp_wire::session::collision_loser(&existing, &new), None);
    feed(&mut new, now, peer_open(90));
    // Local 192.0.2.1 < remote: our outbound (existing) connection yields.
    assert_eq!(
        bgp_wire::session::collision_loser(&existing, &new),
        Some(bgp_wire::session::Loser::Existing)
    );
}

#[test]
fn rule_17_higher_identifier_keeps_its_own_connection() {
    use bgp_wire::session::{Loser, resolve_collision};
    // Local 192.0.2.1 < remote 192.0.2.2: keep the connection the remote initiated.
    let (mut existing, mut new, now) = collision_pair("192.0.2.1", Direction::Outbound);
    feed(&mut new, now, peer_open(90));
    drain(&mut new);
    assert_eq!(
        resolve_collision(now, &mut existing, &mut new),
        Some(Loser::Existing)
    );
    assert_eq!(existing.state(), State::Idle);
    assert_eq!(new.state(), State::OpenConfirm);
    // Local 192.0.2.3 > remote: keep our outbound (existing) connection.
    let (mut existing, mut new, now) = collision_pair("192.0.2.3", Direction::Outbound);
    feed(&mut new, now, peer_open(90));
    drain(&mut new);
    assert_eq!(
        resolve_collision(now, &mut existing, &mut new),
        Some(Loser::New)
    );
    assert_eq!(existing.state(), State::OpenConfirm);
    assert_eq!(new.state(), State::Idle);
}

#[test]
fn rule_18_loser_gets_cease_6_7() {
    use bgp_wire::session::resolve_collision;
    let (mut existing, mut new, now) = collision_pair("192.0.2.3", Direction::Outbound);
    feed(&mut new, now, peer_open(90));
    drain(&mut new);
    resolve_collision(now, &mut existing, &mut new);
    let a = drain(&mut new);
    assert_eq!(codes(&a), vec![n(6, 7)]);
    assert!(a.contains(&Action::ConnectionClosed(Reason::CollisionResolved)));
    assert!(a.contains(&Action::CloseConnection));
    // The loser does not restart by itself: the winner carries the session.
    assert_eq!(new.poll_timeout(), None);
    assert!(drain(&mut existing).is_empty());
}

#[test]
fn rule_19_collision_with_established_closes_the_new_connection() {
    use bgp_wire::session::{Loser, resolve_collision};
    let now = t0();
    let mut existing = to_established(now);
    let mut new = to_open_confirm_with(config(), now, peer_open(90));
    assert_eq!(
        resolve_collision(now, &mut existing, &mut new),
        Some(Loser::New)
    );
    assert_eq!(codes(&drain(&mut new)), vec![n(6, 7)]);
    assert_eq!(existing.state(), State::Established);
}

#[test]
fn rule_17_equal_identifiers_fall_back_to_the_as_number() {
    // RFC 6286 §2.3: same BGP Identifier (eBGP): the larger AS's connection survives.
    use bgp_wire::session::{Loser, collision_loser};
    let (existing, mut new, now) = collision_pair("192.0.2.2", Direction::Outbound);
    feed(&mut new, now, peer_open(90));
    // PEER_AS > LOCAL_AS: keep the peer-initiated (new, inbound) connection.
    assert_eq!(collision_loser(&existing, &new), Some(Loser::Existing));
}

// ---- NOTIFICATION codes -------------------------------------------------------------

#[test]
fn rule_20_local_stop_kinds_send_their_cease_subcodes() {
    let now = t0();
    let mut s = to_established(now);
    s.handle_stop(now, StopKind::HardReset);
    let a = drain(&mut s);
    assert_eq!(codes(&a), vec![n(6, 9)]);
    assert_eq!(down(&a).unwrap().fate, RouteFate::Delete);
    let mut s = to_established_with(
        gr_config(),
        now,
        peer_open(90).with_capability(gr_cap(0, 120)),
    );
    s.handle_stop(now, StopKind::BfdDown);
    let a = drain(&mut s);
    assert_eq!(codes(&a), vec![n(6, 10)]);
    assert_eq!(
        down(&a),
        Some(Down {
            reason: Reason::BfdDown,
            fate: RouteFate::RetainStale
        })
    );
}

#[test]
fn rule_20_max_prefixes_sends_6_1_with_afi_safi_and_limit() {
    // RFC 4486 §4: data = AFI, SAFI, upper bound.
    let now = t0();
    let mut c = config();
    c.max_prefixes = Some(2);
    let mut s = to_established_with(c, now, peer_open(90));
    feed(&mut s, now, route("198.51.100.0/24"));
    feed(&mut s, now, route("198.51.100.0/24"));
    feed(&mut s, now, route("198.51.101.0/24"));
    assert_eq!(s.state(), State::Established, "duplicates count once");
    drain(&mut s);
    feed(&mut s, now, route("198.51.102.0/24"));
    let a = drain(&mut s);
    let ns = notifications(&a);
    assert_eq!((ns[0].code, ns[0].subcode), n(6, 1));
    assert_eq!(&ns[0].data[..], &[0, 1, 1, 0, 0, 0, 2]);
    assert_eq!(
        down(&a),
        Some(Down {
            reason: Reason::MaxPrefixes { limit: 2 },
            fate: RouteFate::Delete
        })
    );
    // No automatic restart after a max-prefix teardown.
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn rule_21_version_mismatch_sends_2_1_with_largest_version() {
    let now = t0();
    let mut s = to_open_sent(config(), now);
    let mut b = Message::Open(peer_open(90))
        .to_bytes(&Default::default())
        .unwrap()
        .to_vec();
    b[19] = 5;
    s.handle_bytes(now, &b);
    let ns = notifications(&drain(&mut s));
    assert_eq!((ns[0].code, ns[0].subcode), n(2, 1));
    // RFC 4271 §6.2: a 2-octet unsigned integer, the largest supported version.
    assert_eq!(&ns[0].data[..], &[0, 4]);
}

// ---- Graceful restart -----------------------------------------------------------------

#[test]
fn rule_22_end_of_rib_sent_per_family_and_received() {
    let now = t0();
    let mut s = to_established(now);
    s.initial_table_sent(now).unwrap();
    let m = sent(&drain(&mut s));
    let v4 = Message::Update(Update::new());
    let b4 = v4.to_bytes(s.encode_ctx()).unwrap();
    assert_eq!(b4.len(), 23, "IPv4 EoR is an empty UPDATE");
    assert_eq!(m[0], v4);
    let Message::Update(u6) = &m[1] else { panic!() };
    let b6 = m[1].to_bytes(s.encode_ctx()).unwrap();
    // 19 header + 2 + 2 + attribute: flags 0x80, type 15, len 3, AFI 2, SAFI 1.
    assert_eq!(&b6[19..], &[0, 0, 0, 6, 0x80, 15, 3, 0, 2, 1]);
    assert_eq!(u6.is_end_of_rib(), Some(Family::IPV6_UNICAST));
    // Received EoR.
    feed(&mut s, now, Update::end_of_rib(Family::IPV6_UNICAST));
    feed(&mut s, now, Update::new());
    assert_eq!(
        drain(&mut s),
        vec![
            Action::EndOfRib(Family::IPV6_UNICAST),
            Action::EndOfRib(Family::IPV4_UNICAST)
        ]
    );
    // Not Established: refused with the state.
    let mut s = to_open_sent(config(), now);
    assert_eq!(
        s.initial_table_sent(now),
        Err(SessionError::NotEstablished {
            state: State::OpenSent
        })
    );
}

#[test]
fn rule_23_only_the_last_gr_capability_counts() {
    let now = t0();
    let open = peer_open(90)
        .with_capability(gr_cap(GracefulRestart::RESTART_STATE, 300))
        .with_capability(gr_cap(0, 60));
    let s = to_open_confirm_with(gr_config(), now, open);
    let gr = s
        .negotiated()
        .unwrap()
        .peer_graceful_restart
        .clone()
        .unwrap();
    assert!(!gr.restart_state);
    assert_eq!(gr.restart_time, 60);
    assert_eq!(
        gr.families,
        vec![(Family::IPV4_UNICAST, true), (Family::IPV6_UNICAST, false)]
    );
}

#[test]
fn rule_24_notification_without_n_deletes() {
    let now = t0();
    let mut s = to_established_with(
        gr_config(),
        now,
        peer_open(90).with_capability(gr_cap(0, 120)),
    );
    feed(&mut s, now, Notification::new(ErrorCode::CEASE, 4, vec![]));
    let d = down(&drain(&mut s)).unwrap();
    assert_eq!(d.fate, RouteFate::Delete);
    assert!(matches!(
        d.reason,
        Reason::Notification {
            initiator: Initiator::Peer,
            ..
        }
    ));
}

#[test]
fn rule_25_tcp_failure_of_gr_peer_retains_stale() {
    let now = t0();
    let mut s = to_established_with(
        gr_config(),
        now,
        peer_open(90).with_capability(gr_cap(0, 120)),
    );
    s.handle_connection_failed(now);
    assert_eq!(
        down(&drain(&mut s)),
        Some(Down {
            reason: Reason::TcpFailure,
            fate: RouteFate::RetainStale
        })
    );
    // Without the peer's GR capability: delete.
    let mut s = to_established(now);
    s.handle_connection_failed(now);
    assert_eq!(down(&drain(&mut s)).unwrap().fate, RouteFate::Delete);
}

#[test]
fn rule_26_new_connection_from_gr_peer_replaces_established_without_notification() {
    use bgp_wire::session::{Loser, resolve_collision};
    let now = t0();
    let open = peer_open(90).with_capability(gr_cap(0, 120));
    let mut existing = to_established_with(gr_config(), now, open.clone());
    let mut new = to_open_confirm_with(
        gr_config(),
        now,
        peer_open(90).with_capability(gr_cap(GracefulRestart::RESTART_STATE, 120)),
    );
    assert_eq!(
        resolve_collision(now, &mut existing, &mut new),
        Some(Loser::Existing)
    );
    let a = drain(&mut existing);
    assert!(notifications(&a).is_empty(), "no NOTIFICATION: {a:?}");
    assert_eq!(
        down(&a),
        Some(Down {
            reason: Reason::PeerRestarted,
            fate: RouteFate::RetainStale
        })
    );
    assert_eq!(new.state(), State::OpenConfirm);
}

// Rules 27-29 are route-engine procedures (llgr scenarios dualtor-gr1 step 04,
// gr-rule28-*, gr-rule29-*); the session's part is to hand over their inputs exactly.

#[test]
fn rule_27_peer_restart_time_is_handed_over_clamped() {
    // RFC 4724 §4.2: the receiving speaker runs the peer's advertised Restart Time; local
    // bounds clamp it (BIRD `min/max long lived stale time` style). The TCP failure
    // keeps the routes stale until then.
    let now = t0();
    let mut c = gr_config();
    c.peer_restart_time = Bounds { min: 30, max: 120 };
    let mut s = to_established_with(
        c.clone(),
        now,
        peer_open(90).with_capability(gr_cap(0, 300)),
    );
    assert_eq!(
        s.negotiated()
            .unwrap()
            .peer_graceful_restart
            .as_ref()
            .map(|g| g.restart_time),
        Some(120)
    );
    s.handle_connection_failed(now);
    assert_eq!(down(&drain(&mut s)).unwrap().fate, RouteFate::RetainStale);
    let s = to_established_with(c, now, peer_open(90).with_capability(gr_cap(0, 5)));
    assert_eq!(
        s.negotiated()
            .unwrap()
            .peer_graceful_restart
            .as_ref()
            .map(|g| g.restart_time),
        Some(30)
    );
}

#[test]
fn rule_28_reestablished_session_reports_f_bits_and_missing_families() {
    // RFC 4724 §4.2: on re-establishment, a family missing from the GR capability or
    // with F=0 loses its stale routes at once; no GR capability at all, every family.
    let now = t0();
    let only_v4_f0 = Capability::GracefulRestart(GracefulRestart {
        restart_flags: GracefulRestart::RESTART_STATE,
        restart_time: 120,
        families: vec![bgp_wire::capability::GrFamily {
            family: Family::IPV4_UNICAST,
            flags: 0,
        }],
    });
    let s = to_established_with(gr_config(), now, peer_open(90).with_capability(only_v4_f0));
    let g = s
        .negotiated()
        .unwrap()
        .peer_graceful_restart
        .clone()
        .unwrap();
    assert!(g.restart_state);
    assert_eq!(g.families, vec![(Family::IPV4_UNICAST, false)]);
    let s = to_established_with(gr_config(), now, peer_open(90));
    assert_eq!(s.negotiated().unwrap().peer_graceful_restart, None);
}

#[test]
fn rule_29_updates_then_end_of_rib_are_surfaced_in_order() {
    // RFC 4724 §4.2: UPDATEs replace stale routes, and the peer's End-of-RIB for a family
    // ends its stale phase; the engine needs them in wire order, per family.
    let now = t0();
    let mut s = to_established_with(
        gr_config(),
        now,
        peer_open(90).with_capability(gr_cap(GracefulRestart::RESTART_STATE, 120)),
    );
    feed(&mut s, now, route("10.1.0.0/16"));
    feed(&mut s, now, Update::new());
    feed(&mut s, now, route("10.2.0.0/16"));
    let a: Vec<String> = drain(&mut s)
        .into_iter()
        .filter_map(|a| match a {
            Action::Update { update, .. } => Some(update.nlri[0].prefix.to_string()),
            Action::EndOfRib(f) => Some(format!("EoR {f:?}")),
            _ => None,
        })
        .collect();
    assert_eq!(
        a,
        vec![
            "10.1.0.0/16".to_string(),
            format!("EoR {:?}", Family::IPV4_UNICAST),
            "10.2.0.0/16".to_string()
        ]
    );
}

#[test]
fn rule_30_graceful_stop_then_start_advertises_r_and_f() {
    // RFC 4724 §4.1: R=1 after our restart, F per family; RFC 9494 F bit too.
    let now = t0();
    let mut c = gr_config();
    c.graceful_restart.as_mut().unwrap().forwarding = vec![Family::IPV4_UNICAST];
    c.llgr = LlgrConfig::Enabled(vec![LlgrFamilyConfig {
        family: Family::IPV4_UNICAST,
        stale_time: 3600,
        forwarding: true,
    }]);
    let mut s = to_established_with(c, now, peer_open(90).with_capability(gr_cap(0, 120)));
    s.handle_stop(now, StopKind::Graceful);
    let a = drain(&mut s);
    assert!(notifications(&a).is_empty(), "graceful stop sends nothing");
    assert!(a.contains(&Action::CloseConnection));
    assert_eq!(down(&a).unwrap().reason, Reason::LocalRestart);
    assert!(s.restarting());
    s.handle_start(now, StartKind::Manual);
    s.handle_connected(now, Direction::Outbound);
    let Some(Message::Open(open)) = sent(&drain(&mut s)).into_iter().next() else {
        panic!()
    };
    let b = Message::Open(open).to_bytes(s.encode_ctx()).unwrap();
    let hex = hex::encode(&b);
    // GR capability: code 64, len 10, flags R (0x8) | time 120 = 0x8078,
    // IPv4 unicast F=0x80, IPv6 unicast F=0.
    assert!(
        hex.contains("400a807800010180000201 00".replace(' ', "").as_str()),
        "{hex}"
    );
    // LLGR: code 71, len 7, IPv4 unicast, F, stale 3600 = 0x000e10.
    assert!(hex.contains("470700010180000e10"), "{hex}");
    // Once Established again, R goes back to 0.
    feed(&mut s, now, peer_open(90));
    feed(&mut s, now, Message::Keepalive(Keepalive));
    assert!(!s.restarting());
}

#[test]
fn rule_31_n_bit_applies_only_when_both_set() {
    let now = t0();
    let mut c = gr_config();
    c.graceful_restart.as_mut().unwrap().notification = true;
    let s = to_open_confirm_with(
        c.clone(),
        now,
        peer_open(90).with_capability(gr_cap(0, 120)),
    );
    assert!(!s.negotiated().unwrap().notification_gr);
    let s = to_open_confirm_with(
        c,
        now,
        peer_open(90).with_capability(gr_cap(GracefulRestart::NOTIFICATION, 120)),
    );
    assert!(s.negotiated().unwrap().notification_gr);
    let s = to_open_confirm_with(
        gr_config(),
        now,
        peer_open(90).with_capability(gr_cap(GracefulRestart::NOTIFICATION, 120)),
    );
    assert!(!s.negotiated().unwrap().notification_gr);
}

fn n_session(now: std::time::Instant) -> Session {
    let mut c = gr_config();
    c.graceful_restart.as_mut().unwrap().notification = true;
    to_established_with(
        c,
        now,
        peer_open(90).with_capability(gr_cap(GracefulRestart::NOTIFICATION, 120)),
    )
}

#[test]
fn rule_32_with_n_notifications_and_hold_expiry_retain_stale() {
    let now = t0();
    let mut s = n_session(now);
    feed(&mut s, now, Notification::new(ErrorCode::CEASE, 4, vec![]));
    assert_eq!(down(&drain(&mut s)).unwrap().fate, RouteFate::RetainStale);
    let mut s = n_session(now);
    s.handle_timeout(now + secs(90));
    let a = drain(&mut s);
    assert_eq!(codes(&a), vec![n(4, 0)]);
    assert_eq!(down(&a).unwrap().fate, RouteFate::RetainStale);
    // An UPDATE error we send is graceful too with N.
    let mut s = n_session(now);
    let mut frame = vec![0xff; 16];
    frame.extend_from_slice(&[0, 23, 2, 0, 0, 0, 10]);
    s.handle_bytes(now, &frame);
    assert_eq!(down(&drain(&mut s)).unwrap().fate, RouteFate::RetainStale);
}

#[test]
fn rule_33_hard_reset_deletes_and_admin_stop_wraps_in_hard_reset() {
    let now = t0();
    let mut s = n_session(now);
    feed(
        &mut s,
        now,
        Notification::new(ErrorCode::CEASE, 2, vec![]).into_hard_reset(),
    );
    assert_eq!(down(&drain(&mut s)).unwrap().fate, RouteFate::Delete);
    // RFC 8538 §3: data = original code, subcode, data.
    let mut s = n_session(now);
    s.handle_stop(now, StopKind::Administrative { message: "".into() });
    let ns = notifications(&drain(&mut s));
    assert_eq!((ns[0].code, ns[0].subcode), n(6, 9));
    assert_eq!(&ns[0].data[..], &[6, 2, 0]);
}

#[test]
fn rule_34_bird_peers_without_n_keep_rfc4724_semantics() {
    // BIRD sends R/F only: any NOTIFICATION means delete, TCP failure retains.
    let now = t0();
    let mut c = gr_config();
    c.graceful_restart.as_mut().unwrap().notification = true;
    let mut s = to_established_with(c, now, peer_open(90).with_capability(gr_cap(0, 120)));
    feed(
        &mut s,
        now,
        Notification::new(ErrorCode::HOLD_TIMER_EXPIRED, 0, vec![]),
    );
    assert_eq!(down(&drain(&mut s)).unwrap().fate, RouteFate::Delete);
}

// ---- Negotiation ----------------------------------------------------------------------

#[test]
fn negotiation_families_add_path_llgr_role_and_bounds() {
    let now = t0();
    let mut c = gr_config();
    c.families = vec![Family::IPV4_UNICAST];
    c.add_path = vec![(Family::IPV4_UNICAST, AddPathMode::BOTH)];
    c.llgr = LlgrConfig::Aware;
    c.peer_restart_time = Bounds { min: 0, max: 90 };
    c.peer_stale_time = Bounds {
        min: 60,
        max: 86400,
    };
    c.enhanced_route_refresh = true;
    c.role = Some(Role::CUSTOMER);
    let open = peer_open(90)
        .with_capability(Capability::AddPath(vec![AddPathFamily {
            family: Family::IPV4_UNICAST,
            mode: AddPathMode::SEND,
        }]))
        .with_capability(gr_cap(0, 4095))
        .with_capability(llgr_cap(10))
        .with_capability(Capability::EnhancedRouteRefresh)
        .with_capability(Capability::Role(Role::PROVIDER));
    let s = to_open_confirm_with(c, now, open);
    let n = s.negotiated().unwrap();
    assert_eq!(n.families, vec![Family::IPV4_UNICAST]);
    assert!(n.four_octet_as);
    assert_eq!(n.add_path.len(), 1);
    assert!(n.add_path[0].receive && !n.add_path[0].send);
    assert!(n.decode_ctx().add_path(Family::IPV4_UNICAST));
    assert!(!n.encode_ctx().add_path(Family::IPV4_UNICAST));
    assert_eq!(n.peer_graceful_restart.as_ref().unwrap().restart_time, 90);
    assert!(n.peer_llgr_capable);
    assert_eq!(n.peer_llgr[0].stale_time, 60);
    assert!(n.peer_llgr[0].forwarding);
    assert!(!n.local_llgr);
    assert!(n.enhanced_route_refresh && n.route_refresh);
    assert_eq!(n.peer_role, Some(Role::PROVIDER));
    // The empty LLGR capability ("aware") went out in our OPEN: code 71, length 0.
}

#[test]
fn negotiation_role_mismatch_sends_2_11() {
    // RFC 9234 §4.2.
    let now = t0();
    let mut c = config();
    c.role = Some(Role::CUSTOMER);
    let mut s = to_open_sent(c.clone(), now);
    feed(
        &mut s,
        now,
        peer_open(90).with_capability(Capability::Role(Role::CUSTOMER)),
    );
    assert_eq!(codes(&drain(&mut s)), vec![n(2, 11)]);
    c.role_strict = true;
    let mut s = to_open_sent(c, now);
    feed(&mut s, now, peer_open(90));
    assert_eq!(codes(&drain(&mut s)), vec![n(2, 11)]);
}

#[test]
fn negotiation_no_common_family_sends_2_7() {
    // RFC 5492 §5: data lists the capabilities we needed.
    let now = t0();
    let mut c = config();
    c.families = vec![Family::IPV6_UNICAST];
    let mut open = peer_open(90);
    open.params = vec![bgp_wire::open::OptionalParameter::Capabilities(vec![
        Capability::Multiprotocol(Family::IPV4_UNICAST),
        Capability::FourOctetAs(PEER_AS),
    ])];
    let mut s = to_open_sent(c, now);
    feed(&mut s, now, open);
    let ns = notifications(&drain(&mut s));
    assert_eq!((ns[0].code, ns[0].subcode), n(2, 7));
    assert_eq!(&ns[0].data[..], &[1, 4, 0, 2, 0, 1]);
}

#[test]
fn negotiation_dynamic_peer_accepts_any_as() {
    let now = t0();
    let mut c = config();
    c.peer_as = None;
    let s = to_open_confirm_with(c, now, peer_open(90));
    assert_eq!(s.negotiated().unwrap().peer_as, PEER_AS);
}

#[test]
fn route_refresh_requests_are_surfaced_and_filtered() {
    // RFC 2918 §4 (unknown family ignored), RFC 7313 §5 (BoRR needs enhanced RR).
    let now = t0();
    let mut s = to_established(now);
    feed(&mut s, now, RouteRefresh::new(Family::IPV6_UNICAST));
    feed(
        &mut s,
        now,
        RouteRefresh::new(Family::new(bgp_wire::Afi(25), bgp_wire::Safi(70))),
    );
    feed(
        &mut s,
        now,
        RouteRefresh {
            family: Family::IPV4_UNICAST,
            subtype: Subtype::BORR,
        },
    );
    assert_eq!(
        drain(&mut s),
        vec![Action::RouteRefresh(RouteRefresh::new(
            Family::IPV6_UNICAST
        ))]
    );
    s.request_route_refresh(now, Family::IPV4_UNICAST).unwrap();
    assert_eq!(
        sent(&drain(&mut s)),
        vec![Message::RouteRefresh(RouteRefresh::new(
            Family::IPV4_UNICAST
        ))]
    );
    let fam = Family::new(bgp_wire::Afi(25), bgp_wire::Safi(70));
    assert_eq!(
        s.request_route_refresh(now, fam),
        Err(SessionError::NotNegotiated { family: fam })
    );
}

#[test]
fn enhanced_route_refresh_answer_is_bracketed_by_borr_and_eorr() {
    // RFC 7313 §4: the answer to a refresh request is BoRR, the routes, then EoRR; only
    // when both advertised Enhanced Route Refresh (capability 70).
    let now = t0();
    let mut c = config();
    c.enhanced_route_refresh = true;
    let mut s = to_established_with(
        c,
        now,
        peer_open(90).with_capability(Capability::EnhancedRouteRefresh),
    );
    let rr = |subtype| RouteRefresh {
        family: Family::IPV4_UNICAST,
        subtype,
    };
    s.send_refresh_marker(now, Family::IPV4_UNICAST, Subtype::BORR)
        .unwrap();
    s.send_update(now, route("10.9.0.0/16")).unwrap();
    s.send_refresh_marker(now, Family::IPV4_UNICAST, Subtype::EORR)
        .unwrap();
    assert_eq!(
        sent(&drain(&mut s)),
        vec![
            Message::RouteRefresh(rr(Subtype::BORR)),
            Message::Update(route("10.9.0.0/16")),
            Message::RouteRefresh(rr(Subtype::EORR)),
        ]
    );
    assert_eq!(
        s.send_refresh_marker(now, Family::IPV4_UNICAST, Subtype::NORMAL),
        Err(SessionError::RefreshSubtype { subtype: 0 })
    );
    let l2vpn = Family::new(bgp_wire::Afi(25), bgp_wire::Safi(70));
    assert_eq!(
        s.send_refresh_marker(now, l2vpn, Subtype::BORR),
        Err(SessionError::NotNegotiated { family: l2vpn })
    );
    // Without the peer's capability 70: refused.
    let mut c = config();
    c.enhanced_route_refresh = true;
    let mut s = to_established_with(c, now, peer_open(90));
    assert_eq!(
        s.send_refresh_marker(now, Family::IPV4_UNICAST, Subtype::BORR),
        Err(SessionError::RefreshSubtype { subtype: 1 })
    );
}

#[test]
fn receive_paused_holds_back_the_hold_timer_only_when_running() {
    // Our own backpressure (not reading) is not the peer's silence (RFC 4271 §4.4 counts
    // what is received): the HoldTimer restarts from the pause; nothing else changes.
    let now = t0();
    let mut s = to_established(now);
    assert_eq!(s.timer(Timer::Hold), Some(now + secs(90)));
    s.handle_receive_paused(now + secs(80));
    assert_eq!(s.timer(Timer::Hold), Some(now + secs(170)));
    assert_eq!(s.state(), State::Established);
    assert!(drain(&mut s).is_empty());
    // Hold time 0: no HoldTimer to hold back.
    let mut s = to_established_with(config(), now, peer_open(0));
    s.handle_receive_paused(now + secs(5));
    assert_eq!(s.timer(Timer::Hold), None);
    // OpenSent keeps its large hold timer (the OPEN exchange is not paused).
    let mut s = to_open_sent(config(), now);
    let before = s.timer(Timer::Hold);
    s.handle_receive_paused(now + secs(5));
    assert_eq!(s.timer(Timer::Hold), before);
}

#[test]
fn treat_as_withdraw_is_reported_with_its_verdict() {
    // RFC 7606 §3(d)/§7.2: an UPDATE without ORIGIN but with NLRI → treat-as-withdraw.
    let now = t0();
    let mut s = to_established(now);
    let u = Update::new()
        .with(AttrValue::AsPath(AsPath::sequence([PEER_AS])))
        .with(AttrValue::NextHop("192.0.2.2".parse().unwrap()))
        .with_nlri([Nlri::new(
            "198.51.100.0/24".parse::<ipnet::Ipv4Net>().unwrap(),
        )]);
    feed(&mut s, now, u);
    let a = drain(&mut s);
    assert!(
        matches!(
            &a[..],
            [Action::Update {
                verdict: bgp_wire::Verdict::TreatAsWithdraw { .. },
                ..
            }]
        ),
        "{a:?}"
    );
    assert_eq!(s.state(), State::Established);
}

#[test]
fn keepalive_timer_never_fires_more_than_once_per_second() {
    // RFC 4271 §4.4 with hold 3: keepalive every 1 s, exactly.
    let now = t0();
    let mut s = to_established_with(config(), now, peer_open(3));
    let mut count = 0;
    let mut t = now;
    while t < now + secs(10) {
        t += Duration::from_millis(100);
        s.handle_timeout(t);
        feed(&mut s, t, Message::Keepalive(Keepalive));
        count += sent(&drain(&mut s)).len();
    }
    assert_eq!(count, 10);
}
