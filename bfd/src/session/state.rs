//! The state machine of RFC 5880 §6.2 / §6.8.6, in one table.

use crate::packet::{Diag, State};

/// An input to the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// A packet passed the §6.8.6 checks, carrying the remote's Sta.
    Received(State),
    /// The Detection Time passed with no packet (§6.8.4).
    DetectTimerExpired,
    /// The operator disabled the session (§6.8.16).
    AdminDisable(Diag),
    /// The operator re-enabled the session (§6.8.16).
    AdminEnable,
    /// A lower layer reports the path down (§6.8.17; we go Down, see crate docs).
    PathDown(Diag),
}

//= https://www.rfc-editor.org/rfc/rfc5880#section-6.2
//#                             +--+
//#                             |  | UP, ADMIN DOWN, TIMER
//#                             |  V
//#                     DOWN  +------+  INIT
//#              +------------|      |------------+
//#              |            | DOWN |            |
//#              |  +-------->|      |<--------+  |
//#              |  |         +------+         |  |
//#              |  |                          |  |
//#              |  |               ADMIN DOWN,|  |
//#              |  |ADMIN DOWN,          DOWN,|  |
//#              |  |TIMER                TIMER|  |
//#              V  |                          |  V
//#            +------+                      +------+
//#       +----|      |                      |      |----+
//#   DOWN|    | INIT |--------------------->|  UP  |    |INIT, UP
//#       +--->|      | INIT, UP             |      |<---+
//#            +------+                      +------+
//
// AdminDown (local) is entered from any state by AdminDisable and left only
// by AdminEnable (§6.8.16); received packets are discarded in it (§6.8.6).
/// The transition for `input` in `state`: `Some((next, diag))` on a state
/// change, `None` when the state stays.
pub(crate) fn transition(state: State, input: Input) -> Option<(State, Diag)> {
    use Input::*;
    use State::*;
    match (state, input) {
        (AdminDown, AdminEnable) => Some((Down, Diag::None)),
        (AdminDown, _) => None,
        (_, AdminDisable(diag)) => Some((AdminDown, diag)),
        (_, AdminEnable) => None,
        (Down, PathDown(_)) => None,
        (Init | Up, PathDown(diag)) => Some((Down, diag)),
        (Init | Up, DetectTimerExpired) => Some((Down, Diag::ControlDetectionTimeExpired)),
        (Down, DetectTimerExpired) => None,
        // §6.8.6: "If received state is AdminDown ... if bfd.SessionState is
        // not Down, set bfd.LocalDiag to 3 ... and bfd.SessionState to Down".
        (Init | Up, Received(AdminDown)) => Some((Down, Diag::NeighborSignaledSessionDown)),
        (Down, Received(AdminDown)) => None,
        (Down, Received(Down)) => Some((Init, Diag::None)),
        (Down, Received(Init)) => Some((Up, Diag::None)),
        (Down, Received(Up)) => None,
        (Init, Received(Init | Up)) => Some((Up, Diag::None)),
        (Init, Received(Down)) => None,
        (Up, Received(Down)) => Some((Down, Diag::NeighborSignaledSessionDown)),
        (Up, Received(Init | Up)) => None,
    }
}
