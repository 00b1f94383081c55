//! Generators of valid, canonical messages for fuzzing and property tests (feature
//! `arbitrary`).
//!
//! [`message`] builds, from fuzzer bytes, a message that a correct codec must encode and
//! decode back to itself under the given context: values respect every RFC constraint the
//! decoder checks (AS 0, hold time 1-2, host next hops, unique attributes, mandatory
//! attributes, ADD-PATH presence, AS width) and unknown code points never collide with
//! known ones. The proptest strategies in [`strategy`] are built on the same generator,
//! so fuzzing and property tests share one definition.

use std::net::{Ipv4Addr, Ipv6Addr};

use arbitrary::{Arbitrary, Result, Unstructured};
use bytes::Bytes;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

use crate::attr::{
    self, Aggregator, AsPath, AttrValue, Attribute, Community, ExtendedCommunity,
    Ipv6ExtendedCommunity, LargeCommunity, MpReach, MpUnreach, NextHop, Origin, Segment,
    SegmentType, type_code,
};
use crate::capability::{
    AddPathFamily, AddPathMode, Capability, ExtendedNextHop, Fqdn, GrFamily, GracefulRestart,
    LlgrFamily, Role, code,
};
use crate::ctx::{Afi, DecodeCtx, EncodeCtx, Family, Safi};
use crate::header::HEADER_LEN;
use crate::keepalive::Keepalive;
use crate::message::Message;
use crate::nlri::Nlri;
use crate::notification::{ErrorCode, Notification};
use crate::open::{Open, OptionalParameter};
use crate::route_refresh::RouteRefresh;
use crate::update::Update;

const KNOWN_CAPS: [u8; 11] = [
    code::MULTIPROTOCOL,
    code::ROUTE_REFRESH,
    code::EXTENDED_NEXT_HOP,
    code::EXTENDED_MESSAGE,
    code::ROLE,
    code::GRACEFUL_RESTART,
    code::FOUR_OCTET_AS,
    code::ADD_PATH,
    code::ENHANCED_ROUTE_REFRESH,
    code::LONG_LIVED_GRACEFUL_RESTART,
    code::FQDN,
];

fn small_vec<'a, T>(
    u: &mut Unstructured<'a>,
    max: usize,
    f: impl FnMut(&mut Unstructured<'a>) -> Result<T>,
) -> Result<Vec<T>> {
    let n = u.int_in_range(0..=max)?;
    (0..n)
        .map({
            let mut f = f;
            move |_| f(u)
        })
        .collect()
}

fn bytes(u: &mut Unstructured<'_>, max: usize) -> Result<Bytes> {
    let n = u.int_in_range(0..=max)?;
    Ok(Bytes::copy_from_slice(u.bytes(n)?))
}

fn family3(u: &mut Unstructured<'_>) -> Result<Family> {
    Ok(Family::new(Afi(u.arbitrary()?), Safi(u.arbitrary()?)))
}

fn ip_family(u: &mut Unstructured<'_>) -> Result<Family> {
    Ok(Family::new(
        *u.choose(&[Afi::IPV4, Afi::IPV6])?,
        *u.choose(&[Safi::UNICAST, Safi::MULTICAST])?,
    ))
}

fn nonzero_u32(u: &mut Unstructured<'_>, max: u32) -> Result<u32> {
    u.int_in_range(1..=max)
}

