//! Lab tests of the embedded ToR `dualtor-tor` (as root, in namespaces the
//! tests create; they skip without root or BIRD 2 unless
//! `DUALTOR_REQUIRE_LAB=1`). One rack, one plane: a ToR namespace `t` with a
//! bridge `br0` holding one veth per node, and two BIRD 2 nodes `n1`, `n2`
//! (iBGP, AS 65001, clients of the ToR, configured as the lab's calico-node:
//! direct sessions, BFD graceful, GR time 0 with LLGR). Expected routes are
//! written by hand from the RFCs and BIRD's documented next-hop rules.
//!
//! The tests run serially (the harness's `lab()` guard serializes them).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use test_support::daemons::{Bird, Process};
use test_support::routes::{Path as Hop, Route};
use test_support::{Need, Netns, lab, veth};

/// One rack of the lab: the ToR's namespace and two BIRD nodes.
struct Rack {
    t: Netns,
    n1: Netns,
    n2: Netns,
    b1: Bird,
    b2: Bird,
    dir: tempfile::TempDir,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Af {
    V4,
    V6,
}

/// The node `n`'s session address and the ToR's, per family.
fn addr(af: Af, n: u8) -> String {
    match (af, n) {
        (Af::V4, 0) => "172.31.11.250".into(),
        (Af::V4, n) => format!("172.31.11.{n}"),
        (Af::V6, 0) => "2001:db8:11::250".into(),
        (Af::V6, n) => format!("2001:db8:11::{n}"),
    }
}

/// What node `n` originates: its loopback and its pod block (the guide's
/// `172.31.10.n/32` and a /26; in IPv6 a /128 and a /64), plus `extra`.
fn originated(af: Af, n: u8) -> Vec<String> {
    match af {
        Af::V4 => vec![format!("172.31.10.{n}/32"), format!("10.244.{n}.0/26")],
        Af::V6 => vec![
            format!("2001:db8:10::{n}/128"),
            format!("2001:db8:a{n}::/64"),
        ],
    }
}

/// The prefix node 2 originates in its own static protocol `extra`, disabled
/// while the ToR is down in the restart tests.
const EXTRA: &str = "10.244.99.0/26";

/// BIRD 2 as the lab's calico-node, one family (lab.md pitfalls 1-4).
fn bird_config(af: Af, n: u8) -> String {
    let fam = match af {
        Af::V4 => "ipv4",
        Af::V6 => "ipv6",
    };
    let statics: String = originated(af, n)
        .iter()
        .map(|p| format!("  route {p} blackhole;\n"))
        .collect();
    let extra = if af == Af::V4 && n == 2 {
        format!("protocol static extra {{ {fam}; route {EXTRA} blackhole; }}\n")
    } else {
        String::new()
    };
    format!(
        "router id 172.31.10.{n};\n\
         protocol device {{ scan time 1; }}\n\
         protocol kernel {{ {fam} {{ export where source = RTS_BGP; }}; }}\n\
         protocol static own {{ {fam};\n{statics}}}\n\
         {extra}\
         protocol bfd {{ interface \"eth0\" {{ min rx interval 100 ms; min tx interval 100 ms; multiplier 3; }}; }}\n\
         protocol bgp tor {{\n  local {me} as 65001;\n  neighbor {tor} as 65001;\n  direct;\n  \
         bfd graceful;\n  graceful restart on;\n  graceful restart time 0;\n  \
         long lived graceful restart on;\n  long lived stale time 3600;\n  error wait time 1, 10;\n  \
         {fam} {{ import all; export where source = RTS_STATIC; }};\n}}\n",
        me = addr(af, n),
        tor = addr(af, 0),
    )
}

impl Rack {
    fn build(af: Af) -> Rack {
        let t = Netns::new("tor").unwrap();
        let n1 = Netns::new("tn").unwrap();
        let n2 = Netns::new("tn").unwrap();
        for ns in [&t, &n1, &n2] {
            // IPv6 addresses usable at once (no duplicate address detection).
            ns.sysctl("net.ipv6.conf.all.accept_dad", "0").unwrap();
            ns.sysctl("net.ipv6.conf.default.accept_dad", "0").unwrap();
        }
        t.bridge("br0").unwrap();
        for (i, n) in [(1u8, &n1), (2, &n2)] {
            let port = format!("p{i}");
            veth(&t, &port, n, "eth0").unwrap();
            t.bridge_port("br0", &port).unwrap();
        }
        t.link_up("br0").unwrap();
        t.addr_add("br0", "172.31.11.250/24").unwrap();
        t.sh("ip -6 addr add 2001:db8:11::250/64 dev br0 nodad")
            .unwrap();
        for (i, n) in [(1u8, &n1), (2, &n2)] {
            n.addr_add("eth0", &format!("{}/24", addr(Af::V4, i)))
                .unwrap();
            n.sh(&format!(
                "ip -6 addr add {}/64 dev eth0 nodad",
                addr(Af::V6, i)
            ))
            .unwrap();
        }
        wait_link_local(&n1, "eth0");
        wait_link_local(&n2, "eth0");
        let b1 = Bird::start_raw(&n1, &bird_config(af, 1)).unwrap();
        let b2 = Bird::start_raw(&n2, &bird_config(af, 2)).unwrap();
        Rack {
            t,
            n1,
            n2,
            b1,
            b2,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn status_socket(&self) -> PathBuf {
        self.dir.path().join("tor.sock")
    }

    /// Starts `dualtor-tor` in `t`: RR for n1 and n2, BFD 100 ms x 3.
    fn start_tor(&self, af: Af) -> Process {
        let mut c = self.t.cmd(env!("CARGO_BIN_EXE_dualtor-tor"));
        c.args(["--router-id", "172.31.11.250", "--asn", "65001"])
            .arg("--peer")
            .arg(format!("n1={},65001", addr(af, 1)))
            .arg("--peer")
            .arg(format!("n2={},65001", addr(af, 2)))
            .arg("--status-socket")
            .arg(self.status_socket())
            .env("RUST_LOG", "info");
        Process::spawn_logged("dualtor-tor", c).unwrap()
    }

    fn status(&self) -> serde_json::Value {
        examples::tor::status::query(&self.status_socket()).unwrap()
    }
}

/// Waits until `dev` has a usable (non-tentative) IPv6 link-local address and returns it.
fn wait_link_local(ns: &Netns, dev: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = ns
            .sh(&format!("ip -j -6 addr show dev {dev} scope link"))
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        let ll = v[0]["addr_info"].as_array().and_then(|a| {
            a.iter()
                .filter(|i| i["tentative"].as_bool() != Some(true))
                .find_map(|i| i["local"].as_str().map(str::to_owned))
        });
        if let Some(ll) = ll {
            return ll;
        }
        assert!(
            Instant::now() < deadline,
            "no link-local address on {dev}: {out}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The kernel routes of `ns` (both families) installed by `proto`.
fn routes(ns: &Netns, proto: &str) -> Vec<Route> {
    let mut all = Vec::new();
    for fam in ["-4", "-6"] {
        let json = ns
            .sh(&format!("ip -j {fam} route show proto {proto}"))
            .unwrap();
        let mut r = test_support::routes::parse_ip_route_json(&json).unwrap();
        let nh = test_support::routes::parse_ip_nexthop_json(
            &ns.sh("ip -j nexthop show").unwrap_or_else(|_| "[]".into()),
        )
        .unwrap_or_default();
        test_support::routes::resolve_nexthops(&mut r, &nh);
        all.extend(r);
    }
    all
}

/// `(prefix, sorted next hops)` per route, sorted by prefix.
type Table = Vec<(String, Vec<Hop>)>;

/// The [`Table`] of the routes, for exact comparison.
fn table(routes: &[Route]) -> Table {
    let mut t: Vec<_> = routes
        .iter()
        .map(|r| (r.dst.to_string(), r.sorted_paths()))
        .collect();
    t.sort_by(|a, b| a.0.cmp(&b.0));
    t
}

/// Polls `f` until it returns true or `timeout` passes; panics with `what`.
fn wait_for(timeout: Duration, what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads `read` every 100 ms for up to 20 s, the ToR staying alive, until it
/// returns `want`; the last value read (for the caller's assertion).
fn read_until<T: PartialEq + Default>(tor: &mut Process, want: &T, read: impl Fn() -> T) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = T::default();
    while Instant::now() < deadline {
        tor.check_alive().unwrap();
        last = read();
        if last == *want {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    last
}

/// The expected routes: node `n`'s prefixes via `hop`.
fn via(af: Af, n: u8, hop: &Hop) -> Table {
    let mut v: Vec<_> = originated(af, n)
        .into_iter()
        .map(|p| (p, vec![hop.clone()]))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

// RFC 4456 §6 (reflection keeps NEXT_HOP), RFC 4760 §3 (MP_REACH_NLRI) and
// RFC 2545 §3 (an IPv6 next hop is a global address, followed by the
// link-local one when the peer is on the same link): n1's /128 and /64 reach
// n2 through the ToR with both of n1's next hops, global and link-local, as
// n2's BIRD reports them, and n2's reach n1 likewise. BIRD installs the
// global one for an iBGP route whose global next hop is on a connected
// subnet (its `gateway direct` rule), so each node's kernel has the other's
// routes via the other's global address on eth0. The ToR's own FIB has every
// node route via that node's link-local address on br0, and its status socket reports both
// sessions (state, BFD, End-of-RIB, counts) and its best routes with their
// next hops' interface and peer.
#[test]
fn tor_reflects_ipv6_routes_keeping_next_hops() {
    let Some(_lab) = lab(
        "tor_reflects_ipv6_routes_keeping_next_hops",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    let rack = Rack::build(Af::V6);
    let ll1 = wait_link_local(&rack.n1, "eth0");
    let ll2 = wait_link_local(&rack.n2, "eth0");
    let mut tor = rack.start_tor(Af::V6);
    let want_n2 = via(Af::V6, 1, &Hop::via(&addr(Af::V6, 1), "eth0"));
    let want_n1 = via(Af::V6, 2, &Hop::via(&addr(Af::V6, 2), "eth0"));
    let want = (want_n1, want_n2);
    let last = read_until(&mut tor, &want, || {
        (
            table(&routes(&rack.n1, "bird")),
            table(&routes(&rack.n2, "bird")),
        )
    });
    assert_eq!(
        last,
        want,
        "node kernels (n1, n2); ToR log:\n{}",
        tor.output_tail()
    );
    // RFC 2545 §3: the reflected MP_REACH_NLRI still carries both next hops.
    for (bird, n, ll) in [(&rack.b2, 1u8, &ll1), (&rack.b1, 2, &ll2)] {
        let shown = bird.birdc("show route all protocol tor").unwrap();
        let hops: Vec<&str> = shown
            .lines()
            .filter_map(|l| l.trim().strip_prefix("BGP.next_hop: "))
            .collect();
        let want = format!("{} {ll}", addr(Af::V6, n));
        assert_eq!(hops, vec![want.as_str(); 2], "{shown}");
    }

    // The ToR's own FIB (protocol 214): each node's routes via that node's
    // link-local address on br0 (the engine prefers the link-local next hop of
    // RFC 2545 §3 on a session with a known interface, as BIRD does on eBGP).
    let got = table(&routes(&rack.t, "214"));
    let mut want = via(Af::V6, 1, &Hop::via(&ll1, "br0"));
    want.extend(via(Af::V6, 2, &Hop::via(&ll2, "br0")));
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want, "ToR kernel");

    // BFD comes up after BGP here (BGP needs no BFD to start).
    let mut st = rack.status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while (0..2).any(|i| st["peers"][i]["bfd"] != "Up") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        st = rack.status();
    }
    assert_eq!(st["router_id"], "172.31.11.250");
    assert_eq!(st["restarting"], false);
    for (i, n) in [(0usize, 1u8), (1, 2)] {
        let p = &st["peers"][i];
        assert_eq!(p["name"], format!("n{n}"));
        assert_eq!(p["address"], addr(Af::V6, n));
        assert_eq!(p["state"], "Established");
        assert_eq!(p["client"], true);
        assert_eq!(p["interface"], "br0");
        assert_eq!(p["end_of_rib"], true);
        assert_eq!(p["prefixes_received"], 2);
        assert_eq!(p["prefixes_accepted"], 2);
        assert_eq!(p["prefixes_advertised"], 2, "the other node's two");
        assert_eq!(p["prefixes_stale"], 0);
        assert_eq!(p["restart"], "None");
        assert_eq!(
            p["bfd"],
            "Up",
            "{st}\nn{n} BIRD: {}",
            [&rack.b1, &rack.b2][i]
                .birdc("show bfd sessions")
                .unwrap_or_default()
        );
    }
    let mut st_routes: Vec<(String, String, String, String)> = st["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let h = &r["next_hops"][0];
            (
                r["prefix"].as_str().unwrap().to_owned(),
                h["gateway"].as_str().unwrap_or("").to_owned(),
                h["interface"].as_str().unwrap_or("").to_owned(),
                h["peer"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    st_routes.sort();
    let mut want_st: Vec<_> = [(1u8, &ll1), (2, &ll2)]
        .iter()
        .flat_map(|(n, ll)| {
            originated(Af::V6, *n)
                .into_iter()
                .map(move |p| (p, ll.to_string(), "br0".to_owned(), format!("n{n}")))
        })
        .collect();
    want_st.sort();
    assert_eq!(st_routes, want_st, "status routes: {st}");
    tor.stop();
    drop(rack.b1);
    drop(rack.b2);
}

/// `ip monitor route` in `ns`, its output in a file.
struct Monitor {
    child: Child,
    out: PathBuf,
}

impl Monitor {
    fn start(ns: &Netns, dir: &Path) -> Monitor {
        let out = dir.join(format!("monitor-{}.txt", ns.name()));
        let f = std::fs::File::create(&out).unwrap();
        let child = ns
            .cmd("ip")
            .args(["-ts", "monitor", "route"])
            .stdout(Stdio::from(f))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(200));
        Monitor { child, out }
    }

    /// The `Deleted` lines seen so far.
    fn deleted(&self) -> Vec<String> {
        std::fs::read_to_string(&self.out)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("Deleted"))
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Samples `ns`'s `proto` routes every 20 ms and records every sample that
/// differs from `want`.
fn watch(
    ns: &Netns,
    proto: &'static str,
    want: Table,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Vec<Table>> {
    let name = ns.name().to_owned();
    std::thread::spawn(move || {
        let mut bad = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let out = Command::new("ip")
                .args(["-n", &name, "-j", "-4", "route", "show", "proto", proto])
                .output()
                .unwrap();
            let r =
                test_support::routes::parse_ip_route_json(&String::from_utf8_lossy(&out.stdout))
                    .unwrap_or_default();
            let got: Vec<_> = table(&r)
                .into_iter()
                .filter(|(p, _)| want.iter().any(|(w, _)| w == p))
                .collect();
            if got != want {
                bad.push(got);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bad
    })
}

/// Whether the ToR's OPEN in the current session had the Restart State bit
/// (RFC 4724 §3), as BIRD shows it: "Restart recovery" under the neighbour's
/// Graceful restart capability. `None`: no neighbour capabilities shown.
fn restart_bit(bird: &Bird) -> Option<bool> {
    let shown = bird.birdc("show protocols all tor").ok()?;
    let caps = shown.split("Neighbor capabilities").nth(1)?;
    let caps = caps.split("Session:").next()?;
    Some(caps.lines().any(|l| l.trim() == "Restart recovery"))
}

#[derive(Clone, Copy, Debug)]
enum Kill {
    Term,
    Kill,
}

// RFC 4724 §4.1 (the restarting speaker keeps forwarding, sets the Restart
// State bit, defers End-of-RIB until its peers' End-of-RIB, then removes the
// stale routes) and §4.2 (the receiving speaker keeps the restarting
// speaker's routes until its End-of-RIB), with RFC 9494 (GR time 0: the
// routes are kept long-lived stale), style rule 26 (the ToR's kernel routes
// from the previous run are adopted, not deleted, and swept only when the
// table is whole). The ToR is stopped (`how`) while n1 and n2 exchange
// routes through it; while it is down n2 withdraws EXTRA (its static protocol
// disabled). Asserted: n2's kernel keeps n1's routes, unchanged, the whole
// time; the ToR's kernel keeps every route while it is down (EXTRA too) and
// never deletes a route it re-learns; after its restart EXTRA is swept from
// its kernel, the nodes saw the R bit in the restarted ToR's OPEN (and not
// in the first one), and the log shows the restart and its completion.
fn restart_keeps_forwarding(how: Kill) {
    let rack = Rack::build(Af::V4);
    let mut tor = rack.start_tor(Af::V4);
    let n1_at = Hop::via(&addr(Af::V4, 1), "eth0");
    let n2_at = |p: &str| (p.to_owned(), vec![Hop::via(&addr(Af::V4, 2), "br0")]);
    let want_n2 = via(Af::V4, 1, &n1_at);
    let mut want_tor: Vec<_> = originated(Af::V4, 1)
        .into_iter()
        .map(|p| (p, vec![Hop::via(&addr(Af::V4, 1), "br0")]))
        .chain(originated(Af::V4, 2).iter().map(|p| n2_at(p)))
        .collect();
    want_tor.sort_by(|a, b| a.0.cmp(&b.0));
    let mut with_extra = want_tor.clone();
    with_extra.push(n2_at(EXTRA));
    with_extra.sort_by(|a, b| a.0.cmp(&b.0));
    let want = (want_n2.clone(), with_extra.clone());
    let last = read_until(&mut tor, &want, || {
        (
            table(&routes(&rack.n2, "bird")),
            table(&routes(&rack.t, "214")),
        )
    });
    assert_eq!(
        last,
        want,
        "before the restart (n2, ToR); ToR log:\n{}",
        tor.output_tail()
    );
    // RFC 4724 §3: a first start is no restart, so no R bit.
    assert_eq!(restart_bit(&rack.b2), Some(false), "first OPEN's R bit");
    // Give the first run's BFD sessions time to come up, as in production.
    std::thread::sleep(Duration::from_secs(1));

    let mon = Monitor::start(&rack.t, rack.dir.path());
    let stop = Arc::new(AtomicBool::new(false));
    let n2_watch = watch(&rack.n2, "bird", want_n2.clone(), stop.clone());
    let tor_watch = watch(&rack.t, "214", want_tor.clone(), stop.clone());
    let first_log = tor.output_tail();
    match how {
        Kill::Term => tor.stop(),
        Kill::Kill => tor.kill(),
    }
    rack.b2.birdc("disable extra").unwrap();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        table(&routes(&rack.t, "214")),
        with_extra,
        "the ToR's kernel routes while it is down"
    );
    let mut tor = rack.start_tor(Af::V4);
    let t0 = Instant::now();
    wait_for(Duration::from_secs(20), "EXTRA swept from the ToR", || {
        tor.check_alive().unwrap();
        table(&routes(&rack.t, "214")) == want_tor
    });
    let swept_after = t0.elapsed();
    wait_for(
        Duration::from_secs(10),
        "both sessions with End-of-RIB",
        || {
            let st = rack.status();
            st["restarting"] == false
                && (0..2).all(|i| st["peers"][i]["state"] == "Established")
                && (0..2).all(|i| st["peers"][i]["end_of_rib"] == true)
        },
    );
    // RFC 4724 §3, §4.1: the restarted ToR's OPEN carried the R bit, seen by
    // both nodes (BIRD's "Restart recovery").
    assert_eq!(restart_bit(&rack.b1), Some(true), "R bit seen by n1");
    assert_eq!(restart_bit(&rack.b2), Some(true), "R bit seen by n2");
    // Let the nodes process our End-of-RIB and sweep what they kept.
    std::thread::sleep(Duration::from_secs(2));
    stop.store(true, Ordering::Relaxed);
    let n2_bad = n2_watch.join().unwrap();
    let tor_bad = tor_watch.join().unwrap();
    let log = tor.output_tail();
    assert!(
        n2_bad.is_empty(),
        "n2 lost or changed n1's routes during the ToR's restart: {:?}",
        &n2_bad[..n2_bad.len().min(3)]
    );
    assert!(
        tor_bad.is_empty(),
        "the ToR's kernel lost or changed a route during its restart: {:?}\nlog:\n{log}",
        &tor_bad[..tor_bad.len().min(3)]
    );
    let deleted = mon.deleted();
    let kept_deleted: Vec<_> = deleted
        .iter()
        .filter(|l| want_tor.iter().any(|(p, _)| l.contains(p.as_str())))
        .collect();
    assert!(
        kept_deleted.is_empty(),
        "re-learned routes deleted from the ToR's kernel: {kept_deleted:?}"
    );
    assert!(
        deleted.iter().any(|l| l.contains(EXTRA)),
        "EXTRA swept by a delete: {deleted:?}"
    );
    assert!(
        log.contains("graceful restart: the previous run's kernel routes keep forwarding"),
        "restart not detected:\n{log}"
    );
    assert!(log.contains("graceful restart complete"), "{log}");
    if matches!(how, Kill::Term) {
        assert!(
            first_log.contains("dualtor-tor running"),
            "first run's log:\n{first_log}"
        );
    }
    assert_eq!(table(&routes(&rack.n2, "bird")), want_n2, "n2 after");
    eprintln!("{how:?}: EXTRA swept {swept_after:?} after the ToR restarted");
    tor.stop();
}

#[test]
fn tor_restart_sigterm_keeps_forwarding() {
    let Some(_lab) = lab(
        "tor_restart_sigterm_keeps_forwarding",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    restart_keeps_forwarding(Kill::Term);
}

#[test]
fn tor_restart_sigkill_keeps_forwarding() {
    let Some(_lab) = lab(
        "tor_restart_sigkill_keeps_forwarding",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    restart_keeps_forwarding(Kill::Kill);
}

// RFC 9494 §4.2 and §4.3 through the status socket: n1's BIRD is killed
// (TCP closed by its kernel, BFD silent); n1 advertised GR time 0 with LLGR,
// so the ToR keeps n1's routes long-lived stale, still installed and still
// reflected (n2's kernel keeps them). The snapshot says so per peer (state,
// flap, restart state, LLGR-stale count) and per route.
#[test]
fn tor_status_reports_llgr_stale_routes() {
    let Some(_lab) = lab(
        "tor_status_reports_llgr_stale_routes",
        &[Need::Root, Need::Bird],
    ) else {
        return;
    };
    let mut rack = Rack::build(Af::V4);
    let mut tor = rack.start_tor(Af::V4);
    let want_n2 = via(Af::V4, 1, &Hop::via(&addr(Af::V4, 1), "eth0"));
    wait_for(Duration::from_secs(20), "n1's routes on n2", || {
        tor.check_alive().unwrap();
        table(&routes(&rack.n2, "bird")) == want_n2
    });
    wait_for(Duration::from_secs(5), "both sessions fresh", || {
        let st = rack.status();
        (0..2).all(|i| st["peers"][i]["end_of_rib"] == true && st["peers"][i]["bfd"] == "Up")
    });
    rack.b1.kill();
    wait_for(Duration::from_secs(5), "n1's session down", || {
        rack.status()["peers"][0]["state"] == "Connecting"
    });
    let st = rack.status();
    let n1 = &st["peers"][0];
    assert_eq!(n1["name"], "n1");
    assert_eq!(n1["flaps"], 1);
    assert!(n1["last_down"].is_string(), "{n1}");
    assert_eq!(n1["restart"], "Llgr", "{st}");
    assert_eq!(n1["prefixes_accepted"], 2);
    assert_eq!(n1["prefixes_llgr_stale"], 2);
    assert_eq!(n1["prefixes_stale"], 0);
    let n2 = &st["peers"][1];
    assert_eq!(n2["state"], "Established");
    assert_eq!(n2["restart"], "None");
    assert_eq!(n2["prefixes_llgr_stale"], 0);
    let mut flags: Vec<(String, bool, bool)> = st["routes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["prefix"].as_str().unwrap().to_owned(),
                r["stale"].as_bool().unwrap(),
                r["llgr_stale"].as_bool().unwrap(),
            )
        })
        .collect();
    flags.sort();
    let mut want: Vec<(String, bool, bool)> = originated(Af::V4, 1)
        .into_iter()
        .map(|p| (p, true, true))
        .chain(originated(Af::V4, 2).into_iter().map(|p| (p, false, false)))
        .chain([(EXTRA.to_owned(), false, false)])
        .collect();
    want.sort();
    assert_eq!(flags, want, "{st}");
    // Still installed and still reflected: n2 keeps n1's routes.
    assert_eq!(table(&routes(&rack.n2, "bird")), want_n2);
    tor.stop();
}
