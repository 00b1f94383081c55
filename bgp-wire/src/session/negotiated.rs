//! Building our OPEN, checking the peer's (RFC 4271 §6.2) and negotiating capabilities
//! (RFC 5492) into a [`Negotiated`] value.

use std::net::Ipv4Addr;

use bytes::{BufMut, BytesMut};

use super::config::{LlgrConfig, SessionConfig};
use crate::capability::{AddPathFamily, Capability, GrFamily, GracefulRestart, LlgrFamily, Role};
use crate::ctx::{DecodeCtx, EncodeCtx, Family, negotiate};
use crate::notification::{ErrorCode, Notification, subcode};
use crate::open::Open;
use crate::update::Update;

/// ADD-PATH state of one family (RFC 7911 §5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddPath {
    /// The family.
    pub family: Family,
    /// We receive path identifiers.
    pub receive: bool,
    /// We send path identifiers.
    pub send: bool,
}

/// The peer's Graceful Restart capability (RFC 4724 §3), as the last instance said
/// (RFC 4724 §3: only the last instance counts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerGracefulRestart {
    /// R bit: the peer has restarted.
    pub restart_state: bool,
    /// N bit (RFC 8538).
    pub notification: bool,
    /// Restart Time, clamped to the local bounds.
    pub restart_time: u32,
    /// Families the peer preserves, with the F bit, restricted to negotiated families.
    pub families: Vec<(Family, bool)>,
}

/// One family of the peer's LLGR capability (RFC 9494 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerLlgrFamily {
    /// The family.
    pub family: Family,
    /// Long-lived Stale Time, clamped to the local bounds.
    pub stale_time: u32,
    /// F bit.
    pub forwarding: bool,
}

/// What the two OPEN messages negotiated.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Negotiated {
    /// The peer's AS (from the 4-octet AS capability when present, RFC 6793 §4.1).
    pub peer_as: u32,
    /// The peer's BGP Identifier.
    pub peer_router_id: Ipv4Addr,
    /// Negotiated hold time, seconds: min(local, peer); 0 means no hold timer.
    pub hold_time: u16,
    /// Keepalive interval, seconds; 0 when the hold time is 0.
    pub keepalive_time: u16,
    /// Both sent the 4-octet AS capability.
    pub four_octet_as: bool,
    /// Families both advertised.
    pub families: Vec<Family>,
    /// ADD-PATH per family and direction (only families with a direction on).
    pub add_path: Vec<AddPath>,
    /// Extended messages (RFC 8654).
    pub extended_message: bool,
    /// The peer can receive ROUTE-REFRESH (RFC 2918).
    pub route_refresh: bool,
    /// Both sent Enhanced Route Refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// The peer's Graceful Restart capability.
    pub peer_graceful_restart: Option<PeerGracefulRestart>,
    /// Both sides set the N bit (RFC 8538 §2).
    pub notification_gr: bool,
    /// The peer sent an LLGR capability (possibly empty: "LLGR-aware").
    pub peer_llgr_capable: bool,
    /// The peer's LLGR families, restricted to negotiated ones.
    pub peer_llgr: Vec<PeerLlgrFamily>,
    /// Whether we run LLGR procedures (our config).
    pub local_llgr: bool,
    /// The peer's BGP Role (RFC 9234).
    pub peer_role: Option<Role>,
    /// Our BGP Role.
    pub local_role: Option<Role>,
    decode: DecodeCtx,
    encode: EncodeCtx,
}

impl Negotiated {
    /// How to decode what the peer sends.
    pub fn decode_ctx(&self) -> &DecodeCtx {
        &self.decode
    }

    /// How to encode what we send.
    pub fn encode_ctx(&self) -> &EncodeCtx {
        &self.encode
    }

    /// Whether the peer's routes may be kept as stale when the session drops: it sent GR
    /// or LLGR families.
    pub fn peer_gr_capable(&self) -> bool {
        self.peer_graceful_restart.is_some() || !self.peer_llgr.is_empty()
    }

    /// The End-of-RIB marker for every negotiated family (RFC 4724 §2), to send once the
    /// initial table has been sent.
    pub fn end_of_rib(&self) -> impl Iterator<Item = Update> + '_ {
        self.families.iter().map(|f| Update::end_of_rib(*f))
    }
}

