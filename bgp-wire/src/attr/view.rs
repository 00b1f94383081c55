//! Path attributes read in place from a checked UPDATE
//! ([`UpdateView::path_attributes`](crate::view::UpdateView::path_attributes)): the
//! borrowed counterparts of [`AttrValue`], decoded in one pass over the attribute list,
//! without allocating. Lists (communities, cluster lists, AS paths, prefixes) stay views
//! that decode as they are iterated.
//!
//! Only a message that [`UpdateView::new_checked`](crate::view::UpdateView::new_checked)
//! accepted is read this way, so every value is known to be well formed (RFC 4271 §6.3,
//! RFC 7606). Decoding still never panics: a value that does not have the shape its type
//! needs (which a checked message cannot contain) comes out as [`AttrRef::Raw`].

use std::fmt;
use std::marker::PhantomData;
use std::net::Ipv4Addr;
use std::slice::ChunksExact;

use bytes::Bytes;

use super::{
    Aggregator, AsPathView, AttrValue, Attribute, Community, ExtendedCommunity,
    Ipv6ExtendedCommunity, LargeCommunity, MpReach, MpUnreach, Origin, type_code,
};
use crate::ctx::Family;
use crate::nlri::NlriIter;
use crate::view::{MpReachView, RawAttribute};

mod sealed {
    pub trait Sealed {}
}

/// A fixed-size entry of a list attribute: a community (RFC 1997), an extended community
/// (RFC 4360), an IPv6 address specific extended community (RFC 5701), a large community
/// (RFC 8092) or a CLUSTER_LIST cluster ID (RFC 4456). Sealed.
pub trait ListItem: Sized + sealed::Sealed {
    /// Octets per entry.
    const LEN: usize;
    /// Decodes one entry from exactly [`LEN`](Self::LEN) octets (zero-filled if shorter,
    /// which [`ListView`] never passes).
    #[doc(hidden)]
    fn read_octets(b: &[u8]) -> Self;
}

fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    b.try_into().unwrap_or([0; N])
}

macro_rules! list_item {
    ($t:ty, $n:literal, |$a:ident| $e:expr) => {
        impl sealed::Sealed for $t {}
        impl ListItem for $t {
            const LEN: usize = $n;
            #[inline]
            fn read_octets(b: &[u8]) -> Self {
                let $a = array::<$n>(b);
                $e
            }
        }
    };
}

list_item!(Community, 4, |a| Community(u32::from_be_bytes(a)));
list_item!(Ipv4Addr, 4, |a| Ipv4Addr::from(a));
list_item!(ExtendedCommunity, 8, |a| ExtendedCommunity(a));
list_item!(Ipv6ExtendedCommunity, 20, |a| Ipv6ExtendedCommunity(a));
list_item!(LargeCommunity, 12, |a| LargeCommunity::from_octets(&a));

/// The entries of a list attribute, read in place.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ListView<'a, T> {
    v: &'a [u8],
    _t: PhantomData<fn() -> T>,
}

impl<'a, T: ListItem> ListView<'a, T> {
    fn new(v: &'a [u8]) -> Self {
        ListView { v, _t: PhantomData }
    }

    /// The entries, decoded one at a time.
    pub fn iter(&self) -> ListIter<'a, T> {
        ListIter {
            c: self.v.chunks_exact(T::LEN),
            _t: PhantomData,
        }
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.v.len() / T::LEN
    }

    /// Whether there is no entry (never the case in a checked message).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value octets.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.v
    }
}

impl<'a, T: ListItem> IntoIterator for ListView<'a, T> {
    type Item = T;
    type IntoIter = ListIter<'a, T>;

    fn into_iter(self) -> ListIter<'a, T> {
        self.iter()
    }
}

impl<T: ListItem + fmt::Debug> fmt::Debug for ListView<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The iterator of a [`ListView`].
#[derive(Clone, Debug)]
pub struct ListIter<'a, T> {
    c: ChunksExact<'a, u8>,
    _t: PhantomData<fn() -> T>,
}

impl<T: ListItem> Iterator for ListIter<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        self.c.next().map(T::read_octets)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.c.size_hint()
    }
}

impl<T: ListItem> ExactSizeIterator for ListIter<'_, T> {}

