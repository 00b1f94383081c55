//! [`WireTransport`]: the node's BGP sessions on `bgp_wire::transport` (TCP
//! with the RFC 4271 §8 FSM, TCP MD5, GTSM, collision handling, bounded
//! output). This module only translates between the node's
//! [`SessionCommand`]s / [`SessionEvent`]s and the transport's handle and
//! actions (style rule 21).

use std::net::{IpAddr, SocketAddr, UdpSocket};

use bgp_wire::session::{Action, RouteFate, StartKind, StopKind};
use bgp_wire::transport::{self, Listener, PeerConfig, SocketOptions};

use super::bgp::{
    DownReason, SessionCommand, SessionEvent, SessionLink, SessionSetup, StopReason, Transport,
};

/// BGP over `bgp_wire::transport`. Without a [`Listener`] the node only
/// connects (the ToRs accept); with one, the ToRs' connections are accepted
/// too and collisions resolved (RFC 4271 §6.8).
#[derive(Debug, Clone, Default)]
pub struct WireTransport {
    listener: Option<Listener>,
}

impl WireTransport {
    /// Active connections only.
    pub fn new() -> Self {
        WireTransport { listener: None }
    }

    /// Also accepts connections from `listener` (spawn [`Listener::run`]).
    pub fn with_listener(listener: Listener) -> Self {
        WireTransport {
            listener: Some(listener),
        }
    }
}

/// The address the kernel uses towards `remote` (our end of the session,
/// NEXT_HOP self), found by a route lookup: a connected UDP socket.
fn local_address(bind: Option<IpAddr>, remote: SocketAddr) -> Option<IpAddr> {
    let any: SocketAddr = match (bind, remote) {
        (Some(a), _) => SocketAddr::new(a, 0),
        (None, SocketAddr::V4(_)) => "0.0.0.0:0".parse().ok()?,
        (None, SocketAddr::V6(_)) => "[::]:0".parse().ok()?,
    };
    let s = UdpSocket::bind(any).ok()?;
    s.connect(remote).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

fn stop_kind(r: StopReason) -> StopKind {
    match r {
        StopReason::Graceful => StopKind::Graceful,
        StopReason::Deconfigured => StopKind::Administrative {
            message: "peer de-configured".into(),
        },
        StopReason::ConfigChanged => StopKind::Administrative {
            message: "configuration changed".into(),
        },
        StopReason::Shutdown => StopKind::Administrative {
            message: "dualtor-node shutting down".into(),
        },
    }
}

impl Transport for WireTransport {
    fn spawn(&self, setup: SessionSetup, link: SessionLink) {
        let mut socket = SocketOptions::default();
        socket.local = setup.local;
        socket.interface = setup.interface.clone();
        socket.password = setup.peer.password.as_ref().map(|p| p.expose().to_owned());
        socket.ttl_security = setup.peer.ttl_security;
        let mut cfg =
            PeerConfig::new(setup.config.clone(), setup.remote).with_restarting(setup.restarting);
        cfg.socket = socket;
        let incoming = self
            .listener
            .as_ref()
            .and_then(|l| l.register(setup.remote.ip(), &cfg.socket).ok());
        tokio::spawn(run(setup, cfg, incoming, link));
    }
}

async fn run(
    setup: SessionSetup,
    cfg: PeerConfig,
    incoming: Option<tokio::sync::mpsc::Receiver<tokio::net::TcpStream>>,
    mut link: SessionLink,
) {
    let (handle, mut actions, task) = transport::spawn(cfg, incoming);
    let _ = handle.start(StartKind::Manual).await;
    let mut conn = 0u64;
    loop {
        tokio::select! {
            cmd = link.commands.recv() => match cmd {
                Some(SessionCommand::Send(updates)) => {
                    let _ = handle.send_updates(updates).await;
                }
                Some(SessionCommand::InitialTableSent) => {
                    let _ = handle.initial_table_sent().await;
                }
                Some(SessionCommand::RestartComplete) => {
                    let _ = handle.set_restarting(false).await;
                }
                Some(SessionCommand::PathDown) => {
                    let _ = handle.stop(StopKind::BfdDown).await;
                    let _ = handle.start(StartKind::Automatic).await;
                }
                // A start is ignored unless the session is Idle (in backoff).
                Some(SessionCommand::Reconnect) => {
                    let _ = handle.start(StartKind::Manual).await;
                }
                Some(SessionCommand::Stop(r)) => {
                    let _ = handle.stop(stop_kind(r)).await;
                    break;
                }
                None => {
                    let _ = handle.stop(StopKind::Graceful).await;
                    break;
                }
            },
            a = actions.recv() => {
                let Some(a) = a else { break };
                let ev = match a {
                    Action::SessionUp(negotiated) => {
                        conn += 1;
                        let ip = local_address(setup.local, setup.remote)
                            .unwrap_or(setup.remote.ip());
                        SessionEvent::Established {
                            conn,
                            negotiated,
                            local: SocketAddr::new(ip, 0),
                        }
                    }
                    Action::SessionDown(d) => SessionEvent::Down {
                        conn,
                        reason: DownReason::from(&d.reason),
                        retain_stale: d.fate == RouteFate::RetainStale,
                    },
                    Action::Update { update, verdict } => SessionEvent::Update {
                        conn,
                        update,
                        treat_as_withdraw: matches!(
                            verdict,
                            bgp_wire::Verdict::TreatAsWithdraw { .. }
                        ),
                    },
                    Action::EndOfRib(family) => SessionEvent::EndOfRib { conn, family },
                    _ => continue,
                };
                if link.events.send(ev).await.is_err() {
                    break;
                }
            }
        }
    }
    // Dropping the handle ends the peer task once it has written what the
    // stop queued (the NOTIFICATION, or nothing for a graceful stop).
    drop(handle);
    let _ = task.await;
}
