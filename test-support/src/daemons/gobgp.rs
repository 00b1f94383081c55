//! GoBGP runner (tested with GoBGP 3.10).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU16, Ordering};

use tempfile::TempDir;

use super::{Process, START_TIMEOUT, tempdir, wait_ready, write};
use crate::error::{Error, Result};
use crate::exec;
use crate::netns::{Netns, netns_cmd};

static API_PORT: AtomicU16 = AtomicU16::new(50051);

/// A `gobgpd` running in a namespace, its gRPC API on `127.0.0.1:<port>` inside it.
#[derive(Debug)]
pub struct Gobgp {
    ns: String,
    port: u16,
    proc: Option<Process>,
    dir: TempDir,
}

impl Gobgp {
    /// Writes `config` (TOML) and starts `gobgpd -f <cfg> --api-hosts 127.0.0.1:<port>
    /// --pprof-disable`, returning once `gobgp global` answers.
    pub fn start_raw(ns: &Netns, config: &str) -> Result<Gobgp> {
        let dir = tempdir("gobgp-")?;
        write(&dir.path().join("gobgpd.toml"), config)?;
        let mut g = Gobgp {
            ns: ns.name().to_owned(),
            port: API_PORT.fetch_add(1, Ordering::Relaxed),
            proc: None,
            dir,
        };
        g.spawn()?;
        Ok(g)
    }

    /// Starts gobgpd with [`config::to_gobgp`](super::config::to_gobgp)`(router)` and
    /// originates `router.originate` with `gobgp global rib add <prefix>` (next hop
    /// 0.0.0.0, i.e. self).
    pub fn start(ns: &Netns, router: &super::config::Router) -> Result<Gobgp> {
        let g = Gobgp::start_raw(ns, &super::config::to_gobgp(router))?;
        for p in &router.originate {
            g.cli(&["global", "rib", "add", &p.to_string(), "-a", "ipv4"])?;
        }
        Ok(g)
    }

    fn spawn(&mut self) -> Result<()> {
        let d = self.dir.path();
        let mut cmd = netns_cmd(&self.ns, "gobgpd");
        cmd.arg("-f")
            .arg(d.join("gobgpd.toml"))
            .args(["-t", "toml", "-p", "--pprof-disable"])
            .arg(format!("--api-hosts=127.0.0.1:{}", self.port));
        let mut p = Process::spawn("gobgpd", cmd, d)?;
        wait_ready("gobgpd API", &mut [&mut p], START_TIMEOUT, || {
            self.cli(&["global"]).is_ok_and(|s| s.contains("AS:"))
        })?;
        self.proc = Some(p);
        Ok(())
    }

    /// The runner's directory (`gobgpd.toml`, `gobgpd.out`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The gRPC API port (on 127.0.0.1 inside the namespace).
    pub fn api_port(&self) -> u16 {
        self.port
    }

    /// The daemon's PID, if running.
    pub fn pid(&self) -> Option<u32> {
        self.proc.as_ref().and_then(Process::pid)
    }

    /// Runs `gobgp -u 127.0.0.1 -p <port> args...` inside the namespace, e.g.
    /// `cli(&["-j", "neighbor"])`.
    pub fn cli(&self, args: &[&str]) -> Result<String> {
        let mut cmd: Command = netns_cmd(&self.ns, "gobgp");
        cmd.args(["-u", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args);
        exec::run(&mut cmd)
    }

    /// Runs a `gobgp -j ...` command and parses its JSON.
    pub fn cli_json(&self, args: &[&str]) -> Result<serde_json::Value> {
        let mut a = vec!["-j"];
        a.extend_from_slice(args);
        let out = self.cli(&a)?;
        serde_json::from_str(&out).map_err(|e| Error::Parse {
            what: "gobgp json",
            detail: format!("{e}: {out}"),
        })
    }

    /// `gobgp -j neighbor`, typed.
    pub fn neighbors(&self) -> Result<Vec<super::state::GobgpNeighbor>> {
        super::state::parse_gobgp_neighbors(&self.cli(&["-j", "neighbor"])?)
    }

    /// `gobgp -j global rib`, typed.
    pub fn rib(&self) -> Result<Vec<super::state::GobgpPath>> {
        super::state::parse_gobgp_rib(&self.cli(&["-j", "global", "rib"])?)
    }

    /// SIGKILL the daemon.
    pub fn kill(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill();
        }
    }

    /// Stops the daemon gracefully (SIGTERM).
    pub fn stop(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.stop();
        }
    }

    /// Starts the daemon again with the same config and API port.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn()
    }
}
