//! Lab self-check: builds the Calico dual-ToR guide's topology in network namespaces
//! with BIRD 2 on every ToR and node, waits until every node has its ECMP routes,
//! prints node A1's routing table the way the guide shows it, and tears everything
//! down.
//!
//! Exit status: 0 on success, 1 if the lab did not converge or could not be built,
//! 2 when the machine cannot run the lab (not root, or BIRD missing).
//!
//! ```text
//! sudo cargo run -p examples --bin lab-selfcheck
//! ```
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use test_support::{Need, Topology, TopologySpec, missing};

fn main() -> ExitCode {
    let why = missing(&[Need::Root, Need::Bird]);
    if !why.is_empty() {
        eprintln!(
            "lab-selfcheck: cannot run the lab: {} (run as root with bird2 installed)",
            why.join("; ")
        );
        return ExitCode::from(2);
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lab-selfcheck: FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), test_support::Error> {
    let start = Instant::now();
    println!("building the guide's topology: 2 racks x 2 nodes, 2 planes, BIRD 2 everywhere");
    let topo = Topology::build(TopologySpec::default())?;
    let built = start.elapsed();
    let converged = topo.wait_converged(Duration::from_secs(30))?;
    println!(
        "built in {:.2} s, full ECMP on every node after {:.2} s",
        built.as_secs_f64(),
        converged.as_secs_f64()
    );
    let a1 = topo.node_info(1, 1);
    println!(
        "\nnode a1 (loopback {}, eth0 {}, eth1 {}): ip route",
        a1.loopback, a1.nic[0], a1.nic[1]
    );
    for route in a1.ns.routes()? {
        println!("{route}");
    }
    drop(topo);
    println!(
        "\ntorn down; lab-selfcheck OK in {:.2} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
