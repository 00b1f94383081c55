//! The rtnetlink socket: options, batched sends, sequence correlation.
//!
//! Sends many messages per `sendmsg` (chunks of at most `batch_bytes`, which
//! stays below the send buffer so the kernel never answers EMSGSIZE), asks
//! no per-message ACK, and ends every chunk with a barrier (an acked
//! `NLMSG_NOOP`). The kernel processes a datagram's messages in order inside
//! `sendmsg`, so when the barrier's ACK arrives every error of the chunk is
//! already queued: errors are matched to requests by sequence number and
//! never stop the rest of the batch. `NETLINK_CAP_ACK` keeps each error
//! small (header only) and `NETLINK_EXT_ACK` adds the kernel's message.

use std::io;
use std::time::Duration;

use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::decode::{Decoded, Frame, KernelMessage, decode_one, frames, messages};
use crate::error::{DecodeError, Error, KernelError};
use crate::message;
use crate::sys;
use netlink_packet_core::{NLMSG_DONE, NLMSG_ERROR};

/// Socket buffer sizes and batch size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketConfig {
    /// Receive buffer (`SO_RCVBUFFORCE`; falls back to `SO_RCVBUF`).
    pub rcvbuf: usize,
    /// Send buffer (`SO_SNDBUFFORCE`).
    pub sndbuf: usize,
    /// Bytes of requests per `sendmsg` (kept below `sndbuf`).
    pub batch_bytes: usize,
}

impl Default for SocketConfig {
    fn default() -> Self {
        // FRR zebra batches 128 KiB; measured here: 64 KiB chunks with a
        // barrier each reach the kernel's speed.
        SocketConfig {
            rcvbuf: 8 << 20,
            sndbuf: 1 << 20,
            batch_bytes: 128 << 10,
        }
    }
}

/// A configured rtnetlink socket.
#[derive(Debug)]
pub(crate) struct Conn {
    sock: Socket,
    seq: u32,
    rx: Vec<u8>,
    pub(crate) cfg: SocketConfig,
    /// The port id the kernel gave this socket (the `nlmsg_pid` of the
    /// notifications our requests cause).
    pub(crate) portid: u32,
}

impl Conn {
    /// Opens, sets options, binds, and joins `groups` (RTNLGRP_* numbers).
    pub(crate) fn open(cfg: SocketConfig, groups: &[u32]) -> io::Result<Conn> {
        let mut sock = Socket::new(NETLINK_ROUTE)?;
        sock.set_ext_ack(true)?;
        sock.set_cap_ack(true)?;
        sock.set_netlink_get_strict_chk(true)?;
        if sys::set_rcvbuf_force(&sock, cfg.rcvbuf).is_err() {
            sock.set_rx_buf_sz(cfg.rcvbuf.min(i32::MAX as usize) as libc::c_int)?;
        }
        if sys::set_sndbuf_force(&sock, cfg.sndbuf).is_err() {
            socket2::SockRef::from(&sock).set_send_buffer_size(cfg.sndbuf)?;
        }
        sock.bind(&SocketAddr::new(0, 0))?;
        let mut addr = SocketAddr::new(0, 0);
        sock.get_address(&mut addr)?;
        for &g in groups {
            sock.add_membership(g)?;
        }
        let cfg = SocketConfig {
            batch_bytes: cfg.batch_bytes.min(cfg.sndbuf / 2).max(4096),
            ..cfg
        };
        Ok(Conn {
            sock,
            seq: 1,
            rx: Vec::with_capacity(1 << 20),
            cfg,
            portid: addr.port_number(),
        })
    }

