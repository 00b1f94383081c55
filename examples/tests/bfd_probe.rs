//! Runs the `bfd-probe` binary: usage errors (exit 2, a message naming the
//! problem, nothing on stdout) and, in a namespace lab, a session with FRR
//! bfdd over IPv4 and IPv6 link-local, reading its output line by line.
//! `a` runs the probe (10.99.0.1 / fe80::1), `b` FRR (10.99.0.2 / fe80::2),
//! 50 ms x 3 (detection 150 ms). Lab tests skip without root or FRR unless
//! `DUALTOR_REQUIRE_LAB=1`; the lab guard runs them one at a time.
#![allow(clippy::disallowed_methods)] // timing a real daemon needs the clock

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use test_support::daemons::Frr;
use test_support::{Need, Netns, lab};

const BIN: &str = env!("CARGO_BIN_EXE_bfd-probe");
const US: &str = "10.99.0.1";
const THEM: &str = "10.99.0.2";
const US6: &str = "fe80::1";
const THEM6: &str = "fe80::2";
/// Detection time (3 x 50 ms) + 1 s.
const BOUND: Duration = Duration::from_millis(1150);
/// The first transition waits for FRR's first packet, sent at the slow
/// Down-state rate of 1 s (RFC 5880 §6.8.3), then the usual bound.
const FIRST: Duration = Duration::from_millis(2150);
/// After SIGINT the probe sends AdminDown for one Detection Time as the
/// peer computes it from what we now advertise: Desired Min TX is 1 s once
/// not Up (RFC 5880 §6.8.3, §6.8.16), so 3 x 1 s, + 1 s.
const ADMIN_DOWN_BOUND: Duration = Duration::from_millis(4000);

fn usage(args: &[&str]) -> (Output, String) {
    let o = Command::new(BIN)
        .args(args)
        .output()
        .expect("run bfd-probe");
    let err = String::from_utf8(o.stderr.clone()).unwrap();
    (o, err)
}

fn assert_usage_error(args: &[&str], needles: &[&str]) {
    let (o, err) = usage(args);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(o.stdout.is_empty(), "{args:?}: stdout {:?}", o.stdout);
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: {n:?} not in {err}");
    }
}

#[test]
fn usage_missing_peer_exits_2() {
    assert_usage_error(
        &["--tx-ms", "50"],
        &[
            "the following required arguments were not provided",
            "--peer <PEER>",
        ],
    );
}

#[test]
fn usage_bad_auth_specs_exit_2_and_say_why() {
    assert_usage_error(
        &["--peer", THEM, "--auth", "md5"],
        &[
            "invalid value 'md5' for '--auth <AUTH>'",
            "expected TYPE:KEYID:SECRET",
        ],
    );
    assert_usage_error(
        &["--peer", THEM, "--auth", "rot13:1:secret"],
        &[
            "--auth <AUTH>",
            "unknown auth type \"rot13\" (simple, md5, meticulous-md5, sha1, meticulous-sha1)",
        ],
    );
    assert_usage_error(
        &["--peer", THEM, "--auth", "sha1:256:secret"],
        &["--auth <AUTH>", "key id \"256\" is not 0-255"],
    );
}

#[test]
fn usage_mult_zero_and_bad_peer_exit_2() {
    // RFC 5880 §4.1: Detect Mult "MUST NOT be zero".
    assert_usage_error(
        &["--peer", THEM, "--mult", "0"],
        &[
            "invalid value '0' for '--mult <MULT>'",
            "0 is not in 1..=255",
        ],
    );
    assert_usage_error(
        &["--peer", "10.99.0.300"],
        &["invalid value '10.99.0.300' for '--peer <PEER>'"],
    );
}

/// One parsed state-change line: `<13-digit unix ms> <old> -> <new> diag=<name>`.
fn transition(line: &str) -> Option<(String, String, String)> {
    let w: Vec<&str> = line.split(' ').collect();
    let [ms, from, "->", to, diag] = w.as_slice() else {
        return None;
    };
    let states = ["AdminDown", "Down", "Init", "Up"];
    let ok = ms.len() == 13
        && ms.bytes().all(|b| b.is_ascii_digit())
        && states.contains(from)
        && states.contains(to);
    let diag = diag.strip_prefix("diag=").filter(|d| !d.is_empty())?;
    ok.then(|| (from.to_string(), to.to_string(), diag.to_string()))
}

