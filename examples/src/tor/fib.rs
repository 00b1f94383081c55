//! The ToR's kernel FIB: the engine's best routes programmed with `fib`
//! (nexthop objects, protocol 214) on a thread of their own (the programmer
//! is synchronous), and the link monitor whose carrier changes take sessions
//! down at once, as BIRD's direct sessions do.

use std::sync::mpsc as std_mpsc;
use std::thread;
use std::time::Duration;

use dualtor::rib::FibStep;
use tokio::sync::{mpsc, oneshot};

/// What the programmer thread is asked.
#[derive(Debug)]
pub(crate) enum Command {
    /// Apply engine changes (groups, routes, group removals) and commit.
    Apply(Vec<llgr::FibChange>),
    /// The table is whole: sweep what a previous run left (`fib::Fib::complete`).
    Complete,
    /// Remove every route of ours, then exit.
    Flush(oneshot::Sender<()>),
    /// Kernel events (link flaps repair nexthop objects).
    Kernel(Vec<fib::Event>),
}

/// What the threads report to the runtime.
#[derive(Debug)]
pub(crate) enum Report {
    /// A commit's outcome and how long it took.
    Committed(Result<fib::Report, fib::Error>, Duration),
    /// A link changed: `usable` = up with carrier.
    Link { ifindex: u32, usable: bool },
}

/// The programmer thread, as opened.
#[derive(Debug)]
pub(crate) struct Started {
    pub(crate) tx: std_mpsc::Sender<Command>,
    /// Our routes found in the kernel: a previous run's, kept forwarding until
    /// [`Command::Complete`] (our own graceful restart, RFC 4724 §4.1).
    pub(crate) previous_routes: usize,
    /// The kernel takes nexthop objects (else legacy multipath routes).
    pub(crate) nexthop_objects: bool,
}

fn timed(f: impl FnOnce() -> Result<fib::Report, fib::Error>) -> Report {
    let t = std::time::Instant::now();
    let r = f();
    Report::Committed(r, t.elapsed())
}

/// Opens the programmer and the monitor in the calling thread's namespace.
pub(crate) fn start(reports: mpsc::UnboundedSender<Report>) -> Result<Started, fib::Error> {
    let (tx, rx) = std_mpsc::channel::<Command>();
    let (ready_tx, ready_rx) = std_mpsc::channel();
    let r2 = reports.clone();
    thread::Builder::new()
        .name("tor-fib".into())
        .spawn(move || {
            let mut fib = match fib::Fib::open(fib::Config::default()) {
                Ok(f) => {
                    let objects = f.status().style == fib::Style::NexthopObjects;
                    let _ = ready_tx.send(Ok((f.installed_len(), objects)));
                    f
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            // The engine's groups and routes as kernel objects.
            let mut translator = dualtor::rib::FibTranslator::new();
            let mut next = None;
            while let Some(cmd) = next.take().or_else(|| rx.recv().ok()) {
                match cmd {
                    Command::Apply(changes) => {
                        // What was queued meanwhile goes into the same commit
                        // (a burst of UPDATEs: one round of messages and
                        // acknowledgements), in order.
                        FibStep::apply_all(translator.translate(&changes), &mut fib);
                        while let Ok(more) = rx.try_recv() {
                            match more {
                                Command::Apply(changes) => {
                                    FibStep::apply_all(translator.translate(&changes), &mut fib);
                                }
                                other => {
                                    next = Some(other);
                                    break;
                                }
                            }
                        }
                        let _ = r2.send(timed(|| fib.commit()));
                    }
                    Command::Complete => {
                        let _ = r2.send(timed(|| fib.complete()));
                    }
                    Command::Kernel(events) => {
                        let mut repair = false;
                        for ev in &events {
                            repair |= fib.handle_event(ev);
                        }
                        if repair {
                            let _ = r2.send(timed(|| fib.commit()));
                        }
                    }
                    Command::Flush(done) => {
                        fib.clear();
                        let _ = fib.complete();
                        let _ = done.send(());
                        return;
                    }
                }
            }
        })
        .map_err(fib::Error::Io)?;
    let (previous_routes, nexthop_objects) = ready_rx
        .recv()
        .map_err(|_| fib::Error::Io(std::io::Error::other("fib thread died")))??;
    start_monitor(reports, Some(tx.clone()))?;
    Ok(Started {
        tx,
        previous_routes,
        nexthop_objects,
    })
}

/// Starts the link monitor: carrier changes go to the runtime, and every kernel
/// event to the programmer thread (`kernel`) when there is one.
pub(crate) fn start_monitor(
    reports: mpsc::UnboundedSender<Report>,
    kernel: Option<std_mpsc::Sender<Command>>,
) -> Result<(), fib::Error> {
    let mut monitor = fib::Monitor::open(fib::MonitorConfig::default())?;
    thread::Builder::new()
        .name("tor-monitor".into())
        .spawn(move || {
            loop {
                let ev = match monitor.recv(Duration::from_millis(200)) {
                    Ok(ev) => ev,
                    Err(e) => {
                        let _ = reports.send(Report::Committed(Err(e), Duration::ZERO));
                        return;
                    }
                };
                if reports.is_closed() {
                    return;
                }
                for e in &ev {
                    if let fib::Event::Link {
                        ifindex,
                        up,
                        carrier,
                        ..
                    } = e
                    {
                        let _ = reports.send(Report::Link {
                            ifindex: *ifindex,
                            usable: *up && *carrier,
                        });
                    }
                }
                if let Some(k) = &kernel
                    && !ev.is_empty()
                    && k.send(Command::Kernel(ev)).is_err()
                {
                    return;
                }
            }
        })
        .map_err(fib::Error::Io)?;
    Ok(())
}
