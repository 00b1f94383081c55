//! Path attributes as the engine needs them, interned so that many routes share one copy.
//!
//! The BGP codec decodes UPDATEs into its own types; the facade converts them into
//! [`PathAttrs`]. Only the fields that best-path selection (RFC 4271 §9.1.2) and export
//! (RFC 4271 §9.2, RFC 4456) read are modelled; every other attribute travels as an
//! [`RawAttr`] and is re-advertised with the Partial bit set when it is optional transitive.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bytes::Bytes;

/// A path attribute set shared by every route that carries it (pointer-equal when equal).
pub type Attrs = Arc<PathAttrs>;

/// Well-known community NO_EXPORT (RFC 1997): never advertised to an eBGP peer.
pub const NO_EXPORT: u32 = 0xFFFF_FF01;
/// Well-known community NO_ADVERTISE (RFC 1997): never advertised to any peer.
pub const NO_ADVERTISE: u32 = 0xFFFF_FF02;
/// Well-known community NO_EXPORT_SUBCONFED (RFC 1997): treated as NO_EXPORT (no confederations).
pub const NO_EXPORT_SUBCONFED: u32 = 0xFFFF_FF03;
/// RFC 9494 §3.2 LLGR_STALE (65535:6): the route is a long-lived stale route.
pub const LLGR_STALE: u32 = 0xFFFF_0006;
/// RFC 9494 §3.3 NO_LLGR (65535:7): delete instead of keeping as long-lived stale.
pub const NO_LLGR: u32 = 0xFFFF_0007;

/// Attribute flag bits (RFC 4271 §4.3).
pub mod flags {
    /// Optional (bit 0).
    pub const OPTIONAL: u8 = 0x80;
    /// Transitive (bit 1).
    pub const TRANSITIVE: u8 = 0x40;
    /// Partial (bit 2).
    pub const PARTIAL: u8 = 0x20;
    /// Extended length (bit 3).
    pub const EXTENDED_LENGTH: u8 = 0x10;
}

/// ORIGIN (RFC 4271 §5.1.1); the derived order is the §9.1.2.2 (c) preference (lower wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Origin {
    /// IGP (0).
    #[default]
    Igp,
    /// EGP (1).
    Egp,
    /// INCOMPLETE (2).
    Incomplete,
}

/// One AS_PATH segment (RFC 4271 §4.3, 4-octet ASNs per RFC 6793).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum AsSegment {
    /// AS_SEQUENCE: counts one per AS in the path length.
    Sequence(Vec<u32>),
    /// AS_SET: counts as one in the path length (RFC 4271 §9.1.2.2 (a)).
    Set(Vec<u32>),
}

/// A large community (RFC 8092).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LargeCommunity {
    /// Global administrator.
    pub global: u32,
    /// Local data part 1.
    pub local1: u32,
    /// Local data part 2.
    pub local2: u32,
}

/// An attribute the engine does not interpret, kept for re-advertisement (style rule 12).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawAttr {
    /// Attribute flags octet as received.
    pub flags: u8,
    /// Attribute type code.
    pub type_code: u8,
    /// Attribute value.
    pub value: Bytes,
}

impl RawAttr {
    /// Whether the attribute is optional transitive (RFC 4271 §5: passed along).
    pub fn is_optional_transitive(&self) -> bool {
        self.flags & (flags::OPTIONAL | flags::TRANSITIVE) == (flags::OPTIONAL | flags::TRANSITIVE)
    }

    /// The attribute as we propagate it: RFC 4271 §5 / §9 "If an optional transitive attribute
    /// is unrecognized, the Partial bit is set to 1 in the attribute when propagated".
    /// Returns `None` for optional non-transitive attributes, which are quietly dropped.
    pub fn propagated(&self) -> Option<RawAttr> {
        if self.flags & flags::OPTIONAL == 0 {
            return Some(self.clone());
        }
        if self.flags & flags::TRANSITIVE == 0 {
            return None;
        }
        Some(RawAttr {
            flags: self.flags | flags::PARTIAL,
            ..self.clone()
        })
    }
}

/// The attributes of a path, as far as selection and export need them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct PathAttrs {
    /// ORIGIN.
    pub origin: Origin,
    /// AS_PATH segments, nearest AS first.
    pub as_path: Vec<AsSegment>,
    /// NEXT_HOP (or the MP_REACH global next hop); `None` for locally originated routes.
    pub next_hop: Option<IpAddr>,
    /// IPv6 link-local next hop from MP_REACH_NLRI (RFC 2545), if any.
    pub link_local_next_hop: Option<Ipv6Addr>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// LOCAL_PREF (iBGP only on the wire).
    pub local_pref: Option<u32>,
    /// COMMUNITIES (RFC 1997), in received order.
    pub communities: Vec<u32>,
    /// LARGE_COMMUNITY (RFC 8092).
    pub large_communities: Vec<LargeCommunity>,
    /// ORIGINATOR_ID (RFC 4456).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (RFC 4456), nearest cluster first.
    pub cluster_list: Vec<u32>,
    /// Other attributes, opaque.
    pub other: Vec<RawAttr>,
}