/// Builds our OPEN from the configuration (`restarting`: set the R bit).
pub(crate) fn build_open(cfg: &SessionConfig, restarting: bool) -> Open {
    let mut open = Open::new(cfg.local_as, cfg.hold_time, cfg.router_id);
    for f in &cfg.families {
        open = open.with_capability(Capability::Multiprotocol(*f));
    }
    open = open.with_capability(Capability::RouteRefresh);
    if cfg.enhanced_route_refresh {
        open = open.with_capability(Capability::EnhancedRouteRefresh);
    }
    if cfg.extended_message {
        open = open.with_capability(Capability::ExtendedMessage);
    }
    if !cfg.add_path.is_empty() {
        open = open.with_capability(Capability::AddPath(
            cfg.add_path
                .iter()
                .map(|(family, mode)| AddPathFamily {
                    family: *family,
                    mode: *mode,
                })
                .collect(),
        ));
    }
    if let Some(gr) = &cfg.graceful_restart {
        let mut flags = 0;
        if restarting {
            flags |= GracefulRestart::RESTART_STATE;
        }
        if gr.notification {
            flags |= GracefulRestart::NOTIFICATION;
        }
        open = open.with_capability(Capability::GracefulRestart(GracefulRestart {
            restart_flags: flags,
            restart_time: gr.restart_time.min(0x0fff),
            families: cfg
                .families
                .iter()
                .map(|f| GrFamily {
                    family: *f,
                    flags: if gr.forwarding.contains(f) {
                        GrFamily::FORWARDING_STATE
                    } else {
                        0
                    },
                })
                .collect(),
        }));
    }
    match &cfg.llgr {
        LlgrConfig::Off => {}
        LlgrConfig::Aware => {
            open = open.with_capability(Capability::LongLivedGracefulRestart(Vec::new()));
        }
        LlgrConfig::Enabled(v) => {
            open = open.with_capability(Capability::LongLivedGracefulRestart(
                v.iter()
                    .map(|l| LlgrFamily {
                        family: l.family,
                        flags: if l.forwarding {
                            LlgrFamily::FORWARDING_STATE
                        } else {
                            0
                        },
                        stale_time: l.stale_time.min(LlgrFamily::MAX_STALE_TIME),
                    })
                    .collect(),
            ));
        }
    }
    if let Some(role) = cfg.role {
        open = open.with_capability(Capability::Role(role));
    }
    open
}

fn open_error(sub: u8, data: impl Into<bytes::Bytes>) -> Notification {
    Notification::new(ErrorCode::OPEN_MESSAGE_ERROR, sub, data)
}

/// RFC 9234 §4.2: the allowed (local, remote) role pairs.
fn roles_match(local: Role, remote: Role) -> bool {
    matches!(
        (local, remote),
        (Role::PROVIDER, Role::CUSTOMER)
            | (Role::CUSTOMER, Role::PROVIDER)
            | (Role::RS, Role::RS_CLIENT)
            | (Role::RS_CLIENT, Role::RS)
            | (Role::PEER, Role::PEER)
    )
}