/// The probe running in a namespace, its stdout lines fed to a channel.
/// Killed on drop (a failing test leaves nothing behind).
struct Probe {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Probe {
    fn spawn(ns: &Netns, args: &[&str]) -> Probe {
        let mut child = ns
            .cmd(BIN)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn bfd-probe");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Probe {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// The next line within `within`, or None.
    fn line(&mut self, within: Duration) -> Option<String> {
        let l = self.lines.recv_timeout(within).ok()?;
        self.seen.push(l.clone());
        Some(l)
    }

    /// Reads lines until a state-change line satisfies `f`; every line read
    /// on the way must be a well-formed state change.
    fn wait(
        &mut self,
        within: Duration,
        f: impl Fn(&str, &str) -> bool,
    ) -> (String, String, String) {
        let end = Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let Some(l) = self.line(left) else {
                panic!("no matching line within {within:?}; seen {:#?}", self.seen);
            };
            let t = transition(&l).unwrap_or_else(|| panic!("malformed line {l:?}"));
            if f(&t.0, &t.1) {
                return t;
            }
        }
    }

    fn sigint(&self) {
        let st = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(st.success());
    }

    fn exit_within(&mut self, within: Duration) -> i32 {
        let end = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code().expect("exited, not killed by a signal");
            }
            assert!(Instant::now() < end, "still running after {within:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Probe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn frr_peer(frr: &Frr, peer: &str, us: &str) -> serde_json::Value {
    let j = frr.vtysh("show bfd peers json").unwrap();
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .find(|p| p["peer"] == us)
        .cloned()
        .unwrap_or_else(|| panic!("FRR has no peer {us} ({peer}): {j}"))
}

fn until(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + within;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// The whole life of a probe against FRR: Up, FRR's AdminDown seen as
/// Down (RFC 5880 §6.8.6 diag 3), back Up, SIGINT -> our AdminDown seen by
/// FRR (§6.8.16), counters printed, exit 0.
fn probe_life(a: &Netns, frr: &Frr, probe_args: &[&str], frr_peer_line: &str, us: &str) {
    let mut p = Probe::spawn(a, probe_args);
    let (from, to, diag) = p.wait(FIRST, |_, _| true);
    assert!(
        matches!(
            (from.as_str(), to.as_str()),
            ("Down", "Init" | "Up") | ("Init", "Up")
        ),
        "first change {from} -> {to}"
    );
    assert_eq!(diag, "none", "a fresh session has no diagnostic");
    if to != "Up" {
        p.wait(BOUND, |_, to| to == "Up");
    }
    assert!(until(BOUND, || frr_peer(frr, frr_peer_line, us)["status"] == "up"));

    // Their AdminDown: Down, diag 3 (RFC 5880 §6.8.6).
    let peer = format!("peer {frr_peer_line}");
    frr.vtysh_lines(&["configure terminal", "bfd", &peer, "shutdown"])
        .unwrap();
    let t = p.wait(BOUND, |_, _| true);
    assert_eq!(
        t,
        (
            "Up".into(),
            "Down".into(),
            "neighbor-signaled-session-down".into()
        )
    );
    frr.vtysh_lines(&["configure terminal", "bfd", &peer, "no shutdown"])
        .unwrap();
    p.wait(FIRST, |_, to| to == "Up");
    assert!(until(BOUND, || frr_peer(frr, frr_peer_line, us)["status"] == "up"));

    // SIGINT: AdminDown for one detection time, counters, exit 0.
    p.sigint();
    let t = p.wait(BOUND, |_, _| true);
    assert_eq!(
        t,
        (
            "Up".into(),
            "AdminDown".into(),
            "administratively-down".into()
        )
    );
    let sent = Instant::now();
    assert_eq!(p.exit_within(ADMIN_DOWN_BOUND), 0);
    let took = sent.elapsed();
    assert!(took >= Duration::from_millis(150), "left after {took:?}");
    while p.line(Duration::from_millis(500)).is_some() {}
    let counters = p
        .seen
        .iter()
        .find(|l| l.starts_with("counters "))
        .unwrap_or_else(|| panic!("no counters line: {:#?}", p.seen));
    let field = |name: &str| -> u64 {
        counters
            .split(' ')
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("{name} missing in {counters:?}"))
            .parse()
            .unwrap()
    };
    let changes = p.seen.iter().filter(|l| transition(l).is_some()).count();
    assert_eq!(field("state_changes"), changes as u64, "{:#?}", p.seen);
    assert!(
        field("packets_in") > 0 && field("packets_out") > 0,
        "{counters}"
    );
    // RFC 5880 §6.8.6: packets arriving while AdminDown are discarded, and
    // FRR keeps sending Down at 1 s; nothing else was dropped.
    let admin_drops: u64 = counters
        .rsplit_once(" drops=local-admin-down=")
        .unwrap_or_else(|| panic!("only AdminDown drops expected: {counters}"))
        .1
        .parse()
        .unwrap_or_else(|_| panic!("only AdminDown drops expected: {counters}"));
    assert!(admin_drops >= 1, "{counters}");
    assert!(
        p.seen.last().unwrap().starts_with("unmatched drops="),
        "{:#?}",
        p.seen
    );
    // FRR saw our AdminDown (RFC 5880 §6.8.16).
    assert!(until(BOUND, || frr_peer(frr, frr_peer_line, us)["status"]
        == "down"));
    let fp = frr_peer(frr, frr_peer_line, us);
    assert_eq!(fp["remote-diagnostic"], "administratively down", "{fp}");
}

fn frr_conf(peer_line: &str) -> String {
    format!(
        "bfd\n peer {peer_line}\n  receive-interval 50\n  transmit-interval 50\n  detect-multiplier 3\n  no shutdown\n !\n!\n"
    )
}

#[test]
fn probe_with_frr_ipv4_up_down_admin_down_and_counters() {
    let Some(_lab) = lab("bfd_probe_frr_ipv4", &[Need::Root, Need::Frr]) else {
        return;
    };
    let a = Netns::new("probe").unwrap();
    let b = Netns::new("probe").unwrap();
    test_support::veth(&a, "eth0", &b, "eth0").unwrap();
    a.addr_add("eth0", &format!("{US}/24")).unwrap();
    b.addr_add("eth0", &format!("{THEM}/24")).unwrap();
    let line = format!("{US} interface eth0");
    let frr = Frr::start_raw(&b, &["bfdd"], &frr_conf(&line)).unwrap();
    let args = [
        "--peer", THEM, "--local", US, "--tx-ms", "50", "--rx-ms", "50", "--mult", "3",
    ];
    probe_life(&a, &frr, &args, &line, US);
}

#[test]
fn probe_with_frr_ipv6_link_local_interface() {
    let Some(_lab) = lab("bfd_probe_frr_ipv6", &[Need::Root, Need::Frr]) else {
        return;
    };
    let a = Netns::new("probe").unwrap();
    let b = Netns::new("probe").unwrap();
    test_support::veth(&a, "eth0", &b, "eth0").unwrap();
    for (ns, ip) in [(&a, US6), (&b, THEM6)] {
        ns.sh(&format!(
            "ip -6 addr flush dev eth0 scope link && ip -6 addr add {ip}/64 dev eth0 nodad"
        ))
        .unwrap();
    }
    let line = format!("{US6} local-address {THEM6} interface eth0");
    let frr = Frr::start_raw(&b, &["bfdd"], &frr_conf(&line)).unwrap();
    let args = [
        "--peer",
        THEM6,
        "--local",
        US6,
        "--interface",
        "eth0",
        "--tx-ms",
        "50",
        "--rx-ms",
        "50",
        "--mult",
        "3",
    ];
    probe_life(&a, &frr, &args, &line, US6);
}
