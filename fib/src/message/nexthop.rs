//! Kernel nexthop objects: `struct nhmsg` and the `NHA_*` attributes
//! (`include/uapi/linux/nexthop.h`, Linux 5.3+; resilient groups 5.13+).
//!
//! netlink-packet-route 0.34 has no nexthop module (and rtnetlink 0.24 can
//! only reference one through a route's `RTA_NH_ID`), so the message is
//! encoded here, on top of netlink-packet-core's `Nla`/`NlasIterator`.
//!
//! ```text
//! struct nhmsg {            struct nexthop_grp {
//!     u8  nh_family;            u32 id;
//!     u8  nh_scope;             u8  weight;      /* weight - 1 */
//!     u8  nh_protocol;          u8  weight_high; /* (weight - 1) >> 8, 6.12+ */
//!     u8  resvd;                u16 resvd2;
//!     u32 nh_flags;         };
//! };
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DefaultNla, Emitable, NLA_F_NESTED, Nla, NlaBuffer, NlasIterator};

use crate::error::DecodeError;

/// `RTM_NEWNEXTHOP`.
pub const RTM_NEWNEXTHOP: u16 = 104;
/// `RTM_DELNEXTHOP`.
pub const RTM_DELNEXTHOP: u16 = 105;
/// `RTM_GETNEXTHOP`.
pub const RTM_GETNEXTHOP: u16 = 106;

/// `NHA_ID`: u32 nexthop id.
pub const NHA_ID: u16 = 1;
/// `NHA_GROUP`: array of `struct nexthop_grp`.
pub const NHA_GROUP: u16 = 2;
/// `NHA_GROUP_TYPE`: u16 (`NEXTHOP_GRP_TYPE_*`).
pub const NHA_GROUP_TYPE: u16 = 3;
/// `NHA_BLACKHOLE`: flag.
pub const NHA_BLACKHOLE: u16 = 4;
/// `NHA_OIF`: u32 ifindex.
pub const NHA_OIF: u16 = 5;
/// `NHA_GATEWAY`: be32 or in6_addr.
pub const NHA_GATEWAY: u16 = 6;
/// `NHA_FDB`: flag (bridge FDB nexthop; never used by this crate).
pub const NHA_FDB: u16 = 11;
/// `NHA_RES_GROUP`: nested resilient-group parameters.
pub const NHA_RES_GROUP: u16 = 12;
/// `NHA_RES_GROUP_BUCKETS`: u16.
pub const NHA_RES_GROUP_BUCKETS: u16 = 1;
/// `NHA_RES_GROUP_IDLE_TIMER`: u32, clock_t.
pub const NHA_RES_GROUP_IDLE_TIMER: u16 = 2;
/// `NHA_RES_GROUP_UNBALANCED_TIMER`: u32, clock_t.
pub const NHA_RES_GROUP_UNBALANCED_TIMER: u16 = 3;
/// `NEXTHOP_GRP_TYPE_MPATH`.
pub const NEXTHOP_GRP_TYPE_MPATH: u16 = 0;
/// `NEXTHOP_GRP_TYPE_RES`.
pub const NEXTHOP_GRP_TYPE_RES: u16 = 1;

/// Length of `struct nhmsg`.
pub const NHMSG_LEN: usize = 8;
const GRP_ENTRY_LEN: usize = 8;

/// `struct nhmsg`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NexthopHeader {
    /// `nh_family` (`AF_UNSPEC` for groups and blackholes of either family).
    pub family: u8,
    /// `nh_scope`.
    pub scope: u8,
    /// `nh_protocol`: the owner's tag.
    pub protocol: u8,
    /// `nh_flags` (`RTNH_F_*`).
    pub flags: u32,
}

/// One `struct nexthop_grp` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct GroupEntry {
    /// Member nexthop id.
    pub id: u32,
    /// Wire weight (weight - 1), low byte in `weight`, high byte in `weight_high`.
    pub wire_weight: u16,
}

