//! FRR runner (tested with FRR 8.4.4).
//!
//! What works on this machine (and what does not):
//! - Every daemon gets `-N <pathspace>` with a pathspace unique to the runner, so its
//!   vty sockets, `zserv.api`, `bfdd.sock` and pid files live in
//!   `/var/run/frr/<pathspace>/` (created here, owned by `frr`, removed on Drop), and
//!   `vtysh -N <pathspace>` reaches exactly this instance.
//! - The daemons start with an empty config file; the config text is then applied with
//!   `vtysh -N <pathspace> -f <file>`, which sends each command to the daemon that owns
//!   it. (Giving the same integrated config to every daemon with `-f` does not work: a
//!   daemon that does not know `router bgp` drops out of config mode at its `exit` and
//!   ignores the rest.)
//! - `zebra` is always started first: bgpd needs it for next-hop tracking and for
//!   talking to bfdd, and it installs the routes in the namespace's kernel table.
//! - vtysh warns on stderr about a missing `/etc/frr/<pathspace>/vtysh.conf`: harmless.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use tempfile::TempDir;

use super::{Process, START_TIMEOUT, tempdir, wait_ready, write};
use crate::error::{Error, Result};
use crate::exec::{self, program};
use crate::netns::{Netns, netns_cmd};

static PATHSPACE: AtomicU32 = AtomicU32::new(0);

/// FRR daemons (zebra plus the ones asked for) running in a namespace.
#[derive(Debug)]
pub struct Frr {
    ns: String,
    daemons: Vec<String>,
    pathspace: String,
    procs: Vec<Process>,
    dir: TempDir,
}

impl Frr {
    /// Starts `zebra` and `daemons` (e.g. `&["bgpd", "bfdd"]`; also `staticd`,
    /// `ospfd`, …) in `ns`, waits for their vty sockets, and applies `config` (an
    /// integrated `frr.conf` text) through vtysh.
    pub fn start_raw(ns: &Netns, daemons: &[&str], config: &str) -> Result<Frr> {
        let dir = tempdir("frr-")?;
        let pathspace = format!(
            "dt{}x{}",
            std::process::id(),
            PATHSPACE.fetch_add(1, Ordering::Relaxed)
        );
        let mut list = vec!["zebra".to_owned()];
        list.extend(
            daemons
                .iter()
                .filter(|d| **d != "zebra")
                .map(|d| d.to_string()),
        );
        let mut f = Frr {
            ns: ns.name().to_owned(),
            daemons: list,
            pathspace,
            procs: Vec::new(),
            dir,
        };
        let run = f.run_dir();
        std::fs::create_dir_all(&run)
            .map_err(|e| Error::io(format!("mkdir {}", run.display()), e))?;
        exec::run(Command::new("chown").args(["frr:frr"]).arg(&run))?;
        write(&f.dir.path().join("empty.conf"), "")?;
        write(&f.dir.path().join("frr.conf"), config)?;
        f.spawn_all()?;
        f.wait_zebra_clients()?;
        f.apply_config()?;
        Ok(f)
    }

    /// Starts zebra, bgpd, bfdd and staticd with
    /// [`config::to_frr`](super::config::to_frr)`(router)`.
    pub fn start(ns: &Netns, router: &super::config::Router) -> Result<Frr> {
        Frr::start_raw(
            ns,
            &["bgpd", "bfdd", "staticd"],
            &super::config::to_frr(router),
        )
    }

    fn run_dir(&self) -> PathBuf {
        PathBuf::from(format!("/var/run/frr/{}", self.pathspace))
    }

    fn spawn_one(&self, daemon: &str) -> Result<Process> {
        let d = self.dir.path();
        let mut cmd = netns_cmd(&self.ns, &format!("/usr/lib/frr/{daemon}"));
        cmd.args(["-N", &self.pathspace, "-f"])
            .arg(d.join("empty.conf"))
            .arg("--log")
            .arg(format!(
                "file:{}",
                d.join(format!("{daemon}.log")).display()
            ));
        let mut p = Process::spawn(daemon, cmd, d)?;
        let vty = self.run_dir().join(format!("{daemon}.vty"));
        wait_ready(
            &format!("FRR {daemon} vty socket"),
            &mut [&mut p],
            START_TIMEOUT,
            || vty.exists(),
        )?;
        Ok(p)
    }

    fn spawn_all(&mut self) -> Result<()> {
        // Stale sockets from a killed instance would make readiness look immediate.
        for d in &self.daemons {
            let _ = std::fs::remove_file(self.run_dir().join(format!("{d}.vty")));
        }
        for d in self.daemons.clone() {
            let p = self.spawn_one(&d)?;
            self.procs.push(p);
        }
        Ok(())
    }

