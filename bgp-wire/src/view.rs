//! [`UpdateView`]: a checked, zero-copy view of an UPDATE message (style rule 7), for hot
//! paths that read each UPDATE once (a full-table load, a route collector).
//!
//! [`UpdateView::new_checked`] runs exactly the checks of [`Message::decode`] (RFC 4271
//! §6.3, RFC 7606) without allocating. A clean UPDATE gives a view whose accessors decode
//! fields in place and never panic; anything else (a discarded attribute, treat-as-withdraw,
//! a session reset, or another message type) gives the owned [`Decoded`] result instead,
//! so the verdicts are the same on both paths.
//!
//! Two ways to read it: accessors that look one attribute up ([`UpdateView::origin`],
//! [`UpdateView::as_path`], [`UpdateView::mp_reach`], ...), or
//! [`UpdateView::path_attributes`], one pass that yields every attribute typed
//! ([`AttrRef`]), for a consumer that reads them all.
//!
//! ```
//! use bgp_wire::attr::AttrRef;
//! use bgp_wire::{DecodeCtx, UpdateView};
//!
//! // An UPDATE: ORIGIN IGP, AS_PATH 65001, NEXT_HOP 192.0.2.1, NLRI 10.0.0.0/8.
//! let msg: Vec<u8> = [[0xff; 16].as_slice(), &[0, 45, 2, 0, 0, 0, 20],
//!     &[0x40, 1, 1, 0], &[0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9],
//!     &[0x40, 3, 4, 192, 0, 2, 1], &[8, 10]].concat();
//! let view = UpdateView::new_checked(&msg[..], &DecodeCtx::modern()).expect("clean");
//! let mut asns = Vec::new();
//! for a in view.path_attributes() {
//!     if let AttrRef::AsPath(p) = a.value {
//!         asns.extend(p.asns());
//!     }
//! }
//! assert_eq!(asns, [65001]);
//! assert_eq!(view.nlri().map(|n| n.prefix.to_string()).collect::<Vec<_>>(), ["10.0.0.0/8"]);
//! ```

use std::net::Ipv4Addr;

use crate::attr::view::ReadCtx;
use crate::attr::{
    AsPathView, AttrRef, Community, LargeCommunity, MpReach, NextHop, Origin, PathAttribute, flags,
    mp, type_code,
};
use crate::ctx::{Afi, DecodeCtx, Family};
use crate::header::{HEADER_LEN, Header, MessageType};
use crate::message::{Decoded, Message, Verdict};
use crate::nlri::{Nlri, NlriIter};
use crate::update;

/// A checked UPDATE message read in place. `B` is the whole message (header included),
/// e.g. `&[u8]` or `bytes::Bytes`; keeping a view keeps only `B` and a few offsets.
#[derive(Clone, Debug)]
pub struct UpdateView<B> {
    buf: B,
    /// Which attributes are present (`update::presence_bit`), so looking up an absent one
    /// costs no walk of the list.
    present: u16,
    /// Offsets of the AS_PATH and MP_REACH_NLRI attribute headers (0: absent), so the two
    /// attributes every consumer reads are found without walking the list. Together with
    /// `present` and `bits` they fit in the padding after a `Bytes` (a view is 40 octets);
    /// the NLRI offset is read from the message.
    as_path_at: u16,
    mp_reach_at: u16,
    /// Bit 0: 4-octet AS; bits 1-3: ADD-PATH for IPv4 unicast, MP_REACH, MP_UNREACH.
    bits: u8,
}

const FOUR: u8 = 1;
const AP_V4: u8 = 2;
const AP_REACH: u8 = 4;
const AP_UNREACH: u8 = 8;

/// One path attribute as it is on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct RawAttribute<'a> {
    /// The flags octet as received.
    pub flags: u8,
    /// The type code.
    pub type_code: u8,
    /// The value octets.
    pub value: &'a [u8],
}

/// The path attributes of an [`UpdateView`], in received order.
#[derive(Clone, Debug)]
pub struct RawAttributes<'a> {
    b: &'a [u8],
}

impl<'a> Iterator for RawAttributes<'a> {
    type Item = RawAttribute<'a>;

    #[inline]
    fn next(&mut self) -> Option<RawAttribute<'a>> {
        let (&[fl, t], rest) = self.b.split_first_chunk::<2>()?;
        let (len, rest) = if fl & flags::EXTENDED_LENGTH != 0 {
            let (l, rest) = rest.split_first_chunk::<2>()?;
            (usize::from(u16::from_be_bytes(*l)), rest)
        } else {
            let (l, rest) = rest.split_first()?;
            (usize::from(*l), rest)
        };
        let (value, rest) = rest.split_at_checked(len)?;
        self.b = rest;
        Some(RawAttribute {
            flags: fl,
            type_code: t,
            value,
        })
    }
}

/// The MP_REACH_NLRI of an [`UpdateView`] (IP families only).
#[derive(Clone, Debug)]
pub struct MpReachView<'a> {
    /// The family.
    pub family: Family,
    /// The next hop.
    pub next_hop: NextHop,
    /// The reachable prefixes.
    pub nlri: NlriIter<'a>,
}

