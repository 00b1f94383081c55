//! Network namespaces, veth pairs, bridges, addresses, routes and sysctls.
//!
//! Every [`Netns`] has a unique name (`<prefix>-<pid>-<counter>`) and is deleted on
//! Drop, also while a test panics: the processes still running inside it are killed
//! (found with `ip netns pids`), then `ip netns del` removes it together with every
//! interface, address, route and bridge inside. Objects created inside a namespace
//! therefore need no guards of their own.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use nix::sched::{CloneFlags, setns};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::error::{Error, Result};
use crate::exec::{self, program};

static NS_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A network namespace created by the harness, removed on Drop.
///
/// `Netns` never refers to the root namespace: it can only be made by [`Netns::new`],
/// which checks that the new namespace is not the one `init` lives in.
#[derive(Debug)]
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a namespace named `<prefix>-<pid>-<counter>` and sets `lo` up in it.
    pub fn new(prefix: &str) -> Result<Netns> {
        let n = NS_COUNTER.fetch_add(1, Ordering::Relaxed);
        let name = format!("{prefix}-{}-{n}", std::process::id());
        exec::run(Command::new(program("ip")).args(["netns", "add", &name]))?;
        // From here on Drop deletes it, whatever fails next.
        let ns = Netns { name };
        register(&ns.name);
        ns.check_not_root()?;
        ns.ip(&["link", "set", "lo", "up"])?;
        Ok(ns)
    }

    /// The namespace's name as `ip netns` knows it.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Path of the namespace's bind mount (`/run/netns/<name>`).
    pub fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    fn check_not_root(&self) -> Result<()> {
        let ours = std::fs::metadata(self.path()).map_err(|e| Error::io(self.path(), e))?;
        // init's namespace where visible (not in every container), else the namespace
        // of this process's main thread (the one the test runner started in).
        let root = std::fs::metadata("/proc/1/ns/net")
            .or_else(|_| std::fs::metadata("/proc/self/ns/net"))
            .map_err(|e| Error::io("/proc/self/ns/net", e))?;
        if ours.ino() == root.ino() && ours.dev() == root.dev() {
            return Err(Error::RootNamespace(self.name.clone()));
        }
        Ok(())
    }

    /// Runs `sh -c script` inside the namespace; `Err` (with stderr) unless it exits 0.
    /// Returns stdout.
    pub fn sh(&self, script: &str) -> Result<String> {
        exec::run(self.cmd("sh").args(["-c", script]))
    }

    /// Runs `ip -n <ns> args...`; returns stdout.
    pub fn ip(&self, args: &[&str]) -> Result<String> {
        exec::run(
            Command::new(program("ip"))
                .args(["-n", &self.name])
                .args(args),
        )
    }

    /// A [`Command`] that runs `program` inside the namespace (via `ip netns exec`, which
    /// `exec`s it, so the child's PID is the program's PID).
    pub fn cmd(&self, program: &str) -> Command {
        netns_cmd(&self.name, program)
    }

    /// Runs `f` on a new thread that first joined this namespace with `setns(2)`, and
    /// returns its result. Sockets, netlink handles and tokio runtimes created inside `f`
    /// belong to the namespace. A panic in `f` is propagated; a failing `setns` panics.
    pub fn enter<R, F>(&self, f: F) -> R
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let path = self.path();
        std::thread::scope(|s| {
            let h = s.spawn(move || {
                let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
                setns(&file, CloneFlags::CLONE_NEWNET)
                    .unwrap_or_else(|e| panic!("setns({path}): {e}"));
                f()
            });
            match h.join() {
                Ok(r) => r,
                Err(p) => std::panic::resume_unwind(p),
            }
        })
    }

    /// Spawns a detached thread that joins this namespace and runs `f` (for long-lived
    /// work such as probe senders; [`enter`](Self::enter) is the scoped variant). The
    /// thread panics if `setns` fails, which `join` reports.
    pub fn spawn<R, F>(&self, f: F) -> std::thread::JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let path = self.path();
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            setns(&file, CloneFlags::CLONE_NEWNET).unwrap_or_else(|e| panic!("setns({path}): {e}"));
            f()
        })
    }

    /// PIDs of the processes whose network namespace this is (`ip netns pids`).
    pub fn pids(&self) -> Result<Vec<u32>> {
        let out = exec::run(Command::new(program("ip")).args(["netns", "pids", &self.name]))?;
        Ok(out
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect())
    }

    /// Sets a link up.
    pub fn link_up(&self, dev: &str) -> Result<()> {
        self.ip(&["link", "set", dev, "up"]).map(drop)
    }

    /// Sets a link down (the carrier of a veth peer drops too).
    pub fn link_down(&self, dev: &str) -> Result<()> {
        self.ip(&["link", "set", dev, "down"]).map(drop)
    }

    /// Adds an address with the kernel's default scope (global).
    pub fn addr_add(&self, dev: &str, cidr: &str) -> Result<()> {
        self.ip(&["addr", "add", cidr, "dev", dev]).map(drop)
    }

    /// Adds an address with an explicit scope (`"link"`, `"host"`, `"global"`), as the
    /// guide does for NIC addresses (`scope link`).
    pub fn addr_add_scoped(&self, dev: &str, cidr: &str, scope: &str) -> Result<()> {
        self.ip(&["addr", "add", cidr, "dev", dev, "scope", scope])
            .map(drop)
    }

    /// Adds a route: `spec` is what follows `ip route add`, e.g.
    /// `"172.31.10.0/24 nexthop dev eth0 nexthop dev eth1"`.
    pub fn route_add(&self, spec: &str) -> Result<()> {
        let args: Vec<&str> = ["route", "add"]
            .into_iter()
            .chain(spec.split_whitespace())
            .collect();
        self.ip(&args).map(drop)
    }

    /// Sets a sysctl inside the namespace (`net.*` keys are per namespace), e.g.
    /// `sysctl("net.ipv4.fib_multipath_hash_policy", "1")`.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        exec::run(
            self.cmd("sysctl")
                .args(["-q", "-w", &format!("{key}={value}")]),
        )
        .map(drop)
    }

    /// Creates a Linux bridge and sets it up.
    pub fn bridge(&self, name: &str) -> Result<()> {
        self.ip(&[
            "link",
            "add",
            name,
            "index",
            &next_ifindex().to_string(),
            "type",
            "bridge",
        ])?;
        self.link_up(name)
    }

    /// Enslaves `dev` to `bridge`.
    pub fn bridge_port(&self, bridge: &str, dev: &str) -> Result<()> {
        self.ip(&["link", "set", dev, "master", bridge]).map(drop)
    }

    /// Interface index of `dev` in this namespace.
    pub fn ifindex(&self, dev: &str) -> Result<u32> {
        let out = self.ip(&["-j", "link", "show", "dev", dev])?;
        let v: serde_json::Value = serde_json::from_str(&out).map_err(|e| Error::Parse {
            what: "ip -j link",
            detail: e.to_string(),
        })?;
        match v
            .get(0)
            .and_then(|l| l.get("ifindex"))
            .and_then(|i| i.as_u64())
        {
            Some(i) => u32::try_from(i).map_err(|_| Error::Parse {
                what: "ip -j link",
                detail: out,
            }),
            None => Err(Error::Parse {
                what: "ip -j link",
                detail: out,
            }),
        }
    }
}

