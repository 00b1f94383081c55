//! Path attributes (RFC 4271 §4.3, §5) and their RFC 7606 error handling.
//!
//! ```text
//! 0                   1
//! 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Attr. Flags  |Attr. Type Code|  Attr. Length (1 or 2 octets) | Value ...
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Every attribute keeps its received flags octet, so re-emitting is byte-exact (including
//! the Extended Length bit on short values and the Partial bit). Attributes we do not model
//! are kept as [`AttrValue::Raw`] and re-emitted unchanged; [`Attribute::for_propagation`]
//! applies the RFC 4271 §5 rules when passing them on.

pub mod as_path;
pub mod community;
pub mod mp;
pub mod view;

use std::net::Ipv4Addr;

use bytes::{BufMut, Bytes, BytesMut};

pub use as_path::{
    AsNumbers, AsPath, AsPathView, Asns, Segment, SegmentList, SegmentType, Segments,
};
pub use community::{
    Community, CommunityList, ExtendedCommunity, Ipv6ExtendedCommunity, LargeCommunity,
    LargeCommunityList,
};
pub use mp::{MpReach, MpUnreach, NextHop};
pub use view::{AttrRef, ListItem, ListIter, ListView, PathAttribute};

use crate::ctx::{DecodeCtx, EncodeCtx, Family};
use crate::error::{EncodeError, UpdateError};

/// Attribute flag bits (RFC 4271 §4.3).
pub mod flags {
    /// Optional (1) or well-known (0).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive.
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial: an optional transitive attribute was not recognised by some speaker.
    pub const PARTIAL: u8 = 0x20;
    /// The length field is 2 octets.
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// Attribute type codes (IANA "BGP Path Attributes").
pub mod type_code {
    /// ORIGIN (RFC 4271).
    pub const ORIGIN: u8 = 1;
    /// AS_PATH (RFC 4271).
    pub const AS_PATH: u8 = 2;
    /// NEXT_HOP (RFC 4271).
    pub const NEXT_HOP: u8 = 3;
    /// MULTI_EXIT_DISC (RFC 4271).
    pub const MULTI_EXIT_DISC: u8 = 4;
    /// LOCAL_PREF (RFC 4271).
    pub const LOCAL_PREF: u8 = 5;
    /// ATOMIC_AGGREGATE (RFC 4271).
    pub const ATOMIC_AGGREGATE: u8 = 6;
    /// AGGREGATOR (RFC 4271).
    pub const AGGREGATOR: u8 = 7;
    /// COMMUNITIES (RFC 1997).
    pub const COMMUNITIES: u8 = 8;
    /// ORIGINATOR_ID (RFC 4456).
    pub const ORIGINATOR_ID: u8 = 9;
    /// CLUSTER_LIST (RFC 4456).
    pub const CLUSTER_LIST: u8 = 10;
    /// MP_REACH_NLRI (RFC 4760).
    pub const MP_REACH_NLRI: u8 = 14;
    /// MP_UNREACH_NLRI (RFC 4760).
    pub const MP_UNREACH_NLRI: u8 = 15;
    /// EXTENDED COMMUNITIES (RFC 4360).
    pub const EXTENDED_COMMUNITIES: u8 = 16;
    /// AS4_PATH (RFC 6793).
    pub const AS4_PATH: u8 = 17;
    /// AS4_AGGREGATOR (RFC 6793).
    pub const AS4_AGGREGATOR: u8 = 18;
    /// Traffic Engineering (RFC 5543), kept raw.
    pub const TRAFFIC_ENGINEERING: u8 = 24;
    /// IPv6 Address Specific Extended Community (RFC 5701).
    pub const IPV6_EXTENDED_COMMUNITIES: u8 = 25;
    /// LARGE_COMMUNITY (RFC 8092).
    pub const LARGE_COMMUNITY: u8 = 32;
    /// Only to Customer (RFC 9234).
    pub const OTC: u8 = 35;
}

/// ORIGIN value (RFC 4271 §5.1.1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Origin(pub u8);

impl Origin {
    /// Learned from an interior gateway protocol.
    pub const IGP: Origin = Origin(0);
    /// Learned via EGP.
    pub const EGP: Origin = Origin(1);
    /// Learned by other means.
    pub const INCOMPLETE: Origin = Origin(2);
}

/// AGGREGATOR / AS4_AGGREGATOR value (RFC 4271 §5.1.7, RFC 6793 §3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Aggregator {
    /// The aggregating AS (2 octets in AGGREGATOR on 2-octet sessions).
    pub asn: u32,
    /// The aggregating speaker's address.
    pub address: Ipv4Addr,
}

/// The decoded value of a path attribute.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum AttrValue {
    /// ORIGIN.
    Origin(Origin),
    /// AS_PATH, with the session's AS number width.
    AsPath(AsPath),
    /// NEXT_HOP.
    NextHop(Ipv4Addr),
    /// MULTI_EXIT_DISC.
    MultiExitDisc(u32),
    /// LOCAL_PREF.
    LocalPref(u32),
    /// ATOMIC_AGGREGATE.
    AtomicAggregate,
    /// AGGREGATOR.
    Aggregator(Aggregator),
    /// COMMUNITIES.
    Communities(CommunityList),
    /// ORIGINATOR_ID.
    OriginatorId(Ipv4Addr),
    /// CLUSTER_LIST.
    ClusterList(Vec<Ipv4Addr>),
    /// MP_REACH_NLRI of an IP family.
    MpReachNlri(MpReach),
    /// MP_UNREACH_NLRI of an IP family.
    MpUnreachNlri(MpUnreach),
    /// EXTENDED COMMUNITIES.
    ExtendedCommunities(Vec<ExtendedCommunity>),
    /// AS4_PATH (always 4-octet AS numbers).
    As4Path(AsPath),
    /// AS4_AGGREGATOR.
    As4Aggregator(Aggregator),
    /// IPv6 Address Specific Extended Communities.
    Ipv6ExtendedCommunities(Vec<Ipv6ExtendedCommunity>),
    /// LARGE_COMMUNITY.
    LargeCommunities(LargeCommunityList),
    /// Only to Customer: an AS number.
    Otc(u32),
    /// Any attribute not modelled above (or an MP attribute of a non-IP family), raw.
    Raw {
        /// The attribute type code.
        type_code: u8,
        /// The value octets.
        value: Bytes,
    },
}

