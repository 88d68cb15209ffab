//! Running the server tools: as the right user, in dirs that user owns, on free ports.

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{LocalError, PgEnv};

/// Prefix of every cluster dir under the system temp dir: `pharm-pg-<pid>-<n>-<name>`.
const DIR_PREFIX: &str = "pharm-pg-";

impl PgEnv {
    /// A command for server tool `tool`, run as the right user.
    pub(super) fn tool(&self, tool: &str) -> Command {
        let path = self.bin.join(tool);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(path);
                c
            }
            None => Command::new(path),
        };
        cmd.stdin(Stdio::null());
        cmd
    }

    /// Creates `dir` (mode 0700) owned by the user that runs the server (removes it again
    /// if it cannot be handed over).
    fn make_owned_dir(&self, dir: &Path) -> Result<(), LocalError> {
        fs::create_dir_all(dir).map_err(|source| LocalError::Io {
            what: format!("mkdir {}", dir.display()),
            source,
        })?;
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
        if let Some(user) = &self.run_as {
            let out = Command::new("chown")
                .arg("-R")
                .arg(format!("{user}:"))
                .arg(dir)
                .output();
            if let Err(e) = check(out, &format!("chown {}", dir.display())) {
                let _ = fs::remove_dir_all(dir);
                return Err(e);
            }
        }
        Ok(())
    }
}

/// The tool's output if it succeeded.
pub(super) fn check(out: std::io::Result<Output>, what: &str) -> Result<Output, LocalError> {
    match out {
        Ok(o) if o.status.success() => Ok(o),
        Ok(o) => Err(LocalError::Tool {
            what: what.to_owned(),
            status: o.status,
            output: format!(
                "{}\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        }),
        Err(source) => Err(LocalError::Io {
            what: format!("{what} could not run"),
            source,
        }),
    }
}

/// A port nobody listens on right now (bound to port 0, then released).
pub(super) fn free_port() -> Result<u16, LocalError> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|source| LocalError::Io {
            what: "finding a free port".to_owned(),
            source,
        })
}

/// Stops servers and removes dirs left by processes that no longer exist.
pub(super) fn sweep_orphans(env: &PgEnv) {
    if !Path::new("/proc/self").exists() {
        return; // cannot tell dead pids from live ones
    }
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let _ = writeln!(
            std::io::stderr(),
            "pg local: stopping and removing cluster dir {} left by dead process {pid}",
            entry.path().display()
        );
        stop_immediate(env, &entry.path().join("data"));
        let _ = fs::remove_dir_all(entry.path());
    }
}

/// `pg_ctl stop -m immediate` if a postmaster may be running in `data`; never fails.
pub(super) fn stop_immediate(env: &PgEnv, data: &Path) {
    if !data.join("postmaster.pid").exists() {
        return;
    }
    let _ = env
        .tool("pg_ctl")
        .args(["stop", "-m", "immediate", "-w", "-t", "30", "-D"])
        .arg(data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// A new, empty temp dir `pharm-pg-<pid>-<n>-<name>` owned by the server's user.
pub(super) fn fresh_dir(env: &PgEnv, name: &str) -> Result<PathBuf, LocalError> {
    static SEQ: AtomicU32 = AtomicU32::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let root = std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{n}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    env.make_owned_dir(&root)?;
    Ok(root)
}