    pub(crate) fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    pub(crate) fn set_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        socket2::SockRef::from(&self.sock).set_read_timeout(t)
    }

    fn send_all(&self, buf: &[u8]) -> io::Result<()> {
        let n = self.sock.send(buf, 0)?;
        if n != buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "short netlink send",
            ));
        }
        Ok(())
    }

    /// Receives one datagram into the internal buffer. ENOBUFS maps to
    /// [`Error::Overflow`]; a timeout to `Ok(false)`.
    pub(crate) fn recv(&mut self) -> Result<bool, Error> {
        self.rx.clear();
        self.rx.reserve(1 << 20);
        match self.sock.recv(&mut self.rx, 0) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => Err(Error::Overflow),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(false)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(e) => Err(Error::Io(e)),
        }
    }

    pub(crate) fn rx(&self) -> &[u8] {
        &self.rx
    }

    /// Sends `buf` (whole messages, sequence numbers `first..=last`, one per
    /// message) and waits for the barrier; calls `on_error(seq, err)` for
    /// each failed request. Overflow of the receive buffer is reported as
    /// [`Error::Overflow`] (the caller re-dumps).
    pub(crate) fn execute(
        &mut self,
        buf: &[u8],
        mut on_error: impl FnMut(u32, KernelError),
    ) -> Result<(), Error> {
        let mut start = 0;
        let mut chunk = Vec::with_capacity(self.cfg.batch_bytes + 64);
        while start < buf.len() {
            // Split at message boundaries.
            let mut end = start;
            while end < buf.len() {
                let len = u32::from_ne_bytes([buf[end], buf[end + 1], buf[end + 2], buf[end + 3]])
                    as usize;
                let len = (len + 3) & !3;
                if end > start && end + len - start > self.cfg.batch_bytes {
                    break;
                }
                end += len;
            }
            chunk.clear();
            chunk.extend_from_slice(&buf[start..end]);
            let bseq = self.next_seq();
            message::barrier(&mut chunk, bseq);
            self.send_all(&chunk)?;
            self.wait_barrier(bseq, &mut on_error)?;
            start = end;
        }
        Ok(())
    }

    fn wait_barrier(
        &mut self,
        bseq: u32,
        on_error: &mut impl FnMut(u32, KernelError),
    ) -> Result<(), Error> {
        loop {
            if !self.recv()? {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no netlink barrier ack",
                )));
            }
            let mut done = false;
            for m in messages(&self.rx) {
                let Decoded { seq, message, .. } = m?;
                match message {
                    KernelMessage::Ack if seq == bseq => done = true,
                    KernelMessage::Error(e) if seq == bseq => return Err(Error::Kernel(e)),
                    KernelMessage::Error(e) => on_error(seq, e),
                    _ => {}
                }
            }
            if done {
                return Ok(());
            }
        }
    }

    /// Sends a dump request and streams every reply message to `f` until
    /// `NLMSG_DONE`. Nothing is buffered beyond one datagram.
    pub(crate) fn dump(
        &mut self,
        build: impl FnOnce(&mut Vec<u8>, u32),
        mut f: impl FnMut(KernelMessage),
    ) -> Result<(), Error> {
        self.dump_frames(build, |fr| {
            f(decode_one(fr.msg_type, fr.flags, fr.payload, fr.base)?);
            Ok(())
        })
    }

    /// [`dump`](Self::dump) handing over each reply message undecoded (the
    /// caller decodes in place); `NLMSG_DONE` and `NLMSG_ERROR` are handled
    /// here.
    pub(crate) fn dump_frames(
        &mut self,
        build: impl FnOnce(&mut Vec<u8>, u32),
        mut f: impl FnMut(Frame<'_>) -> Result<(), DecodeError>,
    ) -> Result<(), Error> {
        let seq = self.next_seq();
        let mut req = Vec::with_capacity(64);
        build(&mut req, seq);
        self.send_all(&req)?;
        loop {
            if !self.recv()? {
                return Err(Error::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "netlink dump timed out",
                )));
            }
            for fr in frames(&self.rx) {
                let fr = fr?;
                if fr.seq != seq {
                    continue;
                }
                match fr.msg_type {
                    NLMSG_DONE => return Ok(()),
                    NLMSG_ERROR => {
                        if let KernelMessage::Error(e) =
                            decode_one(fr.msg_type, fr.flags, fr.payload, fr.base)?
                        {
                            return Err(Error::Kernel(e));
                        }
                    }
                    _ => f(fr)?,
                }
            }
        }
    }
}