impl<'a> MpReachView<'a> {
    /// Reads a checked MP_REACH_NLRI value; `None` for a family whose NLRI are not IP
    /// prefixes.
    pub(crate) fn read(v: &'a [u8], add_path: bool) -> Option<Self> {
        let (family, next_hop, start) = MpReach::header(v).ok()?;
        if !family.has_ip_prefixes() {
            return None;
        }
        Some(MpReachView {
            family,
            next_hop,
            nlri: NlriIter::new(v.get(start..)?, family.afi == Afi::IPV6, add_path),
        })
    }
}

/// Reads a checked MP_UNREACH_NLRI value: the family and its withdrawn prefixes; `None`
/// for a family whose NLRI are not IP prefixes.
pub(crate) fn read_mp_unreach(v: &[u8], add_path: bool) -> Option<(Family, NlriIter<'_>)> {
    let family = mp::peek_family(v).filter(|f| f.has_ip_prefixes())?;
    let v6 = family.afi == Afi::IPV6;
    Some((family, NlriIter::new(v.get(3..)?, v6, add_path)))
}

/// Offset of the Total Path Attribute Length field of an UPDATE (0 if too short).
#[inline]
fn attrs_len_at(b: &[u8]) -> usize {
    b.get(HEADER_LEN..HEADER_LEN + 2).map_or(0, |w| {
        HEADER_LEN + 2 + usize::from(u16::from_be_bytes([w[0], w[1]]))
    })
}

fn be32(v: &[u8]) -> Option<u32> {
    v.first_chunk::<4>().map(|c| u32::from_be_bytes(*c))
}

impl<B: AsRef<[u8]>> UpdateView<B> {
    /// Checks `buf` (one whole message, header included) like [`Message::decode`]. A clean
    /// UPDATE (verdict [`Verdict::Accepted`]) gives the view; anything else gives the
    /// owned decoding result with its verdict.
    #[allow(clippy::result_large_err)]
    pub fn new_checked(buf: B, ctx: &DecodeCtx) -> Result<Self, Decoded> {
        let b = buf.as_ref();
        let layout = match Header::parse(b, ctx.max_message_len()) {
            Ok(h) if h.msg_type == MessageType::UPDATE && usize::from(h.length) == b.len() => {
                update::check_clean(&b[HEADER_LEN..], ctx)
            }
            _ => None,
        };
        let Some(layout) = layout else {
            return Err(Message::decode(b, ctx));
        };
        let mut v = UpdateView {
            buf,
            present: layout.present,
            as_path_at: layout.as_path,
            mp_reach_at: layout.mp_reach,
            bits: 0,
        };
        let ap = |at: u16| {
            v.attribute_at(at)
                .and_then(|a| mp::peek_family(a.value))
                .is_some_and(|f| ctx.add_path(f))
        };
        let mut bits = 0;
        if ctx.four_octet_as() {
            bits |= FOUR;
        }
        if ctx.add_path(Family::IPV4_UNICAST) {
            bits |= AP_V4;
        }
        if ap(layout.mp_reach) {
            bits |= AP_REACH;
        }
        if ap(layout.mp_unreach) {
            bits |= AP_UNREACH;
        }
        v.bits = bits;
        Ok(v)
    }