    /// Waits until the protocol daemons are zebra clients: configuring bgpd before it
    /// knows the interfaces makes its first `BGP_Start` fail, which costs seconds of
    /// start-timer back-off.
    fn wait_zebra_clients(&mut self) -> Result<()> {
        let want: Vec<&str> = self
            .daemons
            .iter()
            .filter_map(|d| match d.as_str() {
                "bgpd" => Some("bgp"),
                "staticd" => Some("static"),
                _ => None,
            })
            .collect();
        if want.is_empty() {
            return Ok(());
        }
        let ps = self.pathspace.clone();
        let mut procs: Vec<&mut Process> = self.procs.iter_mut().collect();
        wait_ready(
            "FRR daemons connected to zebra",
            &mut procs,
            START_TIMEOUT,
            || {
                let out = exec::run(Command::new(program("vtysh")).args([
                    "-N",
                    &ps,
                    "-c",
                    "show zebra client summary",
                ]))
                .unwrap_or_default();
                want.iter()
                    .all(|w| out.lines().any(|l| l.split_whitespace().next() == Some(w)))
            },
        )
    }

    fn apply_config(&self) -> Result<()> {
        let mut cmd = Command::new(program("vtysh"));
        cmd.args(["-N", &self.pathspace, "-f"])
            .arg(self.dir.path().join("frr.conf"));
        let out = exec::output(&mut cmd)?;
        let text = String::from_utf8_lossy(&out.stdout);
        if let Some(line) = text.lines().find(|l| is_vtysh_error(l)) {
            return Err(Error::Command {
                cmd: exec::describe(&cmd),
                status: "config rejected".into(),
                stderr: format!("{line}\n{text}"),
            });
        }
        Ok(())
    }

    /// The `-N` pathspace of this instance.
    pub fn pathspace(&self) -> &str {
        &self.pathspace
    }

    /// The runner's directory (`frr.conf`, `<daemon>.log`, `<daemon>.out`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// PIDs of the running daemons, by name.
    pub fn pids(&self) -> Vec<(String, u32)> {
        self.daemons
            .iter()
            .zip(&self.procs)
            .filter_map(|(d, p)| p.pid().map(|pid| (d.clone(), pid)))
            .collect()
    }

    /// Runs one vtysh command (`vtysh -N <ps> -c <command>`), e.g.
    /// `"show bgp summary json"`. `Err` on unknown or incomplete commands.
    pub fn vtysh(&self, command: &str) -> Result<String> {
        self.vtysh_lines(&[command])
    }

    /// Runs several vtysh commands in one session (each becomes a `-c`), e.g.
    /// `&["configure terminal", "router bgp 65001", "neighbor 10.0.0.2 shutdown"]`.
    pub fn vtysh_lines(&self, commands: &[&str]) -> Result<String> {
        let mut cmd = Command::new(program("vtysh"));
        cmd.args(["-N", &self.pathspace]);
        for c in commands {
            cmd.args(["-c", c]);
        }
        let out = exec::run(&mut cmd)?;
        if let Some(line) = out.lines().find(|l| is_vtysh_error(l)) {
            return Err(Error::Command {
                cmd: exec::describe(&cmd),
                status: "vtysh error".into(),
                stderr: line.to_owned(),
            });
        }
        Ok(out)
    }

    /// Runs a vtysh command ending in `json` and parses its output.
    pub fn vtysh_json(&self, command: &str) -> Result<serde_json::Value> {
        let out = self.vtysh(command)?;
        serde_json::from_str(&out).map_err(|e| Error::Parse {
            what: "vtysh json",
            detail: format!("{e}: {out}"),
        })
    }

    /// `show bgp summary json`, typed.
    pub fn bgp_peers(&self) -> Result<Vec<super::state::FrrPeer>> {
        super::state::parse_frr_bgp_summary(&self.vtysh("show bgp summary json")?)
    }

    /// `show ip bgp json`, typed.
    pub fn bgp_routes(&self) -> Result<Vec<super::state::FrrPath>> {
        super::state::parse_frr_show_ip_bgp(&self.vtysh("show ip bgp json")?)
    }

    /// `show bfd peers json`, typed.
    pub fn bfd_peers(&self) -> Result<Vec<super::state::FrrBfdPeer>> {
        super::state::parse_frr_bfd_peers(&self.vtysh("show bfd peers json")?)
    }

    /// SIGKILL one daemon (e.g. `"bgpd"`); the others keep running.
    pub fn kill(&mut self, daemon: &str) {
        if let Some(i) = self.daemons.iter().position(|d| d == daemon) {
            self.procs[i].kill();
        }
    }

    /// Restarts every daemon that is not running and re-applies the config.
    pub fn restart(&mut self) -> Result<()> {
        for i in 0..self.daemons.len() {
            if self.procs[i].check_alive().is_err() || self.procs[i].pid().is_none() {
                let d = self.daemons[i].clone();
                let _ = std::fs::remove_file(self.run_dir().join(format!("{d}.vty")));
                self.procs[i] = self.spawn_one(&d)?;
            }
        }
        self.wait_zebra_clients()?;
        self.apply_config()
    }
}

fn is_vtysh_error(line: &str) -> bool {
    let l = line.trim_start();
    l.starts_with("% Unknown command")
        || l.starts_with("% Command incomplete")
        || l.starts_with("% Ambiguous command")
        || l.starts_with("% Invalid")
        || l.starts_with("line ") && l.contains("Error")
}

impl Drop for Frr {
    fn drop(&mut self) {
        // Reverse order: protocol daemons before zebra.
        while let Some(mut p) = self.procs.pop() {
            p.stop();
        }
        let _ = std::fs::remove_dir_all(self.run_dir());
    }
}