/// A path attribute: its flags octet and its value.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Attribute {
    /// The flags octet as received (see [`flags`]).
    pub flags: u8,
    /// The value.
    pub value: AttrValue,
}

/// The RFC 7606 approach for an error, ordered from weakest to strongest (§3 g).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Action {
    AttributeDiscard,
    TreatAsWithdraw,
    SessionReset,
}

/// The Optional and Transitive bits a known type must carry, with the RFC 7606 approach
/// when it is malformed.
pub(crate) fn spec(t: u8) -> Option<(u8, Action)> {
    use type_code::*;
    const WK: u8 = flags::TRANSITIVE;
    const OT: u8 = flags::OPTIONAL | flags::TRANSITIVE;
    const ON: u8 = flags::OPTIONAL;
    Some(match t {
        ORIGIN | AS_PATH | NEXT_HOP | LOCAL_PREF => (WK, Action::TreatAsWithdraw), // §7.1-7.3, §7.5
        ATOMIC_AGGREGATE => (WK, Action::AttributeDiscard),                        // §7.6
        MULTI_EXIT_DISC | ORIGINATOR_ID | CLUSTER_LIST => (ON, Action::TreatAsWithdraw), // §7.4, 7.9, 7.10
        MP_REACH_NLRI | MP_UNREACH_NLRI => (ON, Action::SessionReset), // §7.11, 7.12
        AGGREGATOR => (OT, Action::AttributeDiscard),                  // §7.7
        AS4_PATH | AS4_AGGREGATOR => (OT, Action::AttributeDiscard),   // RFC 6793 §6
        COMMUNITIES | EXTENDED_COMMUNITIES | IPV6_EXTENDED_COMMUNITIES | LARGE_COMMUNITY | OTC => {
            (OT, Action::TreatAsWithdraw) // §7.8, §7.14, §7.15, RFC 8092 §5, RFC 9234 §5
        }
        TRAFFIC_ENGINEERING => (ON, Action::TreatAsWithdraw), // §7.13
        _ => return None,
    })
}

