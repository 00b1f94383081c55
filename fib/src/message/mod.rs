//! Pure message building (style rule 25): our typed values in, complete
//! netlink messages (header included) appended to a byte buffer out.
//!
//! Routes are encoded with netlink-packet-route's `RouteMessage`, in the
//! attribute order iproute2 uses (so the fixtures compare byte for byte with
//! `ip route` captures); nexthop objects with [`nexthop`], which that crate
//! lacks. Nothing here does I/O.

pub mod nexthop;

use std::net::IpAddr;

use ipnet::IpNet;
use netlink_packet_core::{
    Emitable, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
    NLMSG_NOOP,
};
use netlink_packet_route::AddressFamily;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop,
    RouteNextHopFlags, RouteProtocol, RouteScope, RouteType, RouteVia,
};

use self::nexthop::{
    GroupEntry, NEXTHOP_GRP_TYPE_RES, NexthopAttribute, NexthopHeader, NexthopMessage,
    RTM_DELNEXTHOP, RTM_GETNEXTHOP, RTM_NEWNEXTHOP, ResGroupAttr,
};
use crate::error::BuildError;
use crate::types::{Family, Nexthop, Protocol, Resilient, Weighted};

/// `RTM_NEWROUTE`.
pub const RTM_NEWROUTE: u16 = 24;
/// `RTM_DELROUTE`.
pub const RTM_DELROUTE: u16 = 25;
/// `RTM_GETROUTE`.
pub const RTM_GETROUTE: u16 = 26;
/// `RTM_NEWLINK`.
pub const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`.
pub const RTM_DELLINK: u16 = 17;
/// `RTM_GETLINK`.
pub const RTM_GETLINK: u16 = 18;
/// `RTM_NEWADDR`.
pub const RTM_NEWADDR: u16 = 20;
/// `RTM_DELADDR`.
pub const RTM_DELADDR: u16 = 21;
/// `RTM_GETADDR`.
pub const RTM_GETADDR: u16 = 22;
/// `RT_SCOPE_NOWHERE`: the scope every delete uses, so scope-link routes match.
pub const RT_SCOPE_NOWHERE: u8 = 255;
/// `RT_TABLE_MAIN`.
pub const RT_TABLE_MAIN: u32 = 254;
/// `RTNH_F_ONLINK`.
pub const RTNH_F_ONLINK: u32 = 4;

/// How a create treats an existing object. There is deliberately no third
/// choice: a create without `NLM_F_EXCL` or `NLM_F_REPLACE` appends an IPv6
/// next hop to an existing route (linux-fib.md, "IPv6 ECMP append").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `NLM_F_CREATE | NLM_F_EXCL`: fail with `EEXIST` if present.
    Create,
    /// `NLM_F_CREATE | NLM_F_REPLACE`.
    Replace,
}

impl Mode {
    const fn flags(self) -> u16 {
        match self {
            Mode::Create => NLM_F_CREATE | NLM_F_EXCL,
            Mode::Replace => NLM_F_CREATE | NLM_F_REPLACE,
        }
    }
}

/// Per-route parameters shared by everything this crate installs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteParams {
    /// Routing table id (`RT_TABLE_MAIN` = 254). Ids above 255 go in `RTA_TABLE`.
    pub table: u32,
    /// Our protocol tag.
    pub protocol: Protocol,
    /// `RTA_PRIORITY` (metric). Our own value keeps REPLACE off others' routes.
    pub metric: u32,
    /// `RTA_PREFSRC` of this family (the node loopback), on every non-blackhole route.
    pub prefsrc: Option<IpAddr>,
}

/// What a route forwards over, at message level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Via<'a> {
    /// `RTN_BLACKHOLE`.
    Blackhole,
    /// A kernel nexthop object or group (`RTA_NH_ID`).
    Nhid(u32),
    /// Legacy next hops: one is a single path (`RTA_GATEWAY`/`RTA_OIF`),
    /// more are `RTA_MULTIPATH`.
    Nexthops(&'a [Weighted]),
}

fn family_of(prefix: &IpNet) -> Family {
    match prefix {
        IpNet::V4(_) => Family::V4,
        IpNet::V6(_) => Family::V6,
    }
}

fn af(f: Family) -> AddressFamily {
    match f {
        Family::V4 => AddressFamily::Inet,
        Family::V6 => AddressFamily::Inet6,
    }
}

fn header(msg_type: u16, flags: u16, seq: u32) -> netlink_packet_core::NetlinkHeader {
    let mut h = netlink_packet_core::NetlinkHeader::default();
    h.message_type = msg_type;
    h.flags = flags;
    h.sequence_number = seq;
    h
}

fn ack_flag(ack: bool) -> u16 {
    if ack { NLM_F_ACK } else { 0 }
}

/// Appends `nlmsghdr` + payload, computing `nlmsg_len`.
fn push(out: &mut Vec<u8>, msg_type: u16, flags: u16, seq: u32, payload: &dyn Emitable) {
    let mut h = header(msg_type, flags, seq);
    let len = 16 + payload.buffer_len();
    h.length = len as u32;
    let start = out.len();
    out.resize(start + len, 0);
    h.emit(&mut out[start..start + 16]);
    payload.emit(&mut out[start + 16..start + len]);
}

// `RouteHeader` is `#[non_exhaustive]`: no struct literal is possible.
#[allow(clippy::field_reassign_with_default)]
fn route_header(prefix: &IpNet, p: &RouteParams) -> RouteHeader {
    let mut h = RouteHeader::default();
    h.address_family = af(family_of(prefix));
    h.destination_prefix_length = prefix.prefix_len();
    h.table = if p.table < 256 { p.table as u8 } else { 0 };
    h.protocol = RouteProtocol::from(p.protocol.0);
    h
}

