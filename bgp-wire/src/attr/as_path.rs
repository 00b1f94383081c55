//! AS_PATH (RFC 4271 §4.3, §5.1.2) and AS4_PATH (RFC 6793 §3), and the RFC 6793 §4.2.3
//! merge of the two.
//!
//! ```text
//! +-----------------+-----------------+------------------------------+
//! | segment type (1)| segment len (1) | AS numbers (2 or 4 octets each) |
//! +-----------------+-----------------+------------------------------+
//! ```

use bytes::{BufMut, BytesMut};
use smallvec::SmallVec;

use crate::error::EncodeError;
use crate::open::AS_TRANS;

/// Path segment type (RFC 4271 §4.3, RFC 5065 §3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SegmentType(pub u8);

impl SegmentType {
    /// Unordered set of ASes.
    pub const AS_SET: SegmentType = SegmentType(1);
    /// Ordered sequence of ASes.
    pub const AS_SEQUENCE: SegmentType = SegmentType(2);
    /// Confederation sequence (RFC 5065).
    pub const AS_CONFED_SEQUENCE: SegmentType = SegmentType(3);
    /// Confederation set (RFC 5065).
    pub const AS_CONFED_SET: SegmentType = SegmentType(4);

    /// Whether this is one of the four defined types.
    pub fn is_known(self) -> bool {
        (1..=4).contains(&self.0)
    }

    fn is_confed(self) -> bool {
        matches!(self, Self::AS_CONFED_SEQUENCE | Self::AS_CONFED_SET)
    }
}

/// The AS numbers of one segment: up to 8 are stored inline, so decoding a typical path
/// allocates nothing (longer segments spill to the heap). Build one from a `Vec` or an
/// array with `.into()`, or with [`Segment::sequence`]/[`Segment::set`].
pub type AsNumbers = SmallVec<[u32; 8]>;

/// The segments of a path: one (the usual shape) is stored inline.
pub type SegmentList = SmallVec<[Segment; 1]>;

/// One path segment.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Segment {
    /// Segment type.
    pub kind: SegmentType,
    /// AS numbers (1 to 255 of them on the wire).
    pub asns: AsNumbers,
}

impl Segment {
    /// An AS_SEQUENCE.
    pub fn sequence(asns: impl Into<Vec<u32>>) -> Self {
        Segment {
            kind: SegmentType::AS_SEQUENCE,
            asns: asns.into().into_iter().collect(),
        }
    }

    /// An AS_SET.
    pub fn set(asns: impl Into<Vec<u32>>) -> Self {
        Segment {
            kind: SegmentType::AS_SET,
            asns: asns.into().into_iter().collect(),
        }
    }

    /// Contribution to the path length (RFC 4271 §9.1.2.2 a, RFC 5065 §5.3).
    fn path_len(&self) -> usize {
        match self.kind {
            SegmentType::AS_SET => 1,
            k if k.is_confed() => 0,
            _ => self.asns.len(),
        }
    }
}

/// An AS_PATH or AS4_PATH value: a list of segments, possibly empty.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AsPath {
    /// The segments, first is the most recent.
    pub segments: SegmentList,
}

/// Where an AS path is malformed.
pub(crate) struct AsPathError {
    /// Offset relative to the start of the value.
    pub(crate) at: usize,
}

/// The segment at `v[i..]`: its type, its AS numbers and where the next one starts.
#[inline]
fn segment_at(v: &[u8], i: usize, four: bool) -> Result<(SegmentType, &[u8], usize), AsPathError> {
    let err = AsPathError { at: i };
    let w = if four { 4 } else { 2 };
    let (Some(&t), Some(&n)) = (v.get(i), v.get(i + 1)) else {
        return Err(err);
    };
    if !SegmentType(t).is_known() || n == 0 {
        return Err(err);
    }
    let next = i + 2 + w * usize::from(n);
    let body = v.get(i + 2..next).ok_or(err)?;
    Ok((SegmentType(t), body, next))
}

/// The AS numbers of a segment body, `None` if one is AS 0 (RFC 7607 §2). Up to 8 are
/// decoded into the inline buffer directly.
#[inline]
fn decode_asns(body: &[u8], four: bool) -> Option<AsNumbers> {
    let mut buf = [0u32; 8];
    let n = if four { body.len() / 4 } else { body.len() / 2 };
    if n <= buf.len() {
        if four {
            for (d, c) in buf.iter_mut().zip(body.as_chunks::<4>().0) {
                *d = u32::from_be_bytes(*c);
            }
        } else {
            for (d, c) in buf.iter_mut().zip(body.as_chunks::<2>().0) {
                *d = u32::from(u16::from_be_bytes(*c));
            }
        }
        if buf[..n].contains(&0) {
            return None;
        }
        return Some(AsNumbers::from_buf_and_len(buf, n));
    }
    let asns: AsNumbers = if four {
        let (c, _) = body.as_chunks::<4>();
        c.iter().map(|c| u32::from_be_bytes(*c)).collect()
    } else {
        let (c, _) = body.as_chunks::<2>();
        c.iter()
            .map(|c| u32::from(u16::from_be_bytes(*c)))
            .collect()
    };
    (!asns.contains(&0)).then_some(asns)
}