/// A failed attribute: the approach and the evidence.
pub(crate) struct AttrFailure {
    pub(crate) action: Action,
    pub(crate) error: UpdateError,
}

/// Minimum length of an RFC 5543 Interface Switching Capability Descriptor.
const TE_MIN_LEN: usize = 36;

fn u32s(v: &[u8]) -> impl ExactSizeIterator<Item = u32> + '_ {
    v.as_chunks::<4>().0.iter().map(|c| u32::from_be_bytes(*c))
}

impl Attribute {
    /// An attribute with the canonical flags for its type (Extended Length set when the
    /// value needs it). Raw values get Optional|Transitive.
    pub fn new(value: AttrValue) -> Self {
        let base = spec(value.type_code()).map_or(flags::OPTIONAL | flags::TRANSITIVE, |s| s.0);
        let mut a = Attribute { flags: base, value };
        if a.value_len(true) > 255 {
            a.flags |= flags::EXTENDED_LENGTH;
        }
        a
    }

    /// The type code.
    pub fn type_code(&self) -> u8 {
        self.value.type_code()
    }

    /// Whether the Optional bit is set.
    pub fn is_optional(&self) -> bool {
        self.flags & flags::OPTIONAL != 0
    }

    /// Whether the Transitive bit is set.
    pub fn is_transitive(&self) -> bool {
        self.flags & flags::TRANSITIVE != 0
    }

    /// Whether the Partial bit is set.
    pub fn is_partial(&self) -> bool {
        self.flags & flags::PARTIAL != 0
    }

    /// The attribute as it must be passed on to another peer by a speaker that does not
    /// understand it (RFC 4271 §5): unrecognised optional non-transitive attributes are
    /// dropped (`None`), unrecognised optional transitive ones get the Partial bit; known
    /// attributes are returned unchanged.
    pub fn for_propagation(&self) -> Option<Attribute> {
        match self.value {
            AttrValue::Raw { .. } if self.is_optional() && !self.is_transitive() => None,
            AttrValue::Raw { .. } if self.is_optional() => Some(Attribute {
                flags: self.flags | flags::PARTIAL,
                value: self.value.clone(),
            }),
            _ => Some(self.clone()),
        }
    }