fn key_attrs(prefix: &IpNet, p: &RouteParams, attrs: &mut Vec<RouteAttribute>) {
    attrs.push(RouteAttribute::Destination(RouteAddress::from(
        prefix.network(),
    )));
    attrs.push(RouteAttribute::Priority(p.metric));
    if p.table >= 256 {
        attrs.push(RouteAttribute::Table(p.table));
    }
}

/// Appends an `RTM_NEWROUTE`.
///
/// Single path: `RTA_GATEWAY`+`RTA_OIF` (dev-only gets scope link); two or
/// more: `RTA_MULTIPATH` with per-hop weights and `onlink`; blackhole gets
/// no `RTA_PREFSRC` (it never sources a packet).
pub fn new_route(
    out: &mut Vec<u8>,
    seq: u32,
    prefix: IpNet,
    via: Via<'_>,
    p: &RouteParams,
    mode: Mode,
    ack: bool,
) -> Result<(), BuildError> {
    let fam = family_of(&prefix);
    let mut msg = RouteMessage::default();
    msg.header = route_header(&prefix, p);
    msg.header.kind = RouteType::Unicast;
    msg.header.scope = RouteScope::Universe;
    let attrs = &mut msg.attributes;
    key_attrs(&prefix, p, attrs);
    let prefsrc = |attrs: &mut Vec<RouteAttribute>| {
        if let Some(src) = p.prefsrc.filter(|s| Family::of(s) == fam) {
            attrs.push(RouteAttribute::PrefSource(RouteAddress::from(src)));
        }
    };
    match via {
        Via::Blackhole => msg.header.kind = RouteType::BlackHole,
        Via::Nhid(id) => {
            prefsrc(attrs);
            attrs.push(RouteAttribute::NhId(id));
        }
        Via::Nexthops([]) => return Err(BuildError::NoNexthop(prefix)),
        Via::Nexthops([one]) => {
            let nh = one.nexthop;
            check_gw(&prefix, fam, &nh)?;
            prefsrc(attrs);
            if let Some(gw) = nh.gateway {
                attrs.push(gateway_attr(fam, gw));
            } else {
                msg.header.scope = RouteScope::Link;
            }
            attrs.push(RouteAttribute::Oif(nh.ifindex));
            if nh.onlink {
                msg.header.flags = RouteFlags::Onlink;
            }
        }
        Via::Nexthops(many) => {
            let mut hops = Vec::with_capacity(many.len());
            for w in many {
                let nh = w.nexthop;
                check_gw(&prefix, fam, &nh)?;
                if fam == Family::V6 && nh.gateway.is_none() {
                    return Err(BuildError::V6DevOnlyMultipath(prefix));
                }
                let mut hop = RouteNextHop::default();
                hop.flags = if nh.onlink {
                    RouteNextHopFlags::Onlink
                } else {
                    RouteNextHopFlags::empty()
                };
                hop.hops = w.wire_weight();
                hop.interface_index = nh.ifindex;
                if let Some(gw) = nh.gateway {
                    hop.attributes.push(gateway_attr(fam, gw));
                }
                hops.push(hop);
            }
            prefsrc(attrs);
            attrs.push(RouteAttribute::MultiPath(hops));
        }
    }
    let flags = NLM_F_REQUEST | ack_flag(ack) | mode.flags();
    push(out, RTM_NEWROUTE, flags, seq, &msg);
    Ok(())
}

