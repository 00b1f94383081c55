//! The one place with `unsafe`: `SO_RCVBUFFORCE`/`SO_SNDBUFFORCE`, which
//! neither netlink-sys nor socket2 wraps. Everything else uses their safe
//! wrappers.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::AsRawFd;

fn setsockopt_int(
    fd: &impl AsRawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `fd` is a live socket borrowed for the call; the option value
    // pointer refers to a local `c_int` that outlives the call, and the
    // length passed is exactly its size.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `SO_RCVBUFFORCE` (needs CAP_NET_ADMIN; exceeds `rmem_max`).
pub(crate) fn set_rcvbuf_force(fd: &impl AsRawFd, bytes: usize) -> io::Result<()> {
    setsockopt_int(
        fd,
        libc::SOL_SOCKET,
        libc::SO_RCVBUFFORCE,
        bytes.min(i32::MAX as usize) as libc::c_int,
    )
}

/// `SO_SNDBUFFORCE`.
pub(crate) fn set_sndbuf_force(fd: &impl AsRawFd, bytes: usize) -> io::Result<()> {
    setsockopt_int(
        fd,
        libc::SOL_SOCKET,
        libc::SO_SNDBUFFORCE,
        bytes.min(i32::MAX as usize) as libc::c_int,
    )
}
