//! Decoding kernel messages (dump replies, events, ACKs) into compact typed
//! values.
//!
//! Routes are decoded straight from the attribute run into a
//! [`KernelRoute`] of a few dozen bytes (no `Vec` unless the route is
//! legacy multipath): a parsed netlink-packet-route `RouteMessage` costs about
//! 700 B a route, which a 1M-route dump cannot afford (linux-fib.md).
//! Decoding never panics on any input (fuzz target `fib_kernel_decode`).

use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_core::{
    NLA_TYPE_MASK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP,
    NLMSG_OVERRUN, NlasIterator,
};

use crate::error::{DecodeError, KernelError};
use crate::message::nexthop::{
    NEXTHOP_GRP_TYPE_RES, NexthopAttribute, NexthopMessage, RTM_DELNEXTHOP, RTM_NEWNEXTHOP, ip_from,
};
use crate::message::{
    RTM_DELADDR, RTM_DELLINK, RTM_DELROUTE, RTM_NEWADDR, RTM_NEWLINK, RTM_NEWROUTE,
};
use crate::types::Family;

const NLMSG_HDRLEN: usize = 16;
const RTMSG_LEN: usize = 12;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
const RTA_VIA: u16 = 18;
const RTA_NH_ID: u16 = 30;
const NLMSGERR_ATTR_MSG: u16 = 1;
const NLMSGERR_ATTR_OFFS: u16 = 2;
const IFLA_IFNAME: u16 = 3;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_CARRIER: u16 = 33;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
/// `IFF_UP`.
pub const IFF_UP: u32 = 1;
/// `IFF_LOWER_UP` (carrier).
pub const IFF_LOWER_UP: u32 = 1 << 16;
/// `RTN_BLACKHOLE`.
pub const RTN_BLACKHOLE: u8 = 6;

/// One next hop of a legacy route as the kernel reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KernelHop {
    /// `rtnh_ifindex` / `RTA_OIF`.
    pub ifindex: u32,
    /// `RTA_GATEWAY`.
    pub gateway: Option<IpAddr>,
    /// `rtnh_hops` + 1.
    pub weight: u16,
    /// `RTNH_F_*` (dead, linkdown, onlink…).
    pub flags: u8,
}

/// A route from a dump or an event, compact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelRoute {
    /// Destination prefix.
    pub prefix: IpNet,
    /// Table (`RTA_TABLE`, else `rtm_table`).
    pub table: u32,
    /// `rtm_protocol`: the owner.
    pub protocol: u8,
    /// `rtm_scope`.
    pub scope: u8,
    /// `rtm_type` (`RTN_UNICAST` 1, `RTN_BLACKHOLE` 6…).
    pub kind: u8,
    /// `rtm_flags`.
    pub flags: u32,
    /// `RTA_PRIORITY`.
    pub metric: u32,
    /// `RTA_NH_ID`.
    pub nhid: Option<u32>,
    /// `RTA_PREFSRC`.
    pub prefsrc: Option<IpAddr>,
    /// Single-path hop (`RTA_OIF`/`RTA_GATEWAY`) or the `RTA_MULTIPATH` hops.
    /// With `nhid` the kernel also expands the group's hops here (compat mode 1).
    pub hops: Vec<KernelHop>,
}

/// A nexthop object as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelNexthop {
    /// `NHA_ID`.
    pub id: u32,
    /// `nh_protocol`: the owner.
    pub protocol: u8,
    /// `nh_family` (`AF_UNSPEC` 0 for groups).
    pub family: u8,
    /// `nh_flags` (`RTNH_F_DEAD`, `RTNH_F_LINKDOWN`, `RTNH_F_ONLINK`).
    pub flags: u32,
    /// What it is.
    pub kind: KernelNexthopKind,
}