/// A capability that decodes back to itself.
pub fn capability(u: &mut Unstructured<'_>) -> Result<Capability> {
    Ok(match u.int_in_range(0..=11u8)? {
        0 => Capability::Multiprotocol(family3(u)?),
        1 => Capability::RouteRefresh,
        2 => Capability::ExtendedNextHop(small_vec(u, 6, |u| {
            Ok(ExtendedNextHop {
                nlri_afi: Afi(u.arbitrary()?),
                nlri_safi: u.arbitrary()?,
                next_hop_afi: Afi(u.arbitrary()?),
            })
        })?),
        3 => Capability::ExtendedMessage,
        4 => Capability::Role(Role(u.arbitrary()?)),
        5 => Capability::GracefulRestart(GracefulRestart {
            restart_flags: u.int_in_range(0..=15)?,
            restart_time: u.int_in_range(0..=4095)?,
            families: small_vec(u, 6, |u| {
                Ok(GrFamily {
                    family: family3(u)?,
                    flags: u.arbitrary()?,
                })
            })?,
        }),
        6 => Capability::FourOctetAs(nonzero_u32(u, u32::MAX)?),
        7 => Capability::AddPath(small_vec(u, 6, |u| {
            Ok(AddPathFamily {
                family: family3(u)?,
                mode: AddPathMode(u.arbitrary()?),
            })
        })?),
        8 => Capability::EnhancedRouteRefresh,
        9 => Capability::LongLivedGracefulRestart(small_vec(u, 6, |u| {
            Ok(LlgrFamily {
                family: family3(u)?,
                flags: u.arbitrary()?,
                stale_time: u.int_in_range(0..=LlgrFamily::MAX_STALE_TIME)?,
            })
        })?),
        10 => Capability::Fqdn(Fqdn {
            hostname: bytes(u, 40)?,
            domain: bytes(u, 40)?,
        }),
        _ => {
            let mut c: u8 = u.arbitrary()?;
            while KNOWN_CAPS.contains(&c) {
                c = c.wrapping_add(13);
            }
            Capability::Unknown {
                code: c,
                value: bytes(u, 40)?,
            }
        }
    })
}

/// An OPEN that decodes back to itself.
pub fn open(u: &mut Unstructured<'_>) -> Result<Open> {
    let hold: u16 = u.arbitrary()?;
    let mut o = Open {
        my_as: u.int_in_range(1..=u16::MAX)?,
        hold_time: if hold == 1 || hold == 2 { 0 } else { hold },
        bgp_identifier: Ipv4Addr::from(nonzero_u32(u, u32::MAX)?),
        params: small_vec(u, 3, |u| {
            Ok(OptionalParameter::Capabilities(small_vec(
                u, 5, capability,
            )?))
        })?,
        extended_params: u.arbitrary()?,
    };
    o.extended_params = o.uses_extended();
    Ok(o)
}

fn prefix(u: &mut Unstructured<'_>, v6: bool) -> Result<IpNet> {
    Ok(if v6 {
        let len = u.int_in_range(0..=128)?;
        IpNet::V6(
            Ipv6Net::new(Ipv6Addr::from(u.arbitrary::<u128>()?), len)
                .map(|p| p.trunc())
                .unwrap_or_default(),
        )
    } else {
        let len = u.int_in_range(0..=32)?;
        IpNet::V4(
            Ipv4Net::new(Ipv4Addr::from(u.arbitrary::<u32>()?), len)
                .map(|p| p.trunc())
                .unwrap_or_default(),
        )
    })
}

fn prefixes(u: &mut Unstructured<'_>, v6: bool, add_path: bool, max: usize) -> Result<Vec<Nlri>> {
    small_vec(u, max, |u| {
        Ok(Nlri {
            path_id: if add_path { Some(u.arbitrary()?) } else { None },
            prefix: prefix(u, v6)?,
        })
    })
}

fn as_path(u: &mut Unstructured<'_>, four: bool) -> Result<AsPath> {
    let max = if four { u32::MAX } else { u32::from(u16::MAX) };
    Ok(AsPath {
        segments: small_vec(u, 3, |u| {
            let kind = SegmentType(u.int_in_range(1..=4)?);
            let n = u.int_in_range(1..=6)?;
            let asns = (0..n).map(|_| nonzero_u32(u, max)).collect::<Result<_>>()?;
            Ok(Segment { kind, asns })
        })?
        .into(),
    })
}

fn host_v4(u: &mut Unstructured<'_>) -> Result<Ipv4Addr> {
    let a = Ipv4Addr::from(u.arbitrary::<u32>()?);
    Ok(
        if a.is_unspecified() || a.is_broadcast() || a.is_multicast() {
            Ipv4Addr::new(192, 0, 2, 1)
        } else {
            a
        },
    )
}

