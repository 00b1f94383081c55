//! Passive side: one listening socket (port 179 by default) shared by every peer;
//! accepted connections go to the peer registered for the remote address.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::socket::SocketOptions;

/// The BGP port (RFC 4271 §8.2.1).
pub const BGP_PORT: u16 = 179;

#[derive(Debug)]
struct Registered {
    tx: mpsc::Sender<TcpStream>,
    opts: SocketOptions,
}

/// A listening socket dispatching connections by peer address. Connections from
/// addresses nobody registered are closed at once.
#[derive(Clone, Debug)]
pub struct Listener {
    inner: Arc<TcpListener>,
    peers: Arc<Mutex<HashMap<IpAddr, Registered>>>,
}

impl Listener {
    /// Binds `addr` (e.g. `[::]:179`, dual-stack, or `0.0.0.0:179`).
    pub fn bind(addr: SocketAddr) -> io::Result<Listener> {
        let s = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        s.set_reuse_address(true)?;
        if addr.is_ipv6() {
            s.set_only_v6(false)?;
        }
        s.set_nonblocking(true)?;
        s.bind(&addr.into())?;
        s.listen(128)?;
        let l = TcpListener::from_std(s.into())?;
        Ok(Listener {
            inner: Arc::new(l),
            peers: Arc::default(),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// Registers a peer: its MD5 key is installed on the listening socket (the kernel
    /// then checks the SYN), and so is its GTSM minimum TTL, which then holds for every
    /// peer of this listener; the receiver yields its accepted connections.
    pub fn register(
        &self,
        peer: IpAddr,
        opts: &SocketOptions,
    ) -> io::Result<mpsc::Receiver<TcpStream>> {
        if let Some(pw) = &opts.password {
            crate::sys::set_tcp_md5sig(
                std::os::fd::AsFd::as_fd(&*self.inner),
                mapped(peer, &self.inner),
                pw.as_bytes(),
            )?;
        }
        if opts.ttl_security.is_some() {
            // GTSM must drop the peer's SYN and first segments, which arrive before
            // `accept` returns, and our SYN-ACK must leave with TTL 255: apply it to the
            // listening socket. It then holds for every peer of this listener: bind one
            // listener per policy. IPv4 options work on a dual-stack socket too.
            opts.apply_peer(&SockRef::from(&*self.inner), SocketAddr::new(peer, 0))?;
        }
        let (tx, rx) = mpsc::channel(4);
        let reg = Registered {
            tx,
            opts: opts.clone(),
        };
        self.peers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(peer, reg);
        Ok(rx)
    }

    /// Accepts connections forever (spawn it).
    pub async fn run(self) -> io::Result<()> {
        loop {
            let (stream, from) = self.inner.accept().await?;
            let ip = canonical(from.ip());
            let (tx, opts) = {
                let peers = self.peers.lock().unwrap_or_else(|e| e.into_inner());
                match peers.get(&ip) {
                    Some(r) => (r.tx.clone(), r.opts.clone()),
                    None => continue,
                }
            };
            let _ = stream.set_nodelay(true);
            if opts.ttl_security.is_some()
                && opts.apply_peer(&SockRef::from(&stream), from).is_err()
            {
                continue;
            }
            let _ = tx.try_send(stream);
        }
    }
}

/// IPv4 peers reach a dual-stack socket as IPv4-mapped IPv6 addresses.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The address form the kernel sees on this listener (mapped for IPv4 on IPv6).
fn mapped(peer: IpAddr, l: &TcpListener) -> IpAddr {
    match (peer, l.local_addr()) {
        (IpAddr::V4(v4), Ok(SocketAddr::V6(_))) => IpAddr::V6(v4.to_ipv6_mapped()),
        _ => peer,
    }
}
