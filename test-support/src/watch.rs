//! A route-change watcher with timestamps.
//!
//! `ip -ts monitor route nexthop` runs in the namespace; every event line wakes a
//! thread that dumps the main table (`ip -j route show`, with the paths of routes that
//! only name a nexthop object resolved from `ip -j nexthop show`, see
//! [`resolve_nexthops`](crate::routes::resolve_nexthops)) and records the snapshot if
//! it differs from the previous one, stamped with the [`Instant`] at which the event
//! line was read. Nexthop events matter: a failover that only changes a nexthop
//! group's members emits RTM_NEWNEXTHOP and, with `net.ipv4.nexthop_compat_mode=0`,
//! no RTM_NEWROUTE at all, yet every route using the group changed its paths. Bursts coalesce: lines already queued when a dump starts are folded into it.
//! The timestamps are therefore at most one event-read late (well under a millisecond
//! on an idle machine), plenty for "within the detection time + 1 s" assertions.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ipnet::IpNet;

use crate::error::{Error, Result};
use crate::netns::Netns;
use crate::routes::{Route, main_table};

/// One recorded state of the main table.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// When the change was seen.
    pub at: Instant,
    /// The IPv4 main table after it.
    pub routes: Vec<Route>,
}

/// Watches a namespace's IPv4 main table until dropped.
#[derive(Debug)]
pub struct RouteWatcher {
    history: Arc<Mutex<Vec<Snapshot>>>,
    monitor: Child,
    threads: Vec<JoinHandle<()>>,
}

fn dump(ns: &str) -> Option<Vec<Route>> {
    main_table(ns).ok()
}

fn prefix(p: &str) -> IpNet {
    p.parse().unwrap_or_else(|_| panic!("not a prefix: {p}"))
}

impl RouteWatcher {
    /// Starts watching; the first snapshot is the table at start.
    pub fn start(ns: &Netns) -> Result<RouteWatcher> {
        let mut monitor = ns
            .cmd("ip")
            // Not `-4`: nexthop groups have no address family and `-4` hides them.
            .args(["-ts", "monitor", "route", "nexthop"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| Error::io("spawning ip monitor", e))?;
        let stdout = monitor.stdout.take().expect("piped stdout");
        let history = Arc::new(Mutex::new(Vec::new()));
        let first = dump(ns.name()).ok_or_else(|| Error::Parse {
            what: "ip -j route / ip -j nexthop",
            detail: "initial dump failed".into(),
        })?;
        history.lock().expect("fresh mutex").push(Snapshot {
            at: Instant::now(),
            routes: first,
        });
        let (tx, rx) = mpsc::channel::<Instant>();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Continuation lines of multipath routes start with whitespace.
                if line.starts_with(char::is_whitespace) {
                    continue;
                }
                if tx.send(Instant::now()).is_err() {
                    break;
                }
            }
        });
        let name = ns.name().to_owned();
        let hist = Arc::clone(&history);
        let dumper = std::thread::spawn(move || {
            while let Ok(at) = rx.recv() {
                while rx.try_recv().is_ok() {}
                let Some(routes) = dump(&name) else { continue };
                let mut h = hist.lock().unwrap_or_else(|p| p.into_inner());
                if h.last().is_none_or(|s| s.routes != routes) {
                    h.push(Snapshot { at, routes });
                }
            }
        });
        Ok(RouteWatcher {
            history,
            monitor,
            threads: vec![reader, dumper],
        })
    }

    /// Every recorded snapshot, oldest first.
    pub fn history(&self) -> Vec<Snapshot> {
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The changes of one prefix (e.g. `"172.31.20.1/32"`): `(when, route or None)`,
    /// deduplicated, oldest first; the first entry is its state at start. Panics if
    /// `dst` is not a prefix (a bug in the test, not lab input); so do the methods
    /// below.
    pub fn changes(&self, dst: &str) -> Vec<(Instant, Option<Route>)> {
        let want = prefix(dst);
        let mut v: Vec<(Instant, Option<Route>)> = Vec::new();
        for s in self.history() {
            let r = s
                .routes
                .iter()
                .filter(|r| r.dst == want)
                .min_by_key(|r| r.metric)
                .cloned();
            if v.last().is_none_or(|(_, last)| *last != r) {
                v.push((s.at, r));
            }
        }
        v
    }

    /// First time at or after `since` when `dst`'s route satisfied `pred`.
    pub fn when(
        &self,
        dst: &str,
        since: Instant,
        pred: impl Fn(Option<&Route>) -> bool,
    ) -> Option<Instant> {
        let ch = self.changes(dst);
        // The state in force at `since` counts as reached at `since`.
        let mut at_since = None;
        for (t, r) in &ch {
            if *t <= since {
                at_since = Some(r.clone());
            } else {
                break;
            }
        }
        if let Some(r) = at_since
            && pred(r.as_ref())
        {
            return Some(since);
        }
        ch.into_iter()
            .find(|(t, r)| *t > since && pred(r.as_ref()))
            .map(|(t, _)| t)
    }

    /// When `dst` became single-path (exactly one path) at or after `since`.
    pub fn when_single_path(&self, dst: &str, since: Instant) -> Option<Instant> {
        self.when(dst, since, |r| r.is_some_and(|r| r.paths.len() == 1))
    }

    /// When `dst` became ECMP (two or more paths) at or after `since`.
    pub fn when_ecmp(&self, dst: &str, since: Instant) -> Option<Instant> {
        self.when(dst, since, |r| r.is_some_and(Route::is_ecmp))
    }

    /// Waits (polling the history every 10 ms) until `dst` satisfies `pred` at or
    /// after `since`; returns when it did, or `Err(Timeout)` with its changes.
    pub fn wait_for(
        &self,
        dst: &str,
        since: Instant,
        timeout: Duration,
        pred: impl Fn(Option<&Route>) -> bool,
    ) -> Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(t) = self.when(dst, since, &pred) {
                return Ok(t);
            }
            if Instant::now() > deadline {
                let ch: Vec<String> = self
                    .changes(dst)
                    .iter()
                    .map(|(_, r)| r.as_ref().map_or("(none)".into(), |r| r.to_string()))
                    .collect();
                return Err(Error::Timeout {
                    what: format!("a change of {dst}; its history: {}", ch.join(" | ")),
                    waited: timeout,
                });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for RouteWatcher {
    fn drop(&mut self) {
        let _ = self.monitor.kill();
        let _ = self.monitor.wait();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}