/// Whether a segment body holds AS 0 (RFC 7607 §2).
#[inline]
fn has_as0(body: &[u8], four: bool) -> bool {
    if four {
        body.as_chunks::<4>().0.contains(&[0; 4])
    } else {
        body.as_chunks::<2>().0.contains(&[0; 2])
    }
}

impl AsPath {
    /// A path of one AS_SEQUENCE.
    pub fn sequence(asns: impl Into<Vec<u32>>) -> Self {
        AsPath {
            segments: smallvec::smallvec![Segment::sequence(asns)],
        }
    }

    /// The path length used by best path selection (AS_SET counts 1, confederation
    /// segments 0).
    pub fn path_len(&self) -> usize {
        self.segments.iter().map(Segment::path_len).sum()
    }

    /// All AS numbers in order.
    pub fn asns(&self) -> impl Iterator<Item = u32> + '_ {
        self.segments.iter().flat_map(|s| s.asns.iter().copied())
    }

    /// The first AS of the first AS_SEQUENCE (the neighbour AS), if any.
    pub fn first_asn(&self) -> Option<u32> {
        let s = self.segments.first()?;
        (s.kind == SegmentType::AS_SEQUENCE)
            .then(|| s.asns.first().copied())
            .flatten()
    }

    /// Checks a value with 2- or 4-octet AS numbers (RFC 7606 §7.2: unknown segment type,
    /// zero segment length, overrun, underrun; RFC 7607: AS 0) without allocating.
    pub(crate) fn check(v: &[u8], four: bool) -> Result<(), AsPathError> {
        let mut i = 0;
        while i < v.len() {
            let (_, body, next) = segment_at(v, i, four)?;
            if has_as0(body, four) {
                return Err(AsPathError { at: i });
            }
            i = next;
        }
        Ok(())
    }

    /// Checks (like [`AsPath::check`]) and decodes a value; every `Vec` is allocated once,
    /// exactly, and a path of one segment of up to 8 ASes (the usual shape) not at all.
    pub(crate) fn parse(v: &[u8], four: bool) -> Result<AsPath, AsPathError> {
        if v.is_empty() {
            return Ok(AsPath::default());
        }
        let (kind, body, next) = segment_at(v, 0, four)?;
        if next == v.len() {
            let asns = decode_asns(body, four).ok_or(AsPathError { at: 0 })?;
            return Ok(AsPath {
                segments: smallvec::smallvec![Segment { kind, asns }],
            });
        }
        let (mut i, mut n) = (0, 0);
        while i < v.len() {
            i = segment_at(v, i, four)?.2;
            n += 1;
        }
        let mut segments = SegmentList::with_capacity(n);
        i = 0;
        while i < v.len() {
            let (kind, body, next) = segment_at(v, i, four)?;
            let asns = decode_asns(body, four).ok_or(AsPathError { at: i })?;
            segments.push(Segment { kind, asns });
            i = next;
        }
        Ok(AsPath { segments })
    }

    pub(crate) fn encoded_len(&self, four: bool) -> usize {
        let w = if four { 4 } else { 2 };
        self.segments.iter().map(|s| 2 + w * s.asns.len()).sum()
    }

    pub(crate) fn emit(&self, four: bool, out: &mut BytesMut) -> Result<(), EncodeError> {
        for s in &self.segments {
            if s.asns.len() > 255 {
                return Err(EncodeError::FieldTooLong {
                    what: "AS path segment",
                    length: s.asns.len(),
                });
            }
            out.put_u8(s.kind.0);
            out.put_u8(s.asns.len() as u8);
            for &a in &s.asns {
                if four {
                    out.put_u32(a);
                } else {
                    out.put_u16(
                        u16::try_from(a).map_err(|_| EncodeError::AsnNeedsFourOctets { asn: a })?,
                    );
                }
            }
        }
        Ok(())
    }

    /// Splits a path for a 2-octet session (RFC 6793 §4.2.2): the AS_PATH with AS_TRANS in
    /// place of every 4-octet AS, and the AS4_PATH (without confederation segments) to send
    /// along when any substitution happened.
    pub fn to_two_octet(&self) -> (AsPath, Option<AsPath>) {
        let needs = self.asns().any(|a| a > 0xffff);
        let two = AsPath {
            segments: self
                .segments
                .iter()
                .map(|s| Segment {
                    kind: s.kind,
                    asns: s
                        .asns
                        .iter()
                        .map(|&a| if a > 0xffff { u32::from(AS_TRANS) } else { a })
                        .collect(),
                })
                .collect(),
        };
        let four = needs.then(|| AsPath {
            segments: self
                .segments
                .iter()
                .filter(|s| !s.kind.is_confed())
                .cloned()
                .collect(),
        });
        (two, four)
    }

    /// Reconstructs the path from an AS_PATH and AS4_PATH received from a 2-octet speaker
    /// (RFC 6793 §4.2.3).
    ///
    /// If AS_PATH has fewer AS numbers than AS4_PATH, AS4_PATH is ignored. Otherwise as
    /// many leading AS numbers (and confederation segments) of AS_PATH as needed are
    /// prepended to AS4_PATH so the result has as many AS numbers as AS_PATH.
    pub fn merge_as4(as_path: &AsPath, as4_path: &AsPath) -> AsPath {
        let (n, n4) = (as_path.path_len(), as4_path.path_len());
        if n < n4 {
            return as_path.clone();
        }
        let mut need = n - n4;
        let mut lead = SegmentList::new();
        for s in &as_path.segments {
            if need == 0 && !s.kind.is_confed() {
                break;
            }
            if need == 0 {
                // A confederation segment adjacent to the prepended part is kept.
                lead.push(s.clone());
                continue;
            }
            match s.kind {
                SegmentType::AS_SEQUENCE if s.asns.len() > need => {
                    lead.push(Segment::sequence(&s.asns[..need]));
                    need = 0;
                }
                _ => {
                    need -= s.path_len();
                    lead.push(s.clone());
                }
            }
        }
        let mut out = AsPath { segments: lead };
        for s in &as4_path.segments {
            match out.segments.last_mut() {
                Some(last)
                    if last.kind == SegmentType::AS_SEQUENCE
                        && s.kind == SegmentType::AS_SEQUENCE
                        && last.asns.len() + s.asns.len() <= 255 =>
                {
                    last.asns.extend_from_slice(&s.asns)
                }
                _ => out.segments.push(s.clone()),
            }
        }
        out
    }
}

