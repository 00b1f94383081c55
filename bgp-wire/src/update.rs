//! UPDATE message (RFC 4271 §4.3) and its RFC 7606 error handling.
//!
//! ```text
//! +-----------------------------------------------------+
//! |   Withdrawn Routes Length (2 octets)                |
//! +-----------------------------------------------------+
//! |   Withdrawn Routes (variable)                       |
//! +-----------------------------------------------------+
//! |   Total Path Attribute Length (2 octets)            |
//! +-----------------------------------------------------+
//! |   Path Attributes (variable)                        |
//! +-----------------------------------------------------+
//! |   Network Layer Reachability Information (variable) |
//! +-----------------------------------------------------+
//! ```

use std::borrow::Cow;
use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use crate::attr::{
    Action, AsPath, AttrValue, Attribute, Community, LargeCommunity, MpReach, MpUnreach, Origin,
    type_code,
};
use crate::ctx::{DecodeCtx, EncodeCtx, Family};
use crate::cursor::Reader;
use crate::error::{AttributeListProblem, DecodeError, EncodeError, UpdateError};
use crate::header::HEADER_LEN;
use crate::message::{Finding, Verdict};
use crate::nlri::{self, Nlri};
use crate::notification::Notification;

/// An UPDATE message. IPv4 unicast prefixes travel in `withdrawn`/`nlri`, every other
/// family in the MP_REACH_NLRI / MP_UNREACH_NLRI attributes.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Update {
    /// Withdrawn Routes (IPv4 unicast).
    pub withdrawn: Vec<Nlri>,
    /// Path attributes, in received order.
    pub attributes: Vec<Attribute>,
    /// Network Layer Reachability Information (IPv4 unicast).
    pub nlri: Vec<Nlri>,
}

impl Update {
    /// An empty UPDATE (which is also the IPv4 unicast End-of-RIB marker).
    pub fn new() -> Self {
        Update::default()
    }

    /// The End-of-RIB marker for `family` (RFC 4724 §2): an empty UPDATE for IPv4 unicast,
    /// otherwise an UPDATE with only an empty MP_UNREACH_NLRI.
    pub fn end_of_rib(family: Family) -> Self {
        if family == Family::IPV4_UNICAST {
            return Update::new();
        }
        let value = if family.has_ip_prefixes() {
            AttrValue::MpUnreachNlri(MpUnreach {
                family,
                withdrawn: Vec::new(),
            })
        } else {
            let mut v = BytesMut::with_capacity(3);
            v.put_u16(family.afi.0);
            v.put_u8(family.safi.0);
            AttrValue::Raw {
                type_code: type_code::MP_UNREACH_NLRI,
                value: v.freeze(),
            }
        };
        Update::new().with_attribute(Attribute {
            flags: crate::attr::flags::OPTIONAL,
            value,
        })
    }

    /// The family whose End-of-RIB this UPDATE is, if it is one (RFC 4724 §2).
    pub fn is_end_of_rib(&self) -> Option<Family> {
        if !self.withdrawn.is_empty() || !self.nlri.is_empty() {
            return None;
        }
        match self.attributes.as_slice() {
            [] => Some(Family::IPV4_UNICAST),
            [a] => match &a.value {
                AttrValue::MpUnreachNlri(m) if m.withdrawn.is_empty() => Some(m.family),
                v => match v.raw_mp_family() {
                    Some((type_code::MP_UNREACH_NLRI, f, 3)) => Some(f),
                    _ => None,
                },
            },
            _ => None,
        }
    }

    /// Appends an attribute.
    #[must_use]
    pub fn with_attribute(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }

    /// Appends an attribute with canonical flags.
    #[must_use]
    pub fn with(self, v: AttrValue) -> Self {
        self.with_attribute(Attribute::new(v))
    }

    /// Appends IPv4 unicast prefixes to the NLRI field.
    #[must_use]
    pub fn with_nlri(mut self, n: impl IntoIterator<Item = Nlri>) -> Self {
        self.nlri.extend(n);
        self
    }

    /// Appends IPv4 unicast prefixes to the Withdrawn Routes field.
    #[must_use]
    pub fn with_withdrawn(mut self, n: impl IntoIterator<Item = Nlri>) -> Self {
        self.withdrawn.extend(n);
        self
    }

