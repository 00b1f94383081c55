//! OPEN message (RFC 4271 §4.2) with RFC 9072 extended optional parameters.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+
//! |    Version    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     My Autonomous System      |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |           Hold Time           |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         BGP Identifier                        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! | Opt Parm Len  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             Optional Parameters (variable)                    |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! RFC 9072 §2: when Opt Parm Len is 255 and the first parameter type is 255, a 2-octet
//! Extended Opt. Parm. Length follows and every parameter has a 2-octet length.

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use crate::capability::Capability;
use crate::cursor::Reader;
use crate::error::{EncodeError, OpenError, OpenField};
use crate::header::HEADER_LEN;

/// The BGP version this crate speaks.
pub const BGP_VERSION: u8 = 4;
/// AS_TRANS, sent in My Autonomous System when the AS needs 4 octets (RFC 6793 §9).
pub const AS_TRANS: u16 = 23456;
/// Optional parameter type: Capabilities (RFC 5492 §4).
pub const PARAM_CAPABILITIES: u8 = 2;
/// Non-Ext OP Type marking RFC 9072 extended optional parameters.
pub const PARAM_EXTENDED_LENGTH: u8 = 255;

mod field {
    pub(super) const VERSION: usize = 0;
    pub(super) const FIXED_LEN: usize = 10;
}

/// An optional parameter (RFC 4271 §4.2). Only Capabilities are defined; any other type is
/// an OPEN error (Unsupported Optional Parameter).
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[non_exhaustive]
pub enum OptionalParameter {
    /// One Capabilities parameter holding one or more capabilities (RFC 5492 §4).
    Capabilities(Vec<Capability>),
}

/// An OPEN message. Capabilities keep their grouping into optional parameters so that
/// re-emitting a received OPEN is byte-exact.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Open {
    /// My Autonomous System: the 2-octet AS, or [`AS_TRANS`].
    pub my_as: u16,
    /// Proposed Hold Time in seconds (0 or at least 3).
    pub hold_time: u16,
    /// BGP Identifier.
    pub bgp_identifier: Ipv4Addr,
    /// Optional parameters, in order.
    pub params: Vec<OptionalParameter>,
    /// Use the RFC 9072 extended optional parameters encoding. Emitting switches to it by
    /// itself when the parameters do not fit the classic encoding.
    pub extended_params: bool,
}

impl Open {
    /// An OPEN for `asn` (AS_TRANS plus the 4-octet AS capability when it needs 4 octets;
    /// the capability is always included, as RFC 6793 §3 asks of a NEW speaker).
    pub fn new(asn: u32, hold_time: u16, bgp_identifier: Ipv4Addr) -> Self {
        let my_as = u16::try_from(asn).unwrap_or(AS_TRANS);
        Open {
            my_as,
            hold_time,
            bgp_identifier,
            params: vec![OptionalParameter::Capabilities(vec![
                Capability::FourOctetAs(asn),
            ])],
            extended_params: false,
        }
    }

    /// Adds a capability to the first Capabilities parameter.
    #[must_use]
    pub fn with_capability(mut self, cap: Capability) -> Self {
        match self.params.first_mut() {
            Some(OptionalParameter::Capabilities(v)) => v.push(cap),
            None => self.params.push(OptionalParameter::Capabilities(vec![cap])),
        }
        self
    }