/// An AS_PATH or AS4_PATH value read in place from a checked message (zero-copy view):
/// the segments are decoded while iterating.
#[derive(Clone, Copy, Debug)]
pub struct AsPathView<'a> {
    v: &'a [u8],
    four: bool,
}

impl<'a> AsPathView<'a> {
    /// A view over a value that [`AsPath::check`] accepted.
    pub(crate) fn new(v: &'a [u8], four: bool) -> Self {
        AsPathView { v, four }
    }

    /// The segments, first is the most recent.
    pub fn segments(&self) -> Segments<'a> {
        Segments {
            v: self.v,
            four: self.four,
        }
    }

    /// All AS numbers in order.
    pub fn asns(&self) -> impl Iterator<Item = u32> + 'a {
        self.segments().flat_map(|(_, a)| a)
    }

    /// The owned path.
    pub fn to_as_path(&self) -> AsPath {
        // Count first so the `Vec` is allocated once, exactly.
        let segments = self
            .segments()
            .map(|(kind, a)| Segment {
                kind,
                asns: a.collect(),
            })
            .collect();
        AsPath { segments }
    }
}

/// The segments of an [`AsPathView`]: type and AS numbers.
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    v: &'a [u8],
    four: bool,
}

impl<'a> Iterator for Segments<'a> {
    type Item = (SegmentType, Asns<'a>);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let w = if self.four { 4 } else { 2 };
        let (&t, rest) = self.v.split_first()?;
        let (&n, rest) = rest.split_first()?;
        let (b, rest) = rest.split_at_checked(w * usize::from(n))?;
        self.v = rest;
        Some((SegmentType(t), Asns { b, four: self.four }))
    }
}

/// The AS numbers of one segment of an [`AsPathView`].
#[derive(Clone, Debug)]
pub struct Asns<'a> {
    b: &'a [u8],
    four: bool,
}

impl Iterator for Asns<'_> {
    type Item = u32;

    #[inline]
    fn next(&mut self) -> Option<u32> {
        if self.four {
            let (c, rest) = self.b.split_first_chunk::<4>()?;
            self.b = rest;
            Some(u32::from_be_bytes(*c))
        } else {
            let (c, rest) = self.b.split_first_chunk::<2>()?;
            self.b = rest;
            Some(u32::from(u16::from_be_bytes(*c)))
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.b.len() / if self.four { 4 } else { 2 };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Asns<'_> {}

impl core::fmt::Display for AsPath {
    /// BIRD-like text: `65001 65002 {65003 65004}`; confederation segments in `()`/`[]`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut first = true;
        for s in &self.segments {
            let (o, c) = match s.kind {
                SegmentType::AS_SET => ("{", "}"),
                SegmentType::AS_CONFED_SEQUENCE => ("(", ")"),
                SegmentType::AS_CONFED_SET => ("[", "]"),
                _ => ("", ""),
            };
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            f.write_str(o)?;
            for (i, a) in s.asns.iter().enumerate() {
                if i > 0 {
                    f.write_str(" ")?;
                }
                write!(f, "{a}")?;
            }
            f.write_str(c)?;
        }
        Ok(())
    }
}