    /// The first attribute with this type code.
    pub fn attribute(&self, t: u8) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.type_code() == t)
    }

    fn value(&self, t: u8) -> Option<&AttrValue> {
        self.attribute(t).map(|a| &a.value)
    }

    /// ORIGIN.
    pub fn origin(&self) -> Option<Origin> {
        match self.value(type_code::ORIGIN)? {
            AttrValue::Origin(o) => Some(*o),
            _ => None,
        }
    }

    /// AS_PATH as received.
    pub fn as_path(&self) -> Option<&AsPath> {
        match self.value(type_code::AS_PATH)? {
            AttrValue::AsPath(p) => Some(p),
            _ => None,
        }
    }

    /// The AS path to use: AS_PATH merged with AS4_PATH per RFC 6793 §4.2.3 when an
    /// AS4_PATH is present and the AGGREGATOR (if any) carries AS_TRANS.
    pub fn effective_as_path(&self) -> Option<Cow<'_, AsPath>> {
        let p = self.as_path()?;
        let as4 = match self.value(type_code::AS4_PATH) {
            Some(AttrValue::As4Path(p4)) => p4,
            _ => return Some(Cow::Borrowed(p)),
        };
        // RFC 6793 §4.2.3: an AGGREGATOR other than AS_TRANS means AS4_PATH is ignored.
        if let Some(AttrValue::Aggregator(a)) = self.value(type_code::AGGREGATOR)
            && a.asn != u32::from(crate::open::AS_TRANS)
        {
            return Some(Cow::Borrowed(p));
        }
        Some(Cow::Owned(AsPath::merge_as4(p, as4)))
    }

    /// NEXT_HOP.
    pub fn next_hop(&self) -> Option<Ipv4Addr> {
        match self.value(type_code::NEXT_HOP)? {
            AttrValue::NextHop(a) => Some(*a),
            _ => None,
        }
    }

    /// MULTI_EXIT_DISC.
    pub fn multi_exit_disc(&self) -> Option<u32> {
        match self.value(type_code::MULTI_EXIT_DISC)? {
            AttrValue::MultiExitDisc(v) => Some(*v),
            _ => None,
        }
    }

    /// LOCAL_PREF.
    pub fn local_pref(&self) -> Option<u32> {
        match self.value(type_code::LOCAL_PREF)? {
            AttrValue::LocalPref(v) => Some(*v),
            _ => None,
        }
    }

    /// COMMUNITIES (empty when absent).
    pub fn communities(&self) -> &[Community] {
        match self.value(type_code::COMMUNITIES) {
            Some(AttrValue::Communities(c)) => c,
            _ => &[],
        }
    }

    /// LARGE_COMMUNITY (empty when absent).
    pub fn large_communities(&self) -> &[LargeCommunity] {
        match self.value(type_code::LARGE_COMMUNITY) {
            Some(AttrValue::LargeCommunities(c)) => c,
            _ => &[],
        }
    }

    /// MP_REACH_NLRI of an IP family.
    pub fn mp_reach(&self) -> Option<&MpReach> {
        match self.value(type_code::MP_REACH_NLRI)? {
            AttrValue::MpReachNlri(m) => Some(m),
            _ => None,
        }
    }

    /// MP_UNREACH_NLRI of an IP family.
    pub fn mp_unreach(&self) -> Option<&MpUnreach> {
        match self.value(type_code::MP_UNREACH_NLRI)? {
            AttrValue::MpUnreachNlri(m) => Some(m),
            _ => None,
        }
    }

    /// Every reachable prefix with its family: the NLRI field, then MP_REACH_NLRI.
    pub fn announced(&self) -> impl Iterator<Item = (Family, &Nlri)> + '_ {
        let v4 = self.nlri.iter().map(|n| (Family::IPV4_UNICAST, n));
        let mp = self
            .mp_reach()
            .into_iter()
            .flat_map(|m| m.nlri.iter().map(move |n| (m.family, n)));
        v4.chain(mp)
    }

    /// Every withdrawn prefix with its family: Withdrawn Routes, then MP_UNREACH_NLRI.
    pub fn withdrawals(&self) -> impl Iterator<Item = (Family, &Nlri)> + '_ {
        let v4 = self.withdrawn.iter().map(|n| (Family::IPV4_UNICAST, n));
        let mp = self
            .mp_unreach()
            .into_iter()
            .flat_map(|m| m.withdrawn.iter().map(move |n| (m.family, n)));
        v4.chain(mp)
    }

    /// Decodes an UPDATE body with RFC 7606 error handling.
    pub(crate) fn decode_body(body: &[u8], ctx: &DecodeCtx) -> (Option<Update>, Verdict) {
        match decode(body, ctx) {
            Ok(r) => r,
            Err(e) => {
                let error = DecodeError::Update(e);
                (
                    None,
                    Verdict::SessionReset {
                        notification: Notification::from(&error),
                        error,
                    },
                )
            }
        }
    }

    pub(crate) fn body_len(&self, ctx: &EncodeCtx) -> usize {
        4 + nlri::encoded_len(&self.withdrawn)
            + self
                .attributes
                .iter()
                .map(|a| a.encoded_len(ctx))
                .sum::<usize>()
            + nlri::encoded_len(&self.nlri)
    }

    pub(crate) fn emit_body(&self, ctx: &EncodeCtx, out: &mut BytesMut) -> Result<(), EncodeError> {
        let ap = ctx.add_path(Family::IPV4_UNICAST);
        let wlen = nlri::encoded_len(&self.withdrawn);
        let tlen: usize = self.attributes.iter().map(|a| a.encoded_len(ctx)).sum();
        for (what, length) in [("withdrawn routes", wlen), ("path attributes", tlen)] {
            if length > usize::from(u16::MAX) {
                return Err(EncodeError::FieldTooLong { what, length });
            }
        }
        out.put_u16(wlen as u16);
        nlri::emit(&self.withdrawn, false, ap, out)?;
        out.put_u16(tlen as u16);
        for a in &self.attributes {
            a.emit(ctx, out)?;
        }
        nlri::emit(&self.nlri, false, ap, out)
    }
}