fn aggregator(u: &mut Unstructured<'_>, four: bool) -> Result<Aggregator> {
    let max = if four { u32::MAX } else { u32::from(u16::MAX) };
    Ok(Aggregator {
        asn: nonzero_u32(u, max)?,
        address: Ipv4Addr::from(u.arbitrary::<u32>()?),
    })
}

fn nonempty<'a, T>(
    u: &mut Unstructured<'a>,
    max: usize,
    mut f: impl FnMut(&mut Unstructured<'a>) -> Result<T>,
) -> Result<Vec<T>> {
    let n = u.int_in_range(1..=max)?;
    (0..n).map(|_| f(u)).collect()
}

/// One attribute value of type `t` (a code point from the list in [`update`]).
fn attr_value(u: &mut Unstructured<'_>, t: u8, ctx: &EncodeCtx) -> Result<AttrValue> {
    use type_code::*;
    let four = ctx.four_octet_as();
    Ok(match t {
        ORIGIN => AttrValue::Origin(Origin(u.int_in_range(0..=2)?)),
        AS_PATH => AttrValue::AsPath(as_path(u, four)?),
        NEXT_HOP => AttrValue::NextHop(host_v4(u)?),
        MULTI_EXIT_DISC => AttrValue::MultiExitDisc(u.arbitrary()?),
        LOCAL_PREF => AttrValue::LocalPref(u.arbitrary()?),
        ATOMIC_AGGREGATE => AttrValue::AtomicAggregate,
        AGGREGATOR => AttrValue::Aggregator(aggregator(u, four)?),
        COMMUNITIES => {
            AttrValue::Communities(nonempty(u, 6, |u| Ok(Community(u.arbitrary()?)))?.into())
        }
        ORIGINATOR_ID => AttrValue::OriginatorId(Ipv4Addr::from(u.arbitrary::<u32>()?)),
        CLUSTER_LIST => AttrValue::ClusterList(nonempty(u, 4, |u| {
            Ok(Ipv4Addr::from(u.arbitrary::<u32>()?))
        })?),
        MP_REACH_NLRI | MP_UNREACH_NLRI if u.ratio(1, 6)? => {
            // A non-IP family: kept raw.
            let mut f = family3(u)?;
            if f.has_ip_prefixes() {
                f.safi = Safi::MPLS_VPN;
            }
            let mut v = f.afi.0.to_be_bytes().to_vec();
            v.push(f.safi.0);
            v.extend_from_slice(&bytes(u, 24)?);
            AttrValue::Raw {
                type_code: t,
                value: Bytes::from(v),
            }
        }
        MP_REACH_NLRI => {
            let family = ip_family(u)?;
            let v6 = family.afi == Afi::IPV6;
            let next_hop = match u.int_in_range(0..=2)? {
                0 if !v6 => NextHop::Ipv4(Ipv4Addr::from(u.arbitrary::<u32>()?)),
                1 => NextHop::Ipv6 {
                    global: Ipv6Addr::from(u.arbitrary::<u128>()?),
                    link_local: None,
                },
                _ => NextHop::Ipv6 {
                    global: Ipv6Addr::from(u.arbitrary::<u128>()?),
                    link_local: Some(Ipv6Addr::from(u.arbitrary::<u128>()?)),
                },
            };
            AttrValue::MpReachNlri(MpReach {
                family,
                next_hop,
                nlri: prefixes(u, v6, ctx.add_path(family), 8)?,
            })
        }
        MP_UNREACH_NLRI => {
            let family = ip_family(u)?;
            let v6 = family.afi == Afi::IPV6;
            AttrValue::MpUnreachNlri(MpUnreach {
                family,
                withdrawn: prefixes(u, v6, ctx.add_path(family), 8)?,
            })
        }
        EXTENDED_COMMUNITIES => AttrValue::ExtendedCommunities(nonempty(u, 4, |u| {
            Ok(ExtendedCommunity(u.arbitrary()?))
        })?),
        AS4_PATH => AttrValue::As4Path(as_path(u, true)?),
        AS4_AGGREGATOR => AttrValue::As4Aggregator(aggregator(u, true)?),
        IPV6_EXTENDED_COMMUNITIES => AttrValue::Ipv6ExtendedCommunities(nonempty(u, 3, |u| {
            Ok(Ipv6ExtendedCommunity(u.arbitrary()?))
        })?),
        LARGE_COMMUNITY => AttrValue::LargeCommunities(
            nonempty(u, 4, |u| {
                Ok(LargeCommunity {
                    global: u.arbitrary()?,
                    local1: u.arbitrary()?,
                    local2: u.arbitrary()?,
                })
            })?
            .into(),
        ),
        OTC => AttrValue::Otc(u.arbitrary()?),
        _ => AttrValue::Raw {
            type_code: t,
            value: bytes(u, 300)?,
        },
    })
}

