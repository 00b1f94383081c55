//! Raw socket options that no safe wrapper offers: TCP MD5 signatures (RFC 2385,
//! `TCP_MD5SIG`) and GTSM's minimum TTL (RFC 5082, `IP_MINTTL` / `IPV6_MINHOPCOUNT`).
//! socket2 0.6 and nix 0.30 have neither. One `unsafe` block, around `setsockopt`.
#![allow(unsafe_code)]

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, BorrowedFd};

/// Longest TCP MD5 key the kernel takes (`TCP_MD5SIG_MAXKEYLEN`).
pub(crate) const TCP_MD5SIG_MAXKEYLEN: usize = 80;
/// `sizeof(struct sockaddr_storage)`.
const SOCKADDR_STORAGE_LEN: usize = 128;
/// `sizeof(struct tcp_md5sig)`: storage, flags, prefixlen, keylen, ifindex, key.
const TCP_MD5SIG_LEN: usize = SOCKADDR_STORAGE_LEN + 1 + 1 + 2 + 4 + TCP_MD5SIG_MAXKEYLEN;

fn setsockopt(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    val: &[u8],
) -> io::Result<()> {
    // SAFETY: `val` is a live, initialised buffer of `val.len()` octets for the duration
    // of the call; the kernel copies it (copy_from_user) and keeps no pointer. `fd` is
    // a borrowed, open descriptor. The length fits socklen_t (at most 216 octets here).
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            val.as_ptr().cast(),
            val.len() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Encodes `struct sockaddr_in`/`sockaddr_in6` into a `sockaddr_storage`-sized buffer.
fn sockaddr_storage(addr: IpAddr) -> [u8; SOCKADDR_STORAGE_LEN] {
    let mut s = [0u8; SOCKADDR_STORAGE_LEN];
    match addr {
        IpAddr::V4(a) => {
            s[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
            s[4..8].copy_from_slice(&a.octets());
        }
        IpAddr::V6(a) => {
            s[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
            s[8..24].copy_from_slice(&a.octets());
        }
    }
    s
}

/// Sets (or, with an empty key, removes) the TCP MD5 key for `peer` on a socket: a
/// listening socket (for accepted connections) or one about to connect (RFC 2385).
pub(crate) fn set_tcp_md5sig(fd: BorrowedFd<'_>, peer: IpAddr, key: &[u8]) -> io::Result<()> {
    if key.len() > TCP_MD5SIG_MAXKEYLEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "TCP MD5 key longer than 80 octets",
        ));
    }
    let mut v = [0u8; TCP_MD5SIG_LEN];
    v[..SOCKADDR_STORAGE_LEN].copy_from_slice(&sockaddr_storage(peer));
    let keylen = SOCKADDR_STORAGE_LEN + 2;
    v[keylen..keylen + 2].copy_from_slice(&(key.len() as u16).to_ne_bytes());
    let key_off = SOCKADDR_STORAGE_LEN + 8;
    v[key_off..key_off + key.len()].copy_from_slice(key);
    setsockopt(fd, libc::IPPROTO_TCP, libc::TCP_MD5SIG, &v)
}

/// GTSM receive check (RFC 5082 §3): drop segments whose TTL (hop limit) is below
/// `min`.
pub(crate) fn set_min_ttl(fd: BorrowedFd<'_>, peer: SocketAddr, min: u8) -> io::Result<()> {
    let v = libc::c_int::from(min).to_ne_bytes();
    match peer {
        SocketAddr::V4(_) => setsockopt(fd, libc::IPPROTO_IP, libc::IP_MINTTL, &v),
        SocketAddr::V6(_) => setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_MINHOPCOUNT, &v),
    }
}