/// A 256-bit set of attribute type codes.
#[derive(Default)]
struct TypeSet([u64; 4]);

impl TypeSet {
    fn insert(&mut self, t: u8) -> bool {
        let (w, b) = (usize::from(t >> 6), 1u64 << (t & 63));
        let fresh = self.0[w] & b == 0;
        self.0[w] |= b;
        fresh
    }

    fn contains(&self, t: u8) -> bool {
        self.0[usize::from(t >> 6)] & (1u64 << (t & 63)) != 0
    }
}

/// Number of attributes in a Path Attributes field (a walk of the headers), so the
/// attribute `Vec` is allocated once and exactly. Bounded by the input: each attribute
/// takes at least 3 octets.
fn count_attributes(b: &[u8]) -> usize {
    let (mut i, mut n) = (0usize, 0usize);
    while i + 3 <= b.len() {
        let ext = b[i] & crate::attr::flags::EXTENDED_LENGTH != 0;
        let len = if ext {
            match b.get(i + 2..i + 4) {
                Some(l) => 4 + usize::from(u16::from_be_bytes([l[0], l[1]])),
                None => break,
            }
        } else {
            3 + usize::from(b[i + 2])
        };
        i += len;
        n += 1;
    }
    n
}

fn network_error(e: nlri::PrefixError) -> UpdateError {
    UpdateError::InvalidNetworkField {
        offset: e.offset,
        prefix_len: e.prefix_len,
    }
}

fn list_error(offset: usize, problem: AttributeListProblem, type_code: Option<u8>) -> UpdateError {
    UpdateError::MalformedAttributeList {
        offset,
        problem,
        type_code,
    }
}

type Findings = Vec<(Action, Finding)>;

/// Where the attributes a zero-copy reader looks up are: absolute offsets of the AS_PATH,
/// MP_REACH_NLRI and MP_UNREACH_NLRI attribute headers (0 when absent).
#[derive(Clone, Copy, Default, Debug)]
pub(crate) struct Layout {
    /// Which attributes are present (see [`presence_bit`]).
    pub(crate) present: u16,
    pub(crate) as_path: u16,
    pub(crate) mp_reach: u16,
    pub(crate) mp_unreach: u16,
}