/// One path attribute value read in place: [`AttrValue`] without the allocations.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum AttrRef<'a> {
    /// ORIGIN.
    Origin(Origin),
    /// AS_PATH, with the session's AS number width.
    AsPath(AsPathView<'a>),
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
    Communities(ListView<'a, Community>),
    /// ORIGINATOR_ID.
    OriginatorId(Ipv4Addr),
    /// CLUSTER_LIST.
    ClusterList(ListView<'a, Ipv4Addr>),
    /// MP_REACH_NLRI of an IP family.
    MpReachNlri(MpReachView<'a>),
    /// MP_UNREACH_NLRI of an IP family: the family and the withdrawn prefixes.
    MpUnreachNlri(Family, NlriIter<'a>),
    /// EXTENDED COMMUNITIES.
    ExtendedCommunities(ListView<'a, ExtendedCommunity>),
    /// AS4_PATH (only on a 2-octet AS session; always 4-octet AS numbers).
    As4Path(AsPathView<'a>),
    /// AS4_AGGREGATOR (only on a 2-octet AS session).
    As4Aggregator(Aggregator),
    /// IPv6 Address Specific Extended Communities.
    Ipv6ExtendedCommunities(ListView<'a, Ipv6ExtendedCommunity>),
    /// LARGE_COMMUNITY.
    LargeCommunities(ListView<'a, LargeCommunity>),
    /// Only to Customer.
    Otc(u32),
    /// Any attribute not modelled above (or an MP attribute of a non-IP family), as on the
    /// wire: the same attributes [`AttrValue::Raw`] keeps.
    Raw(RawAttribute<'a>),
}

/// One path attribute of an [`UpdateView`](crate::view::UpdateView): its flags octet as
/// received and its value read in place.
#[derive(Clone, Debug)]
pub struct PathAttribute<'a> {
    /// The flags octet as received (see [`flags`](super::flags)).
    pub flags: u8,
    /// The value.
    pub value: AttrRef<'a>,
}

/// Session parameters that change how a checked attribute reads.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadCtx {
    /// 4-octet AS numbers in AS_PATH and AGGREGATOR (RFC 6793).
    pub(crate) four_octet_as: bool,
    /// ADD-PATH path identifiers in MP_REACH_NLRI's / MP_UNREACH_NLRI's prefixes (RFC 7911).
    pub(crate) add_path_reach: bool,
    pub(crate) add_path_unreach: bool,
}

fn be32(v: &[u8]) -> Option<u32> {
    v.first_chunk::<4>().map(|c| u32::from_be_bytes(*c))
}

fn aggregator(v: &[u8], four: bool) -> Option<Aggregator> {
    let (asn, addr) = if four {
        (be32(v)?, v.get(4..8)?)
    } else {
        (
            u32::from(u16::from_be_bytes(*v.first_chunk::<2>()?)),
            v.get(2..6)?,
        )
    };
    Some(Aggregator {
        asn,
        address: Ipv4Addr::from(array::<4>(addr)),
    })
}

impl<'a> AttrRef<'a> {
    /// Reads a checked attribute. Types are mapped exactly as the owned decoder maps them,
    /// so [`to_value`](Self::to_value) gives what [`Message::decode`](crate::Message::decode)
    /// gives.
    #[inline]
    pub(crate) fn read(a: RawAttribute<'a>, cx: ReadCtx) -> AttrRef<'a> {
        use type_code::*;
        let v = a.value;
        let raw = AttrRef::Raw(a);
        let u32_of = |f: fn(u32) -> AttrRef<'a>| be32(v).map_or(AttrRef::Raw(a), f);
        match a.type_code {
            ORIGIN => v.first().map_or(raw, |&o| AttrRef::Origin(Origin(o))),
            AS_PATH => AttrRef::AsPath(AsPathView::new(v, cx.four_octet_as)),
            AS4_PATH => AttrRef::As4Path(AsPathView::new(v, true)),
            NEXT_HOP => u32_of(|a| AttrRef::NextHop(Ipv4Addr::from(a))),
            MULTI_EXIT_DISC => u32_of(AttrRef::MultiExitDisc),
            LOCAL_PREF => u32_of(AttrRef::LocalPref),
            ORIGINATOR_ID => u32_of(|a| AttrRef::OriginatorId(Ipv4Addr::from(a))),
            OTC => u32_of(AttrRef::Otc),
            ATOMIC_AGGREGATE => AttrRef::AtomicAggregate,
            AGGREGATOR => aggregator(v, cx.four_octet_as).map_or(raw, AttrRef::Aggregator),
            AS4_AGGREGATOR => aggregator(v, true).map_or(raw, AttrRef::As4Aggregator),
            COMMUNITIES => AttrRef::Communities(ListView::new(v)),
            CLUSTER_LIST => AttrRef::ClusterList(ListView::new(v)),
            EXTENDED_COMMUNITIES => AttrRef::ExtendedCommunities(ListView::new(v)),
            IPV6_EXTENDED_COMMUNITIES => AttrRef::Ipv6ExtendedCommunities(ListView::new(v)),
            LARGE_COMMUNITY => AttrRef::LargeCommunities(ListView::new(v)),
            MP_REACH_NLRI => {
                MpReachView::read(v, cx.add_path_reach).map_or(raw, AttrRef::MpReachNlri)
            }
            MP_UNREACH_NLRI => crate::view::read_mp_unreach(v, cx.add_path_unreach)
                .map_or(raw, |(f, n)| AttrRef::MpUnreachNlri(f, n)),
            _ => raw,
        }
    }

    /// The type code.
    pub fn type_code(&self) -> u8 {
        use type_code::*;
        match self {
            AttrRef::Origin(_) => ORIGIN,
            AttrRef::AsPath(_) => AS_PATH,
            AttrRef::NextHop(_) => NEXT_HOP,
            AttrRef::MultiExitDisc(_) => MULTI_EXIT_DISC,
            AttrRef::LocalPref(_) => LOCAL_PREF,
            AttrRef::AtomicAggregate => ATOMIC_AGGREGATE,
            AttrRef::Aggregator(_) => AGGREGATOR,
            AttrRef::Communities(_) => COMMUNITIES,
            AttrRef::OriginatorId(_) => ORIGINATOR_ID,
            AttrRef::ClusterList(_) => CLUSTER_LIST,
            AttrRef::MpReachNlri(_) => MP_REACH_NLRI,
            AttrRef::MpUnreachNlri(..) => MP_UNREACH_NLRI,
            AttrRef::ExtendedCommunities(_) => EXTENDED_COMMUNITIES,
            AttrRef::As4Path(_) => AS4_PATH,
            AttrRef::As4Aggregator(_) => AS4_AGGREGATOR,
            AttrRef::Ipv6ExtendedCommunities(_) => IPV6_EXTENDED_COMMUNITIES,
            AttrRef::LargeCommunities(_) => LARGE_COMMUNITY,
            AttrRef::Otc(_) => OTC,
            AttrRef::Raw(r) => r.type_code,
        }
    }

    /// The owned value (allocates for lists and prefixes).
    pub fn to_value(&self) -> AttrValue {
        match self {
            AttrRef::Origin(o) => AttrValue::Origin(*o),
            AttrRef::AsPath(p) => AttrValue::AsPath(p.to_as_path()),
            AttrRef::NextHop(a) => AttrValue::NextHop(*a),
            AttrRef::MultiExitDisc(m) => AttrValue::MultiExitDisc(*m),
            AttrRef::LocalPref(l) => AttrValue::LocalPref(*l),
            AttrRef::AtomicAggregate => AttrValue::AtomicAggregate,
            AttrRef::Aggregator(a) => AttrValue::Aggregator(*a),
            AttrRef::Communities(c) => AttrValue::Communities(c.iter().collect()),
            AttrRef::OriginatorId(a) => AttrValue::OriginatorId(*a),
            AttrRef::ClusterList(c) => AttrValue::ClusterList(c.iter().collect()),
            AttrRef::MpReachNlri(m) => AttrValue::MpReachNlri(MpReach {
                family: m.family,
                next_hop: m.next_hop,
                nlri: m.nlri.clone().collect(),
            }),
            AttrRef::MpUnreachNlri(family, n) => AttrValue::MpUnreachNlri(MpUnreach {
                family: *family,
                withdrawn: n.clone().collect(),
            }),
            AttrRef::ExtendedCommunities(c) => AttrValue::ExtendedCommunities(c.iter().collect()),
            AttrRef::As4Path(p) => AttrValue::As4Path(p.to_as_path()),
            AttrRef::As4Aggregator(a) => AttrValue::As4Aggregator(*a),
            AttrRef::Ipv6ExtendedCommunities(c) => {
                AttrValue::Ipv6ExtendedCommunities(c.iter().collect())
            }
            AttrRef::LargeCommunities(c) => AttrValue::LargeCommunities(c.iter().collect()),
            AttrRef::Otc(a) => AttrValue::Otc(*a),
            AttrRef::Raw(r) => AttrValue::Raw {
                type_code: r.type_code,
                value: Bytes::copy_from_slice(r.value),
            },
        }
    }
}

impl PathAttribute<'_> {
    /// The owned attribute: what [`Message::decode`](crate::Message::decode) gives for it.
    pub fn to_attribute(&self) -> Attribute {
        Attribute {
            flags: self.flags,
            value: self.value.to_value(),
        }
    }
}
