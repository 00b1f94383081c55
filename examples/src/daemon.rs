//! What the two daemons (`dualtor-node`, `dualtor-tor`) share: logging set
//! up from `RUST_LOG`, and a status snapshot served as one JSON document per
//! connection on a unix socket.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use tokio::io::AsyncWriteExt as _;
use tokio::net::UnixListener;

/// Logs to stdout, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
}

/// Binds a status socket at `path`, removing a previous run's socket file.
pub fn bind_status(path: &Path) -> std::io::Result<UnixListener> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    UnixListener::bind(path)
}

/// Serves `snapshot()` on `listener`: each connection receives one JSON
/// document and a newline. Ends when `snapshot` returns `None` (the daemon
/// is gone).
pub async fn serve_status<T, F, Fut>(listener: UnixListener, mut snapshot: F)
where
    T: Serialize,
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    while let Ok((mut s, _)) = listener.accept().await {
        let Some(status) = snapshot().await else {
            return;
        };
        let json = serde_json::to_string(&status).unwrap_or_default();
        let _ = s.write_all(json.as_bytes()).await;
        let _ = s.write_all(b"\n").await;
    }
}

/// Reads one snapshot from a running daemon's status socket (blocking; for
/// tests and tools).
pub fn query_status(path: &Path) -> std::io::Result<serde_json::Value> {
    use std::io::Read as _;
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    serde_json::from_str(&text).map_err(std::io::Error::other)
}
