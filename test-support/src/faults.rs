//! Faults: link down/up, silent loss with nftables, (daemon kill/restart live on the
//! daemon runners).
//!
//! This kernel has no netem (lab.md pitfall 7): silent loss is an nftables `netdev`
//! table in the namespace that drops every frame entering or leaving one device,
//! ARP included, while the carrier stays up.

use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::Result;
use crate::netns::Netns;

static TABLE: AtomicU32 = AtomicU32::new(0);

/// Removes its nftables table on Drop (ending the loss).
#[derive(Debug)]
#[must_use = "dropping the guard ends the loss at once"]
pub struct LossGuard {
    ns: String,
    table: String,
    active: bool,
}

impl LossGuard {
    /// Ends the loss now (idempotent).
    pub fn clear(&mut self) -> Result<()> {
        if self.active {
            self.active = false;
            crate::exec::run(crate::netns::netns_cmd(&self.ns, "nft").args([
                "delete",
                "table",
                "netdev",
                &self.table,
            ]))?;
        }
        Ok(())
    }

    /// The nftables table name (family `netdev`).
    pub fn table(&self) -> &str {
        &self.table
    }
}

impl Drop for LossGuard {
    fn drop(&mut self) {
        let _ = self.clear();
    }
}

/// Silently drops every frame received or sent on `dev` in `ns` (both directions, all
/// protocols), keeping the link and its carrier up, until the guard is dropped.
pub fn drop_all(ns: &Netns, dev: &str) -> Result<LossGuard> {
    drop_matching(ns, dev, "")
}

/// Like [`drop_all`], but only frames matching the nftables expression `expr` (for
/// example `"udp dport 3784"` for BFD control packets, or `"tcp port 179"`); an
/// empty expression matches everything.
pub fn drop_matching(ns: &Netns, dev: &str, expr: &str) -> Result<LossGuard> {
    let table = format!("dtloss{}", TABLE.fetch_add(1, Ordering::Relaxed));
    let script = format!(
        "table netdev {table} {{\n\
         chain rx {{ type filter hook ingress device \"{dev}\" priority -500; {expr} counter drop; }}\n\
         chain tx {{ type filter hook egress device \"{dev}\" priority -500; {expr} counter drop; }}\n\
         }}\n"
    );
    let mut child = ns
        .cmd("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| crate::Error::io("spawning nft", e))?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped stdin");
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| crate::Error::io("writing nft script", e))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| crate::Error::io("waiting for nft", e))?;
    if !out.status.success() {
        return Err(crate::Error::Command {
            cmd: format!("nft -f - <<{script}"),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(LossGuard {
        ns: ns.name().to_owned(),
        table,
        active: true,
    })
}

/// Sets `dev` down now and back up when the guard drops.
pub fn link_down(ns: &Netns, dev: &str) -> Result<LinkDownGuard> {
    ns.link_down(dev)?;
    Ok(LinkDownGuard {
        ns: ns.name().to_owned(),
        dev: dev.to_owned(),
        down: true,
    })
}

/// Brings its link back up on Drop (see [`link_down`]).
#[derive(Debug)]
#[must_use = "dropping the guard sets the link up again at once"]
pub struct LinkDownGuard {
    ns: String,
    dev: String,
    down: bool,
}

impl LinkDownGuard {
    /// Sets the link up now (idempotent).
    pub fn repair(&mut self) -> Result<()> {
        if self.down {
            self.down = false;
            crate::exec::run(
                std::process::Command::new(crate::exec::program("ip"))
                    .args(["-n", &self.ns, "link", "set", &self.dev, "up"]),
            )?;
        }
        Ok(())
    }
}

impl Drop for LinkDownGuard {
    fn drop(&mut self) {
        let _ = self.repair();
    }
}