/// An UPDATE that decodes back to itself, with verdict `Accepted`, under `ctx`.
pub fn update(u: &mut Unstructured<'_>, ctx: &EncodeCtx) -> Result<Update> {
    use type_code::*;
    let ap4 = ctx.add_path(Family::IPV4_UNICAST);
    let withdrawn = prefixes(u, false, ap4, 8)?;
    let nlri = prefixes(u, false, ap4, 8)?;
    let mut codes: Vec<u8> = vec![
        ORIGIN,
        AS_PATH,
        NEXT_HOP,
        MULTI_EXIT_DISC,
        LOCAL_PREF,
        ATOMIC_AGGREGATE,
        AGGREGATOR,
        COMMUNITIES,
        ORIGINATOR_ID,
        CLUSTER_LIST,
        MP_REACH_NLRI,
        MP_UNREACH_NLRI,
        EXTENDED_COMMUNITIES,
        IPV6_EXTENDED_COMMUNITIES,
        LARGE_COMMUNITY,
        OTC,
    ];
    if !ctx.four_octet_as() {
        codes.extend([AS4_PATH, AS4_AGGREGATOR]);
    }
    let mut chosen: Vec<u8> = codes
        .into_iter()
        .filter(|_| u.ratio(1, 3).unwrap_or(false))
        .collect();
    // Unknown optional attributes.
    for _ in 0..u.int_in_range(0..=2)? {
        let mut t: u8 = u.arbitrary()?;
        while attr::spec(t).is_some() || t == 0 || chosen.contains(&t) {
            t = t.wrapping_add(29);
        }
        chosen.push(t);
    }
    // RFC 4271 §5 / RFC 4760 §3: mandatory attributes when something is reachable.
    if !nlri.is_empty() || chosen.contains(&MP_REACH_NLRI) {
        for t in [ORIGIN, AS_PATH] {
            if !chosen.contains(&t) {
                chosen.push(t);
            }
        }
    }
    if !nlri.is_empty() && !chosen.contains(&NEXT_HOP) {
        chosen.push(NEXT_HOP);
    }
    // Shuffle by swapping with fuzzer-chosen indexes.
    for i in (1..chosen.len()).rev() {
        let j = u.int_in_range(0..=i)?;
        chosen.swap(i, j);
    }
    let mut attributes = Vec::with_capacity(chosen.len());
    for t in chosen {
        let mut a = Attribute::new(attr_value(u, t, ctx)?);
        if attr::spec(t).is_none() {
            // Unknown attributes: optional, transitive or not, maybe Partial.
            a.flags = (a.flags & attr::flags::EXTENDED_LENGTH)
                | attr::flags::OPTIONAL
                | if u.arbitrary()? {
                    attr::flags::TRANSITIVE
                } else {
                    0
                };
        }
        if a.is_optional() && a.is_transitive() && u.ratio(1, 4)? {
            a.flags |= attr::flags::PARTIAL;
        }
        if u.ratio(1, 4)? {
            a.flags |= attr::flags::EXTENDED_LENGTH;
        }
        // The unused low 4 bits are kept as received.
        a.flags |= u.int_in_range(0..=15u8)? & if u.ratio(1, 8)? { 0x0f } else { 0 };
        attributes.push(a);
    }
    Ok(Update {
        withdrawn,
        attributes,
        nlri,
    })
}