/// An IPv6 gateway of an IPv4 route (RFC 8950 next hop, Linux 5.2+) is an
/// `RTA_VIA` (`struct rtvia { family; addr }`), as iproute2's `via inet6`;
/// a gateway of the route's own family is an `RTA_GATEWAY`.
fn gateway_attr(fam: Family, gw: IpAddr) -> RouteAttribute {
    match (fam, gw) {
        (Family::V4, IpAddr::V6(a)) => RouteAttribute::Via(RouteVia::Inet6(a)),
        _ => RouteAttribute::Gateway(RouteAddress::from(gw)),
    }
}

/// The kernel takes IPv4 routes over IPv6 gateways (RFC 8950), not IPv6
/// routes over IPv4 gateways.
fn check_gw(prefix: &IpNet, fam: Family, nh: &Nexthop) -> Result<(), BuildError> {
    match (fam, nh.gateway) {
        (Family::V6, Some(IpAddr::V4(_))) => Err(BuildError::GatewayFamily { prefix: *prefix }),
        _ => Ok(()),
    }
}

/// Appends an `RTM_DELROUTE` matching prefix, table, metric and our protocol
/// (the kernel then deletes only our route), with `RT_SCOPE_NOWHERE` so that
/// scope-link routes match too (linux-fib.md: default scope gives ESRCH).
pub fn del_route(out: &mut Vec<u8>, seq: u32, prefix: IpNet, p: &RouteParams, ack: bool) {
    let mut msg = RouteMessage::default();
    msg.header = route_header(&prefix, p);
    msg.header.kind = RouteType::Unspec;
    msg.header.scope = RouteScope::NoWhere;
    key_attrs(&prefix, p, &mut msg.attributes);
    push(out, RTM_DELROUTE, NLM_F_REQUEST | ack_flag(ack), seq, &msg);
}

/// Appends an `RTM_GETROUTE` dump filtered by the kernel (strict checking)
/// to one family, table and protocol.
pub fn dump_routes(out: &mut Vec<u8>, seq: u32, family: Family, table: u32, protocol: Protocol) {
    let mut msg = RouteMessage::default();
    msg.header.address_family = af(family);
    msg.header.protocol = RouteProtocol::from(protocol.0);
    msg.header.table = if table < 256 { table as u8 } else { 0 };
    msg.attributes.push(RouteAttribute::Table(table));
    push(out, RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq, &msg);
}

/// The kernel form of a nexthop object, at message level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NexthopObject<'a> {
    /// One next hop. `family` decides a dev-only next hop's family.
    Single {
        /// Family (ignored when a gateway fixes it).
        family: Family,
        /// The next hop.
        nexthop: Nexthop,
    },
    /// `blackhole`.
    Blackhole,
    /// A group of member ids with weights.
    Group {
        /// `(member id, weight 1..=256)`.
        members: &'a [(u32, u16)],
        /// `type resilient` parameters, or a plain multipath group.
        resilient: Option<Resilient>,
    },
}

