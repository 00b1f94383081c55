//! `bfd-probe`: run one single-hop BFD session (RFC 5880/5881) and print one
//! line per state change: `<unix ms> <old> -> <new> diag=<name>`.
//!
//! On SIGINT the session goes AdminDown, keeps sending for one Detection
//! Time, prints its counters and exits 0. Usage errors exit 2.

use std::io::Write as _;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bfd::auth::{Auth, AuthType};
use bfd::runtime::{Options, Runtime, SessionRequest};
use bfd::session::Config;
use clap::Parser;

/// Run one single-hop BFD session and print its state changes.
#[derive(Debug, Parser)]
#[command(name = "bfd-probe", version)]
struct Args {
    /// Peer address (IPv4 or IPv6).
    #[arg(long)]
    peer: IpAddr,
    /// Local source address.
    #[arg(long)]
    local: Option<IpAddr>,
    /// Interface to bind to (single hop).
    #[arg(long)]
    interface: Option<String>,
    /// Desired Min TX interval, ms.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=4_294_000))]
    tx_ms: u64,
    /// Required Min RX interval, ms.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(0..=4_294_000))]
    rx_ms: u64,
    /// Detect multiplier.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..))]
    mult: u8,
    /// Authentication `TYPE:KEYID:SECRET`, TYPE one of simple, md5,
    /// meticulous-md5, sha1, meticulous-sha1.
    #[arg(long, value_parser = parse_auth)]
    auth: Option<Auth>,
    /// Passive role: wait for the peer to speak first.
    #[arg(long)]
    passive: bool,
}

fn parse_auth(s: &str) -> Result<Auth, String> {
    let mut it = s.splitn(3, ':');
    let (Some(kind), Some(id), Some(secret)) = (it.next(), it.next(), it.next()) else {
        return Err("expected TYPE:KEYID:SECRET".into());
    };
    let kind: AuthType = kind.parse().map_err(|_| {
        format!("unknown auth type {kind:?} (simple, md5, meticulous-md5, sha1, meticulous-sha1)")
    })?;
    let id: u8 = id
        .parse()
        .map_err(|_| format!("key id {id:?} is not 0-255"))?;
    Auth::single(kind, id, secret.as_bytes()).map_err(|e| e.to_string())
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis())
}

fn main() -> ExitCode {
    let args = Args::parse(); // usage errors exit 2
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("bfd-probe: tokio: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let v6 = args.peer.is_ipv6();
    let opts = Options {
        ipv4: !v6,
        ipv6: v6,
        seed: None,
    };
    let runtime = match Runtime::spawn(opts) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bfd-probe: {e}");
            return ExitCode::FAILURE;
        }
    };
    let config = Config {
        desired_min_tx: Duration::from_millis(args.tx_ms),
        required_min_rx: Duration::from_millis(args.rx_ms),
        detect_mult: args.mult,
        passive: args.passive,
        auth: args.auth,
        ..Config::default()
    };
    let req = SessionRequest {
        peer: args.peer,
        local: args.local,
        interface: args.interface,
        config,
    };
    let mut h = match runtime.request(req).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("bfd-probe: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    let print = |out: &mut std::io::Stdout, c: bfd::StateChange| {
        let _ = writeln!(out, "{} {} -> {} diag={}", unix_ms(), c.from, c.to, c.diag);
        let _ = out.flush();
    };
    loop {
        tokio::select! {
            c = h.next_change() => match c {
                Some(c) => print(&mut out, c),
                None => return ExitCode::FAILURE,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    // RFC 5880 §6.8.16: AdminDown, sent for one Detection Time.
    h.admin_down();
    let snap = h.snapshot().await;
    let detect = snap.map_or(Duration::from_secs(1), |s| {
        s.detection_time
            .max(Duration::from_micros(u64::from(s.desired_min_tx_us)) * u32::from(args.mult))
    });
    let deadline = tokio::time::Instant::now() + detect;
    while let Ok(Some(c)) = tokio::time::timeout_at(deadline, h.next_change()).await {
        print(&mut out, c);
    }
    if let Some(s) = h.snapshot().await {
        let c = s.counters;
        let drops: Vec<String> = c.drops.iter().map(|(r, n)| format!("{r}={n}")).collect();
        let _ = writeln!(
            out,
            "counters packets_in={} packets_out={} state_changes={} polls={} drops={}",
            c.packets_in,
            c.packets_out,
            c.state_changes,
            c.polls_completed,
            if drops.is_empty() {
                "none".to_string()
            } else {
                drops.join(",")
            }
        );
    }
    if let Some(st) = runtime.stats().await {
        let drops: Vec<String> = st.drops.iter().map(|(r, n)| format!("{r}={n}")).collect();
        let _ = writeln!(
            out,
            "unmatched drops={} send_errors={} sent={} read={} worst_timer_lateness_us={}",
            if drops.is_empty() {
                "none".to_string()
            } else {
                drops.join(",")
            },
            st.send_errors,
            st.sent,
            st.datagrams,
            st.max_timer_lateness.as_micros()
        );
    }
    let _ = out.flush();
    ExitCode::SUCCESS
}