/// The body of a [`KernelNexthop`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KernelNexthopKind {
    /// One next hop (`NHA_OIF`, `NHA_GATEWAY`).
    Single {
        /// Output interface.
        ifindex: u32,
        /// Gateway, or dev-only.
        gateway: Option<IpAddr>,
    },
    /// `NHA_BLACKHOLE`.
    Blackhole,
    /// `NHA_GROUP`: (member id, weight 1..=65536 as u32).
    Group {
        /// Members with weights.
        members: Vec<(u32, u32)>,
        /// `NEXTHOP_GRP_TYPE_RES`.
        resilient: bool,
    },
    /// Something else (FDB nexthop, encap…).
    Other,
}

/// A link's state (`RTM_NEWLINK`/`RTM_DELLINK`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelLink {
    /// `ifi_index`.
    pub ifindex: u32,
    /// `IFLA_IFNAME`.
    pub name: Option<String>,
    /// `IFF_UP` (administrative).
    pub up: bool,
    /// Carrier: `IFLA_CARRIER` if present, else `IFF_LOWER_UP`.
    pub carrier: bool,
    /// `IFLA_OPERSTATE` (RFC 2863: 6 = up, 2 = down, 7 = lower-layer down).
    pub operstate: Option<u8>,
}

/// An address (`RTM_NEWADDR`/`RTM_DELADDR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelAddress {
    /// `ifa_index`.
    pub ifindex: u32,
    /// `IFA_LOCAL` (else `IFA_ADDRESS`) with `ifa_prefixlen`.
    pub address: IpNet,
}

/// One decoded netlink message.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KernelMessage {
    /// `RTM_NEWROUTE` (`new = true`) or `RTM_DELROUTE`.
    Route {
        /// New or deleted.
        new: bool,
        /// The route.
        route: KernelRoute,
    },
    /// `RTM_NEWNEXTHOP` or `RTM_DELNEXTHOP`.
    Nexthop {
        /// New or deleted.
        new: bool,
        /// The object.
        nexthop: KernelNexthop,
    },
    /// `RTM_NEWLINK` or `RTM_DELLINK`.
    Link {
        /// New/changed or deleted.
        new: bool,
        /// The link.
        link: KernelLink,
    },
    /// `RTM_NEWADDR` or `RTM_DELADDR`.
    Address {
        /// Added or removed.
        new: bool,
        /// The address.
        address: KernelAddress,
    },
    /// `NLMSG_ERROR` with error 0.
    Ack,
    /// `NLMSG_ERROR` with an error, for the request with this message's sequence.
    Error(KernelError),
    /// `NLMSG_DONE` (end of a dump).
    Done,
    /// Anything else (`NLMSG_NOOP`, other families' messages), by type.
    Other(u16),
}

/// A decoded message with its header fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// `nlmsg_seq`.
    pub seq: u32,
    /// `nlmsg_flags` (`NLM_F_MULTI`, `NLM_F_DUMP_INTR`…).
    pub flags: u16,
    /// `nlmsg_pid`: in a notification, the port id of the socket whose
    /// request caused the change (0: the kernel's own change).
    pub pid: u32,
    /// The message.
    pub message: KernelMessage,
}

/// Iterator over the messages of one received datagram.
///
/// Yields `Err` once and stops when framing breaks; a message whose body does
/// not decode yields `Err` and iteration continues with the next message.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    frames: Frames<'a>,
}

/// Splits a datagram into decoded messages.
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages {
        frames: frames(buf),
    }
}

impl Iterator for Messages<'_> {
    type Item = Result<Decoded, DecodeError>;
    fn next(&mut self) -> Option<Self::Item> {
        Some(self.frames.next()?.and_then(|f| {
            decode_one(f.msg_type, f.flags, f.payload, f.base).map(|message| Decoded {
                seq: f.seq,
                flags: f.flags,
                pid: f.pid,
                message,
            })
        }))
    }
}

/// One message's header and undecoded body (the hot path of a dump decodes
/// the body in place, without building a [`KernelMessage`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Frame<'a> {
    pub(crate) msg_type: u16,
    pub(crate) flags: u16,
    pub(crate) seq: u32,
    pub(crate) pid: u32,
    pub(crate) payload: &'a [u8],
    /// Offset of the body in the datagram (for error offsets).
    pub(crate) base: usize,
}

