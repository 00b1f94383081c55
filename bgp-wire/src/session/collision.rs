//! Connection collision detection (RFC 4271 §6.8), as a pure function over two sessions.

use std::time::Instant;

use super::fsm::{Direction, Session, State};

/// Which of two connections lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Loser {
    /// The connection that existed first.
    Existing,
    /// The connection that arrived second.
    New,
}

/// Which connection survives, without changing anything; `None` when there is no
/// collision to resolve yet (a side does not know the peer's BGP Identifier, or the
/// identifiers differ).
pub fn collision_loser(existing: &Session, new: &Session) -> Option<Loser> {
    let (e, n) = (existing.negotiated()?, new.negotiated()?);
    //= https://www.rfc-editor.org/rfc/rfc4271#section-6.8
    //# examine all of its connections that are in the OpenConfirm state ... with the same
    //# BGP Identifier
    if e.peer_router_id != n.peer_router_id {
        return None;
    }
    if existing.state() == State::Established {
        // RFC 4724 §4.2: a GR peer reconnecting means it restarted: keep the new one.
        // Otherwise CollisionDetectEstablishedState is off: the new one loses (rule 19).
        return Some(if e.peer_graceful_restart.is_some() {
            Loser::Existing
        } else {
            Loser::New
        });
    }
    if new.state() == State::Established {
        return Some(Loser::Existing);
    }
    //= https://www.rfc-editor.org/rfc/rfc4271#section-6.8
    //# If the value of the local BGP Identifier is less than the remote one, the local
    //# system closes the BGP connection that already exists ... and accepts the BGP
    //# connection initiated by the remote system.
    // That is: the connection initiated by the higher identifier survives. With equal
    // identifiers (eBGP), the higher AS number decides (RFC 6286 §2.3).
    let local = (
        u32::from(existing.config().router_id),
        existing.config().local_as,
    );
    let remote = (u32::from(e.peer_router_id), e.peer_as);
    let keep = if local > remote {
        Direction::Outbound
    } else {
        Direction::Inbound
    };
    Some(if existing.direction() == Some(keep) {
        Loser::New
    } else if new.direction() == Some(keep) {
        Loser::Existing
    } else {
        Loser::New
    })
}

/// Resolves a collision between two connections to the same peer and closes the loser:
/// with Cease 6/7 Connection Collision Resolution (event 23 OpenCollisionDump), or, for
/// an Established session of a GR peer replaced by a new connection, without a
/// NOTIFICATION and with the peer's routes kept as stale (RFC 4724 §4.2).
///
/// Call it after every input to either session while both exist; the caller then drops
/// the loser once its actions are drained.
pub fn resolve_collision(now: Instant, existing: &mut Session, new: &mut Session) -> Option<Loser> {
    let loser = collision_loser(existing, new)?;
    match loser {
        Loser::Existing => {
            let graceful = existing.state() == State::Established;
            existing.close_for_collision(now, graceful);
        }
        Loser::New => new.close_for_collision(now, false),
    }
    Some(loser)
}