pub(crate) fn netns_cmd(ns: &str, prog: &str) -> Command {
    let mut c = Command::new(program("ip"));
    c.args(["netns", "exec", ns]).arg(program(prog));
    c
}

impl Drop for Netns {
    fn drop(&mut self) {
        for _ in 0..3 {
            let pids = self.pids().unwrap_or_default();
            if pids.is_empty() {
                break;
            }
            for p in pids {
                let _ = kill(Pid::from_raw(p as i32), Signal::SIGKILL);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = exec::run(Command::new(program("ip")).args(["netns", "del", &self.name]));
        let _ = std::fs::remove_file(std::path::Path::new(REGISTRY).join(&self.name));
    }
}

/// Where every live [`Netns`] is recorded with its owner's PID, so that the leftovers
/// of a test process that was killed (SIGKILL, OOM, `cargo test` interrupted) can be
/// recognised and removed by [`sweep_stale`]. Nothing else is ever swept.
pub const REGISTRY: &str = "/run/dualtor-lab";

fn register(name: &str) {
    let dir = std::path::Path::new(REGISTRY);
    let _ = std::fs::create_dir_all(dir);
    let _ = std::fs::write(dir.join(name), std::process::id().to_string());
}

fn pid_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes what dead harness processes left behind: every namespace in [`REGISTRY`]
/// whose owner PID no longer exists (killing the processes still inside it), and FRR
/// run directories `/var/run/frr/dt<pid>x<n>` of dead PIDs. Returns the names removed.
/// [`lab`](crate::lab) runs it once per process.
pub fn sweep_stale() -> Vec<String> {
    let mut swept = Vec::new();
    if let Ok(entries) = std::fs::read_dir(REGISTRY) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let owner: Option<u32> = std::fs::read_to_string(e.path())
                .ok()
                .and_then(|s| s.trim().parse().ok());
            if owner.is_some_and(pid_alive) {
                continue;
            }
            // Re-use Drop: kill what runs inside, delete the namespace, unregister.
            drop(Netns { name: name.clone() });
            swept.push(name);
        }
    }
    if let Ok(entries) = std::fs::read_dir("/var/run/frr") {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let pid = name
                .strip_prefix("dt")
                .and_then(|r| r.split_once('x'))
                .filter(|(p, n)| n.parse::<u32>().is_ok() && !p.is_empty())
                .and_then(|(p, _)| p.parse::<u32>().ok());
            if let Some(pid) = pid
                && !pid_alive(pid)
            {
                let _ = std::fs::remove_dir_all(e.path());
                swept.push(format!("/var/run/frr/{name}"));
            }
        }
    }
    swept
}

/// Interface indexes handed out to veth ends and bridges: distinct on both ends of every
/// pair (lab.md pitfall 6: equal indexes delay carrier changes by up to ~600 ms).
static IFINDEX: AtomicU32 = AtomicU32::new(0);

pub(crate) fn next_ifindex() -> u32 {
    // Start high and per process, so indexes are also distinct across test binaries.
    let base = 1000 + (std::process::id() % 10_000) * 1000;
    base + IFINDEX.fetch_add(1, Ordering::Relaxed) % 1000
}

/// The two ends of a veth pair created by [`veth`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Veth {
    /// Interface index of the end in the first namespace.
    pub a_index: u32,
    /// Interface index of the end in the second namespace.
    pub b_index: u32,
}

/// Creates a veth pair `a:a_dev` <-> `b:b_dev` with distinct interface indexes and sets
/// both ends up. Deleting either namespace removes the pair.
pub fn veth(a: &Netns, a_dev: &str, b: &Netns, b_dev: &str) -> Result<Veth> {
    let (ai, bi) = (next_ifindex(), next_ifindex());
    a.ip(&[
        "link",
        "add",
        a_dev,
        "index",
        &ai.to_string(),
        "type",
        "veth",
        "peer",
        "name",
        b_dev,
        "index",
        &bi.to_string(),
        "netns",
        b.name(),
    ])?;
    a.link_up(a_dev)?;
    b.link_up(b_dev)?;
    Ok(Veth {
        a_index: ai,
        b_index: bi,
    })
}