/// The messages of a datagram, framed but not decoded.
pub(crate) fn frames(buf: &[u8]) -> Frames<'_> {
    Frames { buf, pos: 0 }
}

#[derive(Debug, Clone)]
pub(crate) struct Frames<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Frames<'a> {
    type Item = Result<Frame<'a>, DecodeError>;
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.buf.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let off = self.pos;
        if rest.len() < NLMSG_HDRLEN {
            self.pos = self.buf.len();
            return Some(Err(DecodeError::Truncated {
                offset: off,
                need: NLMSG_HDRLEN,
                have: rest.len(),
            }));
        }
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]);
        if (len as usize) < NLMSG_HDRLEN || len as usize > rest.len() {
            self.pos = self.buf.len();
            return Some(Err(DecodeError::MessageLength { offset: off, len }));
        }
        let msg_type = u16::from_ne_bytes([rest[4], rest[5]]);
        let flags = u16::from_ne_bytes([rest[6], rest[7]]);
        let seq = u32::from_ne_bytes([rest[8], rest[9], rest[10], rest[11]]);
        let pid = u32::from_ne_bytes([rest[12], rest[13], rest[14], rest[15]]);
        let payload = &rest[NLMSG_HDRLEN..len as usize];
        self.pos = (off + len as usize + 3) & !3;
        Some(Ok(Frame {
            msg_type,
            flags,
            seq,
            pid,
            payload,
            base: off + NLMSG_HDRLEN,
        }))
    }
}

/// The attributes (`struct nlattr`, 4-byte aligned) of a run that starts at
/// datagram offset `base`: `(type without the NESTED/NET_BYTEORDER bits,
/// value, offset of the attribute)`. A malformed header (length below 4 or
/// past the run) yields [`DecodeError::BadAttribute`] once and ends the run.
/// The route decoder's hot loop: a 1M-route dump walks 6M attributes.
fn attrs(run: &[u8], base: usize) -> Attrs<'_> {
    Attrs { run, pos: 0, base }
}

struct Attrs<'a> {
    run: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8], usize), DecodeError>;
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.run.get(self.pos..).filter(|r| !r.is_empty())?;
        let offset = self.base + self.pos;
        let len = match rest {
            [a, b, _, _, ..] => usize::from(u16::from_ne_bytes([*a, *b])),
            _ => 0,
        };
        if len < 4 || len > rest.len() {
            self.pos = self.run.len();
            return Some(Err(DecodeError::BadAttribute { offset }));
        }
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
        self.pos += (len + 3) & !3;
        Some(Ok((kind, &rest[4..len], offset)))
    }
}

fn u32_of(v: &[u8], offset: usize, kind: u16) -> Result<u32, DecodeError> {
    if v.len() != 4 {
        return Err(DecodeError::AttributeLength {
            offset,
            kind,
            len: v.len(),
        });
    }
    Ok(u32::from_ne_bytes([v[0], v[1], v[2], v[3]]))
}

/// Decodes one message body of type `msg_type`; `base` is the body's offset.
pub fn decode_one(
    msg_type: u16,
    flags: u16,
    payload: &[u8],
    base: usize,
) -> Result<KernelMessage, DecodeError> {
    match msg_type {
        NLMSG_ERROR => decode_error(flags, payload, base),
        NLMSG_DONE => Ok(KernelMessage::Done),
        NLMSG_NOOP | NLMSG_OVERRUN => Ok(KernelMessage::Other(msg_type)),
        RTM_NEWROUTE | RTM_DELROUTE => Ok(KernelMessage::Route {
            new: msg_type == RTM_NEWROUTE,
            route: decode_route(payload, base)?,
        }),
        RTM_NEWNEXTHOP | RTM_DELNEXTHOP => Ok(KernelMessage::Nexthop {
            new: msg_type == RTM_NEWNEXTHOP,
            nexthop: decode_nexthop(payload, base)?,
        }),
        RTM_NEWLINK | RTM_DELLINK => Ok(KernelMessage::Link {
            new: msg_type == RTM_NEWLINK,
            link: decode_link(payload, base)?,
        }),
        RTM_NEWADDR | RTM_DELADDR => match decode_address(payload, base)? {
            Some(address) => Ok(KernelMessage::Address {
                new: msg_type == RTM_NEWADDR,
                address,
            }),
            None => Ok(KernelMessage::Other(msg_type)),
        },
        other => Ok(KernelMessage::Other(other)),
    }
}

