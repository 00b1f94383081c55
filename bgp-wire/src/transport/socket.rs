//! Per-peer socket options (Calico BGPPeer: `sourceAddress`, `password`, `ttlSecurity`).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;

use socket2::{Domain, Protocol, Socket, Type};

use crate::sys;

/// Socket options of one peering.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketOptions {
    /// Bind to this source address (`sourceAddress: UseNodeIP`), or let the kernel pick
    /// the outgoing interface's address (`None`).
    pub local: Option<IpAddr>,
    /// Bind to this interface (`SO_BINDTODEVICE`).
    pub interface: Option<String>,
    /// TCP MD5 signature key (RFC 2385; Calico `password`, at most 80 octets).
    pub password: Option<String>,
    /// GTSM (RFC 5082; Calico `ttlSecurity`): send with TTL 255 and drop segments whose
    /// TTL is below `256 - hops`.
    pub ttl_security: Option<u8>,
}

impl SocketOptions {
    /// The minimum TTL GTSM accepts for `hops` (RFC 5082 §3: 255 for a direct peer).
    pub fn min_ttl(hops: u8) -> u8 {
        (256 - u16::from(hops.max(1))) as u8
    }

    /// Applies GTSM for the peer `remote` to a socket: TTL 255 out, minimum TTL in.
    pub(crate) fn apply_peer(&self, s: &Socket, remote: SocketAddr) -> io::Result<()> {
        if let Some(hops) = self.ttl_security {
            match remote {
                SocketAddr::V4(_) => s.set_ttl_v4(255)?,
                SocketAddr::V6(_) => s.set_unicast_hops_v6(255)?,
            }
            sys::set_min_ttl(s.as_fd(), remote, Self::min_ttl(hops))?;
        }
        Ok(())
    }

    /// A non-blocking TCP socket ready to connect to `remote`.
    pub(crate) fn connect_socket(&self, remote: SocketAddr) -> io::Result<tokio::net::TcpSocket> {
        let s = Socket::new(
            Domain::for_address(remote),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        s.set_nonblocking(true)?;
        s.set_tcp_nodelay(true)?;
        if let Some(dev) = &self.interface {
            s.bind_device(Some(dev.as_bytes()))?;
        }
        if let Some(ip) = self.local {
            s.bind(&SocketAddr::new(ip, 0).into())?;
        }
        if let Some(pw) = &self.password {
            sys::set_tcp_md5sig(s.as_fd(), remote.ip(), pw.as_bytes())?;
        }
        self.apply_peer(&s, remote)?;
        Ok(tokio::net::TcpSocket::from_std_stream(s.into()))
    }
}