/// A resilient-group parameter (`NHA_RES_GROUP_*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResGroupAttr {
    /// `NHA_RES_GROUP_BUCKETS`.
    Buckets(u16),
    /// `NHA_RES_GROUP_IDLE_TIMER`.
    IdleTimer(u32),
    /// `NHA_RES_GROUP_UNBALANCED_TIMER`.
    UnbalancedTimer(u32),
    /// Anything else (e.g. `NHA_RES_GROUP_UNBALANCED_TIME`, read-only), kept raw.
    Other(DefaultNla),
}

/// A nexthop attribute (`NHA_*`). Unknown ones round-trip as `Other`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NexthopAttribute {
    /// `NHA_ID`.
    Id(u32),
    /// `NHA_GROUP`.
    Group(Vec<GroupEntry>),
    /// `NHA_GROUP_TYPE`.
    GroupType(u16),
    /// `NHA_BLACKHOLE`.
    Blackhole,
    /// `NHA_OIF`.
    Oif(u32),
    /// `NHA_GATEWAY`.
    Gateway(IpAddr),
    /// `NHA_FDB`.
    Fdb,
    /// `NHA_RES_GROUP`.
    ResGroup(Vec<ResGroupAttr>),
    /// Any other attribute, kept as raw bytes.
    Other(DefaultNla),
}

impl Nla for ResGroupAttr {
    fn value_len(&self) -> usize {
        match self {
            ResGroupAttr::Buckets(_) => 2,
            ResGroupAttr::IdleTimer(_) | ResGroupAttr::UnbalancedTimer(_) => 4,
            ResGroupAttr::Other(n) => n.value_len(),
        }
    }
    fn kind(&self) -> u16 {
        match self {
            ResGroupAttr::Buckets(_) => NHA_RES_GROUP_BUCKETS,
            ResGroupAttr::IdleTimer(_) => NHA_RES_GROUP_IDLE_TIMER,
            ResGroupAttr::UnbalancedTimer(_) => NHA_RES_GROUP_UNBALANCED_TIMER,
            ResGroupAttr::Other(n) => n.kind(),
        }
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            ResGroupAttr::Buckets(v) => buffer[..2].copy_from_slice(&v.to_ne_bytes()),
            ResGroupAttr::IdleTimer(v) | ResGroupAttr::UnbalancedTimer(v) => {
                buffer[..4].copy_from_slice(&v.to_ne_bytes())
            }
            ResGroupAttr::Other(n) => n.emit_value(buffer),
        }
    }
}

