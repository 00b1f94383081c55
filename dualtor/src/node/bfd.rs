//! BFD for a peering: a request to the `bfd` runtime (RFC 5882 client
//! model) whose state changes are forwarded to the node, tagged with the
//! peer. The node decides what a change means (BFD Down takes the BGP
//! session down at once, handled as a graceful loss).

use std::net::IpAddr;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::config::BfdTimers;

/// Commands for a peer's BFD task.
#[derive(Debug)]
pub(crate) enum BfdCommand {
    /// RFC 5880 §6.8.16: AdminDown (graceful stop).
    AdminDown,
    /// New timers (Poll sequence while Up, RFC 5880 §6.8.3).
    SetTimers(BfdTimers),
}

/// What the task reports.
#[derive(Debug)]
pub(crate) enum BfdReport {
    /// A state change of the session.
    Change(bfd::StateChange),
    /// The runtime refused the session.
    Failed(bfd::runtime::Error),
}

/// The `bfd` session configuration of a plan's timers. Calico's
/// `idleSendInterval` (`BfdTimers::idle_tx`, default 1 min) is the rate while
/// not Up (RFC 5880 §6.8.3: at least 1 s; the config check rejects less, and
/// the floor here keeps a typed value from the API within the RFC too). It
/// does not slow recovery: a state change is sent at once (§6.8.7), so a
/// session comes back Up within the ToR's own idle interval (the `bfd` sim
/// test `node_idling_at_a_minute_recovers_with_the_tor_and_stays_up`).
pub(crate) fn session_config(t: &BfdTimers) -> bfd::session::Config {
    bfd::session::Config {
        desired_min_tx: t.desired_min_tx,
        required_min_rx: t.required_min_rx,
        detect_mult: t.detect_mult.max(1),
        idle_tx: t.idle_tx.max(bfd::session::MIN_IDLE_TX),
        ..bfd::session::Config::default()
    }
}

/// An upper bound of the Detection Time (RFC 5880 §6.8.4) with these
/// timers: how long an AdminDown must be sent for the peer to see it.
pub(crate) fn detection_time(t: &BfdTimers) -> Duration {
    let interval = t.desired_min_tx.max(t.required_min_rx);
    interval * u32::from(t.detect_mult.max(1))
}

/// Starts the BFD task of one peer; it ends when the command sender is
/// dropped (the `bfd` handle is then released: AdminDown for one
/// Detection Time, sent by the runtime). Reports go to `to`, wrapped by
/// `wrap`; the task waits while `to` is full. Commands come only from
/// reloads and stops (a few per configuration change).
pub(crate) fn spawn<T: Send + 'static>(
    runtime: bfd::runtime::Runtime,
    peer: IpAddr,
    interface: Option<String>,
    timers: BfdTimers,
    to: mpsc::Sender<T>,
    wrap: impl Fn(BfdReport) -> T + Send + 'static,
) -> mpsc::UnboundedSender<BfdCommand> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let report = move |r| {
        let to = to.clone();
        let m = wrap(r);
        async move { to.send(m).await.is_ok() }
    };
    tokio::spawn(async move {
        let req = bfd::runtime::SessionRequest {
            peer,
            local: None,
            interface,
            config: session_config(&timers),
        };
        let mut handle = match runtime.request(req).await {
            Ok(h) => h,
            Err(e) => {
                report(BfdReport::Failed(e)).await;
                return;
            }
        };
        loop {
            tokio::select! {
                change = handle.next_change() => match change {
                    Some(c) => {
                        if !report(BfdReport::Change(c)).await {
                            return;
                        }
                    }
                    None => return,
                },
                cmd = rx.recv() => match cmd {
                    Some(BfdCommand::AdminDown) => handle.admin_down(),
                    Some(BfdCommand::SetTimers(t)) => handle.set_config(session_config(&t)),
                    None => return,
                },
            }
        }
    });
    tx
}

#[cfg(test)]
mod tests {
    use super::*;

    // Calico's BFDConfiguration defaults (10 ms rx, 100 ms tx, x5): the
    // detection time bound is 5 x 100 ms (RFC 5880 §6.8.4 with the slower
    // of the two intervals).
    #[test]
    fn calico_default_timers() {
        let t = BfdTimers {
            required_min_rx: Duration::from_millis(10),
            desired_min_tx: Duration::from_millis(100),
            idle_tx: Duration::from_secs(60),
            detect_mult: 5,
        };
        let c = session_config(&t);
        assert_eq!(c.desired_min_tx, Duration::from_millis(100));
        assert_eq!(c.required_min_rx, Duration::from_millis(10));
        assert_eq!(c.detect_mult, 5);
        // idleSendInterval 1 min: the rate while not Up (RFC 5880 §6.8.3).
        assert_eq!(c.idle_tx, Duration::from_secs(60));
        assert!(!c.passive);
        assert_eq!(detection_time(&t), Duration::from_millis(500));
    }
}