/// The bit for type `t` in [`Layout::present`]: bit `t` for types 1-15, bit 0 for
/// LARGE_COMMUNITY, 0 (not tracked) for the others.
#[inline]
pub(crate) fn presence_bit(t: u8) -> u16 {
    match t {
        1..=15 => 1 << t,
        type_code::LARGE_COMMUNITY => 1,
        _ => 0,
    }
}

/// RFC 4271 §6.3 + RFC 7606. `Err` is a session reset.
fn decode(body: &[u8], ctx: &DecodeCtx) -> Result<(Option<Update>, Verdict), UpdateError> {
    let (update, findings, _) = walk::<true>(body, ctx)?;
    // RFC 7606 §3 g: the strongest approach wins.
    let verdict = match findings.iter().map(|f| f.0).max() {
        None => Verdict::Accepted,
        Some(Action::AttributeDiscard) => Verdict::AttributesDiscarded {
            which: findings.into_iter().map(|f| f.1).collect(),
        },
        Some(_) => {
            let mut prefixes: Vec<(Family, Nlri)> =
                update.withdrawals().map(|(f, n)| (f, *n)).collect();
            prefixes.extend(update.announced().map(|(f, n)| (f, *n)));
            Verdict::TreatAsWithdraw {
                prefixes,
                why: findings.into_iter().map(|f| f.1).collect(),
            }
        }
    };
    Ok((Some(update), verdict))
}