    /// Decodes one attribute value. `whole` is the complete attribute (for NOTIFICATION
    /// data), `off` its absolute offset, `voff` the absolute offset of the value.
    ///
    /// With `build == false` the value is only checked (same verdicts) and nothing is
    /// allocated unless it is malformed: `Ok(None)` means it is fine (the zero-copy path).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    pub(crate) fn parse(
        fl: u8,
        t: u8,
        v: &[u8],
        whole: &[u8],
        off: usize,
        voff: usize,
        ctx: &DecodeCtx,
        build: bool,
    ) -> Result<Option<Attribute>, AttrFailure> {
        use type_code::*;
        let Some((want, action)) = spec(t) else {
            // RFC 4271 §6.3: an unrecognised well-known attribute resets the session.
            if fl & flags::OPTIONAL == 0 {
                return Err(AttrFailure {
                    action: Action::SessionReset,
                    error: UpdateError::UnrecognizedWellKnownAttribute {
                        offset: off,
                        type_code: t,
                        attribute: Bytes::copy_from_slice(whole),
                    },
                });
            }
            return Ok(build.then(|| Attribute {
                flags: fl,
                value: AttrValue::Raw {
                    type_code: t,
                    value: Bytes::copy_from_slice(v),
                },
            }));
        };
        let fail = |action, error| Err(AttrFailure { action, error });
        let attr = || Bytes::copy_from_slice(whole);
        let length_error = || UpdateError::AttributeLengthError {
            offset: off,
            type_code: t,
            length: v.len(),
            attribute: attr(),
        };
        // RFC 7606 §3 c: Optional/Transitive bits that conflict with the type make the
        // attribute malformed, handled by its own rule.
        if fl & (flags::OPTIONAL | flags::TRANSITIVE) != want {
            return fail(
                action,
                UpdateError::AttributeFlagsError {
                    offset: off,
                    type_code: t,
                    flags: fl,
                    attribute: attr(),
                },
            );
        }
        let n = v.len();
        let four_u32 = || u32::from_be_bytes([v[0], v[1], v[2], v[3]]);
        let value = match t {
            ORIGIN => {
                if n != 1 {
                    return fail(action, length_error());
                }
                if v[0] > 2 {
                    return fail(
                        action,
                        UpdateError::InvalidOrigin {
                            offset: off,
                            value: v[0],
                            attribute: attr(),
                        },
                    );
                }
                AttrValue::Origin(Origin(v[0]))
            }
            AS_PATH | AS4_PATH => {
                let four = t == AS4_PATH || ctx.four_octet_as();
                let r = if build {
                    AsPath::parse(v, four).map(Some)
                } else {
                    AsPath::check(v, four).map(|()| None)
                };
                match r {
                    Ok(None) => return Ok(None),
                    Ok(Some(p)) if t == AS_PATH => AttrValue::AsPath(p),
                    Ok(Some(p)) => AttrValue::As4Path(p),
                    Err(e) => {
                        return fail(
                            action,
                            UpdateError::MalformedAsPath {
                                offset: voff + e.at,
                                type_code: t,
                            },
                        );
                    }
                }
            }
            NEXT_HOP => {
                if n != 4 {
                    return fail(action, length_error());
                }
                let a = Ipv4Addr::from(four_u32());
                // RFC 4271 §6.3 / RFC 7606 §7.3: a next hop that is not a host address.
                if a.is_unspecified() || a.is_broadcast() || a.is_multicast() {
                    return fail(
                        action,
                        UpdateError::InvalidNextHop {
                            offset: off,
                            next_hop: a,
                            attribute: attr(),
                        },
                    );
                }
                AttrValue::NextHop(a)
            }
            MULTI_EXIT_DISC | LOCAL_PREF | ORIGINATOR_ID | OTC => {
                if n != 4 {
                    return fail(action, length_error());
                }
                match t {
                    MULTI_EXIT_DISC => AttrValue::MultiExitDisc(four_u32()),
                    LOCAL_PREF => AttrValue::LocalPref(four_u32()),
                    ORIGINATOR_ID => AttrValue::OriginatorId(Ipv4Addr::from(four_u32())),
                    _ => AttrValue::Otc(four_u32()),
                }
            }
            ATOMIC_AGGREGATE => {
                if n != 0 {
                    return fail(action, length_error());
                }
                AttrValue::AtomicAggregate
            }
            AGGREGATOR | AS4_AGGREGATOR => {
                let four = t == AS4_AGGREGATOR || ctx.four_octet_as();
                if n != if four { 8 } else { 6 } {
                    return fail(action, length_error());
                }
                let (asn, addr) = if four {
                    (four_u32(), &v[4..8])
                } else {
                    (u32::from(u16::from_be_bytes([v[0], v[1]])), &v[2..6])
                };
                // RFC 7607 §2: AS 0 in (AS4_)AGGREGATOR: the attribute is discarded.
                if asn == 0 {
                    return fail(
                        action,
                        UpdateError::OptionalAttributeError {
                            offset: off,
                            type_code: t,
                            attribute: attr(),
                        },
                    );
                }
                let ag = Aggregator {
                    asn,
                    address: Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]),
                };
                if t == AGGREGATOR {
                    AttrValue::Aggregator(ag)
                } else {
                    AttrValue::As4Aggregator(ag)
                }
            }
            COMMUNITIES
            | CLUSTER_LIST
            | EXTENDED_COMMUNITIES
            | IPV6_EXTENDED_COMMUNITIES
            | LARGE_COMMUNITY => {
                // RFC 7606 §7.8, §7.10, §7.14, §7.15, RFC 8092 §5: a non-empty list of
                // fixed-size entries.
                let unit = match t {
                    EXTENDED_COMMUNITIES => 8,
                    IPV6_EXTENDED_COMMUNITIES => 20,
                    LARGE_COMMUNITY => 12,
                    _ => 4,
                };
                if n == 0 || !n.is_multiple_of(unit) {
                    return fail(action, length_error());
                }
                if !build {
                    return Ok(None);
                }
                match t {
                    COMMUNITIES => AttrValue::Communities(community::inline_list(
                        u32s(v).map(Community),
                        Community(0),
                    )),
                    CLUSTER_LIST => AttrValue::ClusterList(u32s(v).map(Ipv4Addr::from).collect()),
                    EXTENDED_COMMUNITIES => AttrValue::ExtendedCommunities(
                        v.as_chunks::<8>()
                            .0
                            .iter()
                            .map(|c| ExtendedCommunity(*c))
                            .collect(),
                    ),
                    IPV6_EXTENDED_COMMUNITIES => AttrValue::Ipv6ExtendedCommunities(
                        v.as_chunks::<20>()
                            .0
                            .iter()
                            .map(|c| Ipv6ExtendedCommunity(*c))
                            .collect(),
                    ),
                    _ => AttrValue::LargeCommunities(
                        v.as_chunks::<12>()
                            .0
                            .iter()
                            .map(LargeCommunity::from_octets)
                            .collect(),
                    ),
                }
            }
            TRAFFIC_ENGINEERING => {
                if n < TE_MIN_LEN {
                    return fail(action, length_error());
                }
                if !build {
                    return Ok(None);
                }
                AttrValue::Raw {
                    type_code: t,
                    value: Bytes::copy_from_slice(v),
                }
            }
            MP_REACH_NLRI | MP_UNREACH_NLRI => {
                let opt_err = || UpdateError::OptionalAttributeError {
                    offset: off,
                    type_code: t,
                    attribute: attr(),
                };
                let Some(family) = mp::peek_family(v) else {
                    return fail(action, opt_err());
                };
                if !family.has_ip_prefixes() {
                    return Ok(build.then(|| Attribute {
                        flags: fl,
                        value: AttrValue::Raw {
                            type_code: t,
                            value: Bytes::copy_from_slice(v),
                        },
                    }));
                }
                let ap = ctx.add_path(family);
                if !build {
                    let r = if t == MP_REACH_NLRI {
                        MpReach::check(v, voff, ap)
                    } else {
                        MpUnreach::check(v, voff, ap)
                    };
                    return match r {
                        Ok(()) => Ok(None),
                        Err(_) => fail(action, opt_err()),
                    };
                }
                let r = if t == MP_REACH_NLRI {
                    MpReach::parse(v, voff, ap).map(AttrValue::MpReachNlri)
                } else {
                    MpUnreach::parse(v, voff, ap).map(AttrValue::MpUnreachNlri)
                };
                match r {
                    Ok(val) => val,
                    Err(_) => return fail(action, opt_err()),
                }
            }
            _ if !build => return Ok(None),
            _ => AttrValue::Raw {
                type_code: t,
                value: Bytes::copy_from_slice(v),
            },
        };
        Ok(build.then_some(Attribute { flags: fl, value }))
    }

    /// The hot path of UPDATE decoding: a well-formed ORIGIN, AS_PATH, NEXT_HOP,
    /// MULTI_EXIT_DISC, LOCAL_PREF, COMMUNITIES, LARGE_COMMUNITY or IP-family
    /// MP_REACH_NLRI with the flags its type requires is checked and (with `BUILD`) pushed
    /// onto `out` without the error bookkeeping, and `true` returned. Anything else, every
    /// malformed value included, returns `false` and goes through [`Attribute::parse`],
    /// whose complete rules accept these same values with the same result (the
    /// `fast_path_agrees` property test checks it).
    #[inline(always)]
    pub(crate) fn decode_common<const BUILD: bool>(
        fl: u8,
        t: u8,
        v: &[u8],
        voff: usize,
        ctx: &DecodeCtx,
        out: &mut Vec<Attribute>,
    ) -> bool {
        use type_code::*;
        const WK: u8 = flags::TRANSITIVE;
        const OT: u8 = flags::OPTIONAL | flags::TRANSITIVE;
        const ON: u8 = flags::OPTIONAL;
        let ot = fl & (flags::OPTIONAL | flags::TRANSITIVE);
        let u32_at = |v: &[u8]| v.first_chunk::<4>().map(|c| u32::from_be_bytes(*c));
        let attr = Attribute {
            flags: fl,
            value: match (t, ot, v.len()) {
                (ORIGIN, WK, 1) if v[0] <= 2 => AttrValue::Origin(Origin(v[0])),
                (AS_PATH, WK, _) => {
                    let four = ctx.four_octet_as();
                    if !BUILD {
                        return AsPath::check(v, four).is_ok();
                    }
                    match AsPath::parse(v, four) {
                        Ok(p) => AttrValue::AsPath(p),
                        Err(_) => return false,
                    }
                }
                (NEXT_HOP, WK, 4) => match u32_at(v).map(Ipv4Addr::from) {
                    Some(a) if !(a.is_unspecified() || a.is_broadcast() || a.is_multicast()) => {
                        AttrValue::NextHop(a)
                    }
                    _ => return false,
                },
                (MULTI_EXIT_DISC, ON, 4) => match u32_at(v) {
                    Some(x) => AttrValue::MultiExitDisc(x),
                    None => return false,
                },
                (LOCAL_PREF, WK, 4) => match u32_at(v) {
                    Some(x) => AttrValue::LocalPref(x),
                    None => return false,
                },
                (COMMUNITIES, OT, n) if n > 0 && n.is_multiple_of(4) => {
                    if !BUILD {
                        return true;
                    }
                    AttrValue::Communities(community::inline_list(
                        u32s(v).map(Community),
                        Community(0),
                    ))
                }
                (LARGE_COMMUNITY, OT, n) if n > 0 && n.is_multiple_of(12) => {
                    if !BUILD {
                        return true;
                    }
                    AttrValue::LargeCommunities(community::inline_list(
                        v.as_chunks::<12>()
                            .0
                            .iter()
                            .map(LargeCommunity::from_octets),
                        LargeCommunity::from_octets(&[0; 12]),
                    ))
                }
                (MP_REACH_NLRI, ON, _) => {
                    let Some(family) = mp::peek_family(v).filter(|f| f.has_ip_prefixes()) else {
                        return false;
                    };
                    let ap = ctx.add_path(family);
                    if !BUILD {
                        return MpReach::check(v, voff, ap).is_ok();
                    }
                    match MpReach::parse(v, voff, ap) {
                        Ok(m) => AttrValue::MpReachNlri(m),
                        Err(_) => return false,
                    }
                }
                _ => return false,
            },
        };
        if BUILD {
            out.push(attr);
        } else {
            // Only the plain-value variants get here without `BUILD`: nothing to drop.
            core::mem::forget(attr);
        }
        true
    }

    /// Length of the value with the given AS width.
    fn value_len(&self, four: bool) -> usize {
        match &self.value {
            AttrValue::Origin(_) => 1,
            AttrValue::AsPath(p) => p.encoded_len(four),
            AttrValue::As4Path(p) => p.encoded_len(true),
            AttrValue::NextHop(_)
            | AttrValue::MultiExitDisc(_)
            | AttrValue::LocalPref(_)
            | AttrValue::OriginatorId(_)
            | AttrValue::Otc(_) => 4,
            AttrValue::AtomicAggregate => 0,
            AttrValue::Aggregator(_) => {
                if four {
                    8
                } else {
                    6
                }
            }
            AttrValue::As4Aggregator(_) => 8,
            AttrValue::Communities(c) => 4 * c.len(),
            AttrValue::ClusterList(c) => 4 * c.len(),
            AttrValue::MpReachNlri(m) => m.value_len(),
            AttrValue::MpUnreachNlri(m) => m.value_len(),
            AttrValue::ExtendedCommunities(c) => 8 * c.len(),
            AttrValue::Ipv6ExtendedCommunities(c) => 20 * c.len(),
            AttrValue::LargeCommunities(c) => 12 * c.len(),
            AttrValue::Raw { value, .. } => value.len(),
        }
    }

    fn uses_extended_length(&self, len: usize) -> bool {
        self.flags & flags::EXTENDED_LENGTH != 0 || len > 255
    }

    /// Encoded length under `ctx`: flags, type, length field and value.
    pub fn encoded_len(&self, ctx: &EncodeCtx) -> usize {
        let len = self.value_len(ctx.four_octet_as());
        len + if self.uses_extended_length(len) { 4 } else { 3 }
    }

    pub(crate) fn emit(&self, ctx: &EncodeCtx, out: &mut BytesMut) -> Result<(), EncodeError> {
        let four = ctx.four_octet_as();
        let len = self.value_len(four);
        if len > usize::from(u16::MAX) {
            return Err(EncodeError::FieldTooLong {
                what: "attribute",
                length: len,
            });
        }
        let ext = self.uses_extended_length(len);
        out.put_u8(if ext {
            self.flags | flags::EXTENDED_LENGTH
        } else {
            self.flags
        });
        out.put_u8(self.type_code());
        if ext {
            out.put_u16(len as u16);
        } else {
            out.put_u8(len as u8);
        }
        match &self.value {
            AttrValue::Origin(o) => out.put_u8(o.0),
            AttrValue::AsPath(p) => p.emit(four, out)?,
            AttrValue::As4Path(p) => p.emit(true, out)?,
            AttrValue::NextHop(a) | AttrValue::OriginatorId(a) => out.put_slice(&a.octets()),
            AttrValue::MultiExitDisc(x) | AttrValue::LocalPref(x) | AttrValue::Otc(x) => {
                out.put_u32(*x)
            }
            AttrValue::AtomicAggregate => {}
            AttrValue::Aggregator(a) => {
                if four {
                    out.put_u32(a.asn);
                } else {
                    out.put_u16(
                        u16::try_from(a.asn)
                            .map_err(|_| EncodeError::AsnNeedsFourOctets { asn: a.asn })?,
                    );
                }
                out.put_slice(&a.address.octets());
            }
            AttrValue::As4Aggregator(a) => {
                out.put_u32(a.asn);
                out.put_slice(&a.address.octets());
            }
            AttrValue::Communities(c) => c.iter().for_each(|c| out.put_u32(c.0)),
            AttrValue::ClusterList(c) => c.iter().for_each(|c| out.put_slice(&c.octets())),
            AttrValue::MpReachNlri(m) => m.emit(ctx.add_path(m.family), out)?,
            AttrValue::MpUnreachNlri(m) => m.emit(ctx.add_path(m.family), out)?,
            AttrValue::ExtendedCommunities(c) => c.iter().for_each(|c| out.put_slice(&c.0)),
            AttrValue::Ipv6ExtendedCommunities(c) => c.iter().for_each(|c| out.put_slice(&c.0)),
            AttrValue::LargeCommunities(c) => c.iter().for_each(|c| {
                out.put_u32(c.global);
                out.put_u32(c.local1);
                out.put_u32(c.local2);
            }),
            AttrValue::Raw { value, .. } => out.put_slice(value),
        }
        Ok(())
    }
}

