//! Prometheus text exposition (format 0.0.4) of a [`Status`] snapshot
//! (feature `metrics`). The daemon serves it on `--metrics ADDR`.

use std::fmt::Write as _;

use super::status::{BfdState, PeerStatus, RestartState, SessionState, Status};

/// A metric's type (Prometheus `# TYPE`).
#[derive(Clone, Copy)]
enum Kind {
    Gauge,
    Counter,
}

/// One per-peer metric: name, type, help, and value (`None`: no sample).
struct PeerMetric(
    &'static str,
    Kind,
    &'static str,
    fn(&PeerStatus) -> Option<f64>,
);

/// The per-peer series, in output order (one row per metric).
#[rustfmt::skip]
const PEER_METRICS: &[PeerMetric] = &[
    PeerMetric("peer_established", Kind::Gauge, "1 when the BGP session is Established.",
        |p| Some(f64::from(u8::from(p.state == SessionState::Established)))),
    PeerMetric("peer_uptime_seconds", Kind::Gauge, "Time in the current session state.",
        |p| Some(p.uptime.as_secs_f64())),
    PeerMetric("peer_flaps_total", Kind::Counter, "Times the session left Established.",
        |p| Some(p.flaps as f64)),
    PeerMetric("peer_prefixes_received", Kind::Gauge, "Prefixes announced by the peer in this session.",
        |p| Some(p.prefixes_received as f64)),
    PeerMetric("peer_prefixes_accepted", Kind::Gauge, "Routes in the Adj-RIB-In after import checks.",
        |p| Some(p.prefixes_accepted as f64)),
    PeerMetric("peer_prefixes_advertised", Kind::Gauge, "Prefixes advertised to the peer.",
        |p| Some(p.prefixes_advertised as f64)),
    PeerMetric("peer_bfd_up", Kind::Gauge, "1 when BFD is Up, 0 otherwise, absent without BFD.",
        |p| p.bfd.map(|b| f64::from(u8::from(b == BfdState::Up)))),
    PeerMetric("peer_stale_state", Kind::Gauge, "0 fresh, 1 GR stale, 2 LLGR stale.",
        |p| Some(match p.restart { RestartState::Gr => 1.0, RestartState::Llgr => 2.0, _ => 0.0 })),
];

/// Writes the `# HELP` and `# TYPE` lines of a metric family.
fn family(o: &mut String, name: &str, kind: Kind, help: &str) {
    let kind = match kind {
        Kind::Gauge => "gauge",
        Kind::Counter => "counter",
    };
    let _ = writeln!(o, "# HELP dualtor_{name} {help}");
    let _ = writeln!(o, "# TYPE dualtor_{name} {kind}");
}

/// Writes a node-level metric: its family lines and its one sample.
fn node_metric(o: &mut String, node: &str, name: &str, kind: Kind, help: &str, v: f64) {
    family(o, name, kind, help);
    let _ = writeln!(o, "dualtor_{name}{{node=\"{node}\"}} {v}");
}

/// Renders the snapshot as Prometheus text. Metric names are prefixed
/// `dualtor_`; per-peer series carry `peer` (address) and `name` labels.
pub fn render(s: &Status) -> String {
    let mut o = String::new();
    let node = escape(&s.node);
    let restarting = "1 while our own graceful restart waits for End-of-RIB.";
    node_metric(
        &mut o,
        &node,
        "restarting",
        Kind::Gauge,
        restarting,
        f64::from(u8::from(s.restarting)),
    );
    for PeerMetric(name, kind, help, f) in PEER_METRICS {
        family(&mut o, name, *kind, help);
        for p in &s.peers {
            if let Some(v) = f(p) {
                let (peer, pname) = (p.address, escape(&p.name));
                let _ = writeln!(
                    o,
                    "dualtor_{name}{{node=\"{node}\",peer=\"{peer}\",name=\"{pname}\"}} {v}"
                );
            }
        }
    }
    let f = &s.fib;
    node_metric(
        &mut o,
        &node,
        "fib_routes",
        Kind::Gauge,
        "Prefixes installed by the node.",
        f.routes as f64,
    );
    node_metric(
        &mut o,
        &node,
        "fib_commits_total",
        Kind::Counter,
        "Kernel commits.",
        f.commits as f64,
    );
    node_metric(
        &mut o,
        &node,
        "fib_errors_total",
        Kind::Counter,
        "Kernel operations refused.",
        f.errors as f64,
    );
    if let Some(l) = f.last_latency {
        let help = "Latency of the last kernel commit.";
        node_metric(
            &mut o,
            &node,
            "fib_last_commit_seconds",
            Kind::Gauge,
            help,
            l.as_secs_f64(),
        );
    }
    let n = s.originated.len() as f64;
    node_metric(
        &mut o,
        &node,
        "originated_prefixes",
        Kind::Gauge,
        "Prefixes the node originates.",
        n,
    );
    o
}

/// Label value escaping (backslash, quote, newline).
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::status::FibStatus;
    use std::time::Duration;

    #[test]
    fn renders_peer_series() {
        let s = Status {
            node: "a1".into(),
            local_as: 65001,
            router_id: "172.31.10.1".parse().unwrap(),
            restarting: false,
            peers: vec![PeerStatus {
                name: "ra1".into(),
                address: "172.31.11.250".parse().unwrap(),
                peer_as: 65001,
                interface: Some("eth0".into()),
                state: SessionState::Established,
                uptime: Duration::from_secs(5),
                flaps: 1,
                last_down: None,
                prefixes_received: 3,
                prefixes_accepted: 3,
                prefixes_advertised: 2,
                end_of_rib: true,
                bfd: Some(BfdState::Up),
                restart: RestartState::None,
            }],
            originated: vec!["172.31.10.1/32".parse().unwrap()],
            fib: FibStatus::default(),
        };
        let t = render(&s);
        assert!(t.contains(
            "dualtor_peer_established{node=\"a1\",peer=\"172.31.11.250\",name=\"ra1\"} 1\n"
        ));
        assert!(t.contains(
            "dualtor_peer_prefixes_advertised{node=\"a1\",peer=\"172.31.11.250\",name=\"ra1\"} 2\n"
        ));
        assert!(
            t.contains("dualtor_peer_bfd_up{node=\"a1\",peer=\"172.31.11.250\",name=\"ra1\"} 1\n")
        );
        assert!(t.contains("# TYPE dualtor_peer_flaps_total counter\n"));
        assert!(t.contains("dualtor_originated_prefixes{node=\"a1\"} 1\n"));
    }
}
