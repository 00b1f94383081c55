//! A continuous UDP probe flow between two namespaces that reports every lost packet.
//!
//! The sender (a thread inside the source namespace) sends one 16-byte datagram per
//! interval, `seq: u64` big-endian plus a per-flow tag, paced against a fixed schedule
//! (`start + seq × interval`), so the send time of every sequence number is known; the
//! receiver (a thread inside the destination namespace) records what arrives. After
//! [`Probe::stop`], the [`ProbeReport`] lists every lost sequence number and the
//! outages they form.

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::netns::Netns;

static PORT: AtomicU16 = AtomicU16::new(41000);

/// A running probe flow; call [`stop`](Self::stop) for the report.
#[derive(Debug)]
pub struct Probe {
    start: Instant,
    interval: Duration,
    stop_tx: Arc<AtomicBool>,
    stop_rx: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    sender: Option<JoinHandle<()>>,
    receiver: Option<JoinHandle<(BTreeSet<u64>, u64)>>,
}

/// What a probe flow saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// When sequence number 0 was scheduled.
    pub start: Instant,
    /// Send interval (1 / rate).
    pub interval: Duration,
    /// Datagrams sent.
    pub sent: u64,
    /// Distinct sequence numbers received.
    pub received: u64,
    /// Every sequence number sent but never received, ascending.
    pub lost: Vec<u64>,
    /// Datagrams received more than once (beyond the first).
    pub duplicates: u64,
}

impl ProbeReport {
    /// Runs of consecutive lost sequence numbers: `(first seq, count)`.
    pub fn outages(&self) -> Vec<(u64, u64)> {
        let mut v: Vec<(u64, u64)> = Vec::new();
        for &s in &self.lost {
            match v.last_mut() {
                Some((first, n)) if *first + *n == s => *n += 1,
                _ => v.push((s, 1)),
            }
        }
        v
    }

    /// The longest outage as time: lost-in-a-row × interval (0 if nothing was lost).
    pub fn longest_outage(&self) -> Duration {
        let n = self.outages().iter().map(|o| o.1).max().unwrap_or(0);
        self.interval * u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// When sequence number `seq` was scheduled to be sent.
    pub fn sent_at(&self, seq: u64) -> Instant {
        self.start + self.interval * u32::try_from(seq).unwrap_or(u32::MAX)
    }
}

impl Probe {
    /// Starts a flow of `rate` datagrams per second (1..=100 000) from `src` (an
    /// address in `from`, e.g. a node loopback) to `dst` (an address in `to`). Returns
    /// once the receiver is bound.
    pub fn start(
        from: &Netns,
        src: Ipv4Addr,
        to: &Netns,
        dst: Ipv4Addr,
        rate: u32,
    ) -> Result<Probe> {
        let rate = rate.clamp(1, 100_000);
        let interval = Duration::from_secs(1) / rate;
        let port = PORT.fetch_add(1, Ordering::Relaxed);
        let tag = u64::from(std::process::id()) << 16 | u64::from(port);
        let stop_rx = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel::<std::io::Result<()>>();
        let stop = Arc::clone(&stop_rx);
        let receiver = to.spawn(move || {
            let mut seen = BTreeSet::new();
            let mut dups = 0;
            let sock = match UdpSocket::bind(SocketAddrV4::new(dst, port)).and_then(|s| {
                s.set_read_timeout(Some(Duration::from_millis(20)))
                    .map(|()| s)
            }) {
                Ok(s) => {
                    let _ = ready_tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return (seen, dups);
                }
            };
            let mut buf = [0u8; 64];
            while !stop.load(Ordering::Relaxed) {
                let Ok(n) = sock.recv(&mut buf) else { continue };
                if n != 16 || buf[8..16] != tag.to_be_bytes() {
                    continue;
                }
                let seq = u64::from_be_bytes(buf[..8].try_into().expect("8 bytes"));
                if !seen.insert(seq) {
                    dups += 1;
                }
            }
            (seen, dups)
        });
        match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(Error::io(format!("binding probe receiver {dst}:{port}"), e)),
            Err(_) => {
                return Err(Error::Timeout {
                    what: "probe receiver".into(),
                    waited: Duration::from_secs(5),
                });
            }
        }
        let stop_tx = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicU64::new(0));
        let (stop, count) = (Arc::clone(&stop_tx), Arc::clone(&sent));
        let (ready_tx, ready_rx) = mpsc::channel::<std::io::Result<Instant>>();
        let sender = from.spawn(move || {
            let sock = match UdpSocket::bind(SocketAddrV4::new(src, 0)).and_then(|s| {
                s.connect(SocketAddr::V4(SocketAddrV4::new(dst, port)))
                    .map(|()| s)
            }) {
                Ok(s) => s,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let start = Instant::now();
            let _ = ready_tx.send(Ok(start));
            let mut seq: u64 = 0;
            while !stop.load(Ordering::Relaxed) {
                let due = start + interval * u32::try_from(seq).unwrap_or(u32::MAX);
                let now = Instant::now();
                if due > now {
                    std::thread::sleep(due - now);
                }
                let mut msg = [0u8; 16];
                msg[..8].copy_from_slice(&seq.to_be_bytes());
                msg[8..].copy_from_slice(&tag.to_be_bytes());
                // Send errors (no route, unreachable) count as losses.
                let _ = sock.send(&msg);
                seq += 1;
                count.store(seq, Ordering::Relaxed);
            }
        });
        let start = match ready_rx.recv_timeout(Duration::from_secs(5)) {
            Ok(Ok(t)) => t,
            Ok(Err(e)) => {
                stop_rx.store(true, Ordering::Relaxed);
                return Err(Error::io(format!("binding probe sender {src}"), e));
            }
            Err(_) => {
                stop_rx.store(true, Ordering::Relaxed);
                return Err(Error::Timeout {
                    what: "probe sender".into(),
                    waited: Duration::from_secs(5),
                });
            }
        };
        Ok(Probe {
            start,
            interval,
            stop_tx,
            stop_rx,
            sent,
            sender: Some(sender),
            receiver: Some(receiver),
        })
    }

    /// Datagrams sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Stops sending, waits 200 ms for stragglers, and reports.
    pub fn stop(mut self) -> ProbeReport {
        self.finish()
    }

    fn finish(&mut self) -> ProbeReport {
        self.stop_tx.store(true, Ordering::Relaxed);
        if let Some(h) = self.sender.take() {
            let _ = h.join();
        }
        std::thread::sleep(Duration::from_millis(200));
        self.stop_rx.store(true, Ordering::Relaxed);
        let (seen, duplicates) = self
            .receiver
            .take()
            .and_then(|h| h.join().ok())
            .unwrap_or_default();
        let sent = self.sent();
        let lost = (0..sent).filter(|s| !seen.contains(s)).collect();
        ProbeReport {
            start: self.start,
            interval: self.interval,
            sent,
            received: seen.range(..sent).count() as u64,
            lost,
            duplicates,
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        if self.sender.is_some() || self.receiver.is_some() {
            let _ = self.finish();
        }
    }
}