impl Nla for NexthopAttribute {
    fn value_len(&self) -> usize {
        match self {
            NexthopAttribute::Id(_) | NexthopAttribute::Oif(_) => 4,
            NexthopAttribute::Group(g) => g.len() * GRP_ENTRY_LEN,
            NexthopAttribute::GroupType(_) => 2,
            NexthopAttribute::Blackhole | NexthopAttribute::Fdb => 0,
            NexthopAttribute::Gateway(IpAddr::V4(_)) => 4,
            NexthopAttribute::Gateway(IpAddr::V6(_)) => 16,
            NexthopAttribute::ResGroup(r) => r.as_slice().buffer_len(),
            NexthopAttribute::Other(n) => n.value_len(),
        }
    }
    fn kind(&self) -> u16 {
        match self {
            NexthopAttribute::Id(_) => NHA_ID,
            NexthopAttribute::Group(_) => NHA_GROUP,
            NexthopAttribute::GroupType(_) => NHA_GROUP_TYPE,
            NexthopAttribute::Blackhole => NHA_BLACKHOLE,
            NexthopAttribute::Oif(_) => NHA_OIF,
            NexthopAttribute::Gateway(_) => NHA_GATEWAY,
            NexthopAttribute::Fdb => NHA_FDB,
            NexthopAttribute::ResGroup(_) => NHA_RES_GROUP | NLA_F_NESTED,
            NexthopAttribute::Other(n) => n.kind(),
        }
    }
    fn emit_value(&self, buffer: &mut [u8]) {
        match self {
            NexthopAttribute::Id(v) | NexthopAttribute::Oif(v) => {
                buffer[..4].copy_from_slice(&v.to_ne_bytes())
            }
            NexthopAttribute::Group(g) => {
                for (i, e) in g.iter().enumerate() {
                    let b = &mut buffer[i * GRP_ENTRY_LEN..(i + 1) * GRP_ENTRY_LEN];
                    b[..4].copy_from_slice(&e.id.to_ne_bytes());
                    b[4] = e.wire_weight as u8;
                    b[5] = (e.wire_weight >> 8) as u8;
                    b[6] = 0;
                    b[7] = 0;
                }
            }
            NexthopAttribute::GroupType(v) => buffer[..2].copy_from_slice(&v.to_ne_bytes()),
            NexthopAttribute::Blackhole | NexthopAttribute::Fdb => {}
            NexthopAttribute::Gateway(IpAddr::V4(a)) => buffer[..4].copy_from_slice(&a.octets()),
            NexthopAttribute::Gateway(IpAddr::V6(a)) => buffer[..16].copy_from_slice(&a.octets()),
            NexthopAttribute::ResGroup(r) => emit_nlas(r, buffer),
            NexthopAttribute::Other(n) => n.emit_value(buffer),
        }
    }
    fn is_nested(&self) -> bool {
        matches!(self, NexthopAttribute::ResGroup(_))
    }
}

/// A whole `RTM_*NEXTHOP` payload: `struct nhmsg` plus attributes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NexthopMessage {
    /// `struct nhmsg`.
    pub header: NexthopHeader,
    /// Attributes in wire order.
    pub attributes: Vec<NexthopAttribute>,
}

impl Emitable for NexthopMessage {
    fn buffer_len(&self) -> usize {
        NHMSG_LEN + self.attributes.as_slice().buffer_len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        let h = &self.header;
        buffer[0] = h.family;
        buffer[1] = h.scope;
        buffer[2] = h.protocol;
        buffer[3] = 0;
        buffer[4..8].copy_from_slice(&h.flags.to_ne_bytes());
        emit_nlas(&self.attributes, &mut buffer[NHMSG_LEN..]);
    }
}

/// Emits attributes and rewrites each type field with the full `kind()`:
/// netlink-packet-core 0.9's `set_nested_flag` re-reads the masked type and
/// drops `NLA_F_NET_BYTEORDER` when both flags are set, which broke the
/// round trip of raw attributes (found by `fib_kernel_decode`).
fn emit_nlas<T: Nla>(attrs: &[T], buffer: &mut [u8]) {
    let mut off = 0;
    for a in attrs {
        let len = a.buffer_len();
        a.emit(&mut buffer[off..off + len]);
        buffer[off + 2..off + 4].copy_from_slice(&a.kind().to_ne_bytes());
        off += len;
    }
}

fn u32_at(v: &[u8], off: usize) -> Result<u32, DecodeError> {
    v.get(..4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(DecodeError::AttributeLength {
            offset: off,
            kind: 0,
            len: v.len(),
        })
}

pub(crate) fn ip_from(v: &[u8], offset: usize, kind: u16) -> Result<IpAddr, DecodeError> {
    match v.len() {
        4 => Ok(IpAddr::V4(Ipv4Addr::new(v[0], v[1], v[2], v[3]))),
        16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(v);
            Ok(IpAddr::V6(Ipv6Addr::from(o)))
        }
        len => Err(DecodeError::AttributeLength { offset, kind, len }),
    }
}

