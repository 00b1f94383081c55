//! RFC 5881 runtime (tokio).
