//! The harness's own lab tests (run serially through `lab()`'s lock).

use test_support::daemons::{Bird, Frr, Gobgp};
use test_support::{Need, Netns, lab, veth};

type R = Result<(), Box<dyn std::error::Error>>;

#[test]
fn core_contract_smoke() -> R {
    let Some(_lab) = lab(
        "core_contract_smoke",
        &[Need::Root, Need::Bird, Need::Frr, Need::Gobgp],
    ) else {
        return Ok(());
    };
    let a = Netns::new("smk")?;
    let b = Netns::new("smk")?;
    let v = veth(&a, "eth0", &b, "eth0")?;
    assert_ne!(v.a_index, v.b_index);
    assert_eq!(a.ifindex("eth0")?, v.a_index);
    a.sh("ip addr add 10.99.0.1/24 dev eth0")?;
    b.addr_add("eth0", "10.99.0.2/24")?;
    let inside = a.enter(|| std::fs::read_to_string("/proc/thread-self/net/dev").unwrap());
    assert!(inside.contains("eth0:"), "{inside}");
    let bird = Bird::start_raw(
        &a,
        "router id 10.99.0.1;\nprotocol device {}\nprotocol bgp x { local 10.99.0.1 as 65001; neighbor 10.99.0.2 as 65002; ipv4 { import all; export all; }; }\n",
    )?;
    assert!(bird.birdc("show protocols")?.contains("x "));
    let frr = Frr::start_raw(
        &b,
        &["bgpd", "bfdd"],
        "router bgp 65002\n bgp router-id 10.99.0.2\n no bgp ebgp-requires-policy\n neighbor 10.99.0.1 remote-as 65001\nexit\n",
    )?;
    let v: serde_json::Value = serde_json::from_str(&frr.vtysh("show bgp summary json")?)?;
    assert_eq!(v["ipv4Unicast"]["as"], 65002);
    let c = Netns::new("smk")?;
    let g = Gobgp::start_raw(
        &c,
        "[global.config]\n  as = 65003\n  router-id = \"10.99.1.1\"\n",
    )?;
    assert!(g.cli(&["global"])?.contains("65003"));
    Ok(())
}

#[test]
fn guide_topology_bird_converges() -> R {
    use std::time::Duration;
    use test_support::{Topology, TopologySpec};
    let Some(_lab) = lab("guide_topology_bird_converges", &[Need::Root, Need::Bird]) else {
        return Ok(());
    };
    let t = Topology::build(TopologySpec::default())?;
    let took = t.wait_converged(Duration::from_secs(20))?;
    eprintln!("converged in {took:?}");
    eprintln!("{}", t.node(1, 1).sh("ip route")?);
    Ok(())
}
