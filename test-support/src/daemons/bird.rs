//! BIRD 2 runner (tested with BIRD 2.0.12).

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::{Process, START_TIMEOUT, tempdir, wait_ready, write};
use crate::error::{Error, Result};
use crate::exec::{self, program};
use crate::netns::{Netns, netns_cmd};

/// A BIRD 2 daemon running in a namespace (`bird -f -c <cfg> -s <sock> -P <pid>`).
///
/// `birdc` talks to it over its own control socket in the runner's temp dir; unix
/// sockets are reachable from any network namespace, so `birdc` runs in the test's.
#[derive(Debug)]
pub struct Bird {
    ns: String,
    proc: Option<Process>,
    // Drop order: the process stops before its directory goes.
    dir: TempDir,
}

impl Bird {
    /// Writes `config` and starts BIRD in `ns`, returning once `birdc show status`
    /// answers (or `Err` with BIRD's output if it exits, e.g. on a config error).
    pub fn start_raw(ns: &Netns, config: &str) -> Result<Bird> {
        let dir = tempdir("bird-")?;
        write(&dir.path().join("bird.conf"), config)?;
        let mut b = Bird {
            ns: ns.name().to_owned(),
            proc: None,
            dir,
        };
        b.spawn()?;
        Ok(b)
    }

    /// Starts BIRD with [`config::to_bird`](super::config::to_bird)`(router)`.
    pub fn start(ns: &Netns, router: &super::config::Router) -> Result<Bird> {
        Bird::start_raw(ns, &super::config::to_bird(router))
    }

    fn spawn(&mut self) -> Result<()> {
        let d = self.dir.path();
        let mut cmd = netns_cmd(&self.ns, "bird");
        cmd.arg("-f")
            .arg("-c")
            .arg(d.join("bird.conf"))
            .arg("-s")
            .arg(self.socket())
            .arg("-P")
            .arg(d.join("bird.pid"));
        let mut p = Process::spawn("bird", cmd, d)?;
        let sock = self.socket();
        wait_ready("bird control socket", &mut [&mut p], START_TIMEOUT, || {
            birdc_raw(&sock, "show status").is_ok_and(|s| s.contains("Daemon is up"))
        })?;
        self.proc = Some(p);
        Ok(())
    }

    /// The control socket's path.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("bird.ctl")
    }

    /// The runner's directory (config `bird.conf`, output `bird.out`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The daemon's PID, if running.
    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().and_then(Process::pid)
    }

    /// Runs one `birdc` command (e.g. `"show protocols all"`) and returns its output
    /// without the `BIRD x.y.z ready.` banner. `Err` if birdc fails or BIRD answers
    /// with a syntax or runtime error.
    pub fn birdc(&self, command: &str) -> Result<String> {
        birdc_raw(&self.socket(), command)
    }

    /// Replaces the config and runs `birdc configure`.
    pub fn reconfigure(&self, config: &str) -> Result<()> {
        write(&self.dir.path().join("bird.conf"), config)?;
        let out = self.birdc("configure")?;
        if out.contains("Reconfigured") || out.contains("Reconfiguration in progress") {
            Ok(())
        } else {
            Err(Error::Command {
                cmd: "birdc configure".into(),
                status: "unexpected reply".into(),
                stderr: out,
            })
        }
    }

    /// Parsed `show protocols all`.
    pub fn protocols(&self) -> Result<Vec<super::birdc::Protocol>> {
        Ok(super::birdc::parse_protocols(
            &self.birdc("show protocols all")?,
        ))
    }

    /// Parsed `show route all <args>` (e.g. `""` or `"for 172.31.20.1"`).
    pub fn routes(&self, args: &str) -> Result<Vec<super::birdc::Route>> {
        Ok(super::birdc::parse_routes(
            &self.birdc(&format!("show route all {args}"))?,
        ))
    }

    /// Parsed `show bfd sessions`.
    pub fn bfd_sessions(&self) -> Result<Vec<super::birdc::BfdSession>> {
        Ok(super::birdc::parse_bfd_sessions(
            &self.birdc("show bfd sessions")?,
        ))
    }

    /// Waits until every BGP protocol is Established.
    pub fn wait_established(&self, timeout: std::time::Duration) -> Result<()> {
        let start = std::time::Instant::now();
        loop {
            let p = self.protocols()?;
            if p.iter()
                .filter(|p| p.proto == "BGP")
                .all(super::birdc::Protocol::is_established)
            {
                return Ok(());
            }
            if start.elapsed() > timeout {
                return Err(Error::Timeout {
                    what: format!("BGP Established: {p:?}"),
                    waited: timeout,
                });
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// SIGKILL: the daemon vanishes without closing its sessions cleanly (the kernel
    /// still resets its TCP connections; BFD just stops).
    pub fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }

    /// Stops the daemon gracefully (SIGTERM), as on Drop.
    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop();
        }
    }

    /// Starts the daemon again with the current config (after [`kill`](Self::kill) or
    /// [`stop`](Self::stop); stops it first if still running).
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn()
    }
}

fn birdc_raw(sock: &Path, command: &str) -> Result<String> {
    let mut cmd = Command::new(program("birdc"));
    cmd.arg("-s").arg(sock).args(command.split_whitespace());
    // birdc exits 1 on any error reply (even "Network not found"): judge by the text.
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io("spawning birdc", e))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() && !stdout.starts_with("BIRD ") {
        return Err(Error::Command {
            cmd: exec::describe(&cmd),
            status: out.status.to_string(),
            stderr: format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
        });
    }
    let out = stdout;
    let body = match out.split_once('\n') {
        Some((first, rest)) if first.starts_with("BIRD ") && first.ends_with("ready.") => rest,
        _ => out.as_str(),
    };
    let failed = |l: &str| {
        l.starts_with("syntax error")
            || l.starts_with("Unable to connect")
            || l.starts_with("Unknown protocol")
            || l.starts_with("There is no")
    };
    if body.lines().any(failed) {
        return Err(Error::Command {
            cmd: exec::describe(&cmd),
            status: "BIRD error".into(),
            stderr: body.trim().to_owned(),
        });
    }
    Ok(body.to_owned())
}