impl AttrValue {
    /// The attribute type code of this value.
    pub fn type_code(&self) -> u8 {
        use type_code::*;
        match self {
            AttrValue::Origin(_) => ORIGIN,
            AttrValue::AsPath(_) => AS_PATH,
            AttrValue::NextHop(_) => NEXT_HOP,
            AttrValue::MultiExitDisc(_) => MULTI_EXIT_DISC,
            AttrValue::LocalPref(_) => LOCAL_PREF,
            AttrValue::AtomicAggregate => ATOMIC_AGGREGATE,
            AttrValue::Aggregator(_) => AGGREGATOR,
            AttrValue::Communities(_) => COMMUNITIES,
            AttrValue::OriginatorId(_) => ORIGINATOR_ID,
            AttrValue::ClusterList(_) => CLUSTER_LIST,
            AttrValue::MpReachNlri(_) => MP_REACH_NLRI,
            AttrValue::MpUnreachNlri(_) => MP_UNREACH_NLRI,
            AttrValue::ExtendedCommunities(_) => EXTENDED_COMMUNITIES,
            AttrValue::As4Path(_) => AS4_PATH,
            AttrValue::As4Aggregator(_) => AS4_AGGREGATOR,
            AttrValue::Ipv6ExtendedCommunities(_) => IPV6_EXTENDED_COMMUNITIES,
            AttrValue::LargeCommunities(_) => LARGE_COMMUNITY,
            AttrValue::Otc(_) => OTC,
            AttrValue::Raw { type_code, .. } => *type_code,
        }
    }

