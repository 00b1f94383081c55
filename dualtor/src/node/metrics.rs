//! Prometheus text exposition (format 0.0.4) of a [`Status`] snapshot
//! (feature `metrics`). The daemon serves it on `--metrics ADDR`.

use std::fmt::Write as _;

use super::status::{BfdState, RestartState, SessionState, Status};

/// Name, type, help, and value of one per-peer metric (NaN: no sample).
type PeerMetric = (
    &'static str,
    &'static str,
    &'static str,
    fn(&super::PeerStatus) -> f64,
);

/// Renders the snapshot as Prometheus text. Metric names are prefixed
/// `dualtor_`; per-peer series carry `peer` (address) and `name` labels.
pub fn render(s: &Status) -> String {
    let mut o = String::new();
    let node = escape(&s.node);
    let family = |o: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(o, "# HELP dualtor_{name} {help}");
        let _ = writeln!(o, "# TYPE dualtor_{name} {kind}");
    };
    family(
        &mut o,
        "restarting",
        "gauge",
        "1 while our own graceful restart waits for End-of-RIB.",
    );
    let _ = writeln!(
        o,
        "dualtor_restarting{{node=\"{node}\"}} {}",
        u8::from(s.restarting)
    );
    let per_peer: [PeerMetric; 8] = [
        (
            "peer_established",
            "gauge",
            "1 when the BGP session is Established.",
            |p| f64::from(u8::from(p.state == SessionState::Established)),
        ),
        (
            "peer_uptime_seconds",
            "gauge",
            "Time in the current session state.",
            |p| p.uptime.as_secs_f64(),
        ),
        (
            "peer_flaps_total",
            "counter",
            "Times the session left Established.",
            |p| p.flaps as f64,
        ),
        (
            "peer_prefixes_received",
            "gauge",
            "Prefixes announced by the peer in this session.",
            |p| p.prefixes_received as f64,
        ),
        (
            "peer_prefixes_accepted",
            "gauge",
            "Routes in the Adj-RIB-In after import checks.",
            |p| p.prefixes_accepted as f64,
        ),
        (
            "peer_prefixes_advertised",
            "gauge",
            "Prefixes advertised to the peer.",
            |p| p.prefixes_advertised as f64,
        ),
        (
            "peer_bfd_up",
            "gauge",
            "1 when BFD is Up, 0 otherwise, absent without BFD.",
            |p| match p.bfd {
                Some(BfdState::Up) => 1.0,
                Some(_) => 0.0,
                None => f64::NAN,
            },
        ),
        (
            "peer_stale_state",
            "gauge",
            "0 fresh, 1 GR stale, 2 LLGR stale.",
            |p| match p.restart {
                RestartState::Gr => 1.0,
                RestartState::Llgr => 2.0,
                _ => 0.0,
            },
        ),
    ];
    for (name, kind, help, f) in per_peer {
        family(&mut o, name, kind, help);
        for p in &s.peers {
            let v = f(p);
            if v.is_nan() {
                continue;
            }
            let _ = writeln!(
                o,
                "dualtor_{name}{{node=\"{node}\",peer=\"{}\",name=\"{}\"}} {v}",
                p.address,
                escape(&p.name)
            );
        }
    }
    family(
        &mut o,
        "fib_routes",
        "gauge",
        "Prefixes installed by the node.",
    );
    let _ = writeln!(o, "dualtor_fib_routes{{node=\"{node}\"}} {}", s.fib.routes);
    family(&mut o, "fib_commits_total", "counter", "Kernel commits.");
    let _ = writeln!(
        o,
        "dualtor_fib_commits_total{{node=\"{node}\"}} {}",
        s.fib.commits
    );
    family(
        &mut o,
        "fib_errors_total",
        "counter",
        "Kernel operations refused.",
    );
    let _ = writeln!(
        o,
        "dualtor_fib_errors_total{{node=\"{node}\"}} {}",
        s.fib.errors
    );
    if let Some(l) = s.fib.last_latency {
        family(
            &mut o,
            "fib_last_commit_seconds",
            "gauge",
            "Latency of the last kernel commit.",
        );
        let _ = writeln!(
            o,
            "dualtor_fib_last_commit_seconds{{node=\"{node}\"}} {}",
            l.as_secs_f64()
        );
    }
    family(
        &mut o,
        "originated_prefixes",
        "gauge",
        "Prefixes the node originates.",
    );
    let _ = writeln!(
        o,
        "dualtor_originated_prefixes{{node=\"{node}\"}} {}",
        s.originated.len()
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
    use crate::node::status::{FibStatus, PeerStatus};
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
