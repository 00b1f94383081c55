//! Routing daemons inside a namespace: BIRD 2, FRR and GoBGP.
//!
//! Each runner keeps its files (config, control socket, logs) in a [`tempfile::TempDir`],
//! starts the daemon in the foreground as a child of the test, waits until its control
//! socket answers, and stops it by PID on Drop (SIGTERM, then SIGKILL after 2 s).
//! `kill()` (SIGKILL, no goodbye: peers see a silent failure or a TCP reset) and
//! `restart()` are the daemon faults.
//!
//! | runner | tested with |
//! |---|---|
//! | [`Bird`] | BIRD 2.0.12 (Debian bird2) |
//! | [`Frr`] | FRR 8.4.4 (Debian frr) |
//! | [`Gobgp`] | GoBGP 3.10 (Debian gobgpd) |

mod bird;
pub mod birdc;
pub mod config;
mod frr;
mod gobgp;
pub mod state;

pub use bird::Bird;
pub use frr::Frr;
pub use gobgp::Gobgp;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Error, Result};

/// A child process started by the harness (a daemon, or a node command of the
/// topology): stdout and stderr go to a log file; stopped (SIGTERM, then SIGKILL after
/// 2 s) on Drop.
#[derive(Debug)]
pub struct Process {
    name: String,
    child: Option<Child>,
    log: PathBuf,
    _own_dir: Option<tempfile::TempDir>,
}

impl Process {
    /// Spawns `cmd` (typically from [`Netns::cmd`](crate::Netns::cmd)) with its output
    /// in `<tempdir>/<name>.out`.
    pub fn spawn_logged(name: &str, cmd: Command) -> Result<Process> {
        let dir = tempdir("proc-")?;
        let mut p = Process::spawn(name, cmd, dir.path())?;
        p._own_dir = Some(dir);
        Ok(p)
    }

    /// Spawns `cmd` with stdout and stderr appended to `<dir>/<name>.out`.
    pub(crate) fn spawn(name: &str, mut cmd: Command, dir: &Path) -> Result<Process> {
        let log = dir.join(format!("{name}.out"));
        let open = || {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log)
                .map_err(|e| Error::io(format!("opening {}", log.display()), e))
        };
        let child = cmd
            .stdin(Stdio::null())
            .stdout(open()?)
            .stderr(open()?)
            .spawn()
            .map_err(|e| Error::io(format!("spawning {name}"), e))?;
        Ok(Process {
            name: name.to_owned(),
            child: Some(child),
            log,
            _own_dir: None,
        })
    }

    /// The PID while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `Err` carrying the output tail if the process has exited.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(c) = self.child.as_mut()
            && let Ok(Some(status)) = c.try_wait()
        {
            self.child = None;
            return Err(Error::Command {
                cmd: self.name.clone(),
                status: format!("exited early: {status}"),
                stderr: self.output_tail(),
            });
        }
        Ok(())
    }

    /// The last 2 KiB of the process's stdout/stderr.
    pub fn output_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let start = s.len().saturating_sub(2048);
        let start = (start..s.len())
            .find(|&i| s.is_char_boundary(i))
            .unwrap_or(s.len());
        s[start..].to_owned()
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGKILL);
            let _ = c.wait();
        }
    }

    /// SIGTERM, wait up to 2 s, then SIGKILL; reaps.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = kill(Pid::from_raw(c.id() as i32), Signal::SIGKILL);
            let _ = c.wait();
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Polls `ready` every 20 ms until it returns `Ok(true)`, a process dies, or `timeout`.
pub(crate) fn wait_ready(
    what: &str,
    procs: &mut [&mut Process],
    timeout: Duration,
    mut ready: impl FnMut() -> bool,
) -> Result<()> {
    let start = Instant::now();
    loop {
        for p in procs.iter_mut() {
            p.check_alive()?;
        }
        if ready() {
            return Ok(());
        }
        if start.elapsed() > timeout {
            let tails: Vec<String> = procs.iter().map(|p| p.output_tail()).collect();
            return Err(Error::Timeout {
                what: format!("{what} ({})", tails.join(" | ")),
                waited: timeout,
            });
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How long a runner waits for its daemon's control socket.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn tempdir(prefix: &str) -> Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| Error::io("creating temp dir", e))?;
    // FRR drops privileges to user `frr`; let it write its files here.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777))
        .map_err(|e| Error::io("chmod temp dir", e))?;
    Ok(dir)
}

pub(crate) fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}