/// Checks every field and attribute of an UPDATE body and collects the RFC 7606 findings;
/// with `BUILD` it also materialises the [`Update`] (otherwise it stays empty and nothing
/// is allocated for a clean message). `Err` is a session reset.
fn walk<const BUILD: bool>(
    body: &[u8],
    ctx: &DecodeCtx,
) -> Result<(Update, Findings, Layout), UpdateError> {
    let mut r = Reader::new(body, HEADER_LEN);
    let ap4 = ctx.add_path(Family::IPV4_UNICAST);
    // RFC 4271 §6.3: Withdrawn Routes Length must leave room for the 2-octet Total Path
    // Attribute Length.
    let wlen = usize::from(r.u16().ok_or(list_error(
        HEADER_LEN,
        AttributeListProblem::WithdrawnRoutesLength,
        None,
    ))?);
    if wlen + 2 > r.remaining() {
        return Err(list_error(
            HEADER_LEN,
            AttributeListProblem::WithdrawnRoutesLength,
            None,
        ));
    }
    let woff = r.offset();
    let wfield = r.take(wlen).unwrap_or_default();
    // RFC 7606 §3 h, §5.3: Withdrawn Routes are checked like NLRI; errors reset.
    let mut withdrawn = Vec::new();
    if BUILD {
        nlri::parse(wfield, woff, false, ap4, &mut withdrawn).map_err(network_error)?;
    } else {
        nlri::check(wfield, woff, false, ap4).map_err(network_error)?;
    }
    let toff = r.offset();
    let tlen = usize::from(r.u16().unwrap_or(0));
    // RFC 7606 §4: a Total Path Attribute Length that overruns the message resets.
    let Some(mut a) = r.sub(tlen) else {
        return Err(list_error(
            toff,
            AttributeListProblem::TotalPathAttributeLength,
            None,
        ));
    };
    let noff = r.offset();
    let mut nlri_v = Vec::new();
    let reach = if BUILD {
        nlri::parse(r.rest(), noff, false, ap4, &mut nlri_v).map_err(network_error)?;
        !nlri_v.is_empty()
    } else {
        nlri::check(r.rest(), noff, false, ap4).map_err(network_error)? > 0
    };

    let mut attributes = Vec::with_capacity(if BUILD { count_attributes(a.rest()) } else { 0 });
    let mut findings: Findings = Vec::new();
    let mut seen = TypeSet::default();
    let mut mp_reach = false;
    let mut layout = Layout::default();
    while !a.is_empty() {
        let off = a.offset();
        let start = off - HEADER_LEN;
        let overrun = |t: Option<u8>| {
            (
                Action::TreatAsWithdraw,
                Finding {
                    type_code: t,
                    error: list_error(off, AttributeListProblem::AttributeOverrun, t),
                },
            )
        };
        // RFC 7606 §4: fewer than 3 (4 with Extended Length) octets left, or a length that
        // overruns the attributes: treat-as-withdraw, and stop parsing attributes.
        if a.remaining() < 3 {
            findings.push(overrun(None));
            break;
        }
        let fl = a.u8().unwrap_or(0);
        let t = a.u8().unwrap_or(0);
        let len = if fl & crate::attr::flags::EXTENDED_LENGTH != 0 {
            a.u16()
        } else {
            a.u8().map(u16::from)
        };
        let voff = a.offset();
        let Some(value) = len.and_then(|l| a.take(usize::from(l))) else {
            findings.push(overrun(Some(t)));
            break;
        };
        let whole = &body[start..a.offset() - HEADER_LEN];
        if t == type_code::MP_REACH_NLRI {
            mp_reach = true;
        }
        // RFC 7606 §3 g: a repeated MP attribute resets; other repeats are discarded.
        if !seen.insert(t) {
            if matches!(t, type_code::MP_REACH_NLRI | type_code::MP_UNREACH_NLRI) {
                return Err(list_error(off, AttributeListProblem::Duplicate, Some(t)));
            }
            findings.push((
                Action::AttributeDiscard,
                Finding {
                    type_code: Some(t),
                    error: list_error(off, AttributeListProblem::Duplicate, Some(t)),
                },
            ));
            continue;
        }
        layout.present |= presence_bit(t);
        // Offsets fit: a message is at most 65535 octets.
        match t {
            type_code::AS_PATH => layout.as_path = off as u16,
            type_code::MP_REACH_NLRI => layout.mp_reach = off as u16,
            type_code::MP_UNREACH_NLRI => layout.mp_unreach = off as u16,
            _ => {}
        }
        // RFC 6793 §3: AS4_PATH / AS4_AGGREGATOR between two NEW speakers are discarded.
        if ctx.four_octet_as() && matches!(t, type_code::AS4_PATH | type_code::AS4_AGGREGATOR) {
            findings.push((
                Action::AttributeDiscard,
                Finding {
                    type_code: Some(t),
                    error: UpdateError::UnexpectedAttribute {
                        offset: off,
                        type_code: t,
                    },
                },
            ));
            continue;
        }
        // The common attributes, well-formed, decode straight into the list.
        if Attribute::decode_common::<BUILD>(fl, t, value, voff, ctx, &mut attributes) {
            continue;
        }
        match Attribute::parse(fl, t, value, whole, off, voff, ctx, BUILD) {
            Ok(Some(at)) => attributes.push(at),
            Ok(None) => {}
            Err(f) if f.action == Action::SessionReset => return Err(f.error),
            Err(f) => findings.push((
                f.action,
                Finding {
                    type_code: Some(t),
                    error: f.error,
                },
            )),
        }
    }

    // RFC 7606 §3 d / RFC 4760 §3: mandatory attributes when there is something to reach.
    if reach || mp_reach {
        let next_hop = if !reach {
            None
        } else {
            Some(type_code::NEXT_HOP)
        };
        for t in [Some(type_code::ORIGIN), Some(type_code::AS_PATH), next_hop]
            .into_iter()
            .flatten()
        {
            if !seen.contains(t) {
                findings.push((
                    Action::TreatAsWithdraw,
                    Finding {
                        type_code: Some(t),
                        error: UpdateError::MissingWellKnownAttribute { type_code: t },
                    },
                ));
            }
        }
    }

    let update = Update {
        withdrawn,
        attributes,
        nlri: nlri_v,
    };
    Ok((update, findings, layout))
}

/// The layout of an UPDATE body that decodes with the verdict [`Verdict::Accepted`], `None`
/// for any other; allocates nothing for a clean message (the check behind
/// [`UpdateView`](crate::view::UpdateView)).
pub(crate) fn check_clean(body: &[u8], ctx: &DecodeCtx) -> Option<Layout> {
    match walk::<false>(body, ctx) {
        Ok((_, f, layout)) if f.is_empty() => Some(layout),
        _ => None,
    }
}
