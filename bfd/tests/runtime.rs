//! The tokio runtime over loopback, no root needed: one runtime holds both
//! ends (127.0.0.1 <-> 127.0.0.2), so its own packets come back through the
//! kernel with their real TTL (RFC 5881 §5).
#![cfg(feature = "tokio")]

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bfd::runtime::{Options, Runtime, SessionRequest};
use bfd::session::Config;
use bfd::{DropReason, State};

/// Both tests bind UDP 3784 on the same addresses: one at a time.
static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn cfg() -> Config {
    Config {
        desired_min_tx: Duration::from_millis(50),
        required_min_rx: Duration::from_millis(50),
        ..Config::default()
    }
}

async fn until_up(h: &mut bfd::runtime::Handle) {
    tokio::time::timeout(Duration::from_secs(6), async {
        while let Some(c) = h.next_change().await {
            if c.to == State::Up {
                return;
            }
        }
    })
    .await
    .expect("Up within 6 s");
}

#[tokio::test(flavor = "current_thread")]
async fn loopback_pair_comes_up_and_reports_admin_down() {
    let _serial = LOCK.lock().await;
    let rt = match Runtime::spawn(Options {
        ipv6: false,
        seed: Some(9),
        ..Options::default()
    }) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("SKIP loopback_pair: cannot bind UDP 3784: {e}");
            return;
        }
    };
    let a = IpAddr::from(Ipv4Addr::new(127, 0, 0, 1));
    let b = IpAddr::from(Ipv4Addr::new(127, 0, 0, 2));
    let req = |peer, local| SessionRequest {
        peer,
        local: Some(local),
        interface: None,
        config: cfg(),
    };
    let mut x = rt.request(req(b, a)).await.unwrap();
    let mut y = rt.request(req(a, b)).await.unwrap();
    until_up(&mut x).await;
    until_up(&mut y).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sx = x.snapshot().await.unwrap();
    assert_eq!(sx.state, State::Up);
    assert_eq!(sx.remote_discr, y.id().0);
    assert_eq!(
        sx.counters.drops.get(DropReason::BadTtl),
        0,
        "loopback keeps TTL 255"
    );
    assert!(sx.counters.packets_in >= 5, "{:?}", sx.counters);
    assert_eq!(sx.tx_interval_us, 50_000);
    // RFC 5882 §4.1: admin down is reported as such on both ends.
    x.admin_down();
    let cx = tokio::time::timeout(Duration::from_secs(2), x.next_change())
        .await
        .unwrap()
        .unwrap();
    assert!(cx.is_admin_down());
    let cy = tokio::time::timeout(Duration::from_secs(2), y.next_change())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (cy.from, cy.to, cy.remote_state),
        (State::Up, State::Down, State::AdminDown)
    );
    assert!(cy.is_admin_down() && !cy.is_failure());
    x.admin_up();
    until_up(&mut y).await;
}

fn pair_request(peer: [u8; 4], local: [u8; 4]) -> SessionRequest {
    SessionRequest {
        peer: IpAddr::from(peer),
        local: Some(IpAddr::from(local)),
        interface: None,
        config: cfg(),
    }
}

/// Both ends of 127.0.0.1 <-> 127.0.0.2 on `rt`, once Up.
async fn up_pair(rt: &Runtime) -> (bfd::runtime::Handle, bfd::runtime::Handle) {
    let mut x = rt
        .request(pair_request([127, 0, 0, 2], [127, 0, 0, 1]))
        .await
        .unwrap();
    let mut y = rt
        .request(pair_request([127, 0, 0, 1], [127, 0, 0, 2]))
        .await
        .unwrap();
    until_up(&mut x).await;
    until_up(&mut y).await;
    (x, y)
}

/// Blocks the calling (current-thread) runtime for `d`: an embedder's task
/// that computes without yielding.
fn block_runtime(d: Duration) {
    std::thread::sleep(d);
}

// RFC 5880 §6.8.4: the peer declares the session down when none of our
// packets arrives within its Detection Time (here 3 x 50 ms). `spawn_thread`
// keeps sending on time while the embedder's runtime is blocked for 1 s
// (about seven Detection Times); on the embedder's runtime (`spawn`) the
// same block holds our packets back ~1 s, which a real peer answers with
// Down: why the node runs BFD on its own thread.
#[tokio::test(flavor = "current_thread")]
async fn own_thread_keeps_sessions_up_while_the_embedder_runtime_is_blocked() {
    let _serial = LOCK.lock().await;
    let opts = Options {
        ipv6: false,
        seed: Some(11),
        ..Options::default()
    };
    let rt = match Runtime::spawn_thread(opts.clone()) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("SKIP own_thread: cannot bind UDP 3784: {e}");
            return;
        }
    };
    let (mut x, mut y) = up_pair(&rt).await;
    block_runtime(Duration::from_secs(1));
    assert_eq!(x.try_next_change().map(|c| c.to), None);
    assert_eq!(y.try_next_change().map(|c| c.to), None);
    assert_eq!(x.snapshot().await.unwrap().state, State::Up);
    let stats = rt.stats().await.unwrap();
    assert!(
        stats.max_timer_lateness < Duration::from_millis(150),
        "the driver's timers ran on time: {stats:?}"
    );
    drop((x, y, rt));
    // The thread releases UDP 3784 once every handle is gone.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let rt = Runtime::spawn(opts).unwrap();
    let _pair = up_pair(&rt).await;
    let _ = rt.take_stats().await;
    block_runtime(Duration::from_secs(1));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stats = rt.stats().await.unwrap();
    assert!(
        stats.max_timer_lateness >= Duration::from_millis(900),
        "on the embedder's runtime the driver's packets left ~1 s late: {stats:?}"
    );
}
