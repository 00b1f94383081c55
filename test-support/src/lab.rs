//! Deciding whether a lab test can run, and recording that it did.

use std::io::Write;
use std::sync::{Mutex, MutexGuard};

use crate::exec::which;

/// Something a lab test needs from the machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Need {
    /// Effective UID 0 and a working `ip netns`.
    Root,
    /// BIRD 2 (`bird`, `birdc`).
    Bird,
    /// FRR (`/usr/lib/frr/{zebra,bgpd,bfdd,staticd}`, `vtysh`).
    Frr,
    /// GoBGP (`gobgpd`, `gobgp`).
    Gobgp,
    /// `tshark`.
    Tshark,
    /// `nft` (silent-loss faults).
    Nft,
}

impl Need {
    /// `None` when satisfied, else why not.
    fn missing(self) -> Option<String> {
        let bins: &[&str] = match self {
            Need::Root => {
                if !nix::unistd::geteuid().is_root() {
                    return Some("not running as root".into());
                }
                let ok = which("ip").is_some_and(|ip| {
                    std::process::Command::new(ip)
                        .args(["netns", "list"])
                        .output()
                        .is_ok_and(|o| o.status.success())
                });
                return (!ok).then(|| "`ip netns` is not usable".into());
            }
            Need::Bird => &["bird", "birdc"],
            Need::Frr => &["zebra", "bgpd", "bfdd", "staticd", "vtysh"],
            Need::Gobgp => &["gobgpd", "gobgp"],
            Need::Tshark => &["tshark"],
            Need::Nft => &["nft"],
        };
        let missing: Vec<&str> = bins
            .iter()
            .copied()
            .filter(|b| which(b).is_none())
            .collect();
        (!missing.is_empty()).then(|| format!("{} not installed", missing.join(", ")))
    }
}

/// Why the machine cannot run a lab needing `needs` (empty when it can). Does not
/// skip, panic or record anything: for tools such as `lab-selfcheck`.
pub fn missing(needs: &[Need]) -> Vec<String> {
    needs.iter().filter_map(|n| n.missing()).collect()
}

static LAB_LOCK: Mutex<()> = Mutex::new(());

thread_local! {
    /// The test whose [`LabGuard`] this thread holds: a second [`lab`] call on the same
    /// thread would otherwise wait for itself forever.
    static HOLDER: std::cell::RefCell<Option<String>> = const { std::cell::RefCell::new(None) };
}

/// Proof that a lab test may run; keep it alive for the whole test.
///
/// It also holds a process-wide lock, so lab tests of one test binary run one at a time
/// even without `--test-threads=1` (so call [`lab`] once per test: a second call on the
/// same thread while the guard lives panics and names both tests).
#[derive(Debug)]
pub struct LabGuard {
    test: String,
    _serial: MutexGuard<'static, ()>,
}

impl LabGuard {
    /// The test's name as given to [`lab`].
    pub fn test_name(&self) -> &str {
        &self.test
    }
}

impl Drop for LabGuard {
    fn drop(&mut self) {
        HOLDER.with(|h| h.borrow_mut().take());
    }
}

/// Checks `needs` for the test `test`.
///
/// Missing something: prints `SKIP <test>: <reason>` to stderr and returns `None`, or
/// panics with that message when `DUALTOR_REQUIRE_LAB=1` (as in CI). Otherwise takes the
/// lab lock, prints `LAB-RAN <test>` to stderr, appends `<test>` as a line to the file
/// named by `DUALTOR_LAB_LOG` if set, and returns the guard.
pub fn lab(test: &str, needs: &[Need]) -> Option<LabGuard> {
    let reasons = missing(needs);
    if !reasons.is_empty() {
        let msg = format!("SKIP {test}: {}", reasons.join("; "));
        if std::env::var("DUALTOR_REQUIRE_LAB").is_ok_and(|v| v == "1") {
            panic!("{msg} (DUALTOR_REQUIRE_LAB=1)");
        }
        eprintln!("{msg}");
        return None;
    }
    if let Some(holder) = HOLDER.with(|h| h.borrow().clone()) {
        panic!(
            "lab({test:?}) called while this thread already holds the lab guard of \
             {holder:?}: call lab() once per test and keep its guard"
        );
    }
    // A test that panicked while holding the lock poisoned it; the lab itself is fine.
    let serial = LAB_LOCK.lock().unwrap_or_else(|p| p.into_inner());
    if needs.contains(&Need::Root) {
        static SWEEP: std::sync::Once = std::sync::Once::new();
        SWEEP.call_once(|| {
            for s in crate::netns::sweep_stale() {
                eprintln!("lab: removed leftover of a dead test process: {s}");
            }
        });
    }
    eprintln!("LAB-RAN {test}");
    if let Some(path) = std::env::var_os("DUALTOR_LAB_LOG") {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{test}"));
        if let Err(e) = appended {
            eprintln!("warning: cannot append to DUALTOR_LAB_LOG {path:?}: {e}");
        }
    }
    HOLDER.with(|h| *h.borrow_mut() = Some(test.to_owned()));
    Some(LabGuard {
        test: test.to_owned(),
        _serial: serial,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn second_lab_call_on_one_thread_panics_instead_of_deadlocking() {
        let outer = super::lab("outer", &[]).expect("no needs");
        let second = std::panic::catch_unwind(|| super::lab("inner", &[]).is_some());
        let msg = *second
            .expect_err("a second lab() on this thread must panic")
            .downcast::<String>()
            .expect("panic message");
        assert!(
            msg.contains("\"inner\"") && msg.contains("\"outer\""),
            "{msg}"
        );
        drop(outer);
        assert_eq!(
            super::lab("after", &[])
                .map(|g| g.test_name().to_owned())
                .as_deref(),
            Some("after")
        );
    }
}
