//! Read-only dumps of the kernel's links, routes and nexthop objects,
//! whoever owns them: for tools, monitors and tests that verify what the
//! kernel forwards with (a [`Fib`](crate::Fib) reads only its own).

use netlink_packet_core::NLM_F_DUMP_INTR;

use crate::decode::{KernelLink, KernelMessage, KernelNexthop, KernelRoute, decode_one};
use crate::error::Error;
use crate::message;
use crate::socket::{Conn, SocketConfig};
use crate::types::{Family, Protocol};

/// One dump's replies, and whether the kernel flagged it interrupted by
/// changes made meanwhile (`NLM_F_DUMP_INTR`: read again for a consistent
/// view).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Dump<T> {
    /// The objects, in the kernel's order.
    pub items: Vec<T>,
    /// Some reply carried `NLM_F_DUMP_INTR`.
    pub interrupted: bool,
}

/// A netlink socket for dumps in the calling thread's network namespace.
#[derive(Debug)]
pub struct KernelReader {
    conn: Conn,
}

impl KernelReader {
    /// Opens the socket (small buffers: dumps stream one datagram at a time).
    pub fn open() -> Result<KernelReader, Error> {
        let cfg = SocketConfig {
            rcvbuf: 1 << 20,
            ..SocketConfig::default()
        };
        Ok(KernelReader {
            conn: Conn::open(cfg, &[])?,
        })
    }

    /// Every link (`RTM_GETLINK` dump).
    pub fn links(&mut self) -> Result<Dump<KernelLink>, Error> {
        self.dump(message::dump_links, |m| match m {
            KernelMessage::Link { link, .. } => Some(link),
            _ => None,
        })
    }

    /// The routes of `table` of one family, every owner (`RTM_GETROUTE`
    /// dump; the kernel filters the table, strict checking).
    pub fn routes(&mut self, family: Family, table: u32) -> Result<Dump<KernelRoute>, Error> {
        self.dump(
            |b, s| message::dump_routes(b, s, family, table, Protocol(0)),
            |m| match m {
                KernelMessage::Route { route, .. } => Some(route),
                _ => None,
            },
        )
    }

    /// Every nexthop object (`RTM_GETNEXTHOP` dump, Linux 5.3+).
    pub fn nexthops(&mut self) -> Result<Dump<KernelNexthop>, Error> {
        self.dump(message::dump_nexthops, |m| match m {
            KernelMessage::Nexthop { nexthop, .. } => Some(nexthop),
            _ => None,
        })
    }

    fn dump<T>(
        &mut self,
        build: impl FnOnce(&mut Vec<u8>, u32),
        mut keep: impl FnMut(KernelMessage) -> Option<T>,
    ) -> Result<Dump<T>, Error> {
        let mut out = Dump {
            items: Vec::new(),
            interrupted: false,
        };
        self.conn.dump_frames(build, |fr| {
            out.interrupted |= fr.flags & NLM_F_DUMP_INTR != 0;
            if let Some(t) = keep(decode_one(fr.msg_type, fr.flags, fr.payload, fr.base)?) {
                out.items.push(t);
            }
            Ok(())
        })?;
        Ok(out)
    }
}