/// `struct nlmsgerr { int error; struct nlmsghdr msg; }` + ext-ack TLVs.
fn decode_error(flags: u16, p: &[u8], base: usize) -> Result<KernelMessage, DecodeError> {
    if p.len() < 4 + NLMSG_HDRLEN {
        return Err(DecodeError::Truncated {
            offset: base,
            need: 4 + NLMSG_HDRLEN,
            have: p.len(),
        });
    }
    let code = i32::from_ne_bytes([p[0], p[1], p[2], p[3]]);
    if code == 0 {
        return Ok(KernelMessage::Ack);
    }
    let mut err = KernelError {
        errno: code.unsigned_abs().min(i32::MAX as u32) as i32,
        message: None,
        offset: None,
    };
    if flags & NLM_F_ACK_TLVS != 0 {
        let orig_len = u32::from_ne_bytes([p[4], p[5], p[6], p[7]]) as usize;
        let echoed = if flags & NLM_F_CAPPED != 0 {
            NLMSG_HDRLEN
        } else {
            orig_len.max(NLMSG_HDRLEN)
        };
        let start = (4 + echoed + 3) & !3;
        if let Some(tlvs) = p.get(start..) {
            for nla in NlasIterator::new(tlvs) {
                let Ok(nla) = nla else { break };
                match nla.kind() {
                    NLMSGERR_ATTR_MSG => {
                        let v = nla.value();
                        let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
                        err.message = Some(String::from_utf8_lossy(&v[..end]).into_owned());
                    }
                    NLMSGERR_ATTR_OFFS if nla.value().len() == 4 => {
                        let v = nla.value();
                        err.offset = Some(u32::from_ne_bytes([v[0], v[1], v[2], v[3]]));
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(KernelMessage::Error(err))
}

fn family(af: u8) -> Option<Family> {
    match i32::from(af) {
        libc::AF_INET => Some(Family::V4),
        libc::AF_INET6 => Some(Family::V6),
        _ => None,
    }
}

/// Decodes an `rtmsg` + attributes into a [`KernelRoute`].
pub fn decode_route(p: &[u8], base: usize) -> Result<KernelRoute, DecodeError> {
    let mut r = KernelRoute::default();
    decode_route_into(p, base, &mut r)?;
    Ok(r)
}

/// [`decode_route`] into an existing value, reusing its hop list: a dump of
/// 1M routes then allocates nothing per route, whatever the compat mode (in
/// mode 1 every `nhid` route also carries its group's hops). On error `r`
/// holds a partial route.
pub(crate) fn decode_route_into(
    p: &[u8],
    base: usize,
    r: &mut KernelRoute,
) -> Result<(), DecodeError> {
    if p.len() < RTMSG_LEN {
        return Err(DecodeError::Truncated {
            offset: base,
            need: RTMSG_LEN,
            have: p.len(),
        });
    }
    let fam = family(p[0]);
    let dst_len = p[1];
    let max = match fam {
        Some(Family::V4) => 32,
        Some(Family::V6) => 128,
        None => 0,
    };
    if dst_len > max {
        return Err(DecodeError::PrefixLength {
            offset: base + 1,
            len: dst_len,
        });
    }
    r.prefix = unspecified(fam);
    r.table = u32::from(p[4]);
    r.protocol = p[5];
    r.scope = p[6];
    r.kind = p[7];
    r.flags = u32::from_ne_bytes([p[8], p[9], p[10], p[11]]);
    r.metric = 0;
    r.nhid = None;
    r.prefsrc = None;
    r.hops.clear();
    let mut dst = None;
    let mut single = KernelHop {
        ifindex: 0,
        gateway: None,
        weight: 1,
        flags: 0,
    };
    let mut have_single = false;
    for a in attrs(&p[RTMSG_LEN..], base + RTMSG_LEN) {
        let (k, v, off) = a?;
        match k {
            RTA_DST => dst = Some(ip_from(v, off, k)?),
            RTA_PRIORITY => r.metric = u32_of(v, off, k)?,
            RTA_TABLE => r.table = u32_of(v, off, k)?,
            RTA_PREFSRC => r.prefsrc = Some(ip_from(v, off, k)?),
            RTA_NH_ID => r.nhid = Some(u32_of(v, off, k)?),
            RTA_OIF => {
                single.ifindex = u32_of(v, off, k)?;
                have_single = true;
            }
            RTA_GATEWAY => {
                single.gateway = Some(ip_from(v, off, k)?);
                have_single = true;
            }
            RTA_VIA => {
                single.gateway = Some(via_from(v, off)?);
                have_single = true;
            }
            RTA_MULTIPATH => decode_multipath(v, off + 4, &mut r.hops)?,
            _ => {}
        }
    }
    if have_single && r.hops.is_empty() {
        single.flags = r.flags as u8;
        r.hops.push(single);
    }
    if let Some(d) = dst {
        r.prefix = IpNet::new(d, dst_len).map_err(|_| DecodeError::PrefixLength {
            offset: base + 1,
            len: dst_len,
        })?;
    } else if fam.is_some() {
        r.prefix = IpNet::new(r.prefix.addr(), dst_len).map_err(|_| DecodeError::PrefixLength {
            offset: base + 1,
            len: dst_len,
        })?;
    }
    Ok(())
}

/// `struct rtvia { __kernel_sa_family_t rtvia_family; __u8 rtvia_addr[]; }`:
/// an IPv4 route's gateway of another family (RFC 8950 next hop). The
/// address length must match the family.
fn via_from(v: &[u8], offset: usize) -> Result<IpAddr, DecodeError> {
    let bad = || DecodeError::AttributeLength {
        offset,
        kind: RTA_VIA,
        len: v.len(),
    };
    let (fam, addr) = v.split_first_chunk::<2>().ok_or_else(bad)?;
    match (i32::from(u16::from_ne_bytes(*fam)), addr.len()) {
        (libc::AF_INET, 4) | (libc::AF_INET6, 16) => ip_from(addr, offset + 2, RTA_VIA),
        _ => Err(bad()),
    }
}

fn unspecified(fam: Option<Family>) -> IpNet {
    match fam {
        Some(Family::V6) => IpNet::V6(Default::default()),
        _ => IpNet::V4(Default::default()),
    }
}

/// `struct rtnexthop { u16 len; u8 flags; u8 hops; int ifindex; }` + attributes.
fn decode_multipath(
    mut v: &[u8],
    mut off: usize,
    hops: &mut Vec<KernelHop>,
) -> Result<(), DecodeError> {
    while !v.is_empty() {
        if v.len() < 8 {
            return Err(DecodeError::Truncated {
                offset: off,
                need: 8,
                have: v.len(),
            });
        }
        let len = usize::from(u16::from_ne_bytes([v[0], v[1]]));
        if len < 8 || len > v.len() {
            return Err(DecodeError::BadAttribute { offset: off });
        }
        let mut hop = KernelHop {
            ifindex: u32::from_ne_bytes([v[4], v[5], v[6], v[7]]),
            gateway: None,
            weight: u16::from(v[3]) + 1,
            flags: v[2],
        };
        for a in attrs(&v[8..len], off + 8) {
            let (k, value, aoff) = a?;
            match k {
                RTA_GATEWAY => hop.gateway = Some(ip_from(value, aoff, RTA_GATEWAY)?),
                RTA_VIA => hop.gateway = Some(via_from(value, aoff)?),
                _ => {}
            }
        }
        hops.push(hop);
        let step = ((len + 3) & !3).min(v.len());
        v = &v[step..];
        off += step;
    }
    Ok(())
}

/// Decodes an `nhmsg` + attributes into a [`KernelNexthop`].
pub fn decode_nexthop(p: &[u8], base: usize) -> Result<KernelNexthop, DecodeError> {
    let m = NexthopMessage::parse(p, base)?;
    let mut nh = KernelNexthop {
        id: 0,
        protocol: m.header.protocol,
        family: m.header.family,
        flags: m.header.flags,
        kind: KernelNexthopKind::Other,
    };
    let (mut oif, mut gw, mut group, mut res, mut bh) = (None, None, None, false, false);
    for a in m.attributes {
        match a {
            NexthopAttribute::Id(id) => nh.id = id,
            NexthopAttribute::Oif(i) => oif = Some(i),
            NexthopAttribute::Gateway(g) => gw = Some(g),
            NexthopAttribute::Group(g) => group = Some(g),
            NexthopAttribute::GroupType(t) => res = t == NEXTHOP_GRP_TYPE_RES,
            NexthopAttribute::Blackhole => bh = true,
            _ => {}
        }
    }
    nh.kind = if let Some(g) = group {
        KernelNexthopKind::Group {
            members: g
                .into_iter()
                .map(|e| (e.id, u32::from(e.wire_weight) + 1))
                .collect(),
            resilient: res,
        }
    } else if bh {
        KernelNexthopKind::Blackhole
    } else if let Some(ifindex) = oif {
        KernelNexthopKind::Single {
            ifindex,
            gateway: gw,
        }
    } else {
        KernelNexthopKind::Other
    };
    Ok(nh)
}

/// Decodes an `ifinfomsg` + attributes into a [`KernelLink`].
pub fn decode_link(p: &[u8], base: usize) -> Result<KernelLink, DecodeError> {
    if p.len() < 16 {
        return Err(DecodeError::Truncated {
            offset: base,
            need: 16,
            have: p.len(),
        });
    }
    let ifindex = u32::from_ne_bytes([p[4], p[5], p[6], p[7]]);
    let flags = u32::from_ne_bytes([p[8], p[9], p[10], p[11]]);
    let mut l = KernelLink {
        ifindex,
        name: None,
        up: flags & IFF_UP != 0,
        carrier: flags & IFF_LOWER_UP != 0,
        operstate: None,
    };
    let mut off = base + 16;
    for nla in NlasIterator::new(&p[16..]) {
        let nla = nla.map_err(|_| DecodeError::BadAttribute { offset: off })?;
        let v = nla.value();
        match nla.kind() {
            IFLA_IFNAME => {
                let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
                l.name = Some(String::from_utf8_lossy(&v[..end]).into_owned());
            }
            IFLA_OPERSTATE if v.len() == 1 => l.operstate = Some(v[0]),
            IFLA_CARRIER if v.len() == 1 => l.carrier = v[0] != 0,
            _ => {}
        }
        off += (nla.length() as usize + 3) & !3;
    }
    Ok(l)
}

/// Decodes an `ifaddrmsg`; `None` for families other than IPv4/IPv6.
pub fn decode_address(p: &[u8], base: usize) -> Result<Option<KernelAddress>, DecodeError> {
    if p.len() < 8 {
        return Err(DecodeError::Truncated {
            offset: base,
            need: 8,
            have: p.len(),
        });
    }
    if family(p[0]).is_none() {
        return Ok(None);
    }
    let plen = p[1];
    let ifindex = u32::from_ne_bytes([p[4], p[5], p[6], p[7]]);
    let (mut local, mut addr) = (None, None);
    let mut off = base + 8;
    for nla in NlasIterator::new(&p[8..]) {
        let nla = nla.map_err(|_| DecodeError::BadAttribute { offset: off })?;
        match nla.kind() {
            IFA_LOCAL => local = Some(ip_from(nla.value(), off, IFA_LOCAL)?),
            IFA_ADDRESS => addr = Some(ip_from(nla.value(), off, IFA_ADDRESS)?),
            _ => {}
        }
        off += (nla.length() as usize + 3) & !3;
    }
    let Some(a) = local.or(addr) else {
        return Ok(None);
    };
    let address = IpNet::new(a, plen).map_err(|_| DecodeError::PrefixLength {
        offset: base + 1,
        len: plen,
    })?;
    Ok(Some(KernelAddress { ifindex, address }))
}