    /// All capabilities, across parameters, in order.
    pub fn capabilities(&self) -> impl DoubleEndedIterator<Item = &Capability> + '_ {
        self.params.iter().flat_map(|p| match p {
            OptionalParameter::Capabilities(v) => v.iter(),
        })
    }

    /// The speaker's AS: from the 4-octet AS capability if present, else My AS (RFC 6793 §4.1).
    pub fn asn(&self) -> u32 {
        self.capabilities()
            .find_map(|c| match c {
                Capability::FourOctetAs(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(u32::from(self.my_as))
    }

    /// Decodes an OPEN body (after the header).
    pub(crate) fn parse_body(body: &[u8]) -> Result<Open, OpenError> {
        let mut r = Reader::new(body, HEADER_LEN);
        let malformed = |offset, field| OpenError::Malformed { offset, field };
        if body.len() < field::FIXED_LEN {
            return Err(malformed(HEADER_LEN, OpenField::FixedPart));
        }
        let version = body[field::VERSION];
        // RFC 4271 §6.2: Unsupported Version Number.
        if version != BGP_VERSION {
            return Err(OpenError::UnsupportedVersionNumber { version });
        }
        r.u8();
        let my_as = r.u16().ok_or(malformed(r.offset(), OpenField::FixedPart))?;
        let hold_time = r.u16().ok_or(malformed(r.offset(), OpenField::FixedPart))?;
        let id = Ipv4Addr::from(r.u32().ok_or(malformed(r.offset(), OpenField::FixedPart))?);
        let len_off = r.offset();
        let opt_len = r.u8().ok_or(malformed(len_off, OpenField::FixedPart))?;
        // RFC 7607 §2: AS 0 is a Bad Peer AS.
        if my_as == 0 {
            return Err(OpenError::BadPeerAs { asn: 0 });
        }
        // RFC 4271 §4.2: Hold Time MUST be 0 or at least 3.
        if hold_time == 1 || hold_time == 2 {
            return Err(OpenError::UnacceptableHoldTime { hold_time });
        }
        // RFC 6286 §2.2: the BGP Identifier is a non-zero 4-octet value.
        if id.is_unspecified() {
            return Err(OpenError::BadBgpIdentifier { id });
        }
        // RFC 9072 §2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255.
        let extended = opt_len == 255 && r.rest().first() == Some(&PARAM_EXTENDED_LENGTH);
        let params_len = if extended {
            r.u8();
            let off = r.offset();
            usize::from(
                r.u16()
                    .ok_or(malformed(off, OpenField::OptionalParametersLength))?,
            )
        } else {
            usize::from(opt_len)
        };
        if params_len != r.remaining() {
            return Err(malformed(len_off, OpenField::OptionalParametersLength));
        }
        let mut params = Vec::new();
        while !r.is_empty() {
            let off = r.offset();
            let ptype = r.u8().ok_or(malformed(off, OpenField::OptionalParameter))?;
            let plen = if extended {
                r.u16().map(usize::from)
            } else {
                r.u8().map(usize::from)
            }
            .ok_or(malformed(off, OpenField::OptionalParameter))?;
            let mut p = r
                .sub(plen)
                .ok_or(malformed(off, OpenField::OptionalParameter))?;
            if ptype != PARAM_CAPABILITIES {
                return Err(OpenError::UnsupportedOptionalParameter {
                    offset: off,
                    param_type: ptype,
                });
            }
            let mut caps = Vec::new();
            while !p.is_empty() {
                let coff = p.offset();
                let code = p.u8().ok_or(malformed(coff, OpenField::Capability))?;
                let clen = p.u8().ok_or(malformed(coff, OpenField::Capability))?;
                let value = p
                    .take(clen.into())
                    .ok_or(malformed(coff, OpenField::Capability))?;
                let cap = Capability::parse(code, value);
                // RFC 7607 §2: a 4-octet AS of 0 is a Bad Peer AS too.
                if cap == Capability::FourOctetAs(0) {
                    return Err(OpenError::BadPeerAs { asn: 0 });
                }
                caps.push(cap);
            }
            params.push(OptionalParameter::Capabilities(caps));
        }
        Ok(Open {
            my_as,
            hold_time,
            bgp_identifier: id,
            params,
            extended_params: extended,
        })
    }

    fn param_value_len(p: &OptionalParameter) -> usize {
        match p {
            OptionalParameter::Capabilities(v) => v.iter().map(Capability::encoded_len).sum(),
        }
    }

    /// Whether the RFC 9072 encoding is used when emitting.
    pub(crate) fn uses_extended(&self) -> bool {
        self.extended_params
            || self.params_len(false) > 255
            || self.params.iter().any(|p| Self::param_value_len(p) > 255)
    }

    /// Length of the Optional Parameters field: each parameter's header (2 octets, or 3
    /// with the RFC 9072 encoding `ext`) and value.
    fn params_len(&self, ext: bool) -> usize {
        let per_param = if ext { 3 } else { 2 };
        self.params
            .iter()
            .map(|p| per_param + Self::param_value_len(p))
            .sum()
    }

    pub(crate) fn body_len(&self) -> usize {
        let ext = self.uses_extended();
        field::FIXED_LEN + if ext { 3 } else { 0 } + self.params_len(ext)
    }

    pub(crate) fn emit_body(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let ext = self.uses_extended();
        let params = self.params_len(ext);
        if params > usize::from(u16::MAX) {
            return Err(EncodeError::FieldTooLong {
                what: "optional parameters",
                length: params,
            });
        }
        out.put_u8(BGP_VERSION);
        out.put_u16(self.my_as);
        out.put_u16(self.hold_time);
        out.put_slice(&self.bgp_identifier.octets());
        if ext {
            out.put_u8(255);
            out.put_u8(PARAM_EXTENDED_LENGTH);
            out.put_u16(params as u16);
        } else {
            out.put_u8(params as u8);
        }
        for p in &self.params {
            let OptionalParameter::Capabilities(caps) = p;
            let len = Self::param_value_len(p);
            out.put_u8(PARAM_CAPABILITIES);
            if ext {
                out.put_u16(len as u16);
            } else {
                out.put_u8(len as u8);
            }
            for c in caps {
                c.emit(out)?;
            }
        }
        Ok(())
    }
}
