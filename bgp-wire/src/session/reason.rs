//! Why a connection or session ended, and what the route engine must do with the peer's
//! routes ("stale" or "delete").

use crate::notification::{ErrorCode, Notification};

/// Who sent a NOTIFICATION (style rule 30: errors carry their initiator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Initiator {
    /// We sent it.
    Local,
    /// The peer sent it.
    Peer,
}

/// Why a connection closed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// Local administrative stop (Cease 6/2 sent, RFC 9003 message).
    AdministrativeShutdown {
        /// The shutdown communication.
        message: String,
    },
    /// Local Hard Reset (Cease 6/9 sent, RFC 8538).
    HardReset,
    /// Local graceful stop for our own restart: no NOTIFICATION (RFC 4724 §4).
    LocalRestart,
    /// BFD declared the peer down (Cease 6/10 sent best-effort, RFC 9384).
    BfdDown,
    /// A NOTIFICATION was sent or received.
    Notification {
        /// Who sent it.
        initiator: Initiator,
        /// The NOTIFICATION.
        notification: Notification,
    },
    /// The HoldTimer expired (NOTIFICATION 4/0 sent).
    HoldTimerExpired,
    /// The TCP connection failed or was closed by the peer without a NOTIFICATION.
    TcpFailure,
    /// Lost a connection collision (Cease 6/7 sent, RFC 4271 §6.8).
    CollisionResolved,
    /// The peer reconnected while Established and had sent the GR capability: the old
    /// session ends without a NOTIFICATION (RFC 4724 §4.2).
    PeerRestarted,
    /// The peer sent more prefixes than allowed (Cease 6/1 sent, RFC 4486).
    MaxPrefixes {
        /// The configured limit.
        limit: u32,
    },
}

impl Reason {
    /// The NOTIFICATION involved, if any.
    pub fn notification(&self) -> Option<&Notification> {
        match self {
            Reason::Notification { notification, .. } => Some(notification),
            _ => None,
        }
    }
}

/// What happens to the routes learned from the peer when an Established session ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouteFate {
    /// Delete them now (normal BGP, RFC 4271 §8).
    Delete,
    /// Keep them, marked stale, under the GR/LLGR procedures the peer advertised
    /// (RFC 4724 §4.2, RFC 8538 §4, RFC 9494).
    RetainStale,
}

/// An Established session went down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Down {
    /// Why.
    pub reason: Reason,
    /// What to do with the peer's routes.
    pub fate: RouteFate,
}

/// Decides the fate of the peer's routes.
///
/// `peer_gr`: the peer sent a GR or a non-empty LLGR capability on this session;
/// `n_bit`: both sides set the N bit (RFC 8538 §2).
pub(crate) fn route_fate(reason: &Reason, peer_gr: bool, n_bit: bool) -> RouteFate {
    let graceful = match reason {
        // Our decisions to delete, or the peer's explicit Hard Reset.
        Reason::AdministrativeShutdown { .. } | Reason::HardReset | Reason::MaxPrefixes { .. } => {
            false
        }
        // RFC 4724 §4.2: a TCP failure is the restart case. Hold expiry: graceful as in
        // BIRD (`bgp_hold_timeout` runs GR when the peer is GR-capable).
        Reason::TcpFailure | Reason::HoldTimerExpired | Reason::PeerRestarted => true,
        Reason::LocalRestart | Reason::BfdDown => true,
        // RFC 4724 §4: a NOTIFICATION means normal BGP; RFC 8538 §4: unless N was
        // negotiated and it is not a Hard Reset. A lost collision never had routes.
        Reason::Notification { notification, .. } => n_bit && !notification.is_hard_reset(),
        Reason::CollisionResolved => n_bit,
    };
    if graceful && peer_gr {
        RouteFate::RetainStale
    } else {
        RouteFate::Delete
    }
}

/// Whether a NOTIFICATION is an OPEN "Unsupported Version Number" (event 24,
/// NotifMsgVerErr).
pub(crate) fn is_version_error(n: &Notification) -> bool {
    n.code == ErrorCode::OPEN_MESSAGE_ERROR
        && n.subcode == crate::notification::subcode::open::UNSUPPORTED_VERSION_NUMBER
}