/// Any message that decodes back to itself under `ctx`.
pub fn message(u: &mut Unstructured<'_>, ctx: &EncodeCtx) -> Result<Message> {
    Ok(match u.int_in_range(0..=5u8)? {
        0 => Message::Open(open(u)?),
        1 | 2 => Message::Update(update(u, ctx)?),
        3 => Message::Notification(Notification {
            code: ErrorCode(u.arbitrary()?),
            subcode: u.arbitrary()?,
            data: bytes(u, 64)?,
        }),
        4 => Message::Keepalive(Keepalive),
        _ => Message::RouteRefresh(<RouteRefresh as Arbitrary>::arbitrary(u)?),
    })
}

impl<'a> Arbitrary<'a> for Message {
    /// A canonical message for [`EncodeCtx::modern`].
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        message(u, &EncodeCtx::modern())
    }
}

/// A raw UPDATE for the decoders (the RFC 7606 paths): the first byte picks the context
/// (bit 0: 4-octet AS, bits 1 and 2: ADD-PATH for IPv4 and IPv6 unicast; extended
/// messages always on) and the other bytes are the body behind a valid 19-octet header.
/// The `bgp_update_decode` and `bgp_wire_update_view` fuzz targets share it, so they read
/// their corpora the same way.
#[derive(Clone, Debug)]
pub struct UpdateInput {
    /// The session context to decode under.
    pub ctx: DecodeCtx,
    /// The whole message, header included.
    pub message: Vec<u8>,
}

impl UpdateInput {
    /// Builds the input from fuzzer bytes; `None` when empty or longer than an extended
    /// message allows.
    pub fn from_bytes(data: &[u8]) -> Option<UpdateInput> {
        let (&bits, body) = data.split_first()?;
        let len = u16::try_from(HEADER_LEN + body.len()).ok()?;
        let ctx = DecodeCtx::modern()
            .with_four_octet_as(bits & 1 != 0)
            .with_extended_message(true)
            .with_add_path(Family::IPV4_UNICAST, bits & 2 != 0)
            .with_add_path(Family::IPV6_UNICAST, bits & 4 != 0);
        let mut message = Vec::with_capacity(usize::from(len));
        message.extend_from_slice(&crate::header::MARKER);
        message.extend_from_slice(&len.to_be_bytes());
        message.push(crate::header::MessageType::UPDATE.0);
        message.extend_from_slice(body);
        Some(UpdateInput { ctx, message })
    }
}

impl<'a> Arbitrary<'a> for UpdateInput {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let n = u.arbitrary_len::<u8>()?;
        UpdateInput::from_bytes(u.bytes(n)?).ok_or(arbitrary::Error::IncorrectFormat)
    }

    /// Takes every byte as is (the corpus format described on the type).
    fn arbitrary_take_rest(u: Unstructured<'a>) -> Result<Self> {
        UpdateInput::from_bytes(u.take_rest()).ok_or(arbitrary::Error::IncorrectFormat)
    }
}

/// proptest strategies built on the generators above.
pub mod strategy {
    use proptest::prelude::{Strategy, any};

    use super::*;

    fn from_bytes<T: core::fmt::Debug>(
        f: impl Fn(&mut Unstructured<'_>) -> Result<T> + Clone,
    ) -> impl Strategy<Value = T> {
        proptest::collection::vec(any::<u8>(), 0..1500).prop_filter_map(
            "not enough entropy",
            move |b| {
                let mut u = Unstructured::new(&b);
                f(&mut u).ok()
            },
        )
    }

    /// A context and a message that is canonical under it.
    pub fn ctx_and_message() -> impl Strategy<Value = (EncodeCtx, Message)> {
        from_bytes(|u| {
            let ctx = <EncodeCtx as ::arbitrary::Arbitrary>::arbitrary(u)?;
            let m = super::message(u, &ctx)?;
            Ok((ctx, m))
        })
    }

    /// A message canonical under [`EncodeCtx::modern`].
    pub fn message() -> impl Strategy<Value = Message> {
        from_bytes(|u| super::message(u, &EncodeCtx::modern()))
    }

    /// An UPDATE canonical under `ctx`.
    pub fn update(ctx: EncodeCtx) -> impl Strategy<Value = Update> {
        from_bytes(move |u| super::update(u, &ctx))
    }
}
