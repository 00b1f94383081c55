//! ROUTE-REFRESH message (RFC 2918 §3) with the Enhanced Route Refresh subtypes
//! BoRR/EoRR (RFC 7313 §3).
//!
//! ```text
//!  0       7      15      23      31
//! +-------+-------+-------+-------+
//! |      AFI      | Subtype | SAFI |
//! +-------+-------+-------+-------+
//! ```

use bytes::{BufMut, BytesMut};

use crate::ctx::{Afi, Family, Safi};

/// Message Subtype of a ROUTE-REFRESH (RFC 7313 §3); unknown values round-trip and
/// RFC 7313 §5 says to ignore them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Subtype(pub u8);

impl Subtype {
    /// A normal route refresh request (RFC 2918).
    pub const NORMAL: Subtype = Subtype(0);
    /// Beginning of Route Refresh (RFC 7313 §4).
    pub const BORR: Subtype = Subtype(1);
    /// End of Route Refresh (RFC 7313 §4).
    pub const EORR: Subtype = Subtype(2);
}

/// A ROUTE-REFRESH message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RouteRefresh {
    /// The family to refresh.
    pub family: Family,
    /// Normal, BoRR or EoRR.
    pub subtype: Subtype,
}

impl RouteRefresh {
    /// Body length: always 4 (RFC 7313 §5).
    pub const BODY_LEN: usize = 4;

    /// A normal refresh request for `family`.
    pub fn new(family: Family) -> Self {
        RouteRefresh {
            family,
            subtype: Subtype::NORMAL,
        }
    }

    pub(crate) fn parse_body(b: &[u8; 4]) -> Self {
        RouteRefresh {
            family: Family::new(Afi(u16::from_be_bytes([b[0], b[1]])), Safi(b[3])),
            subtype: Subtype(b[2]),
        }
    }

    pub(crate) fn emit_body(&self, out: &mut BytesMut) {
        out.put_u16(self.family.afi.0);
        out.put_u8(self.subtype.0);
        out.put_u8(self.family.safi.0);
    }
}
