//! Running external programs and locating binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::error::{Error, Result};

/// Directories searched besides `$PATH` (root's sbin dirs are not always on a test's PATH).
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/lib/frr"];

/// Finds an executable by name in `$PATH` and the usual system directories.
pub fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = Path::new(name);
        return p.is_file().then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Like [`which`], but falls back to the bare name (so the error comes from the spawn).
pub(crate) fn program(name: &str) -> PathBuf {
    which(name).unwrap_or_else(|| PathBuf::from(name))
}

/// Describes a command line for error messages.
pub(crate) fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` to completion; `Err` with its stderr unless it exits 0. Returns stdout.
pub(crate) fn run(cmd: &mut Command) -> Result<String> {
    let out = output(cmd)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `cmd` to completion and returns the full output, `Err` unless it exits 0.
pub(crate) fn output(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| Error::io(format!("spawning `{}`", describe(cmd)), e))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(Error::Command {
            cmd: describe(cmd),
            status: out.status.to_string(),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}
