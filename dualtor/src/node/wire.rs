//! [`WireTransport`]: the node's BGP sessions on `bgp_wire::transport` (TCP
//! with the RFC 4271 §8 FSM, TCP MD5, GTSM, collision handling, bounded
//! output). This module only translates between the node's
//! [`SessionCommand`]s / [`SessionEvent`]s and the transport's handle and
//! actions (style rule 21).
//!
//! A daemon without a node plan (the `dualtor-tor` example) runs the same
//! session tasks with [`WireTransport::spawn_session`] and a
//! [`SessionLink::new`].

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;

use bgp_wire::session::{Action, RouteFate, StartKind, StopKind};
use bgp_wire::transport::{self, Listener, PeerConfig, SocketOptions};

use super::bgp::{
    DownReason, SessionCommand, SessionEvent, SessionLink, SessionSetup, StopReason, Transport,
};

/// BGP over `bgp_wire::transport`. Without a [`Listener`] the node only
/// connects (the ToRs accept); with one, the ToRs' connections are accepted
/// too and collisions resolved (RFC 4271 §6.8).
#[derive(Debug, Clone)]
pub struct WireTransport {
    listener: Option<Listener>,
    /// RFC 9003 Shutdown Communication of [`StopReason::Shutdown`].
    shutdown_message: Arc<str>,
}

impl Default for WireTransport {
    fn default() -> Self {
        WireTransport::new()
    }
}

impl WireTransport {
    /// Active connections only.
    pub fn new() -> Self {
        WireTransport {
            listener: None,
            shutdown_message: Arc::from("dualtor-node shutting down"),
        }
    }

    /// Also accepts connections from `listener` (spawn [`Listener::run`]).
    pub fn with_listener(listener: Listener) -> Self {
        WireTransport {
            listener: Some(listener),
            ..WireTransport::new()
        }
    }

    /// The RFC 9003 Shutdown Communication sent with the Cease of
    /// [`StopReason::Shutdown`] (default "dualtor-node shutting down"), so
    /// that the peer's operator sees which daemon stopped.
    pub fn with_shutdown_message(mut self, message: impl Into<String>) -> Self {
        self.shutdown_message = Arc::from(message.into());
        self
    }

    /// Starts one session task from a `bgp_wire` peer configuration, for a
    /// daemon that has no node plan (a [`Transport::spawn`] without a
    /// [`SessionSetup`]): the task connects (and accepts, with a listener),
    /// reports on `link.events` and obeys `link.commands` exactly as the
    /// node's sessions do. [`SessionEvent::Established`] carries our
    /// address towards the peer (bound, or from a route lookup).
    pub fn spawn_session(
        &self,
        config: PeerConfig,
        link: SessionLink,
    ) -> tokio::task::JoinHandle<()> {
        let incoming = self
            .listener
            .as_ref()
            .and_then(|l| l.register(config.remote.ip(), &config.socket).ok());
        let local = config.socket.local;
        let remote = config.remote;
        tokio::spawn(run(
            Session {
                local,
                remote,
                shutdown_message: self.shutdown_message.clone(),
            },
            config,
            incoming,
            link,
        ))
    }
}

/// What the session task keeps of its setup.
struct Session {
    local: Option<IpAddr>,
    remote: SocketAddr,
    shutdown_message: Arc<str>,
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

fn stop_kind(r: StopReason, shutdown_message: &str) -> StopKind {
    match r {
        StopReason::Graceful => StopKind::Graceful,
        StopReason::Deconfigured => StopKind::Administrative {
            message: "peer de-configured".into(),
        },
        StopReason::ConfigChanged => StopKind::Administrative {
            message: "configuration changed".into(),
        },
        StopReason::Shutdown => StopKind::Administrative {
            message: shutdown_message.into(),
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
        let mut cfg = PeerConfig::new(setup.config, setup.remote).with_restarting(setup.restarting);
        cfg.socket = socket;
        self.spawn_session(cfg, link);
    }
}

async fn run(
    setup: Session,
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
                    let _ = handle.stop(stop_kind(r, &setup.shutdown_message)).await;
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