impl NexthopMessage {
    /// Parses a payload (the bytes after the netlink header). `base` is the
    /// payload's offset in the datagram, for error evidence.
    pub fn parse(payload: &[u8], base: usize) -> Result<Self, DecodeError> {
        if payload.len() < NHMSG_LEN {
            return Err(DecodeError::Truncated {
                offset: base,
                need: NHMSG_LEN,
                have: payload.len(),
            });
        }
        let header = NexthopHeader {
            family: payload[0],
            scope: payload[1],
            protocol: payload[2],
            flags: u32::from_ne_bytes([payload[4], payload[5], payload[6], payload[7]]),
        };
        let mut attributes = Vec::new();
        let mut off = base + NHMSG_LEN;
        for nla in NlasIterator::new(&payload[NHMSG_LEN..]) {
            let nla = nla.map_err(|_| DecodeError::BadAttribute { offset: off })?;
            attributes.push(parse_attr(&nla, off)?);
            off += (nla.length() as usize + 3) & !3;
        }
        Ok(NexthopMessage { header, attributes })
    }
}

fn parse_attr(nla: &NlaBuffer<&[u8]>, off: usize) -> Result<NexthopAttribute, DecodeError> {
    let v = nla.value();
    let kind = nla.kind();
    let bad = || DecodeError::AttributeLength {
        offset: off,
        kind,
        len: v.len(),
    };
    Ok(match kind {
        NHA_ID => NexthopAttribute::Id(u32_at(v, off).map_err(|_| bad())?),
        NHA_OIF => NexthopAttribute::Oif(u32_at(v, off).map_err(|_| bad())?),
        NHA_GROUP => {
            if !v.len().is_multiple_of(GRP_ENTRY_LEN) {
                return Err(bad());
            }
            NexthopAttribute::Group(
                v.chunks_exact(GRP_ENTRY_LEN)
                    .map(|c| GroupEntry {
                        id: u32::from_ne_bytes([c[0], c[1], c[2], c[3]]),
                        wire_weight: u16::from(c[4]) | (u16::from(c[5]) << 8),
                    })
                    .collect(),
            )
        }
        NHA_GROUP_TYPE if v.len() == 2 => {
            NexthopAttribute::GroupType(u16::from_ne_bytes([v[0], v[1]]))
        }
        NHA_BLACKHOLE if v.is_empty() => NexthopAttribute::Blackhole,
        NHA_FDB if v.is_empty() => NexthopAttribute::Fdb,
        NHA_GATEWAY => NexthopAttribute::Gateway(ip_from(v, off, kind)?),
        NHA_RES_GROUP if nla.nested_flag() => {
            let mut r = Vec::new();
            for sub in NlasIterator::new(v) {
                let sub = sub.map_err(|_| DecodeError::BadAttribute { offset: off })?;
                let sv = sub.value();
                r.push(match (sub.kind(), sv.len()) {
                    (NHA_RES_GROUP_BUCKETS, 2) => {
                        ResGroupAttr::Buckets(u16::from_ne_bytes([sv[0], sv[1]]))
                    }
                    (NHA_RES_GROUP_IDLE_TIMER, 4) => ResGroupAttr::IdleTimer(u32_at(sv, off)?),
                    (NHA_RES_GROUP_UNBALANCED_TIMER, 4) => {
                        ResGroupAttr::UnbalancedTimer(u32_at(sv, off)?)
                    }
                    _ => ResGroupAttr::Other(raw(&sub)),
                });
            }
            NexthopAttribute::ResGroup(r)
        }
        NHA_GROUP_TYPE | NHA_BLACKHOLE | NHA_FDB => return Err(bad()),
        _ => NexthopAttribute::Other(raw(nla)),
    })
}

fn raw(nla: &NlaBuffer<&[u8]>) -> DefaultNla {
    // Keep the flag bits (nested / byte order) so the attribute re-emits exactly.
    let mut kind = nla.kind();
    if nla.nested_flag() {
        kind |= NLA_F_NESTED;
    }
    if nla.network_byte_order_flag() {
        kind |= netlink_packet_core::NLA_F_NET_BYTEORDER;
    }
    DefaultNla::new(kind, nla.value().to_vec())
}