impl PathAttrs {
    /// AS_PATH length for RFC 4271 §9.1.2.2 (a): an AS_SET counts as 1.
    pub fn as_path_len(&self) -> u32 {
        self.as_path
            .iter()
            .map(|s| match s {
                AsSegment::Sequence(v) => v.len() as u32,
                AsSegment::Set(v) => u32::from(!v.is_empty()),
            })
            .fold(0u32, u32::saturating_add)
    }

    /// The neighbouring AS for MED comparison (RFC 4271 §9.1.2.2 (c)): the first AS of the
    /// leftmost AS_SEQUENCE, `None` for an empty path (routes from our own AS).
    pub fn neighbor_as(&self) -> Option<u32> {
        match self.as_path.first() {
            Some(AsSegment::Sequence(v)) => v.first().copied(),
            _ => None,
        }
    }

    /// How many times `asn` appears in the AS_PATH (loop detection, RFC 4271 §9.1.2).
    pub fn as_count(&self, asn: u32) -> usize {
        self.as_path
            .iter()
            .map(|s| match s {
                AsSegment::Sequence(v) | AsSegment::Set(v) => {
                    v.iter().filter(|a| **a == asn).count()
                }
            })
            .sum()
    }

    /// Whether the COMMUNITIES attribute carries `c`.
    pub fn has_community(&self, c: u32) -> bool {
        self.communities.contains(&c)
    }

    /// Prepend `asn` to the leftmost AS_SEQUENCE (RFC 4271 §5.1.2 (b)).
    pub fn prepend_as(&mut self, asn: u32) {
        match self.as_path.first_mut() {
            Some(AsSegment::Sequence(v)) if v.len() < 255 => v.insert(0, asn),
            _ => self.as_path.insert(0, AsSegment::Sequence(vec![asn])),
        }
    }
}

/// Hash-consing of [`PathAttrs`]: equal attribute sets share one allocation.
///
/// Entries nobody else holds are purged when the table has doubled since the last purge,
/// so the table stays within twice the live set.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    set: HashSet<Arc<PathAttrs>>,
    purge_at: usize,
}

impl Interner {
    pub(crate) fn intern(&mut self, attrs: PathAttrs) -> Attrs {
        if let Some(a) = self.set.get(&attrs) {
            return a.clone();
        }
        if self.set.len() >= self.purge_at {
            self.set.retain(|a| Arc::strong_count(a) > 1);
            self.purge_at = (self.set.len() * 2).max(1024);
        }
        let a = Arc::new(attrs);
        self.set.insert(a.clone());
        a
    }

    pub(crate) fn len(&self) -> usize {
        self.set.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4271 §9.1.2.2 (a): an AS_SET counts as one regardless of its size.
    #[test]
    fn as_path_len_counts_set_as_one() {
        let a = PathAttrs {
            as_path: vec![
                AsSegment::Sequence(vec![1, 2]),
                AsSegment::Set(vec![3, 4, 5]),
            ],
            ..Default::default()
        };
        assert_eq!(a.as_path_len(), 3);
        assert_eq!(a.neighbor_as(), Some(1));
    }

    // RFC 4271 §5 / §9: optional transitive attributes get the Partial bit when propagated,
    // optional non-transitive ones are dropped, well-known ones pass unchanged.
    #[test]
    fn partial_bit_on_propagation() {
        let t = RawAttr {
            flags: 0xC0,
            type_code: 99,
            value: Bytes::from_static(b"x"),
        };
        assert_eq!(t.propagated().unwrap().flags, 0xE0);
        let nt = RawAttr {
            flags: 0x80,
            type_code: 98,
            value: Bytes::new(),
        };
        assert_eq!(nt.propagated(), None);
        let wk = RawAttr {
            flags: 0x40,
            type_code: 97,
            value: Bytes::new(),
        };
        assert_eq!(wk.propagated().unwrap().flags, 0x40);
    }

    #[test]
    fn interner_shares_equal_sets() {
        let mut i = Interner::default();
        let a = i.intern(PathAttrs {
            med: Some(1),
            ..Default::default()
        });
        let b = i.intern(PathAttrs {
            med: Some(1),
            ..Default::default()
        });
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(i.len(), 1);
    }
}
