//! The harness's one error type.

use std::time::Duration;

/// Everything that can go wrong while building or observing a lab.
///
/// The `Display` text is meant for test failure messages and is not a stable interface.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A command exited unsuccessfully.
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command {
        /// The command line, for the failure message.
        cmd: String,
        /// Exit status as printed by std.
        status: String,
        /// The command's standard error (or the daemon log tail).
        stderr: String,
    },
    /// A file or process operation failed.
    #[error("{what}: {source}")]
    Io {
        /// What the harness was doing.
        what: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Something did not become true in time.
    #[error("timed out after {waited:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// How long the harness waited.
        waited: Duration,
    },
    /// The operation would have touched the root network namespace.
    #[error("refusing to operate on the root network namespace ({0})")]
    RootNamespace(String),
    /// Daemon or `ip` output did not have the expected shape.
    #[error("cannot parse {what}: {detail}")]
    Parse {
        /// Which output.
        what: &'static str,
        /// The offending line or the parser's message.
        detail: String,
    },
    /// A system call failed.
    #[error("{what}: {source}")]
    Sys {
        /// What the harness was doing.
        what: &'static str,
        /// The errno.
        #[source]
        source: nix::Error,
    },
}

/// `Result` with the harness's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            what: what.into(),
            source,
        }
    }
}
