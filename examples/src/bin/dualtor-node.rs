//! `dualtor-node`: runs one dual-ToR node from Calico YAML.
//!
//! ```text
//! dualtor-node --config FILE [--node NAME] [--status-socket PATH] [--metrics ADDR]
//!              [--flush-on-exit] [--listen ADDR] [--restart-deferral SECS]
//! ```
//!
//! Which node: `--node NAME`, else the single `Node` resource in the file (a
//! file with several Node resources needs `--node`).
//!
//! - Logs state changes (the node's typed events) through `tracing`
//!   (`RUST_LOG` filters).
//! - `--status-socket PATH`: each connection to the unix socket receives the
//!   status snapshot as one JSON document.
//! - `--metrics ADDR`: Prometheus text format over HTTP at any path.
//! - SIGHUP re-reads the file and applies the difference; a bad file is
//!   rejected and the running configuration stays.
//! - SIGTERM / SIGINT: graceful stop (BGP closed without NOTIFICATION,
//!   then BFD AdminDown, routes left in the kernel for the next start), or with
//!   `--flush-on-exit` a hard stop (Cease, our routes removed).
//!
//! Exit status: 0 after a stop, 2 when the configuration is invalid (the
//! message names the resource and field; nothing was changed in the
//! kernel), 1 on any other start failure.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use dualtor::config::Config;
use dualtor::node::{Node, NodeHandle, Options, StartError, StopMode, WireTransport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

#[derive(Parser, Debug)]
#[command(about = "Run one dual-ToR node from Calico resources")]
struct Args {
    /// Multi-document YAML with the Calico resources.
    #[arg(long)]
    config: PathBuf,
    /// The node to run (default: the single Node resource in the file).
    #[arg(long)]
    node: Option<String>,
    /// Unix socket serving the status snapshot as JSON.
    #[arg(long)]
    status_socket: Option<PathBuf>,
    /// Address serving Prometheus metrics (e.g. 127.0.0.1:9100).
    #[arg(long)]
    metrics: Option<std::net::SocketAddr>,
    /// On SIGTERM, send Cease and remove our routes instead of a graceful stop.
    #[arg(long)]
    flush_on_exit: bool,
    /// Also accept BGP connections on this address (e.g. 0.0.0.0:179); by
    /// default the node only connects to its ToRs.
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Our graceful restart: seconds to wait for End-of-RIB from every peer.
    #[arg(long, default_value_t = 30)]
    restart_deferral: u64,
    /// Set `net.ipv4.nexthop_compat_mode` in the node's network namespace
    /// (default: leave it). With 0 a nexthop-group change is one kernel
    /// operation whatever the number of routes on it; with the kernel's
    /// default 1 the kernel also sends one route notification per route
    /// (about 20 ms per 30,000 routes, on every failover), and tools that
    /// read routes see their next hops without looking up the group.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=1))]
    nexthop_compat_mode: Option<u8>,
}

fn load(path: &Path) -> Result<Config, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Config::from_yaml(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn pick_node(config: &Config, wanted: Option<&str>) -> Result<String, String> {
    match wanted {
        Some(n) => Ok(n.to_owned()),
        None => match config.nodes.as_slice() {
            [one] => Ok(one.name.clone()),
            [] => Err("no Node resource in the file: pass --node".into()),
            _ => Err(format!(
                "{} Node resources in the file: pass --node",
                config.nodes.len()
            )),
        },
    }
}

async fn serve_status(path: PathBuf, handle: NodeHandle) {
    let listener = match examples::daemon::bind_status(&path) {
        Ok(l) => l,
        Err(e) => {
            error!("status socket {}: {e}", path.display());
            return;
        }
    };
    examples::daemon::serve_status(listener, || {
        let handle = handle.clone();
        async move { handle.status().await.ok() }
    })
    .await;
}

async fn serve_metrics(addr: std::net::SocketAddr, handle: NodeHandle) {
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => {
            error!("metrics {addr}: {e}");
            return;
        }
    };
    while let Ok((mut s, _)) = listener.accept().await {
        let mut buf = [0u8; 1024];
        let _ = tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await;
        let Ok(status) = handle.status().await else {
            return;
        };
        let body = dualtor::node::metrics::render(&status);
        let head = format!(
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(head.as_bytes()).await;
        let _ = s.write_all(body.as_bytes()).await;
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    examples::daemon::init_logging();
    let args = Args::parse();
    let config = match load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("dualtor-node: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    let node = match pick_node(&config, args.node.as_deref()) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("dualtor-node: {e}");
            return ExitCode::from(2);
        }
    };
    let transport = match args.listen {
        Some(addr) => match dualtor::bgp_wire::transport::Listener::bind(addr) {
            Ok(l) => {
                tokio::spawn(l.clone().run());
                WireTransport::with_listener(l)
            }
            Err(e) => {
                eprintln!("dualtor-node: listening on {addr}: {e}");
                return ExitCode::from(1);
            }
        },
        None => WireTransport::new(),
    };
    let mut opts = Options::new(node.clone(), Arc::new(transport));
    opts.restart_deferral = Duration::from_secs(args.restart_deferral);
    if let (Some(m), Some(fib)) = (args.nexthop_compat_mode, opts.fib.as_mut()) {
        fib.compat_mode = Some(m == 1);
    }
    let n = match Node::start(config, opts).await {
        Ok(n) => n,
        Err(StartError::Config(e)) => {
            eprintln!(
                "dualtor-node: invalid configuration: {}: {e}",
                args.config.display()
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("dualtor-node: {e}");
            return ExitCode::from(1);
        }
    };
    info!(node = %node, "started");
    let handle = n.handle();
    if let Some(p) = args.status_socket.clone() {
        tokio::spawn(serve_status(p, handle.clone()));
    }
    if let Some(a) = args.metrics {
        tokio::spawn(serve_metrics(a, handle.clone()));
    }
    let (Ok(mut hup), Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::hangup()),
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        eprintln!("dualtor-node: cannot install signal handlers");
        return ExitCode::from(1);
    };
    loop {
        tokio::select! {
            _ = hup.recv() => match load(&args.config) {
                Ok(c) => match handle.reload(c).await {
                    Ok(d) => info!(diff = ?d, "reloaded"),
                    Err(e) => warn!("reload rejected: {e}"),
                },
                Err(e) => warn!("reload rejected: {e}"),
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    let mode = if args.flush_on_exit {
        StopMode::Hard
    } else {
        StopMode::Graceful
    };
    info!(?mode, "stopping");
    n.stop(mode).await;
    if let Some(p) = args.status_socket {
        let _ = std::fs::remove_file(p);
    }
    ExitCode::SUCCESS
}
