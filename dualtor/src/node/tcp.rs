//! [`TcpTransport`]: `bgp_wire::session::Session` (the sans-IO RFC 4271 §8
//! FSM) driven over tokio TCP. The task is a loop that forwards calls
//! (style rule 21): it waits on the connection, on the FSM's next deadline
//! and on the node's commands, calls the matching `handle_*`, and performs
//! the FSM's actions. Every protocol decision is the FSM's.
//!
//! Active connections only (the ToRs accept them); the listener, TCP MD5
//! (RFC 2385) and GTSM (RFC 5082) belong to `bgp_wire`'s transport, which
//! will replace this module.
#![allow(clippy::disallowed_methods)] // the runtime owns the clock

use std::net::SocketAddr;
use std::time::Instant;

use bgp_wire::Notification;
use bgp_wire::framing::{BgpCodec, FramingError};
use bgp_wire::session::{Action, Direction, Session, StartKind, State, StopKind};
use bytes::BytesMut;
use futures::{SinkExt, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio_util::codec::{FramedRead, FramedWrite};

use super::bgp::{
    DownReason, SessionCommand, SessionEvent, SessionLink, SessionSetup, StopReason, Transport,
};

/// BGP over plain TCP from the node to each peer (port 179).
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpTransport;

impl Transport for TcpTransport {
    fn spawn(&self, setup: SessionSetup, link: SessionLink) {
        tokio::spawn(run(setup, link));
    }
}

type Reader = FramedRead<tokio::net::tcp::OwnedReadHalf, BgpCodec>;
type Writer = FramedWrite<tokio::net::tcp::OwnedWriteHalf, RawCodec>;

/// Writes already-encoded messages.
#[derive(Debug, Default)]
struct RawCodec;

impl tokio_util::codec::Encoder<BytesMut> for RawCodec {
    type Error = std::io::Error;
    fn encode(&mut self, item: BytesMut, dst: &mut BytesMut) -> Result<(), Self::Error> {
        dst.extend_from_slice(&item);
        Ok(())
    }
}

async fn connect(setup: &SessionSetup) -> std::io::Result<TcpStream> {
    let sock = if setup.remote.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(local) = setup.local {
        sock.bind(SocketAddr::new(local, 0))?;
    }
    sock.set_nodelay(true)?;
    sock.connect(setup.remote).await
}

struct Conn {
    reader: Reader,
    writer: Writer,
    local: SocketAddr,
}

async fn run(setup: SessionSetup, mut link: SessionLink) {
    let mut session = Session::new(setup.config.clone());
    session.set_restarting(setup.restarting);
    session.handle_start(Instant::now(), StartKind::Manual);
    let mut conn: Option<Conn> = None;
    let mut connecting: Option<
        std::pin::Pin<Box<dyn Future<Output = std::io::Result<TcpStream>> + Send>>,
    > = None;
    let mut serial = 0u64;
    let mut up = false;
    let mut stopping = false;
    loop {
        // Perform the FSM's actions.
        while let Some(act) = session.poll_action() {
            match act {
                Action::OpenConnection => {
                    let s = setup.clone();
                    connecting = Some(Box::pin(async move { connect(&s).await }));
                }
                Action::CloseConnection => {
                    if let Some(mut c) = conn.take() {
                        let _ = c.writer.flush().await;
                        let _ = c.writer.get_mut().shutdown().await;
                    }
                    connecting = None;
                }
                Action::Send(m) => {
                    if let Some(c) = conn.as_mut() {
                        let mut buf = BytesMut::new();
                        if m.emit(session.encode_ctx(), &mut buf).is_ok()
                            && c.writer.feed(buf).await.is_err()
                        {
                            session.handle_connection_failed(Instant::now());
                        }
                    }
                }
                Action::SessionUp(n) => {
                    serial += 1;
                    up = true;
                    if let Some(c) = conn.as_mut() {
                        c.reader.decoder_mut().set_ctx(n.encode_ctx().clone());
                    }
                    let local = conn
                        .as_ref()
                        .map(|c| c.local)
                        .unwrap_or_else(|| SocketAddr::new(setup.remote.ip(), 0));
                    let _ = link.events.send(SessionEvent::Established {
                        conn: serial,
                        negotiated: n,
                        local,
                    });
                }
                Action::SessionDown(d) => {
                    up = false;
                    let _ = link.events.send(SessionEvent::Down {
                        conn: serial,
                        reason: DownReason::from(&d.reason),
                        retain_stale: d.fate == bgp_wire::session::RouteFate::RetainStale,
                    });
                }
                Action::Update { update, verdict } => {
                    let _ = link.events.send(SessionEvent::Update {
                        conn: serial,
                        update,
                        treat_as_withdraw: matches!(
                            verdict,
                            bgp_wire::Verdict::TreatAsWithdraw { .. }
                        ),
                    });
                }
                Action::EndOfRib(family) => {
                    let _ = link.events.send(SessionEvent::EndOfRib {
                        conn: serial,
                        family,
                    });
                }
                _ => {}
            }
        }
        if let Some(c) = conn.as_mut() {
            let _ = c.writer.flush().await;
        }
        if stopping {
            if let Some(mut c) = conn.take() {
                let _ = c.writer.get_mut().shutdown().await;
            }
            return;
        }
        let deadline = session.poll_timeout().map(tokio::time::Instant::from_std);
        tokio::select! {
            cmd = link.commands.recv() => {
                let now = Instant::now();
                match cmd {
                    Some(SessionCommand::Send(updates)) => {
                        if up {
                            for u in updates {
                                let _ = session.send_update(now, u);
                            }
                        }
                    }
                    Some(SessionCommand::InitialTableSent) => {
                        let _ = session.initial_table_sent(now);
                    }
                    Some(SessionCommand::Reconnect) => {
                        if session.state() == State::Idle {
                            session.handle_start(now, StartKind::Manual);
                        }
                    }
                    Some(SessionCommand::PathDown) => {
                        session.handle_stop(now, StopKind::BfdDown);
                        session.handle_start(now, StartKind::Automatic);
                    }
                    Some(SessionCommand::Stop(r)) => {
                        let kind = match r {
                            StopReason::Graceful => StopKind::Graceful,
                            StopReason::Deconfigured => StopKind::Administrative { message: "peer de-configured".into() },
                            StopReason::ConfigChanged => StopKind::Administrative { message: "configuration changed".into() },
                            _ => StopKind::Administrative { message: "dualtor-node shutting down".into() },
                        };
                        session.handle_stop(now, kind);
                        stopping = true;
                    }
                    None => {
                        session.handle_stop(now, StopKind::Graceful);
                        stopping = true;
                    }
                }
            }
            r = async { connecting.as_mut().expect("guarded").await }, if connecting.is_some() => {
                connecting = None;
                let now = Instant::now();
                match r {
                    Ok(s) => {
                        let local = s.local_addr().unwrap_or_else(|_| SocketAddr::new(setup.remote.ip(), 0));
                        let (rd, wr) = s.into_split();
                        conn = Some(Conn {
                            reader: FramedRead::new(rd, BgpCodec::new()),
                            writer: FramedWrite::new(wr, RawCodec),
                            local,
                        });
                        session.handle_connected(now, Direction::Outbound);
                    }
                    Err(_) => session.handle_connection_failed(now),
                }
            }
            frame = async { conn.as_mut().expect("guarded").reader.next().await }, if conn.is_some() => {
                let now = Instant::now();
                match frame {
                    Some(Ok(bytes)) => session.handle_bytes(now, &bytes),
                    Some(Err(FramingError::Header(h))) => {
                        let n = Notification::from(&bgp_wire::DecodeError::Header(h));
                        session.handle_framing_error(now, n);
                    }
                    Some(Err(_)) => {
                        conn = None;
                        session.handle_connection_failed(now);
                    }
                    None => {
                        conn = None;
                        session.handle_connection_failed(now);
                    }
                }
            }
            () = async { tokio::time::sleep_until(deadline.expect("guarded")).await }, if deadline.is_some() => {
                session.handle_timeout(Instant::now());
            }
        }
    }
}
