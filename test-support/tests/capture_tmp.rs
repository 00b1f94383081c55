use test_support::{Topology, TopologySpec};
#[test]
fn capture() {
    let mut tu = test_support::topology::Tuning::default();
    tu.bfd.as_mut().unwrap().graceful = true;
    let t = Topology::build_with(TopologySpec::default(), tu).unwrap();
    t.wait_converged(std::time::Duration::from_secs(20))
        .unwrap();
    let b = t.node_bird(1, 1).unwrap();
    for c in [
        "show route all for 1.2.3.4",
        "show route all for 172.31.20.1",
    ] {
        println!("=== {c}\n{}", b.birdc(c).unwrap());
    }
    let tb = t.tor_bird(1, 1).unwrap();
    //println!("=== TOR show protocols all rb1\n{}", tb.birdc("show protocols all rb1").unwrap());
    println!(
        "=== TOR show route all for 172.31.10.2\n{}",
        tb.birdc("show route all for 172.31.10.2").unwrap()
    );
    // LLGR stale: kill rb1's bird? drop core silently.
    let _g = test_support::faults::drop_all(t.tor(1, 1), "core").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(4000));
    println!(
        "=== TOR after core loss: show route all for 172.31.20.1\n{}",
        tb.birdc("show route all for 172.31.20.1").unwrap()
    );
    println!(
        "=== TOR after core loss: show protocols all rb1\n{}",
        tb.birdc("show protocols all rb1").unwrap()
    );
    println!(
        "=== node after core loss: show route all for 172.31.20.1\n{}",
        b.birdc("show route all for 172.31.20.1").unwrap()
    );
    println!("=== node bfd\n{}", b.birdc("show bfd sessions").unwrap());
}