    /// The whole message, header included.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> B {
        self.buf
    }

    fn field(&self, from: usize, to: usize) -> &[u8] {
        self.as_bytes().get(from..to).unwrap_or_default()
    }

    /// The attribute whose header is at `at` (0: absent).
    fn attribute_at(&self, at: u16) -> Option<RawAttribute<'_>> {
        if at == 0 {
            return None;
        }
        RawAttributes {
            b: self.field(usize::from(at), self.nlri_at()),
        }
        .next()
    }

    /// Withdrawn Routes (IPv4 unicast).
    pub fn withdrawn(&self) -> NlriIter<'_> {
        let f = self.field(HEADER_LEN + 2, attrs_len_at(self.as_bytes()));
        NlriIter::new(f, false, self.bits & AP_V4 != 0)
    }

    /// Network Layer Reachability Information (IPv4 unicast).
    pub fn nlri(&self) -> NlriIter<'_> {
        let b = self.as_bytes();
        NlriIter::new(
            b.get(self.nlri_at()..).unwrap_or_default(),
            false,
            self.bits & AP_V4 != 0,
        )
    }

    /// The path attributes in received order.
    pub fn attributes(&self) -> RawAttributes<'_> {
        RawAttributes {
            b: self.field(attrs_len_at(self.as_bytes()) + 2, self.nlri_at()),
        }
    }

    /// Offset of the NLRI field (the length fields were checked).
    #[inline]
    fn nlri_at(&self) -> usize {
        let b = self.as_bytes();
        let a = attrs_len_at(b);
        b.get(a..a + 2).map_or(b.len(), |l| {
            a + 2 + usize::from(u16::from_be_bytes([l[0], l[1]]))
        })
    }

    /// The attribute with this type code (a clean UPDATE has at most one).
    pub fn attribute(&self, t: u8) -> Option<RawAttribute<'_>> {
        let bit = update::presence_bit(t);
        if bit != 0 && self.present & bit == 0 {
            return None;
        }
        self.attributes().find(|a| a.type_code == t)
    }

    fn value(&self, t: u8) -> Option<&[u8]> {
        self.attribute(t).map(|a| a.value)
    }

    /// ORIGIN.
    pub fn origin(&self) -> Option<Origin> {
        self.value(type_code::ORIGIN)?.first().map(|&o| Origin(o))
    }

    /// AS_PATH as received, with the session's AS number width.
    pub fn as_path(&self) -> Option<AsPathView<'_>> {
        let v = self.attribute_at(self.as_path_at)?.value;
        Some(AsPathView::new(v, self.bits & FOUR != 0))
    }

    /// NEXT_HOP.
    pub fn next_hop(&self) -> Option<Ipv4Addr> {
        be32(self.value(type_code::NEXT_HOP)?).map(Ipv4Addr::from)
    }

    /// MULTI_EXIT_DISC.
    pub fn multi_exit_disc(&self) -> Option<u32> {
        be32(self.value(type_code::MULTI_EXIT_DISC)?)
    }

    /// LOCAL_PREF.
    pub fn local_pref(&self) -> Option<u32> {
        be32(self.value(type_code::LOCAL_PREF)?)
    }

    /// COMMUNITIES (empty when absent).
    pub fn communities(&self) -> impl Iterator<Item = Community> + '_ {
        let v = self.value(type_code::COMMUNITIES).unwrap_or_default();
        v.as_chunks::<4>()
            .0
            .iter()
            .map(|c| Community(u32::from_be_bytes(*c)))
    }

    /// LARGE_COMMUNITY (empty when absent).
    pub fn large_communities(&self) -> impl Iterator<Item = LargeCommunity> + '_ {
        let v = self.value(type_code::LARGE_COMMUNITY).unwrap_or_default();
        v.as_chunks::<12>()
            .0
            .iter()
            .map(LargeCommunity::from_octets)
    }

    /// MP_REACH_NLRI of an IP family.
    pub fn mp_reach(&self) -> Option<MpReachView<'_>> {
        let v = self.attribute_at(self.mp_reach_at)?.value;
        MpReachView::read(v, self.bits & AP_REACH != 0)
    }

    /// MP_UNREACH_NLRI of an IP family: the family and the withdrawn prefixes.
    pub fn mp_unreach(&self) -> Option<(Family, NlriIter<'_>)> {
        read_mp_unreach(
            self.value(type_code::MP_UNREACH_NLRI)?,
            self.bits & AP_UNREACH != 0,
        )
    }

    /// Every path attribute in received order, each decoded in place: one pass over the
    /// list for a consumer that reads them all (a route collector, a full-table load),
    /// where the accessors above look each one up. [`PathAttribute::to_attribute`] gives
    /// the owned attribute [`Message::decode`] would have produced.
    pub fn path_attributes(&self) -> impl Iterator<Item = PathAttribute<'_>> + '_ {
        let cx = ReadCtx {
            four_octet_as: self.bits & FOUR != 0,
            add_path_reach: self.bits & AP_REACH != 0,
            add_path_unreach: self.bits & AP_UNREACH != 0,
        };
        self.attributes().map(move |a| PathAttribute {
            flags: a.flags,
            value: AttrRef::read(a, cx),
        })
    }

    /// Every reachable prefix with its family: the NLRI field, then MP_REACH_NLRI.
    pub fn announced(&self) -> impl Iterator<Item = (Family, Nlri)> + '_ {
        let v4 = self.nlri().map(|n| (Family::IPV4_UNICAST, n));
        let mp = self
            .mp_reach()
            .into_iter()
            .flat_map(|m| m.nlri.map(move |n| (m.family, n)));
        v4.chain(mp)
    }

    /// Every withdrawn prefix with its family: Withdrawn Routes, then MP_UNREACH_NLRI.
    pub fn withdrawals(&self) -> impl Iterator<Item = (Family, Nlri)> + '_ {
        let v4 = self.withdrawn().map(|n| (Family::IPV4_UNICAST, n));
        let mp = self
            .mp_unreach()
            .into_iter()
            .flat_map(|(f, it)| it.map(move |n| (f, n)));
        v4.chain(mp)
    }

    /// The owned [`Update`](crate::Update): what [`Message::decode`] gives for the same
    /// bytes. `ctx` must be the context the view was checked with.
    pub fn to_update(&self, ctx: &DecodeCtx) -> Option<crate::Update> {
        match Message::decode(self.as_bytes(), ctx) {
            Decoded {
                message: Some(Message::Update(u)),
                verdict: Verdict::Accepted,
            } => Some(u),
            _ => None,
        }
    }
}