    /// The family of an MP attribute kept raw (non-IP family), if this is one.
    pub(crate) fn raw_mp_family(&self) -> Option<(u8, Family, usize)> {
        match self {
            AttrValue::Raw {
                type_code: t @ (type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI),
                value,
            } => mp::peek_family(value).map(|f| (*t, f, value.len())),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Values biased towards the shapes the fast path accepts, plus arbitrary bytes.
    fn value() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..14),
            proptest::collection::vec(any::<u8>(), 0..40),
            // AS_PATH-like: a segment header then AS numbers.
            (
                1u8..=5,
                0u8..4,
                proptest::collection::vec(any::<u8>(), 0..24)
            )
                .prop_map(|(t, n, rest)| {
                    let mut v = vec![t, n];
                    v.extend(rest);
                    v
                }),
            // MP_REACH_NLRI-like: IPv4/IPv6 unicast, next hop length, reserved, prefixes.
            (
                prop_oneof![Just(1u16), Just(2u16)],
                prop_oneof![Just(4u8), Just(16u8), Just(32u8), any::<u8>()],
                proptest::collection::vec(any::<u8>(), 0..60)
            )
                .prop_map(|(afi, nh, rest)| {
                    let mut v = afi.to_be_bytes().to_vec();
                    v.extend([1, nh]);
                    v.extend(rest);
                    v
                }),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

        /// `decode_common` (the hot path) accepts only what the complete rules of
        /// `Attribute::parse` (RFC 4271 §6.3, RFC 7606 §7) accept, with the same value.
        #[test]
        fn fast_path_agrees(
            fl in prop_oneof![Just(0x40u8), Just(0x80u8), Just(0xc0u8), any::<u8>()],
            t in prop_oneof![1u8..=16, Just(32u8), any::<u8>()],
            v in value(),
            four in any::<bool>(),
            add_path in any::<bool>(),
        ) {
            let ctx = DecodeCtx::modern()
                .with_four_octet_as(four)
                .with_add_path(Family::IPV6_UNICAST, add_path);
            let whole = [fl, t];
            let full = Attribute::parse(fl, t, &v, &whole, 19, 22, &ctx, true);
            let mut out = Vec::new();
            if Attribute::decode_common::<true>(fl, t, &v, 22, &ctx, &mut out) {
                prop_assert_eq!(out.len(), 1);
                prop_assert!(matches!(&full, Ok(Some(a)) if *a == out[0]));
            }
            let mut none = Vec::new();
            if Attribute::decode_common::<false>(fl, t, &v, 22, &ctx, &mut none) {
                prop_assert!(none.is_empty());
                prop_assert!(matches!(
                    Attribute::parse(fl, t, &v, &whole, 19, 22, &ctx, false),
                    Ok(None)
                ));
            }
        }
    }
}