/// Checks the peer's OPEN (RFC 4271 §6.2, in the order of the RFC, one early return per
/// rule) and negotiates. The error is the NOTIFICATION to send.
pub(crate) fn check_open(
    cfg: &SessionConfig,
    local: &Open,
    remote: &Open,
) -> Result<Negotiated, Notification> {
    // The codec already rejected: version != 4 (2/1), AS 0 (2/2), hold time 1-2 (2/6),
    // BGP Identifier 0 (2/3), unknown optional parameters (2/4). Re-check the hold time
    // for OPENs built by hand.
    //= https://www.rfc-editor.org/rfc/rfc4271#section-6.2
    //# An implementation MUST reject Hold Time values of one or two seconds.
    if remote.hold_time == 1 || remote.hold_time == 2 {
        return Err(open_error(
            subcode::open::UNACCEPTABLE_HOLD_TIME,
            bytes::Bytes::new(),
        ));
    }
    let peer_as = remote.asn();
    //= https://www.rfc-editor.org/rfc/rfc4271#section-6.2
    //# If the Autonomous System field of the OPEN message is unacceptable, then the
    //# Error Subcode MUST be set to Bad Peer AS.
    if peer_as == 0 || cfg.peer_as.is_some_and(|want| want != peer_as) {
        return Err(open_error(subcode::open::BAD_PEER_AS, bytes::Bytes::new()));
    }
    // RFC 6286 §2.2: the identifier must be unique within the AS (iBGP).
    if remote.bgp_identifier.is_unspecified()
        || (peer_as == cfg.local_as && remote.bgp_identifier == cfg.router_id)
    {
        return Err(open_error(
            subcode::open::BAD_BGP_IDENTIFIER,
            bytes::Bytes::copy_from_slice(&remote.bgp_identifier.octets()),
        ));
    }
    // RFC 9234 §4.2: role pairs.
    let peer_role = remote
        .capabilities()
        .filter_map(|c| match c {
            Capability::Role(r) => Some(*r),
            _ => None,
        })
        .next_back();
    if let Some(local_role) = cfg.role {
        let ok = match peer_role {
            Some(r) => roles_match(local_role, r),
            None => !cfg.role_strict,
        };
        if !ok {
            return Err(open_error(
                subcode::open::ROLE_MISMATCH,
                bytes::Bytes::new(),
            ));
        }
    }
    let (decode, encode) = negotiate(local, remote);
    // RFC 5492 §5: no common family means nothing can be exchanged.
    if decode.families().is_empty() {
        let mut data = BytesMut::new();
        for f in &cfg.families {
            data.put_u8(crate::capability::code::MULTIPROTOCOL);
            data.put_u8(4);
            data.put_u16(f.afi.0);
            data.put_u8(0);
            data.put_u8(f.safi.0);
        }
        return Err(open_error(
            subcode::open::UNSUPPORTED_CAPABILITY,
            data.freeze(),
        ));
    }
    let families = decode.families().to_vec();
    //= https://www.rfc-editor.org/rfc/rfc4271#section-4.2
    //# The calculated value indicates the maximum number of seconds that may elapse
    //# between the receipt of successive KEEPALIVE and/or UPDATE messages from the sender.
    let hold_time = cfg.hold_time.min(remote.hold_time);
    let keepalive_time = if hold_time == 0 {
        0
    } else {
        cfg.keepalive_time
            .map_or(hold_time / 3, |k| k.min(hold_time / 3))
            .max(1)
    };
    let has = |f: &dyn Fn(&Capability) -> bool| remote.capabilities().any(f);
    let route_refresh = has(&|c| matches!(c, Capability::RouteRefresh));
    let enhanced_route_refresh =
        cfg.enhanced_route_refresh && has(&|c| matches!(c, Capability::EnhancedRouteRefresh));
    let peer_graceful_restart = remote
        .capabilities()
        .filter_map(|c| match c {
            Capability::GracefulRestart(g) => Some(g),
            _ => None,
        })
        .next_back()
        .map(|g| PeerGracefulRestart {
            restart_state: g.restart_state(),
            notification: g.notification(),
            restart_time: cfg.peer_restart_time.clamp(u32::from(g.restart_time)),
            families: g
                .families
                .iter()
                .filter(|f| families.contains(&f.family))
                .map(|f| (f.family, f.forwarding_state()))
                .collect(),
        });
    let local_n = cfg
        .graceful_restart
        .as_ref()
        .is_some_and(|g| g.notification);
    let notification_gr = local_n
        && peer_graceful_restart
            .as_ref()
            .is_some_and(|g| g.notification);
    let llgr_cap = remote
        .capabilities()
        .filter_map(|c| match c {
            Capability::LongLivedGracefulRestart(v) => Some(v),
            _ => None,
        })
        .next_back();
    let peer_llgr = llgr_cap
        .map(|v| {
            v.iter()
                .filter(|l| families.contains(&l.family))
                .map(|l| PeerLlgrFamily {
                    family: l.family,
                    stale_time: cfg.peer_stale_time.clamp(l.stale_time),
                    forwarding: l.forwarding_state(),
                })
                .collect()
        })
        .unwrap_or_default();
    let add_path = families
        .iter()
        .filter_map(|f| {
            let (receive, send) = (decode.add_path(*f), encode.add_path(*f));
            (receive || send).then_some(AddPath {
                family: *f,
                receive,
                send,
            })
        })
        .collect();
    Ok(Negotiated {
        peer_as,
        peer_router_id: remote.bgp_identifier,
        hold_time,
        keepalive_time,
        four_octet_as: decode.four_octet_as(),
        families,
        add_path,
        extended_message: decode.extended_message(),
        route_refresh,
        enhanced_route_refresh,
        peer_graceful_restart,
        notification_gr,
        peer_llgr_capable: llgr_cap.is_some(),
        peer_llgr,
        local_llgr: matches!(cfg.llgr, LlgrConfig::Enabled(_)),
        peer_role,
        local_role: cfg.role,
        decode,
        encode,
    })
}
