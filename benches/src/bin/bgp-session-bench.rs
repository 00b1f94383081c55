//! Two in-process BGP speakers (bgp-wire's session + tokio transport) exchange a full
//! table over loopback TCP, both directions at once; reports prefixes/s end to end
//! (first UPDATE queued to the peer's End-of-RIB) and checks, by an order-independent
//! checksum, that each receiver got exactly the table the other sent.
//!
//! `--tiny` runs 20,000 prefixes each way (CI); the default is 1,000,000.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bgp_wire::attr::{AsPath, AttrValue, Origin};
use bgp_wire::session::{Action, SessionConfig, StartKind};
use bgp_wire::transport::{self, Listener, PeerConfig, PeerHandle, SocketOptions};
use bgp_wire::{Family, Nlri, Update};
use tokio::sync::mpsc::Receiver;

const PER_UPDATE: usize = 900;

fn mix(p: &Nlri) -> u64 {
    let (addr, len) = match p.prefix {
        ipnet::IpNet::V4(n) => (u64::from(u32::from(n.addr())), u64::from(n.prefix_len())),
        ipnet::IpNet::V6(n) => (u128::from(n.addr()) as u64, u64::from(n.prefix_len())),
    };
    let mut x = (addr << 8 | len).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    x.wrapping_mul(0xBF58_476D_1CE4_E5B9)
}

/// The table: `n` /24s from `base`, `PER_UPDATE` prefixes per UPDATE.
fn table(n: usize, base: u32, asn: u32, nh: Ipv4Addr) -> (Vec<Update>, u64) {
    let prefixes: Vec<Nlri> = (0..n as u32)
        .map(|i| {
            Nlri::new(ipnet::Ipv4Net::new(Ipv4Addr::from(base.wrapping_add(i << 8)), 24).unwrap())
        })
        .collect();
    let sum = prefixes.iter().map(mix).fold(0u64, u64::wrapping_add);
    let updates = prefixes
        .chunks(PER_UPDATE)
        .map(|c| {
            Update::new()
                .with(AttrValue::Origin(Origin::IGP))
                .with(AttrValue::AsPath(AsPath::sequence([asn])))
                .with(AttrValue::NextHop(nh))
                .with_nlri(c.iter().copied())
        })
        .collect();
    (updates, sum)
}

async fn receive(mut ev: Receiver<Action>) -> (usize, u64, Instant) {
    let (mut n, mut sum) = (0usize, 0u64);
    while let Some(a) = ev.recv().await {
        match a {
            Action::Update { update, .. } => {
                for p in &update.nlri {
                    n += 1;
                    sum = sum.wrapping_add(mix(p));
                }
            }
            Action::EndOfRib(Family::IPV4_UNICAST) => break,
            _ => {}
        }
    }
    (n, sum, Instant::now())
}

async fn send(h: PeerHandle, updates: Vec<Update>) {
    for c in updates.chunks(64) {
        h.send_updates(c.to_vec()).await.unwrap();
    }
    h.initial_table_sent().await.unwrap();
}

async fn wait_up(ev: &mut Receiver<Action>) {
    while let Some(a) = ev.recv().await {
        if matches!(a, Action::SessionUp(_)) {
            return;
        }
    }
    panic!("peer task ended before Established");
}

fn cfg(asn: u32, id: &str, peer: u32) -> SessionConfig {
    let mut c = SessionConfig::new(asn, id.parse().unwrap()).with_peer_as(peer);
    c.families = vec![Family::IPV4_UNICAST];
    c.hold_time = 240;
    c
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let tiny = std::env::args().any(|a| a == "--tiny");
    let n = if tiny { 20_000 } else { 1_000_000 };
    let lb = Listener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let b_addr = lb.local_addr().unwrap();
    let inc = lb
        .register("127.0.0.1".parse().unwrap(), &SocketOptions::default())
        .unwrap();
    tokio::spawn(lb.run());
    let mut bc = cfg(65002, "10.0.0.2", 65001);
    bc.passive = true;
    let (ha, mut ea, _ta) =
        transport::spawn(PeerConfig::new(cfg(65001, "10.0.0.1", 65002), b_addr), None);
    let (hb, mut eb, _tb) = transport::spawn(
        PeerConfig::new(bc, SocketAddr::from(([127, 0, 0, 1], 1))),
        Some(inc),
    );
    hb.start(StartKind::ManualPassive).await.unwrap();
    ha.start(StartKind::Manual).await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        wait_up(&mut ea).await;
        wait_up(&mut eb).await;
    })
    .await
    .expect("session up");

    let (ta, sum_a) = table(n, 0x0a00_0000, 65001, "10.0.0.1".parse().unwrap());
    let (tb, sum_b) = table(n, 0x2000_0000, 65002, "10.0.0.2".parse().unwrap());
    let rb = tokio::spawn(receive(eb));
    let ra = tokio::spawn(receive(ea));
    let start = Instant::now();
    let sa = tokio::spawn(send(ha.clone(), ta));
    let sb = tokio::spawn(send(hb.clone(), tb));
    let (got_b, got_a) = (rb.await.unwrap(), ra.await.unwrap());
    sa.await.unwrap();
    sb.await.unwrap();
    let a_to_b = got_b.2 - start;
    let b_to_a = got_a.2 - start;
    let ok = got_b.0 == n && got_b.1 == sum_a && got_a.0 == n && got_a.1 == sum_b;
    println!(
        "A->B: {} prefixes in {:.3} s = {:.0} prefixes/s, checksum {:016x} (sent {:016x})",
        got_b.0,
        a_to_b.as_secs_f64(),
        got_b.0 as f64 / a_to_b.as_secs_f64(),
        got_b.1,
        sum_a
    );
    println!(
        "B->A: {} prefixes in {:.3} s = {:.0} prefixes/s, checksum {:016x} (sent {:016x})",
        got_a.0,
        b_to_a.as_secs_f64(),
        got_a.0 as f64 / b_to_a.as_secs_f64(),
        got_a.1,
        sum_b
    );
    let total = (2 * n) as f64 / a_to_b.max(b_to_a).as_secs_f64();
    println!(
        "SUMMARY bgp-session-bench: {} prefixes each way, {:.0} prefixes/s aggregate, checksums {}",
        n,
        total,
        if ok { "match" } else { "MISMATCH" }
    );
    assert!(ok, "a receiver got a different table");
}