/// Appends an `RTM_NEWNEXTHOP`.
pub fn new_nexthop(
    out: &mut Vec<u8>,
    seq: u32,
    id: u32,
    obj: NexthopObject<'_>,
    protocol: Protocol,
    mode: Mode,
    ack: bool,
) {
    let mut msg = NexthopMessage {
        header: NexthopHeader {
            protocol: protocol.0,
            ..Default::default()
        },
        attributes: vec![NexthopAttribute::Id(id)],
    };
    match obj {
        NexthopObject::Single { family, nexthop } => {
            let fam = nexthop.gateway.as_ref().map(Family::of).unwrap_or(family);
            msg.header.family = fam.af();
            if nexthop.onlink {
                msg.header.flags = RTNH_F_ONLINK;
            }
            if let Some(gw) = nexthop.gateway {
                msg.attributes.push(NexthopAttribute::Gateway(gw));
            }
            msg.attributes.push(NexthopAttribute::Oif(nexthop.ifindex));
        }
        NexthopObject::Blackhole => {
            msg.header.family = Family::V4.af();
            msg.attributes.push(NexthopAttribute::Blackhole);
        }
        NexthopObject::Group { members, resilient } => {
            msg.attributes.push(NexthopAttribute::Group(
                members
                    .iter()
                    .map(|&(id, w)| GroupEntry {
                        id,
                        wire_weight: w.clamp(1, 256) - 1,
                    })
                    .collect(),
            ));
            if let Some(r) = resilient {
                msg.attributes.push(NexthopAttribute::ResGroup(vec![
                    ResGroupAttr::Buckets(r.buckets),
                    ResGroupAttr::IdleTimer(r.idle_timer),
                    ResGroupAttr::UnbalancedTimer(r.unbalanced_timer),
                ]));
                msg.attributes
                    .push(NexthopAttribute::GroupType(NEXTHOP_GRP_TYPE_RES));
            }
        }
    }
    let flags = NLM_F_REQUEST | ack_flag(ack) | mode.flags();
    push(out, RTM_NEWNEXTHOP, flags, seq, &msg);
}

fn id_only(out: &mut Vec<u8>, msg_type: u16, flags: u16, seq: u32, id: u32) {
    let msg = NexthopMessage {
        header: NexthopHeader::default(),
        attributes: vec![NexthopAttribute::Id(id)],
    };
    push(out, msg_type, flags, seq, &msg);
}

/// Appends an `RTM_DELNEXTHOP` for `id`.
pub fn del_nexthop(out: &mut Vec<u8>, seq: u32, id: u32, ack: bool) {
    id_only(out, RTM_DELNEXTHOP, NLM_F_REQUEST | ack_flag(ack), seq, id);
}

/// Appends an `RTM_GETNEXTHOP` for one id.
pub fn get_nexthop(out: &mut Vec<u8>, seq: u32, id: u32) {
    id_only(out, RTM_GETNEXTHOP, NLM_F_REQUEST, seq, id);
}

/// Appends an `RTM_GETNEXTHOP` dump of every nexthop object.
pub fn dump_nexthops(out: &mut Vec<u8>, seq: u32) {
    let msg = NexthopMessage::default();
    push(out, RTM_GETNEXTHOP, NLM_F_REQUEST | NLM_F_DUMP, seq, &msg);
}

struct Raw<'a>(&'a [u8]);
impl Emitable for Raw<'_> {
    fn buffer_len(&self) -> usize {
        self.0.len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        buffer.copy_from_slice(self.0)
    }
}

/// Appends an `RTM_GETLINK` dump (`struct ifinfomsg`, all zero).
pub fn dump_links(out: &mut Vec<u8>, seq: u32) {
    push(
        out,
        RTM_GETLINK,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        &Raw(&[0u8; 16]),
    );
}

/// Appends an `RTM_GETADDR` dump for all families (`struct ifaddrmsg`, zero).
pub fn dump_addresses(out: &mut Vec<u8>, seq: u32) {
    push(
        out,
        RTM_GETADDR,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        &Raw(&[0u8; 8]),
    );
}

/// Appends the barrier: an `NLMSG_NOOP` with `NLM_F_ACK`. The kernel
/// processes a datagram's messages in order and acknowledges this one with
/// error 0 after every earlier one, so its ACK means "batch done".
pub fn barrier(out: &mut Vec<u8>, seq: u32) {
    push(out, NLMSG_NOOP, NLM_F_REQUEST | NLM_F_ACK, seq, &Raw(&[]));
}

#[cfg(test)]
mod tests;
