//! `dualtor-tor`: a ToR route reflector for one plane of one rack, built from
//! this project's crates (see [`examples::tor`] for what it does and why).
//!
//! ```text
//! dualtor-tor --config ra1.yaml
//! dualtor-tor --router-id 172.31.11.250 --asn 65001 \
//!     --peer a1=172.31.11.1,65001 --peer a2=172.31.11.2,65001 --peer rb1=172.31.1.2,65002
//! ```
//!
//! Peers in our AS are route-reflector clients, the others eBGP. Runs in the
//! current network namespace. SIGTERM is a restart (RFC 4724 §4): the sessions
//! close without a NOTIFICATION and the kernel routes stay, forwarding, for the
//! next run to adopt (as after a crash); SIGINT or Ctrl-C is a shutdown: Cease
//! to every peer and our routes removed from the kernel. Both exit 0.
//! `--status-socket PATH` serves the status snapshot as JSON (see
//! [`examples::tor::status`]). Exit 2 on a bad configuration, 1 when it cannot
//! start. Logs with `tracing` (`RUST_LOG`).
#![forbid(unsafe_code)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use examples::tor::{BfdConfig, Config, PeerConfig, Stop};
use tokio::signal::unix::{SignalKind, signal};

/// A ToR route reflector: iBGP RR for its rack, eBGP to the other racks, BFD and LLGR.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// YAML configuration (see `examples::tor::config`); flags below override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// BGP Identifier (required without --config).
    #[arg(long)]
    router_id: Option<Ipv4Addr>,
    /// Our AS (required without --config).
    #[arg(long)]
    asn: Option<u32>,
    /// A peer, `[NAME=]ADDRESS,AS` (repeatable).
    #[arg(long, value_parser = parse_peer)]
    peer: Vec<PeerConfig>,
    /// BFD interval in milliseconds (both directions).
    #[arg(long)]
    bfd_interval_ms: Option<u64>,
    /// BFD detection multiplier.
    #[arg(long)]
    bfd_multiplier: Option<u8>,
    /// No BFD.
    #[arg(long)]
    no_bfd: bool,
    /// LLGR stale time, seconds.
    #[arg(long)]
    llgr_stale_time: Option<u32>,
    /// Listening address for BGP.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Do not program the kernel FIB.
    #[arg(long)]
    no_fib: bool,
    /// Serve the status snapshot as JSON on this unix socket.
    #[arg(long)]
    status_socket: Option<PathBuf>,
    /// Print the effective configuration as YAML and exit.
    #[arg(long)]
    print_config: bool,
}

fn parse_peer(s: &str) -> Result<PeerConfig, String> {
    let (name, rest) = match s.split_once('=') {
        Some((n, r)) => (Some(n.to_owned()), r),
        None => (None, s),
    };
    let (addr, asn) = rest
        .split_once(',')
        .ok_or_else(|| format!("{s:?}: want [NAME=]ADDRESS,AS"))?;
    let address: IpAddr = addr.parse().map_err(|e| format!("{addr:?}: {e}"))?;
    let asn: u32 = asn.parse().map_err(|e| format!("{asn:?}: {e}"))?;
    let mut p = PeerConfig::new(address, asn);
    p.name = name;
    Ok(p)
}

fn config(args: &Args) -> Result<Config, String> {
    let mut c = match &args.config {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            Config::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => match (args.router_id, args.asn) {
            (Some(id), Some(asn)) => Config::new(id, asn),
            _ => return Err("--router-id and --asn are required without --config".into()),
        },
    };
    if let Some(id) = args.router_id {
        c.router_id = id;
    }
    if let Some(asn) = args.asn {
        c.asn = asn;
    }
    c.peers.extend(args.peer.iter().cloned());
    if args.bfd_interval_ms.is_some() || args.bfd_multiplier.is_some() {
        let b = c.bfd.unwrap_or(BfdConfig {
            interval_ms: 100,
            multiplier: 3,
        });
        c.bfd = Some(BfdConfig {
            interval_ms: args.bfd_interval_ms.unwrap_or(b.interval_ms),
            multiplier: args.bfd_multiplier.unwrap_or(b.multiplier),
        });
    }
    if args.no_bfd {
        c.bfd = None;
    }
    if let Some(t) = args.llgr_stale_time {
        c.llgr_stale_time = t;
    }
    if let Some(l) = args.listen {
        c.listen = l;
    }
    if args.no_fib {
        c.fib = false;
    }
    if let Some(p) = &args.status_socket {
        c.status_socket = Some(p.clone());
    }
    c.check().map_err(|e| e.to_string())?;
    Ok(c)
}

#[tokio::main]
async fn main() -> ExitCode {
    examples::daemon::init_logging();
    let args = Args::parse();
    let cfg = match config(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("dualtor-tor: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    if args.print_config {
        print!("{}", cfg.to_yaml());
        return ExitCode::SUCCESS;
    }
    let shutdown = async {
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => Stop::Restart,
                    _ = tokio::signal::ctrl_c() => Stop::Shutdown,
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                Stop::Shutdown
            }
        }
    };
    match examples::tor::run(cfg, shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dualtor-tor: {e}");
            ExitCode::from(1)
        }
    }
}
